//! In Chromium (issue 14): a staff member signs in at the usual login page, finds the tenant
//! whose connection fails by its store hash, reads why, disables the connection with a
//! reason, and sees the audit entry. Screenshots in `target/screenshots/admin-*.png`.

use fantoccini::Locator;

use crate::{
    admin::world,
    helpers::{PASSWORD, browser::Browser},
};

#[tokio::test]
async fn staff_find_a_failing_connection_disable_it_with_a_reason_and_see_the_audit_entry() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let w = world().await;
    let app = &w.app;
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("email", "support@cartbridge.test").await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url("/admin")).await;
    assert!(
        b.text(".attention-connection_auth").await.contains("(401)"),
        "needs attention lists the failing connection"
    );
    b.screenshot("admin-dashboard").await;

    b.fill("tenant-search", "adm123").await;
    b.client
        .find(Locator::Css("form[role=search] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.arrive(&app.url("/admin/tenants?q=adm123")).await;
    b.client
        .find(Locator::LinkText("Acme"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.arrive(&app.url(&format!("/admin/tenants/{}", w.tenant)))
        .await;
    let why = b
        .text(&format!("#connection-{} .connection-error", w.connection))
        .await;
    assert!(why.contains("rejected the access token (401)"), "{why}");
    b.fill(
        &format!("reason-connection-{}", w.connection),
        "Token revoked by the merchant, ticket 7781",
    )
    .await;
    b.screenshot("admin-tenant-before-disable").await;
    b.click(&format!("disable-connection-button-{}", w.connection))
        .await;
    b.arrive(&app.url(&format!("/admin/tenants/{}", w.tenant)))
        .await;
    assert!(b.text(".flash-success").await.contains("is disabled"));
    assert_eq!(
        b.text(&format!("#connection-{} .connection-status", w.connection))
            .await,
        "disabled"
    );
    b.click("tenant-audit-link").await;
    b.arrive(&app.url(&format!("/admin/audit?tenant={}", w.tenant)))
        .await;
    let entry = b.text("#audit-entries tbody tr").await;
    assert!(entry.contains("support.connection_disabled"), "{entry}");
    assert!(
        entry.contains("Token revoked by the merchant, ticket 7781"),
        "{entry}"
    );
    assert!(entry.contains("support@cartbridge.test"), "{entry}");
    let shot = b.screenshot("admin-audit-entry").await;
    assert!(shot.exists());
    b.close().await;
    assert_eq!(w.audit_count("support.connection_disabled").await, 1);
}
