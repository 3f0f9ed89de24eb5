//! `form_submissions`: one-time form tokens, so that a form sent twice (a double click, a
//! resend after a slow answer) creates one record. Every function takes the tenant id first.

use super::{Db, DbError, now, on_pool};

/// How long a token is remembered.
const KEEP_SECS: i64 = 86_400;

/// What a token's first submission has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This request is the first with the token: go ahead.
    First,
    /// Another request had it; it made `record_id` (once known) and is `finished` or not.
    Taken {
        record_id: Option<i64>,
        finished: bool,
    },
}

/// Claims `token` for this request; the first caller wins, atomically (primary key).
pub async fn claim(db: &Db, tenant_id: i64, token: &str) -> Result<Claim, DbError> {
    let prune = "DELETE FROM form_submissions WHERE created_at < $1";
    on_pool!(db, p => sqlx::query(prune).bind(now() - KEEP_SECS).execute(p).await.map(|_| ()))?;
    let sql = "INSERT INTO form_submissions (tenant_id, token, created_at) VALUES ($1, $2, $3)";
    match on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(token).bind(now()).execute(p).await.map(|_| ()))
    {
        Ok(()) => Ok(Claim::First),
        Err(e) => match DbError::from(e) {
            DbError::Conflict => find(db, tenant_id, token).await,
            other => Err(other),
        },
    }
}

/// The state of a claimed token.
pub async fn find(db: &Db, tenant_id: i64, token: &str) -> Result<Claim, DbError> {
    let sql =
        "SELECT record_id, finished_at FROM form_submissions WHERE tenant_id = $1 AND token = $2";
    let row: Option<(Option<i64>, Option<i64>)> =
        on_pool!(db, p => sqlx::query_as(sql).bind(tenant_id).bind(token).fetch_optional(p).await)?;
    let (record_id, finished_at) = row.ok_or(DbError::NotFound)?;
    Ok(Claim::Taken {
        record_id,
        finished: finished_at.is_some(),
    })
}

/// Records what the first submission made.
pub async fn set_record(
    db: &Db,
    tenant_id: i64,
    token: &str,
    record_id: i64,
) -> Result<(), DbError> {
    let sql = "UPDATE form_submissions SET record_id = $1 WHERE tenant_id = $2 AND token = $3";
    on_pool!(db, p => sqlx::query(sql).bind(record_id).bind(tenant_id).bind(token).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Marks the first submission done (its answer is ready to be shown).
pub async fn finish(db: &Db, tenant_id: i64, token: &str) -> Result<(), DbError> {
    let sql = "UPDATE form_submissions SET finished_at = $1 WHERE tenant_id = $2 AND token = $3";
    on_pool!(db, p => sqlx::query(sql).bind(now()).bind(tenant_id).bind(token).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Gives the token back (the first submission failed validation or was refused), so the
/// corrected form can be sent again with it.
pub async fn release(db: &Db, tenant_id: i64, token: &str) -> Result<(), DbError> {
    let sql =
        "DELETE FROM form_submissions WHERE tenant_id = $1 AND token = $2 AND record_id IS NULL";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(token).execute(p).await.map(|_| ()))?;
    Ok(())
}
