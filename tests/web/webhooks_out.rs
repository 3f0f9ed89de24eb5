//! Outbound webhooks: Standard Webhooks signatures checked by the reference library (a
//! Python receiver), retries with a logged attempt each, 410 and exhausted retries disabling
//! the endpoint (owners emailed), the SSRF guard at save and at delivery time, the outbox
//! surviving a SIGKILL, and the events themselves.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use cartbridge::{
    config::Settings,
    db,
    jobs::RunMode,
    partner_api::{events, webhooks},
    vault::Aad,
};
use serde_json::json;

use crate::helpers::{
    TestApp,
    inventory::{InventoryEnv, STORE, TOKEN, inventory_env},
    partner::{Receiver, create_endpoint, wait_for_count},
};

/// Private destinations allowed (the receiver is on 127.0.0.1) and retries at once.
fn loopback_and_fast_retries(s: &mut Settings) {
    s.webhooks.allow_private = true;
    s.webhooks.retry_schedule = vec![Duration::ZERO; 7];
}

async fn env_with_receiver(adjust: impl FnOnce(&mut Settings)) -> (InventoryEnv, Receiver) {
    let receiver = Receiver::start().await;
    let env = inventory_env(|s| {
        loopback_and_fast_retries(s);
        adjust(s);
    })
    .await;
    (env, receiver)
}

async fn endpoint(env: &InventoryEnv, receiver: &Receiver, types: &[&str]) -> (i64, String) {
    let (id, secret) =
        create_endpoint(&env.app, &env.client, env.tenant, &receiver.url, types).await;
    receiver.configure(json!({ "secret": secret })).await;
    (id, secret)
}

async fn send_test_event(env: &InventoryEnv, id: i64) {
    let page = format!("/t/{}/webhooks/{id}", env.tenant);
    env.client
        .submit(&page, &format!("{page}/test"), &[])
        .await
        .assert_redirect_to(&page);
}

#[tokio::test]
async fn a_test_event_is_signed_per_standard_webhooks_and_the_reference_library_verifies_it() {
    let (env, receiver) = env_with_receiver(|_| {}).await;
    let (id, secret) = endpoint(&env, &receiver, &["inventory.changed"]).await;
    let page = format!("/t/{}/webhooks/{id}", env.tenant);
    let shown = env.client.get(&page).await;
    assert!(!shown.body.contains(&secret), "the secret is shown again");

    send_test_event(&env, id).await;
    receiver
        .wait_for("a delivery", 30, |seen| !seen.is_empty())
        .await;
    let seen = receiver.answered();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["verified"], true, "{seen:?}");
    assert_eq!(seen[0]["type"], "webhook.test");
    wait_for_count(
        &env.app,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
        1,
        10,
    )
    .await;
    let log = env.client.get(&page).await;
    assert!(log.body.contains("webhook.test") && log.body.contains("delivered"));
    let id_sent = seen[0]["id"].as_str().unwrap();
    assert!(
        log.body.contains(&format!("ok {id_sent}")),
        "the answer's start is logged: {}",
        log.body
    );

    // Rotating: the old secret no longer verifies, the new one does.
    let res = env
        .client
        .submit(&page, &format!("{page}/rotate-secret"), &[])
        .await;
    assert_eq!(res.status, 200);
    let new_secret = crate::helpers::partner::code_by_id(&res.body, "new-secret").unwrap();
    assert_ne!(new_secret, secret);
    send_test_event(&env, id).await;
    receiver
        .wait_for("a second delivery", 30, |seen| seen.len() == 2)
        .await;
    assert_eq!(
        receiver.answered()[1]["verified"],
        false,
        "signed with the old secret?"
    );
    receiver.configure(json!({ "secret": new_secret })).await;
    send_test_event(&env, id).await;
    receiver
        .wait_for("a third delivery", 30, |seen| seen.len() == 3)
        .await;
    assert_eq!(receiver.answered()[2]["verified"], true);

    for s in [&secret, &new_secret] {
        // The base64 part: also catches the secret without its prefix.
        let base64_part = s.trim_start_matches("whsec_");
        crate::partner_api::assert_plaintext_nowhere(&env.app, base64_part).await;
    }
}

#[tokio::test]
async fn a_receiver_failing_three_times_then_succeeding_gets_the_event_once_with_four_attempts_logged()
 {
    let (env, receiver) = env_with_receiver(|_| {}).await;
    let (id, _) = endpoint(&env, &receiver, &["inventory.changed"]).await;
    receiver
        .configure(json!({ "fail_first": 3, "fail_status": 503 }))
        .await;

    env.fake.generate_catalog(STORE, 4, 1);
    env.run(RunMode::Full).await;
    let product = env
        .app
        .scalar_i64("SELECT MIN(product_id) FROM inventory_products")
        .await;
    env.fake
        .update_product(STORE, product, |p| p.inventory_level += 3);
    let run = env.run(RunMode::Full).await;
    // The run's merge wrote the event and its delivery; emitting again adds nothing.
    let again = events::inventory_changed(&env.app.ctx, env.tenant, run.id)
        .await
        .unwrap();
    assert!(again.is_empty(), "emitted twice: {again:?}");
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries")
            .await,
        1
    );

    receiver
        .wait_for("a success", 60, |seen| {
            seen.iter().any(|s| s["answered"] == 200)
        })
        .await;
    wait_for_count(
        &env.app,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
        1,
        10,
    )
    .await;
    let seen = receiver.answered();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s["verified"] == true && s["id"] == seen[0]["id"])
    );
    assert_eq!(seen.iter().filter(|s| s["answered"] == 200).count(), 1);
    assert_eq!(seen[3]["type"], "inventory.changed");
    assert_eq!(
        seen[3]["data"]["changes"][0]["new_stock"],
        seen[3]["data"]["changes"][0]["old_stock"].as_i64().unwrap() + 3
    );
    let attempts = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM webhook_attempts")
        .await;
    assert_eq!(attempts, 4);
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 503")
            .await,
        3
    );
    let log = env
        .client
        .get(&format!("/t/{}/webhooks/{id}", env.tenant))
        .await;
    assert!(
        log.body.contains("503") && log.body.contains("not today"),
        "{}",
        log.body
    );
    // Emitting the same run again (the end-of-run hook, as a retried job would) stores
    // nothing new.
    events::after_run(&env.app.ctx, env.tenant, run.id).await;
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_events")
            .await,
        1
    );
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_exhausted_retries_disable_it_and_email_the_owners() {
    let (env, receiver) = env_with_receiver(|_| {}).await;
    let (id, _) = endpoint(&env, &receiver, &["run.failed"]).await;
    receiver
        .configure(json!({ "fail_first": 100, "fail_status": 500 }))
        .await;
    send_test_event(&env, id).await;
    wait_for_count(&env.app, "SELECT COUNT(*) FROM webhook_attempts", 8, 60).await;
    wait_for_count(
        &env.app,
        &format!("SELECT COUNT(*) FROM webhook_endpoints WHERE id = {id} AND status = 'disabled'"),
        1,
        10,
    )
    .await;
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'failed'")
            .await,
        1
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_attempts")
            .await,
        8,
        "no ninth attempt"
    );
    let mails = env.app.emails_to("owner@example.com").await;
    let mail = mails
        .iter()
        .find(|m| m.subject.contains("webhook endpoint was disabled"))
        .expect("the owner is emailed");
    assert!(mail.body.contains(&receiver.url));
    let page = env
        .client
        .get(&format!("/t/{}/webhooks/{id}", env.tenant))
        .await;
    assert!(
        page.body.contains("Deliveries failed for about 24 hours"),
        "{}",
        page.body
    );

    // Re-enabled, a 410 disables it after one attempt.
    let p = format!("/t/{}/webhooks/{id}", env.tenant);
    env.client
        .submit(&p, &format!("{p}/enable"), &[])
        .await
        .assert_redirect_to(&p);
    receiver.configure(json!({ "fail_status": 410 })).await;
    send_test_event(&env, id).await;
    wait_for_count(&env.app, "SELECT COUNT(*) FROM webhook_attempts", 9, 30).await;
    wait_for_count(
        &env.app,
        &format!("SELECT COUNT(*) FROM webhook_endpoints WHERE id = {id} AND status = 'disabled'"),
        1,
        10,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_attempts")
            .await,
        9
    );
    assert!(env.client.get(&p).await.body.contains("410 Gone"));
}

#[tokio::test]
async fn a_loopback_endpoint_is_refused_when_saved_and_when_delivered_unless_allowed() {
    let receiver = Receiver::start().await;
    let env = inventory_env(|s| s.webhooks.retry_schedule = vec![Duration::ZERO; 7]).await;
    let page = format!("/t/{}/webhooks", env.tenant);
    let before = env.app.snapshot().await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("http://", "https://"),
        "https://localhost/hooks".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://[::1]/hooks".to_owned(),
        "https://10.0.0.8/hooks".to_owned(),
    ] {
        let res = env
            .client
            .submit(
                &page,
                &page,
                &[("url", &url), ("event_types", "run.failed")],
            )
            .await;
        assert_eq!(res.status, 422, "{url} was accepted");
        assert!(
            res.body.contains("https://") || res.body.contains("public addresses"),
            "{url}: {}",
            res.body
        );
    }
    let res = env
        .client
        .submit(
            &page,
            &page,
            &[
                ("url", "https://127.0.0.1:9/hooks"),
                ("event_types", "run.failed"),
            ],
        )
        .await;
    assert!(
        res.body.contains("127.0.0.1, a loopback address"),
        "{}",
        res.body
    );
    assert_eq!(env.app.snapshot().await, before);

    // An endpoint saved while allowed (a row written as that install would have) is still
    // refused at delivery time once private addresses are not allowed.
    let ctx = &env.app.ctx;
    let secret = cartbridge::partner_api::signing::generate_secret();
    let tenant = env.tenant;
    let id = db::webhooks::create_endpoint(
        &ctx.db,
        tenant,
        &receiver.url.replace("http://", "https://"),
        "",
        "run.failed",
        |id| {
            let secret = &secret;
            async move {
                Ok::<_, db::DbError>(
                    ctx.vault
                        .seal(
                            &Aad::new(tenant, "webhook_endpoints", id, "signing_secret"),
                            secret,
                        )
                        .await
                        .unwrap(),
                )
            }
        },
    )
    .await
    .unwrap();
    send_test_event(&env, id).await;
    // Each attempt is refused (and retried on the schedule, here without waiting).
    wait_for_count(&env.app, "SELECT COUNT(*) FROM webhook_attempts", 8, 30).await;
    let logged = env.client.get(&format!("{page}/{id}")).await;
    assert!(
        logged.body.contains("127.0.0.1, a loopback address"),
        "{}",
        logged.body
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.all().is_empty(),
        "the loopback receiver was called"
    );
}

#[tokio::test]
async fn inventory_changed_is_split_into_batches_of_500_and_run_and_connection_failures_are_events()
{
    let (env, receiver) = env_with_receiver(|s| s.jobs.workers = 0).await;
    endpoint(
        &env,
        &receiver,
        &["inventory.changed", "run.failed", "connection.failed"],
    )
    .await;
    let (t, c) = (env.tenant, env.connection);
    env.app
        .execute(&format!(
            "INSERT INTO runs (tenant_id, connection_id, flow, triggered_by, mode, status, started_at, finished_at, error) \
             VALUES ({t}, {c}, 'inventory', 'manual', 'full', 'failed', 0, 1, 'The store said no.')"
        ))
        .await;
    let run = env.app.scalar_i64("SELECT MAX(id) FROM runs").await;
    let values: Vec<String> = (1..=1_200)
        .map(|v| format!("({t}, {c}, {run}, {v}, {v}, 'SKU-{v}', 'changed', 1, 2, 0)"))
        .collect();
    for chunk in values.chunks(400) {
        env.app
            .execute(&format!(
                "INSERT INTO inventory_events (tenant_id, connection_id, run_id, product_id, variant_id, sku, kind, old_stock, new_stock, created_at) VALUES {}",
                chunk.join(", ")
            ))
            .await;
    }
    let ctx = &env.app.ctx;
    assert_eq!(
        events::inventory_changed(ctx, t, run).await.unwrap().len(),
        3
    );
    // The hook the lead calls when a run ends: this run failed, so run.failed (once).
    events::after_run(ctx, t, run).await;
    events::after_run(ctx, t, run).await;
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'run.failed'")
            .await,
        1
    );
    assert!(
        events::run_failed(ctx, t, run).await.unwrap().is_empty(),
        "emitted twice"
    );
    let sizes: Vec<usize> = payloads(&env.app, "inventory.changed")
        .await
        .iter()
        .map(|p| p["data"]["changes"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![500, 500, 200]);
    let failed = payloads(&env.app, "run.failed").await;
    assert_eq!(failed[0]["data"]["error"], "The store said no.");

    // A failing connection test (the token was revoked in the store) emits connection.failed.
    env.fake.remove_token(TOKEN);
    let page = format!("/t/{t}/connections/{c}");
    env.client.submit(&page, &format!("{page}/test"), &[]).await;
    let failed = payloads(&env.app, "connection.failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["connection_id"], c);
    // Every event has one pending delivery, written with it, and a job to send it.
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries")
            .await,
        5
    );
    assert_eq!(
        env.app
            .scalar_i64(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'webhook_delivery' AND status = 'queued'"
            )
            .await,
        5
    );
}

async fn payloads(app: &TestApp, event_type: &str) -> Vec<serde_json::Value> {
    let sql =
        format!("SELECT payload FROM webhook_events WHERE event_type = '{event_type}' ORDER BY id");
    let rows: Vec<String> = match &app.db {
        db::Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_all(p).await.unwrap(),
        db::Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_all(p).await.unwrap(),
    };
    rows.iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// A `cartbridge serve` child process, SIGKILLed when dropped (as in `jobs.rs`).
struct ChildGuard {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl ChildGuard {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_serve(env: &InventoryEnv) -> ChildGuard {
    let log = env
        .app
        .data_dir
        .path()
        .join(format!("child-{}.log", uuid::Uuid::new_v4().simple()));
    let out = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cartbridge"));
    for var in cartbridge::config::VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env("CARTBRIDGE_DATABASE_URL", &env.app.database_url)
        .env("CARTBRIDGE_DATA_DIR", env.app.data_dir.path())
        .env("CARTBRIDGE_LISTEN", "127.0.0.1:0")
        .env("CARTBRIDGE_BIGCOMMERCE_API_URL", env.fake.api_url())
        .env("CARTBRIDGE_JOB_POLL_MS", "50")
        .env("CARTBRIDGE_JOB_LEASE_SECS", "2")
        .env("CARTBRIDGE_JOB_RETRY_BASE_SECS", "0")
        .env("CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS", "0,0,0,0,0,0,0")
        .env("CARTBRIDGE_LOG", "info")
        .args(["serve", "--workers", "1"])
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out);
    ChildGuard {
        child: cmd.spawn().expect("start cartbridge"),
        log,
    }
}

#[tokio::test]
async fn an_event_committed_before_a_sigkill_is_delivered_after_the_restart() {
    let (env, receiver) = env_with_receiver(|s| s.jobs.workers = 0).await;
    let (_, secret) = endpoint(&env, &receiver, &["run.failed"]).await;
    // The first attempt hangs in the receiver: the process is killed mid-delivery.
    receiver
        .configure(json!({ "secret": secret, "hang_first_ms": 8000 }))
        .await;
    let (t, c) = (env.tenant, env.connection);
    env.app
        .execute(&format!(
            "INSERT INTO runs (tenant_id, connection_id, flow, triggered_by, mode, status, started_at, finished_at, error) \
             VALUES ({t}, {c}, 'inventory', 'schedule', 'full', 'failed', 0, 1, 'boom')"
        ))
        .await;
    let run = env.app.scalar_i64("SELECT MAX(id) FROM runs").await;
    // A second event whose job was never queued: the process died right after the commit.
    env.app
        .execute(&format!(
            "INSERT INTO runs (tenant_id, connection_id, flow, triggered_by, mode, status, started_at, finished_at, error) \
             VALUES ({t}, {c}, 'inventory', 'schedule', 'full', 'failed', 0, 1, 'bang')"
        ))
        .await;
    let orphan_run = env.app.scalar_i64("SELECT MAX(id) FROM runs").await;
    events::run_failed(&env.app.ctx, t, run).await.unwrap();
    events::run_failed(&env.app.ctx, t, orphan_run)
        .await
        .unwrap();
    env.app
        .execute(
            "DELETE FROM jobs WHERE kind = 'webhook_delivery' AND id = (SELECT MAX(id) FROM jobs)",
        )
        .await;

    let mut first = spawn_serve(&env);
    for _ in 0..600 {
        if receiver.all().iter().any(|s| s["hanging"] == true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.all().iter().any(|s| s["hanging"] == true),
        "no delivery started: {}",
        first.output()
    );
    first.kill();
    let delivered_before = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'")
        .await;
    assert!(delivered_before < 2, "both were delivered before the kill");

    let second = spawn_serve(&env);
    for _ in 0..1200 {
        let delivered = env
            .app
            .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'")
            .await;
        if delivered == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'")
        .await;
    assert_eq!(delivered, 2, "after the restart:\n{}", second.output());
    let ok: Vec<_> = receiver
        .answered()
        .into_iter()
        .filter(|s| s["answered"] == 200 && s["verified"] == true)
        .collect();
    let types: Vec<_> = ok.iter().map(|s| s["data"]["error"].clone()).collect();
    assert!(
        types.contains(&json!("boom")) && types.contains(&json!("bang")),
        "{ok:?}"
    );
    let _ = webhooks::JOB_KIND;
}

#[tokio::test]
async fn members_see_endpoints_and_the_log_but_cannot_change_them_and_redeliver_sends_again() {
    let (env, receiver) = env_with_receiver(|_| {}).await;
    let (id, _) = endpoint(&env, &receiver, &["run.failed"]).await;
    send_test_event(&env, id).await;
    wait_for_count(
        &env.app,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
        1,
        30,
    )
    .await;
    let (member, _) = env
        .app
        .signup_and_login("hook-member@example.com", "Member's own")
        .await;
    let user = env
        .app
        .scalar_i64("SELECT id FROM users WHERE email = 'hook-member@example.com'")
        .await;
    env.app
        .execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({}, {user}, 'member', 0)",
            env.tenant
        ))
        .await;
    let list = format!("/t/{}/webhooks", env.tenant);
    let page = format!("{list}/{id}");
    let shown = member.get(&list).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains(&receiver.url) && !shown.body.contains("Add an endpoint"));
    let log = member.get(&page).await;
    assert!(log.body.contains("delivered") && !log.body.contains("Send test event"));
    let delivery = env
        .app
        .scalar_i64("SELECT MAX(id) FROM webhook_deliveries")
        .await;
    let before = env.app.snapshot().await;
    for action in [
        format!("{page}/test"),
        format!("{page}/rotate-secret"),
        format!("{page}/disable"),
        format!("{page}/delete"),
        format!("{page}/deliveries/{delivery}/redeliver"),
    ] {
        assert_eq!(
            member.submit(&page, &action, &[]).await.status,
            403,
            "{action}"
        );
    }
    let res = member
        .submit(
            &list,
            &list,
            &[("url", &receiver.url), ("event_types", "run.failed")],
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(env.app.snapshot().await, before);

    // The owner redelivers: the same event (same webhook-id) arrives again, a second attempt logged.
    env.client
        .submit(
            &page,
            &format!("{page}/deliveries/{delivery}/redeliver"),
            &[],
        )
        .await
        .assert_redirect_to(&page);
    receiver
        .wait_for("the redelivery", 30, |seen| seen.len() == 2)
        .await;
    let seen = receiver.answered();
    assert_eq!(seen[0]["id"], seen[1]["id"]);
    wait_for_count(
        &env.app,
        &format!("SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = {delivery} AND attempt = 2 AND status_code = 200"),
        1,
        10,
    )
    .await;
}

#[tokio::test]
async fn key_rotation_reseals_webhook_secrets_and_deliveries_still_verify() {
    let (env, receiver) = env_with_receiver(|_| {}).await;
    let (id, _) = endpoint(&env, &receiver, &["run.failed"]).await;
    let sql = format!("SELECT secret_ct FROM webhook_endpoints WHERE id = {id}");
    let before = env.app.bytes(&sql).await.unwrap();
    let report = cartbridge::vault::rotation::rotate(&env.app.ctx.vault, &env.app.db)
        .await
        .unwrap();
    assert_eq!(report.failed(), 0);
    let after = env.app.bytes(&sql).await.unwrap();
    assert_ne!(before, after, "the secret was not resealed");
    assert_eq!(
        cartbridge::vault::key_id_of(&after),
        Some(env.app.ctx.vault.active_key_id())
    );
    send_test_event(&env, id).await;
    receiver
        .wait_for("a delivery", 30, |seen| !seen.is_empty())
        .await;
    assert_eq!(receiver.answered()[0]["verified"], true);
}
