//! `login_attempts`: password checks, counted per email and per client address to throttle
//! password guessing across every app process. An attempt is recorded *before* its password
//! is checked and counted right after, so that of any number of concurrent attempts only
//! those within the limit get a check (insert-then-count, on SQLite and PostgreSQL alike);
//! attempts that were refused, or whose password was right, are taken back, so what stays
//! is exactly the failures.

use super::{Db, DbError, now, on_pool};

/// Failures (and attempts in flight) an attempt sees right after recording itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// For this email since the short window began, this attempt included.
    pub by_email: i64,
    pub oldest_email: Option<i64>,
    /// For this email in the last hour, this attempt included.
    pub by_email_hour: i64,
    pub oldest_email_hour: Option<i64>,
    /// From this address since the short window began (any email), this attempt included.
    pub by_ip: i64,
    pub oldest_ip: Option<i64>,
}

/// Records an attempt for `email` from `ip` and returns its id.
pub async fn record(db: &Db, email: &str, ip: &str) -> Result<i64, DbError> {
    let sql = "INSERT INTO login_attempts (email, ip, at) VALUES ($1, $2, $3) RETURNING id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar(sql).bind(email).bind(ip).bind(now()).fetch_one(p).await)?,
    )
}

/// What a just-recorded attempt sees: attempts since `since` (and since `hour_since`).
pub async fn recent(
    db: &Db,
    email: &str,
    ip: &str,
    since: i64,
    hour_since: i64,
) -> Result<Recent, DbError> {
    let by_email = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE email = $1 AND at > $2";
    let by_ip = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE ip = $1 AND at > $2";
    let (by_email, oldest_email): (i64, Option<i64>) =
        on_pool!(db, p => sqlx::query_as(by_email).bind(email).bind(since).fetch_one(p).await)?;
    let hour = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE email = $1 AND at > $2";
    let (by_email_hour, oldest_email_hour): (i64, Option<i64>) =
        on_pool!(db, p => sqlx::query_as(hour).bind(email).bind(hour_since).fetch_one(p).await)?;
    let (by_ip, oldest_ip): (i64, Option<i64>) =
        on_pool!(db, p => sqlx::query_as(by_ip).bind(ip).bind(since).fetch_one(p).await)?;
    Ok(Recent {
        by_email,
        oldest_email,
        by_email_hour,
        oldest_email_hour,
        by_ip,
        oldest_ip,
    })
}

/// Takes an attempt back (refused before its check, or its password was right).
pub async fn forget(db: &Db, id: i64) -> Result<(), DbError> {
    let sql = "DELETE FROM login_attempts WHERE id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// After a successful login: the failures this address made for this email were the
/// owner's own typing. Failures from other addresses stay until they age out.
pub async fn clear(db: &Db, email: &str, ip: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM login_attempts WHERE email = $1 AND ip = $2";
    on_pool!(db, p => sqlx::query(sql).bind(email).bind(ip).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn prune(db: &Db, older_than: i64) -> Result<u64, DbError> {
    let sql = "DELETE FROM login_attempts WHERE at < $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(now() - older_than).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
