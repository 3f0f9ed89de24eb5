//! A ready world for Get Shipments tests: the fake store with an orders token, the app, an
//! owner and a connection (an [`InventoryEnv`], so its run helpers apply), the flow's
//! settings, and [`sent_po`], the stand-in for a purchase order Send Orders sent.

use cartbridge::{
    config::Settings,
    flows::{self, FlowConfig, shipments::GetShipments},
    jobs::RunMode,
};
use serde_json::{Value, json};

use super::fake_bigcommerce::{FakeBigCommerce, FakeStore};
use super::inventory::{InventoryEnv, fast_jobs};
use super::{never_shown, spawn_app_with_flows};

pub const STORE: &str = "ship123";
pub const TOKEN: &str = "tok-shipments-8d41a7c3";
pub const SCOPES: &[&str] = &[
    "store_v2_orders_read_only",
    "store_v2_information_read_only",
];

/// Starts the fake and the app, signs up an owner and creates "Main store" to `ship123`.
pub async fn shipments_env(adjust: impl FnOnce(&mut Settings)) -> InventoryEnv {
    never_shown(TOKEN);
    let fake = FakeBigCommerce::start().await;
    // Plain-http hook destinations, as the app listens on loopback.
    let mut store = FakeStore::new(STORE).allow_http_hooks();
    store.name = "Shipping Store".into();
    fake.add_store(store);
    fake.add_token(STORE, TOKEN, SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with_flows(flows::Registry::standard(), |s| {
        s.bigcommerce_api_url = api.parse().expect("fake URL");
        fast_jobs(s);
        adjust(s);
    })
    .await;
    let (client, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &[
                ("name", "Main store"),
                ("auth_type", "token"),
                ("store", STORE),
                ("api_client_id", "client-shipments"),
                ("access_token", TOKEN),
                ("scopes", "store_v2_orders_read_only"),
                ("scopes", "store_v2_information_read_only"),
                ("then", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "connection not created: {}", res.body);
    let connection = app
        .scalar_i64(&format!(
            "SELECT id FROM connections WHERE tenant_id = {tenant} AND name = 'Main store'"
        ))
        .await;
    InventoryEnv {
        app,
        fake,
        client,
        tenant,
        connection,
    }
}

/// Saves Get Shipments' settings as the owner (disabled: tests start runs themselves).
pub async fn save_settings(env: &InventoryEnv, which_orders: &str, listen: bool) {
    save_settings_as(env, false, which_orders, listen).await;
}

/// Saves Get Shipments' settings as the owner; enabling it schedules a run at once.
pub async fn save_settings_as(env: &InventoryEnv, enabled: bool, which_orders: &str, listen: bool) {
    let owner = env.owner().await;
    let config = FlowConfig {
        enabled,
        interval_minutes: Some(15),
        values: flows::values(&[
            ("which_orders", Value::from(which_orders)),
            ("listen_webhooks", Value::from(listen)),
            ("backfill_days", Value::from(30)),
        ]),
    };
    flows::save_config(&env.app.ctx, &owner, env.connection, &GetShipments, &config)
        .await
        .expect("settings saved");
}

/// "Run now" (or "Backfill now") as the owner, waiting until the run has finished.
pub async fn run(env: &InventoryEnv, mode: RunMode) -> cartbridge::db::runs::RunRow {
    let owner = env.owner().await;
    let job = flows::run_now(&env.app.ctx, &owner, env.connection, &GetShipments, mode)
        .await
        .expect("run queued");
    env.wait_for_job_run(job).await
}

/// STAND-IN for Send Orders (issue 11), to be swapped at merge for
/// `POST /api/v1/connections/{id}/purchase-orders`: creates the order in the fake (custom
/// lines with these SKUs and quantities) and the `purchase_orders` / `purchase_order_lines`
/// rows exactly as Send Orders leaves them once sent: status `sent`, `bc_order_id` set,
/// the order's `external_order_id` = the PO number, lines without `order_product_id`.
/// Returns (PO id, BigCommerce order id).
pub async fn sent_po(env: &InventoryEnv, po_number: &str, lines: &[(&str, i64)]) -> (i64, i64) {
    let products: Vec<Value> = lines
        .iter()
        .map(|(sku, qty)| {
            json!({"name": format!("Item {sku}"), "sku": sku, "quantity": qty,
                   "price_inc_tax": 12.5, "price_ex_tax": 12.5})
        })
        .collect();
    let order_id = env.fake.add_order(
        STORE,
        json!({
            "status_id": 11,
            "external_source": "cartbridge",
            "external_order_id": po_number,
            "billing_address": {"first_name": "Pat", "last_name": "Partner", "street_1": "1 Dock Rd",
                "city": "Austin", "state": "Texas", "zip": "78751", "country_iso2": "US",
                "email": "buyer@partner.example"},
            "products": products,
        }),
    );
    let (t, c) = (env.tenant, env.connection);
    let now = cartbridge::db::now();
    env.app
        .execute(&format!(
            "INSERT INTO purchase_orders (tenant_id, connection_id, po_number, source, body, body_hash, \
             status, customer_email, bc_order_id, bc_customer_id, attempts, created_at, updated_at, sent_at) \
             VALUES ({t}, {c}, '{po_number}', 'api', '{{}}', 'stand-in', 'sent', 'buyer@partner.example', \
             {order_id}, 0, 1, {now}, {now}, {now})"
        ))
        .await;
    let po_id = env
        .app
        .scalar_i64(&format!(
            "SELECT id FROM purchase_orders WHERE tenant_id = {t} AND po_number = '{po_number}'"
        ))
        .await;
    for (i, (sku, qty)) in lines.iter().enumerate() {
        env.app
            .execute(&format!(
                "INSERT INTO purchase_order_lines (tenant_id, purchase_order_id, line_no, sku, quantity, price) \
                 VALUES ({t}, {po_id}, {i}, '{sku}', {qty}, '12.50')"
            ))
            .await;
    }
    (po_id, order_id)
}

/// The BigCommerce order line ids of an order, by SKU.
pub fn order_product_id(env: &InventoryEnv, order_id: i64, sku: &str) -> i64 {
    env.fake
        .order_products(STORE, order_id)
        .iter()
        .find(|p| p["sku"] == sku)
        .and_then(|p| p["id"].as_i64())
        .expect("the order has that SKU")
}
