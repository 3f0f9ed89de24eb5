//! CSV export of a connection's inventory (every variant), streamed: rows are read 1,000 at
//! a time by variant id and written out as they come ([`super::csv_stream`]), so memory
//! stays flat however large the catalog. The caller checks that the tenant may see the
//! connection first.

use bytes::Bytes;
use futures_util::Stream;

use super::{
    csv_stream::{Export, ExportError, csv_stream},
    rfc3339,
};
use crate::db::{self, Db, partner_reads::InventoryRow};

/// Variants read per database round trip.
const PAGE: i64 = 1000;

/// The header row.
pub const COLUMNS: &[&str] = &[
    "product_id",
    "variant_id",
    "sku",
    "product_name",
    "options",
    "inventory_level",
    "stock",
    "price",
    "visible",
    "updated_at",
];

/// CSV text for some rows (the header first when `header`).
pub fn to_csv(rows: &[InventoryRow], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 96 + 128));
    if header {
        out.write_record(COLUMNS)?;
    }
    for r in rows {
        out.write_record([
            r.product_id.to_string(),
            r.variant_id.to_string(),
            r.sku.clone(),
            r.product_name.clone(),
            r.options.clone(),
            r.inventory_level.to_string(),
            r.stock.map(|s| s.to_string()).unwrap_or_default(),
            format!("{:.2}", r.price),
            r.is_visible.to_string(),
            rfc3339(r.updated_at),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The inventory of one connection as a stream of CSV chunks (the header alone when empty).
pub fn inventory_csv(
    db: Db,
    tenant_id: i64,
    connection_id: i64,
) -> impl Stream<Item = Result<Bytes, ExportError>> {
    csv_stream(Export {
        page: PAGE,
        fetch: move |after, limit| {
            let db = db.clone();
            async move {
                db::partner_reads::inventory_page(&db, tenant_id, connection_id, after, limit).await
            }
        },
        key: |r: &InventoryRow| r.variant_id,
        to_csv,
    })
}
