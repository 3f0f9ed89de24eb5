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

    assert_tenant_isolation(
        &app,
        &outsider,
        victim_tenant,
        &[
            ("invitation_id", invitation_id.to_string()),
            ("user_id", victim_user.to_string()),
        ],
    )
    .await;

    // The victim still sees their own pages.
    let page = victim.get(&members).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("pending@example.com"));
    // And a tenant id that does not exist is 404 too.
    assert_eq!(outsider.get("/t/999999/members").await.status, 404);
}
