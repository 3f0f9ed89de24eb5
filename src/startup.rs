//! `Application::build`: opens the database and applies migrations, loads the master key,
//! sets up the mailer, binds the listener (port 0 picks a free one) and assembles the HTTP
//! server. `run_until_stopped` serves until SIGINT/SIGTERM, finishing in-flight requests,
//! with the job workers alongside (unless `CARTBRIDGE_WORKERS` is 0); `run_workers` runs
//! only the workers (`cartbridge worker`). Either way, stopping hands in-flight jobs back.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, TtlExtensionPolicy},
};
use actix_web::{
    App, HttpServer,
    cookie::{Key, SameSite, time},
    dev::Server,
    middleware::from_fn,
    web,
};
use anyhow::Context;
use url::Url;

use crate::{
    bigcommerce::{BigCommerce, RetryPolicy},
    config::{JobSettings, Settings},
    context::AppContext,
    db::{self, Db, budgets::DbBudget},
    flows::Registry,
    jobs,
    mailer::Mailer,
    vault::{MasterKey, Vault},
    web::{
        self as routes,
        middleware::{csrf_guard, request_span, security_headers},
        session::DbSessionStore,
    },
};

/// Idle sessions end after this long.
const SESSION_IDLE: time::Duration = time::Duration::hours(12);

/// A built, bound, not yet running app.
pub struct Application {
    address: SocketAddr,
    server: Server,
    context: web::Data<AppContext>,
    jobs: JobSettings,
}

/// SIGINT and SIGTERM streams, registered when created: `build` registers them before
/// anything runs, so a signal that arrives while the HTTP workers are still starting (job
/// workers may already be busy) stops the server gracefully instead of killing the process.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Opens the database named by the settings and brings its schema up to date.
pub async fn open_database(settings: &Settings, max_connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

/// The master key from `CARTBRIDGE_MASTER_KEY`, or `<data dir>/master.key` (created once).
pub fn load_master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    match &settings.master_key {
        Some(key) => MasterKey::from_base64(key.expose()).context("CARTBRIDGE_MASTER_KEY"),
        None => {
            create_data_dir(&settings.data_dir)?;
            Ok(MasterKey::load_or_create(
                &settings.data_dir.join("master.key"),
            )?)
        }
    }
}

/// Creates the data folder, private to the service user (it holds keys and the database).
fn create_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| {
        format!(
            "cannot create the data folder {} (CARTBRIDGE_DATA_DIR)",
            dir.display()
        )
    })
}

fn public_url(settings: &Settings, bound: SocketAddr) -> anyhow::Result<Url> {
    if let Some(url) = &settings.public_url {
        return Ok(url.clone());
    }
    let host = if bound.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        bound.ip().to_string()
    };
    let host = if bound.is_ipv6() && host != "localhost" {
        format!("[{host}]")
    } else {
        host
    };
    Url::parse(&format!("http://{host}:{}", bound.port()))
        .context("cannot derive the public URL (set CARTBRIDGE_PUBLIC_URL)")
}

/// The shared context for handlers and services. Fails if the master key cannot open the
/// database's data keys, so that a wrong key stops startup instead of serving.
pub async fn build_context(
    settings: &Settings,
    master_key: MasterKey,
    db: Db,
    public_url: Url,
) -> anyhow::Result<AppContext> {
    build_context_with(settings, master_key, db, public_url, Registry::standard()).await
}

/// [`build_context`] offering the flows of `flows` (tests add flows of their own).
pub async fn build_context_with(
    settings: &Settings,
    master_key: MasterKey,
    db: Db,
    public_url: Url,
    flows: Registry,
) -> anyhow::Result<AppContext> {
    let vault = Vault::load(master_key, db.clone())
        .await
        .context("cannot open the vault")?;
    let from = match &settings.mail_from {
        Some(from) => from.parse().context("CARTBRIDGE_MAIL_FROM")?,
        None => format!(
            "cartbridge <no-reply@{}>",
            public_url.host_str().unwrap_or("localhost")
        )
        .parse()
        .or_else(|_| "cartbridge <no-reply@localhost>".parse())
        .context("cannot build the default sender address (set CARTBRIDGE_MAIL_FROM)")?,
    };
    let mailer = Mailer::new(
        settings.smtp_url.as_ref(),
        &settings.data_dir.join("outbox"),
        from,
    )?;
    let bigcommerce = BigCommerce::new(
        settings.bigcommerce_api_url.clone(),
        settings.bigcommerce_timeout,
    )?
    .with_retry_policy(RetryPolicy {
        base_delay: settings.bigcommerce_retry_base,
        ..RetryPolicy::default()
    })
    .with_max_in_flight(settings.bigcommerce_max_in_flight);
    // Processes sharing a PostgreSQL share each store's budget through it; a SQLite database
    // serves one process, whose in-process budget is already shared by all its jobs.
    let bigcommerce = match &db {
        Db::Postgres(_) => bigcommerce.with_shared_budget(Arc::new(DbBudget::new(db.clone()))),
        Db::Sqlite(_) => bigcommerce,
    };
    let inbound = crate::inbound::Receiver::start(
        db.clone(),
        i32::try_from(settings.jobs.max_attempts).unwrap_or(i32::MAX),
    );
    Ok(AppContext {
        inbound,
        db,
        mailer,
        vault,
        bigcommerce,
        bigcommerce_login_url: settings.bigcommerce_login_url.clone(),
        bc_app: settings.bc_app.clone(),
        public_url,
        jobs: settings.jobs.clone(),
        hasher: crate::accounts::passwords::Hasher::for_this_machine(),
        handlers: handlers_for(&flows),
        flows,
        webhooks: settings.webhooks.clone(),
        webhook_http: crate::partner_api::ssrf::http_client(settings.webhooks.allow_private)?,
        clock: crate::alerts::Clock::default(),
        trusted_proxies: settings.trusted_proxies.clone(),
    })
}

/// Every job kind this process runs: each flow's, and outbound webhook deliveries.
fn handlers_for(flows: &Registry) -> crate::jobs::Handlers {
    let mut handlers = flows.handlers();
    handlers.register(Arc::new(crate::partner_api::webhooks::DeliveryJobs));
    handlers.register(Arc::new(crate::inbound::InboxJobs));
    handlers.register(Arc::new(crate::mailer::EmailJobs));
    handlers
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Registry::standard()).await
    }

    /// [`Application::build`] offering the flows of `flows`.
    pub async fn build_with(settings: Settings, flows: Registry) -> anyhow::Result<Self> {
        let master_key = load_master_key(&settings)?;
        // Ten for requests, plus one per job worker.
        let connections = 10 + u32::try_from(settings.jobs.workers).unwrap_or(64);
        let db = open_database(&settings, connections).await?;
        let listener = std::net::TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {} (CARTBRIDGE_LISTEN)", settings.listen))?;
        let address = listener.local_addr()?;
        let public_url = public_url(&settings, address)?;
        let cookie_key = Key::from(&master_key.derive("session-cookie")[..]);
        let context =
            web::Data::new(build_context_with(&settings, master_key, db, public_url, flows).await?);
        let https = context.is_https();
        let ctx = context.clone();
        let mut stop = StopSignals::register()?;
        let mut server = HttpServer::new(move || {
            let sessions =
                SessionMiddleware::builder(DbSessionStore::new(ctx.db.clone()), cookie_key.clone())
                    .cookie_name(if https {
                        "__Host-cartbridge".into()
                    } else {
                        "cartbridge".into()
                    })
                    .cookie_secure(https)
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .session_lifecycle(
                        BrowserSession::default()
                            .state_ttl(SESSION_IDLE)
                            .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                    )
                    .build();
            App::new()
                .app_data(ctx.clone())
                .wrap(from_fn(routes::pages::page_headers))
                .wrap(from_fn(csrf_guard))
                .wrap(from_fn(routes::session::track_sessions))
                .wrap(sessions)
                .wrap(from_fn(routes::middleware::hashing_gate))
                .wrap(security_headers(https))
                .wrap(from_fn(routes::bigcommerce_app::iframe_headers))
                .wrap(from_fn(request_span))
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_signal(async move {
            stop.recv().await;
            tracing::info!("stopping: finishing the requests in progress");
        })
        .shutdown_timeout(30);
        if let Some(workers) = settings.http_workers {
            server = server.workers(workers);
        }
        tracing::info!(%address, public_url = %context.public_url, database = context.db.backend(), mail = context.mailer.describe(), "cartbridge is listening");
        Ok(Self {
            address,
            server: server.run(),
            context,
            jobs: settings.jobs.clone(),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn context(&self) -> web::Data<AppContext> {
        self.context.clone()
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM); housekeeping and, unless
    /// configured with 0 workers, the job workers and scheduler run alongside. The workers
    /// stop after the HTTP server, releasing the jobs they were running.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.context.clone()));
        let outbox = tokio::spawn(crate::partner_api::webhooks::sweep_forever(
            self.context.clone().into_inner(),
        ));
        let workers = (self.jobs.workers > 0)
            .then(|| jobs::start(self.context.clone().into_inner(), &self.jobs));
        let result = self.server.await;
        if let Some(workers) = workers {
            workers.shutdown().await;
        }
        housekeeping.abort();
        outbox.abort();
        self.context.db.close().await;
        tracing::info!("cartbridge stopped");
        result.context("the HTTP server failed")
    }
}

/// Runs job workers and the scheduler without the web server until SIGINT or SIGTERM,
/// then releases the jobs in progress (`cartbridge worker`).
pub async fn run_workers(settings: Settings) -> anyhow::Result<()> {
    run_workers_with(settings, Registry::standard()).await
}

/// [`run_workers`] offering the flows of `flows`.
pub async fn run_workers_with(settings: Settings, flows: Registry) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.jobs.workers > 0,
        "a worker process needs at least one worker (--workers or CARTBRIDGE_WORKERS)"
    );
    let master_key = load_master_key(&settings)?;
    let db = open_database(&settings, pool_size(settings.jobs.workers)).await?;
    let public_url = match &settings.public_url {
        Some(url) => url.clone(),
        None => public_url(&settings, settings.listen)?,
    };
    let context = std::sync::Arc::new(
        build_context_with(&settings, master_key, db, public_url, flows).await?,
    );
    let workers = jobs::start(context.clone(), &settings.jobs);
    let outbox = tokio::spawn(crate::partner_api::webhooks::sweep_forever(context.clone()));
    tracing::info!(
        workers = settings.jobs.workers,
        database = context.db.backend(),
        "cartbridge worker is running"
    );
    shutdown_signal().await?;
    tracing::info!("stopping: releasing the jobs in progress");
    workers.shutdown().await;
    outbox.abort();
    context.db.close().await;
    tracing::info!("cartbridge worker stopped");
    Ok(())
}

/// Database connections for a worker process: one per worker, one for heartbeats and the
/// scheduler, a little headroom.
fn pool_size(workers: usize) -> u32 {
    u32::try_from(workers.saturating_mul(2).saturating_add(2)).unwrap_or(u32::MAX)
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}

/// Deletes expired sessions, tokens and old login failures every few minutes.
async fn housekeeping(ctx: web::Data<AppContext>) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        let result = async {
            let sessions = db::sessions::prune(&ctx.db).await?;
            let tokens = db::tokens::prune(&ctx.db).await?;
            let attempts = db::login_attempts::prune(&ctx.db, 86_400).await?;
            db::rate_limits::prune(&ctx.db, 86_400).await?;
            db::bigcommerce_app::prune_link_requests(&ctx.db).await?;
            db::bigcommerce_app::prune_jwt_ids(&ctx.db).await?;
            Ok::<_, db::DbError>((sessions, tokens, attempts))
        }
        .await;
        match result {
            Ok((sessions, tokens, attempts)) => {
                tracing::debug!(sessions, tokens, attempts, "housekeeping done")
            }
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}
