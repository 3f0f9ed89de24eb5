//! Regression tests for issue 15, "Security hardening": one module per finding of the
//! penetration test, each run against SQLite and PostgreSQL like the rest of the suite.

mod bc_identity;
mod fields;
mod fuzz;
mod limits;
mod redirects;
mod roles_csrf_framing;

use std::net::{IpAddr, Ipv4Addr};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{
    Client, Page, TestApp,
    fake_login::{AppWithBcLogin, FakeLogin, IssuedCode, spawn_with_bc_app},
    never_shown,
};

pub const CLIENT_ID: &str = "hardening-app-id";
pub const CLIENT_SECRET: &str = "hardening-app-secret-3f8e1d";
pub const STORE: &str = "h4rd3n";
pub const OWNER: (i64, &str) = (5001, "store-owner@shop.example");
pub const TOKEN: &str = "hardening-app-token-sentinel-aa11";
pub const SCOPE: &str = "store_v2_orders store_v2_products_read_only";

/// The app with BigCommerce app credentials and a fake token endpoint.
pub struct BcTestApp {
    pub app: TestApp,
    pub login: FakeLogin,
    pub redirect_uri: String,
}

impl BcTestApp {
    pub async fn spawn() -> Self {
        for secret in [CLIENT_SECRET, TOKEN] {
            never_shown(secret);
        }
        let AppWithBcLogin {
            app,
            login,
            redirect_uri,
            ..
        } = spawn_with_bc_app((CLIENT_ID, CLIENT_SECRET), (STORE, TOKEN, OWNER), None).await;
        Self {
            app,
            login,
            redirect_uri,
        }
    }

    pub fn code(&self, user: (i64, &str)) -> IssuedCode {
        self.login
            .issue_code(CLIENT_ID, &self.redirect_uri, STORE, user, SCOPE, TOKEN)
    }

    /// `/bigcommerce/auth` with a code BigCommerce issued to `user`.
    pub async fn install(&self, client: &Client, user: (i64, &str)) -> Page {
        let code = self.code(user);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code.code)
            .append_pair("context", &code.context)
            .append_pair("scope", &code.scope)
            .finish();
        client.get(&format!("/bigcommerce/auth?{query}")).await
    }

    /// `/bigcommerce/{name}` with a valid signed payload for `user`.
    pub async fn callback(&self, client: &Client, name: &str, user: (i64, &str)) -> Page {
        let jwt: String = url::form_urlencoded::byte_serialize(signed(user).as_bytes()).collect();
        client
            .get(&format!("/bigcommerce/{name}?signed_payload_jwt={jwt}"))
            .await
    }

    /// The store's tenant (after an install).
    pub async fn store_tenant(&self) -> i64 {
        self.app
            .scalar_i64("SELECT tenant_id FROM connections WHERE installed_by_app")
            .await
    }
}

/// A valid `signed_payload_jwt` for `user` of `STORE`.
pub fn signed(user: (i64, &str)) -> String {
    let iat = chrono::Utc::now().timestamp() - 5;
    let claims: Value = json!({
        "aud": CLIENT_ID, "iss": "bc", "iat": iat, "nbf": iat, "exp": iat + 86_400,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": format!("stores/{STORE}"),
        "user": {"id": user.0, "email": user.1},
        "owner": {"id": OWNER.0, "email": OWNER.1},
        "url": "/",
    });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// A client connecting from 127.0.0.`n`.
pub fn client_from(app: &TestApp, n: u8) -> Client {
    Client::from_address(&app.base, IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
}

/// Signs up `email` without confirming it: an unverified account.
pub async fn signup_unverified(app: &TestApp, email: &str, company: &str) {
    app.signup(&app.client(), email, company).await;
}

/// Logs `email` in with the suite's password from `client`.
pub async fn login(client: &Client, email: &str, password: &str) -> Page {
    client
        .submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar_i64(sql).await
}
