//! A ready world for flow tests: a fake BigCommerce with one store and a products token,
//! an app pointed at it with fast job timings, a logged-in owner and a token connection.

use std::{collections::BTreeMap, time::Duration};

use cartbridge::{
    accounts::members::Actor,
    config::Settings,
    db::{Db, runs::RunRow},
    domain::Role,
    jobs::RunMode,
};

use self::flow as inventory;
use self::flow::InventorySettings;

use super::fake_bigcommerce::{FakeBigCommerce, FakeStore, RecordedRequest};
use super::{Client, TestApp, never_shown, spawn_app_with_flows};

pub const STORE: &str = "inv123";
pub const TOKEN: &str = "tok-inventory-5f1c2d9e";
pub const SCOPES: &[&str] = &[
    "store_v2_products_read_only",
    "store_v2_information_read_only",
];

pub struct InventoryEnv {
    pub app: TestApp,
    pub fake: FakeBigCommerce,
    pub client: Client,
    pub tenant: i64,
    pub connection: i64,
}

/// Job timings fast enough for tests (workers poll every 50 ms, retries after 0 s). The
/// BigCommerce timeout stays generous: the fake builds pages side by side in a debug build,
/// on a machine that may be busy, and a test that means a timeout injects one.
pub fn fast_jobs(s: &mut Settings) {
    s.bigcommerce_timeout = Duration::from_secs(10);
    s.bigcommerce_retry_base = Duration::from_millis(20);
    s.jobs.poll = Duration::from_millis(50);
    s.jobs.retry_base = Duration::from_secs(0);
    s.jobs.lease = Duration::from_secs(5);
    s.jobs.scheduler_tick = Duration::from_secs(1);
}

/// Starts the fake and the app (`adjust` runs after the fast defaults), signs up an owner
/// and creates the connection "Main store" to store `inv123` with `TOKEN`.
pub async fn inventory_env(adjust: impl FnOnce(&mut Settings)) -> InventoryEnv {
    inventory_env_with(cartbridge::flows::Registry::standard(), adjust).await
}

/// [`inventory_env`] with the flows of `flows` offered.
pub async fn inventory_env_with(
    flows: cartbridge::flows::Registry,
    adjust: impl FnOnce(&mut Settings),
) -> InventoryEnv {
    never_shown(TOKEN);
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new(STORE);
    store.name = "Inventory Store".into();
    fake.add_store(store);
    fake.add_token(STORE, TOKEN, SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with_flows(flows, |s| {
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
                ("api_client_id", "client-inventory"),
                ("access_token", TOKEN),
                ("scopes", "store_v2_products_read_only"),
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

impl InventoryEnv {
    /// Waits (up to 60 s, a liveness bound, not a speed check) until `pred` holds for the
    /// connection's newest run, and returns it.
    pub async fn wait_for_run(&self, what: &str, pred: impl Fn(&RunRow) -> bool) -> RunRow {
        for _ in 0..1200 {
            let runs = cartbridge::db::runs::list_for_connection(
                &self.app.db,
                self.tenant,
                self.connection,
                1,
                0,
            )
            .await
            .expect("list runs");
            if let Some(run) = runs.into_iter().next()
                && pred(&run)
            {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no run became {what} within 60 s");
    }

    /// Waits until the newest run has finished (succeeded or failed).
    pub async fn wait_for_finished_run(&self) -> RunRow {
        self.wait_for_run("finished", RunRow::is_finished).await
    }

    /// Waits until the run with `id` has finished.
    pub async fn wait_for_run_id(&self, id: i64) -> RunRow {
        for _ in 0..1200 {
            let run = cartbridge::db::runs::find(&self.app.db, self.tenant, id)
                .await
                .expect("find run")
                .expect("run exists");
            if run.is_finished() {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not finish within 60 s");
    }
}

impl InventoryEnv {
    /// The owner who created the environment, as the services see them.
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

    /// Saves the connection's Get Inventory settings as the owner.
    pub async fn save_settings(&self, settings: &InventorySettings) {
        let owner = self.owner().await;
        inventory::save_settings(&self.app.ctx, &owner, self.connection, settings)
            .await
            .expect("settings saved");
    }

    /// Queues a run as the owner ("Run now") and waits until it has finished.
    pub async fn run(&self, mode: RunMode) -> RunRow {
        let owner = self.owner().await;
        let job = inventory::run_now(&self.app.ctx, &owner, self.connection, mode)
            .await
            .expect("run queued");
        self.wait_for_job_run(job).await
    }

    /// Waits (up to 60 s) until the run of job `job` has finished and the job with it (so
    /// that another run can be queued).
    pub async fn wait_for_job_run(&self, job: i64) -> RunRow {
        let limit = Duration::from_secs(60);
        let polls = limit.as_millis() / 50;
        for _ in 0..polls {
            let runs = cartbridge::db::runs::list_for_connection(
                &self.app.db,
                self.tenant,
                self.connection,
                50,
                0,
            )
            .await
            .expect("list runs");
            if let Some(run) = runs
                .into_iter()
                .find(|r| r.job_id == Some(job) && r.is_finished() && job_is_over(r))
            {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the run of job {job} did not finish within {limit:?}");
    }

    /// Requests for the products collection received by the fake so far.
    pub fn product_requests(&self) -> Vec<RecordedRequest> {
        let path = format!("/stores/{STORE}/v3/catalog/products");
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .collect()
    }

    /// Every row of the snapshot tables and the events, as text.
    pub async fn dump_snapshot(&self) -> BTreeMap<&'static str, Vec<String>> {
        self.app
            .snapshot_of(&[
                (
                    "inventory_products",
                    "tenant_id, connection_id, product_id, sku, name, price, inventory_level, \
                     inventory_tracking, is_visible, date_modified, synced_at",
                ),
                (
                    "inventory_variants",
                    "tenant_id, connection_id, variant_id, product_id, sku, label, price, \
                     inventory_level, stock",
                ),
                (
                    "inventory_events",
                    "id, run_id, product_id, variant_id, sku, kind, old_stock, new_stock, created_at",
                ),
            ])
            .await
    }

    /// One snapshot variant: (product id, sku, stock), if present.
    pub async fn variant(&self, variant_id: i64) -> Option<(i64, String, Option<i64>)> {
        let sql = format!(
            "SELECT product_id, sku, stock FROM inventory_variants \
             WHERE connection_id = {} AND variant_id = {variant_id}",
            self.connection
        );
        match &self.app.db {
            Db::Sqlite(pool) => sqlx::query_as(&sql).fetch_optional(pool).await,
            Db::Postgres(pool) => sqlx::query_as(&sql).fetch_optional(pool).await,
        }
        .expect("variant")
    }
}

/// Whether the run's job is done or dead (or gone), not still queued or running.
fn job_is_over(run: &RunRow) -> bool {
    !matches!(run.job_status.as_deref(), Some("queued" | "running"))
}

/// Get Inventory's settings as its form holds them, and the flow services called with
/// them: the generic flow services (`cartbridge::flows`) with Get Inventory's fields.
pub mod flow {
    use cartbridge::{
        accounts::members::Actor,
        context::AppContext,
        flows::{self, FlowConfig, FlowError, inventory::Inventory},
        jobs::RunMode,
    };
    use serde_json::Value;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct InventorySettings {
        pub enabled: bool,
        pub interval_minutes: u32,
        pub page_size: u32,
        pub skip_hidden: bool,
        pub full_sync_hours: u32,
    }

    impl Default for InventorySettings {
        fn default() -> Self {
            Self {
                enabled: false,
                interval_minutes: 60,
                page_size: 250,
                skip_hidden: false,
                full_sync_hours: 24,
            }
        }
    }

    impl InventorySettings {
        pub fn config(&self) -> FlowConfig {
            FlowConfig {
                enabled: self.enabled,
                interval_minutes: Some(self.interval_minutes),
                values: flows::values(&[
                    ("page_size", Value::from(self.page_size)),
                    ("skip_hidden", Value::from(self.skip_hidden)),
                    ("full_sync_hours", Value::from(self.full_sync_hours)),
                ]),
            }
        }

        fn of(config: &FlowConfig) -> Self {
            let number = |k: &str| config.values[k].as_u64().expect("a number") as u32;
            Self {
                enabled: config.enabled,
                interval_minutes: config.interval_minutes.expect("scheduled"),
                page_size: number("page_size"),
                skip_hidden: config.values["skip_hidden"].as_bool().expect("a bool"),
                full_sync_hours: number("full_sync_hours"),
            }
        }
    }

    pub async fn settings(
        ctx: &AppContext,
        tenant_id: i64,
        connection_id: i64,
    ) -> Result<InventorySettings, FlowError> {
        let config = flows::config(ctx, tenant_id, connection_id, &Inventory).await?;
        Ok(InventorySettings::of(&config))
    }

    pub async fn save_settings(
        ctx: &AppContext,
        actor: &Actor,
        connection_id: i64,
        settings: &InventorySettings,
    ) -> Result<(), FlowError> {
        flows::save_config(ctx, actor, connection_id, &Inventory, &settings.config()).await
    }

    pub async fn run_now(
        ctx: &AppContext,
        actor: &Actor,
        connection_id: i64,
        mode: RunMode,
    ) -> Result<i64, FlowError> {
        flows::run_now(ctx, actor, connection_id, &Inventory, mode).await
    }
}
