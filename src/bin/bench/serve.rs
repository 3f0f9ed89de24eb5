//! What `bench orders` and `bench webhooks` share: a tenant with a token connection to the
//! fake BigCommerce on a fresh database, prepared in this process, then the release
//! `cartbridge serve` started on that database and waited for.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cartbridge::{
    accounts::members::Actor,
    config::Settings,
    connections::store::{self, ConnectionInput},
    context::AppContext,
    db::Db,
    domain::{AuthType, ConnectionName, Scopes, Secret, StoreHash},
    startup,
};

use super::fake_bigcommerce::FakeBigCommerce;

/// The set-up before the server starts: use `ctx`, `actor` and `connection` to enable
/// flows and make keys, then [`Prepared::serve`].
pub struct Prepared {
    pub ctx: AppContext,
    pub actor: Actor,
    pub connection: i64,
    pub settings: Settings,
    database: Db,
    server_bin: PathBuf,
    data_dir: PathBuf,
    port: u16,
}

/// A running `cartbridge serve`, killed (and reaped) when dropped or [`Running::stop`]ped.
pub struct Running {
    pub base: String,
    pub settings: Settings,
    pub data_dir: PathBuf,
    server: Option<super::Server>,
}

impl Running {
    /// Stops the server (its database is then this process's to read).
    pub fn stop(&mut self) {
        self.server = None;
    }
}

/// "PostgreSQL" or "SQLite", for the figures' heading.
pub fn backend(settings: &Settings) -> &'static str {
    if settings.database_url.expose().starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// Checks the release server is built, opens a fresh database (a new SQLite file in a temp
/// folder unless `database_url`) and creates the bench owner and a token connection to the
/// fake's store.
pub async fn prepare(
    fake: &FakeBigCommerce,
    database_url: Option<&str>,
) -> anyhow::Result<Prepared> {
    let server_bin = std::env::current_exe()?.with_file_name("cartbridge");
    if !server_bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release --bin cartbridge)",
            server_bin.display()
        );
    }
    let data_dir = super::tempfile_dir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir.display().to_string());
    raw.insert("CARTBRIDGE_BIGCOMMERCE_API_URL", fake.api_url());
    if let Some(url) = database_url {
        raw.insert("CARTBRIDGE_DATABASE_URL", url.to_owned());
    }
    let settings = Settings::from_values(&raw)?;
    let master_key = startup::load_master_key(&settings)?;
    let database = startup::open_database(&settings, 5).await?;
    let base = format!("http://127.0.0.1:{port}");
    let ctx =
        startup::build_context(&settings, master_key, database.clone(), base.parse()?).await?;
    let actor = super::bench_owner(&ctx.db).await?;
    let input = ConnectionInput {
        name: ConnectionName::parse("Bench store")?,
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse(super::STORE)?,
        oauth_client_id: None,
        api_client_id: Some("bench".into()),
        token: Some(Secret::new(super::TOKEN.into())),
        scopes: Scopes::defaults(),
    };
    let connection = store::create(&ctx, &actor, &input).await?;
    Ok(Prepared {
        ctx,
        actor,
        connection,
        settings,
        database,
        server_bin,
        data_dir,
        port,
    })
}

impl Prepared {
    /// Closes this process's hold on the database, starts `cartbridge serve` with `args` on
    /// it and returns once `/healthz` answers.
    pub async fn serve(self, fake: &FakeBigCommerce, args: &[&str]) -> anyhow::Result<Running> {
        let Self {
            ctx,
            settings,
            database,
            server_bin,
            data_dir,
            port,
            ..
        } = self;
        database.close().await;
        drop(ctx);
        let child = Command::new(&server_bin)
            .arg("serve")
            .args(args)
            .env("CARTBRIDGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("CARTBRIDGE_DATA_DIR", &data_dir)
            .env("CARTBRIDGE_DATABASE_URL", settings.database_url.expose())
            .env("CARTBRIDGE_BIGCOMMERCE_API_URL", fake.api_url())
            .env("CARTBRIDGE_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", server_bin.display()))?;
        let running = Running {
            base: format!("http://127.0.0.1:{port}"),
            settings,
            data_dir,
            server: Some(super::Server(child)),
        };
        let probe = reqwest::Client::new();
        let started = Instant::now();
        while probe
            .get(format!("{}/healthz", running.base))
            .send()
            .await
            .is_err()
        {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the server did not come up");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(running)
    }
}
