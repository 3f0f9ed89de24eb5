//! CSV export of a connection's shipments, streamed: 500 shipments per database round trip
//! by id, written out as they come ([`super::csv_stream`]). One row per shipment; its items in one column
//! (`SKU x quantity; …`, the order line id when no SKU is known). The caller checks that
//! the tenant may see the connection first.

use bytes::Bytes;
use futures_util::Stream;

use super::csv_stream::{Export, ExportError, csv_stream};
use crate::db::{
    self, Db,
    shipments::{Filter, ShipmentView},
};

const PAGE: i64 = 500;

/// The header row.
pub const COLUMNS: &[&str] = &[
    "shipment_id",
    "order_id",
    "po_number",
    "carrier",
    "shipping_provider",
    "tracking_carrier",
    "tracking_number",
    "tracking_link",
    "shipping_method",
    "shipped_at",
    "items",
    "carrier_note",
    "recorded_at",
    "updated_at",
];

/// The items of a shipment in one cell.
pub fn items_cell(s: &ShipmentView) -> String {
    s.items
        .iter()
        .map(|i| match &i.sku {
            Some(sku) => format!("{sku} x {}", i.quantity),
            None => format!("order line {} x {}", i.order_product_id, i.quantity),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// CSV text for some shipments (the header first when `header`).
pub fn to_csv(rows: &[ShipmentView], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 200 + 200));
    if header {
        out.write_record(COLUMNS)?;
    }
    for s in rows {
        out.write_record([
            s.shipment_id.to_string(),
            s.order_id.to_string(),
            s.po_number.clone().unwrap_or_default(),
            s.carrier.clone(),
            s.shipping_provider.clone(),
            s.tracking_carrier.clone(),
            s.tracking_number.clone(),
            s.tracking_link.clone(),
            s.shipping_method.clone(),
            s.shipped_at.clone().unwrap_or_default(),
            items_cell(s),
            s.carrier_note.clone().unwrap_or_default(),
            s.created_at.clone(),
            s.updated_at.clone(),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The shipments of one connection as a stream of CSV chunks (the header alone when none).
pub fn shipments_csv(
    db: Db,
    tenant_id: i64,
    connection_id: i64,
) -> impl Stream<Item = Result<Bytes, ExportError>> {
    csv_stream(Export {
        page: PAGE,
        fetch: move |after, limit| {
            let db = db.clone();
            async move {
                let filter = Filter {
                    connection_id: Some(connection_id),
                    ..Filter::default()
                };
                db::shipments::page(&db, tenant_id, &filter, after, limit).await
            }
        },
        key: |s: &ShipmentView| s.id,
        to_csv,
    })
}
