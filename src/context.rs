//! `AppContext`: what request handlers and services share — the database, the mailer and
//! the public base URL. Built once by `startup`.

use url::Url;

use crate::{
    accounts::passwords::Hasher,
    bigcommerce::BigCommerce,
    config::{BcApp, JobSettings, WebhookSettings},
    db::Db,
    domain::Secret,
    flows::Registry,
    jobs::Handlers,
    mailer::Mailer,
    vault::Vault,
};

pub struct AppContext {
    pub db: Db,
    pub mailer: Mailer,
    /// Seals and opens every secret stored in the database.
    pub vault: Vault,
    /// The BigCommerce API (base URL from configuration).
    pub bigcommerce: BigCommerce,
    /// BigCommerce's OAuth server (`CARTBRIDGE_BIGCOMMERCE_LOGIN_URL`).
    pub bigcommerce_login_url: Url,
    /// cartbridge's own single-click BigCommerce app, if configured.
    pub bc_app: Option<BcApp>,
    /// Base of every absolute link we hand out (emails, redirect URLs).
    pub public_url: Url,
    /// How jobs are queued and run (attempts, leases, backoff).
    pub jobs: JobSettings,
    /// The flows this build offers: the one list pages, Create & Test and jobs read.
    pub flows: Registry,
    /// What runs each kind of job (every flow's, and other kinds).
    pub handlers: Handlers,
    /// The process-wide bound on concurrent password hashes.
    pub hasher: Hasher,
    /// Outbound webhooks: SSRF guard switch and retry schedule.
    pub webhooks: WebhookSettings,
    /// The HTTP client outbound webhooks are sent with (10 s timeout, no redirects, no
    /// proxy, a resolver that refuses private addresses unless allowed).
    pub webhook_http: reqwest::Client,
    /// The time merchant alerts are throttled by (tests move it forward).
    pub clock: crate::alerts::Clock,
    /// `CARTBRIDGE_TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::web::trusted_proxy::TrustedProxies,
    /// Inbound BigCommerce webhooks: the connection cache and the inbox's batch writer.
    pub inbound: crate::inbound::Receiver,
}

impl AppContext {
    /// An absolute link to `path` carrying a one-time `token` in the query string.
    pub fn link(&self, path: &str, token: &Secret) -> String {
        let mut url = self
            .public_url
            .join(path)
            .unwrap_or_else(|_| self.public_url.clone());
        url.query_pairs_mut().append_pair("token", token.expose());
        url.to_string()
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}
