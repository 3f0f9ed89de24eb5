//! `login_attempts`: failed logins, counted per email and per client address to throttle
//! password guessing across every app process.

use super::{Db, DbError, now, on_pool};

pub async fn record_failure(db: &Db, email: &str, ip: &str) -> Result<(), DbError> {
    let sql = "INSERT INTO login_attempts (email, ip, at) VALUES ($1, $2, $3)";
    on_pool!(db, p => sqlx::query(sql).bind(email).bind(ip).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Failures since `since` for this email and for this address, with the oldest of each.
pub async fn recent(
    db: &Db,
    email: &str,
    ip: &str,
    since: i64,
) -> Result<((i64, Option<i64>), (i64, Option<i64>)), DbError> {
    let by_email = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE email = $1 AND at > $2";
    let by_ip = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE ip = $1 AND at > $2";
    let email_row: (i64, Option<i64>) =
        on_pool!(db, p => sqlx::query_as(by_email).bind(email).bind(since).fetch_one(p).await)?;
    let ip_row: (i64, Option<i64>) =
        on_pool!(db, p => sqlx::query_as(by_ip).bind(ip).bind(since).fetch_one(p).await)?;
    Ok((email_row, ip_row))
}

pub async fn clear_email(db: &Db, email: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM login_attempts WHERE email = $1";
    on_pool!(db, p => sqlx::query(sql).bind(email).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn prune(db: &Db, older_than: i64) -> Result<u64, DbError> {
    let sql = "DELETE FROM login_attempts WHERE at < $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(now() - older_than).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
