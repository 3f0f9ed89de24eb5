//! cartbridge's own single-click BigCommerce app: `/bigcommerce/auth` (install, re-install),
//! `/load`, `/uninstall`, `/remove_user`. Signed payloads are made here with `jsonwebtoken`,
//! independently of the app's verifier; every refused request leaves the database unchanged.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use cartbridge::{db::Db, vault::Aad};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{
    Client, PASSWORD, Page, TestApp,
    fake_login::{AppWithBcLogin, IssuedCode, spawn_with_bc_app},
    never_shown, spawn_app_with,
};

const CLIENT_ID: &str = "cartbridge-app-id";
const CLIENT_SECRET: &str = "app-secret-sentinel-5c1f9a";
const STORE: &str = "g5cd38";
const OWNER: (i64, &str) = (12345, "owner@shop.example");
const CLERK: (i64, &str) = (24654, "clerk@shop.example");
const TOKEN_1: &str = "app-token-sentinel-first-91ab";
const TOKEN_2: &str = "app-token-sentinel-second-77cd";
const SCOPE_1: &str = "store_v2_orders store_v2_products_read_only";
const SCOPE_2: &str = "store_v2_orders store_v2_products store_v2_customers";

type AppWithLogin = AppWithBcLogin;

/// The app with its BigCommerce app credentials, talking to a fake token endpoint.
async fn spawn(public_url: Option<&str>) -> AppWithLogin {
    for secret in [CLIENT_SECRET, TOKEN_1, TOKEN_2] {
        never_shown(secret);
    }
    spawn_with_bc_app(
        (CLIENT_ID, CLIENT_SECRET),
        (STORE, TOKEN_1, OWNER),
        public_url,
    )
    .await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims as BigCommerce sends them (REFERENCE §3.2), for `user` in `STORE`.
fn claims(user: (i64, &str)) -> Value {
    let iat = now() - 5;
    json!({
        "aud": CLIENT_ID,
        "iss": "bc",
        "iat": iat,
        "nbf": iat,
        "exp": iat + 86_400,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": format!("stores/{STORE}"),
        "user": {"id": user.0, "email": user.1, "locale": "en-US"},
        "owner": {"id": OWNER.0, "email": OWNER.1},
        "url": "/",
        "channel_id": null,
    })
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn valid_jwt(user: (i64, &str)) -> String {
    sign(&claims(user), CLIENT_SECRET)
}

/// Every way a payload can be wrong, by name.
fn bad_jwts() -> Vec<(&'static str, String)> {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(OWNER);
        change(&mut c);
        sign(&c, CLIENT_SECRET)
    };
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(OWNER).to_string())
    );
    vec![
        (
            "expired",
            with(&|c| {
                c["iat"] = json!(now() - 2 * 86_400);
                c["nbf"] = json!(now() - 2 * 86_400);
                c["exp"] = json!(now() - 600);
            }),
        ),
        (
            "not yet valid",
            with(&|c| {
                c["iat"] = json!(now() + 600);
                c["nbf"] = json!(now() + 600);
                c["exp"] = json!(now() + 86_400);
            }),
        ),
        ("wrong secret", sign(&claims(OWNER), "not-the-app-secret")),
        ("wrong audience", with(&|c| c["aud"] = json!("another-app"))),
        ("wrong issuer", with(&|c| c["iss"] = json!("evil"))),
        ("no store subject", with(&|c| c["sub"] = json!("g5cd38"))),
        (
            "no payload id (jti)",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        ("alg none", unsigned),
        ("malformed", "not-a-jwt".into()),
        ("three garbage parts", "aaa.bbb.ccc".into()),
        ("missing", String::new()),
    ]
}

async fn install(client: &Client, code: &IssuedCode) -> Page {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("account_uuid", "7d3a0c2e-0000-4000-8000-00000000a001")
        .append_pair("code", &code.code)
        .append_pair("context", &code.context)
        .append_pair("scope", &code.scope)
        .finish();
    client.get(&format!("/bigcommerce/auth?{query}")).await
}

async fn callback(client: &Client, name: &str, jwt: &str) -> Page {
    let jwt: String = url::form_urlencoded::byte_serialize(jwt.as_bytes()).collect();
    client
        .get(&format!("/bigcommerce/{name}?signed_payload_jwt={jwt}"))
        .await
}

async fn text(app: &TestApp, sql: &str) -> String {
    match &app.db {
        Db::Sqlite(p) => sqlx::query_scalar::<_, String>(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar::<_, String>(sql).fetch_one(p).await,
    }
    .expect("text query")
}

async fn role_of(app: &TestApp, email: &str) -> Option<String> {
    let sql = format!(
        "SELECT COALESCE(MAX(m.role), '') FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = '{email}'"
    );
    Some(text(app, &sql).await).filter(|r| !r.is_empty())
}

async fn stored_token(app: &TestApp, tenant: i64, connection: i64) -> Option<String> {
    let ct = app
        .bytes(&format!(
            "SELECT access_token_ct FROM connections WHERE id = {connection}"
        ))
        .await?;
    let aad = Aad::new(tenant, "connections", connection, "access_token");
    Some(
        app.ctx
            .vault
            .open(&aad, &ct)
            .await
            .expect("opens")
            .expose()
            .to_owned(),
    )
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

#[tokio::test]
async fn install_load_remove_user_uninstall_and_reinstall_end_to_end() {
    let s = spawn(None).await;
    let app = &s.app;
    let owner = app.client();

    // Install: a tenant for the new store, its owner (created; the email is not marked
    // verified, a BigCommerce payload proves nothing about it) and the connection.
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    let page = install(&owner, &code).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"installed\"") && page.body.contains(STORE));
    let sent = &s.login.token_requests()[0];
    assert_eq!(sent["grant_type"], "authorization_code");
    assert_eq!(sent["client_id"], CLIENT_ID);
    assert_eq!(sent["context"], format!("stores/{STORE}"));
    assert_eq!(
        sent["redirect_uri"],
        format!("{}/bigcommerce/auth", app.base)
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM tenants").await, 1);
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    let connection = app
        .scalar_i64("SELECT id FROM connections WHERE installed_by_app")
        .await;
    assert_eq!(role_of(app, OWNER.1).await.as_deref(), Some("owner"));
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM users WHERE email = '{}' AND email_verified_at IS NULL AND password_hash IS NULL",
            OWNER.1
        ))
        .await,
        1
    );
    assert_eq!(
        text(app, "SELECT auth_type || ' ' || status || ' ' || store_hash || ' ' || scopes FROM connections").await,
        format!("oauth untested {STORE} store_v2_products_read_only store_v2_orders")
    );
    assert_eq!(
        stored_token(app, tenant, connection).await.as_deref(),
        Some(TOKEN_1)
    );
    assert_eq!(audit_count(app, "app.installed").await, 1);
    assert!(
        app.last_link(OWNER.1, "/password/reset")
            .await
            .contains("token=")
    );
    // The installer is signed in.
    assert_eq!(owner.get(&format!("/t/{tenant}")).await.status, 200);

    // Load, as the owner: the same user, signed in.
    let owner = app.client();
    let page = callback(&owner, "load", &valid_jwt(OWNER)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(STORE));
    assert_eq!(owner.get(&format!("/t/{tenant}")).await.status, 200);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);

    // Load, as another BigCommerce user of the store: a member account is made for them.
    let clerk = app.client();
    let page = callback(&clerk, "load", &valid_jwt(CLERK)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(role_of(app, CLERK.1).await.as_deref(), Some("member"));
    assert_eq!(clerk.get(&format!("/t/{tenant}")).await.status, 200);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM bigcommerce_app_users")
            .await,
        2
    );

    // remove_user: the clerk loses access; the last owner cannot be removed.
    let server = app.client();
    let res = callback(&server, "remove_user", &valid_jwt(CLERK)).await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(role_of(app, CLERK.1).await, None);
    assert_eq!(clerk.get(&format!("/t/{tenant}")).await.status, 404);
    assert_eq!(audit_count(app, "app.user_removed").await, 1);
    let before = app.snapshot().await;
    let res = callback(&server, "remove_user", &valid_jwt(OWNER)).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert_eq!(
        app.snapshot().await,
        before,
        "refusing the last owner changed data"
    );
    assert_eq!(role_of(app, OWNER.1).await.as_deref(), Some("owner"));

    // Uninstall: the connection is disabled and its token destroyed.
    let res = callback(&server, "uninstall", &valid_jwt(OWNER)).await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(
        text(app, "SELECT status FROM connections").await,
        "disabled"
    );
    assert_eq!(stored_token(app, tenant, connection).await, None);
    assert_eq!(audit_count(app, "app.uninstalled").await, 1);
    assert_eq!(role_of(app, OWNER.1).await.as_deref(), Some("owner"));
    let before = app.snapshot().await;
    let res = callback(&app.client(), "load", &valid_jwt(OWNER)).await;
    assert_eq!(res.status, 404, "an uninstalled app must not load");
    assert_eq!(app.snapshot().await, before);

    // Re-install: same tenant and connection, new token and scopes, back in service.
    let emails_before = app.emails_to(OWNER.1).await.len();
    let code = s.issue_code(STORE, OWNER, SCOPE_2, TOKEN_2);
    let page = install(&app.client(), &code).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM tenants").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM connections").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(
        text(app, "SELECT status || ' ' || scopes FROM connections").await,
        "untested store_v2_products store_v2_orders store_v2_customers"
    );
    assert_eq!(
        stored_token(app, tenant, connection).await.as_deref(),
        Some(TOKEN_2)
    );
    assert_eq!(audit_count(app, "app.reinstalled").await, 1);
    assert_eq!(
        app.emails_to(OWNER.1).await.len(),
        emails_before,
        "no new account, no new email"
    );
}

#[tokio::test]
async fn only_a_valid_signed_payload_gets_in_and_bad_ones_change_nothing() {
    let s = spawn(None).await;
    let app = &s.app;
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    assert_eq!(install(&app.client(), &code).await.status, 200);
    let before = app.snapshot().await;
    for (case, jwt) in bad_jwts() {
        for name in ["load", "uninstall", "remove_user"] {
            let client = app.client();
            let res = callback(&client, name, &jwt).await;
            assert_eq!(res.status, 401, "{case} on /{name}: {}", res.body);
            assert!(
                res.headers.get("set-cookie").is_none(),
                "{case} on /{name} set a cookie"
            );
            assert_eq!(
                app.snapshot().await,
                before,
                "{case} on /{name} changed data"
            );
        }
    }
    // The same request with a valid payload gets in.
    let client = app.client();
    let res = callback(&client, "load", &valid_jwt(OWNER)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    assert_eq!(client.get(&format!("/t/{tenant}")).await.status, 200);
}

#[tokio::test]
async fn an_existing_account_with_the_installers_email_is_linked_only_once_its_owner_proves_it() {
    let s = spawn(None).await;
    let app = &s.app;
    let (_, own_tenant) = app.signup_and_login(OWNER.1, "Shop Ltd").await;
    let emails_before = app.emails_to(OWNER.1).await.len();
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    let installer = app.client();
    let page = install(&installer, &code).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"link-account\""), "{}", page.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM tenants").await, 2);
    let store_tenant = app
        .scalar_i64("SELECT tenant_id FROM connections WHERE installed_by_app")
        .await;
    assert_ne!(store_tenant, own_tenant);
    let owners = format!(
        "SELECT COUNT(*) FROM memberships WHERE tenant_id = {store_tenant} AND role = 'owner'"
    );
    assert_eq!(
        app.scalar_i64(&owners).await,
        0,
        "linked on the email's word"
    );
    assert_eq!(installer.get(&format!("/t/{own_tenant}")).await.status, 303);

    // The owner logs in once from the app: now the store's tenant is theirs.
    let csrf = page.csrf().expect("csrf");
    let linked = installer
        .post(
            "/bigcommerce/link",
            &[("csrf_token", csrf.as_str()), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(app.scalar_i64(&owners).await, 1);
    assert_eq!(
        installer.get(&format!("/t/{store_tenant}")).await.status,
        200
    );
    assert_eq!(
        app.emails_to(OWNER.1).await.len(),
        emails_before,
        "no set-password email"
    );
}

#[tokio::test]
async fn a_refused_code_installs_nothing() {
    let s = spawn(None).await;
    let app = &s.app;
    let before = app.snapshot().await;
    let forged = IssuedCode {
        code: "forged-code".into(),
        scope: SCOPE_1.into(),
        context: format!("stores/{STORE}"),
    };
    let page = install(&app.client(), &forged).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("did not accept this installation code"));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn only_pages_shown_in_the_control_panel_may_be_framed() {
    let s = spawn(None).await;
    let app = &s.app;
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    let client = app.client();
    let framed = [
        install(&client, &code).await,
        callback(&client, "load", &valid_jwt(OWNER)).await,
        callback(&client, "load", "not-a-jwt").await,
    ];
    for page in &framed {
        let csp = page.headers["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(
            csp.contains("frame-ancestors https://*.bigcommerce.com"),
            "{csp}"
        );
        assert!(!csp.contains("*.mybigcommerce.com"), "{csp}");
        assert!(!csp.contains("'none'; frame") && !csp.contains("frame-ancestors 'none'"));
        assert!(page.headers.get("x-frame-options").is_none());
    }
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    for path in [
        "/login".to_owned(),
        format!("/t/{tenant}"),
        "/bigcommerce/nowhere".into(),
    ] {
        let page = client.get(&path).await;
        let csp = page.headers["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn over_https_the_session_cookie_works_in_the_iframe_and_stays_lax_elsewhere() {
    let s = spawn(Some("https://cartbridge.example")).await;
    let app = &s.app;
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    let client = app.client();
    assert_eq!(install(&client, &code).await.status, 200);
    let page = callback(&client, "load", &valid_jwt(OWNER)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page.headers["set-cookie"].to_str().expect("cookie");
    assert!(cookie.starts_with("__Host-cartbridge="), "{cookie}");
    assert!(
        cookie.contains("SameSite=None") && cookie.contains("Secure"),
        "{cookie}"
    );
    let page = app.client().get("/login").await;
    let cookie = page.headers["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn without_app_credentials_the_callbacks_do_not_exist() {
    let app = spawn_app_with(|_| {}).await;
    let client = app.client();
    for path in [
        "/bigcommerce/auth?code=x&scope=store_v2_orders&context=stores/abc".to_owned(),
        format!("/bigcommerce/load?signed_payload_jwt={}", valid_jwt(OWNER)),
        format!(
            "/bigcommerce/uninstall?signed_payload_jwt={}",
            valid_jwt(OWNER)
        ),
    ] {
        assert_eq!(client.get(&path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn the_app_installed_connection_is_managed_from_bigcommerce_not_edited_here() {
    let s = spawn(None).await;
    let app = &s.app;
    let owner = app.client();
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    assert_eq!(install(&owner, &code).await.status, 200);
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE installed_by_app")
        .await;
    let show = format!("/t/{tenant}/connections/{id}");

    let page = owner.get(&show).await;
    assert!(page.body.contains("id=\"managed-by-app\""), "{}", page.body);
    for absent in ["id=\"connect\"", "/edit\"", "/delete\""] {
        assert!(
            !page.body.contains(absent),
            "{absent} offered for an app connection"
        );
    }
    let before = app.snapshot().await;
    let edit = owner.get(&format!("{show}/edit")).await;
    assert_eq!(edit.status, 403);
    assert!(edit.body.contains("managed there"), "{}", edit.body);
    let fields = [
        ("name", "Renamed"),
        ("auth_type", "token"),
        ("store", "other1"),
        ("api_client_id", "x"),
        ("access_token", "t"),
    ];
    assert_eq!(owner.submit(&show, &show, &fields).await.status, 403);
    assert_eq!(
        owner
            .submit(&show, &format!("{show}/delete"), &[])
            .await
            .status,
        403
    );
    assert_eq!(app.snapshot().await, before, "nothing changes");
}

#[tokio::test]
async fn a_signed_payload_is_accepted_once_so_a_captured_load_url_cannot_be_replayed() {
    let s = spawn(None).await;
    let app = &s.app;
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    assert_eq!(install(&app.client(), &code).await.status, 200);
    let jwt = valid_jwt(OWNER);
    assert_eq!(callback(&app.client(), "load", &jwt).await.status, 200);

    let before = app.snapshot().await;
    let thief = app.client();
    let replay = callback(&thief, "load", &jwt).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    assert_eq!(
        thief.get(&format!("/t/{tenant}")).await.status,
        303,
        "not signed in"
    );
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn uninstalling_drops_the_connections_webhook_registrations() {
    let s = spawn(None).await;
    let app = &s.app;
    let code = s.issue_code(STORE, OWNER, SCOPE_1, TOKEN_1);
    assert_eq!(install(&app.client(), &code).await.status, 200);
    let tenant = app.scalar_i64("SELECT id FROM tenants").await;
    let connection = app
        .scalar_i64("SELECT id FROM connections WHERE installed_by_app")
        .await;
    // As Placed Orders leaves them once its hooks are registered on the store.
    for (scope, hook) in [("store/order/created", 7), ("store/order/statusUpdated", 8)] {
        app.execute(&format!(
            "INSERT INTO bigcommerce_hooks (tenant_id, connection_id, flow, scope, bc_hook_id, \
             is_active, created_at) VALUES ({tenant}, {connection}, 'placed_orders', '{scope}', \
             {hook}, TRUE, 1)"
        ))
        .await;
    }

    let res = callback(&app.client(), "uninstall", &valid_jwt(OWNER)).await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM bigcommerce_hooks WHERE connection_id = {connection}"
        ))
        .await,
        0,
        "BigCommerce removed the hooks with the app; their registrations go too"
    );
    assert_eq!(
        text(app, "SELECT status FROM connections").await,
        "disabled"
    );
}
