//! `shipments` and `shipment_items` (Get Shipments): one row per (connection, BigCommerce
//! shipment id), its items mapped back to purchase-order lines and SKUs, and what recording
//! one does to its purchase order (`quantity_shipped` per line, `partially_shipped` /
//! `shipped`), all in one transaction with its `shipment.created` / `shipment.updated`
//! event in the outbox. Every function takes the tenant first.

use serde::Serialize;
use utoipa::ToSchema;

use super::{BeginWrite, Db, DbError, now, on_pool, webhooks as outbox, webhooks::Outbox};

/// A shipment as the API, the pages, events and the PO resource show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShipmentView {
    /// cartbridge's id of the shipment.
    pub id: i64,
    pub connection_id: i64,
    /// BigCommerce's shipment id (unique per store).
    pub shipment_id: i64,
    /// The BigCommerce order it ships.
    pub order_id: i64,
    /// The purchase order that order came from, when cartbridge sent it.
    pub purchase_order_id: Option<i64>,
    pub po_number: Option<String>,
    /// BigCommerce's `shipping_provider` code as sent (`ups`, `carrier_1234`, `""`, …).
    pub shipping_provider: String,
    /// The carrier's display name (`shipping_provider_display_name`).
    pub carrier: String,
    /// BigCommerce's `tracking_carrier` (an AfterShip slug, or `""`).
    pub tracking_carrier: String,
    /// Set when `shipping_provider` is not one BigCommerce documents (kept as sent).
    pub carrier_note: Option<String>,
    pub tracking_number: String,
    /// `tracking_link` when the store set one, else `generated_tracking_link`; `""` when
    /// BigCommerce gave neither.
    pub tracking_link: String,
    /// Which field `tracking_link` came from: `tracking_link`, `generated_tracking_link`
    /// or `none`.
    pub tracking_link_source: String,
    pub shipping_method: String,
    /// When the store created the shipment (RFC 3339), if it said.
    pub shipped_at: Option<String>,
    pub items: Vec<ShipmentItemView>,
    /// When cartbridge first recorded it, and last recorded a change (RFC 3339).
    pub created_at: String,
    pub updated_at: String,
}

/// One shipped line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShipmentItemView {
    /// The order line (`order_product_id`).
    pub order_product_id: i64,
    pub product_id: Option<i64>,
    /// The SKU of the PO line it ships, when known.
    pub sku: Option<String>,
    pub quantity: i64,
    /// The PO line (`lines[]` index) it ships, when it maps to one.
    pub po_line: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ShipmentRow {
    id: i64,
    connection_id: i64,
    bc_shipment_id: i64,
    bc_order_id: i64,
    purchase_order_id: Option<i64>,
    po_number: Option<String>,
    shipping_provider: String,
    provider_display_name: String,
    tracking_carrier: String,
    carrier_note: Option<String>,
    tracking_number: String,
    tracking_link: String,
    tracking_link_source: String,
    shipping_method: String,
    shipped_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ItemRow {
    order_product_id: i64,
    product_id: Option<i64>,
    quantity: i64,
    sku: Option<String>,
    line_no: Option<i64>,
}

const SELECT: &str = "SELECT s.id, s.connection_id, s.bc_shipment_id, s.bc_order_id, \
    s.purchase_order_id, po.po_number, s.shipping_provider, s.provider_display_name, \
    s.tracking_carrier, s.carrier_note, s.tracking_number, s.tracking_link, \
    s.tracking_link_source, s.shipping_method, s.shipped_at, s.created_at, s.updated_at \
    FROM shipments s LEFT JOIN purchase_orders po \
    ON po.id = s.purchase_order_id AND po.tenant_id = s.tenant_id";

const SELECT_ITEMS: &str = "SELECT i.order_product_id, i.product_id, i.quantity, \
    COALESCE(i.sku, l.sku) AS sku, CAST(l.line_no AS BIGINT) AS line_no \
    FROM shipment_items i LEFT JOIN purchase_order_lines l \
    ON l.id = i.purchase_order_line_id AND l.tenant_id = i.tenant_id \
    WHERE i.tenant_id = $1 AND i.shipment_id = $2 ORDER BY i.id";

fn view(row: ShipmentRow, items: Vec<ItemRow>) -> ShipmentView {
    let at = crate::partner_api::rfc3339;
    ShipmentView {
        id: row.id,
        connection_id: row.connection_id,
        shipment_id: row.bc_shipment_id,
        order_id: row.bc_order_id,
        purchase_order_id: row.purchase_order_id,
        po_number: row.po_number,
        shipping_provider: row.shipping_provider,
        carrier: row.provider_display_name,
        tracking_carrier: row.tracking_carrier,
        carrier_note: row.carrier_note,
        tracking_number: row.tracking_number,
        tracking_link: row.tracking_link,
        tracking_link_source: row.tracking_link_source,
        shipping_method: row.shipping_method,
        shipped_at: row.shipped_at.map(at),
        items: items
            .into_iter()
            .map(|i| ShipmentItemView {
                order_product_id: i.order_product_id,
                product_id: i.product_id,
                sku: i.sku,
                quantity: i.quantity,
                po_line: i.line_no,
            })
            .collect(),
        created_at: at(row.created_at),
        updated_at: at(row.updated_at),
    }
}

/// Views of `rows`, with their items (one query per shipment; pages are small).
async fn with_items(
    db: &Db,
    tenant_id: i64,
    rows: Vec<ShipmentRow>,
) -> Result<Vec<ShipmentView>, DbError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let items = on_pool!(db, p => sqlx::query_as::<_, ItemRow>(SELECT_ITEMS)
            .bind(tenant_id).bind(row.id).fetch_all(p).await)?;
        out.push(view(row, items));
    }
    Ok(out)
}

/// A purchase order as Get Shipments needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoRef {
    pub id: i64,
    pub connection_id: i64,
    pub po_number: String,
    pub status: String,
}

/// A PO line as Get Shipments maps shipment items onto it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoLine {
    pub id: i64,
    pub line_no: i64,
    pub sku: String,
    pub quantity: i64,
    pub variant_id: Option<i64>,
    pub order_product_id: Option<i64>,
    pub quantity_shipped: i64,
}

/// The purchase order cartbridge sent as BigCommerce order `bc_order_id`, if any.
pub async fn po_for_order(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    bc_order_id: i64,
) -> Result<Option<PoRef>, DbError> {
    let sql = "SELECT id, connection_id, po_number, status FROM purchase_orders \
               WHERE tenant_id = $1 AND connection_id = $2 AND bc_order_id = $3 ORDER BY id LIMIT 1";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoRef>(sql).bind(tenant_id).bind(connection_id)
        .bind(bc_order_id).fetch_optional(p).await)?,
    )
}

/// Which of `order_ids` are orders cartbridge sent (a PO names them).
pub async fn sent_orders_among(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    order_ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for chunk in order_ids.chunks(250) {
        let rows: Vec<i64> = on_pool!(db, p => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT bc_order_id FROM purchase_orders WHERE tenant_id = ",
            );
            q.push_bind(tenant_id).push(" AND connection_id = ").push_bind(connection_id)
                .push(" AND bc_order_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            q.build_query_scalar::<i64>().fetch_all(p).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// The PO's lines, in `lines[]` order.
pub async fn po_lines(db: &Db, tenant_id: i64, po_id: i64) -> Result<Vec<PoLine>, DbError> {
    let sql = "SELECT id, CAST(line_no AS BIGINT) AS line_no, sku, quantity, variant_id, \
               order_product_id, quantity_shipped FROM purchase_order_lines \
               WHERE tenant_id = $1 AND purchase_order_id = $2 ORDER BY line_no";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoLine>(sql).bind(tenant_id).bind(po_id)
        .fetch_all(p).await)?,
    )
}

/// Records which order line (`order_product_id`) each PO line became.
pub async fn set_order_products(
    db: &Db,
    tenant_id: i64,
    pairs: &[(i64, i64)],
) -> Result<(), DbError> {
    let sql = "UPDATE purchase_order_lines SET order_product_id = $1 \
               WHERE tenant_id = $2 AND id = $3 AND order_product_id IS NULL";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        for (line_id, order_product_id) in pairs {
            sqlx::query(sql).bind(order_product_id).bind(tenant_id).bind(line_id)
                .execute(&mut *tx).await?;
        }
        tx.commit().await
    })?;
    Ok(())
}

/// A shipment as fetched and mapped, to record.
#[derive(Debug, Clone)]
pub struct NewShipment {
    pub connection_id: i64,
    pub bc_shipment_id: i64,
    pub bc_order_id: i64,
    pub purchase_order_id: Option<i64>,
    pub shipping_provider: String,
    pub provider_display_name: String,
    pub tracking_carrier: String,
    pub carrier_note: Option<String>,
    pub tracking_number: String,
    pub tracking_link: String,
    pub tracking_link_source: &'static str,
    pub shipping_method: String,
    pub shipped_at: Option<i64>,
    /// Of everything above and the items: equal fingerprints record nothing.
    pub fingerprint: String,
    pub items: Vec<NewShipmentItem>,
}

#[derive(Debug, Clone)]
pub struct NewShipmentItem {
    pub order_product_id: i64,
    pub product_id: Option<i64>,
    pub quantity: i64,
    pub purchase_order_line_id: Option<i64>,
    pub sku: Option<String>,
}

/// What recording a shipment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Created,
    Updated,
    Unchanged,
}

pub const CREATED: &str = "shipment.created";
pub const UPDATED: &str = "shipment.updated";

/// Records a shipment: new (with `shipment.created`), changed (`shipment.updated`) or
/// unchanged (nothing written). Its items are replaced, its PO's lines' `quantity_shipped`
/// recomputed from every shipment of the PO and the PO moved to `partially_shipped` or
/// `shipped`, all in one transaction with the event. Returns the outcome and the new
/// delivery ids to queue.
pub async fn record(
    db: &Db,
    tenant_id: i64,
    s: &NewShipment,
) -> Result<(Recorded, Vec<i64>), DbError> {
    let at = now();
    let insert = "INSERT INTO shipments (tenant_id, connection_id, bc_shipment_id, bc_order_id, \
        purchase_order_id, shipping_provider, provider_display_name, tracking_carrier, carrier_note, \
        tracking_number, tracking_link, tracking_link_source, shipping_method, shipped_at, \
        fingerprint, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
        ON CONFLICT (connection_id, bc_shipment_id) DO NOTHING RETURNING id";
    let update = "UPDATE shipments SET purchase_order_id = $1, shipping_provider = $2, \
        provider_display_name = $3, tracking_carrier = $4, carrier_note = $5, tracking_number = $6, \
        tracking_link = $7, tracking_link_source = $8, shipping_method = $9, shipped_at = $10, \
        fingerprint = $11, updated_at = $12 WHERE tenant_id = $13 AND id = $14 AND fingerprint = $15";
    let existing = "SELECT id, fingerprint FROM shipments \
        WHERE tenant_id = $1 AND connection_id = $2 AND bc_shipment_id = $3";
    let insert_item = "INSERT INTO shipment_items (tenant_id, shipment_id, order_product_id, \
        product_id, quantity, purchase_order_line_id, sku) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let shipped = "UPDATE purchase_order_lines SET quantity_shipped = (\
        SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM shipment_items i \
        WHERE i.tenant_id = $1 AND i.purchase_order_line_id = purchase_order_lines.id) \
        WHERE tenant_id = $1 AND purchase_order_id = $2";
    // SUM of BIGINT is NUMERIC on PostgreSQL: cast back.
    let totals = "SELECT CAST(COALESCE(SUM(CASE WHEN quantity_shipped >= quantity THEN 0 ELSE 1 END), 0) AS BIGINT), \
        CAST(COALESCE(SUM(quantity_shipped), 0) AS BIGINT) FROM purchase_order_lines \
        WHERE tenant_id = $1 AND purchase_order_id = $2";
    let po_status = "UPDATE purchase_orders SET status = $1, updated_at = $2 \
        WHERE tenant_id = $3 AND id = $4 AND status IN ('sent', 'partially_shipped', 'shipped') \
        AND status <> $1";
    let select_one = format!("{SELECT} WHERE s.tenant_id = $1 AND s.id = $2");
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let created: Option<i64> = sqlx::query_scalar(insert)
            .bind(tenant_id).bind(s.connection_id).bind(s.bc_shipment_id).bind(s.bc_order_id)
            .bind(s.purchase_order_id).bind(&s.shipping_provider).bind(&s.provider_display_name)
            .bind(&s.tracking_carrier).bind(&s.carrier_note).bind(&s.tracking_number)
            .bind(&s.tracking_link).bind(s.tracking_link_source).bind(&s.shipping_method)
            .bind(s.shipped_at).bind(&s.fingerprint).bind(at)
            .fetch_optional(&mut *tx).await?;
        let (id, outcome) = match created {
            Some(id) => (id, Recorded::Created),
            None => {
                let (id, old): (i64, String) = sqlx::query_as(existing)
                    .bind(tenant_id).bind(s.connection_id).bind(s.bc_shipment_id)
                    .fetch_one(&mut *tx).await?;
                if old == s.fingerprint {
                    tx.rollback().await?;
                    return Ok((Recorded::Unchanged, Vec::new()));
                }
                let changed = sqlx::query(update)
                    .bind(s.purchase_order_id).bind(&s.shipping_provider)
                    .bind(&s.provider_display_name).bind(&s.tracking_carrier).bind(&s.carrier_note)
                    .bind(&s.tracking_number).bind(&s.tracking_link).bind(s.tracking_link_source)
                    .bind(&s.shipping_method).bind(s.shipped_at).bind(&s.fingerprint).bind(at)
                    .bind(tenant_id).bind(id).bind(&old)
                    .execute(&mut *tx).await?.rows_affected();
                if changed == 0 {
                    tx.rollback().await?;
                    return Err(DbError::Conflict);
                }
                sqlx::query("DELETE FROM shipment_items WHERE tenant_id = $1 AND shipment_id = $2")
                    .bind(tenant_id).bind(id).execute(&mut *tx).await?;
                (id, Recorded::Updated)
            }
        };
        for item in &s.items {
            sqlx::query(insert_item)
                .bind(tenant_id).bind(id).bind(item.order_product_id).bind(item.product_id)
                .bind(item.quantity).bind(item.purchase_order_line_id).bind(&item.sku)
                .execute(&mut *tx).await?;
        }
        if let Some(po_id) = s.purchase_order_id {
            sqlx::query(shipped).bind(tenant_id).bind(po_id).execute(&mut *tx).await?;
            let (open, shipped_units): (i64, i64) = sqlx::query_as(totals)
                .bind(tenant_id).bind(po_id).fetch_one(&mut *tx).await?;
            let status = if open == 0 && shipped_units > 0 {
                Some("shipped")
            } else if shipped_units > 0 {
                Some("partially_shipped")
            } else {
                None
            };
            if let Some(status) = status {
                sqlx::query(po_status).bind(status).bind(at).bind(tenant_id).bind(po_id)
                    .execute(&mut *tx).await?;
            }
        }
        let row = sqlx::query_as::<_, ShipmentRow>(&select_one)
            .bind(tenant_id).bind(id).fetch_one(&mut *tx).await?;
        let items = sqlx::query_as::<_, ItemRow>(SELECT_ITEMS)
            .bind(tenant_id).bind(id).fetch_all(&mut *tx).await?;
        let shown = view(row, items);
        let (event_type, dedupe_key) = match outcome {
            Recorded::Created => (CREATED, format!("{CREATED}:{}:{}", s.connection_id, s.bc_shipment_id)),
            _ => (UPDATED, format!("{UPDATED}:{id}:{}", s.fingerprint)),
        };
        let data = serde_json::to_value(&shown).unwrap_or_default();
        let payload = outbox::envelope(event_type, data);
        let message_id = outbox::message_id();
        let deliveries = tx.insert_event(tenant_id, &outbox::NewEvent {
            event_type,
            message_id: &message_id,
            dedupe_key: &dedupe_key,
            payload: &payload,
        }).await?;
        tx.commit().await?;
        Ok((outcome, deliveries))
    })
}

/// Adds a run item (`failed` or `skipped`) with its reason.
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
    on_pool!(db, p => sqlx::query(sql).bind(run_id).bind(tenant_id).bind(external_id).bind(outcome)
        .bind(message).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Saves a run's counts and checkpoint.
pub async fn save_progress(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    progress: &super::runs::Progress,
    cursor: &str,
) -> Result<(), DbError> {
    let sql = "UPDATE runs SET total = $1, done = $2, fetched = $3, created = $4, updated = $5, \
               unchanged = $6, skipped = $7, failed = $8, cursor = $9 WHERE tenant_id = $10 AND id = $11";
    on_pool!(db, p => sqlx::query(sql).bind(progress.total).bind(progress.done).bind(progress.fetched)
        .bind(progress.created).bind(progress.updated).bind(progress.unchanged).bind(progress.skipped)
        .bind(progress.failed).bind(cursor).bind(tenant_id).bind(run_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Which shipments a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// One connection; `None`: every connection of the tenant …
    pub connection_id: Option<i64>,
    /// … or only these (an API key limited to some connections).
    pub connections: Option<&'a [i64]>,
    /// A PO number, order id or tracking number (case-insensitive, part of it).
    pub search: Option<&'a str>,
}

fn push_filter<'q, DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<'q, DB>,
    tenant_id: i64,
    f: &Filter<'q>,
) where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.push(" WHERE s.tenant_id = ").push_bind(tenant_id);
    if let Some(c) = f.connection_id {
        q.push(" AND s.connection_id = ").push_bind(c);
    }
    if let Some(ids) = f.connections {
        if ids.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            q.push(" AND s.connection_id IN (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(")");
        }
    }
    if let Some(term) = f.search.map(str::trim).filter(|t| !t.is_empty()) {
        let like = format!(
            "%{}%",
            term.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        q.push(" AND (LOWER(COALESCE(po.po_number, '')) LIKE ")
            .push_bind(like.clone())
            .push(" ESCAPE '\\' OR LOWER(s.tracking_number) LIKE ")
            .push_bind(like)
            .push(" ESCAPE '\\'");
        if let Ok(order_id) = term.trim_start_matches('#').parse::<i64>() {
            q.push(" OR s.bc_order_id = ").push_bind(order_id);
        }
        q.push(")");
    }
}

/// Shipments by id after `after`, oldest first (the API's keyset pages).
pub async fn page(
    db: &Db,
    tenant_id: i64,
    filter: &Filter<'_>,
    after: i64,
    limit: i64,
) -> Result<Vec<ShipmentView>, DbError> {
    let rows = on_pool!(db, p => {
        let mut q = sqlx::QueryBuilder::new(SELECT);
        push_filter(&mut q, tenant_id, filter);
        q.push(" AND s.id > ").push_bind(after).push(" ORDER BY s.id LIMIT ").push_bind(limit);
        q.build_query_as::<ShipmentRow>().fetch_all(p).await
    })?;
    with_items(db, tenant_id, rows).await
}

/// Shipments newest first, one page (the Shipments page).
pub async fn newest(
    db: &Db,
    tenant_id: i64,
    filter: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ShipmentView>, DbError> {
    let rows = on_pool!(db, p => {
        let mut q = sqlx::QueryBuilder::new(SELECT);
        push_filter(&mut q, tenant_id, filter);
        q.push(" ORDER BY s.id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
        q.build_query_as::<ShipmentRow>().fetch_all(p).await
    })?;
    with_items(db, tenant_id, rows).await
}

pub async fn count(db: &Db, tenant_id: i64, filter: &Filter<'_>) -> Result<i64, DbError> {
    Ok(on_pool!(db, p => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM shipments s LEFT JOIN purchase_orders po \
             ON po.id = s.purchase_order_id AND po.tenant_id = s.tenant_id",
        );
        push_filter(&mut q, tenant_id, filter);
        q.build_query_scalar::<i64>().fetch_one(p).await
    })?)
}

/// The shipments of a purchase order, oldest first (the PO resource's `shipments`).
pub async fn for_purchase_order(
    db: &Db,
    tenant_id: i64,
    po_id: i64,
) -> Result<Vec<ShipmentView>, DbError> {
    let sql = format!("{SELECT} WHERE s.tenant_id = $1 AND s.purchase_order_id = $2 ORDER BY s.id");
    let rows = on_pool!(db, p => sqlx::query_as::<_, ShipmentRow>(&sql).bind(tenant_id).bind(po_id)
        .fetch_all(p).await)?;
    with_items(db, tenant_id, rows).await
}

/// A purchase order of the tenant by id, for the shipments-of-a-PO page.
pub async fn find_po(db: &Db, tenant_id: i64, po_id: i64) -> Result<Option<PoRef>, DbError> {
    let sql = "SELECT id, connection_id, po_number, status FROM purchase_orders WHERE tenant_id = $1 AND id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PoRef>(sql).bind(tenant_id).bind(po_id)
        .fetch_optional(p).await)?,
    )
}

impl ShipmentView {
    /// The tracking link, if it is an http(s) URL a page may link to (anything else from
    /// the store, e.g. `javascript:`, is shown as text, never as a link).
    pub fn safe_link(&self) -> Option<&str> {
        let link = self.tracking_link.trim();
        url::Url::parse(link)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .map(|_| link)
    }

    /// When the store created the shipment, as a Unix time (pages show it with
    /// `layout.stamp`, in the viewer's time zone).
    pub fn shipped_at_unix(&self) -> Option<i64> {
        let at = self.shipped_at.as_deref()?;
        chrono::DateTime::parse_from_rfc3339(at)
            .ok()
            .map(|t| t.timestamp())
    }

    /// The items in words: `WID-1 × 3, GAD-2 × 2`.
    pub fn items_text(&self) -> String {
        self.items
            .iter()
            .map(|i| match &i.sku {
                Some(sku) => format!("{sku} × {}", i.quantity),
                None => format!("order line {} × {}", i.order_product_id, i.quantity),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
