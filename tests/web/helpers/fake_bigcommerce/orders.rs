//! Orders v2: create (validated in `order_create.rs`), read, list with filters, update,
//! archive, order lines and addresses, statuses and counts.

use super::FakeBigCommerce;
use super::order_create::create_order;
use super::paging::{paging, v2_page};
use super::query::Query;
use super::reply::{ApiErr, HResult, Reply, parse_body, v2_bad};
use super::routes::{Ctx, R};
use super::server::Incoming;
use super::state::StoreState;
use super::values::{now_secs, num_of, parse_v2_date, rfc2822, str_of};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

impl FakeBigCommerce {
    /// Creates an order exactly as `POST /v2/orders` would (same body, same checks) but
    /// with `order_source` `www`, as if placed on the storefront. Panics on a validation
    /// error. Returns the order id.
    pub fn add_order(&self, store_hash: &str, body: Value) -> i64 {
        let mut st = self.lock();
        let base = st.base_url.clone();
        let Some(s) = st.stores.get_mut(store_hash) else {
            panic!("fake BigCommerce: unknown store {store_hash:?}");
        };
        match create_order(s, &body, &base, store_hash, "www") {
            Ok(id) => id,
            Err(e) => panic!(
                "fake BigCommerce: add_order rejected: {} {}",
                e.status, e.title
            ),
        }
    }

    /// Sets an order's status (and bumps its `date_modified`).
    #[allow(dead_code, reason = "for the Send Orders and Get Shipments issues")]
    pub fn set_order_status(&self, store_hash: &str, order_id: i64, status_id: i64) {
        self.with_store(store_hash, |s| {
            let Some(o) = s.orders.get_mut(&order_id) else {
                panic!("fake BigCommerce: no order {order_id}");
            };
            set_status(o, status_id);
            o.touch();
        });
    }

    /// All orders (archived ones included) as `GET /v2/orders/{id}` renders them.
    pub fn orders(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .values()
                .map(|o| Value::Object(o.json.clone()))
                .collect()
        })
    }

    /// Order lines as `GET /v2/orders/{id}/products` renders them.
    #[allow(dead_code, reason = "for the Send Orders and Get Shipments issues")]
    pub fn order_products(&self, store_hash: &str, order_id: i64) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .get(&order_id)
                .map(|o| o.products.iter().cloned().map(Value::Object).collect())
                .unwrap_or_default()
        })
    }
}

/// Answers the orders routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R, ctx: &Ctx<'_>) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::OrderStatuses) => Ok(Reply::ok(Value::Array(
            ORDER_STATUSES
                .iter()
                .map(|(id, name, desc, order)| {
                    json!({
                        "id": id,
                        "name": name,
                        "system_label": name,
                        "custom_label": name,
                        "system_description": desc,
                        "order": order,
                    })
                })
                .collect(),
        ))),
        ("GET", R::Orders) => list_orders(s, q),
        ("POST", R::Orders) => {
            let body = parse_body(inc)?;
            let id = create_order(s, &body, ctx.base, ctx.hash, "external")?;
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("GET", R::OrdersCount) => {
            let live: Vec<&OrderRec> = s.orders.values().filter(|o| !o.archived()).collect();
            let statuses: Vec<Value> = ORDER_STATUSES
                .iter()
                .map(|(id, name, desc, order)| {
                    json!({
                        "id": id,
                        "name": name,
                        "system_label": name,
                        "custom_label": name,
                        "system_description": desc,
                        "count": live.iter().filter(|o| o.get_i64("status_id") == *id).count(),
                        "sort_order": order,
                    })
                })
                .collect();
            Ok(Reply::ok(
                json!({ "statuses": statuses, "count": live.len() }),
            ))
        }
        ("GET", R::Order(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("PUT", R::Order(id)) => {
            let body = parse_body(inc)?;
            update_order(s, id, &body)?;
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("DELETE", R::Order(id)) => {
            let o = s.orders.get_mut(&id).ok_or_else(ApiErr::not_found)?;
            o.json.insert("is_deleted".into(), json!(true));
            o.touch();
            Ok(Reply::no_content())
        }
        ("GET", R::OrderProducts(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.products)
        }
        ("GET", R::OrderAddresses(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.addresses)
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

pub(super) struct OrderRec {
    pub(super) id: i64,
    pub(super) json: Map<String, Value>,
    pub(super) date_created: DateTime<Utc>,
    pub(super) date_modified: DateTime<Utc>,
    pub(super) products: Vec<Map<String, Value>>,
    pub(super) addresses: Vec<Map<String, Value>>,
    pub(super) shipments: Vec<Map<String, Value>>,
}

impl OrderRec {
    pub(super) fn touch(&mut self) {
        self.date_modified = now_secs();
        self.json
            .insert("date_modified".into(), json!(rfc2822(&self.date_modified)));
    }
    pub(super) fn get_i64(&self, key: &str) -> i64 {
        self.json.get(key).and_then(Value::as_i64).unwrap_or(0)
    }
    pub(super) fn get_str(&self, key: &str) -> String {
        str_of(&self.json, key)
    }
    pub(super) fn archived(&self) -> bool {
        self.json
            .get("is_deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

pub(super) fn set_status(o: &mut OrderRec, status_id: i64) {
    let name = status_name(status_id).unwrap_or("");
    o.json.insert("status_id".into(), json!(status_id));
    o.json.insert("status".into(), json!(name));
    o.json.insert("custom_status".into(), json!(name));
}

pub(super) fn update_order(s: &mut StoreState, id: i64, body: &Value) -> Result<(), ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    if obj.contains_key("external_merchant_id") {
        return Err(ApiErr::new(
            400,
            "The field 'external_merchant_id' cannot be updated.",
        ));
    }
    for k in ["products", "consignments", "shipping_addresses"] {
        if obj.contains_key(k) {
            return Err(ApiErr::new(
                400,
                format!("Updating '{k}' is not supported by the fake."),
            ));
        }
    }
    let status = match obj.get("status_id") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|x| status_name(*x).is_some())
                .ok_or_else(|| v2_bad("status_id"))?,
        ),
    };
    let customer = match obj.get("customer_id") {
        None => None,
        Some(v) => {
            let c = num_of(v)
                .map(|x| x as i64)
                .ok_or_else(|| v2_bad("customer_id"))?;
            if c != 0 && !s.customers.contains_key(&c) {
                return Err(v2_bad("customer_id"));
            }
            Some(c)
        }
    };
    let o = s.orders.get_mut(&id).ok_or_else(ApiErr::not_found)?;
    if let Some(st) = status {
        set_status(o, st);
    }
    if let Some(c) = customer {
        o.json.insert("customer_id".into(), json!(c));
    }
    for k in [
        "external_order_id",
        "external_source",
        "staff_notes",
        "customer_message",
        "payment_method",
    ] {
        match obj.get(k) {
            None => {}
            Some(Value::String(v)) => {
                o.json.insert(k.into(), json!(v));
            }
            Some(Value::Null) => {
                o.json.insert(k.into(), Value::Null);
            }
            Some(_) => return Err(v2_bad(k)),
        }
    }
    if let Some(Value::Object(b)) = obj.get("billing_address")
        && let Some(Value::Object(cur)) = o.json.get_mut("billing_address")
    {
        for (k, v) in b {
            cur.insert(k.clone(), v.clone());
        }
    }
    o.touch();
    Ok(())
}

pub(super) fn list_orders(s: &StoreState, q: &Query) -> HResult {
    let v2err = |e: ApiErr| ApiErr::new(if e.status == 413 { 413 } else { 400 }, e.title);
    let (page, limit) = paging(q, 50).map_err(v2err)?;
    let int = |k: &str| -> Result<Option<i64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let float = |k: &str| -> Result<Option<f64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let date = |k: &str| -> Result<Option<i64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => parse_v2_date(v)
                .map(|d| Some(d.timestamp()))
                .ok_or_else(|| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let (min_id, max_id) = (int("min_id")?, int("max_id")?);
    let (min_total, max_total) = (float("min_total")?, float("max_total")?);
    let customer_id = int("customer_id")?;
    let status_id = int("status_id")?;
    let channel_id = int("channel_id")?;
    let (min_dc, max_dc) = (date("min_date_created")?, date("max_date_created")?);
    let (min_dm, max_dm) = (date("min_date_modified")?, date("max_date_modified")?);
    let email = q.get("email").map(str::to_lowercase);
    let cart_id = q.get("cart_id");
    let payment_method = q.get("payment_method");
    let external_order_id = q.get("external_order_id");
    let (sort_field, desc) = match q.get("sort") {
        None => ("id", false),
        Some(v) => {
            let (f, d) = v.split_once(':').unwrap_or((v, "asc"));
            let desc = match d {
                "asc" => false,
                "desc" => true,
                _ => return Err(ApiErr::new(400, "The filter 'sort' is invalid.")),
            };
            if ![
                "id",
                "customer_id",
                "date_created",
                "date_modified",
                "status_id",
                "channel_id",
                "external_id",
            ]
            .contains(&f)
            {
                return Err(ApiErr::new(400, "The filter 'sort' is invalid."));
            }
            (f, desc)
        }
    };
    let mut all: Vec<&OrderRec> = s
        .orders
        .values()
        .filter(|o| {
            let total = num_of(o.json.get("total_inc_tax").unwrap_or(&Value::Null)).unwrap_or(0.0);
            let billing_email = o
                .json
                .get("billing_address")
                .and_then(|b| b.get("email"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            !o.archived()
                && min_id.is_none_or(|m| o.id >= m)
                && max_id.is_none_or(|m| o.id <= m)
                && min_total.is_none_or(|m| total >= m)
                && max_total.is_none_or(|m| total <= m)
                && customer_id.is_none_or(|c| o.get_i64("customer_id") == c)
                && status_id.is_none_or(|c| o.get_i64("status_id") == c)
                && channel_id.is_none_or(|c| o.get_i64("channel_id") == c)
                && min_dc.is_none_or(|m| o.date_created.timestamp() >= m)
                && max_dc.is_none_or(|m| o.date_created.timestamp() <= m)
                && min_dm.is_none_or(|m| o.date_modified.timestamp() >= m)
                && max_dm.is_none_or(|m| o.date_modified.timestamp() <= m)
                && email.as_ref().is_none_or(|e| *e == billing_email)
                && cart_id.is_none_or(|c| o.get_str("cart_id") == c)
                && payment_method.is_none_or(|c| o.get_str("payment_method") == c)
                && external_order_id.is_none_or(|c| o.get_str("external_order_id") == c)
        })
        .collect();
    match sort_field {
        "customer_id" => all.sort_by_key(|o| (o.get_i64("customer_id"), o.id)),
        "date_created" => all.sort_by_key(|o| (o.date_created, o.id)),
        "date_modified" => all.sort_by_key(|o| (o.date_modified, o.id)),
        "status_id" => all.sort_by_key(|o| (o.get_i64("status_id"), o.id)),
        "channel_id" => all.sort_by_key(|o| (o.get_i64("channel_id"), o.id)),
        "external_id" => all.sort_by_key(|o| (o.get_str("external_id"), o.id)),
        _ => {}
    }
    if desc {
        all.reverse();
    }
    let page_items: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| Value::Object(o.json.clone()))
        .collect();
    if page_items.is_empty() {
        // BigCommerce v2 answers an empty collection with 204 and no body.
        return Ok(Reply::no_content());
    }
    Ok(Reply::ok(Value::Array(page_items)))
}

/// Order statuses as `GET /v2/order_statuses` lists them: (id, name, description, order).
pub const ORDER_STATUSES: [(i64, &str, &str, i64); 15] = [
    (
        0,
        "Incomplete",
        "An incomplete order happens when a shopper reached the payment page, but did not complete the transaction.",
        0,
    ),
    (
        1,
        "Pending",
        "Customer started the checkout process, but did not complete it.",
        1,
    ),
    (
        2,
        "Shipped",
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
        8,
    ),
    (
        3,
        "Partially Shipped",
        "Only some items in the order have been shipped, due to some products being pre-order only or other reasons.",
        6,
    ),
    (4, "Refunded", "Seller has used the Refund action.", 11),
    (
        5,
        "Cancelled",
        "Seller has cancelled an order, due to a stock inconsistency or other reasons.",
        9,
    ),
    (
        6,
        "Declined",
        "Seller has marked the order as declined for lack of manual payment, or other reasons.",
        10,
    ),
    (
        7,
        "Awaiting Payment",
        "Customer has completed checkout process, but payment has yet to be confirmed.",
        2,
    ),
    (
        8,
        "Awaiting Pickup",
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
        5,
    ),
    (
        9,
        "Awaiting Shipment",
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
        4,
    ),
    (
        10,
        "Completed",
        "Client has paid for their digital product and their file(s) are available for download.",
        7,
    ),
    (
        11,
        "Awaiting Fulfillment",
        "Customer has completed the checkout process and payment has been confirmed.",
        3,
    ),
    (
        12,
        "Manual Verification Required",
        "Order is on hold while some aspect needs to be manually confirmed.",
        13,
    ),
    (
        13,
        "Disputed",
        "Customer has initiated a dispute resolution process for the PayPal transaction that paid for the order.",
        12,
    ),
    (
        14,
        "Partially Refunded",
        "Seller has partially refunded the order.",
        14,
    ),
];

pub fn status_name(id: i64) -> Option<&'static str> {
    ORDER_STATUSES.iter().find(|s| s.0 == id).map(|s| s.1)
}
