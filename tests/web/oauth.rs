//! Connect to BigCommerce (OAuth 2.0) against a fake login server and the fake API: the full
//! flow ends with a healthy connection and a sealed token; every refusal changes nothing.

use std::time::Duration;

use cartbridge::{db::Db, vault::Aad};

use crate::helpers::{
    Client, Page, TestApp,
    fake_bigcommerce::{FakeBigCommerce, FakeStore},
    fake_login::FakeLogin,
    never_shown, spawn_app_with,
};

const TOKEN: &str = "tok-oauth-SENTINEL-5d2e8f";
const SECRET: &str = "client-secret-oauth-SENTINEL-91ab";
const CLIENT_ID: &str = "client-abc";
const SCOPES: &[&str] = &[
    "store_v2_information_read_only",
    "store_v2_products_read_only",
    "store_v2_orders",
    "store_v2_customers",
    "store_channel_settings_read_only",
];

struct Setup {
    app: TestApp,
    login: FakeLogin,
    _api: FakeBigCommerce,
    client: Client,
    tenant: i64,
    connection: i64,
}

/// An app pointed at the fake API (store `abc123`, which knows `TOKEN`) and the fake login
/// server (approvals for `abc123` issue `TOKEN`); an owner with an OAuth client and an
/// OAuth 2.0 connection to `abc123`.
async fn setup() -> Setup {
    never_shown(TOKEN);
    never_shown(SECRET);
    let api = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Acme Store".into();
    store.domain = "acme.example.com".into();
    api.add_store(store);
    api.add_token("abc123", TOKEN, SCOPES);
    let login = FakeLogin::start("abc123", TOKEN).await;
    login.add_app(CLIENT_ID, SECRET);
    let (api_url, login_url) = (api.api_url(), login.url());
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api_url.parse().unwrap();
        s.bigcommerce_login_url = login_url.parse().unwrap();
        s.bigcommerce_timeout = Duration::from_secs(2);
    })
    .await;
    let (client, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let oauth_client =
        crate::oauth_clients::create_ok(&app, &client, tenant, "Main app", SECRET).await;
    let oauth_client = oauth_client.to_string();
    let mut fields = vec![
        ("name", "Acme via OAuth"),
        ("auth_type", "oauth"),
        ("store", "abc123"),
        ("oauth_client_id", oauth_client.as_str()),
    ];
    fields.extend(SCOPES.iter().map(|s| ("scopes", *s)));
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &fields,
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let connection = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Acme via OAuth'")
        .await;
    Setup {
        app,
        login,
        _api: api,
        client,
        tenant,
        connection,
    }
}

impl Setup {
    /// Clicks Connect: returns the authorize URL the app redirected to.
    async fn connect(&self) -> String {
        let res = self
            .client
            .get(&format!(
                "/t/{}/connections/{}/connect",
                self.tenant, self.connection
            ))
            .await;
        assert_eq!(res.status, 302, "{}", res.body);
        let location = res.location.expect("a redirect");
        assert!(
            location.starts_with(&format!("{}/oauth2/authorize?", self.login.url())),
            "{location}"
        );
        location
    }

    /// Decides on BigCommerce's consent page; returns the callback path it sends back to.
    async fn consent(&self, authorize_url: &str, decision: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .get(format!("{authorize_url}&auto={decision}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        location
            .strip_prefix(&self.app.base)
            .unwrap_or_else(|| panic!("back to the app: {location}"))
            .to_owned()
    }

    /// Connect, approve, and the callback path (not yet visited).
    async fn approved_callback(&self) -> String {
        let url = self.connect().await;
        self.consent(&url, "approve").await
    }

    /// Visits `callback` as `client`, expecting a refusal page that says `message`, and that
    /// the database is unchanged.
    async fn assert_refused(&self, client: &Client, callback: &str, status: u16, message: &str) {
        let before = self.app.snapshot().await;
        let page = client.get(callback).await;
        assert_refused_page(&page, status, message);
        assert_eq!(
            self.app.snapshot().await,
            before,
            "{message}: nothing changes"
        );
    }
}

fn assert_refused_page(page: &Page, status: u16, message: &str) {
    assert_eq!(page.status, status, "{message}: {}", page.body);
    assert!(
        page.body.contains(&message.replace('\'', "&#39;")),
        "expected “{message}”: {}",
        page.body
    );
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn connect_ends_with_a_healthy_connection_and_a_sealed_token() {
    let s = setup().await;
    let show = format!("/t/{}/connections/{}", s.tenant, s.connection);
    let page = s.client.get(&show).await;
    assert!(
        page.body
            .contains(&format!("id=\"connect\" href=\"{show}/connect\"")),
        "{}",
        page.body
    );

    let authorize = s.connect().await;
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some(CLIENT_ID)
    );
    assert_eq!(
        query_param(&authorize, "response_type").as_deref(),
        Some("code")
    );
    assert_eq!(
        query_param(&authorize, "redirect_uri"),
        Some(format!("{}/oauth/callback", s.app.base))
    );
    assert_eq!(query_param(&authorize, "scope"), Some(SCOPES.join(" ")));
    let state = query_param(&authorize, "state").expect("a state");
    assert!(state.len() >= 43, "256 random bits");

    let callback = s.consent(&authorize, "approve").await;
    assert!(callback.starts_with("/oauth/callback?"));
    let res = s.client.get(&callback).await;
    res.assert_redirect_to(&show);

    // The token exchange sent what BigCommerce requires.
    let requests = s.login.token_requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    let callback_url = format!("{}{callback}", s.app.base);
    for (field, value) in [
        ("client_id", CLIENT_ID.to_owned()),
        ("client_secret", SECRET.to_owned()),
        ("grant_type", "authorization_code".to_owned()),
        ("redirect_uri", format!("{}/oauth/callback", s.app.base)),
        ("code", query_param(&callback_url, "code").unwrap()),
        ("scope", SCOPES.join(" ")),
        ("context", "stores/abc123".to_owned()),
    ] {
        assert_eq!(sent.get(field), Some(&value), "token request field {field}");
    }

    // Healthy, scopes recorded, the token sealed to this row.
    let page = s.client.get(&show).await;
    assert!(
        page.body.contains(
            "“Acme via OAuth” is connected to BigCommerce: Acme Store (acme.example.com)."
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"connection-status\">healthy<"),
        "{}",
        page.body
    );
    let id = s.connection;
    let ct = s
        .app
        .bytes(&format!(
            "SELECT access_token_ct FROM connections WHERE id = {id}"
        ))
        .await
        .expect("a sealed token");
    assert!(!ct.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    let opened = s
        .app
        .ctx
        .vault
        .open(&Aad::new(s.tenant, "connections", id, "access_token"), &ct)
        .await
        .unwrap();
    assert_eq!(opened.expose(), TOKEN);
    let scopes = text(
        &s.app,
        &format!("SELECT scopes FROM connections WHERE id = {id}"),
    )
    .await;
    assert_eq!(scopes, SCOPES.join(" "));
    let audit = text(
        &s.app,
        "SELECT detail FROM audit_log WHERE action = 'connection.connected'",
    )
    .await;
    assert!(audit.contains("Acme via OAuth") && !audit.contains(TOKEN) && !audit.contains(SECRET));

    // The same callback again: its state was used.
    s.assert_refused(&s.client, &callback, 400, "unknown or was already used")
        .await;
    assert_eq!(s.login.token_requests().len(), 1, "no second exchange");
}

async fn text(app: &TestApp, sql: &str) -> String {
    match &app.db {
        Db::Sqlite(p) => sqlx::query_scalar::<_, String>(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar::<_, String>(sql).fetch_one(p).await,
    }
    .expect("text query")
}

#[tokio::test]
async fn declined_consent_changes_nothing() {
    let s = setup().await;
    let url = s.connect().await;
    let callback = s.consent(&url, "deny").await;
    assert!(callback.contains("error=access_denied"));
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "You declined the connection in BigCommerce; nothing was changed.",
    )
    .await;
    assert!(s.login.token_requests().is_empty());
}

#[tokio::test]
async fn missing_unknown_and_foreign_states_change_nothing() {
    let s = setup().await;
    let callback = s.approved_callback().await;
    let state = query_param(&format!("{}{callback}", s.app.base), "state").unwrap();
    let message = "unknown or was already used";

    // Another signed-in user's session never held this state.
    let (other, _) = s.app.signup_and_login("other@example.com", "Other").await;
    s.assert_refused(&other, &callback, 400, message).await;

    // A state that does not match (which also uses up the pending one), then the real one.
    let forged = callback.replace(&state, "forged-state");
    s.assert_refused(&s.client, &forged, 400, message).await;
    s.assert_refused(&s.client, &callback, 400, message).await;

    // No state at all.
    let callback = s.approved_callback().await;
    let url = url::Url::parse(&format!("{}{callback}", s.app.base)).unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "state")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    let stateless = format!("/oauth/callback?{query}");
    assert!(stateless.contains("code=") && !stateless.contains("state="));
    s.assert_refused(&s.client, &stateless, 400, message).await;
    assert!(s.login.token_requests().is_empty());
}

#[tokio::test]
async fn an_expired_state_changes_nothing() {
    let s = setup().await;
    let callback = s.approved_callback().await;
    // Ten minutes pass: move the pending Connect's expiry into the past.
    let sql = "SELECT state FROM sessions WHERE state LIKE '%oauth_state%'";
    let state = text(&s.app, sql).await;
    let marker = "\\\"expires_at\\\":";
    let start = state.find(marker).expect("expiry in the session") + marker.len();
    let end = start + state[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let aged = format!("{}1{}", &state[..start], &state[end..]);
    s.app
        .execute(&format!(
            "UPDATE sessions SET state = '{}' WHERE state LIKE '%oauth_state%'",
            aged.replace('\'', "''")
        ))
        .await;
    s.assert_refused(&s.client, &callback, 400, "has expired")
        .await;
    assert!(s.login.token_requests().is_empty());
}

#[tokio::test]
async fn a_context_for_another_store_changes_nothing() {
    let s = setup().await;
    s.login.set_store("zzz999");
    let callback = s.approved_callback().await;
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "You signed in to a different store (zzz999) than this connection&#39;s (abc123)",
    )
    .await;
    assert!(
        s.login.token_requests().is_empty(),
        "no exchange for the wrong store"
    );
}

#[tokio::test]
async fn token_endpoint_errors_change_nothing() {
    let s = setup().await;

    // BigCommerce no longer accepts the stored secret.
    s.login.add_app(CLIENT_ID, "a-rotated-secret");
    let callback = s.approved_callback().await;
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "BigCommerce refused the token exchange: invalid_client",
    )
    .await;
    s.login.add_app(CLIENT_ID, SECRET);

    // The code was already used (here: redeemed by someone else first).
    let callback = s.approved_callback().await;
    let url = format!("{}{callback}", s.app.base);
    let http = reqwest::Client::new();
    let stolen = http
        .post(format!("{}/oauth2/token", s.login.url()))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("code", &query_param(&url, "code").unwrap()),
            ("scope", &SCOPES.join(" ")),
            ("grant_type", "authorization_code"),
            ("redirect_uri", &format!("{}/oauth/callback", s.app.base)),
            ("context", "stores/abc123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 200);
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "BigCommerce refused the token exchange: invalid_grant",
    )
    .await;
    let id = s.connection;
    assert!(
        s.app
            .bytes(&format!(
                "SELECT access_token_ct FROM connections WHERE id = {id}"
            ))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn the_fake_token_endpoint_rejects_a_wrong_redirect_uri() {
    let s = setup().await;
    let callback = s.approved_callback().await;
    let url = format!("{}{callback}", s.app.base);
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.login.url()))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("code", &query_param(&url, "code").unwrap()),
            ("scope", &SCOPES.join(" ")),
            ("grant_type", "authorization_code"),
            ("redirect_uri", "https://evil.example.com/oauth/callback"),
            ("context", "stores/abc123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("redirect_uri"));
}

#[tokio::test]
async fn only_oauth_connections_connect() {
    let s = setup().await;
    s.app
        .execute("UPDATE connections SET auth_type = 'token', api_client_id = 'x'")
        .await;
    let before = s.app.snapshot().await;
    let page = s
        .client
        .get(&format!(
            "/t/{}/connections/{}/connect",
            s.tenant, s.connection
        ))
        .await;
    assert_refused_page(&page, 400, "Only OAuth 2.0 connections");
    assert_eq!(s.app.snapshot().await, before);
}

#[tokio::test]
async fn scopes_cartbridge_does_not_know_change_nothing() {
    let s = setup().await;
    s.login
        .set_granted_scope("store_v2_orders store_v2_everything");
    let callback = s.approved_callback().await;
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "BigCommerce granted scopes cartbridge does not know (store_v2_orders store_v2_everything)",
    )
    .await;
}

#[tokio::test]
async fn a_token_for_another_store_changes_nothing() {
    let s = setup().await;
    s.login.set_token_store("zzz999");
    let callback = s.approved_callback().await;
    s.assert_refused(
        &s.client,
        &callback,
        400,
        "You signed in to a different store (zzz999) than this connection&#39;s (abc123)",
    )
    .await;
    assert_eq!(s.login.token_requests().len(), 1, "exchanged, then refused");
}

#[tokio::test]
async fn only_owners_and_admins_connect() {
    let s = setup().await;
    let callback = s.approved_callback().await;
    s.app
        .execute("UPDATE memberships SET role = 'member'")
        .await;
    // Demoted between Connect and the callback: refused.
    let before = s.app.snapshot().await;
    assert_eq!(s.client.get(&callback).await.status, 403);
    let page = s
        .client
        .get(&format!(
            "/t/{}/connections/{}/connect",
            s.tenant, s.connection
        ))
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(s.app.snapshot().await, before);
    let show = s
        .client
        .get(&format!("/t/{}/connections/{}", s.tenant, s.connection))
        .await;
    assert!(!show.body.contains("id=\"connect\""));
}
