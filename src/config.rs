//! Settings: read once at startup from `CARTBRIDGE_*` environment variables and an optional
//! TOML file, parsed into typed values. A bad value stops startup with one line naming the
//! variable. Nothing here is global: callers pass on what each component needs.

use std::time::Duration;
use std::{collections::BTreeMap, fmt, net::SocketAddr, path::PathBuf};

use url::Url;

use crate::domain::Secret;

/// Every variable cartbridge reads, with its TOML key (the name without prefix, lower-cased).
pub const VARIABLES: &[&str] = &[
    "CARTBRIDGE_LISTEN",
    "CARTBRIDGE_DATA_DIR",
    "CARTBRIDGE_DATABASE_URL",
    "CARTBRIDGE_PUBLIC_URL",
    "CARTBRIDGE_MASTER_KEY",
    "CARTBRIDGE_SMTP_URL",
    "CARTBRIDGE_MAIL_FROM",
    "CARTBRIDGE_BIGCOMMERCE_API_URL",
    "CARTBRIDGE_BIGCOMMERCE_LOGIN_URL",
    "CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS",
    "CARTBRIDGE_BC_APP_CLIENT_ID",
    "CARTBRIDGE_BC_APP_CLIENT_SECRET",
    "CARTBRIDGE_BIGCOMMERCE_RETRY_BASE_MS",
    "CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT",
    "CARTBRIDGE_WORKERS",
    "CARTBRIDGE_JOB_LEASE_SECS",
    "CARTBRIDGE_JOB_POLL_MS",
    "CARTBRIDGE_JOB_RETRY_BASE_SECS",
    "CARTBRIDGE_JOB_MAX_ATTEMPTS",
    "CARTBRIDGE_SCHEDULER_TICK_SECS",
    "CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE",
    "CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS",
    "CARTBRIDGE_TRUSTED_PROXIES",
];

/// Typed settings. Secrets (master key, SMTP and database URLs, which may carry passwords)
/// are held in types that do not print.
#[derive(Debug)]
pub struct Settings {
    /// `CARTBRIDGE_LISTEN`, default `127.0.0.1:8080`. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// `CARTBRIDGE_DATA_DIR`, default `./data`: SQLite file, master key, email outbox.
    pub data_dir: PathBuf,
    /// `CARTBRIDGE_DATABASE_URL`, default `sqlite://<data dir>/cartbridge.db`;
    /// `postgres://…` selects PostgreSQL.
    pub database_url: DatabaseUrl,
    /// `CARTBRIDGE_PUBLIC_URL`, default `http://<listen>`: the base of every link we send out.
    /// `None` means "derive it from the address actually bound".
    pub public_url: Option<Url>,
    /// `CARTBRIDGE_MASTER_KEY` (base64, 32 bytes); default: `<data dir>/master.key`, created
    /// with mode 0600 on first start.
    pub master_key: Option<Secret>,
    /// `CARTBRIDGE_SMTP_URL` (e.g. `smtps://user:pass@smtp.example.com`); unset: emails are
    /// written as `.eml` files to `<data dir>/outbox/`.
    pub smtp_url: Option<Secret>,
    /// `CARTBRIDGE_TRUSTED_PROXIES`: CIDR blocks whose `X-Forwarded-For` is believed for
    /// the per-address limits (unset: none; the peer address is the client).
    pub trusted_proxies: crate::web::trusted_proxy::TrustedProxies,
    /// `CARTBRIDGE_MAIL_FROM`, default `cartbridge <no-reply@HOST of the public URL>`.
    pub mail_from: Option<String>,
    /// `CARTBRIDGE_BIGCOMMERCE_API_URL`, default `https://api.bigcommerce.com`.
    pub bigcommerce_api_url: Url,
    /// `CARTBRIDGE_BIGCOMMERCE_LOGIN_URL`, default `https://login.bigcommerce.com`.
    pub bigcommerce_login_url: Url,
    /// `CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS`, default 20: how long to wait for BigCommerce.
    pub bigcommerce_timeout: std::time::Duration,
    /// `CARTBRIDGE_BC_APP_CLIENT_ID` and `CARTBRIDGE_BC_APP_CLIENT_SECRET` (both or neither):
    /// the platform's own single-click BigCommerce app. Unset: the `/bigcommerce/…` app
    /// callbacks answer 404.
    pub bc_app: Option<BcApp>,
    /// HTTP worker threads (default: one per core).
    pub http_workers: Option<usize>,
    /// `CARTBRIDGE_BIGCOMMERCE_RETRY_BASE_MS`, default 1000: the first pause before retrying
    /// a BigCommerce request that failed with a 5xx or a timeout (doubling each time).
    pub bigcommerce_retry_base: Duration,
    /// `CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT`, default 8 (1 to 64): requests this process
    /// keeps in flight to one store at most (a sync fetches that many pages at once, if the
    /// store's rate-limit budget allows).
    pub bigcommerce_max_in_flight: usize,
    /// How jobs run in this process.
    pub jobs: JobSettings,
    /// Outbound webhook delivery.
    pub webhooks: WebhookSettings,
}

/// Outbound webhook delivery knobs.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE`, default `false`: allow destinations on loopback,
    /// private, link-local and metadata addresses (and plain http to them), for self-hosters
    /// and tests.
    pub allow_private: bool,
    /// `CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS`, default `60,300,1800,7200,18000,36000,24000`:
    /// the waits between attempts (7 waits: 8 attempts over about 24 hours).
    pub retry_schedule: Vec<Duration>,
}

/// The default waits between delivery attempts: 1 min, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 6 h 40 min (24 h 16 min in all, 8 attempts).
pub const DEFAULT_WEBHOOK_RETRY_SCHEDULE: &[u64] = &[60, 300, 1800, 7200, 18_000, 36_000, 24_000];

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry_schedule: DEFAULT_WEBHOOK_RETRY_SCHEDULE
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        }
    }
}

fn parse_bool(var: &'static str, raw: Option<&str>) -> Result<bool, ConfigError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(v) => Err(ConfigError {
            var,
            message: format!("“{v}” is not true or false"),
        }),
    }
}

fn parse_schedule(var: &'static str, raw: Option<&str>) -> Result<Vec<Duration>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(WebhookSettings::default().retry_schedule);
    };
    let waits: Option<Vec<Duration>> = raw
        .split(',')
        .map(|s| s.trim().parse::<u64>().ok().filter(|n| *n <= 7 * 86_400))
        .map(|n| n.map(Duration::from_secs))
        .collect();
    waits
        .filter(|w| (1..=20).contains(&w.len()))
        .ok_or_else(|| ConfigError {
            var,
            message: format!(
                "“{raw}” is not a comma-separated list of 1 to 20 waits in seconds (each at most a week)"
            ),
        })
}

/// The job queue's knobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `CARTBRIDGE_WORKERS`, default 2: jobs this process runs at once (0: web only).
    pub workers: usize,
    /// `CARTBRIDGE_JOB_LEASE_SECS`, default 60: a claimed job is renewed within this time;
    /// if its process dies, another takes the job over once the lease has expired.
    pub lease: Duration,
    /// `CARTBRIDGE_JOB_POLL_MS`, default 1000: how often an idle worker looks for work.
    pub poll: Duration,
    /// `CARTBRIDGE_JOB_RETRY_BASE_SECS`, default 60: the first retry delay of a failed job
    /// (doubling per attempt, with jitter).
    pub retry_base: Duration,
    /// `CARTBRIDGE_JOB_MAX_ATTEMPTS`, default 5: attempts before a job is marked dead.
    pub max_attempts: u32,
    /// `CARTBRIDGE_SCHEDULER_TICK_SECS`, default 10: how often due flows are enqueued.
    pub scheduler_tick: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(1000),
            retry_base: Duration::from_secs(60),
            max_attempts: 5,
            scheduler_tick: Duration::from_secs(10),
        }
    }
}

/// A whole number in `range` for `var`, or `default` when unset.
fn number_in(
    var: &'static str,
    raw: Option<&str>,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
    default: u64,
) -> Result<u64, ConfigError> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError {
                var,
                message: format!(
                    "“{v}” is not a number of {unit} between {} and {}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

/// The credentials of cartbridge's own BigCommerce app (Developer Portal app profile).
#[derive(Debug, Clone)]
pub struct BcApp {
    pub client_id: String,
    /// Signs the `signed_payload_jwt` of the app callbacks (HS256); never printed.
    pub client_secret: Secret,
}

/// A configuration value that could not be used: names the variable, never echoes a secret.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// The database URL; may contain a password, so it has no `Display` and a redacting `Debug`.
#[derive(Clone)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let is_known = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| raw.starts_with(p));
        if !is_known {
            return Err("must start with sqlite: or postgres:// (the value is not shown because it may hold a password)".into());
        }
        Ok(Self(Secret::new(raw.to_owned())))
    }

    pub fn is_postgres(&self) -> bool {
        self.0.expose().starts_with("postgres")
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.0.expose().split(':').next().unwrap_or_default();
        write!(f, "DatabaseUrl({scheme}:..)")
    }
}

impl Settings {
    /// Reads the process environment and, if given, a TOML file (environment wins).
    pub fn load(config_file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let mut raw = match config_file {
            Some(path) => read_toml(path)?,
            None => BTreeMap::new(),
        };
        for var in VARIABLES {
            if let Ok(value) = std::env::var(var) {
                raw.insert(*var, value);
            }
        }
        Self::from_values(&raw)
    }

    /// Parses already-collected raw values (variable name → text).
    pub fn from_values(raw: &BTreeMap<&'static str, String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| raw.get(var).map(|v| v.trim()).filter(|v| !v.is_empty());
        let listen = match get("CARTBRIDGE_LISTEN") {
            Some(v) => v.parse().map_err(|_| ConfigError {
                var: "CARTBRIDGE_LISTEN",
                message: format!("“{v}” is not an address:port such as 127.0.0.1:8080"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = PathBuf::from(get("CARTBRIDGE_DATA_DIR").unwrap_or("./data"));
        let database_url = match get("CARTBRIDGE_DATABASE_URL") {
            Some(v) => DatabaseUrl::parse(v).map_err(|message| ConfigError {
                var: "CARTBRIDGE_DATABASE_URL",
                message,
            })?,
            None => DatabaseUrl(Secret::new(format!(
                "sqlite://{}",
                data_dir.join("cartbridge.db").display()
            ))),
        };
        let public_url = get("CARTBRIDGE_PUBLIC_URL")
            .map(|v| parse_http_url("CARTBRIDGE_PUBLIC_URL", v))
            .transpose()?;
        let master_key = get("CARTBRIDGE_MASTER_KEY").map(|v| Secret::new(v.to_owned()));
        if let Some(key) = &master_key {
            crate::vault::MasterKey::from_base64(key.expose()).map_err(|e| ConfigError {
                var: "CARTBRIDGE_MASTER_KEY",
                message: e.to_string(),
            })?;
        }
        let smtp_url = get("CARTBRIDGE_SMTP_URL").map(|v| Secret::new(v.to_owned()));
        if let Some(url) = &smtp_url {
            crate::mailer::check_smtp_url(url).map_err(|message| ConfigError {
                var: "CARTBRIDGE_SMTP_URL",
                message,
            })?;
        }
        let mail_from = get("CARTBRIDGE_MAIL_FROM").map(str::to_owned);
        let trusted_proxies = crate::web::trusted_proxy::TrustedProxies::parse(
            get("CARTBRIDGE_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|message| ConfigError {
            var: "CARTBRIDGE_TRUSTED_PROXIES",
            message,
        })?;
        if let Some(from) = &mail_from {
            from.parse::<lettre::message::Mailbox>()
                .map_err(|_| ConfigError {
                    var: "CARTBRIDGE_MAIL_FROM",
                    message: format!(
                        "“{from}” is not a mailbox such as cartbridge <no-reply@example.com>"
                    ),
                })?;
        }
        let bc_app = match (
            get("CARTBRIDGE_BC_APP_CLIENT_ID"),
            get("CARTBRIDGE_BC_APP_CLIENT_SECRET"),
        ) {
            (Some(id), Some(secret)) => Some(BcApp {
                client_id: id.to_owned(),
                client_secret: Secret::new(secret.to_owned()),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    var: "CARTBRIDGE_BC_APP_CLIENT_SECRET",
                    message: "is missing: set it together with CARTBRIDGE_BC_APP_CLIENT_ID".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    var: "CARTBRIDGE_BC_APP_CLIENT_ID",
                    message: "is missing: set it together with CARTBRIDGE_BC_APP_CLIENT_SECRET"
                        .into(),
                });
            }
        };
        let url_or =
            |var: &'static str, default: &str| parse_http_url(var, get(var).unwrap_or(default));
        Ok(Self {
            listen,
            data_dir,
            database_url,
            public_url,
            master_key,
            smtp_url,
            trusted_proxies,
            mail_from,
            bigcommerce_api_url: url_or(
                "CARTBRIDGE_BIGCOMMERCE_API_URL",
                "https://api.bigcommerce.com",
            )?,
            bigcommerce_login_url: url_or(
                "CARTBRIDGE_BIGCOMMERCE_LOGIN_URL",
                "https://login.bigcommerce.com",
            )?,
            bigcommerce_timeout: match get("CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS") {
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|s| (1..=300).contains(s))
                    .map(std::time::Duration::from_secs)
                    .ok_or_else(|| ConfigError {
                        var: "CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS",
                        message: format!("“{v}” is not a number of seconds between 1 and 300"),
                    })?,
                None => std::time::Duration::from_secs(20),
            },
            bc_app,
            http_workers: None,
            bigcommerce_retry_base: Duration::from_millis(number_in(
                "CARTBRIDGE_BIGCOMMERCE_RETRY_BASE_MS",
                get("CARTBRIDGE_BIGCOMMERCE_RETRY_BASE_MS"),
                1..=60_000,
                "milliseconds",
                1000,
            )?),
            bigcommerce_max_in_flight: number_in(
                "CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT",
                get("CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT"),
                1..=64,
                "requests",
                8,
            )? as usize,
            webhooks: WebhookSettings {
                allow_private: parse_bool(
                    "CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE",
                    get("CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE"),
                )?,
                retry_schedule: parse_schedule(
                    "CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS",
                    get("CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS"),
                )?,
            },
            jobs: JobSettings {
                workers: number_in(
                    "CARTBRIDGE_WORKERS",
                    get("CARTBRIDGE_WORKERS"),
                    0..=64,
                    "workers",
                    2,
                )? as usize,
                lease: Duration::from_secs(number_in(
                    "CARTBRIDGE_JOB_LEASE_SECS",
                    get("CARTBRIDGE_JOB_LEASE_SECS"),
                    2..=3600,
                    "seconds",
                    60,
                )?),
                poll: Duration::from_millis(number_in(
                    "CARTBRIDGE_JOB_POLL_MS",
                    get("CARTBRIDGE_JOB_POLL_MS"),
                    10..=60_000,
                    "milliseconds",
                    1000,
                )?),
                retry_base: Duration::from_secs(number_in(
                    "CARTBRIDGE_JOB_RETRY_BASE_SECS",
                    get("CARTBRIDGE_JOB_RETRY_BASE_SECS"),
                    0..=86_400,
                    "seconds",
                    60,
                )?),
                max_attempts: number_in(
                    "CARTBRIDGE_JOB_MAX_ATTEMPTS",
                    get("CARTBRIDGE_JOB_MAX_ATTEMPTS"),
                    1..=100,
                    "attempts",
                    5,
                )? as u32,
                scheduler_tick: Duration::from_secs(number_in(
                    "CARTBRIDGE_SCHEDULER_TICK_SECS",
                    get("CARTBRIDGE_SCHEDULER_TICK_SECS"),
                    1..=3600,
                    "seconds",
                    10,
                )?),
            },
        })
    }
}

fn parse_http_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError {
        var,
        message: format!("“{raw}” {why}"),
    };
    let url = Url::parse(raw).map_err(|_| bad("is not a URL such as https://example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("must be an http:// or https:// URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url)
}

fn read_toml(path: &std::path::Path) -> Result<BTreeMap<&'static str, String>, ConfigError> {
    const VAR: &str = "CARTBRIDGE_CONFIG";
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        var: VAR,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
        var: VAR,
        message: format!("{} is not valid TOML: {}", path.display(), e.message()),
    })?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let var = VARIABLES
            .iter()
            .find(|v| v["CARTBRIDGE_".len()..].eq_ignore_ascii_case(&key))
            .ok_or_else(|| ConfigError {
                var: VAR,
                message: format!("{}: unknown setting “{key}”", path.display()),
            })?;
        let text = match value {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        out.insert(*var, text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&'static str, &str)]) -> Result<Settings, ConfigError> {
        let raw = pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Settings::from_values(&raw)
    }

    /// `load` reads only the variables of `VARIABLES` (from the environment and the TOML
    /// file), so every one `from_values` parses must be listed there.
    #[test]
    fn every_variable_read_is_listed() {
        let source = include_str!("config.rs");
        let mut read = source
            .split("get(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|name| name.starts_with("CARTBRIDGE_"))
            .peekable();
        assert!(read.peek().is_some());
        for name in read {
            assert!(VARIABLES.contains(&name), "{name} is not in VARIABLES");
        }
    }

    #[test]
    fn defaults_run_out_of_the_box() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.expose(), "sqlite://./data/cartbridge.db");
        assert_eq!(
            s.bigcommerce_api_url.as_str(),
            "https://api.bigcommerce.com/"
        );
        assert!(s.smtp_url.is_none() && s.master_key.is_none() && s.public_url.is_none());
        assert!(s.bc_app.is_none());
    }

    #[test]
    fn bigcommerce_app_needs_both_id_and_secret() {
        let both = settings(&[
            ("CARTBRIDGE_BC_APP_CLIENT_ID", "app-id"),
            ("CARTBRIDGE_BC_APP_CLIENT_SECRET", "sentinel-app-secret"),
        ])
        .expect("both given");
        let app = both.bc_app.as_ref().expect("app configured");
        assert_eq!(app.client_id, "app-id");
        assert_eq!(app.client_secret.expose(), "sentinel-app-secret");
        assert!(!format!("{both:?}").contains("sentinel-app-secret"));
        let err = settings(&[("CARTBRIDGE_BC_APP_CLIENT_ID", "app-id")]).expect_err("no secret");
        assert_eq!(err.var, "CARTBRIDGE_BC_APP_CLIENT_SECRET");
        let err = settings(&[("CARTBRIDGE_BC_APP_CLIENT_SECRET", "sentinel-app-secret")])
            .expect_err("no id");
        assert_eq!(err.var, "CARTBRIDGE_BC_APP_CLIENT_ID");
        assert!(!err.to_string().contains("sentinel-app-secret"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: &[(&'static str, &str)] = &[
            ("CARTBRIDGE_LISTEN", "nonsense"),
            ("CARTBRIDGE_DATABASE_URL", "mysql://x"),
            ("CARTBRIDGE_PUBLIC_URL", "ftp://example.com"),
            ("CARTBRIDGE_MASTER_KEY", "c2hvcnQ="),
            ("CARTBRIDGE_SMTP_URL", "http://mail"),
            ("CARTBRIDGE_BIGCOMMERCE_API_URL", "not a url"),
            ("CARTBRIDGE_MAIL_FROM", "@@"),
        ];
        for (var, value) in cases {
            let err = settings(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, *var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let key = crate::vault::MasterKey::generate().to_base64();
        let s = settings(&[
            ("CARTBRIDGE_MASTER_KEY", key.expose()),
            ("CARTBRIDGE_DATABASE_URL", "postgres://u:sentinel-pw@db/x"),
            (
                "CARTBRIDGE_SMTP_URL",
                "smtps://u:sentinel-smtp@mail.example.com",
            ),
            ("CARTBRIDGE_BC_APP_CLIENT_ID", "app-client"),
            ("CARTBRIDGE_BC_APP_CLIENT_SECRET", "sentinel-app-secret"),
        ])
        .expect("valid");
        assert!(s.bc_app.is_some());
        let printed = format!("{s:?}");
        for needle in [
            key.expose(),
            "sentinel-pw",
            "sentinel-smtp",
            "sentinel-app-secret",
        ] {
            assert!(!printed.contains(needle), "{needle} leaked: {printed}");
        }
    }

    #[test]
    fn toml_file_is_read_and_unknown_keys_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\n").expect("write");
        assert_eq!(
            read_toml(&path).expect("read")["CARTBRIDGE_LISTEN"],
            "127.0.0.1:9999"
        );
        std::fs::write(&path, "lissen = 1\n").expect("write");
        assert!(read_toml(&path).is_err());
    }
}
