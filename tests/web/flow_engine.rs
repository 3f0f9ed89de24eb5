//! The flow engine with more than one flow: a flow of the test's own ("Stamp", which writes
//! to the store) registered beside Get Inventory, both drawing on one store's rate-limit
//! budget — in one process (SQLite or PostgreSQL), and on PostgreSQL in two worker
//! processes (this test binary re-run as a worker with the same registry). Also the shared
//! budget's own rules, on both databases.

use std::{sync::Arc, time::Duration};

use cartbridge::{
    accounts::members::Actor,
    bigcommerce::WindowSeen,
    config::{DatabaseUrl, Settings, VARIABLES},
    connections::store::access_token,
    context::AppContext,
    db::{self, Db, runs::NewRun},
    domain::{Role, StoreHash},
    flows::{self, Field, Flow, Registry, RunButton, Schedule, ScopeProbe},
    jobs::{BoxFuture, Job, JobFailure, RunMode},
    startup,
};
use serde_json::{Value, json};

use crate::helpers::{
    inventory::{InventoryEnv, STORE, fast_jobs, flow::InventorySettings, inventory_env_with},
    on_postgres,
    process::{self, ChildGuard},
};

/// Writes three webhooks to the store (POST /v3/hooks) and records a run: a small job of
/// the kind Send Orders will be, run beside a long sync of the same store.
struct Stamp;

const STAMP_WRITES: usize = 3;

impl Flow for Stamp {
    fn kind(&self) -> &'static str {
        "stamp"
    }
    fn label(&self) -> &'static str {
        "Stamp"
    }
    fn description(&self) -> &'static str {
        "Writes three webhooks to the store."
    }
    fn scope_probes(&self) -> &'static [ScopeProbe] {
        &[]
    }
    fn schedule(&self) -> Option<Schedule> {
        None
    }
    fn fields(&self) -> &'static [Field] {
        &[]
    }
    fn run_buttons(&self) -> &'static [RunButton] {
        &[RunButton {
            mode: RunMode::Auto,
            label: "Stamp now",
            id: "stamp-now",
        }]
    }
    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(stamp(ctx, job))
    }
}

async fn stamp(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    let fail = |e: &dyn std::fmt::Display| JobFailure::Fail(e.to_string());
    let connection_id = job.connection_id.expect("a connection");
    let connection = db::connections::find(&ctx.db, job.tenant_id, connection_id)
        .await
        .map_err(|e| fail(&e))?
        .expect("the connection");
    let token = access_token(ctx, job.tenant_id, connection_id)
        .await
        .map_err(|e| fail(&e))?
        .expect("a token");
    let hash = StoreHash::parse(&connection.store_hash).map_err(|e| fail(&e))?;
    let run = NewRun {
        connection_id,
        flow: "stamp",
        job_id: job.id,
        triggered_by: "manual",
        mode: "full",
    };
    let run_id = db::runs::create(&ctx.db, job.tenant_id, &run)
        .await
        .map_err(|e| fail(&e))?;
    let client = ctx.bigcommerce.store(&hash, &token);
    for i in 0..STAMP_WRITES {
        let hook = json!({
            "scope": format!("store/order/stamp{i}"),
            "destination": format!("https://stamp.example.com/{}/{i}", job.id),
            "is_active": true,
        });
        client
            .post_json::<_, Value>("/v3/hooks", &hook)
            .await
            .map_err(|e| fail(&e))?;
    }
    db::runs::finish(&ctx.db, job.tenant_id, run_id, "succeeded", None)
        .await
        .map_err(|e| fail(&e))
}

fn registry() -> Registry {
    Registry::standard().with(Arc::new(Stamp))
}

/// A store with 2,000 products read 50 a page (41 requests with the store clock), a fake
/// answering every request after 300 ms, and a quota of 10 requests per 2 s.
async fn slow_store(adjust: impl FnOnce(&mut Settings)) -> InventoryEnv {
    let env = inventory_env_with(registry(), adjust).await;
    env.fake.generate_catalog(STORE, 2000, 1);
    env.fake.set_latency(Duration::from_millis(300));
    env.fake.set_rate_limit(STORE, 10, 2000);
    env.save_settings(&InventorySettings {
        page_size: 50,
        ..InventorySettings::default()
    })
    .await;
    env.fake.clear_requests();
    env
}

async fn owner(env: &InventoryEnv) -> Actor {
    Actor {
        role: Role::Owner,
        ..env.owner().await
    }
}

async fn job_status(env: &InventoryEnv, job: i64) -> String {
    db::jobs::find_for_tenant(&env.app.db, env.tenant, job)
        .await
        .unwrap()
        .expect("the job")
        .status
}

/// Starts the sync, waits until it is well under way, then starts Stamp on the same store
/// and checks that Stamp finishes while the sync is still running, that both succeed, and
/// that the store answered at most 2 requests with 429.
async fn stamp_during_sync(env: &InventoryEnv) {
    let ctx = &env.app.ctx;
    let actor = owner(env).await;
    let inventory = ctx.flows.find("inventory").expect("inventory").clone();
    let sync = flows::run_now(
        ctx,
        &actor,
        env.connection,
        inventory.as_ref(),
        RunMode::Full,
    )
    .await
    .expect("sync queued");
    env.wait_for_run("sync under way", |r| r.flow == "inventory" && r.done >= 250)
        .await;
    let stamp_job = flows::run_now(ctx, &actor, env.connection, &Stamp, RunMode::Auto)
        .await
        .expect("stamp queued");

    let mut sync_finished_first = false;
    for _ in 0..1200 {
        if job_status(env, stamp_job).await == "done" {
            break;
        }
        if job_status(env, sync).await == "done" {
            sync_finished_first = true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        job_status(env, stamp_job).await,
        "done",
        "Stamp did not finish"
    );
    assert!(
        !sync_finished_first && job_status(env, sync).await != "done",
        "the write job waited for the whole sync"
    );
    assert_eq!(env.fake.hooks(STORE).len(), STAMP_WRITES);

    let run = env.wait_for_job_run(sync).await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(run.fetched, 2000);
    let limited = env.fake.count_answered(429);
    let sent = env.fake.requests().len();
    assert!(
        limited <= 2,
        "{limited} of {sent} requests were answered 429 (quota 10 per 2 s)"
    );
}

#[tokio::test]
async fn a_write_job_on_the_same_store_runs_beside_a_slow_sync_within_the_store_s_quota() {
    let env = slow_store(|s| s.jobs.workers = 2).await;
    stamp_during_sync(&env).await;
}

#[tokio::test]
async fn on_postgres_two_worker_processes_share_one_store_budget_between_a_sync_and_a_write() {
    if !on_postgres() {
        return;
    }
    let env = slow_store(|s| s.jobs.workers = 0).await;
    // This test binary, re-run as `worker_process`: two processes with 1 worker each, so the
    // sync and the write job run in different processes and share the budget only through
    // the database.
    let vars = process::child_env(
        &env.app,
        &env.fake.api_url(),
        &[("CARTBRIDGE_WORKERS", "1"), ("CBT_WORKER_PROCESS", "1")],
    );
    let test_binary = std::env::current_exe().expect("the test binary");
    let args = [
        "--exact",
        "flow_engine::worker_process",
        "--ignored",
        "--nocapture",
    ];
    let workers: Vec<ChildGuard> = (0..2)
        .map(|_| process::spawn(&test_binary, &args, &vars, env.app.data_dir.path()))
        .collect();
    stamp_during_sync(&env).await;
    let budgets = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM store_budgets WHERE store_hash = 'inv123'")
        .await;
    assert_eq!(
        budgets, 1,
        "the processes kept the store's budget in the database"
    );
    for mut w in workers {
        let status = w.terminate().await;
        assert!(status.success(), "worker: {}", w.output());
    }
}

/// Not a test of its own: the worker process the test above starts (`--ignored --exact`),
/// running `cartbridge worker` with Stamp registered until SIGTERM.
#[tokio::test]
#[ignore = "run as a child process by the two-process test"]
async fn worker_process() {
    if std::env::var("CBT_WORKER_PROCESS").as_deref() != Ok("1") {
        return;
    }
    let mut raw = std::collections::BTreeMap::new();
    for var in VARIABLES {
        if let Ok(value) = std::env::var(var) {
            raw.insert(*var, value);
        }
    }
    let mut settings = Settings::from_values(&raw).expect("worker settings");
    fast_jobs(&mut settings);
    settings.jobs.workers = 1;
    startup::run_workers_with(settings, registry())
        .await
        .expect("the worker ran");
}

async fn budget_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database_url(dir.path()).await;
    let db = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 4)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    (dir, db)
}

fn seen(left: u64, reset_ms: u64) -> WindowSeen {
    WindowSeen {
        left,
        quota: 5,
        reset_ms,
        window_ms: 30_000,
    }
}

#[tokio::test]
async fn the_shared_budget_hands_out_each_unit_of_a_window_once_even_to_concurrent_takers() {
    let (_dir, db) = budget_db().await;
    let now = 1_000_000;
    assert_eq!(
        db::budgets::take(&db, "s1", now).await.unwrap(),
        None,
        "an unknown store is not paced"
    );
    db::budgets::observe(&db, "s1", now, seen(5, 10_000))
        .await
        .unwrap();
    let takers: Vec<_> = (0..12)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db::budgets::take(&db, "s1", now + 1).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for t in takers {
        match t.await.unwrap() {
            None => granted += 1,
            Some(wait) => assert_eq!(wait, 10_000 - 1, "wait until the reset"),
        }
    }
    assert_eq!(granted, 5, "exactly the units left were handed out");
    // Once the window resets, the quota is back.
    assert_eq!(
        db::budgets::take(&db, "s1", now + 10_000).await.unwrap(),
        None
    );
}

/// The store's first response is recorded while a second request takes its unit: the row
/// may appear between the take's `UPDATE` (no row yet) and its look at the row, and a
/// budget with units left must then be taken, not waited on until the window resets (it
/// was: a 30 s pause in the middle of a hook registration on PostgreSQL).
#[tokio::test]
async fn a_take_racing_the_first_response_of_a_store_never_waits_on_a_budget_with_units_left() {
    let (_dir, db) = budget_db().await;
    let now = 3_000_000;
    for i in 0..40 {
        let store = format!("race{i}");
        let observer = {
            let (db, store) = (db.clone(), store.clone());
            tokio::spawn(async move {
                db::budgets::observe(&db, &store, now, seen(4, 30_000))
                    .await
                    .unwrap()
            })
        };
        let taken = db::budgets::take(&db, &store, now + 1).await.unwrap();
        observer.await.unwrap();
        assert_eq!(taken, None, "store {store}: 4 units were left");
    }
}

#[tokio::test]
async fn responses_correct_the_shared_budget_lowest_count_within_a_window_newest_after_it() {
    let (_dir, db) = budget_db().await;
    let now = 2_000_000;
    db::budgets::observe(&db, "s1", now, seen(4, 10_000))
        .await
        .unwrap();
    // A later response of the same window that still said 5 (sent before ours) does not
    // raise the count; another app spending the quota (2 left) lowers it.
    db::budgets::observe(&db, "s1", now + 10, seen(5, 9_990))
        .await
        .unwrap();
    db::budgets::observe(&db, "s1", now + 20, seen(2, 9_980))
        .await
        .unwrap();
    let mut granted = 0;
    while db::budgets::take(&db, "s1", now + 30)
        .await
        .unwrap()
        .is_none()
    {
        granted += 1;
        assert!(granted < 10, "the budget never ran out");
    }
    assert_eq!(granted, 2);
    // The next window's first response replaces the count.
    db::budgets::observe(&db, "s1", now + 10_500, seen(3, 29_000))
        .await
        .unwrap();
    let mut granted = 0;
    while db::budgets::take(&db, "s1", now + 10_600)
        .await
        .unwrap()
        .is_none()
    {
        granted += 1;
        assert!(granted < 10, "the budget never ran out");
    }
    assert_eq!(granted, 3);
}

#[tokio::test]
async fn a_flow_added_to_the_registry_gets_its_pages_runs_and_capabilities_without_other_edits() {
    let env = inventory_env_with(registry(), |s| s.jobs.workers = 0).await;
    let base = format!("/t/{}/connections/{}", env.tenant, env.connection);
    let page = env.client.get(&format!("{base}/flows/stamp")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Writes three webhooks to the store."));
    assert!(page.body.contains(r#"id="subnav-stamp""#), "{}", page.body);
    let connection = env.client.get(&base).await;
    assert!(connection.body.contains(r#"id="stamp-settings-link""#));
    assert_eq!(
        env.client
            .get(&format!("{base}/flows/nothing"))
            .await
            .status,
        404,
        "a flow the registry does not have"
    );

    let res = env
        .client
        .submit(
            &format!("{base}/flows/stamp"),
            &format!("{base}/flows/stamp/run"),
            &[("mode", "auto")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(env.app.run_due_jobs().await, 1);
    assert_eq!(env.fake.hooks(STORE).len(), STAMP_WRITES);
    let runs = env.client.get(&format!("{base}/runs")).await;
    assert!(
        runs.body.contains(r#"<td data-label="Flow">Stamp</td>"#),
        "{}",
        runs.body
    );
    assert!(runs.body.contains("succeeded"));
}
