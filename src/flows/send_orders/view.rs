//! The one view of a purchase order that the API returns (and its pages read): the PO as
//! submitted, its status, the BigCommerce order id, the reason of a failure, its lines
//! with resolved ids, its attempts, and the shipments Get Shipments recorded for it. Build
//! it only through [`load`]/[`build`].

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{
    context::AppContext,
    db::{
        DbError,
        purchase_orders::{self as pos, AttemptRow, LineRow, PoRow},
        shipments::{self, ShipmentView},
    },
    partner_api::rfc3339,
};

/// A purchase order and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseOrderView {
    pub id: i64,
    pub connection_id: i64,
    pub po_number: String,
    /// `received`, `held`, `sending`, `sent`, `failed`, `cancelled` (and, with shipments,
    /// `partially_shipped`, `shipped`).
    pub status: String,
    /// `api`, `csv` or `form`.
    pub source: String,
    /// The BigCommerce order id, once created (or adopted by lookup).
    pub bc_order_id: Option<i64>,
    /// The customer decision: 0 for a guest, else the store's customer id.
    pub bc_customer_id: Option<i64>,
    /// Why the PO failed (something a person can act on).
    pub failure_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub sent_at: Option<String>,
    /// The PO as accepted (canonical form of the contract).
    #[schema(value_type = Object)]
    pub purchase_order: Value,
    pub lines: Vec<PoLineView>,
    pub attempts: Vec<PoAttemptView>,
    /// The shipments recorded for this PO's order (carrier, tracking, items), oldest first.
    pub shipments: Vec<ShipmentView>,
}

/// A line and the ids it resolved to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoLineView {
    pub line_no: i32,
    pub sku: String,
    pub quantity: i64,
    pub price: Option<String>,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub quantity_shipped: i64,
}

/// One attempt to send the PO.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoAttemptView {
    pub attempt: i32,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `created`, `adopted`, `failed`, `unknown`, `retry`, or null while in progress.
    pub outcome: Option<String>,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub bc_order_id: Option<i64>,
}

impl From<LineRow> for PoLineView {
    fn from(l: LineRow) -> Self {
        Self {
            line_no: l.line_no,
            sku: l.sku,
            quantity: l.quantity,
            price: l.price,
            product_id: l.product_id,
            variant_id: l.variant_id,
            quantity_shipped: l.quantity_shipped,
        }
    }
}

impl From<AttemptRow> for PoAttemptView {
    fn from(a: AttemptRow) -> Self {
        Self {
            attempt: a.attempt,
            started_at: rfc3339(a.started_at),
            finished_at: a.finished_at.map(rfc3339),
            outcome: a.outcome,
            http_status: a.http_status,
            error: a.error,
            bc_order_id: a.bc_order_id,
        }
    }
}

/// The view of a PO row with its lines, attempts and shipments.
pub fn build(
    row: PoRow,
    lines: Vec<LineRow>,
    attempts: Vec<AttemptRow>,
    shipments: Vec<ShipmentView>,
) -> PurchaseOrderView {
    PurchaseOrderView {
        id: row.id,
        connection_id: row.connection_id,
        purchase_order: serde_json::from_str(&row.body).unwrap_or(Value::Null),
        po_number: row.po_number,
        status: row.status,
        source: row.source,
        bc_order_id: row.bc_order_id,
        bc_customer_id: row.bc_customer_id,
        failure_reason: row.failure_reason,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        sent_at: row.sent_at.map(rfc3339),
        lines: lines.into_iter().map(PoLineView::from).collect(),
        attempts: attempts.into_iter().map(PoAttemptView::from).collect(),
        shipments,
    }
}

/// Loads the lines, attempts and shipments of `row` and builds its view.
pub async fn load(ctx: &AppContext, row: PoRow) -> Result<PurchaseOrderView, DbError> {
    let lines = pos::lines(&ctx.db, row.tenant_id, row.id).await?;
    let attempts = pos::attempts(&ctx.db, row.tenant_id, row.id).await?;
    let shipments = shipments::for_purchase_order(&ctx.db, row.tenant_id, row.id).await?;
    Ok(build(row, lines, attempts, shipments))
}
