//! Tenant isolation: every tenant-scoped route, requested by a user of another tenant, is 404
//! and changes nothing.

use crate::helpers::{assert_tenant_isolation, spawn_app};

#[tokio::test]
async fn another_tenants_routes_are_404_and_change_nothing() {
    let app = spawn_app().await;
    let (victim, victim_tenant) = app
        .signup_and_login("victim@example.com", "Victim Co")
        .await;
    let (outsider, outsider_tenant) = app
        .signup_and_login("outsider@example.com", "Outsider Co")
        .await;
    assert_ne!(victim_tenant, outsider_tenant);

    // Give the victim tenant records to aim at: a pending invitation and a second member.
    let members = format!("/t/{victim_tenant}/members");
    victim
        .submit(
            &members,
            &format!("/t/{victim_tenant}/invitations"),
            &[("email", "pending@example.com"), ("role", "member")],
        )
        .await;
    let invitation_id = app
        .scalar_i64("SELECT id FROM invitations WHERE email = 'pending@example.com'")
        .await;
    let victim_user = app
        .scalar_i64("SELECT id FROM users WHERE email = 'victim@example.com'")
        .await;
    // An OAuth client and a connection of the victim's (rows written directly: only their
    // ids matter to the sweep).
    app.execute(&format!(
        "INSERT INTO oauth_clients (tenant_id, name, client_id, created_at, updated_at) \
         VALUES ({victim_tenant}, 'Victim app', 'victim-client', 0, 0)"
    ))
    .await;
    let oauth_client_id = app
        .scalar_i64("SELECT id FROM oauth_clients WHERE name = 'Victim app'")
        .await;
    app.execute(&format!(
        "INSERT INTO connections (tenant_id, name, auth_type, store_hash, oauth_client_id, created_at, updated_at) \
         VALUES ({victim_tenant}, 'Victim store', 'oauth', 'abc123', {oauth_client_id}, 0, 0)"
    ))
    .await;
    let connection_id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Victim store'")
        .await;
    // A finished run of the victim's connection (for the run pages).
    app.execute(&format!(
        "INSERT INTO runs (tenant_id, connection_id, flow, triggered_by, mode, status, started_at, finished_at) \
         VALUES ({victim_tenant}, {connection_id}, 'inventory', 'manual', 'full', 'succeeded', 0, 1)"
    ))
    .await;
    let run_id = app
        .scalar_i64(&format!(
            "SELECT id FROM runs WHERE connection_id = {connection_id}"
        ))
        .await;

    // An API key, a webhook endpoint and a delivery of the victim's (partner API pages).
    let blob = match app.db {
        cartbridge::db::Db::Postgres(_) => "decode('00', 'hex')",
        cartbridge::db::Db::Sqlite(_) => "X'00'",
    };
    app.execute(&format!(
        "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, access, created_at) \
         VALUES ({victim_tenant}, 'Victim key', 'cbk_victim00', 'victim-hash', 'read', 0)"
    ))
    .await;
    let api_key_id = app
        .scalar_i64("SELECT id FROM api_keys WHERE name = 'Victim key'")
        .await;
    app.execute(&format!(
        "INSERT INTO webhook_endpoints (tenant_id, url, event_types, secret_ct, status, created_at, updated_at) \
         VALUES ({victim_tenant}, 'https://victim.example.com/hooks', 'run.failed', {blob}, 'enabled', 0, 0)"
    ))
    .await;
    let endpoint_id = app
        .scalar_i64("SELECT MAX(id) FROM webhook_endpoints")
        .await;
    app.execute(&format!(
        "INSERT INTO webhook_events (tenant_id, event_type, message_id, dedupe_key, payload, created_at) \
         VALUES ({victim_tenant}, 'run.failed', 'msg_victim', 'victim-1', '{{}}', 0)"
    ))
    .await;
    let event_id = app.scalar_i64("SELECT MAX(id) FROM webhook_events").await;
    app.execute(&format!(
        "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at) \
         VALUES ({victim_tenant}, {endpoint_id}, {event_id}, 'failed', 0, 0)"
    ))
    .await;
    let delivery_id = app
        .scalar_i64("SELECT MAX(id) FROM webhook_deliveries")
        .await;

    assert_tenant_isolation(
        &app,
        &outsider,
        victim_tenant,
        &[
            ("invitation_id", invitation_id.to_string()),
            ("user_id", victim_user.to_string()),
            ("connection_id", connection_id.to_string()),
            ("oauth_client_id", oauth_client_id.to_string()),
            ("run_id", run_id.to_string()),
            ("api_key_id", api_key_id.to_string()),
            ("endpoint_id", endpoint_id.to_string()),
            ("delivery_id", delivery_id.to_string()),
        ],
    )
    .await;
    // The flow routes changed nothing outside the snapshot's tables either.
    for table in ["flow_settings", "jobs"] {
        let rows = app
            .scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
            .await;
        assert_eq!(rows, 0, "{table} changed");
    }

    // The victim still sees their own pages.
    let page = victim.get(&members).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("pending@example.com"));
    let progress = victim
        .get(&format!(
            "/t/{victim_tenant}/connections/{connection_id}/runs/{run_id}/progress"
        ))
        .await;
    assert_eq!(progress.status, 200, "{}", progress.body);
    assert!(progress.body.contains(r#""status":"succeeded""#));
    // And a tenant id that does not exist is 404 too.
    assert_eq!(outsider.get("/t/999999/members").await.status, 404);
}
