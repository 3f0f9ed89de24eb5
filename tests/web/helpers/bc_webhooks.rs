//! A ready world for the inbound BigCommerce webhook tests: a fake store that accepts http
//! hook destinations (the app listens on plain loopback), an orders + channels token, an app
//! with no background workers (tests run jobs with `TestApp::run_due_jobs`), an owner and a
//! token connection; helpers to enable Placed Orders, place orders and read the events.

use std::collections::BTreeMap;

use cartbridge::{
    accounts::members::Actor,
    config::Settings,
    domain::Role,
    flows::{self, FlowConfig, placed_orders::PlacedOrders},
    jobs::RunMode,
};
use serde_json::{Value, json};

use super::fake_bigcommerce::{FakeBigCommerce, FakeStore, Sent};
use super::inventory::fast_jobs;
use super::{Client, Page, TestApp, never_shown, spawn_app_with};

pub const STORE: &str = "ord123";
pub const TOKEN: &str = "tok-orders-8c2e71aa";
pub const SCOPES: &[&str] = &[
    "store_v2_orders_read_only",
    "store_channel_settings_read_only",
    "store_v2_information_read_only",
];

pub struct OrdersEnv {
    pub app: TestApp,
    pub fake: FakeBigCommerce,
    pub client: Client,
    pub tenant: i64,
    pub connection: i64,
}

/// The fake store (accepting http hook destinations, with the orders + channels token) and
/// an app with no job workers talking to it, with `adjust` applied to the app's settings
/// (after: no job workers). Nobody has signed up yet.
pub async fn orders_world(adjust: impl FnOnce(&mut Settings)) -> (TestApp, FakeBigCommerce) {
    never_shown(TOKEN);
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new(STORE).allow_http_hooks();
    store.name = "Orders Store".into();
    fake.add_store(store);
    fake.add_token(STORE, TOKEN, SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api.parse().expect("fake URL");
        fast_jobs(s);
        s.jobs.workers = 0;
        adjust(s);
    })
    .await;
    (app, fake)
}

/// The world, with `adjust` applied to the app's settings (after: no job workers).
pub async fn orders_env(adjust: impl FnOnce(&mut Settings)) -> OrdersEnv {
    let (app, fake) = orders_world(adjust).await;
    let (client, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &[
                ("name", "Main store"),
                ("auth_type", "token"),
                ("store", STORE),
                ("api_client_id", "client-orders"),
                ("access_token", TOKEN),
                ("scopes", "store_v2_orders_read_only"),
                ("scopes", "store_channel_settings_read_only"),
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
    OrdersEnv {
        app,
        fake,
        client,
        tenant,
        connection,
    }
}

/// A valid minimal order body (§6) on `channel_id`, optionally back-dated (RFC-2822).
pub fn order_body(channel_id: i64, date_created: Option<&str>) -> Value {
    let mut body = json!({
        "channel_id": channel_id,
        "customer_id": 0,
        "status_id": 11,
        "billing_address": {"first_name": "Jane", "last_name": "Doe", "street_1": "123 Main Street",
            "city": "Austin", "state": "Texas", "zip": "78751", "country": "United States",
            "country_iso2": "US", "email": "janedoe@example.com"},
        "products": [{"name": "Blue mug", "sku": "MUG-BLUE", "quantity": 2,
            "price_inc_tax": 12.5, "price_ex_tax": 10}],
    });
    if let Some(d) = date_created {
        body["date_created"] = json!(d);
    }
    body
}

impl OrdersEnv {
    pub async fn owner(&self) -> Actor {
        let user_id = self
            .app
            .scalar_i64("SELECT id FROM users WHERE email = 'owner@example.com'")
            .await;
        Actor {
            tenant_id: self.tenant,
            tenant_name: "Acme".into(),
            user_id,
            email: "owner@example.com".into(),
            role: Role::Owner,
        }
    }

    /// Saves Placed Orders' settings as the owner (the same service the form calls).
    pub async fn save(&self, enabled: bool, storefronts: &str, start_date: &str) {
        let config = FlowConfig {
            enabled,
            interval_minutes: Some(60),
            values: flows::values(&[
                ("storefronts", Value::from(storefronts)),
                ("start_date", Value::from(start_date)),
            ]),
        };
        let owner = self.owner().await;
        flows::save_config(
            &self.app.ctx,
            &owner,
            self.connection,
            &PlacedOrders,
            &config,
        )
        .await
        .expect("settings saved");
    }

    /// The Placed Orders settings page's path.
    pub fn settings_path(&self) -> String {
        format!(
            "/t/{}/connections/{}/flows/placed_orders",
            self.tenant, self.connection
        )
    }

    /// Submits the Placed Orders settings form as a browser would (CSRF from the page).
    pub async fn submit_settings(&self, fields: &[(&str, &str)]) -> Page {
        let path = self.settings_path();
        self.client.submit(&path, &path, fields).await
    }

    /// The saved `storefronts` value and whether the flow is enabled.
    pub async fn saved_storefronts(&self) -> Option<(bool, String)> {
        let row = cartbridge::db::flows::find(
            &self.app.db,
            self.tenant,
            self.connection,
            "placed_orders",
        )
        .await
        .expect("flow settings")?;
        let settings: Value = serde_json::from_str(&row.settings).expect("settings json");
        Some((
            row.enabled,
            settings["storefronts"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ))
    }

    pub async fn enable(&self) {
        self.save(true, "", "").await;
    }

    /// Queues the reconciliation run ("Reconcile now") and runs every due job; returns the run.
    pub async fn reconcile(&self) -> cartbridge::db::runs::RunRow {
        let owner = self.owner().await;
        flows::run_now(
            &self.app.ctx,
            &owner,
            self.connection,
            &PlacedOrders,
            RunMode::Auto,
        )
        .await
        .expect("run queued");
        let ran = self.app.run_due_jobs().await;
        let run = cartbridge::db::runs::latest_of_flow(
            &self.app.db,
            self.tenant,
            self.connection,
            "placed_orders",
        )
        .await
        .expect("latest run");
        let jobs = self
            .app
            .snapshot_of(&[("jobs", "kind, status, last_error")])
            .await;
        run.unwrap_or_else(|| panic!("no run ({ran} jobs ran): {jobs:?}"))
    }

    /// Places an order on the fake with `order_source` `source`, waits for its deliveries
    /// and returns the order id and what was sent.
    pub async fn place(&self, body: Value, source: &str) -> (i64, Vec<Sent>) {
        let (id, sent) = self.fake.place_order(STORE, body, source);
        (id, sent.await.expect("deliveries task"))
    }

    /// The receiver URL of the connection.
    pub async fn hook_url(&self) -> String {
        let public_id = self.public_id().await;
        self.app.url(&format!("/webhooks/bigcommerce/{public_id}"))
    }

    pub async fn public_id(&self) -> String {
        let sql = format!(
            "SELECT public_id FROM bigcommerce_hook_keys WHERE connection_id = {}",
            self.connection
        );
        match &self.app.db {
            cartbridge::db::Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await,
            cartbridge::db::Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await,
        }
        .expect("public id")
    }

    /// The `data` of every `order.placed` event, in order.
    pub async fn events(&self) -> Vec<Value> {
        let sql = format!(
            "SELECT payload FROM webhook_events WHERE tenant_id = {} AND event_type = 'order.placed' ORDER BY id",
            self.tenant
        );
        let rows: Vec<String> = match &self.app.db {
            cartbridge::db::Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
            cartbridge::db::Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
        }
        .expect("events");
        rows.iter()
            .map(|r| serde_json::from_str::<Value>(r).expect("json")["data"].clone())
            .collect()
    }

    /// Inbox rows as (scope, status, outcome).
    pub async fn inbox(&self) -> Vec<(String, String, Option<String>)> {
        let sql = format!(
            "SELECT scope, status, outcome FROM bigcommerce_inbox WHERE tenant_id = {} ORDER BY id",
            self.tenant
        );
        match &self.app.db {
            cartbridge::db::Db::Sqlite(p) => sqlx::query_as(&sql).fetch_all(p).await,
            cartbridge::db::Db::Postgres(p) => sqlx::query_as(&sql).fetch_all(p).await,
        }
        .expect("inbox")
    }

    /// The store's hooks by scope (every client id).
    pub fn hooks_by_scope(&self) -> BTreeMap<String, Vec<Value>> {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for h in self.fake.hooks(STORE) {
            out.entry(h["scope"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .push(h);
        }
        out
    }

    /// POSTs `body` to `url` with `secret` (if any) as BigCommerce would; returns the status.
    pub async fn deliver(&self, url: &str, secret: Option<&str>, body: Vec<u8>) -> u16 {
        let mut req = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header("X-Cartbridge-Secret", s);
        }
        req.send().await.expect("deliver").status().as_u16()
    }

    /// The secret the fake's hooks carry.
    pub fn secret(&self) -> String {
        self.fake.hooks(STORE)[0]["headers"]["X-Cartbridge-Secret"]
            .as_str()
            .expect("secret header")
            .to_owned()
    }
}
