//! The outbox writes: an event and its deliveries, inside the caller's transaction
//! ([`Outbox`], for both backends) or in one of their own ([`emit`] and friends), and the
//! stored body of an event (the Standard Webhooks envelope).

use serde_json::{Value, json};

use super::super::{BeginWrite, Db, DbError, inventory::EventRow as StockEventRow, now, on_pool};

/// Changed variants per `inventory.changed` event.
pub const INVENTORY_BATCH: i64 = 500;

/// A fresh Standard Webhooks message id (`msg_…`).
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// The stored (and sent) body of an event: the Standard Webhooks envelope
/// `{"type", "timestamp", "data"}`.
pub fn envelope(event_type: &str, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string()
}

/// An event to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    /// The Standard Webhooks message id (`msg_…`).
    pub message_id: &'a str,
    /// Emitting the same key twice stores the event once.
    pub dedupe_key: &'a str,
    /// The JSON body sent to endpoints.
    pub payload: &'a str,
}

/// Writes events and their deliveries inside a caller's transaction.
pub trait Outbox {
    /// Stores the event and one pending delivery for every enabled endpoint of the tenant
    /// that subscribes to its type; returns the new delivery ids (empty when the event was
    /// already stored under its dedupe key, or nobody subscribes).
    fn insert_event(
        &mut self,
        tenant_id: i64,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Vec<i64>, DbError>> + Send;

    /// Stores `inventory.changed` for run `run_id`: its stock-change events (as written in
    /// this transaction or before), by id, in batches of [`INVENTORY_BATCH`], one event per
    /// batch (dedupe key `inventory.changed:run:{run_id}:{batch}`). Call it in the merge
    /// transaction, after the events are inserted, so snapshot and outbox commit together.
    /// Returns the new delivery ids.
    fn insert_inventory_changed(
        &mut self,
        tenant_id: i64,
        connection_id: i64,
        run_id: i64,
    ) -> impl Future<Output = Result<Vec<i64>, DbError>> + Send;

    /// Stores the event with one delivery to `endpoint_id` only (test events); `None` when
    /// the tenant has no such endpoint.
    fn insert_event_for_endpoint(
        &mut self,
        tenant_id: i64,
        endpoint_id: i64,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Option<i64>, DbError>> + Send;
}

const INSERT_EVENT: &str = "INSERT INTO webhook_events (tenant_id, event_type, message_id, dedupe_key, \
    payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id";
const INSERT_DELIVERIES: &str = "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, \
    status, attempts, next_attempt_at, created_at) \
    SELECT $1, e.id, $2, 'pending', 0, $3, $3 FROM webhook_endpoints e \
    WHERE e.tenant_id = $1 AND e.status = 'enabled' AND (' ' || e.event_types || ' ') LIKE $4 \
    RETURNING id";
const INSERT_ONE_DELIVERY: &str = "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, \
    status, attempts, next_attempt_at, created_at) \
    SELECT $1, e.id, $2, 'pending', 0, $3, $3 FROM webhook_endpoints e \
    WHERE e.tenant_id = $1 AND e.id = $4 RETURNING id";

const COUNT_RUN_EVENTS: &str =
    "SELECT COUNT(*) FROM inventory_events WHERE tenant_id = $1 AND run_id = $2";
const RUN_EVENTS: &str = "SELECT id, run_id, product_id, variant_id, sku, kind, old_stock, \
    new_stock, created_at FROM inventory_events WHERE tenant_id = $1 AND run_id = $2 AND id > $3 \
    ORDER BY id LIMIT $4";

/// The `data` of one `inventory.changed` event.
fn inventory_changed_data(
    connection_id: i64,
    run_id: i64,
    batch: i64,
    batches: i64,
    rows: &[StockEventRow],
) -> Value {
    let changes: Vec<Value> = rows
        .iter()
        .map(|e| {
            json!({
                "event_id": e.id, "product_id": e.product_id, "variant_id": e.variant_id,
                "sku": e.sku, "kind": e.kind, "old_stock": e.old_stock, "new_stock": e.new_stock,
            })
        })
        .collect();
    json!({
        "connection_id": connection_id, "run_id": run_id,
        "batch": batch, "batches": batches, "changes": changes,
    })
}

macro_rules! outbox_for {
    ($database:ty) => {
        impl Outbox for sqlx::Transaction<'_, $database> {
            async fn insert_event(
                &mut self,
                tenant_id: i64,
                event: &NewEvent<'_>,
            ) -> Result<Vec<i64>, DbError> {
                let at = now();
                let id = sqlx::query_scalar::<_, i64>(INSERT_EVENT)
                    .bind(tenant_id)
                    .bind(event.event_type)
                    .bind(event.message_id)
                    .bind(event.dedupe_key)
                    .bind(event.payload)
                    .bind(at)
                    .fetch_optional(&mut **self)
                    .await?;
                let Some(id) = id else { return Ok(Vec::new()) };
                let pattern = format!("% {} %", event.event_type);
                Ok(sqlx::query_scalar::<_, i64>(INSERT_DELIVERIES)
                    .bind(tenant_id)
                    .bind(id)
                    .bind(at)
                    .bind(pattern)
                    .fetch_all(&mut **self)
                    .await?)
            }

            async fn insert_inventory_changed(
                &mut self,
                tenant_id: i64,
                connection_id: i64,
                run_id: i64,
            ) -> Result<Vec<i64>, DbError> {
                let total = sqlx::query_scalar::<_, i64>(COUNT_RUN_EVENTS)
                    .bind(tenant_id)
                    .bind(run_id)
                    .fetch_one(&mut **self)
                    .await?;
                let batches = (total + INVENTORY_BATCH - 1) / INVENTORY_BATCH;
                let mut deliveries = Vec::new();
                let mut after = 0;
                for batch in 0..batches {
                    let rows = sqlx::query_as::<_, StockEventRow>(RUN_EVENTS)
                        .bind(tenant_id)
                        .bind(run_id)
                        .bind(after)
                        .bind(INVENTORY_BATCH)
                        .fetch_all(&mut **self)
                        .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.id;
                    let body = envelope(
                        "inventory.changed",
                        inventory_changed_data(connection_id, run_id, batch + 1, batches, &rows),
                    );
                    let key = format!("inventory.changed:run:{run_id}:{batch}");
                    let id = message_id();
                    let event = NewEvent {
                        event_type: "inventory.changed",
                        message_id: &id,
                        dedupe_key: &key,
                        payload: &body,
                    };
                    deliveries.extend(self.insert_event(tenant_id, &event).await?);
                }
                Ok(deliveries)
            }

            async fn insert_event_for_endpoint(
                &mut self,
                tenant_id: i64,
                endpoint_id: i64,
                event: &NewEvent<'_>,
            ) -> Result<Option<i64>, DbError> {
                let at = now();
                let Some(id) = sqlx::query_scalar::<_, i64>(INSERT_EVENT)
                    .bind(tenant_id)
                    .bind(event.event_type)
                    .bind(event.message_id)
                    .bind(event.dedupe_key)
                    .bind(event.payload)
                    .bind(at)
                    .fetch_optional(&mut **self)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(sqlx::query_scalar::<_, i64>(INSERT_ONE_DELIVERY)
                    .bind(tenant_id)
                    .bind(id)
                    .bind(at)
                    .bind(endpoint_id)
                    .fetch_optional(&mut **self)
                    .await?)
            }
        }
    };
}
outbox_for!(sqlx::Sqlite);
outbox_for!(sqlx::Postgres);

/// Stores `events` and their deliveries in one transaction of its own; returns the new
/// delivery ids.
pub async fn emit(db: &Db, tenant_id: i64, events: &[NewEvent<'_>]) -> Result<Vec<i64>, DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let mut ids = Vec::new();
        for event in events {
            ids.extend(tx.insert_event(tenant_id, event).await?);
        }
        tx.commit().await?;
        Ok(ids)
    })
}

/// Stores `inventory.changed` for a finished run in a transaction of its own (see
/// [`Outbox::insert_inventory_changed`]); returns the new delivery ids.
pub async fn emit_inventory_changed(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    run_id: i64,
) -> Result<Vec<i64>, DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let ids = tx.insert_inventory_changed(tenant_id, connection_id, run_id).await?;
        tx.commit().await?;
        Ok(ids)
    })
}

/// Stores a test event with one delivery to `endpoint_id`; `None`: no such endpoint.
pub async fn emit_to_endpoint(
    db: &Db,
    tenant_id: i64,
    endpoint_id: i64,
    event: &NewEvent<'_>,
) -> Result<Option<i64>, DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let id = tx.insert_event_for_endpoint(tenant_id, endpoint_id, event).await?;
        tx.commit().await?;
        Ok(id)
    })
}
