//! `purchase_orders`, `purchase_order_lines` and `purchase_order_attempts` (migration 0010):
//! Send Orders' intake (the PO, its lines and its job in one transaction), the `sending`
//! mark committed before the `POST /v2/orders`, and each ending (sent, failed) committed
//! together with its outbound webhook event. Every function takes the tenant id first.

use super::webhooks::{NewEvent, Outbox};
use super::{BeginWrite, Db, DbError, now, on_pool};

/// A purchase order as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoRow {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: i64,
    pub po_number: String,
    pub source: String,
    /// The canonical PO JSON.
    pub body: String,
    pub body_hash: String,
    pub status: String,
    pub customer_email: String,
    pub bc_order_id: Option<i64>,
    pub bc_customer_id: Option<i64>,
    pub failure_reason: Option<String>,
    pub attempts: i32,
    pub order_body: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

/// One line of a PO.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub line_no: i32,
    pub sku: String,
    pub quantity: i64,
    pub price: Option<String>,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub order_product_id: Option<i64>,
    pub quantity_shipped: i64,
}

/// One attempt to send a PO.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub bc_order_id: Option<i64>,
}

const COLUMNS: &str = "id, tenant_id, connection_id, po_number, source, body, body_hash, status, \
    customer_email, bc_order_id, bc_customer_id, failure_reason, attempts, order_body, created_at, \
    updated_at, sent_at";

/// A PO to store.
#[derive(Debug, Clone)]
pub struct NewPo<'a> {
    pub connection_id: i64,
    pub po_number: &'a str,
    pub source: &'a str,
    pub body: &'a str,
    pub body_hash: &'a str,
    pub customer_email: &'a str,
    /// `received` (a job is queued with it) or `held`.
    pub status: &'a str,
    pub api_key_id: Option<i64>,
    pub created_by: Option<i64>,
}

/// A line to store: (sku, quantity, price).
pub type NewLine<'a> = (&'a str, i64, Option<&'a str>);

/// The job queued with a PO (see `jobs::JobRequest`).
#[derive(Debug, Clone)]
pub struct PoJob<'a> {
    pub kind: &'a str,
    pub store_hash: &'a str,
    pub max_attempts: i32,
}

/// What [`create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Stored under this id.
    New(i64),
    /// A PO with this number exists already: its id and body hash.
    Exists { id: i64, body_hash: String },
}

/// The job key of a PO's job.
pub fn job_key(po_id: i64) -> String {
    format!("po:{po_id}")
}

const INSERT_PO: &str = "INSERT INTO purchase_orders (tenant_id, connection_id, po_number, source, body, \
    body_hash, status, customer_email, attempts, api_key_id, created_by, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $11) \
    ON CONFLICT (connection_id, po_number) DO NOTHING RETURNING id";
const INSERT_LINE: &str = "INSERT INTO purchase_order_lines (tenant_id, purchase_order_id, line_no, sku, \
    quantity, price, quantity_shipped) VALUES ($1, $2, $3, $4, $5, $6, 0)";
const INSERT_JOB: &str = "INSERT INTO jobs (tenant_id, connection_id, kind, job_key, store_hash, payload, \
    status, run_at, attempts, max_attempts, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, 0, $8, $7, $7) ON CONFLICT DO NOTHING";
const EXISTING: &str = "SELECT id, body_hash FROM purchase_orders WHERE tenant_id = $1 AND connection_id = $2 AND po_number = $3";

fn job_payload(po_id: i64) -> String {
    format!("{{\"purchase_order_id\":{po_id}}}")
}

/// Stores a PO and its lines and, when it is `received`, queues its job, in one
/// transaction. A PO number the connection already has stores nothing.
pub async fn create(
    db: &Db,
    tenant_id: i64,
    po: &NewPo<'_>,
    lines: &[NewLine<'_>],
    job: &PoJob<'_>,
) -> Result<Created, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(INSERT_PO)
            .bind(tenant_id).bind(po.connection_id).bind(po.po_number).bind(po.source)
            .bind(po.body).bind(po.body_hash).bind(po.status).bind(po.customer_email)
            .bind(po.api_key_id).bind(po.created_by).bind(at)
            .fetch_optional(&mut *tx).await?;
        let Some(id) = id else {
            let (id, body_hash): (i64, String) = sqlx::query_as(EXISTING)
                .bind(tenant_id).bind(po.connection_id).bind(po.po_number)
                .fetch_one(&mut *tx).await?;
            tx.rollback().await?;
            return Ok(Created::Exists { id, body_hash });
        };
        for (no, (sku, quantity, price)) in lines.iter().enumerate() {
            sqlx::query(INSERT_LINE)
                .bind(tenant_id).bind(id).bind(i32::try_from(no).unwrap_or(i32::MAX))
                .bind(*sku).bind(*quantity).bind(*price)
                .execute(&mut *tx).await?;
        }
        if po.status == "received" {
            sqlx::query(INSERT_JOB)
                .bind(tenant_id).bind(po.connection_id).bind(job.kind).bind(job_key(id))
                .bind(job.store_hash).bind(job_payload(id)).bind(at).bind(job.max_attempts)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Created::New(id))
    })
}

/// Moves POs from `held` (or `failed`, for a retry) to `received` and queues a job for
/// each, in one transaction; `only` limits it to one PO. Returns the POs moved.
pub async fn requeue(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    from_status: &str,
    only: Option<i64>,
    job: &PoJob<'_>,
) -> Result<Vec<i64>, DbError> {
    let at = now();
    let select = "SELECT id FROM purchase_orders WHERE tenant_id = $1 AND connection_id = $2 \
                  AND status = $3 AND ($4 IS NULL OR id = $4) ORDER BY id";
    let update = "UPDATE purchase_orders SET status = 'received', failure_reason = NULL, updated_at = $3 \
                  WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(select)
            .bind(tenant_id).bind(connection_id).bind(from_status).bind(only)
            .fetch_all(&mut *tx).await?;
        for id in &ids {
            sqlx::query(update).bind(tenant_id).bind(*id).bind(at).execute(&mut *tx).await?;
            sqlx::query(INSERT_JOB)
                .bind(tenant_id).bind(connection_id).bind(job.kind).bind(job_key(*id))
                .bind(job.store_hash).bind(job_payload(*id)).bind(at).bind(job.max_attempts)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ids)
    })
}

/// Sets a PO's status from one of `from` to `to` (held, cancelled); false if it was in
/// none of them.
pub async fn set_status(
    db: &Db,
    tenant_id: i64,
    id: i64,
    from: &[&str],
    to: &str,
) -> Result<bool, DbError> {
    let list = from
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE purchase_orders SET status = $3, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ({list})"
    );
    let done = on_pool!(db, p => sqlx::query(&sql).bind(tenant_id).bind(id).bind(to).bind(now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn find(db: &Db, tenant_id: i64, id: i64) -> Result<Option<PoRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM purchase_orders WHERE tenant_id = $1 AND id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoRow>(&sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

pub async fn find_by_number(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    po_number: &str,
) -> Result<Option<PoRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM purchase_orders WHERE tenant_id = $1 AND connection_id = $2 AND po_number = $3"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(po_number).fetch_optional(p).await)?,
    )
}

/// A page of a connection's POs, newest first (`before`: ids below it), optionally of one
/// status and matching `search` (PO number or customer email, case-insensitive).
pub async fn list(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    status: Option<&str>,
    search: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<PoRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM purchase_orders WHERE tenant_id = $1 AND connection_id = $2 \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR LOWER(po_number) LIKE $4 OR LOWER(customer_email) LIKE $4) \
         AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
    );
    let pattern = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")));
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(status).bind(pattern).bind(before).bind(limit).fetch_all(p).await)?,
    )
}

pub async fn lines(db: &Db, tenant_id: i64, po_id: i64) -> Result<Vec<LineRow>, DbError> {
    let sql = "SELECT line_no, sku, quantity, price, product_id, variant_id, order_product_id, \
               quantity_shipped FROM purchase_order_lines WHERE tenant_id = $1 AND purchase_order_id = $2 \
               ORDER BY line_no";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, LineRow>(sql).bind(tenant_id).bind(po_id)
        .fetch_all(p).await)?,
    )
}

pub async fn attempts(db: &Db, tenant_id: i64, po_id: i64) -> Result<Vec<AttemptRow>, DbError> {
    let sql = "SELECT id, attempt, started_at, finished_at, outcome, http_status, error, bc_order_id \
               FROM purchase_order_attempts WHERE tenant_id = $1 AND purchase_order_id = $2 ORDER BY id";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, AttemptRow>(sql).bind(tenant_id).bind(po_id)
        .fetch_all(p).await)?,
    )
}

/// What the job resolved before sending.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// (line_no, product id, variant id).
    pub lines: &'a [(i32, i64, i64)],
    pub customer_id: i64,
    pub order_body: &'a str,
}

const INSERT_ATTEMPT: &str = "INSERT INTO purchase_order_attempts (tenant_id, purchase_order_id, attempt, \
    started_at) VALUES ($1, $2, $3, $4) RETURNING id";

/// Opens an attempt (the PO's attempt count goes up); returns its id.
pub async fn start_attempt(db: &Db, tenant_id: i64, po_id: i64) -> Result<i64, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let n: i32 = sqlx::query_scalar("UPDATE purchase_orders SET attempts = attempts + 1, updated_at = $3 \
            WHERE tenant_id = $1 AND id = $2 RETURNING attempts")
            .bind(tenant_id).bind(po_id).bind(at).fetch_one(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(INSERT_ATTEMPT)
            .bind(tenant_id).bind(po_id).bind(n).bind(at).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Marks the PO `sending` with what was resolved and the exact body about to be POSTed.
/// Committed before the POST: a later attempt that finds `sending` looks the order up.
pub async fn mark_sending(
    db: &Db,
    tenant_id: i64,
    po_id: i64,
    resolved: &Resolved<'_>,
) -> Result<(), DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE purchase_orders SET status = 'sending', bc_customer_id = $3, order_body = $4, \
            failure_reason = NULL, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(po_id).bind(resolved.customer_id).bind(resolved.order_body).bind(at)
            .execute(&mut *tx).await?;
        for (line_no, product_id, variant_id) in resolved.lines {
            sqlx::query("UPDATE purchase_order_lines SET product_id = $4, variant_id = $5 \
                WHERE tenant_id = $1 AND purchase_order_id = $2 AND line_no = $3")
                .bind(tenant_id).bind(po_id).bind(*line_no).bind(*product_id).bind(*variant_id)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// Ends an attempt whose outcome is unknown (the PO stays `sending`).
pub async fn attempt_unknown(
    db: &Db,
    tenant_id: i64,
    attempt_id: i64,
    error: &str,
) -> Result<(), DbError> {
    let sql = "UPDATE purchase_order_attempts SET finished_at = $3, outcome = 'unknown', error = $4 \
               WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(attempt_id).bind(now()).bind(error)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends an attempt that will be made again (429/5xx before sending, the store unreachable).
pub async fn attempt_retry(
    db: &Db,
    tenant_id: i64,
    attempt_id: i64,
    error: &str,
) -> Result<(), DbError> {
    // An attempt already ended as `unknown` keeps that outcome.
    let sql = "UPDATE purchase_order_attempts SET finished_at = $3, outcome = 'retry', error = $4 \
               WHERE tenant_id = $1 AND id = $2 AND outcome IS NULL";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(attempt_id).bind(now()).bind(error)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The PO became (or was found to be) order `order_id`: `sent`, the attempt ended as
/// `outcome` (`created` or `adopted`), and `event` in the outbox, in one transaction.
/// Returns the new delivery ids.
pub async fn mark_sent(
    db: &Db,
    tenant_id: i64,
    po_id: i64,
    attempt_id: i64,
    order_id: i64,
    outcome: &str,
    event: &NewEvent<'_>,
) -> Result<Vec<i64>, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE purchase_orders SET status = 'sent', bc_order_id = $3, failure_reason = NULL, \
            sent_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(po_id).bind(order_id).bind(at).execute(&mut *tx).await?;
        sqlx::query("UPDATE purchase_order_attempts SET finished_at = $3, outcome = $4, http_status = 200, \
            bc_order_id = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(attempt_id).bind(at).bind(outcome).bind(order_id)
            .execute(&mut *tx).await?;
        let deliveries = tx.insert_event(tenant_id, event).await?;
        tx.commit().await?;
        Ok(deliveries)
    })
}

/// The PO failed for `reason` (a person can act on it): `failed`, the attempt ended, and
/// `event` in the outbox, in one transaction. Returns the new delivery ids.
pub async fn mark_failed(
    db: &Db,
    tenant_id: i64,
    po_id: i64,
    attempt_id: i64,
    reason: &str,
    http_status: Option<i32>,
    event: &NewEvent<'_>,
) -> Result<Vec<i64>, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE purchase_orders SET status = 'failed', failure_reason = $3, updated_at = $4 \
            WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(po_id).bind(reason).bind(at).execute(&mut *tx).await?;
        sqlx::query("UPDATE purchase_order_attempts SET finished_at = $3, outcome = 'failed', error = $4, \
            http_status = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(attempt_id).bind(at).bind(reason).bind(http_status)
            .execute(&mut *tx).await?;
        let deliveries = tx.insert_event(tenant_id, event).await?;
        tx.commit().await?;
        Ok(deliveries)
    })
}

/// The snapshot's variant of `sku` on a connection: (product id, variant id, stock).
pub async fn snapshot_variant(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    sku: &str,
) -> Result<Option<(i64, i64, Option<i64>)>, DbError> {
    let sql = "SELECT product_id, variant_id, stock FROM inventory_variants \
               WHERE tenant_id = $1 AND connection_id = $2 AND sku = $3 ORDER BY variant_id LIMIT 1";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, (i64, i64, Option<i64>)>(sql).bind(tenant_id)
        .bind(connection_id).bind(sku).fetch_optional(p).await)?,
    )
}
