//! Database access: one `Db` over SQLite (default) or PostgreSQL (scale-out), migrations for
//! each, and one repository file per table group. Only this module writes SQL; every function
//! on tenant data takes the tenant id first.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::config::DatabaseUrl;

pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod bigcommerce_app;
pub mod budgets;
pub mod connections;
pub mod flows;
pub mod form_submissions;
pub mod inbound;
pub mod inventory;
pub mod jobs;
pub mod login_attempts;
pub mod oauth_clients;
pub mod partner_reads;
pub mod profiles;
pub mod purchase_orders;
pub mod rate_limits;
pub mod runs;
pub mod sealed;
pub mod sessions;
pub mod shipments;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod vault_keys;
pub mod webhooks;

/// A connection pool to whichever database the URL named.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool `$db` holds; `$pool` is bound to the
/// concrete pool, so the expression is type-checked once per backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// What can go wrong in a repository call.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("record not found")]
    NotFound,
    #[error("a record with the same unique value exists")]
    Conflict,
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict,
            _ => Self::Other(e),
        }
    }
}

/// Seconds since the Unix epoch: every timestamp column holds this (portable and sortable).
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Db {
    /// Connects (creating the SQLite file and its folder if needed).
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        if url.is_postgres() {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url.expose())
                .await
                .context("cannot connect to PostgreSQL (CARTBRIDGE_DATABASE_URL)")?;
            return Ok(Self::Postgres(pool));
        }
        let options = SqliteConnectOptions::from_str(url.expose())
            .context("CARTBRIDGE_DATABASE_URL is not a valid sqlite: URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A task aborted inside a write transaction (a job handler cancelled at
            // shutdown) can leave it open on its connection, and sqlx does not roll it back
            // on return: the connection would keep SQLite's one write lock and every other
            // writer would wait out the busy timeout. Such a connection is closed instead
            // (closing rolls its transaction back); the pool opens a new one when needed.
            .after_release(|conn, _| {
                use sqlx::{TransactionManager, sqlite::SqliteTransactionManager};
                let idle = SqliteTransactionManager::get_transaction_depth(conn) == 0;
                Box::pin(async move { Ok(idle) })
            })
            .connect_with(options)
            .await
            .context("cannot open the SQLite database (CARTBRIDGE_DATABASE_URL)")?;
        Ok(Self::Sqlite(pool))
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await,
            Self::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        }
        .context("cannot apply database migrations")
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }

    /// Rows in `table`; for tests and diagnostics (table names come from code, never input).
    pub async fn count_rows(&self, table: &'static str) -> Result<i64, DbError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(&sql).fetch_one(p).await)?)
    }
}

/// How a SQLite transaction that will write begins (see [`BeginWrite`]).
pub(crate) const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Opens a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so concurrent writers wait for each other (busy timeout) instead of
/// failing when a read lock is upgraded.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send
    {
        self.begin_with(SQLITE_BEGIN_WRITE)
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send
    {
        self.begin()
    }
}
