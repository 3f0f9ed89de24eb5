//! Inbound BigCommerce webhooks: each connection's public id and secret
//! (`bigcommerce_hook_keys`), the hooks flows registered (`bigcommerce_hooks`), the inbox of
//! deliveries (`bigcommerce_inbox`, written in batches with their processing jobs), the Placed
//! Orders records (`placed_orders`, written with their outbox event) and the sales-channel
//! overrides. Every function on tenant data takes the tenant id first; only the receiver's
//! lookup by public id (the URL names no tenant) and the batch writer do not.

use super::{BeginWrite, Db, DbError, now, on_pool, webhooks::NewEvent, webhooks::Outbox};

/// What the receiver needs to know about a public id (cached by the receiver).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub store_hash: String,
    /// Hex SHA-256 of the connection's hook secret.
    pub secret_sha256: String,
    /// The scopes some enabled flow registered on this connection.
    pub scopes: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    tenant_id: i64,
    connection_id: i64,
    store_hash: String,
    secret_sha256: String,
}

/// The connection behind a public id, with its registered scopes.
pub async fn endpoint(db: &Db, public_id: &str) -> Result<Option<Endpoint>, DbError> {
    let sql = "SELECT k.tenant_id, k.connection_id, c.store_hash, k.secret_sha256 \
               FROM bigcommerce_hook_keys k JOIN connections c ON c.id = k.connection_id \
               WHERE k.public_id = $1";
    let Some(row) = on_pool!(db, p => sqlx::query_as::<_, EndpointRow>(sql).bind(public_id)
        .fetch_optional(p).await)?
    else {
        return Ok(None);
    };
    let sql = "SELECT scope FROM bigcommerce_hooks WHERE tenant_id = $1 AND connection_id = $2";
    let scopes = on_pool!(db, p => sqlx::query_scalar::<_, String>(sql).bind(row.tenant_id)
        .bind(row.connection_id).fetch_all(p).await)?;
    Ok(Some(Endpoint {
        tenant_id: row.tenant_id,
        connection_id: row.connection_id,
        store_hash: row.store_hash,
        secret_sha256: row.secret_sha256,
        scopes,
    }))
}

/// A connection's hook key row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: i64,
    pub public_id: String,
    pub secret_ct: Vec<u8>,
}

pub async fn key(db: &Db, tenant_id: i64, connection_id: i64) -> Result<Option<KeyRow>, DbError> {
    let sql = "SELECT id, public_id, secret_ct FROM bigcommerce_hook_keys \
               WHERE tenant_id = $1 AND connection_id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, KeyRow>(sql).bind(tenant_id).bind(connection_id)
        .fetch_optional(p).await)?,
    )
}

/// Inserts a key row with a placeholder ciphertext and returns its id (the ciphertext's
/// associated data names the row id, so it is sealed after); `None` if one exists.
pub async fn insert_key(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    public_id: &str,
    secret_sha256: &str,
) -> Result<Option<i64>, DbError> {
    let sql = "INSERT INTO bigcommerce_hook_keys (tenant_id, connection_id, public_id, \
               secret_sha256, secret_ct, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (connection_id) DO NOTHING RETURNING id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(connection_id)
        .bind(public_id).bind(secret_sha256).bind(Vec::<u8>::new()).bind(now())
        .fetch_optional(p).await)?,
    )
}

/// Seals a key row its creator left unsealed (it died between the insert and the seal)
/// with a new secret; `false` if the row was sealed meanwhile.
pub async fn take_over_key(
    db: &Db,
    tenant_id: i64,
    id: i64,
    secret_sha256: &str,
    ct: &[u8],
) -> Result<bool, DbError> {
    let sql = "UPDATE bigcommerce_hook_keys SET secret_sha256 = $1, secret_ct = $2 \
               WHERE tenant_id = $3 AND id = $4 AND length(secret_ct) = 0";
    let updated = on_pool!(db, p => sqlx::query(sql).bind(secret_sha256).bind(ct).bind(tenant_id)
        .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(updated == 1)
}

pub async fn set_key_ct(db: &Db, tenant_id: i64, id: i64, ct: &[u8]) -> Result<(), DbError> {
    let sql = "UPDATE bigcommerce_hook_keys SET secret_ct = $1 WHERE tenant_id = $2 AND id = $3";
    on_pool!(db, p => sqlx::query(sql).bind(ct).bind(tenant_id).bind(id).execute(p).await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One registered hook.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HookRow {
    pub id: i64,
    pub connection_id: i64,
    pub flow: String,
    pub scope: String,
    pub bc_hook_id: Option<i64>,
    pub is_active: bool,
    pub problem: Option<String>,
    pub last_checked_at: Option<i64>,
    pub created_at: i64,
}

const HOOK_COLUMNS: &str =
    "id, connection_id, flow, scope, bc_hook_id, is_active, problem, last_checked_at, created_at";

/// The hooks of a connection (every flow when `flow` is `None`), by scope.
pub async fn hooks(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: Option<&str>,
) -> Result<Vec<HookRow>, DbError> {
    let sql = format!(
        "SELECT {HOOK_COLUMNS} FROM bigcommerce_hooks WHERE tenant_id = $1 AND connection_id = $2 \
         AND ($3 IS NULL OR flow = $3) ORDER BY scope"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, HookRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(flow).fetch_all(p).await)?,
    )
}

/// Records that `flow` wants `scope` on the connection (from now on deliveries are accepted).
pub async fn upsert_hook(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    scope: &str,
) -> Result<(), DbError> {
    let sql = "INSERT INTO bigcommerce_hooks (tenant_id, connection_id, flow, scope, is_active, \
               created_at) VALUES ($1, $2, $3, $4, FALSE, $5) \
               ON CONFLICT (connection_id, scope) DO NOTHING";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(connection_id).bind(flow).bind(scope)
        .bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What the last registration or check found for a hook.
pub async fn record_hook(
    db: &Db,
    tenant_id: i64,
    id: i64,
    bc_hook_id: Option<i64>,
    is_active: bool,
    problem: Option<&str>,
) -> Result<bool, DbError> {
    let sql = "UPDATE bigcommerce_hooks SET bc_hook_id = $1, is_active = $2, problem = $3, \
               last_checked_at = $4 WHERE tenant_id = $5 AND id = $6";
    let updated = on_pool!(db, p => sqlx::query(sql).bind(bc_hook_id).bind(is_active)
        .bind(problem).bind(now()).bind(tenant_id).bind(id).execute(p).await
        .map(|r| r.rows_affected()))?;
    Ok(updated > 0)
}

pub async fn delete_hook(db: &Db, tenant_id: i64, id: i64) -> Result<(), DbError> {
    let sql = "DELETE FROM bigcommerce_hooks WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(id).execute(p).await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A delivery the receiver accepted, to store with its processing job.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub store_hash: String,
    pub scope: String,
    pub hash: String,
    pub data_id: Option<i64>,
    pub window_key: String,
    pub body: String,
}

/// The job kind that processes one inbox row.
pub const INBOX_JOB: &str = "bigcommerce_webhook";

/// Most rows in one multi-row INSERT. A batch is cut into power-of-two chunks (128, 64, …,
/// 1), so each table needs at most eight distinct statements and every one stays prepared.
const CHUNK: usize = 128;

/// `($first, …), (…), …`: `rows` groups of `width` numbered placeholders, from `$first`.
fn placeholders(rows: usize, width: usize, first: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(first + r * width + c).to_string());
        }
        sql.push_str(tail);
        sql.push(')');
    }
    sql
}

/// The power-of-two chunks a batch of `len` is cut into, largest first.
fn chunks(mut len: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while len > 0 {
        let size = if len >= CHUNK {
            CHUNK
        } else {
            1 << (usize::BITS - 1 - len.leading_zeros())
        };
        sizes.push(size);
        len -= size;
    }
    sizes
}

/// The receiver's own database connection, held by its one writer task outside the pool:
/// a batch never waits for (or pings) a pooled connection and its prepared statements stay
/// cached. Reopened after any error. On SQLite it keeps the default WAL autocheckpoint
/// (every 1,000 pages, inside the commit that crosses it): a checkpoint run beside a
/// writer that never pauses never lets the WAL restart, and rarer, larger checkpoints
/// stall longer (measured with `bench webhooks --rate`: 1,000 pages gave the lowest p99).
pub struct InboxWriter {
    db: Db,
    conn: Option<WriterConnection>,
}

enum WriterConnection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl InboxWriter {
    pub fn new(db: Db) -> Self {
        Self { db, conn: None }
    }

    async fn open(db: &Db) -> Result<WriterConnection, sqlx::Error> {
        Ok(match db {
            Db::Sqlite(p) => WriterConnection::Sqlite(p.acquire().await?.detach()),
            Db::Postgres(p) => WriterConnection::Postgres(p.acquire().await?.detach()),
        })
    }

    /// Stores deliveries and one processing job per new one, in one transaction (the
    /// receiver's group commit). Returns, per delivery, whether it was new (a duplicate, of
    /// a stored one or of an earlier one in the same batch, is stored once). Rows go in
    /// multi-row INSERTs: two statements per chunk instead of two per delivery.
    pub async fn insert(
        &mut self,
        deliveries: &[NewDelivery],
        max_attempts: i32,
    ) -> Result<Vec<bool>, DbError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(Self::open(&self.db).await?),
        };
        let result = match conn {
            WriterConnection::Sqlite(c) => {
                let tx = sqlx::Connection::begin_with(c, super::SQLITE_BEGIN_WRITE).await;
                insert_batch(tx, deliveries, max_attempts).await
            }
            WriterConnection::Postgres(c) => {
                insert_batch(sqlx::Connection::begin(c).await, deliveries, max_attempts).await
            }
        };
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}

async fn insert_batch<DB>(
    tx: Result<sqlx::Transaction<'_, DB>, sqlx::Error>,
    deliveries: &[NewDelivery],
    max_attempts: i32,
) -> Result<Vec<bool>, DbError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Decode<'static, DB> + sqlx::Type<DB>,
    i32: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: for<'q> sqlx::Encode<'q, DB>,
    (i64, i64, String): for<'r> sqlx::FromRow<'r, DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut tx = tx?;
    let at = now();
    let mut fresh = Vec::with_capacity(deliveries.len());
    let mut offset = 0;
    for size in chunks(deliveries.len()) {
        let chunk = &deliveries[offset..offset + size];
        offset += size;
        // $1 is the time; each row's seven values follow.
        let inbox = format!(
            "INSERT INTO bigcommerce_inbox (tenant_id, connection_id, scope, hash, data_id, \
             window_key, body, received_at, status) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING id, connection_id, hash",
            placeholders(size, 7, 2, ", $1, 'received'")
        );
        let mut insert = sqlx::query_as::<DB, (i64, i64, String)>(&inbox).bind(at);
        for d in chunk {
            insert = insert
                .bind(d.tenant_id)
                .bind(d.connection_id)
                .bind(d.scope.as_str())
                .bind(d.hash.as_str())
                .bind(d.data_id)
                .bind(d.window_key.as_str())
                .bind(d.body.as_str());
        }
        let mut inserted: std::collections::HashMap<(i64, String), i64> = insert
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id, connection, hash)| ((connection, hash), id))
            .collect();
        // The first delivery of each inserted (connection, hash) is the new one.
        let new: Vec<(&NewDelivery, i64)> = chunk
            .iter()
            .filter_map(|d| {
                let id = inserted.remove(&(d.connection_id, d.hash.clone()));
                fresh.push(id.is_some());
                id.map(|id| (d, id))
            })
            .collect();
        if new.is_empty() {
            continue;
        }
        // $1 time, $2 kind, $3 attempts allowed; each job's five values follow.
        let jobs = format!(
            "INSERT INTO jobs (tenant_id, connection_id, job_key, store_hash, payload, kind, \
             run_at, max_attempts, status, attempts, created_at, updated_at) VALUES {}",
            placeholders(new.len(), 5, 4, ", $2, $1, $3, 'queued', 0, $1, $1")
        );
        let mut insert = sqlx::query::<DB>(&jobs)
            .bind(at)
            .bind(INBOX_JOB)
            .bind(max_attempts);
        for (d, id) in new {
            insert = insert
                .bind(d.tenant_id)
                .bind(d.connection_id)
                .bind(format!("inbox:{id}"))
                .bind(d.store_hash.as_str())
                .bind(format!("{{\"inbox_id\":{id}}}"));
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(fresh)
}

/// One stored delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: i64,
    pub scope: String,
    pub hash: String,
    pub data_id: Option<i64>,
    pub body: String,
    pub status: String,
    pub outcome: Option<String>,
    pub received_at: i64,
}

const INBOX_COLUMNS: &str =
    "id, tenant_id, connection_id, scope, hash, data_id, body, status, outcome, received_at";

pub async fn inbox_row(db: &Db, tenant_id: i64, id: i64) -> Result<Option<InboxRow>, DbError> {
    let sql =
        format!("SELECT {INBOX_COLUMNS} FROM bigcommerce_inbox WHERE tenant_id = $1 AND id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InboxRow>(&sql).bind(tenant_id).bind(id)
        .fetch_optional(p).await)?,
    )
}

/// A connection's deliveries, newest first.
pub async fn inbox(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    limit: i64,
) -> Result<Vec<InboxRow>, DbError> {
    let sql = format!(
        "SELECT {INBOX_COLUMNS} FROM bigcommerce_inbox WHERE tenant_id = $1 AND connection_id = $2 \
         ORDER BY id DESC LIMIT $3"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InboxRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(limit).fetch_all(p).await)?,
    )
}

/// Records how a delivery was processed (`done`, `skipped` with the reason, `failed`).
pub async fn finish_inbox(
    db: &Db,
    tenant_id: i64,
    id: i64,
    status: &str,
    outcome: Option<&str>,
) -> Result<(), DbError> {
    let sql = "UPDATE bigcommerce_inbox SET status = $1, outcome = $2, processed_at = $3 \
               WHERE tenant_id = $4 AND id = $5";
    on_pool!(db, p => sqlx::query(sql).bind(status).bind(outcome).bind(now()).bind(tenant_id)
        .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A Placed Orders record to write with its event.
#[derive(Debug, Clone)]
pub struct NewPlacedOrder<'a> {
    pub connection_id: i64,
    pub order_id: i64,
    pub origin: &'a str,
    pub order_source: &'a str,
    pub sales_channel: &'a str,
    pub channel_id: i64,
    pub storefront: &'a str,
    pub status: &'a str,
    pub total: &'a str,
    pub currency: &'a str,
    pub order_created_at: i64,
    pub run_id: Option<i64>,
}

/// Writes the record and its `order.placed` event (and deliveries) in one transaction.
/// Returns `None` when the order was already emitted (by a webhook or a reconciliation),
/// else the new outbound delivery ids.
pub async fn emit_placed_order(
    db: &Db,
    tenant_id: i64,
    order: &NewPlacedOrder<'_>,
    event: &NewEvent<'_>,
) -> Result<Option<Vec<i64>>, DbError> {
    let insert = "INSERT INTO placed_orders (tenant_id, connection_id, order_id, origin, \
                  order_source, sales_channel, channel_id, storefront, status, total, currency, \
                  order_created_at, run_id, created_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                  ON CONFLICT (connection_id, order_id) DO NOTHING RETURNING id";
    let link = "UPDATE placed_orders SET event_id = (SELECT id FROM webhook_events \
                WHERE tenant_id = $1 AND dedupe_key = $2) WHERE tenant_id = $1 AND id = $3";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let id = sqlx::query_scalar::<_, i64>(insert).bind(tenant_id).bind(order.connection_id)
            .bind(order.order_id).bind(order.origin).bind(order.order_source)
            .bind(order.sales_channel).bind(order.channel_id).bind(order.storefront)
            .bind(order.status).bind(order.total).bind(order.currency)
            .bind(order.order_created_at).bind(order.run_id).bind(now())
            .fetch_optional(&mut *tx).await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let deliveries = tx.insert_event(tenant_id, event).await?;
        sqlx::query(link).bind(tenant_id).bind(event.dedupe_key).bind(id)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(deliveries))
    })
}

/// One Placed Orders record, with its event's body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlacedOrderRow {
    pub id: i64,
    pub connection_id: i64,
    pub order_id: i64,
    pub origin: String,
    pub order_source: String,
    pub sales_channel: String,
    pub channel_id: i64,
    pub storefront: String,
    pub status: String,
    pub total: String,
    pub currency: String,
    pub order_created_at: i64,
    pub created_at: i64,
    pub payload: Option<String>,
}

/// Placed orders after keyset position `after`, oldest first, of the connections in
/// `connections` (every connection of the tenant when `None`).
pub async fn placed_orders(
    db: &Db,
    tenant_id: i64,
    connections: Option<&[i64]>,
    after: i64,
    limit: i64,
) -> Result<Vec<PlacedOrderRow>, DbError> {
    let only = match connections {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(ids) => format!(
            " AND p.connection_id IN ({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sql = format!(
        "SELECT p.id, p.connection_id, p.order_id, p.origin, p.order_source, p.sales_channel, \
         p.channel_id, p.storefront, p.status, p.total, p.currency, p.order_created_at, \
         p.created_at, e.payload FROM placed_orders p \
         LEFT JOIN webhook_events e ON e.id = p.event_id AND e.tenant_id = p.tenant_id \
         WHERE p.tenant_id = $1 AND p.id > $2{only} ORDER BY p.id LIMIT $3"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PlacedOrderRow>(&sql).bind(tenant_id)
        .bind(after).bind(limit).fetch_all(p).await)?,
    )
}

/// The newest placed orders of a connection (the Events page).
pub async fn recent_placed_orders(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    limit: i64,
) -> Result<Vec<PlacedOrderRow>, DbError> {
    let sql = "SELECT p.id, p.connection_id, p.order_id, p.origin, p.order_source, p.sales_channel, \
               p.channel_id, p.storefront, p.status, p.total, p.currency, p.order_created_at, \
               p.created_at, NULL AS payload FROM placed_orders p \
               WHERE p.tenant_id = $1 AND p.connection_id = $2 ORDER BY p.id DESC LIMIT $3";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PlacedOrderRow>(sql).bind(tenant_id)
        .bind(connection_id).bind(limit).fetch_all(p).await)?,
    )
}

/// Whether the order was already emitted.
pub async fn placed_order_exists(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    order_id: i64,
) -> Result<bool, DbError> {
    let sql = "SELECT COUNT(*) FROM placed_orders WHERE tenant_id = $1 AND connection_id = $2 \
               AND order_id = $3";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(connection_id)
        .bind(order_id).fetch_one(p).await)?
            > 0,
    )
}

/// The connection's overrides of the default sales-channel table: (order_source, channel).
pub async fn overrides(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Vec<(String, String)>, DbError> {
    let sql = "SELECT order_source, sales_channel FROM sales_channel_overrides \
               WHERE tenant_id = $1 AND connection_id = $2 ORDER BY order_source";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, (String, String)>(sql).bind(tenant_id)
        .bind(connection_id).fetch_all(p).await)?,
    )
}

/// Replaces the connection's overrides.
pub async fn replace_overrides(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    overrides: &[(String, String)],
) -> Result<(), DbError> {
    let delete = "DELETE FROM sales_channel_overrides WHERE tenant_id = $1 AND connection_id = $2";
    let insert = "INSERT INTO sales_channel_overrides (tenant_id, connection_id, order_source, \
                  sales_channel, created_at) VALUES ($1, $2, $3, $4, $5)";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(delete).bind(tenant_id).bind(connection_id).execute(&mut *tx).await?;
        for (source, channel) in overrides {
            sqlx::query(insert).bind(tenant_id).bind(connection_id).bind(source).bind(channel)
                .bind(now()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// Records a reconciliation run's counts and checkpoint: `created` = emitted by this run,
/// `unchanged` = already emitted (by a webhook or an earlier run), `skipped` = filtered out.
#[allow(clippy::too_many_arguments)]
pub async fn set_run_counts(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    fetched: i64,
    created: i64,
    unchanged: i64,
    skipped: i64,
    cursor: &str,
) -> Result<(), DbError> {
    let sql = "UPDATE runs SET fetched = $1, done = $1, created = $2, unchanged = $3, skipped = $4, \
               cursor = $5 WHERE tenant_id = $6 AND id = $7";
    on_pool!(db, p => sqlx::query(sql).bind(fetched).bind(created).bind(unchanged).bind(skipped)
        .bind(cursor).bind(tenant_id).bind(run_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Adds one item (an order skipped, with why) to a run.
pub async fn add_run_item(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    external_id: &str,
    outcome: &str,
    message: &str,
) -> Result<(), DbError> {
    let sql = "INSERT INTO run_items (run_id, tenant_id, external_id, outcome, message, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    on_pool!(db, p => sqlx::query(sql).bind(run_id).bind(tenant_id).bind(external_id)
        .bind(outcome).bind(message).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Placed orders of a connection by origin since `since` (a run's detail).
pub async fn count_by_origin(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    origin: &str,
    since: i64,
) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM placed_orders WHERE tenant_id = $1 AND connection_id = $2 \
               AND origin = $3 AND order_created_at >= $4";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(connection_id)
        .bind(origin).bind(since).fetch_one(p).await)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_power_of_two_chunks_that_add_up() {
        assert_eq!(chunks(0), Vec::<usize>::new());
        assert_eq!(chunks(1), vec![1]);
        assert_eq!(chunks(100), vec![64, 32, 4]);
        assert_eq!(chunks(300), vec![128, 128, 32, 8, 4]);
        for len in 0..600 {
            let sizes = chunks(len);
            assert_eq!(sizes.iter().sum::<usize>(), len);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= CHUNK));
        }
    }

    #[test]
    fn placeholders_number_each_row_after_the_shared_ones() {
        assert_eq!(placeholders(2, 2, 3, ", $1"), "($3, $4, $1), ($5, $6, $1)");
    }
}
