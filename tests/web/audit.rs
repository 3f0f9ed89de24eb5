//! The audit log (issue 14): tenant-side security events are recorded (logins, failed
//! logins, connections and their secrets, …), owners read their tenant's log filtered and
//! paged, staff read every tenant's, and entries cannot be changed or deleted.

use cartbridge::{
    connections::store::{self, ConnectionInput},
    db,
    domain::{AuthType, ConnectionName, Scopes, Secret, StoreHash},
};

use crate::helpers::{PASSWORD, fixtures, spawn_app};

#[tokio::test]
async fn logins_and_failed_logins_are_in_the_owners_log_with_the_client_address() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@log.test", "Log Co").await;
    let wrong = app
        .client()
        .submit(
            "/login",
            "/login",
            &[
                ("email", "owner@log.test"),
                ("password", "wrong password 123"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    // An unknown email writes nothing to any tenant's log.
    let before = app.scalar_i64("SELECT COUNT(*) FROM audit_log").await;
    app.client()
        .submit(
            "/login",
            "/login",
            &[("email", "nobody@log.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log").await,
        before
    );

    let page = owner.get(&format!("/t/{tenant}/audit?action=login")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches(r#"data-action="login""#).count(),
        1,
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches(r#"data-action="login.failed""#).count(),
        1
    );
    assert!(page.body.contains("127.0.0.1"), "{}", page.body);
    let only_failed = owner
        .get(&format!("/t/{tenant}/audit?action=login.failed"))
        .await;
    assert_eq!(
        only_failed.body.matches(r#"class="audit-entry""#).count(),
        1
    );
}

#[tokio::test]
async fn connection_events_including_a_replaced_secret_are_recorded() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@conn.test", "Conn Co").await;
    let actor = fixtures::owner(&app, tenant, "owner@conn.test").await;
    let id = fixtures::token_connection(&app, &actor, "Main", "aud001").await;
    let input = ConnectionInput {
        name: ConnectionName::parse("Main").unwrap(),
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse("aud001").unwrap(),
        oauth_client_id: None,
        api_client_id: Some("client-aud001".into()),
        token: Some(Secret::new("tok-aud001-replaced-91be".to_owned())),
        scopes: Scopes::defaults(),
    };
    store::update(&app.ctx, &actor, id, &input).await.unwrap();
    let page = owner
        .get(&format!("/t/{tenant}/audit?action=connection."))
        .await;
    for action in [
        "connection.created",
        "connection.updated",
        "connection.secret_replaced",
    ] {
        assert!(
            page.body.contains(&format!(r#"data-action="{action}""#)),
            "{action}: {}",
            page.body
        );
    }
    assert!(!page.body.contains("tok-aud001"), "no secret in the log");
}

#[tokio::test]
async fn owners_page_through_their_log_and_filter_by_actor_others_cannot_read_it() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@page.test", "Page Co").await;
    let (other, other_tenant) = app.signup_and_login("owner@other.test", "Other Co").await;
    for i in 0..120 {
        app.execute(&format!(
            "INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) \
             VALUES ({tenant}, NULL, 'test.event', 'event {i}', {i})"
        ))
        .await;
    }
    app.execute(&format!(
        "INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ({other_tenant}, NULL, 'test.event', 'other tenant', 1)"
    ))
    .await;
    let mut seen = Vec::new();
    let mut path = format!("/t/{tenant}/audit?action=test.");
    loop {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("other tenant"));
        let rows = page.body.matches(r#"class="audit-entry""#).count();
        seen.push(rows);
        assert!(seen.len() <= 3, "more pages than entries: {seen:?}");
        match page.body.find(r#"" id="audit-next""#) {
            Some(end) => {
                let start = page.body[..end].rfind(r#"href=""#).unwrap() + 6;
                path = page.body[start..end]
                    .replace("&amp;", "&")
                    .replace("&#38;", "&");
            }
            None => break,
        }
    }
    assert_eq!(seen, vec![50, 50, 20], "pages");
    // Filter by actor.
    let page = owner
        .get(&format!("/t/{tenant}/audit?actor=owner@page"))
        .await;
    assert!(
        page.body.matches(r#"data-action="login""#).count() >= 1,
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"data-action="test.event""#));
    // Junk in the page cursor: a clear 400.
    let junk = owner.get(&format!("/t/{tenant}/audit?before=abc")).await;
    assert_eq!(junk.status, 400);
    assert!(junk.body.contains("must be a number"), "{}", junk.body);
    // Another tenant's owner: 404; a member: 403.
    assert_eq!(other.get(&format!("/t/{tenant}/audit")).await.status, 404);
    let member = app
        .scalar_i64("SELECT id FROM users WHERE email = 'owner@other.test'")
        .await;
    app.execute(&format!(
        "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({tenant}, {member}, 'member', 0)"
    ))
    .await;
    let denied = other.get(&format!("/t/{tenant}/audit")).await;
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("Only owners can read the audit log"));
}

#[tokio::test]
async fn staff_read_every_tenants_log() {
    let app = spawn_app().await;
    let (_, a) = app.signup_and_login("owner@a.test", "Alpha").await;
    let (_, b) = app.signup_and_login("owner@b.test", "Beta").await;
    let (staff, _) = app.signup_and_login("staff@log.test", "Staff").await;
    app.execute("UPDATE users SET is_staff = TRUE WHERE email = 'staff@log.test'")
        .await;
    let page = staff.get("/admin/audit?action=login").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("/admin/tenants/{a}")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("/admin/tenants/{b}")));
    let only_b = staff.get(&format!("/admin/audit?tenant={b}")).await;
    assert!(
        !only_b.body.contains(&format!("/admin/tenants/{a}\"")),
        "{}",
        only_b.body
    );
}

#[tokio::test]
async fn audit_entries_cannot_be_changed_or_deleted() {
    let app = spawn_app().await;
    let (_, tenant) = app.signup_and_login("owner@ro.test", "Read Only").await;
    let id = db::audit::append(
        &app.db,
        &db::audit::Entry {
            tenant_id: Some(tenant),
            action: "test.event",
            reason: "kept",
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let update = format!("UPDATE audit_log SET reason = 'changed' WHERE id = {id}");
    let delete = format!("DELETE FROM audit_log WHERE id = {id}");
    for sql in [&update, &delete, &"DELETE FROM audit_log".to_owned()] {
        let result = match &app.db {
            db::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            db::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        };
        let err = result.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE id = {id} AND reason = 'kept'"
        ))
        .await,
        1
    );
}
