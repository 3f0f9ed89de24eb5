//! Merchant alerts (issue 14): a connection failing auth, a flow failing N runs in a row and
//! a webhook endpoint disabled email the tenant's owners and admins (not members, not those
//! who opted out), through the file outbox and through SMTP, at most once an hour per
//! problem (a test clock moves the hour, no sleeping), and once more on recovery. The
//! partners' `connection.failed` event goes out once per failing streak.

use cartbridge::{
    connections::store::{self, ConnectionInput},
    domain::{AuthType, ConnectionName, Scopes, Secret, StoreHash},
    partner_api::events,
};

use crate::helpers::{
    TestApp,
    fake_bigcommerce::{FakeBigCommerce, FakeStore},
    fixtures,
    inventory::{SCOPES, STORE, TOKEN},
    smtp::SmtpServer,
    spawn_app_with,
};

async fn alerts_to(app: &TestApp, to: &str) -> Vec<crate::helpers::ReceivedEmail> {
    app.emails_to(to)
        .await
        .into_iter()
        .filter(|e| e.subject.starts_with("cartbridge:"))
        .collect()
}

/// `n` runs of Get Inventory that ended `status`, each reported as flows report them.
async fn runs(app: &TestApp, tenant: i64, connection: i64, store: &str, status: &str, n: usize) {
    for _ in 0..n {
        let run = fixtures::finished_run(app, tenant, connection, store, "inventory", status).await;
        app.execute(&format!(
            "UPDATE runs SET error = 'BigCommerce answered 500 three times' WHERE id = {run} AND status = 'failed'"
        ))
        .await;
        events::after_run(&app.ctx, tenant, run).await;
    }
}

#[tokio::test]
async fn a_flow_failing_n_runs_in_a_row_alerts_once_an_hour_and_on_recovery() {
    let app = spawn_app_with(|s| s.jobs.workers = 0).await;
    let (owner, tenant) = app.signup_and_login("owner@alerts.test", "Alerts Co").await;
    let actor = fixtures::owner(&app, tenant, "owner@alerts.test").await;
    let c = fixtures::token_connection(&app, &actor, "Main store", "alr001").await;
    // An admin gets them too; a member does not; an owner who opted out does not.
    let (_, _) = app.signup_and_login("admin@alerts.test", "Admin Co").await;
    let (member, _) = app
        .signup_and_login("member@alerts.test", "Member Co")
        .await;
    let (optout, _) = app.signup_and_login("quiet@alerts.test", "Quiet Co").await;
    for (email, role) in [
        ("admin@alerts.test", "admin"),
        ("member@alerts.test", "member"),
        ("quiet@alerts.test", "owner"),
    ] {
        app.execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) \
             SELECT {tenant}, id, '{role}', 0 FROM users WHERE email = '{email}'"
        ))
        .await;
    }
    let page = optout.get(&format!("/t/{tenant}/notifications")).await;
    assert!(
        page.body.contains("id=\"alerts\" name=\"alerts\" checked"),
        "{}",
        page.body
    );
    let res = optout
        .submit(
            &format!("/t/{tenant}/notifications"),
            &format!("/t/{tenant}/notifications"),
            &[],
        )
        .await;
    assert_eq!(res.status, 303);
    assert!(
        !optout
            .get(&format!("/t/{tenant}/notifications"))
            .await
            .body
            .contains("checked")
    );
    let junk = optout
        .submit(
            &format!("/t/{tenant}/notifications"),
            &format!("/t/{tenant}/notifications"),
            &[("alerts", "maybe")],
        )
        .await;
    assert_eq!(junk.status, 400);
    drop((owner, member));

    runs(&app, tenant, c, "alr001", "failed", 2).await;
    assert!(
        alerts_to(&app, "owner@alerts.test").await.is_empty(),
        "2 < N = 3"
    );
    runs(&app, tenant, c, "alr001", "failed", 1).await;
    let mails = alerts_to(&app, "owner@alerts.test").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(
        mail.subject
            .contains("Get Inventory on Main store failed 3 runs in a row"),
        "{}",
        mail.subject
    );
    assert!(
        mail.body.contains("Connection: Main store"),
        "{}",
        mail.body
    );
    assert!(
        mail.body
            .contains("Error: BigCommerce answered 500 three times")
    );
    assert!(
        mail.body
            .contains(&app.url(&format!("/t/{tenant}/connections/{c}/flows/inventory")))
    );
    assert_eq!(alerts_to(&app, "admin@alerts.test").await.len(), 1);
    assert!(alerts_to(&app, "member@alerts.test").await.is_empty());
    assert!(alerts_to(&app, "quiet@alerts.test").await.is_empty());
    // Still failing within the hour: no second email.
    runs(&app, tenant, c, "alr001", "failed", 2).await;
    assert_eq!(alerts_to(&app, "owner@alerts.test").await.len(), 1);
    // An hour later (the test clock), still failing: one more.
    app.ctx.clock.advance(3601);
    runs(&app, tenant, c, "alr001", "failed", 1).await;
    assert_eq!(alerts_to(&app, "owner@alerts.test").await.len(), 2);
    // Recovery: one email, then quiet.
    runs(&app, tenant, c, "alr001", "succeeded", 2).await;
    let mails = alerts_to(&app, "owner@alerts.test").await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(
        mails[2]
            .subject
            .contains("Recovered: Get Inventory on Main store"),
        "{}",
        mails[2].subject
    );
    assert!(mails[2].body.contains("It works again"));
}

#[tokio::test]
async fn a_tenants_threshold_decides_n() {
    let app = spawn_app_with(|s| s.jobs.workers = 0).await;
    let (_, tenant) = app.signup_and_login("owner@n.test", "N Co").await;
    app.execute(&format!(
        "UPDATE tenants SET alert_after_failures = 1 WHERE id = {tenant}"
    ))
    .await;
    let actor = fixtures::owner(&app, tenant, "owner@n.test").await;
    let c = fixtures::token_connection(&app, &actor, "Main store", "alr002").await;
    runs(&app, tenant, c, "alr002", "failed", 1).await;
    assert_eq!(alerts_to(&app, "owner@n.test").await.len(), 1);
}

#[tokio::test]
async fn a_connection_failing_auth_alerts_through_smtp_and_recovers() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(STORE));
    fake.add_token(STORE, TOKEN, SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(Secret::new(url));
        s.bigcommerce_api_url = api.parse().unwrap();
        s.jobs.workers = 0;
    })
    .await;
    app.signup(&app.client(), "owner@example.com", "Acme").await;
    app.execute("UPDATE users SET email_verified_at = 1").await;
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    let actor = fixtures::owner(&app, tenant, "owner@example.com").await;
    let connection = fixtures::token_connection(&app, &actor, "Main store", STORE).await;
    struct Env {
        app: TestApp,
        tenant: i64,
        connection: i64,
    }
    let env = Env {
        app,
        tenant,
        connection,
    };
    let input = |token: &str| ConnectionInput {
        name: ConnectionName::parse("Main store").unwrap(),
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse(STORE).unwrap(),
        oauth_client_id: None,
        api_client_id: Some("client-inventory".into()),
        token: Some(Secret::new(token.to_owned())),
        scopes: Scopes::defaults(),
    };
    store::update(
        &env.app.ctx,
        &actor,
        env.connection,
        &input("tok-revoked-0000"),
    )
    .await
    .unwrap();
    let alerts = || -> Vec<_> {
        smtp.received()
            .into_iter()
            .filter(|m| m.to.contains("owner@example.com") && m.subject.starts_with("cartbridge:"))
            .collect()
    };
    for _ in 0..2 {
        let report = store::test(&env.app.ctx, env.tenant, env.connection)
            .await
            .unwrap();
        assert!(!report.healthy);
    }
    env.app.email_jobs_settled().await;
    let mails = alerts();
    assert_eq!(mails.len(), 1, "once per hour: {mails:?}");
    assert!(
        mails[0]
            .subject
            .contains("Main store cannot sign in to BigCommerce"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains("(401)"), "{}", mails[0].body);
    assert!(mails[0].body.contains(&format!(
        "/t/{}/connections/{}/edit",
        env.tenant, env.connection
    )));
    store::update(&env.app.ctx, &actor, env.connection, &input(TOKEN))
        .await
        .unwrap();
    let report = store::test(&env.app.ctx, env.tenant, env.connection)
        .await
        .unwrap();
    assert!(report.healthy, "{:?}", report.problem);
    env.app.email_jobs_settled().await;
    let mails = alerts();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1]
            .subject
            .contains("Recovered: Main store cannot sign in"),
        "{}",
        mails[1].subject
    );
}

#[tokio::test]
async fn connection_failed_is_emitted_when_a_connection_starts_failing_not_on_every_failed_test() {
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(STORE));
    fake.add_token(STORE, TOKEN, SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with(move |s| {
        s.bigcommerce_api_url = api.parse().unwrap();
        s.jobs.workers = 0;
    })
    .await;
    let (_, tenant) = app.signup_and_login("owner@streak.test", "Streak Co").await;
    let actor = fixtures::owner(&app, tenant, "owner@streak.test").await;
    let connection = fixtures::token_connection(&app, &actor, "Main store", STORE).await;
    let with_token = |token: &str| ConnectionInput {
        name: ConnectionName::parse("Main store").unwrap(),
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse(STORE).unwrap(),
        oauth_client_id: None,
        api_client_id: Some("client-inventory".into()),
        token: Some(Secret::new(token.to_owned())),
        scopes: Scopes::defaults(),
    };
    let events = async || {
        app.scalar_i64("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'connection.failed'")
            .await
    };
    let test = async |healthy: bool| {
        let report = store::test(&app.ctx, tenant, connection).await.unwrap();
        assert_eq!(report.healthy, healthy, "{:?}", report.problem);
    };

    store::update(
        &app.ctx,
        &actor,
        connection,
        &with_token("tok-revoked-0000"),
    )
    .await
    .unwrap();
    for _ in 0..3 {
        test(false).await;
    }
    assert_eq!(
        events().await,
        1,
        "one event for the streak, not one per test"
    );

    store::update(&app.ctx, &actor, connection, &with_token(TOKEN))
        .await
        .unwrap();
    test(true).await;
    test(true).await;
    assert_eq!(events().await, 1, "a healthy test emits nothing");

    store::update(
        &app.ctx,
        &actor,
        connection,
        &with_token("tok-revoked-1111"),
    )
    .await
    .unwrap();
    test(false).await;
    test(false).await;
    assert_eq!(
        events().await,
        2,
        "failing again after a pass is a new streak"
    );
}
