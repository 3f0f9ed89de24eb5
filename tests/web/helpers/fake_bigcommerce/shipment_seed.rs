//! Seeds for the Get Shipments tests: a shipment with a body of the test's choosing (part
//! of an order, a custom link, any carrier), a change to a recorded shipment as the
//! control panel makes it, and many orders at once without HTTP.

use super::FakeBigCommerce;
use super::order_create::create_order;
use super::shipments::{create_shipment, provider_display_name};
use super::values::{now_secs, rfc2822};
use serde_json::{Value, json};

impl FakeBigCommerce {
    /// Creates a shipment exactly as `POST /v2/orders/{id}/shipments` would (same checks)
    /// with `body`; `order_address_id` defaults to the order's first address. Panics on a
    /// validation error. Returns the shipment id.
    pub fn ship(&self, store_hash: &str, order_id: i64, mut body: Value) -> i64 {
        self.with_store(store_hash, |s| {
            if body.get("order_address_id").is_none() {
                let address = s
                    .orders
                    .get(&order_id)
                    .and_then(|o| o.addresses.first())
                    .and_then(|a| a.get("id"))
                    .cloned()
                    .unwrap_or(json!(0));
                body["order_address_id"] = address;
            }
            match create_shipment(s, order_id, &body) {
                Ok(m) => m.get("id").and_then(Value::as_i64).unwrap_or(0),
                Err(e) => panic!("fake BigCommerce: ship rejected: {} {}", e.status, e.title),
            }
        })
    }

    /// Changes fields of a shipment (as `PUT /v2/orders/{id}/shipments/{sid}` would) and
    /// bumps the order's `date_modified`. A new `tracking_link` clears the generated one.
    pub fn update_shipment(
        &self,
        store_hash: &str,
        order_id: i64,
        shipment_id: i64,
        changes: Value,
    ) {
        self.with_store(store_hash, |s| {
            let o = s
                .orders
                .get_mut(&order_id)
                .expect("fake BigCommerce: no such order");
            let sh = o
                .shipments
                .iter_mut()
                .find(|m| m.get("id").and_then(Value::as_i64) == Some(shipment_id))
                .expect("fake BigCommerce: no such shipment");
            for (k, v) in changes.as_object().expect("an object").clone() {
                if k == "shipping_provider" {
                    let name = provider_display_name(v.as_str().unwrap_or(""));
                    sh.insert("shipping_provider_display_name".into(), json!(name));
                }
                if k == "tracking_link" && v.as_str().is_some_and(|l| !l.is_empty()) {
                    sh.insert("generated_tracking_link".into(), json!(""));
                }
                sh.insert(k, v);
            }
            o.touch();
        });
    }

    /// Replaces a shipment's stored JSON wholesale (for malformed-data tests).
    pub fn corrupt_shipment(&self, store_hash: &str, order_id: i64, shipment_id: i64, raw: Value) {
        self.with_store(store_hash, |s| {
            let o = s
                .orders
                .get_mut(&order_id)
                .expect("fake BigCommerce: no such order");
            let sh = o
                .shipments
                .iter_mut()
                .find(|m| m.get("id").and_then(Value::as_i64) == Some(shipment_id))
                .expect("fake BigCommerce: no such shipment");
            *sh = raw.as_object().expect("an object").clone();
            o.touch();
        });
    }

    /// Adds `n` storefront orders of one custom line each, in status `status_id`, last
    /// modified `age_secs` ago, in-process (no HTTP). Returns their ids.
    pub fn seed_orders(
        &self,
        store_hash: &str,
        n: usize,
        status_id: i64,
        age_secs: i64,
    ) -> Vec<i64> {
        let mut st = self.lock();
        let base = st.base_url.clone();
        let s = st
            .stores
            .get_mut(store_hash)
            .expect("fake BigCommerce: unknown store");
        let at = now_secs() - chrono::Duration::seconds(age_secs);
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let body = json!({
                "status_id": status_id,
                "billing_address": {"first_name": "Seed", "last_name": "Order", "street_1": "1 Main St",
                    "city": "Austin", "state": "Texas", "zip": "78751", "country_iso2": "US",
                    "email": format!("seed{i}@example.com")},
                "products": [{"name": "Seeded item", "sku": format!("SEED-{i}"), "quantity": 1,
                    "price_inc_tax": 10, "price_ex_tax": 10}],
            });
            let id = create_order(s, &body, &base, store_hash, "www").unwrap_or_else(|e| {
                panic!("fake BigCommerce: seed rejected: {} {}", e.status, e.title)
            });
            let o = s.orders.get_mut(&id).expect("just created");
            o.date_modified = at;
            o.json.insert("date_modified".into(), json!(rfc2822(&at)));
            ids.push(id);
        }
        ids
    }
}
