//! Orders v2: create (with BigCommerce's validation), read, list with filters, update,
//! archive, order lines and addresses, statuses and counts.

use super::FakeBigCommerce;
use super::models::{FakeChannel, FakeOptionValue};
use super::paging::{paging, v2_page};
use super::query::Query;
use super::reply::{ApiErr, HResult, Reply, parse_body, v2_bad, v2_missing};
use super::routes::{Ctx, R};
use super::server::Incoming;
use super::state::StoreState;
use super::values::{money, now_secs, num_of, obj as object, parse_v2_date, rfc2822, str_of};
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

pub(super) const COUNTRIES: [(&str, &str); 10] = [
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("IE", "Ireland"),
    ("MX", "Mexico"),
];

pub(super) fn country_pair(m: &Map<String, Value>) -> (String, String) {
    let country = str_of(m, "country");
    let iso = str_of(m, "country_iso2");
    match (country.is_empty(), iso.is_empty()) {
        (false, false) => (country, iso),
        (true, false) => {
            let name = COUNTRIES
                .iter()
                .find(|(c, _)| *c == iso)
                .map_or(iso.clone(), |(_, n)| n.to_string());
            (name, iso)
        }
        (false, true) => {
            let code = COUNTRIES
                .iter()
                .find(|(_, n)| *n == country)
                .map_or(String::new(), |(c, _)| c.to_string());
            (country, code)
        }
        (true, true) => (String::new(), String::new()),
    }
}

pub(super) fn address_fields(m: &Map<String, Value>) -> Map<String, Value> {
    let (country, iso) = country_pair(m);
    let mut out = Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
    ] {
        out.insert(k.into(), json!(str_of(m, k)));
    }
    out.insert("country".into(), json!(country));
    out.insert("country_iso2".into(), json!(iso));
    out.insert("phone".into(), json!(str_of(m, "phone")));
    out.insert("email".into(), json!(str_of(m, "email")));
    out
}

pub(super) fn check_address(m: &Map<String, Value>, prefix: &str) -> Result<(), ApiErr> {
    if str_of(m, "zip").trim().len() < 2 {
        return Err(v2_bad(&format!("{prefix}.zip")));
    }
    if str_of(m, "country").is_empty() && str_of(m, "country_iso2").is_empty() {
        return Err(v2_missing(&format!("{prefix}.country")));
    }
    Ok(())
}

/// Reads an `_ex_tax`/`_inc_tax` pair: both or neither.
pub(super) fn money_pair(
    obj: &Map<String, Value>,
    ex: &str,
    inc: &str,
) -> Result<Option<(f64, f64)>, ApiErr> {
    match (obj.get(ex), obj.get(inc)) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => {
            let a = num_of(a).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(ex))?;
            let b = num_of(b).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(inc))?;
            Ok(Some((a, b)))
        }
        (Some(_), None) => Err(ApiErr::new(
            400,
            format!("The field '{inc}' is required when '{ex}' is supplied."),
        )),
        (None, Some(_)) => Err(ApiErr::new(
            400,
            format!("The field '{ex}' is required when '{inc}' is supplied."),
        )),
    }
}

pub(super) fn set_status(o: &mut OrderRec, status_id: i64) {
    let name = status_name(status_id).unwrap_or("");
    o.json.insert("status_id".into(), json!(status_id));
    o.json.insert("status".into(), json!(name));
    o.json.insert("custom_status".into(), json!(name));
}

pub(super) struct Line {
    pub(super) product_id: i64,
    pub(super) variant_id: Option<i64>,
    pub(super) name: String,
    pub(super) sku: String,
    pub(super) upc: String,
    pub(super) qty: i64,
    pub(super) ex: f64,
    pub(super) inc: f64,
    pub(super) cost: f64,
    pub(super) weight: f64,
    pub(super) ptype: String,
    pub(super) options: Vec<FakeOptionValue>,
}

pub(super) fn resolve_line(s: &StoreState, i: usize, item: &Value) -> Result<Line, ApiErr> {
    let it = item
        .as_object()
        .ok_or_else(|| v2_bad(&format!("products[{i}]")))?;
    let qty = match it.get("quantity") {
        None => return Err(v2_missing(&format!("products[{i}].quantity"))),
        Some(v) => v
            .as_i64()
            .filter(|q| *q >= 1)
            .ok_or_else(|| v2_bad(&format!("products[{i}].quantity")))?,
    };
    let price = money_pair(it, "price_ex_tax", "price_inc_tax")?;
    let name_given = ["name", "name_customer", "name_merchant"]
        .iter()
        .map(|k| str_of(it, k))
        .find(|n| !n.is_empty());
    let product_id = match it.get("product_id") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_id")))?,
    };
    if product_id <= 0 {
        // Custom product.
        if it.get("variant_id").is_some_and(|v| !v.is_null()) {
            return Err(v2_bad(&format!("products[{i}].variant_id")));
        }
        let name = name_given.ok_or_else(|| v2_missing(&format!("products[{i}].name")))?;
        let (ex, inc) = price.ok_or_else(|| v2_missing(&format!("products[{i}].price_inc_tax")))?;
        return Ok(Line {
            product_id: 0,
            variant_id: None,
            name,
            sku: str_of(it, "sku"),
            upc: str_of(it, "upc"),
            qty,
            ex,
            inc,
            cost: 0.0,
            weight: 0.0,
            ptype: "physical".into(),
            options: Vec::new(),
        });
    }
    let p = s
        .products
        .get(&product_id)
        .ok_or_else(|| ApiErr::new(400, format!("The field 'products[{i}].product_id' is invalid. Product {product_id} was not found.")))?;
    let variant = if let Some(vid) = it.get("variant_id").filter(|v| !v.is_null()) {
        let vid = vid
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].variant_id")))?;
        p.variants.iter().find(|v| v.id == vid).ok_or_else(|| {
            ApiErr::new(400, format!("The field 'products[{i}].variant_id' is invalid. Variant {vid} does not belong to product {product_id}."))
        })?
    } else if let Some(opts) = it
        .get("product_options")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let mut wanted: Vec<(i64, i64)> = Vec::new();
        for o in opts {
            let oid = o.get("id").and_then(Value::as_i64);
            let val = o.get("value").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
            match (oid, val) {
                (Some(a), Some(b)) => wanted.push((a, b)),
                _ => return Err(v2_bad(&format!("products[{i}].product_options"))),
            }
        }
        p.variants
            .iter()
            .find(|v| {
                v.option_values.len() == wanted.len()
                    && v.option_values
                        .iter()
                        .all(|ov| wanted.contains(&(ov.option_id, ov.id)))
            })
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_options")))?
    } else if p.variants.len() == 1 && p.variants[0].option_values.is_empty() {
        &p.variants[0]
    } else {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'products[{i}].product_options' is required: product {product_id} has options."
            ),
        ));
    };
    let unit = {
        let base = variant.price.unwrap_or(p.price);
        let sale = variant.sale_price.unwrap_or(p.sale_price);
        if sale > 0.0 && sale < base {
            sale
        } else {
            base
        }
    };
    let (ex, inc) = price.unwrap_or((unit, unit));
    Ok(Line {
        product_id,
        variant_id: Some(variant.id),
        name: name_given.unwrap_or_else(|| p.name.clone()),
        sku: variant.sku.clone(),
        upc: if variant.upc.is_empty() {
            p.upc.clone()
        } else {
            variant.upc.clone()
        },
        qty,
        ex,
        inc,
        cost: variant.cost_price.unwrap_or(p.cost_price),
        weight: variant.weight.unwrap_or(p.weight),
        ptype: p.product_type.clone(),
        options: variant.option_values.clone(),
    })
}

pub(super) fn create_order(
    s: &mut StoreState,
    body: &Value,
    base: &str,
    hash: &str,
    source: &str,
) -> Result<i64, ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    let billing = match obj.get("billing_address") {
        Some(Value::Object(b)) => b,
        None | Some(Value::Null) => return Err(v2_missing("billing_address")),
        Some(_) => return Err(v2_bad("billing_address")),
    };
    check_address(billing, "billing_address")?;
    if obj.get("consignments").is_some() {
        return Err(ApiErr::new(
            400,
            "Orders with 'consignments' are not supported by the fake.",
        ));
    }
    let items = match obj.get("products") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None | Some(Value::Null) => return Err(v2_missing("products")),
        Some(_) => return Err(v2_bad("products")),
    };
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, it)| resolve_line(s, i, it))
        .collect::<Result<_, _>>()?;
    let customer_id = match obj.get("customer_id") {
        None | Some(Value::Null) => 0,
        Some(v) => num_of(v)
            .map(|x| x as i64)
            .ok_or_else(|| v2_bad("customer_id"))?,
    };
    if customer_id != 0 && !s.customers.contains_key(&customer_id) {
        return Err(ApiErr::new(
            400,
            format!("The field 'customer_id' is invalid. Customer {customer_id} does not exist."),
        ));
    }
    let status_id = match obj.get("status_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_i64()
            .filter(|x| status_name(*x).is_some())
            .ok_or_else(|| v2_bad("status_id"))?,
    };
    let channel_id = match obj.get("channel_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_i64().ok_or_else(|| v2_bad("channel_id"))?,
    };
    if !s
        .channels
        .get(&channel_id)
        .is_some_and(FakeChannel::is_enabled)
    {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'channel_id' is invalid. Channel {channel_id} does not exist or is not enabled."
            ),
        ));
    }
    let date_created = match obj.get("date_created") {
        None | Some(Value::Null) => now_secs(),
        Some(Value::String(d)) => parse_v2_date(d).ok_or_else(|| v2_bad("date_created"))?,
        Some(_) => return Err(v2_bad("date_created")),
    };
    let ship =
        money_pair(obj, "shipping_cost_ex_tax", "shipping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let handling =
        money_pair(obj, "handling_cost_ex_tax", "handling_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let wrapping =
        money_pair(obj, "wrapping_cost_ex_tax", "wrapping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let discount = match obj.get("discount_amount") {
        None | Some(Value::Null) => 0.0,
        Some(v) => num_of(v)
            .filter(|x| *x >= 0.0)
            .ok_or_else(|| v2_bad("discount_amount"))?,
    };
    let subtotal = money_pair(obj, "subtotal_ex_tax", "subtotal_inc_tax")?.unwrap_or_else(|| {
        (
            lines.iter().map(|l| l.ex * l.qty as f64).sum(),
            lines.iter().map(|l| l.inc * l.qty as f64).sum(),
        )
    });
    let total = money_pair(obj, "total_ex_tax", "total_inc_tax")?.unwrap_or((
        (subtotal.0 + ship.0 + handling.0 + wrapping.0 - discount).max(0.0),
        (subtotal.1 + ship.1 + handling.1 + wrapping.1 - discount).max(0.0),
    ));
    let ship_addrs_in: Vec<Map<String, Value>> = match obj.get("shipping_addresses") {
        None | Some(Value::Null) => vec![billing.clone()],
        Some(Value::Array(a)) if a.is_empty() => vec![billing.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let m = x
                    .as_object()
                    .cloned()
                    .ok_or_else(|| v2_bad(&format!("shipping_addresses[{i}]")))?;
                check_address(&m, &format!("shipping_addresses[{i}]"))?;
                Ok(m)
            })
            .collect::<Result<_, ApiErr>>()?,
        Some(_) => return Err(v2_bad("shipping_addresses")),
    };

    // All checks passed: commit.
    let id = s.next_order_id;
    s.next_order_id += 1;
    let items_total: i64 = lines.iter().map(|l| l.qty).sum();
    let res = |kind: &str, path: &str| json!({ "url": format!("{base}/stores/{hash}/v2/orders/{id}/{path}"), "resource": format!("/orders/{id}/{kind}") });
    let n_addr = ship_addrs_in.len() as f64;
    let mut addresses = Vec::new();
    for (i, a) in ship_addrs_in.iter().enumerate() {
        let aid = s.next_order_address_id;
        s.next_order_address_id += 1;
        let mut m = Map::new();
        m.insert("id".into(), json!(aid));
        m.insert("order_id".into(), json!(id));
        for (k, v) in address_fields(a) {
            m.insert(k, v);
        }
        m.insert(
            "items_total".into(),
            json!(if i == 0 { items_total } else { 0 }),
        );
        m.insert("items_shipped".into(), json!(0));
        let method = str_of(a, "shipping_method");
        m.insert(
            "shipping_method".into(),
            json!(if method.is_empty() {
                "None".to_string()
            } else {
                method
            }),
        );
        let (ex, inc) = (ship.0 / n_addr, ship.1 / n_addr);
        m.insert("base_cost".into(), json!(money(inc)));
        m.insert("cost_ex_tax".into(), json!(money(ex)));
        m.insert("cost_inc_tax".into(), json!(money(inc)));
        m.insert("cost_tax".into(), json!(money(inc - ex)));
        m.insert("cost_tax_class_id".into(), json!(0));
        m.insert("base_handling_cost".into(), json!(money(0.0)));
        m.insert("handling_cost_ex_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_inc_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax_class_id".into(), json!(0));
        m.insert("shipping_zone_id".into(), json!(1));
        m.insert("shipping_zone_name".into(), json!("United States"));
        m.insert(
            "shipping_quotes".into(),
            json!({
                "url": format!("{base}/stores/{hash}/v2/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
                "resource": format!("/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
            }),
        );
        m.insert("form_fields".into(), json!([]));
        addresses.push(m);
    }
    let first_address_id = addresses
        .first()
        .and_then(|a| a.get("id"))
        .cloned()
        .unwrap_or(json!(0));
    let mut products = Vec::new();
    for l in &lines {
        let opid = s.next_order_product_id;
        s.next_order_product_id += 1;
        let options: Vec<Value> = l
            .options
            .iter()
            .map(|ov| {
                let oid = s.next_order_option_id;
                s.next_order_option_id += 1;
                json!({
                    "id": oid,
                    "option_id": ov.option_id,
                    "order_product_id": opid,
                    "product_option_id": ov.option_id,
                    "display_name": ov.option_display_name,
                    "display_name_customer": ov.option_display_name,
                    "display_name_merchant": ov.option_display_name,
                    "display_value": ov.label,
                    "display_value_customer": ov.label,
                    "display_value_merchant": ov.label,
                    "value": ov.id.to_string(),
                    "type": "Multiple choice",
                    "name": ov.option_display_name,
                    "display_style": "Rectangle",
                })
            })
            .collect();
        let q = l.qty as f64;
        let m = object([
            ("id", json!(opid)),
            ("order_id", json!(id)),
            ("product_id", json!(l.product_id)),
            ("variant_id", json!(l.variant_id)),
            ("order_pickup_method_id", json!(0)),
            ("order_address_id", json!(first_address_id)),
            ("name", json!(l.name)),
            ("name_customer", json!(l.name)),
            ("name_merchant", json!(l.name)),
            ("sku", json!(l.sku)),
            ("upc", json!(l.upc)),
            ("type", json!(l.ptype)),
            ("base_price", json!(money(l.ex))),
            ("price_ex_tax", json!(money(l.ex))),
            ("price_inc_tax", json!(money(l.inc))),
            ("price_tax", json!(money(l.inc - l.ex))),
            ("base_total", json!(money(l.ex * q))),
            ("total_ex_tax", json!(money(l.ex * q))),
            ("total_inc_tax", json!(money(l.inc * q))),
            ("total_tax", json!(money((l.inc - l.ex) * q))),
            ("weight", json!(money(l.weight))),
            ("width", json!(money(0.0))),
            ("height", json!(money(0.0))),
            ("depth", json!(money(0.0))),
            ("quantity", json!(l.qty)),
            ("base_cost_price", json!(money(l.cost))),
            ("cost_price_inc_tax", json!(money(l.cost))),
            ("cost_price_ex_tax", json!(money(l.cost))),
            ("cost_price_tax", json!(money(0.0))),
            ("is_refunded", json!(false)),
            ("quantity_refunded", json!(0)),
            ("refund_amount", json!(money(0.0))),
            ("return_id", json!(0)),
            ("wrapping_id", json!(0)),
            ("wrapping_name", json!("")),
            ("base_wrapping_cost", json!(money(0.0))),
            ("wrapping_cost_ex_tax", json!(money(0.0))),
            ("wrapping_cost_inc_tax", json!(money(0.0))),
            ("wrapping_cost_tax", json!(money(0.0))),
            ("wrapping_message", json!("")),
            ("quantity_shipped", json!(0)),
            ("event_name", json!(Value::Null)),
            ("event_date", json!(Value::Null)),
            ("fixed_shipping_cost", json!(money(0.0))),
            ("ebay_item_id", json!("")),
            ("ebay_transaction_id", json!("")),
            ("option_set_id", json!(Value::Null)),
            ("parent_order_product_id", json!(Value::Null)),
            ("is_bundled_product", json!(false)),
            ("bin_picking_number", json!("")),
            ("external_id", json!(Value::Null)),
            ("brand", json!("")),
            ("applied_discounts", json!([])),
            ("product_options", json!(options)),
            ("configurable_fields", json!([])),
            ("gift_certificate_id", json!(Value::Null)),
            ("discounted_total_inc_tax", json!(money(l.inc * q))),
        ]);
        if let Value::Object(m) = m {
            products.push(m);
        }
    }
    // Stock is decremented like the default "on order placement" setting; the
    // product's date_modified is NOT bumped by this (as on BigCommerce).
    for l in &lines {
        if let Some(p) = s.products.get_mut(&l.product_id) {
            p.total_sold += l.qty;
            match p.inventory_tracking.as_str() {
                "product" => {
                    p.inventory_level = (p.inventory_level - l.qty).max(0);
                    if let [only] = p.variants.as_mut_slice() {
                        only.inventory_level = p.inventory_level;
                    }
                }
                "variant" => {
                    if let Some(v) = p.variants.iter_mut().find(|v| Some(v.id) == l.variant_id) {
                        v.inventory_level = (v.inventory_level - l.qty).max(0);
                    }
                }
                _ => {}
            }
        }
    }
    let mut billing_out = address_fields(billing);
    billing_out.insert("form_fields".into(), json!([]));
    let now = now_secs();
    let opt_str = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => json!(s),
        _ => Value::Null,
    };
    let text = |k: &str| str_of(obj, k);
    let currency = {
        let c = text("default_currency_code");
        if c.is_empty() {
            s.info.currency.clone()
        } else {
            c
        }
    };
    let locale = {
        let l = text("customer_locale");
        if l.is_empty() { "en".to_string() } else { l }
    };
    let order = object([
        ("id", json!(id)),
        ("customer_id", json!(customer_id)),
        ("date_created", json!(rfc2822(&date_created))),
        ("date_modified", json!(rfc2822(&now))),
        ("date_shipped", json!("")),
        ("status_id", json!(status_id)),
        ("status", json!(status_name(status_id).unwrap_or(""))),
        ("subtotal_ex_tax", json!(money(subtotal.0))),
        ("subtotal_inc_tax", json!(money(subtotal.1))),
        ("subtotal_tax", json!(money(subtotal.1 - subtotal.0))),
        ("base_shipping_cost", json!(money(ship.1))),
        ("shipping_cost_ex_tax", json!(money(ship.0))),
        ("shipping_cost_inc_tax", json!(money(ship.1))),
        ("shipping_cost_tax", json!(money(ship.1 - ship.0))),
        ("shipping_cost_tax_class_id", json!(0)),
        ("base_handling_cost", json!(money(handling.1))),
        ("handling_cost_ex_tax", json!(money(handling.0))),
        ("handling_cost_inc_tax", json!(money(handling.1))),
        ("handling_cost_tax", json!(money(handling.1 - handling.0))),
        ("handling_cost_tax_class_id", json!(0)),
        ("base_wrapping_cost", json!(money(wrapping.1))),
        ("wrapping_cost_ex_tax", json!(money(wrapping.0))),
        ("wrapping_cost_inc_tax", json!(money(wrapping.1))),
        ("wrapping_cost_tax", json!(money(wrapping.1 - wrapping.0))),
        ("wrapping_cost_tax_class_id", json!(0)),
        ("total_ex_tax", json!(money(total.0))),
        ("total_inc_tax", json!(money(total.1))),
        ("total_tax", json!(money(total.1 - total.0))),
        ("is_tax_inclusive_pricing", json!(false)),
        ("items_total", json!(items_total)),
        ("items_shipped", json!(0)),
        ("payment_method", json!(text("payment_method"))),
        ("payment_provider_id", json!("")),
        ("payment_status", json!("")),
        ("refunded_amount", json!(money(0.0))),
        (
            "order_is_digital",
            json!(lines.iter().all(|l| l.ptype == "digital")),
        ),
        ("store_credit_amount", json!(money(0.0))),
        ("gift_certificate_amount", json!(money(0.0))),
        ("ip_address", json!(text("ip_address"))),
        ("ip_address_v6", json!("")),
        ("geoip_country", json!("")),
        ("geoip_country_iso2", json!("")),
        ("currency_id", json!(1)),
        ("currency_code", json!(currency)),
        ("currency_exchange_rate", json!("1.0000000000")),
        ("default_currency_id", json!(1)),
        ("default_currency_code", json!(currency)),
        ("staff_notes", json!(text("staff_notes"))),
        ("customer_message", json!(text("customer_message"))),
        ("discount_amount", json!(money(discount))),
        ("coupon_discount", json!(money(0.0))),
        ("shipping_address_count", json!(addresses.len())),
        ("is_deleted", json!(false)),
        ("ebay_order_id", json!("0")),
        ("cart_id", json!("")),
        ("billing_address", json!(billing_out)),
        ("is_email_opt_in", json!(false)),
        ("credit_card_type", json!(Value::Null)),
        ("order_source", json!(source)),
        ("channel_id", json!(channel_id)),
        ("external_source", json!(opt_str("external_source"))),
        ("products", json!(res("products", "products"))),
        (
            "shipping_addresses",
            json!(res("shippingaddresses", "shippingaddresses")),
        ),
        ("coupons", json!(res("coupons", "coupons"))),
        ("external_id", json!(Value::Null)),
        (
            "external_merchant_id",
            json!(opt_str("external_merchant_id")),
        ),
        ("tax_provider_id", json!("")),
        ("store_default_currency_code", json!(s.info.currency)),
        (
            "store_default_to_transactional_exchange_rate",
            json!("1.0000000000"),
        ),
        ("custom_status", json!(status_name(status_id).unwrap_or(""))),
        ("customer_locale", json!(locale)),
        ("external_order_id", json!(opt_str("external_order_id"))),
        ("fees", json!([])),
    ]);
    let Value::Object(json) = order else {
        return Err(ApiErr::new(500, "internal error"));
    };
    s.orders.insert(
        id,
        OrderRec {
            id,
            json,
            date_created,
            date_modified: now,
            products,
            addresses,
            shipments: Vec::new(),
        },
    );
    Ok(id)
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
