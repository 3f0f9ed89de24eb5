//! Tenant isolation: every tenant-scoped route, requested by a user of another tenant, is 404
//! and changes nothing.

use crate::helpers::{assert_tenant_isolation, fixtures, spawn_app_with};

#[tokio::test]
async fn another_tenants_routes_are_404_and_change_nothing() {
    // No workers: the fixtures' job must stay the test's.
    let app = spawn_app_with(|s| s.jobs.workers = 0).await;
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
    // An OAuth client, a connection and a finished run of the victim's, made through the
    // services as the victim's clicks would make them.
    let owner = fixtures::owner(&app, victim_tenant, "victim@example.com").await;
    let oauth_client_id = fixtures::oauth_client(&app, &owner, "Victim app", "victim-client").await;
    let connection_id = fixtures::token_connection(&app, &owner, "Victim store", "abc123").await;
    let run_id = fixtures::finished_run(
        &app,
        victim_tenant,
        connection_id,
        "abc123",
        "inventory",
        "succeeded",
    )
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

    // A failed PO of the victim (its pages, Preview, Retry and Cancel are swept).
    app.execute(&format!(
        "INSERT INTO purchase_orders (tenant_id, connection_id, po_number, source, body, body_hash, status, \
         customer_email, failure_reason, created_at, updated_at) VALUES ({victim_tenant}, {connection_id}, \
         'PO-VICTIM', 'api', '{{}}', 'h', 'failed', 'buyer@victim.example', 'Unknown SKU.', 0, 0)"
    ))
    .await;
    let po_id = app.scalar_i64("SELECT MAX(id) FROM purchase_orders").await;

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
            ("flow", "inventory".to_owned()),
            ("api_key_id", api_key_id.to_string()),
            ("endpoint_id", endpoint_id.to_string()),
            ("delivery_id", delivery_id.to_string()),
            ("po_id", po_id.to_string()),
        ],
    )
    .await;
    // The sweep's snapshot covers every table with a tenant_id column (jobs, flow_settings,
    // runs and those still to come among them), found in the schema.
    let tables = app.tenant_tables().await;
    for table in ["jobs", "flow_settings", "runs", "connections"] {
        assert!(tables.iter().any(|t| t == table), "{table}: {tables:?}");
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
