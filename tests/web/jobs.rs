//! The durable job queue: claiming (order, due time, leases, takeover, one running job per
//! store), settling (retry, bury, release), the scheduler, the workers, and the staff view.
//! Process-level tests run the `cartbridge` binary as separate worker processes.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use cartbridge::{
    config::DatabaseUrl,
    db::{
        self, Db,
        flows::FlowSettingsUpdate,
        jobs::{JobRow, NewJob},
    },
    jobs::{self, RunMode, SyncRequest, Trigger, scheduler},
};

use crate::helpers::{
    TestApp,
    fake_bigcommerce::FakeStore,
    inventory::{InventoryEnv, SCOPES, STORE, inventory_env},
    on_postgres,
    process::{self, ChildGuard},
    spawn_app_with,
};

const LEASE: i64 = 60;

/// An app whose own workers are off, so the test alone claims jobs.
async fn queue_app() -> TestApp {
    spawn_app_with(|s| s.jobs.workers = 0).await
}

async fn tenant(app: &TestApp, name: &str) -> i64 {
    app.scalar_i64(&format!(
        "INSERT INTO tenants (name, created_at) VALUES ('{name}', 0) RETURNING id"
    ))
    .await
}

async fn connection(app: &TestApp, tenant: i64, name: &str, store: &str, status: &str) -> i64 {
    app.scalar_i64(&format!(
        "INSERT INTO connections (tenant_id, name, auth_type, store_hash, status, created_at, updated_at) \
         VALUES ({tenant}, '{name}', 'token', '{store}', '{status}', 0, 0) RETURNING id"
    ))
    .await
}

fn new_job<'a>(tenant: i64, kind: &'a str, store: Option<&'a str>, run_at: i64) -> NewJob<'a> {
    NewJob {
        tenant_id: tenant,
        connection_id: None,
        kind,
        key: None,
        store_hash: store,
        payload: "{}",
        run_at,
        max_attempts: 3,
    }
}

async fn enqueue(app: &TestApp, job: &NewJob<'_>) -> i64 {
    db::jobs::enqueue(&app.db, job)
        .await
        .expect("enqueue")
        .expect("no active duplicate")
}

async fn claim(db: &Db, worker: &str) -> Option<cartbridge::jobs::Job> {
    db::jobs::claim(db, worker, LEASE).await.expect("claim")
}

async fn job_row(app: &TestApp, tenant: i64, id: i64) -> JobRow {
    db::jobs::find_for_tenant(&app.db, tenant, id)
        .await
        .expect("find job")
        .expect("job exists")
}

/// Polls `check` every 50 ms until it holds (a liveness bound of `secs`, not a speed check).
async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..secs * 20 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {secs} s");
}

#[tokio::test]
async fn claim_takes_due_jobs_oldest_first_and_never_a_job_due_later() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let now = db::now();
    let newer = enqueue(&app, &new_job(t, "a", Some("s1"), now - 10)).await;
    let older = enqueue(&app, &new_job(t, "a", Some("s2"), now - 100)).await;
    let later = enqueue(&app, &new_job(t, "a", Some("s3"), now + 3600)).await;

    let first = claim(&app.db, "w1").await.expect("a due job");
    let second = claim(&app.db, "w1").await.expect("another due job");
    let third = claim(&app.db, "w1").await;

    assert_eq!((first.id, second.id), (older, newer));
    assert!(third.is_none(), "claimed a job due in an hour: {third:?}");
    assert_eq!(job_row(&app, t, later).await.status, "queued");
    let claimed = job_row(&app, t, older).await;
    assert_eq!(claimed.status, "running");
    assert_eq!(claimed.locked_by.as_deref(), Some("w1"));
    assert_eq!(claimed.attempts, 1);
    assert_eq!(first.attempts, 1);
}

#[tokio::test]
async fn a_claimed_job_is_not_claimed_again_while_its_lease_lives() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let id = enqueue(&app, &new_job(t, "a", None, db::now())).await;

    assert_eq!(claim(&app.db, "w1").await.map(|j| j.id), Some(id));
    assert!(claim(&app.db, "w2").await.is_none());
    assert!(claim(&app.db, "w1").await.is_none());
}

#[tokio::test]
async fn a_job_whose_lease_expired_is_taken_over_and_the_old_worker_can_no_longer_touch_it() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let id = enqueue(&app, &new_job(t, "a", Some("s1"), db::now())).await;
    claim(&app.db, "w1").await.expect("claimed");
    // w1's process died: its lease ran out without being renewed.
    app.execute(&format!(
        "UPDATE jobs SET locked_until = {} WHERE id = {id}",
        db::now() - 5
    ))
    .await;

    let taken = claim(&app.db, "w2").await.expect("taken over");

    assert_eq!(taken.id, id);
    assert_eq!(taken.attempts, 2, "the takeover counts as an attempt");
    assert_eq!(job_row(&app, t, id).await.locked_by.as_deref(), Some("w2"));
    assert!(!db::jobs::heartbeat(&app.db, id, "w1", LEASE).await.unwrap());
    assert!(!db::jobs::complete(&app.db, id, "w1").await.unwrap());
    assert!(!db::jobs::bury(&app.db, id, "w1", "late").await.unwrap());
    assert!(!db::jobs::release(&app.db, id, "w1").await.unwrap());
    assert!(db::jobs::heartbeat(&app.db, id, "w2", LEASE).await.unwrap());
    let row = job_row(&app, t, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("running", 2));
    assert!(db::jobs::complete(&app.db, id, "w2").await.unwrap());
    assert_eq!(job_row(&app, t, id).await.status, "done");
}

#[tokio::test]
async fn jobs_of_the_same_store_run_side_by_side_drawing_on_its_budget() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let now = db::now();
    let a1 = enqueue(&app, &new_job(t, "a", Some("aaa"), now - 30)).await;
    let a2 = enqueue(&app, &new_job(t, "b", Some("aaa"), now - 20)).await;
    let b1 = enqueue(&app, &new_job(t, "a", Some("bbb"), now - 10)).await;

    let first = claim(&app.db, "w1").await.expect("first");
    let second = claim(&app.db, "w2").await.expect("second");
    let third = claim(&app.db, "w3").await.expect("third");

    // A purchase order need not wait behind a long sync of its store.
    assert_eq!((first.id, second.id, third.id), (a1, a2, b1));
    assert!(claim(&app.db, "w4").await.is_none());
}

#[tokio::test]
async fn a_keyed_event_job_is_queued_once_while_active_and_unkeyed_jobs_are_never_deduplicated() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let po = NewJob {
        key: Some("po:17"),
        ..new_job(t, "send_orders", Some("s1"), db::now())
    };
    assert!(db::jobs::enqueue(&app.db, &po).await.unwrap().is_some());
    assert_eq!(
        db::jobs::enqueue(&app.db, &po).await.unwrap(),
        None,
        "queued twice"
    );
    let other_po = NewJob {
        key: Some("po:18"),
        ..po.clone()
    };
    assert!(
        db::jobs::enqueue(&app.db, &other_po)
            .await
            .unwrap()
            .is_some()
    );
    let delivery = new_job(t, "webhook_delivery", None, db::now());
    assert!(
        db::jobs::enqueue(&app.db, &delivery)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db::jobs::enqueue(&app.db, &delivery)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_second_active_job_for_the_same_connection_and_kind_is_not_queued() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let c = connection(&app, t, "Main", "s1", "healthy").await;
    let key = db::jobs::sync_key(c);
    let job = NewJob {
        connection_id: Some(c),
        key: Some(&key),
        ..new_job(t, "inventory", Some("s1"), db::now())
    };
    let other_kind = NewJob {
        kind: "orders",
        ..job.clone()
    };

    let first = db::jobs::enqueue(&app.db, &job).await.unwrap();
    let again = db::jobs::enqueue(&app.db, &job).await.unwrap();
    let orders = db::jobs::enqueue(&app.db, &other_kind).await.unwrap();
    assert!(first.is_some() && orders.is_some());
    assert_eq!(again, None, "queued twice");

    // Still refused while it runs; accepted again once it is done.
    let claimed = claim(&app.db, "w1").await.expect("claimed");
    assert_eq!(Some(claimed.id), first);
    assert_eq!(db::jobs::enqueue(&app.db, &job).await.unwrap(), None);
    assert!(db::jobs::complete(&app.db, claimed.id, "w1").await.unwrap());
    assert!(db::jobs::enqueue(&app.db, &job).await.unwrap().is_some());
}

#[tokio::test]
async fn retry_later_queues_the_job_again_for_later_and_bury_marks_it_dead() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let id = enqueue(&app, &new_job(t, "a", Some("s1"), db::now())).await;
    claim(&app.db, "w1").await.expect("claimed");

    assert!(
        !db::jobs::retry_later(&app.db, id, "w2", 0, "not mine")
            .await
            .unwrap()
    );
    let later = db::now() + 3600;
    assert!(
        db::jobs::retry_later(&app.db, id, "w1", later, "BigCommerce answered 503")
            .await
            .unwrap()
    );
    let row = job_row(&app, t, id).await;
    assert_eq!(row.status, "queued");
    assert_eq!(row.run_at, later);
    assert_eq!(row.last_error.as_deref(), Some("BigCommerce answered 503"));
    assert_eq!((row.locked_by, row.locked_until), (None, None));
    assert!(
        claim(&app.db, "w1").await.is_none(),
        "claimed before its retry time"
    );

    app.execute(&format!(
        "UPDATE jobs SET run_at = {} WHERE id = {id}",
        db::now() - 1
    ))
    .await;
    let retried = claim(&app.db, "w1").await.expect("due again");
    assert_eq!((retried.id, retried.attempts), (id, 2));
    assert!(
        db::jobs::bury(&app.db, id, "w1", "The access token was rejected")
            .await
            .unwrap()
    );

    let row = job_row(&app, t, id).await;
    assert_eq!(row.status, "dead");
    assert_eq!(
        row.last_error.as_deref(),
        Some("The access token was rejected")
    );
    assert_eq!(row.locked_by, None);
    assert!(
        claim(&app.db, "w1").await.is_none(),
        "a dead job was claimed"
    );
    let counts = db::jobs::counts(&app.db).await.unwrap();
    assert_eq!((counts.dead, counts.queued, counts.running), (1, 0, 0));
}

#[tokio::test]
async fn release_hands_the_job_back_at_once_without_counting_the_interrupted_attempt() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let id = enqueue(&app, &new_job(t, "a", Some("s1"), db::now() - 50)).await;
    claim(&app.db, "w1").await.expect("claimed");

    assert!(db::jobs::release(&app.db, id, "w1").await.unwrap());

    let row = job_row(&app, t, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 0));
    assert_eq!(row.locked_by, None);
    let again = claim(&app.db, "w2").await.expect("claimable at once");
    assert_eq!((again.id, again.attempts), (id, 1));
}

#[tokio::test]
async fn find_for_tenant_does_not_show_another_tenants_job() {
    let app = queue_app().await;
    let acme = tenant(&app, "Acme").await;
    let other = tenant(&app, "Other").await;
    let id = enqueue(&app, &new_job(acme, "a", None, db::now())).await;

    assert!(
        db::jobs::find_for_tenant(&app.db, acme, id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db::jobs::find_for_tenant(&app.db, other, id)
            .await
            .unwrap()
            .is_none()
    );
}

/// A due, enabled inventory flow on a connection in `status`.
async fn due_flow(app: &TestApp, tenant: i64, name: &str, store: &str, status: &str) -> i64 {
    let c = connection(app, tenant, name, store, status).await;
    let update = FlowSettingsUpdate {
        enabled: true,
        interval_secs: 3600,
        settings: "{}",
        next_run_at: Some(db::now() - 5),
    };
    db::flows::upsert(&app.db, tenant, c, "inventory", &update)
        .await
        .expect("flow settings");
    c
}

async fn jobs_of(app: &TestApp, connection: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM jobs WHERE connection_id = {connection}"
    ))
    .await
}

#[tokio::test]
async fn the_scheduler_queues_a_due_flow_exactly_once_even_when_two_ticks_race() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let c = due_flow(&app, t, "Main", "s1", "healthy").await;
    let before = db::flows::find(&app.db, t, c, "inventory")
        .await
        .unwrap()
        .unwrap();

    let ticks: Vec<_> = (0..2)
        .map(|_| {
            let ctx = app.ctx.clone();
            tokio::spawn(async move { scheduler::tick(&ctx).await.expect("tick") })
        })
        .collect();
    let mut queued = 0;
    for tick in ticks {
        queued += tick.await.expect("tick task");
    }

    assert_eq!(queued, 1);
    assert_eq!(jobs_of(&app, c).await, 1);
    let job_id = app
        .scalar_i64(&format!("SELECT id FROM jobs WHERE connection_id = {c}"))
        .await;
    let job = job_row(&app, t, job_id).await;
    assert_eq!(job.kind, "inventory");
    assert_eq!(job.store_hash.as_deref(), Some("s1"));
    assert_eq!(job.status, "queued");
    let payload: SyncRequest = serde_json::from_str(&job.payload).expect("a flow job payload");
    assert_eq!(payload.trigger, Trigger::Schedule);
    assert_eq!(payload.mode, RunMode::Auto);
    let after = db::flows::find(&app.db, t, c, "inventory")
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.next_run_at.unwrap() >= before.next_run_at.unwrap() + 3600,
        "the next run was not moved on by the interval"
    );
}

#[tokio::test]
async fn the_scheduler_does_not_queue_a_flow_whose_previous_run_is_still_active() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let c = due_flow(&app, t, "Main", "s1", "healthy").await;
    assert_eq!(scheduler::tick(&app.ctx).await.unwrap(), 1);
    // The first run is still queued when the flow comes due again.
    app.execute(&format!(
        "UPDATE flow_settings SET next_run_at = {} WHERE connection_id = {c}",
        db::now() - 1
    ))
    .await;

    assert_eq!(scheduler::tick(&app.ctx).await.unwrap(), 0);
    assert_eq!(jobs_of(&app, c).await, 1);
}

#[tokio::test]
async fn the_scheduler_skips_disabled_connections_and_flows_not_yet_due() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let disabled = due_flow(&app, t, "Gone", "s1", "disabled").await;
    let later = due_flow(&app, t, "Later", "s2", "healthy").await;
    app.execute(&format!(
        "UPDATE flow_settings SET next_run_at = {} WHERE connection_id = {later}",
        db::now() + 3600
    ))
    .await;

    assert_eq!(scheduler::tick(&app.ctx).await.unwrap(), 0);
    assert_eq!(jobs_of(&app, disabled).await, 0);
    assert_eq!(jobs_of(&app, later).await, 0);
}

#[tokio::test]
async fn enqueue_flow_queues_a_flow_job_once_while_it_is_active() {
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let c = connection(&app, t, "Main", "s1", "healthy").await;
    let payload = SyncRequest {
        mode: RunMode::Full,
        trigger: Trigger::Manual,
    };

    let first = jobs::enqueue_sync(&app.ctx, t, c, "s1", "inventory", payload)
        .await
        .unwrap()
        .expect("queued");
    let again = jobs::enqueue_sync(&app.ctx, t, c, "s1", "inventory", payload)
        .await
        .unwrap();

    assert_eq!(again, None);
    let row = job_row(&app, t, first).await;
    assert_eq!(
        (row.kind.as_str(), row.connection_id),
        ("inventory", Some(c))
    );
    assert_eq!(
        serde_json::from_str::<SyncRequest>(&row.payload).unwrap(),
        payload
    );
    assert_eq!(
        i64::from(row.max_attempts),
        i64::from(app.ctx.jobs.max_attempts)
    );
}

#[tokio::test]
async fn the_workers_mark_a_job_nobody_can_handle_dead_with_the_reason() {
    let app = spawn_app_with(|s| {
        s.jobs.workers = 1;
        s.jobs.poll = Duration::from_millis(50);
    })
    .await;
    let t = tenant(&app, "Acme").await;
    let id = enqueue(&app, &new_job(t, "no-such-flow", None, db::now())).await;

    wait_until("the job is settled", 30, || async {
        job_row(&app, t, id).await.status == "dead"
    })
    .await;

    let row = job_row(&app, t, id).await;
    assert_eq!(row.attempts, 1, "a permanent failure is not retried");
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no handler"),
        "{:?}",
        row.last_error
    );
}

#[tokio::test]
async fn the_staff_dashboard_counts_jobs_and_shows_dead_jobs_as_such() {
    let app = queue_app().await;
    let (staff, t) = app.signup_and_login("support@example.com", "Acme").await;
    app.execute("UPDATE users SET is_staff = TRUE WHERE email = 'support@example.com'")
        .await;
    enqueue(&app, &new_job(t, "inventory", Some("s1"), db::now())).await;
    let dead = enqueue(&app, &new_job(t, "inventory", Some("s2"), db::now() + 10)).await;
    app.execute(&format!("UPDATE jobs SET run_at = 0 WHERE id = {dead}"))
        .await;
    claim(&app.db, "w1").await.expect("claimed");
    db::jobs::bury(
        &app.db,
        dead,
        "w1",
        "The store rejected the access token <401>",
    )
    .await
    .unwrap();

    let page = staff.get("/admin").await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(r#"id="jobs-queued">1<"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="jobs-dead">1<"#), "{}", page.body);
    assert!(page.body.contains(&format!(
        "#{dead} <span class=\"status-failing\">dead</span>"
    )));
    assert!(
        page.body
            .contains("The store rejected the access token &#60;401&#62;")
            || page
                .body
                .contains("The store rejected the access token &lt;401&gt;"),
        "the error is shown, escaped: {}",
        page.body
    );
}

// ---------------------------------------------------------------------------
// Many claimers, many processes (PostgreSQL)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn on_postgres_many_concurrent_claimers_claim_every_job_exactly_once() {
    if !on_postgres() {
        return;
    }
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let mut queued = BTreeSet::new();
    for i in 0..200 {
        let store = format!("store{i:03}");
        queued.insert(enqueue(&app, &new_job(t, "a", Some(&store), db::now() - 1)).await);
    }
    let url = DatabaseUrl::parse(&app.database_url).unwrap();

    let claimers: Vec<_> = (0..8)
        .map(|n| {
            let url = url.clone();
            tokio::spawn(async move {
                // Its own pool, as a separate process would have.
                let db = Db::connect(&url, 2).await.expect("connect");
                let worker = format!("claimer-{n}");
                let mut got = Vec::new();
                loop {
                    match claim(&db, &worker).await {
                        Some(job) => got.push(job.id),
                        None => {
                            let left = db.count_rows("jobs").await.unwrap();
                            let running = match &db {
                                Db::Postgres(p) => sqlx::query_scalar::<_, i64>(
                                    "SELECT COUNT(*) FROM jobs WHERE status = 'running'",
                                )
                                .fetch_one(p)
                                .await
                                .unwrap(),
                                Db::Sqlite(_) => unreachable!(),
                            };
                            if running == left {
                                break;
                            }
                            tokio::task::yield_now().await;
                        }
                    }
                }
                db.close().await;
                got
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.expect("claimer"));
    }

    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique, queued, "every job is claimed");
}

#[tokio::test]
async fn on_postgres_claimers_racing_for_few_stores_run_each_job_once() {
    if !on_postgres() {
        return;
    }
    let app = queue_app().await;
    let t = tenant(&app, "Acme").await;
    let mut queued = BTreeSet::new();
    for i in 0..60 {
        let store = format!("store{}", i % 3);
        queued.insert(enqueue(&app, &new_job(t, "a", Some(&store), db::now() - 1)).await);
    }
    let url = DatabaseUrl::parse(&app.database_url).unwrap();

    let claimers: Vec<_> = (0..8)
        .map(|n| {
            let url = url.clone();
            tokio::spawn(async move {
                let db = Db::connect(&url, 2).await.expect("connect");
                let Db::Postgres(pool) = &db else {
                    unreachable!()
                };
                let worker = format!("claimer-{n}");
                let mut got = Vec::new();
                loop {
                    // A claim that collided with another claimer's is "nothing now", never
                    // an error.
                    match claim(&db, &worker).await {
                        Some(job) => {
                            got.push(job.id);
                            assert!(db::jobs::complete(&db, job.id, &worker).await.unwrap());
                        }
                        None => {
                            let open: i64 = sqlx::query_scalar(
                                "SELECT COUNT(*) FROM jobs WHERE status <> 'done'",
                            )
                            .fetch_one(pool)
                            .await
                            .unwrap();
                            if open == 0 {
                                break;
                            }
                            tokio::task::yield_now().await;
                        }
                    }
                }
                db.close().await;
                got
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.expect("claimer"));
    }

    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a job ran twice");
    assert_eq!(unique, queued, "every job ran");
}

/// Runs `cartbridge <args>` against the env's database, data folder (same master key) and
/// fake BigCommerce, with fast job timings.
fn spawn_cartbridge(env: &InventoryEnv, args: &[&str], extra: &[(&str, &str)]) -> ChildGuard {
    process::spawn(
        std::path::Path::new(env!("CARGO_BIN_EXE_cartbridge")),
        args,
        &process::child_env(&env.app, &env.fake.api_url(), extra),
        env.app.data_dir.path(),
    )
}

/// Creates a connection to a new fake store (with a small catalog) through the wizard.
async fn add_store_connection(env: &InventoryEnv, hash: &str) -> i64 {
    let token = format!("tok-{hash}-0a1b2c3d");
    env.fake.add_store(FakeStore::new(hash));
    env.fake.add_token(hash, &token, SCOPES);
    env.fake.generate_catalog(hash, 5, 1);
    let name = format!("Store {hash}");
    let t = env.tenant;
    let res = env
        .client
        .submit(
            &format!("/t/{t}/connections/new"),
            &format!("/t/{t}/connections"),
            &[
                ("name", &name),
                ("auth_type", "token"),
                ("store", hash),
                ("api_client_id", "client-inventory"),
                ("access_token", &token),
                ("scopes", "store_v2_products_read_only"),
                ("scopes", "store_v2_information_read_only"),
                ("then", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "connection not created: {}", res.body);
    env.app
        .scalar_i64(&format!(
            "SELECT id FROM connections WHERE tenant_id = {t} AND name = '{name}'"
        ))
        .await
}

async fn active_jobs(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
        .await
}

async fn enqueue_inventory(env: &InventoryEnv, connection: i64, store: &str) -> i64 {
    let payload = SyncRequest {
        mode: RunMode::Full,
        trigger: Trigger::Manual,
    };
    jobs::enqueue_sync(
        &env.app.ctx,
        env.tenant,
        connection,
        store,
        "inventory",
        payload,
    )
    .await
    .expect("enqueue")
    .expect("queued")
}

#[tokio::test]
async fn on_postgres_two_worker_processes_run_each_queued_flow_job_exactly_once() {
    if !on_postgres() {
        return;
    }
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    env.fake.generate_catalog(STORE, 5, 1);
    let mut stores = vec![(env.connection, STORE.to_owned())];
    for i in 0..20 {
        let hash = format!("multi{i:02}");
        stores.push((add_store_connection(&env, &hash).await, hash));
    }
    let mut job_ids = BTreeSet::new();
    for (connection, hash) in &stores {
        job_ids.insert(enqueue_inventory(&env, *connection, hash).await);
    }
    env.fake.clear_requests();

    let workers = [
        spawn_cartbridge(&env, &["worker", "--workers", "3"], &[]),
        spawn_cartbridge(&env, &["worker", "--workers", "3"], &[]),
    ];
    wait_until("every job is done", 120, || async {
        active_jobs(&env.app).await == 0
    })
    .await;

    let logs = || {
        workers
            .iter()
            .map(ChildGuard::output)
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let done = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM jobs WHERE status = 'done' AND kind <> 'email'")
        .await;
    assert_eq!(done, 21, "jobs not done:\n{}", logs());
    // Each job was finished by exactly one worker, across both processes.
    let finished: usize = workers
        .iter()
        .map(|w| {
            w.output()
                .lines()
                .filter(|l| l.ends_with("job done"))
                .count()
        })
        .sum();
    assert_eq!(finished, 21, "{}", logs());
    let runs: Vec<(i64, i64)> = match &env.app.db {
        Db::Postgres(p) => sqlx::query_as(
            "SELECT job_id, COUNT(*) FROM runs WHERE job_id IS NOT NULL GROUP BY job_id",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Db::Sqlite(_) => unreachable!(),
    };
    let runs: BTreeMap<i64, i64> = runs.into_iter().collect();
    assert_eq!(runs.keys().copied().collect::<BTreeSet<_>>(), job_ids);
    assert!(runs.values().all(|n| *n == 1), "a job ran twice: {runs:?}");
    let mut product_pages: BTreeMap<String, usize> = BTreeMap::new();
    for r in env.fake.requests() {
        if r.method == "GET" && r.path.ends_with("/v3/catalog/products") {
            *product_pages
                .entry(r.store_hash.unwrap_or_default())
                .or_default() += 1;
        }
    }
    for (_, hash) in &stores {
        assert_eq!(
            product_pages.get(hash),
            Some(&1),
            "store {hash}: {product_pages:?}"
        );
    }
}

/// The Get Inventory settings with `page_size`, as the flow stores them.
async fn slow_catalog(env: &InventoryEnv) -> usize {
    env.fake.generate_catalog(STORE, 2000, 1);
    // 3 requests per half second: the 40 pages take several seconds.
    env.fake.set_rate_limit(STORE, 3, 500);
    let json = serde_json::json!({"page_size": 50}).to_string();
    let update = FlowSettingsUpdate {
        enabled: false,
        interval_secs: 3600,
        settings: &json,
        next_run_at: None,
    };
    db::flows::upsert(
        &env.app.db,
        env.tenant,
        env.connection,
        "inventory",
        &update,
    )
    .await
    .expect("flow settings");
    env.fake.product_count(STORE)
}

async fn run_of(env: &InventoryEnv, job: i64) -> Option<db::runs::RunRow> {
    let runs = db::runs::list_for_connection(&env.app.db, env.tenant, env.connection, 10, 0)
        .await
        .unwrap();
    runs.into_iter().find(|r| r.job_id == Some(job))
}

#[tokio::test]
async fn a_job_whose_process_was_killed_is_taken_over_and_finished_by_the_next_process() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let products = slow_catalog(&env).await;
    let job = enqueue_inventory(&env, env.connection, STORE).await;
    let lease = [("CARTBRIDGE_JOB_LEASE_SECS", "2")];

    let mut first = spawn_cartbridge(&env, &["serve", "--workers", "1"], &lease);
    wait_until("the run makes progress", 60, || async {
        run_of(&env, job).await.is_some_and(|r| r.done > 0)
    })
    .await;
    first.kill();
    let after_kill = run_of(&env, job).await.unwrap();
    assert!(
        !after_kill.is_finished(),
        "the run finished before the kill"
    );
    let second = spawn_cartbridge(&env, &["serve", "--workers", "1"], &lease);
    let run = env.wait_for_run_id(after_kill.id).await;

    assert_eq!(
        run.status,
        "succeeded",
        "{:?}\n{}",
        run.error,
        second.output()
    );
    let runs = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM runs WHERE connection_id = {}",
            env.connection
        ))
        .await;
    assert_eq!(runs, 1, "the takeover started a second run");
    let snapshot = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM inventory_products WHERE connection_id = {}",
            env.connection
        ))
        .await;
    assert_eq!(snapshot, products as i64);
    // The job is settled a moment after its run finished.
    wait_until("the job is done", 30, || async {
        job_row(&env.app, env.tenant, job).await.status == "done"
    })
    .await;
    let row = job_row(&env.app, env.tenant, job).await;
    assert!(row.attempts >= 2, "the takeover counts: {}", row.attempts);
    assert!(run.attempts >= 2, "the run was resumed: {}", run.attempts);
}

#[tokio::test]
async fn serve_stopped_with_sigterm_hands_its_job_back_and_the_next_process_finishes_it() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let products = slow_catalog(&env).await;
    let job = enqueue_inventory(&env, env.connection, STORE).await;

    let mut first = spawn_cartbridge(&env, &["serve", "--workers", "1"], &[]);
    wait_until("the run makes progress", 60, || async {
        run_of(&env, job).await.is_some_and(|r| r.done > 0)
    })
    .await;
    let status = first.terminate().await;

    assert!(status.success(), "exit {status:?}:\n{}", first.output());
    let row = job_row(&env.app, env.tenant, job).await;
    assert_eq!(row.status, "queued", "not released:\n{}", first.output());
    assert_eq!(row.attempts, 0, "the interrupted attempt counts");
    assert_eq!(row.locked_by, None);
    assert!(row.run_at <= db::now());

    let second = spawn_cartbridge(&env, &["worker", "--workers", "1"], &[]);
    let run = env
        .wait_for_run_id(run_of(&env, job).await.unwrap().id)
        .await;
    assert_eq!(
        run.status,
        "succeeded",
        "{:?}\n{}",
        run.error,
        second.output()
    );
    let snapshot = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM inventory_products WHERE connection_id = {}",
            env.connection
        ))
        .await;
    assert_eq!(snapshot, products as i64);
    wait_until("the job is done", 30, || async {
        job_row(&env.app, env.tenant, job).await.status == "done"
    })
    .await;
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_drops_the_handler_and_the_job_is_finished_once_taken_back() {
    let env = inventory_env(|s| {
        s.jobs.workers = 1;
        s.jobs.lease = Duration::from_secs(2);
    })
    .await;
    slow_catalog(&env).await;
    let job = enqueue_inventory(&env, env.connection, STORE).await;
    wait_until("the run makes progress", 60, || async {
        run_of(&env, job).await.is_some_and(|r| r.done > 0)
    })
    .await;
    let worker = job_row(&env.app, env.tenant, job)
        .await
        .locked_by
        .expect("running");

    // Another worker took the job over (as if this one had stalled past its lease).
    env.app
        .execute(&format!(
            "UPDATE jobs SET locked_by = 'thief', locked_until = {} WHERE id = {job}",
            db::now() + 600
        ))
        .await;
    wait_until("the worker notices", 30, || async {
        crate::helpers::logs::captured()
            .lines()
            .any(|l| l.contains(&worker) && l.contains("lost the job's lease"))
    })
    .await;
    env.fake.clear_requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(
        env.fake.requests().len(),
        0,
        "the dropped handler kept fetching"
    );
    let row = job_row(&env.app, env.tenant, job).await;
    assert_eq!(
        (row.status.as_str(), row.locked_by.as_deref()),
        ("running", Some("thief"))
    );

    // The thief dies too: its lease runs out and the worker takes the job back.
    env.app
        .execute(&format!(
            "UPDATE jobs SET locked_until = {} WHERE id = {job}",
            db::now() - 1
        ))
        .await;
    let run = env
        .wait_for_run_id(run_of(&env, job).await.unwrap().id)
        .await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    // The worker marks the job done just after the handler finished the run.
    wait_until("the job is done", 30, || async {
        job_row(&env.app, env.tenant, job).await.status != "running"
    })
    .await;
    let row = job_row(&env.app, env.tenant, job).await;
    assert_eq!((row.status.as_str(), row.attempts), ("done", 2));
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_dead_and_its_run_failed() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let (t, c) = (env.tenant, env.connection);
    let payload = serde_json::to_string(&SyncRequest {
        mode: RunMode::Full,
        trigger: Trigger::Manual,
    })
    .expect("payload");
    let job = db::jobs::enqueue(
        &env.app.db,
        &NewJob {
            tenant_id: t,
            connection_id: Some(c),
            kind: "inventory",
            key: Some(&db::jobs::sync_key(c)),
            store_hash: Some(STORE),
            payload: &payload,
            run_at: db::now(),
            max_attempts: 1,
        },
    )
    .await
    .expect("enqueue")
    .expect("queued");
    // The only attempt's process died mid-run: the job is running under an expired lease
    // and its run was left running.
    let gone = claim(&env.app.db, "dead-process").await.expect("claimed");
    assert_eq!(gone.id, job);
    let run = db::runs::create(
        &env.app.db,
        t,
        &db::runs::NewRun {
            connection_id: c,
            flow: "inventory",
            job_id: job,
            triggered_by: "manual",
            mode: "full",
        },
    )
    .await
    .expect("run");
    env.app
        .execute(&format!(
            "UPDATE jobs SET locked_until = 0 WHERE id = {job}"
        ))
        .await;

    let ctx = env.app.ctx.clone().into_inner();
    let mut settings = ctx.jobs.clone();
    settings.workers = 1;
    let workers = jobs::start(ctx, &settings);
    wait_until("the job is buried", 30, || async {
        job_row(&env.app, t, job).await.status == "dead"
    })
    .await;
    workers.shutdown().await;

    let row = db::runs::find(&env.app.db, t, run)
        .await
        .expect("find run")
        .expect("run exists");
    assert_eq!(row.status, "failed");
    assert!(row.finished_at.is_some());
    assert!(
        row.error
            .as_deref()
            .is_some_and(|e| e.contains("stopped before finishing")),
        "{:?}",
        row.error
    );
    assert!(
        env.fake
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/v3/catalog/products")),
        "the job ran again after its last attempt"
    );
}
