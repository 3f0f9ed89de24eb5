//! Send Orders test helpers: a world with a catalog, a token that may write orders and
//! customers, a `read_write` API key, the flow's settings, a PO body, and waits on a PO.

use std::time::Duration;

use cartbridge::{
    config::Settings,
    flows::{
        self,
        send_orders::{SendOrders, SendOrdersSettings},
    },
};
use serde_json::{Value, json};

use super::TestApp;
use super::fake_bigcommerce::{FakeProduct, FakeVariant};
use super::inventory::{InventoryEnv, STORE, TOKEN, inventory_env};
use super::partner::{ApiResponse, create_key};

pub const ORDER_SCOPES: &[&str] = &[
    "store_v2_products_read_only",
    "store_v2_information_read_only",
    "store_v2_orders",
    "store_v2_customers",
];

pub struct OrdersEnv {
    pub env: InventoryEnv,
    pub key: String,
    /// Product and variant ids of `SKU-100-1` (10 in stock) and `SKU-200` (3 in stock).
    pub widget: (i64, i64),
    pub gadget: (i64, i64),
}

/// The inventory world plus order scopes, two products and a `read_write` key.
pub async fn orders_env(adjust: impl FnOnce(&mut Settings)) -> OrdersEnv {
    let env = inventory_env(adjust).await;
    env.fake.add_token(STORE, TOKEN, ORDER_SCOPES);
    let widget_id = env.fake.add_product(
        STORE,
        FakeProduct::new("Widget", "SKU-100", 12.5).variant(FakeVariant::new("SKU-100-1", 10)),
    );
    let gadget_id = env.fake.add_product(
        STORE,
        FakeProduct::new("Gadget", "SKU-200", 4.0).inventory(3),
    );
    let variant_of = |id: i64| {
        env.fake
            .product(STORE, id)
            .expect("product")
            .variants
            .first()
            .expect("a variant")
            .id
    };
    let widget = (widget_id, variant_of(widget_id));
    let gadget = (gadget_id, variant_of(gadget_id));
    let key = create_key(&env.client, env.tenant, "orders", "read_write", &[]).await;
    OrdersEnv {
        env,
        key,
        widget,
        gadget,
    }
}

/// A valid PO body with this number.
pub fn po_body(po_number: &str) -> Value {
    json!({
        "po_number": po_number,
        "customer": {"email": "buyer@example.com", "first_name": "Jane", "last_name": "Doe",
                     "company": "Retail Co", "phone": "+1 512 555 0100"},
        "billing_address": {"first_name": "Jane", "last_name": "Doe", "company": "Retail Co",
            "street_1": "123 Main St", "street_2": "", "city": "Austin", "state": "Texas",
            "zip": "78751", "country_iso2": "US", "phone": "", "email": "ap@retail.example"},
        "shipping_address": {"first_name": "Sam", "last_name": "Dock", "company": "Retail Co DC",
            "street_1": "9 Warehouse Rd", "street_2": "Dock 4", "city": "Round Rock", "state": "Texas",
            "zip": "78664", "country_iso2": "US", "phone": "+1 512 555 0199", "email": "",
            "shipping_method": "UPS Ground"},
        "lines": [{"sku": "SKU-100-1", "quantity": 2, "price": "12.50"},
                  {"sku": "SKU-200", "quantity": 1}],
        "shipping_cost": "5.00",
        "notes": "Dock 4"
    })
}

impl OrdersEnv {
    pub fn app(&self) -> &TestApp {
        &self.env.app
    }

    /// The purchase-orders collection path of the env's connection.
    pub fn path(&self) -> String {
        format!(
            "/api/v1/connections/{}/purchase-orders",
            self.env.connection
        )
    }

    /// Saves the Send Orders settings as the owner.
    pub async fn save(&self, settings: &SendOrdersSettings) {
        let owner = self.env.owner().await;
        flows::save_config(
            &self.env.app.ctx,
            &owner,
            self.env.connection,
            &SendOrders,
            &settings.config(),
        )
        .await
        .expect("settings saved");
    }

    /// Enables Send Orders with `mode`, everything else default.
    pub async fn enable(&self, mode: &str) {
        self.save(&SendOrdersSettings {
            enabled: true,
            customer_mode: mode.into(),
            ..SendOrdersSettings::default()
        })
        .await;
    }

    /// POSTs a PO body (raw text) with the env's key.
    pub async fn post_raw(&self, body: &str) -> ApiResponse {
        post_po(&self.env.app.base, &self.key, &self.path(), body).await
    }

    pub async fn post(&self, body: &Value) -> ApiResponse {
        self.post_raw(&body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        super::partner::Api::new(&self.env.app, Some(&self.key))
            .get(path)
            .await
    }

    /// Waits (up to 60 s, liveness only) until PO `po_number` has `status`, and returns
    /// its API view.
    pub async fn wait_for(&self, po_number: &str, status: &str) -> Value {
        let path = format!("{}/{po_number}", self.path());
        let mut last = Value::Null;
        for _ in 0..600 {
            let res = self.get(&path).await;
            if res.status == 200 {
                last = res.json();
                if last["status"] == status {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("PO {po_number} did not become {status} within 60 s; last seen: {last}");
    }

    /// The orders the fake store holds.
    pub fn orders(&self) -> Vec<Value> {
        self.env.fake.orders(STORE)
    }
}

/// POSTs `body` to `path` on `base` with a bearer key.
pub async fn post_po(base: &str, key: &str, path: &str, body: &str) -> ApiResponse {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST a PO");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ApiResponse {
        status,
        content_type,
        body: res.text().await.expect("body"),
    }
}
