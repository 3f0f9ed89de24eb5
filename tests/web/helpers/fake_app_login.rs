//! A fake of BigCommerce's token endpoint for the single-click app (`POST /oauth2/token`,
//! JSON body as documented in REFERENCE §3.1). The test issues codes for a store and an
//! installing user; each code works once, with the app's id and secret and the exact
//! redirect URI, context and scope. Every request body is recorded.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use serde_json::{Value, json};

struct Grant {
    store_hash: String,
    scope: String,
    access_token: String,
    user: (i64, String),
    used: bool,
}

#[derive(Default)]
struct State {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    owner: (i64, String),
    codes: HashMap<String, Grant>,
    requests: Vec<Value>,
}

/// The fake token endpoint. Dropping it stops the server.
pub struct FakeAppLogin {
    base_url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A code issued for a store, as BigCommerce would put it in the `/auth` query.
pub struct IssuedCode {
    pub code: String,
    pub scope: String,
    pub context: String,
}

impl FakeAppLogin {
    /// Binds 127.0.0.1:0. The app is `client_id`/`client_secret`; the store owner is `owner`.
    pub async fn start(client_id: &str, client_secret: &str, owner: (i64, &str)) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fake app login: bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            owner: (owner.0, owner.1.to_owned()),
            ..State::default()
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/oauth2/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("fake app login: listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            handle,
        }
    }

    pub fn url(&self) -> String {
        self.base_url.clone()
    }

    /// The redirect URI the app profile registers (`<public URL>/bigcommerce/auth`).
    pub fn set_redirect_uri(&self, uri: &str) {
        lock(&self.state).redirect_uri = uri.to_owned();
    }

    /// Issues a one-time code: installing `store_hash` by `user`, granting `scope`, which
    /// exchanges for `access_token`.
    pub fn issue_code(
        &self,
        store_hash: &str,
        user: (i64, &str),
        scope: &str,
        access_token: &str,
    ) -> IssuedCode {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        lock(&self.state).codes.insert(
            code.clone(),
            Grant {
                store_hash: store_hash.to_owned(),
                scope: scope.to_owned(),
                access_token: access_token.to_owned(),
                user: (user.0, user.1.to_owned()),
                used: false,
            },
        );
        IssuedCode {
            code,
            scope: scope.to_owned(),
            context: format!("stores/{store_hash}"),
        }
    }

    /// Every JSON body sent to the token endpoint, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for FakeAppLogin {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn refuse(status: u16, error: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .json(json!({ "error": error }))
}

async fn token(body: web::Json<Value>, state: web::Data<Mutex<State>>) -> HttpResponse {
    let body = body.into_inner();
    let mut st = lock(&state);
    st.requests.push(body.clone());
    let get = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    if get("client_id") != st.client_id || get("client_secret") != st.client_secret {
        return refuse(401, "invalid_client");
    }
    if get("grant_type") != "authorization_code" || get("redirect_uri") != st.redirect_uri {
        return refuse(400, "invalid_request");
    }
    let owner = st.owner.clone();
    let Some(grant) = st.codes.get_mut(&get("code")) else {
        return refuse(400, "invalid_grant");
    };
    if grant.used
        || get("context") != format!("stores/{}", grant.store_hash)
        || get("scope") != grant.scope
    {
        return refuse(400, "invalid_grant");
    }
    grant.used = true;
    HttpResponse::Ok().json(json!({
        "access_token": grant.access_token,
        "scope": grant.scope,
        "user": {"id": grant.user.0, "username": "installer", "email": grant.user.1},
        "owner": {"id": owner.0, "username": "owner", "email": owner.1},
        "context": format!("stores/{}", grant.store_hash),
        "account_uuid": "7d3a0c2e-0000-4000-8000-00000000a001",
    }))
}
