//! Shipments v2: create (checked against the order's lines and addresses), list, count,
//! read.

use super::FakeBigCommerce;
use super::orders::set_status;
use super::paging::v2_page;
use super::reply::{ApiErr, HResult, Reply, parse_body, v2_bad, v2_missing};
use super::routes::R;
use super::server::Incoming;
use super::state::StoreState;
use super::values::{money, now_secs, num_of, rfc2822, str_of};
use serde_json::{Map, Value, json};

impl FakeBigCommerce {
    /// Ships every unshipped item of the order's first shipping address (as if done in
    /// the control panel). Returns the shipment id.
    pub fn add_shipment(
        &self,
        store_hash: &str,
        order_id: i64,
        tracking_number: &str,
        shipping_provider: &str,
    ) -> i64 {
        self.with_store(store_hash, |s| {
            let Some(o) = s.orders.get(&order_id) else {
                panic!("fake BigCommerce: no order {order_id}");
            };
            let address_id = o
                .addresses
                .first()
                .and_then(|a| a.get("id"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let items: Vec<Value> = o
                .products
                .iter()
                .filter_map(|p| {
                    let left = p.get("quantity").and_then(Value::as_i64).unwrap_or(0)
                        - p.get("quantity_shipped")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                    (left > 0).then(|| json!({ "order_product_id": p.get("id"), "quantity": left }))
                })
                .collect();
            let body = json!({
                "order_address_id": address_id,
                "tracking_number": tracking_number,
                "shipping_provider": shipping_provider,
                "items": items,
            });
            match create_shipment(s, order_id, &body) {
                Ok(m) => m.get("id").and_then(Value::as_i64).unwrap_or(0),
                Err(e) => panic!(
                    "fake BigCommerce: add_shipment rejected: {} {}",
                    e.status, e.title
                ),
            }
        })
    }

    /// Shipments of an order as `GET /v2/orders/{id}/shipments` renders them.
    #[allow(dead_code, reason = "for the Get Shipments issue")]
    pub fn shipments(&self, store_hash: &str, order_id: i64) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .get(&order_id)
                .map(|o| o.shipments.iter().cloned().map(Value::Object).collect())
                .unwrap_or_default()
        })
    }
}

/// Answers the shipments routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Shipments(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.shipments)
        }
        ("POST", R::Shipments(id)) => {
            let body = parse_body(inc)?;
            let m = create_shipment(s, id, &body)?;
            Ok(Reply::json(201, Value::Object(m)))
        }
        ("GET", R::ShipmentsCount(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(json!({ "count": o.shipments.len() })))
        }
        ("GET", R::Shipment(id, sid)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            let sh = o
                .shipments
                .iter()
                .find(|m| m.get("id").and_then(Value::as_i64) == Some(sid))
                .ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(sh.clone())))
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

pub(super) fn create_shipment(
    s: &mut StoreState,
    order_id: i64,
    body: &Value,
) -> Result<Map<String, Value>, ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    let shipment_id = s.next_shipment_id;
    let o = s.orders.get_mut(&order_id).ok_or_else(ApiErr::not_found)?;
    let address_id = match obj.get("order_address_id") {
        None | Some(Value::Null) => return Err(v2_missing("order_address_id")),
        Some(v) => v.as_i64().ok_or_else(|| v2_bad("order_address_id"))?,
    };
    let address_idx = o
        .addresses
        .iter()
        .position(|a| a.get("id").and_then(Value::as_i64) == Some(address_id))
        .ok_or_else(|| v2_bad("order_address_id"))?;
    let items = match obj.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None | Some(Value::Null) => return Err(v2_missing("items")),
        Some(_) => return Err(v2_bad("items")),
    };
    let tracking_number = match obj.get("tracking_number") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(t)) if t.chars().count() <= 50 => t.clone(),
        Some(_) => return Err(v2_bad("tracking_number")),
    };
    let mut wanted: Vec<(usize, i64)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let opid = it
            .get("order_product_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| v2_missing(&format!("items[{i}].order_product_id")))?;
        let qty = it
            .get("quantity")
            .and_then(Value::as_i64)
            .filter(|q| *q >= 1)
            .ok_or_else(|| v2_bad(&format!("items[{i}].quantity")))?;
        let idx = o
            .products
            .iter()
            .position(|p| p.get("id").and_then(Value::as_i64) == Some(opid))
            .ok_or_else(|| v2_bad(&format!("items[{i}].order_product_id")))?;
        let already: i64 = wanted
            .iter()
            .filter(|(j, _)| *j == idx)
            .map(|(_, q)| q)
            .sum();
        let p = &o.products[idx];
        let left = p.get("quantity").and_then(Value::as_i64).unwrap_or(0)
            - p.get("quantity_shipped")
                .and_then(Value::as_i64)
                .unwrap_or(0)
            - already;
        if qty > left {
            return Err(ApiErr::new(
                400,
                format!(
                    "The quantity specified for order product {opid} is greater than the quantity available to ship."
                ),
            ));
        }
        wanted.push((idx, qty));
    }

    // Commit.
    s.next_shipment_id += 1;
    let mut out_items = Vec::new();
    let mut shipped_now = 0;
    for (idx, qty) in &wanted {
        let p = &mut o.products[*idx];
        let cur = p
            .get("quantity_shipped")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        p.insert("quantity_shipped".into(), json!(cur + qty));
        out_items.push(json!({
            "order_product_id": p.get("id"),
            "product_id": p.get("product_id"),
            "quantity": qty,
        }));
        shipped_now += qty;
    }
    let a = &mut o.addresses[address_idx];
    let cur = a.get("items_shipped").and_then(Value::as_i64).unwrap_or(0);
    a.insert("items_shipped".into(), json!(cur + shipped_now));
    let mut ship_addr = Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
        "country",
        "country_iso2",
        "phone",
        "email",
    ] {
        ship_addr.insert(k.into(), a.get(k).cloned().unwrap_or(json!("")));
    }
    let mut bill = o
        .json
        .get("billing_address")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    bill.remove("form_fields");
    let items_total = o.get_i64("items_total");
    let items_shipped = o.get_i64("items_shipped") + shipped_now;
    o.json.insert("items_shipped".into(), json!(items_shipped));
    set_status(o, if items_shipped >= items_total { 2 } else { 3 });
    let now = now_secs();
    o.json.insert("date_shipped".into(), json!(rfc2822(&now)));
    o.touch();

    let provider = str_of(obj, "shipping_provider");
    let carrier = str_of(obj, "tracking_carrier");
    let tracking_link = str_of(obj, "tracking_link");
    let generated = if tracking_link.is_empty() && !tracking_number.is_empty() {
        let slug = if carrier.is_empty() {
            provider.clone()
        } else {
            carrier.clone()
        };
        if slug.is_empty() {
            format!("https://track.aftership.com/{tracking_number}")
        } else {
            format!("https://track.aftership.com/{slug}/{tracking_number}")
        }
    } else {
        String::new()
    };
    let merchant_cost = obj
        .get("merchant_shipping_cost")
        .and_then(num_of)
        .unwrap_or(0.0);
    let shipping_method = {
        let m = str_of(obj, "shipping_method");
        if m.is_empty() { "None".to_string() } else { m }
    };
    let shipment = json!({
        "id": shipment_id,
        "order_id": order_id,
        "customer_id": o.get_i64("customer_id"),
        "order_address_id": address_id,
        "date_created": rfc2822(&now),
        "tracking_number": tracking_number,
        "merchant_shipping_cost": money(merchant_cost),
        "shipping_method": shipping_method,
        "comments": str_of(obj, "comments"),
        "shipping_provider": provider,
        "tracking_carrier": carrier,
        "tracking_link": tracking_link,
        "billing_address": bill,
        "shipping_address": ship_addr,
        "items": out_items,
        "shipping_provider_display_name": provider_display_name(&provider),
        "generated_tracking_link": generated,
    });
    let Value::Object(m) = shipment else {
        return Err(ApiErr::new(500, "internal error"));
    };
    o.shipments.push(m.clone());
    Ok(m)
}

/// Display name BigCommerce shows for a shipping provider code.
pub fn provider_display_name(code: &str) -> String {
    match code {
        "" => String::new(),
        "auspost" => "Australia Post".into(),
        "canadapost" => "Canada Post".into(),
        "endicia" => "Endicia".into(),
        "usps" => "USPS".into(),
        "fedex" => "FedEx".into(),
        "ups" | "upsready" | "upsonline" => "UPS".into(),
        "shipperhq" => "ShipperHQ".into(),
        "royalmail" => "Royal Mail".into(),
        other => other.to_string(),
    }
}
