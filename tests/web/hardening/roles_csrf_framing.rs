//! Findings 9 (roles, CSRF, framing) and 6 (`/bigcommerce/auth` without a code).

use super::{BcTestApp, OWNER, STORE};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn members_can_neither_test_a_connection_nor_open_its_edit_form() {
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = "http://127.0.0.1:9".parse().expect("url");
        s.bigcommerce_retry_base = std::time::Duration::from_millis(1);
    })
    .await;
    let (owner, tenant) = app.signup_and_login("boss@corp.example", "Acme").await;
    let res = owner
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &[
                ("name", "Main store"),
                ("auth_type", "token"),
                ("store", "abc123"),
                ("api_client_id", "client1"),
                ("access_token", "member-test-token"),
                ("then", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let (member, _) = app.signup_and_login("staffer@corp.example", "Other").await;
    app.execute(&format!(
        "INSERT INTO memberships (tenant_id, user_id, role, created_at) \
         SELECT {tenant}, id, 'member', 0 FROM users WHERE email = 'staffer@corp.example'"
    ))
    .await;
    let show = format!("/t/{tenant}/connections/{id}");
    let page = member.get(&show).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("id=\"test-connection\""),
        "Test offered to a member"
    );
    assert!(!page.body.contains("/edit\""), "Edit offered to a member");

    let before = app.snapshot().await;
    let res = member.submit(&show, &format!("{show}/test"), &[]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains("owners and admins"), "{}", res.body);
    let edit = member.get(&format!("{show}/edit")).await;
    assert_eq!(edit.status, 403);
    assert_eq!(
        app.snapshot().await,
        before,
        "a member's Test changed the connection"
    );

    // Owners still see and use both.
    let page = owner.get(&show).await;
    assert!(page.body.contains("id=\"test-connection\"") && page.body.contains("/edit\""));
    assert_eq!(owner.get(&format!("{show}/edit")).await.status, 200);
}

#[tokio::test]
async fn csrf_is_skipped_under_api_only_for_a_bearer_key_without_a_session_cookie() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let (browser, _) = app.signup_and_login("api@corp.example", "Acme").await;
    // A cookie-authenticated POST to /api/ is checked like any other form.
    let res = browser.post("/api/v1/anything", &[("x", "1")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains("This form has expired"));
    // Even with a bearer header, a request carrying the session cookie is checked.
    let res = browser
        .send(
            browser
                .http()
                .post(browser.url("/api/v1/anything"))
                .bearer_auth("some-key")
                .form(&[("x", "1")]),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    // A bearer key and no session cookie: authenticated by the key, so no CSRF token.
    let machine = app.client();
    let res = machine
        .send(
            machine
                .http()
                .post(machine.url("/api/v1/anything"))
                .bearer_auth("some-key")
                .form(&[("x", "1")]),
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    // The BigCommerce callbacks are GETs; no POST under /bigcommerce/ skips the check.
    let res = browser
        .post("/bigcommerce/link", &[("password", "x")])
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
}

#[tokio::test]
async fn bigcommerce_pages_may_be_framed_only_by_the_one_store_and_bigcommerce() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let client = app.client();
    let pages = [
        s.install(&client, OWNER).await,
        s.callback(&client, "load", OWNER).await,
    ];
    for page in &pages {
        assert_eq!(page.status, 200, "{}", page.body);
        let csp = page.headers["content-security-policy"]
            .to_str()
            .expect("csp");
        let ancestors = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("frame-ancestors"))
            .expect("frame-ancestors");
        assert!(
            ancestors.contains(&format!("https://store-{STORE}.mybigcommerce.com")),
            "{ancestors}"
        );
        assert!(!ancestors.contains("*.mybigcommerce.com"), "{ancestors}");
        assert!(
            ancestors.contains("https://*.bigcommerce.com"),
            "{ancestors}"
        );
        assert!(page.headers.get("x-frame-options").is_none());
    }
    // A refused payload names no store we trust: only BigCommerce itself may frame it.
    let page = client
        .get("/bigcommerce/load?signed_payload_jwt=not-a-jwt")
        .await;
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(!csp.contains("mybigcommerce.com"), "{csp}");
}

#[tokio::test]
async fn bigcommerce_auth_without_a_code_is_a_400_with_a_message() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    for query in [
        "",
        "?code=",
        "?code=&scope=x&context=stores/abc",
        "?scope=x",
    ] {
        let before = app.snapshot().await;
        let page = app.client().get(&format!("/bigcommerce/auth{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(page.body.contains("no installation code"), "{}", page.body);
        assert_eq!(app.snapshot().await, before);
    }
    let page = app.client().get("/login?next=/%01").await;
    assert_eq!(page.status, 400);
    let page = app.client().get("/login?next=/%7F").await;
    assert_eq!(page.status, 400);
}
