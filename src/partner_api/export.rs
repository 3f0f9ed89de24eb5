//! CSV export of a connection's inventory (every variant), streamed: rows are read 1,000 at
//! a time by variant id and written out as they come, so memory stays flat however large
//! the catalog. The caller checks that the tenant may see the connection first.

use bytes::Bytes;
use futures_util::{Stream, stream};

use super::rfc3339;
use crate::db::{self, Db, DbError, partner_reads::InventoryRow};

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

/// Why the stream stopped early (the response is then cut short).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

struct Cursor {
    db: Db,
    tenant_id: i64,
    connection_id: i64,
    after: i64,
    header: bool,
    done: bool,
}

/// The inventory of one connection as a stream of CSV chunks (the header alone when empty).
pub fn inventory_csv(
    db: Db,
    tenant_id: i64,
    connection_id: i64,
) -> impl Stream<Item = Result<Bytes, ExportError>> {
    let start = Cursor {
        db,
        tenant_id,
        connection_id,
        after: 0,
        header: true,
        done: false,
    };
    stream::unfold(start, |mut c| async move {
        if c.done {
            return None;
        }
        let page =
            db::partner_reads::inventory_page(&c.db, c.tenant_id, c.connection_id, c.after, PAGE)
                .await;
        let chunk = page.map_err(ExportError::from).and_then(|rows| {
            c.done = (rows.len() as i64) < PAGE;
            if let Some(last) = rows.last() {
                c.after = last.variant_id;
            }
            let text = to_csv(&rows, c.header)?;
            c.header = false;
            Ok(Bytes::from(text))
        });
        if chunk.is_err() {
            c.done = true;
        }
        Some((chunk, c))
    })
}
