//! Outbound webhooks: `webhook_endpoints` (signing secret sealed in `secret_ct`), and the
//! outbox: `webhook_events`, one `webhook_deliveries` row per (endpoint, event), and every
//! attempt in `webhook_attempts`. Every function on tenant data takes the tenant id first;
//! `orphans` (the outbox sweep) is cross-tenant by nature.
//!
//! Durability: an event and its deliveries are written in the transaction of whatever
//! caused them, through [`Outbox`] (implemented for both backends' transactions, so it can
//! be called inside an `on_pool!` body); [`emit`] opens a transaction of its own.

use super::{BeginWrite, Db, DbError, now, on_pool};

mod outbox;

pub use outbox::{
    INVENTORY_BATCH, NewEvent, Outbox, emit, emit_inventory_changed, emit_to_endpoint, envelope,
    message_id,
};

/// An endpoint as listed (never its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: i64,
    pub tenant_id: i64,
    pub url: String,
    pub description: String,
    /// Space-separated event types.
    pub event_types: String,
    /// `enabled` or `disabled`.
    pub status: String,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EndpointRow {
    pub fn is_enabled(&self) -> bool {
        self.status == "enabled"
    }

    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types.split(' ').any(|t| t == event_type)
    }
}

const ENDPOINT_SELECT: &str = "SELECT id, tenant_id, url, description, event_types, status, \
    disabled_reason, created_at, updated_at FROM webhook_endpoints";

/// Stores an endpoint; `seal(id)` seals its secret to the new row, in the same transaction.
pub async fn create_endpoint<F, Fut, E>(
    db: &Db,
    tenant_id: i64,
    url: &str,
    description: &str,
    event_types: &str,
    seal: F,
) -> Result<i64, E>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
    E: From<DbError>,
{
    let at = now();
    let insert = "INSERT INTO webhook_endpoints (tenant_id, url, description, event_types, secret_ct, \
                  status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'enabled', $6, $6) RETURNING id";
    let set = "UPDATE webhook_endpoints SET secret_ct = $1 WHERE tenant_id = $2 AND id = $3";
    let err = |e: sqlx::Error| E::from(DbError::from(e));
    on_pool!(db, p => {
        let mut tx = p.begin_write().await.map_err(err)?;
        let id: i64 = sqlx::query_scalar(insert).bind(tenant_id).bind(url).bind(description)
            .bind(event_types).bind(Vec::<u8>::new()).bind(at).fetch_one(&mut *tx).await.map_err(err)?;
        let ct = seal(id).await?;
        sqlx::query(set).bind(ct).bind(tenant_id).bind(id).execute(&mut *tx).await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(id)
    })
}

pub async fn list_endpoints(db: &Db, tenant_id: i64) -> Result<Vec<EndpointRow>, DbError> {
    let sql = format!("{ENDPOINT_SELECT} WHERE tenant_id = $1 ORDER BY id");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, EndpointRow>(&sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

pub async fn find_endpoint(
    db: &Db,
    tenant_id: i64,
    id: i64,
) -> Result<Option<EndpointRow>, DbError> {
    let sql = format!("{ENDPOINT_SELECT} WHERE tenant_id = $1 AND id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, EndpointRow>(&sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

/// The sealed signing secret of an endpoint.
pub async fn secret_ct(db: &Db, tenant_id: i64, id: i64) -> Result<Option<Vec<u8>>, DbError> {
    let sql = "SELECT secret_ct FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, Vec<u8>>(sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

/// Replaces the sealed secret (rotation). `false`: no such endpoint.
pub async fn set_secret(db: &Db, tenant_id: i64, id: i64, ct: &[u8]) -> Result<bool, DbError> {
    let sql = "UPDATE webhook_endpoints SET secret_ct = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(ct).bind(now()).bind(tenant_id).bind(id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// Enables (reason `None`) or disables an endpoint. `false`: no such endpoint, or it was
/// already in that state.
pub async fn set_status(
    db: &Db,
    tenant_id: i64,
    id: i64,
    status: &str,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    let sql = "UPDATE webhook_endpoints SET status = $1, disabled_reason = $2, updated_at = $3 \
               WHERE tenant_id = $4 AND id = $5 AND status <> $1";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(status).bind(reason).bind(now()).bind(tenant_id)
        .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

pub async fn delete_endpoint(db: &Db, tenant_id: i64, id: i64) -> Result<bool, DbError> {
    let sql = "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(id).execute(p).await
        .map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// A delivery, claimed for one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub endpoint_id: i64,
    pub event_id: i64,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// Attempts before this round (redelivery starts a new round).
    pub round_base: i32,
}

/// Claims a pending, due delivery for one attempt until `lock_until` (no other worker can
/// claim it meanwhile) and counts the attempt. `None`: delivered, failed, not due or in
/// flight elsewhere.
pub async fn claim_delivery(
    db: &Db,
    tenant_id: i64,
    id: i64,
    lock_until: i64,
) -> Result<Option<ClaimedDelivery>, DbError> {
    let at = now();
    let sql = "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1 \
               WHERE tenant_id = $2 AND id = $3 AND status = 'pending' AND next_attempt_at <= $4 \
               AND (locked_until IS NULL OR locked_until < $4) \
               RETURNING endpoint_id, event_id, attempts, round_base";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, ClaimedDelivery>(sql).bind(lock_until).bind(tenant_id)
        .bind(id).bind(at).fetch_optional(p).await)?,
    )
}

/// A delivery as shown in the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub message_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.endpoint_id, d.event_id, e.event_type, e.message_id, \
    d.status, d.attempts, d.next_attempt_at, d.locked_until, d.last_status_code, d.last_error, \
    d.created_at, d.finished_at FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id";

pub async fn find_delivery(
    db: &Db,
    tenant_id: i64,
    id: i64,
) -> Result<Option<DeliveryRow>, DbError> {
    let sql = format!("{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, DeliveryRow>(&sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

/// An endpoint's newest deliveries.
pub async fn deliveries_of(
    db: &Db,
    tenant_id: i64,
    endpoint_id: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, DbError> {
    let sql = format!(
        "{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.endpoint_id = $2 ORDER BY d.id DESC LIMIT $3"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, DeliveryRow>(&sql).bind(tenant_id).bind(endpoint_id)
        .bind(limit).fetch_all(p).await)?,
    )
}

/// An event as sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub message_id: String,
    pub payload: String,
    pub created_at: i64,
}

pub async fn find_event(db: &Db, tenant_id: i64, id: i64) -> Result<Option<EventRow>, DbError> {
    let sql = "SELECT id, event_type, message_id, payload, created_at FROM webhook_events \
               WHERE tenant_id = $1 AND id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, EventRow>(sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

/// What one attempt saw.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub response_excerpt: &'a str,
    pub error: Option<&'a str>,
}

/// What becomes of the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    RetryAt(i64),
    Failed,
}

/// Logs the attempt and settles the delivery (unlocking it), in one transaction.
pub async fn record_attempt(
    db: &Db,
    tenant_id: i64,
    delivery_id: i64,
    attempt: &NewAttempt<'_>,
    after: AfterAttempt,
) -> Result<(), DbError> {
    let at = now();
    let log = "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, duration_ms, \
               response_excerpt, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let settle = "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, locked_until = NULL, \
                  last_status_code = $3, last_error = $4, finished_at = $5 WHERE tenant_id = $6 AND id = $7";
    let (status, next, finished) = match after {
        AfterAttempt::Delivered => ("delivered", at, Some(at)),
        AfterAttempt::RetryAt(t) => ("pending", t, None),
        AfterAttempt::Failed => ("failed", at, Some(at)),
    };
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(log).bind(tenant_id).bind(delivery_id).bind(attempt.attempt)
            .bind(attempt.status_code).bind(attempt.duration_ms).bind(attempt.response_excerpt)
            .bind(attempt.error).bind(at).execute(&mut *tx).await?;
        sqlx::query(settle).bind(status).bind(next).bind(attempt.status_code).bind(attempt.error)
            .bind(finished).bind(tenant_id).bind(delivery_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// Ends a delivery without an attempt (its endpoint was disabled or removed).
pub async fn abandon_delivery(
    db: &Db,
    tenant_id: i64,
    delivery_id: i64,
    reason: &str,
) -> Result<(), DbError> {
    let sql = "UPDATE webhook_deliveries SET status = 'failed', locked_until = NULL, last_error = $1, \
               finished_at = $2 WHERE tenant_id = $3 AND id = $4";
    on_pool!(db, p => sqlx::query(sql).bind(reason).bind(now()).bind(tenant_id).bind(delivery_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Starts a new round for a delivery of `endpoint_id` (redeliver), due now. `false`: no such
/// delivery, or it is pending already.
pub async fn redeliver(
    db: &Db,
    tenant_id: i64,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<bool, DbError> {
    let sql = "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, round_base = attempts, \
               locked_until = NULL, finished_at = NULL WHERE tenant_id = $2 AND endpoint_id = $3 AND id = $4 \
               AND status <> 'pending'";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(now()).bind(tenant_id).bind(endpoint_id)
        .bind(delivery_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// One logged attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub response_excerpt: String,
    pub error: Option<String>,
    pub created_at: i64,
}

/// The attempts of the endpoint's newest deliveries (those `deliveries_of` lists), oldest first.
pub async fn attempts_of_endpoint(
    db: &Db,
    tenant_id: i64,
    endpoint_id: i64,
    limit: i64,
) -> Result<Vec<AttemptRow>, DbError> {
    let sql = "SELECT a.id, a.delivery_id, a.attempt, a.status_code, a.duration_ms, a.response_excerpt, \
               a.error, a.created_at FROM webhook_attempts a \
               WHERE a.tenant_id = $1 AND a.delivery_id IN (SELECT d.id FROM webhook_deliveries d \
               WHERE d.tenant_id = $1 AND d.endpoint_id = $2 ORDER BY d.id DESC LIMIT $3) ORDER BY a.id";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, AttemptRow>(sql).bind(tenant_id).bind(endpoint_id)
        .bind(limit).fetch_all(p).await)?,
    )
}

/// Pending deliveries that are due, not in flight, and have no queued or running delivery
/// job (their process died between commit and enqueue): (tenant id, delivery id).
pub async fn orphans(db: &Db, limit: i64) -> Result<Vec<(i64, i64)>, DbError> {
    let at = now();
    let sql = "SELECT d.tenant_id, d.id FROM webhook_deliveries d \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
               AND (d.locked_until IS NULL OR d.locked_until < $1) \
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'webhook_delivery' \
                 AND j.status IN ('queued', 'running') AND j.tenant_id = d.tenant_id \
                 AND j.payload = '{\"delivery_id\":' || CAST(d.id AS TEXT) || '}') \
               ORDER BY d.id LIMIT $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(sql).bind(at).bind(limit).fetch_all(p).await)?,
    )
}
