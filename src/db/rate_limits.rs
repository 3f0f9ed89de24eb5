//! `rate_limit_events`: requests counted per bucket (client address, email recipient) so
//! that every app process sharing the database enforces the same limits. A request is
//! recorded first and counted after, in one statement each: of any number of concurrent
//! requests, the ones recorded beyond the limit see it reached, on SQLite and PostgreSQL.

use super::{Db, DbError, now, on_pool};

/// Records one request in `bucket` and returns how many the bucket holds since `since`,
/// this one included, with the oldest of them (for Retry-After). The row's id comes back
/// too, so a request refused for another reason can be taken back with [`forget`].
pub async fn record_and_count(
    db: &Db,
    bucket: &str,
    since: i64,
) -> Result<(i64, i64, i64), DbError> {
    let at = now();
    let insert = "INSERT INTO rate_limit_events (bucket, at) VALUES ($1, $2) RETURNING id";
    let id: i64 =
        on_pool!(db, p => sqlx::query_scalar(insert).bind(bucket).bind(at).fetch_one(p).await)?;
    let count = "SELECT COUNT(*), COALESCE(MIN(at), $3) FROM rate_limit_events \
                 WHERE bucket = $1 AND at > $2";
    let (n, oldest): (i64, i64) = on_pool!(db, p => sqlx::query_as(count).bind(bucket).bind(since).bind(at).fetch_one(p).await)?;
    Ok((id, n, oldest))
}

/// Takes back a recorded request (it was refused by another limit, so it did nothing).
pub async fn forget(db: &Db, id: i64) -> Result<(), DbError> {
    let sql = "DELETE FROM rate_limit_events WHERE id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes events older than `older_than` seconds.
pub async fn prune(db: &Db, older_than: i64) -> Result<u64, DbError> {
    let sql = "DELETE FROM rate_limit_events WHERE at < $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(now() - older_than).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
