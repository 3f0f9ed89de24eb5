//! CSRF on every form, security headers, cookie flags, health endpoints.

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn posts_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let (owner, tenant_id) = app.signup_and_login("owner@example.com", "Acme").await;
    let other = app.client();
    let others_token = other.csrf().await;
    let invite = format!("/t/{tenant_id}/invitations");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/signup",
            vec![
                ("email", "x@example.com"),
                ("password", PASSWORD),
                ("company", "X"),
            ],
        ),
        (
            &invite,
            vec![("email", "x@example.com"), ("role", "member")],
        ),
        ("/logout", vec![]),
    ];
    for (path, fields) in &cases {
        let before = app.snapshot().await;
        let missing = owner.post(path, fields).await;
        assert_eq!(missing.status, 403, "{path} without a token");
        assert!(
            missing.body.contains("This form has expired"),
            "{}",
            missing.body
        );
        let mut wrong = vec![("csrf_token", "forged-token")];
        wrong.extend(fields.iter().copied());
        assert_eq!(
            owner.post(path, &wrong).await.status,
            403,
            "{path} with a forged token"
        );
        let mut foreign = vec![("csrf_token", others_token.as_str())];
        foreign.extend(fields.iter().copied());
        assert_eq!(
            owner.post(path, &foreign).await.status,
            403,
            "{path} with another session's token"
        );
        assert_eq!(app.snapshot().await, before, "{path} changed the database");
    }
    // Still logged in: the refused logout did nothing.
    assert_eq!(owner.get(&format!("/t/{tenant_id}")).await.status, 200);
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_safe_session_cookie() {
    let app = spawn_app().await;
    let page = app.client().get("/login").await;
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-request-id").len(), 16);
    let cookie = header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure flag ({cookie})"
    );
    assert!(
        !page.body.contains("<script>") && !page.body.contains(" style="),
        "no inline script or style"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let app =
        spawn_app_with(|s| s.public_url = Some("https://cartbridge.example.com".parse().unwrap()))
            .await;
    let page = app.client().get("/login").await;
    let cookie = page
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-cartbridge=") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(page.headers.get("strict-transport-security").is_some());
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let client = app.client();
    let health = client.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let ready = client.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));
    app.db.close().await;
    assert_eq!(
        client.get("/readyz").await.status,
        503,
        "a closed database is not ready"
    );
    assert_eq!(client.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn unknown_pages_are_404_with_a_page() {
    let app = spawn_app().await;
    let page = app.client().get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("find that page"), "{}", page.body);
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    use crate::helpers::{
        fake_bigcommerce::{FakeBigCommerce, FakeStore},
        logs,
    };

    for secret in ["tok-LOGSENTINEL-1", "secret-LOGSENTINEL-3"] {
        crate::helpers::never_shown(secret);
    }
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new("abc123"));
    fake.add_token(
        "abc123",
        "tok-LOGSENTINEL-1",
        &["store_v2_information_read_only"],
    );
    let api = fake.api_url();
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api.parse().unwrap();
        s.webhooks.allow_private = true;
    })
    .await;
    let password = "pw LOGSENTINEL horse battery";
    let client = app.client();
    client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "keeper@example.com"),
                ("password", password),
                ("company", "Logs Co"),
            ],
        )
        .await
        .assert_redirect_to("/signup/check-email");
    app.confirm_email(&client, "keeper@example.com").await;
    client
        .submit(
            "/login",
            "/login",
            &[("email", "keeper@example.com"), ("password", password)],
        )
        .await
        .assert_redirect_to("/");
    // A wrong password is logged as a failure, never as its value.
    client
        .submit(
            "/login",
            "/login",
            &[
                ("email", "keeper@example.com"),
                ("password", "wrong LOGSENTINEL 2"),
            ],
        )
        .await;
    let tenant = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Logs Co'")
        .await;
    let new_client = format!("/t/{tenant}/oauth-clients/new");
    client
        .submit(
            &new_client,
            &format!("/t/{tenant}/oauth-clients"),
            &[
                ("name", "App"),
                ("client_id", "cid"),
                ("client_secret", "secret-LOGSENTINEL-3"),
            ],
        )
        .await;
    let new_connection = format!("/t/{tenant}/connections/new");
    let res = client
        .submit(
            &new_connection,
            &format!("/t/{tenant}/connections"),
            &[
                ("name", "Main"),
                ("auth_type", "token"),
                ("store", "abc123"),
                ("api_client_id", "cid"),
                ("access_token", "tok-LOGSENTINEL-1"),
                ("then", "test"),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    let verify_link = app.last_link("keeper@example.com", "/verify-email").await;
    let verify_token = verify_link.split("token=").nth(1).unwrap().to_owned();
    // A partner API key (used once) and a webhook signing secret (used to sign a test event).
    let api_key =
        crate::helpers::partner::create_key(&client, tenant, "Logs key", "read", &[]).await;
    let used = crate::helpers::partner::Api::new(&app, Some(&api_key))
        .get("/api/v1/connections")
        .await;
    assert_eq!(used.status, 200);
    let (endpoint, signing_secret) = crate::helpers::partner::create_endpoint(
        &app,
        &client,
        tenant,
        "http://127.0.0.1:9/hooks",
        &["run.failed"],
    )
    .await;
    let endpoint_page = format!("/t/{tenant}/webhooks/{endpoint}");
    client
        .submit(&endpoint_page, &format!("{endpoint_page}/test"), &[])
        .await
        .assert_redirect_to(&endpoint_page);
    crate::helpers::partner::wait_for_count(&app, "SELECT COUNT(*) FROM webhook_attempts", 1, 30)
        .await;
    let signing_key = signing_secret.trim_start_matches("whsec_").to_owned();

    let logs = logs::captured();
    assert!(
        logs.contains("request finished") && logs.contains("connection tested"),
        "the capture works"
    );
    for secret in [
        "LOGSENTINEL",
        verify_token.as_str(),
        api_key.as_str(),
        signing_key.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
}
