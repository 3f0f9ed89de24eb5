//! Finding 1: a BigCommerce payload's email proves nothing about who owns a cartbridge
//! account. A BigCommerce identity (store + user id) is its own login method; an existing
//! account is linked only after its owner proves it; a BigCommerce sign-in reaches only the
//! store's tenant and never marks an email verified.

use super::{BcTestApp, OWNER, count, signup_unverified};
use crate::helpers::{PASSWORD, Page, TestApp};

const VICTIM: &str = "victim@corp.example";
const PENDING: &str = "pending@corp.example";
const ATTACKER_ID: i64 = 7777;

async fn memberships_of(app: &TestApp, email: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = '{email}'"
        ),
    )
    .await
}

async fn verified(app: &TestApp, email: &str) -> bool {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM users WHERE email = '{email}' AND email_verified_at IS NOT NULL"
        ),
    )
    .await
        == 1
}

async fn app_users_for(app: &TestApp, bc_user_id: i64) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) FROM bigcommerce_app_users WHERE bc_user_id = {bc_user_id}"),
    )
    .await
}

fn asks_to_link(page: &Page) -> bool {
    page.status == 200 && page.body.contains("id=\"link-account\"")
}

#[tokio::test]
async fn load_with_the_email_of_another_tenants_owner_signs_nobody_in() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let (_, victim_tenant) = app.signup_and_login(VICTIM, "Victim Corp").await;
    assert_eq!(s.install(&app.client(), OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;

    let attacker = app.client();
    let page = s.callback(&attacker, "load", (ATTACKER_ID, VICTIM)).await;
    assert_ne!(
        attacker.get(&format!("/t/{victim_tenant}")).await.status,
        200,
        "the payload's email signed the attacker in as the victim"
    );
    assert_ne!(
        attacker.get(&format!("/t/{store_tenant}")).await.status,
        200
    );
    assert!(asks_to_link(&page), "{}", page.body);
    assert_eq!(memberships_of(app, VICTIM).await, 1);
    assert_eq!(app_users_for(app, ATTACKER_ID).await, 0);
}

#[tokio::test]
async fn install_with_the_email_of_another_tenants_owner_signs_nobody_in() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let (_, victim_tenant) = app.signup_and_login(VICTIM, "Victim Corp").await;
    let installer = app.client();
    let page = s.install(&installer, (OWNER.0, VICTIM)).await;
    assert_ne!(
        installer.get(&format!("/t/{victim_tenant}")).await.status,
        200,
        "the installer's email signed them in as the victim"
    );
    assert!(asks_to_link(&page), "{}", page.body);
    // The store is installed (its token kept), but nobody joined it on an email's word.
    let store_tenant = s.store_tenant().await;
    assert_ne!(
        installer.get(&format!("/t/{store_tenant}")).await.status,
        200
    );
    assert_eq!(memberships_of(app, VICTIM).await, 1);
    assert_eq!(app_users_for(app, OWNER.0).await, 0);
}

#[tokio::test]
async fn install_and_load_with_the_email_of_an_unverified_account_leave_it_unverified() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    signup_unverified(app, PENDING, "Pending Corp").await;
    let installer = app.client();
    let page = s.install(&installer, (OWNER.0, PENDING)).await;
    assert!(!verified(app, PENDING).await, "install verified the email");
    assert!(asks_to_link(&page), "{}", page.body);
    assert_eq!(memberships_of(app, PENDING).await, 1);

    let page = s
        .callback(&app.client(), "load", (ATTACKER_ID, PENDING))
        .await;
    assert!(!verified(app, PENDING).await, "load verified the email");
    assert!(asks_to_link(&page), "{}", page.body);
    assert_eq!(memberships_of(app, PENDING).await, 1);
    assert_eq!(app_users_for(app, ATTACKER_ID).await, 0);
}

#[tokio::test]
async fn a_new_bigcommerce_user_gets_an_account_whose_email_is_not_marked_verified() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let owner = app.client();
    assert_eq!(s.install(&owner, OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;
    assert_eq!(owner.get(&format!("/t/{store_tenant}")).await.status, 200);
    assert!(!verified(app, OWNER.1).await);
    let clerk = app.client();
    let page = s
        .callback(&clerk, "load", (6001, "clerk@shop.example"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(clerk.get(&format!("/t/{store_tenant}")).await.status, 200);
    assert!(!verified(app, "clerk@shop.example").await);
}

#[tokio::test]
async fn remove_user_with_the_email_of_another_tenants_owner_or_an_unverified_account_removes_nothing()
 {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    assert_eq!(s.install(&app.client(), OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;
    app.signup_and_login(VICTIM, "Victim Corp").await;
    signup_unverified(app, PENDING, "Pending Corp").await;
    // Both are members of the store's tenant too (joined some other way).
    for email in [VICTIM, PENDING] {
        app.execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) \
             SELECT {store_tenant}, id, 'admin', 0 FROM users WHERE email = '{email}'"
        ))
        .await;
    }
    for email in [VICTIM, PENDING] {
        let before = app.snapshot().await;
        let res = s
            .callback(&app.client(), "remove_user", (ATTACKER_ID, email))
            .await;
        assert_eq!(res.status, 404, "{email}: {}", res.body);
        assert_eq!(app.snapshot().await, before, "{email}: removed by email");
        assert_eq!(memberships_of(app, email).await, 2);
    }
}

/// Loads as `ATTACKER_ID` with the victim's email and links by logging in from the app.
async fn link_by_password(s: &BcTestApp, password: &str) -> (crate::helpers::Client, Page) {
    let c = s.app.client();
    let page = s.callback(&c, "load", (ATTACKER_ID, VICTIM)).await;
    assert!(asks_to_link(&page), "{}", page.body);
    let csrf = page.csrf().expect("csrf token on the link page");
    let res = c
        .post(
            "/bigcommerce/link",
            &[("csrf_token", csrf.as_str()), ("password", password)],
        )
        .await;
    (c, res)
}

#[tokio::test]
async fn an_existing_account_is_linked_once_its_owner_logs_in_from_the_app() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let (_, own_tenant) = app.signup_and_login(VICTIM, "Victim Corp").await;
    assert_eq!(s.install(&app.client(), OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;

    let before = app.snapshot().await;
    let (_, res) = link_by_password(&s, "not the password at all").await;
    assert_eq!(res.status, 401, "{}", res.body);
    assert!(res.body.contains("Wrong email or password"), "{}", res.body);
    assert_eq!(app.snapshot().await, before, "a wrong password linked");

    let (c, res) = link_by_password(&s, PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("id=\"linked\""), "{}", res.body);
    assert_eq!(app_users_for(app, ATTACKER_ID).await, 1);
    assert_eq!(memberships_of(app, VICTIM).await, 2);
    // Signed in from BigCommerce: the store's tenant only, not the account's other tenant.
    assert_eq!(c.get(&format!("/t/{store_tenant}")).await.status, 200);
    assert_eq!(c.get(&format!("/t/{own_tenant}")).await.status, 404);

    // From now on the BigCommerce identity signs in by itself, still only to the store.
    let again = app.client();
    let page = s.callback(&again, "load", (ATTACKER_ID, VICTIM)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("id=\"link-account\""));
    assert_eq!(again.get(&format!("/t/{store_tenant}")).await.status, 200);
    assert_eq!(again.get(&format!("/t/{own_tenant}")).await.status, 404);
}

#[tokio::test]
async fn an_existing_account_is_linked_by_the_confirmation_link_emailed_to_it() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    app.signup_and_login(VICTIM, "Victim Corp").await;
    assert_eq!(s.install(&app.client(), OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;
    let c = app.client();
    let page = s.callback(&c, "load", (ATTACKER_ID, VICTIM)).await;
    assert!(asks_to_link(&page), "{}", page.body);
    let csrf = page.csrf().expect("csrf");
    let res = c
        .post("/bigcommerce/link/email", &[("csrf_token", csrf.as_str())])
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        app_users_for(app, ATTACKER_ID).await,
        0,
        "linked before confirming"
    );

    let link = app.last_link(VICTIM, "/bigcommerce/link/confirm").await;
    let path = link.strip_prefix(&app.base).expect("own link").to_owned();
    let owner = app.client();
    let before = app.snapshot().await;
    let confirm = owner.get(&path).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(app.snapshot().await, before, "the GET changed something");
    let token = confirm.hidden_input("token").expect("token");
    let done = owner
        .submit(&path, "/bigcommerce/link/confirm", &[("token", &token)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(app_users_for(app, ATTACKER_ID).await, 1);
    assert!(verified(app, VICTIM).await);
    let csrf = owner.csrf().await;
    let again = owner
        .post(
            "/bigcommerce/link/confirm",
            &[("csrf_token", csrf.as_str()), ("token", token.as_str())],
        )
        .await;
    assert_eq!(again.status, 400, "a link works once");

    let bc = app.client();
    assert_eq!(
        s.callback(&bc, "load", (ATTACKER_ID, VICTIM)).await.status,
        200
    );
    assert_eq!(bc.get(&format!("/t/{store_tenant}")).await.status, 200);
}

#[tokio::test]
async fn a_reinstall_by_a_user_with_the_email_of_another_tenants_owner_signs_nobody_in() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    assert_eq!(s.install(&app.client(), OWNER).await.status, 200);
    let store_tenant = s.store_tenant().await;
    let (_, victim_tenant) = app.signup_and_login(VICTIM, "Victim Corp").await;
    signup_unverified(app, PENDING, "Pending Corp").await;
    for (bc_user, email) in [(ATTACKER_ID, VICTIM), (ATTACKER_ID + 1, PENDING)] {
        let installer = app.client();
        let page = s.install(&installer, (bc_user, email)).await;
        assert!(asks_to_link(&page), "{email}: {}", page.body);
        assert_ne!(
            installer.get(&format!("/t/{victim_tenant}")).await.status,
            200
        );
        assert_ne!(
            installer.get(&format!("/t/{store_tenant}")).await.status,
            200
        );
        assert_eq!(
            memberships_of(app, email).await,
            1,
            "{email} joined the store"
        );
        assert_eq!(app_users_for(app, bc_user).await, 0);
    }
    assert!(!verified(app, PENDING).await);
}
