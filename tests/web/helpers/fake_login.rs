//! A fake BigCommerce login server (`login.bigcommerce.com`) for the Connect flow:
//! `GET /oauth2/authorize` shows a consent page with "Approve" (`#approve`) and "Deny"
//! (`#deny`) buttons, or decides at once with `&auto=approve` / `&auto=deny` (for HTTP tests);
//! either way the browser is redirected to `redirect_uri` with `code`, `scope`,
//! `context=stores/<hash>` and `state` (or `error=access_denied`). `POST /oauth2/token`
//! checks client id and secret, the code (single use), redirect URI, grant type, context and
//! scope, and answers with the documented JSON. The test registers apps, the store that
//! approvals are for, and the token to issue; every token request is recorded. For the
//! single-click app install, `issue_code` makes a code directly (BigCommerce calls the app's
//! `/auth` without a consent page), with its own store, installing user, scope and token.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use serde::Deserialize;

#[derive(Clone)]
struct Grant {
    client_id: String,
    store_hash: String,
    scope: String,
    redirect_uri: String,
    used: bool,
    /// Set for codes made by `issue_code`: the token to hand out and the installing user.
    access_token: Option<String>,
    user: Option<(i64, String)>,
}

#[derive(Default)]
struct State {
    /// client id → client secret.
    apps: HashMap<String, String>,
    store_hash: String,
    access_token: String,
    /// When set, granted instead of the scopes asked for.
    granted_scope: Option<String>,
    /// When set, the token response names this store instead of the code's.
    token_store: Option<String>,
    /// The store owner named in token responses.
    owner: Option<(i64, String)>,
    codes: HashMap<String, Grant>,
    next_code: u64,
    token_requests: Vec<HashMap<String, String>>,
}

/// The fake login server. Dropping it stops the server.
pub struct FakeLogin {
    base_url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeLogin {
    /// Binds 127.0.0.1:0 and serves on the current tokio runtime. Approvals are for store
    /// `store_hash` and issue `access_token`.
    pub async fn start(store_hash: &str, access_token: &str) -> FakeLogin {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fake login: bind");
        let port = listener.local_addr().expect("fake login: addr").port();
        let state = Arc::new(Mutex::new(State {
            store_hash: store_hash.to_owned(),
            access_token: access_token.to_owned(),
            ..State::default()
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/oauth2/authorize", web::get().to(authorize))
                .route("/oauth2/decide", web::get().to(decide))
                .route("/oauth2/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("fake login: listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeLogin {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            handle,
        }
    }

    /// `http://127.0.0.1:PORT`, for `CARTBRIDGE_BIGCOMMERCE_LOGIN_URL`.
    pub fn url(&self) -> String {
        self.base_url.clone()
    }

    /// Registers an app (an OAuth client) with its secret.
    pub fn add_app(&self, client_id: &str, client_secret: &str) {
        lock(&self.state)
            .apps
            .insert(client_id.to_owned(), client_secret.to_owned());
    }

    /// The store that the next approvals are for.
    pub fn set_store(&self, store_hash: &str) {
        lock(&self.state).store_hash = store_hash.to_owned();
    }

    /// Grants `scope` (space-separated) instead of the scopes asked for.
    pub fn set_granted_scope(&self, scope: &str) {
        lock(&self.state).granted_scope = Some(scope.to_owned());
    }

    /// Makes the token response name `store_hash` (a misbehaving server).
    pub fn set_token_store(&self, store_hash: &str) {
        lock(&self.state).token_store = Some(store_hash.to_owned());
    }

    /// The store owner that token responses name (default 12345, owner@example.com).
    pub fn set_owner(&self, owner: (i64, &str)) {
        lock(&self.state).owner = Some((owner.0, owner.1.to_owned()));
    }

    /// Issues a code directly, as BigCommerce does when a merchant installs a single-click
    /// app (there is no consent page in between): for `client_id` and `redirect_uri`, for
    /// `store_hash`, installed by `user`, granting `scope` and handing out `access_token`.
    pub fn issue_code(
        &self,
        client_id: &str,
        redirect_uri: &str,
        store_hash: &str,
        user: (i64, &str),
        scope: &str,
        access_token: &str,
    ) -> IssuedCode {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        let grant = Grant {
            client_id: client_id.to_owned(),
            store_hash: store_hash.to_owned(),
            scope: scope.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            used: false,
            access_token: Some(access_token.to_owned()),
            user: Some((user.0, user.1.to_owned())),
        };
        lock(&self.state).codes.insert(code.clone(), grant);
        IssuedCode {
            code,
            scope: scope.to_owned(),
            context: format!("stores/{store_hash}"),
        }
    }

    /// Every form sent to the token endpoint, oldest first.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        lock(&self.state).token_requests.clone()
    }
}

/// A code made by `FakeLogin::issue_code`, with the query fields BigCommerce sends along.
pub struct IssuedCode {
    pub code: String,
    pub scope: String,
    pub context: String,
}

impl Drop for FakeLogin {
    fn drop(&mut self) {
        // The stop command is sent eagerly; the returned future only awaits completion.
        drop(self.handle.stop(false));
    }
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    auto: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn authorize(q: web::Query<AuthorizeQuery>, state: web::Data<Mutex<State>>) -> HttpResponse {
    let q = q.into_inner();
    let known = q
        .client_id
        .as_ref()
        .is_some_and(|c| lock(&state).apps.contains_key(c));
    if q.response_type.as_deref() != Some("code") || !known || q.redirect_uri.is_none() {
        return HttpResponse::BadRequest().body("invalid authorization request");
    }
    if let Some(decision) = q.auto.clone() {
        return decide_now(&q, &decision, &state);
    }
    let hidden = [
        ("client_id", &q.client_id),
        ("redirect_uri", &q.redirect_uri),
        ("scope", &q.scope),
        ("state", &q.state),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v.as_deref().unwrap_or(""))
        )
    })
    .collect::<String>();
    let store = lock(&state).store_hash.clone();
    let html = format!(
        "<!doctype html><html><head><title>BigCommerce (fake): authorize app</title></head><body>\
         <h1>Authorize this app for store {store}?</h1>\
         <p id=\"scopes\">Scopes: {}</p>\
         <form method=\"get\" action=\"/oauth2/decide\">{hidden}\
         <input type=\"hidden\" name=\"response_type\" value=\"code\">\
         <button type=\"submit\" name=\"auto\" value=\"approve\" id=\"approve\">Approve</button> \
         <button type=\"submit\" name=\"auto\" value=\"deny\" id=\"deny\">Deny</button>\
         </form></body></html>",
        escape(q.scope.as_deref().unwrap_or(""))
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

async fn decide(q: web::Query<AuthorizeQuery>, state: web::Data<Mutex<State>>) -> HttpResponse {
    let decision = q.auto.clone().unwrap_or_default();
    decide_now(&q, &decision, &state)
}

fn decide_now(q: &AuthorizeQuery, decision: &str, state: &Mutex<State>) -> HttpResponse {
    let redirect_uri = q.redirect_uri.clone().unwrap_or_default();
    let mut url = match url::Url::parse(&redirect_uri) {
        Ok(u) => u,
        Err(_) => return HttpResponse::BadRequest().body("invalid redirect_uri"),
    };
    {
        let mut pairs = url.query_pairs_mut();
        if decision == "approve" {
            let mut st = lock(state);
            st.next_code += 1;
            let code = format!("code-{}-{}", st.next_code, uuid::Uuid::new_v4().simple());
            let scope = st
                .granted_scope
                .clone()
                .unwrap_or_else(|| q.scope.clone().unwrap_or_default());
            let grant = Grant {
                client_id: q.client_id.clone().unwrap_or_default(),
                store_hash: st.store_hash.clone(),
                scope: scope.clone(),
                redirect_uri: redirect_uri.clone(),
                used: false,
                access_token: None,
                user: None,
            };
            pairs
                .append_pair("code", &code)
                .append_pair("scope", &scope)
                .append_pair("context", &format!("stores/{}", grant.store_hash));
            st.codes.insert(code, grant);
        } else {
            pairs
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user denied the request.");
        }
        if let Some(s) = &q.state {
            pairs.append_pair("state", s);
        }
    }
    HttpResponse::Found()
        .insert_header(("location", url.to_string()))
        .finish()
}

fn token_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .content_type("application/json")
        .body(serde_json::json!({"error": error, "error_description": description}).to_string())
}

/// Reads the body as a form or as JSON (BigCommerce documents JSON; both are accepted).
fn read_fields(req: &HttpRequest, body: &[u8]) -> HashMap<String, String> {
    let json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice::<HashMap<String, serde_json::Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map(str::to_owned).unwrap_or(v.to_string())))
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<Mutex<State>>) -> HttpResponse {
    let fields = read_fields(&req, &body);
    let mut st = lock(&state);
    st.token_requests.push(fields.clone());
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    match st.apps.get(get("client_id")) {
        Some(secret) if secret == get("client_secret") => {}
        _ => return token_error(401, "invalid_client", "Invalid client id or secret."),
    }
    if get("grant_type") != "authorization_code" {
        return token_error(400, "unsupported_grant_type", "Unsupported grant type.");
    }
    let Some(grant) = st.codes.get(get("code")).cloned() else {
        return token_error(400, "invalid_grant", "Invalid or expired code.");
    };
    if grant.used || grant.client_id != get("client_id") {
        return token_error(400, "invalid_grant", "Invalid or expired code.");
    }
    if grant.redirect_uri != get("redirect_uri") {
        return token_error(400, "invalid_grant", "redirect_uri does not match.");
    }
    if format!("stores/{}", grant.store_hash) != get("context") || grant.scope != get("scope") {
        return token_error(400, "invalid_request", "context or scope does not match.");
    }
    if let Some(g) = st.codes.get_mut(get("code")) {
        g.used = true;
    }
    let (user_id, user_email) = grant
        .user
        .clone()
        .unwrap_or((24654, "merchant@example.com".into()));
    let (owner_id, owner_email) = st
        .owner
        .clone()
        .unwrap_or((12345, "owner@example.com".into()));
    let body = serde_json::json!({
        "access_token": grant.access_token.as_ref().unwrap_or(&st.access_token),
        "scope": grant.scope,
        "user": {"id": user_id, "username": "merchant", "email": user_email},
        "owner": {"id": owner_id, "username": "owner", "email": owner_email},
        "context": format!("stores/{}", st.token_store.as_ref().unwrap_or(&grant.store_hash)),
        "account_uuid": "5e1a8d7c-0000-4000-8000-000000000001",
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string())
}

/// The app set up as a single-click BigCommerce app (`client_id`, `client_secret`) whose
/// token endpoint is a [`FakeLogin`] for `store`, issuing `token` and owned by `owner`.
pub struct AppWithBcLogin {
    pub app: super::TestApp,
    pub login: FakeLogin,
    /// The app's auth callback, which the token request must name as `redirect_uri`.
    pub redirect_uri: String,
    pub client_id: String,
}

impl AppWithBcLogin {
    /// A code as BigCommerce issues it when `user` installs the app on `store`.
    pub fn issue_code(
        &self,
        store: &str,
        user: (i64, &str),
        scope: &str,
        token: &str,
    ) -> IssuedCode {
        self.login.issue_code(
            &self.client_id,
            &self.redirect_uri,
            store,
            user,
            scope,
            token,
        )
    }
}

/// Starts the fake login server and an app pointed at it with the app credentials set;
/// `public_url`, if given, is the app's public URL.
pub async fn spawn_with_bc_app(
    (client_id, client_secret): (&str, &str),
    (store, token, owner): (&str, &str, (i64, &str)),
    public_url: Option<&str>,
) -> AppWithBcLogin {
    let login = FakeLogin::start(store, token).await;
    login.add_app(client_id, client_secret);
    login.set_owner(owner);
    let login_url = login.url();
    let public = public_url.map(str::to_owned);
    let (id, client_secret) = (client_id.to_owned(), client_secret.to_owned());
    let app = super::spawn_app_with(|s| {
        s.bigcommerce_login_url = login_url.parse().expect("url");
        if let Some(url) = public {
            s.public_url = Some(url.parse().expect("url"));
        }
        s.bc_app = Some(cartbridge::config::BcApp {
            client_id: id,
            client_secret: cartbridge::domain::Secret::new(client_secret),
        });
    })
    .await;
    let redirect_uri = format!(
        "{}/bigcommerce/auth",
        app.ctx.public_url.as_str().trim_end_matches('/')
    );
    AppWithBcLogin {
        app,
        login,
        redirect_uri,
        client_id: client_id.to_owned(),
    }
}
