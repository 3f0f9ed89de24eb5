//! `spawn_app()` → `TestApp`, and `Client`: a cookie-keeping HTTP client that behaves like a
//! browser (no automatic redirects, so tests can assert on them).

pub mod bc_webhooks;
pub mod browser;
pub mod fake_bigcommerce;
pub mod fake_login;
pub mod fixtures;
pub mod inventory;
pub mod logs;
pub mod partner;
pub mod process;
pub mod purchase_orders;
pub mod shipments;
pub mod smtp;

use std::{collections::BTreeMap, path::PathBuf};

use actix_web::web::Data;
use cartbridge::{config::Settings, context::AppContext, db::Db, startup::Application};
use sqlx::Connection;

/// A running app with its own data folder and database.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub data_dir: tempfile::TempDir,
    /// The running app's context (its vault, for tests that open sealed values).
    pub ctx: Data<AppContext>,
    /// The URL of the app's database, for running the binary against it.
    pub database_url: String,
}

/// Settings pointing everything at a temp folder and a fresh database.
pub async fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_LISTEN", "127.0.0.1:0".into());
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir.display().to_string());
    raw.insert(
        "CARTBRIDGE_DATABASE_URL",
        fresh_database_url(data_dir).await,
    );
    let mut settings = Settings::from_values(&raw).expect("test settings are valid");
    settings.http_workers = Some(1);
    settings
}

/// A new SQLite file in `dir`, or a new database on the test PostgreSQL server.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("CARTBRIDGE_TEST_POSTGRES_URL") {
        Ok(admin_url) => {
            let name = format!("cbt_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to CARTBRIDGE_TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let (base, _) = admin_url.rsplit_once('/').expect("URL has a database name");
            format!("{base}/{name}")
        }
        Err(_) => format!("sqlite://{}", dir.join("cartbridge.db").display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Whether the suite runs on PostgreSQL (`CARTBRIDGE_TEST_POSTGRES_URL` is set).
pub fn on_postgres() -> bool {
    std::env::var("CARTBRIDGE_TEST_POSTGRES_URL").is_ok()
}

/// Spawns the app after `adjust` has changed the test settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_flows(cartbridge::flows::Registry::standard(), adjust).await
}

/// Spawns the app offering the flows of `flows` (a test's own flows beside the real ones).
pub async fn spawn_app_with_flows(
    flows: cartbridge::flows::Registry,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    logs::init();
    never_shown(PASSWORD);
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path()).await;
    adjust(&mut settings);
    let database_url = settings.database_url.expose().to_owned();
    let app = Application::build_with(settings, flows)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.address());
    let ctx = app.context();
    let db = ctx.db.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        db,
        data_dir,
        ctx,
        database_url,
    }
}

/// An email found in the outbox (or received over SMTP).
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl ReceivedEmail {
    /// Parses a raw RFC 5322 message as lettre writes it (headers, then a multipart body).
    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let header = |name: &str| {
            raw.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        Self {
            to: header("To"),
            subject: header("Subject"),
            body: decode_quoted_printable(&raw),
        }
    }

    /// The first link in the body that starts with `prefix` (e.g. `http://…/verify-email`).
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.body.find(prefix)?;
        let rest = &self.body[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

/// Undoes quoted-printable soft breaks and escapes, should lettre have chosen that encoding.
fn decode_quoted_printable(text: &str) -> String {
    if !text.contains("quoted-printable") {
        return text.to_owned();
    }
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = joined
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Tables whose full content `snapshot` compares. Bookkeeping that any request may touch is
/// left out: sessions, login failures, and used BigCommerce payload ids (`jti`).
const SNAPSHOT_TABLES: &[(&str, &str)] = &[
    ("tenants", "id, name, created_at, time_zone"),
    (
        "users",
        "id, email, password_hash, email_verified_at, is_staff, created_at, name, time_zone",
    ),
    ("memberships", "tenant_id, user_id, role"),
    (
        "invitations",
        "id, tenant_id, email, role, token_hash, expires_at, accepted_at, revoked_at",
    ),
    (
        "user_tokens",
        "id, user_id, purpose, token_hash, expires_at, used_at",
    ),
    ("audit_log", "id, tenant_id, actor_user_id, action, detail"),
    ("vault_keys", "id, wrapped_ct"),
    (
        "oauth_clients",
        "id, tenant_id, name, client_id, client_secret_ct, updated_at",
    ),
    (
        "connections",
        "id, tenant_id, name, auth_type, store_hash, oauth_client_id, api_client_id, access_token_ct, \
         scopes, status, last_tested_at, last_error, store_name, capabilities, updated_at, \
         installed_by_app, account_uuid",
    ),
    (
        "bigcommerce_app_users",
        "tenant_id, store_hash, bc_user_id, user_id",
    ),
    // Partner API. `api_keys.last_used_at` is bookkeeping (like sessions) and left out.
    (
        "api_keys",
        "id, tenant_id, name, prefix, key_hash, access, created_by, created_at, revoked_at",
    ),
    (
        "api_key_connections",
        "api_key_id, tenant_id, connection_id",
    ),
    (
        "webhook_endpoints",
        "id, tenant_id, url, description, event_types, secret_ct, status, disabled_reason, updated_at",
    ),
    (
        "webhook_events",
        "id, tenant_id, event_type, message_id, dedupe_key, payload",
    ),
    (
        "webhook_deliveries",
        "id, tenant_id, endpoint_id, event_id, status, attempts, round_base, next_attempt_at",
    ),
    ("webhook_attempts", "id, delivery_id, attempt, status_code"),
];

impl TestApp {
    /// Signs `email` up through the form with `client` (the email is not confirmed).
    pub async fn signup(&self, client: &Client, email: &str, company: &str) {
        let res = client
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("company", company),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "signup failed: {}", res.body);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new browser-like client with an empty cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.path().join("outbox")
    }

    /// Waits (polling, generous timeout) until no email job is running or due: email goes
    /// through the job queue, so a request's email is sent by a worker shortly after it.
    /// With no workers (`jobs.workers = 0`), runs the due email jobs here instead (and
    /// only those: a test's other jobs stay queued for it to run).
    pub async fn email_jobs_settled(&self) {
        if self.ctx.jobs.workers == 0 {
            self.send_queued_email_here().await;
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = cartbridge::db::now();
            let pending = self
                .scalar_i64(&format!(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'email' AND (status = 'running' \
                     OR (status = 'queued' AND run_at <= {now}))"
                ))
                .await;
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} email jobs still pending after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn send_queued_email_here(&self) {
        loop {
            let now = cartbridge::db::now();
            let id = self
                .scalar_i64(&format!(
                    "SELECT COALESCE(MIN(id), 0) FROM jobs WHERE kind = 'email' \
                     AND status = 'queued' AND run_at <= {now}"
                ))
                .await;
            if id == 0 {
                return;
            }
            let tenant_id = self
                .scalar_i64(&format!("SELECT tenant_id FROM jobs WHERE id = {id}"))
                .await;
            let row = cartbridge::db::jobs::find_for_tenant(&self.db, tenant_id, id)
                .await
                .expect("read the email job")
                .expect("the email job");
            let job = cartbridge::jobs::Job {
                id,
                tenant_id,
                connection_id: row.connection_id,
                kind: row.kind,
                payload: row.payload,
                attempts: row.attempts + 1,
                max_attempts: row.max_attempts,
            };
            let status = match self.ctx.handlers.execute(&self.ctx, &job).await {
                Ok(()) => "done",
                Err(_) => "dead",
            };
            self.execute(&format!(
                "UPDATE jobs SET status = '{status}', attempts = attempts + 1 WHERE id = {id}"
            ))
            .await;
        }
    }

    /// Every email written to the outbox for `to`, oldest first (once queued email is sent).
    pub async fn emails_to(&self, to: &str) -> Vec<ReceivedEmail> {
        self.email_jobs_settled().await;
        let mut files: Vec<_> = std::fs::read_dir(self.outbox_dir())
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| ReceivedEmail::parse(&raw))
            .filter(|e| e.to.contains(to))
            .collect()
    }

    /// The newest link to `path` emailed to `to`.
    pub async fn last_link(&self, to: &str, path: &str) -> String {
        let prefix = self.url(path);
        self.emails_to(to)
            .await
            .iter()
            .rev()
            .find_map(|e| e.link(&prefix))
            .unwrap_or_else(|| panic!("no email to {to} with a link to {path}"))
    }

    /// Every row of the account tables and of every table with a `tenant_id` column (found
    /// in the schema, so a new table is covered without anyone listing it), as text:
    /// compare before and after to prove that a request changed nothing.
    pub async fn snapshot(&self) -> BTreeMap<String, Vec<String>> {
        // A queued email finishing mid-comparison would show as a change.
        self.email_jobs_settled().await;
        let mut out: BTreeMap<String, Vec<String>> = self
            .snapshot_of(SNAPSHOT_TABLES)
            .await
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        for table in self.tenant_tables().await {
            if out.contains_key(&table) {
                continue;
            }
            let columns = self.columns_of(&table).await;
            let rows = self.rows_as_text(&table, &columns).await;
            out.insert(table, rows);
        }
        // Sign-in entries of the audit log are bookkeeping like login failures: any login
        // attempt writes them.
        if let Some(rows) = out.get_mut("audit_log") {
            rows.retain(|r| !r.split('|').nth(3).is_some_and(|a| a.starts_with("login")));
        }
        out
    }

    /// The tables that have a `tenant_id` column.
    pub async fn tenant_tables(&self) -> Vec<String> {
        let sql = match self.db {
            Db::Sqlite(_) => {
                "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY 1"
            }
            Db::Postgres(_) => {
                "SELECT table_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1"
            }
        };
        match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar::<_, String>(sql).fetch_all(p).await,
            Db::Postgres(p) => sqlx::query_scalar::<_, String>(sql).fetch_all(p).await,
        }
        .expect("list tenant tables")
    }

    /// A table's columns and whether each holds bytes.
    async fn columns_of(&self, table: &str) -> Vec<(String, bool)> {
        let rows: Vec<(String, String)> = match &self.db {
            Db::Sqlite(p) => {
                sqlx::query_as(&format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                ))
                .fetch_all(p)
                .await
            }
            Db::Postgres(p) => {
                sqlx::query_as(
                    "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(p)
                .await
            }
        }
        .expect("list columns");
        rows.into_iter()
            .map(|(name, ty)| {
                let ty = ty.to_ascii_lowercase();
                (name, ty == "blob" || ty == "bytea")
            })
            .collect()
    }

    async fn rows_as_text(&self, table: &str, columns: &[(String, bool)]) -> Vec<String> {
        let postgres = matches!(self.db, Db::Postgres(_));
        let row = columns
            .iter()
            .map(|(c, bytes)| match (bytes, postgres) {
                (true, true) => format!("COALESCE(encode({c}, 'hex'), '-')"),
                (true, false) => format!("COALESCE(hex({c}), '-')"),
                (false, _) => format!("COALESCE(CAST({c} AS TEXT), '-')"),
            })
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {row} FROM {table} ORDER BY 1");
        match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar::<_, String>(&sql).fetch_all(p).await,
            Db::Postgres(p) => sqlx::query_scalar::<_, String>(&sql).fetch_all(p).await,
        }
        .expect("snapshot query")
    }

    /// Runs every job that is due now, one after another in this task (as a worker would,
    /// without waiting for one to poll), until none is left; returns how many ran.
    pub async fn run_due_jobs(&self) -> usize {
        let mut ran = 0;
        while let Some(job) = cartbridge::db::jobs::claim(&self.db, "test-runner", 300)
            .await
            .expect("claim a job")
        {
            let done = match self.ctx.handlers.execute(&self.ctx, &job).await {
                Ok(()) => cartbridge::db::jobs::complete(&self.db, job.id, "test-runner").await,
                Err(e) => {
                    cartbridge::db::jobs::bury(&self.db, job.id, "test-runner", &e.to_string())
                        .await
                }
            };
            assert!(
                done.expect("settle the job"),
                "the job was taken from the runner"
            );
            ran += 1;
        }
        ran
    }

    /// Every row of `tables` (name, columns), as text; `*_ct` columns compared as hex.
    pub async fn snapshot_of(
        &self,
        tables: &[(&'static str, &str)],
    ) -> BTreeMap<&'static str, Vec<String>> {
        let mut out = BTreeMap::new();
        for (table, columns) in tables {
            let postgres = matches!(self.db, Db::Postgres(_));
            let row = columns
                .split(',')
                .map(str::trim)
                .map(|c| match c.strip_suffix("_ct") {
                    // Ciphertext (BLOB / BYTEA) compared as hex; `wrapped_ct` is `wrapped`.
                    Some(_) => {
                        let col = if c == "wrapped_ct" { "wrapped" } else { c };
                        if postgres {
                            format!("COALESCE(encode({col}, 'hex'), '-')")
                        } else {
                            format!("COALESCE(hex({col}), '-')")
                        }
                    }
                    None => format!("COALESCE(CAST({c} AS TEXT), '-')"),
                })
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!("SELECT {row} FROM {table} ORDER BY 1");
            let rows = match &self.db {
                Db::Sqlite(p) => sqlx::query_scalar::<_, String>(&sql).fetch_all(p).await,
                Db::Postgres(p) => sqlx::query_scalar::<_, String>(&sql).fetch_all(p).await,
            }
            .expect("snapshot query");
            out.insert(*table, rows);
        }
        out
    }

    /// Runs a scalar query (tests only; SQL written by the test).
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await,
            Db::Postgres(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await,
        }
        .expect("scalar query")
    }

    /// Runs a query returning one bytes value, `None` for no row or NULL (tests only).
    pub async fn bytes(&self, sql: &str) -> Option<Vec<u8>> {
        match &self.db {
            Db::Sqlite(p) => {
                sqlx::query_scalar::<_, Option<Vec<u8>>>(sql)
                    .fetch_optional(p)
                    .await
            }
            Db::Postgres(p) => {
                sqlx::query_scalar::<_, Option<Vec<u8>>>(sql)
                    .fetch_optional(p)
                    .await
            }
        }
        .expect("bytes query")
        .flatten()
    }

    pub async fn execute(&self, sql: &str) {
        match &self.db {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .expect("statement");
    }

    /// Signs up, confirms the email from the outbox and logs in. Returns the logged-in
    /// client and the new tenant's id.
    pub async fn signup_and_login(&self, email: &str, company: &str) -> (Client, i64) {
        let client = self.client();
        self.signup(&client, email, company).await;
        self.confirm_email(&client, email).await;
        let res = client
            .submit(
                "/login",
                "/login",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status, 303, "login failed: {}", res.body);
        let tenant_id = self
            .scalar_i64(&format!(
                "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = '{email}' ORDER BY m.tenant_id LIMIT 1"
            ))
            .await;
        (client, tenant_id)
    }

    /// Opens the newest verification link sent to `email` and confirms it.
    pub async fn confirm_email(&self, client: &Client, email: &str) {
        let link = self.last_link(email, "/verify-email").await;
        let path = link
            .strip_prefix(&self.base)
            .expect("link to this app")
            .to_owned();
        let page = client.get(&path).await;
        assert_eq!(page.status, 200, "verification page: {}", page.body);
        let token = page.hidden_input("token").expect("token field");
        let res = client
            .submit(&path, "/verify-email", &[("token", &token)])
            .await;
        assert_eq!(res.status, 303, "verification failed: {}", res.body);
    }
}

/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// Secrets used by tests. `Client` checks every response body it reads against all of
/// them (from every test running in this binary) and fails on any match.
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Registers `secret`: no response body may ever contain it.
pub fn never_shown(secret: &str) {
    let mut all = SECRETS.lock().expect("lock");
    if !all.iter().any(|s| s == secret) {
        all.push(secret.to_owned());
    }
}

/// Fails if `body` (read from `url`) contains any registered secret.
pub fn assert_shows_no_secret(body: &str, url: &str) {
    for secret in SECRETS.lock().expect("lock").iter() {
        assert!(
            !body.contains(secret.as_str()),
            "the response to {url} shows a secret"
        );
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of `<input … name="NAME" value="…">` (or the csrf meta tag for `csrf_token`).
    pub fn hidden_input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn csrf(&self) -> Option<String> {
        let marker = "<meta name=\"csrf-token\" content=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn assert_redirect_to(&self, path: &str) {
        assert_eq!(
            self.status, 303,
            "expected a redirect to {path}, got: {}",
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(path));
    }
}

/// A browser-like HTTP client: keeps cookies, never follows redirects by itself.
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            http,
        }
    }

    /// A client whose connections come from `local` (any 127.x address reaches the app), to
    /// act as another client address.
    pub fn from_address(base: &str, local: std::net::IpAddr) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local)
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            http,
        }
    }

    /// The underlying HTTP client (same cookie jar), for requests `Client` has no helper for.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request built on `http()` and reads the answer like every other request.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        Self::read(request.send().await.expect("request")).await
    }

    /// An absolute URL for `path` on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn read(res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let url = res.url().to_string();
        let body = res.text().await.expect("body");
        for secret in SECRETS.lock().expect("lock").iter() {
            assert!(
                !body.contains(secret.as_str()),
                "the response to {url} shows a secret"
            );
        }
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// POSTs a form as is (the caller supplies any CSRF token).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST");
        Self::read(res).await
    }

    /// Like a person: loads `page` (for its CSRF token), then submits the form to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.follow(page).await.csrf().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// GETs `path`, following up to five redirects like a browser.
    pub async fn follow(&self, path: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..5 {
            match (page.status, page.location.clone()) {
                (301..=308, Some(next)) => page = self.get(&next).await,
                _ => break,
            }
        }
        page
    }

    /// This session's CSRF token, read from a page.
    pub async fn csrf(&self) -> String {
        self.follow("/").await.csrf().unwrap_or_default()
    }
}

/// The tenant-isolation sweep: requests every tenant-scoped route of the app
/// (`cartbridge::web::TENANT_ROUTES`) for `victim_tenant`, as `outsider` (a user of another
/// tenant), and expects 404 with the database unchanged. `ids` gives real ids of the
/// victim's records for the other path parameters (e.g. `("invitation_id", "3")`).
pub async fn assert_tenant_isolation(
    app: &TestApp,
    outsider: &Client,
    victim_tenant: i64,
    ids: &[(&str, String)],
) {
    let csrf = outsider.csrf().await;
    for (method, route) in cartbridge::web::TENANT_ROUTES {
        let mut path = format!("/t/{victim_tenant}{route}");
        while let Some(start) = path.find('{') {
            let end = path[start..].find('}').expect("closing brace") + start;
            let param = &path[start + 1..end];
            let value = ids
                .iter()
                .find(|(name, _)| *name == param)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    panic!("the isolation sweep needs an id for {{{param}}} in {route}")
                });
            path.replace_range(start..=end, &value);
        }
        let before = app.snapshot().await;
        let page = match *method {
            "get" => outsider.get(&path).await,
            "post" => {
                outsider
                    .post(
                        &path,
                        &[
                            ("csrf_token", &csrf),
                            ("email", "intruder@example.com"),
                            ("role", "owner"),
                        ],
                    )
                    .await
            }
            other => panic!("the sweep does not know method {other}"),
        };
        assert_eq!(
            page.status, 404,
            "{method} {path} as another tenant's user: expected 404, got {}",
            page.status
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "{method} {path} changed the database"
        );
    }
}
