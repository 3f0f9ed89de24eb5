//! One BigCommerce shipment → one recorded shipment: decoding (defensively: a field may be
//! null), the tracking link (`tracking_link`, else `generated_tracking_link`), the carrier
//! (an unknown `shipping_provider` is kept as sent, with a note), and items mapped back to
//! PO lines and SKUs through `order_product_id`. Polling and the one-shipment job share it.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    bigcommerce::{BigCommerceError, StoreClient},
    context::AppContext,
    db::{
        self, DbError,
        shipments::{NewShipment, NewShipmentItem, PoLine, PoRef, Recorded},
    },
};

/// A shipment as `GET /v2/orders/{id}/shipments` gives it (the fields cartbridge keeps).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct BcShipment {
    pub id: i64,
    pub order_id: i64,
    #[serde(default, deserialize_with = "text")]
    pub date_created: String,
    #[serde(default, deserialize_with = "text")]
    pub tracking_number: String,
    #[serde(default, deserialize_with = "text")]
    pub shipping_method: String,
    #[serde(default, deserialize_with = "text")]
    pub shipping_provider: String,
    #[serde(default, deserialize_with = "text")]
    pub shipping_provider_display_name: String,
    #[serde(default, deserialize_with = "text")]
    pub tracking_carrier: String,
    #[serde(default, deserialize_with = "text")]
    pub tracking_link: String,
    #[serde(default, deserialize_with = "text")]
    pub generated_tracking_link: String,
    #[serde(default)]
    pub items: Vec<BcItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct BcItem {
    pub order_product_id: i64,
    #[serde(default)]
    pub product_id: Option<i64>,
    pub quantity: i64,
}

/// A string field that may be null or missing (`""` then).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// The `shipping_provider` values BigCommerce documents (REFERENCE §8), plus custom
/// carriers (`carrier_<number>`).
pub fn known_provider(code: &str) -> bool {
    const KNOWN: &[&str] = &[
        "",
        "auspost",
        "canadapost",
        "endicia",
        "usps",
        "fedex",
        "ups",
        "upsready",
        "upsonline",
        "shipperhq",
        "royalmail",
    ];
    KNOWN.contains(&code)
        || code
            .strip_prefix("carrier_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The link to show and which field it came from.
pub(super) fn tracking_link(s: &BcShipment) -> (String, &'static str) {
    let custom = s.tracking_link.trim();
    let generated = s.generated_tracking_link.trim();
    if !custom.is_empty() {
        (custom.to_owned(), "tracking_link")
    } else if !generated.is_empty() {
        (generated.to_owned(), "generated_tracking_link")
    } else {
        (String::new(), "none")
    }
}

/// A run item: what could not be processed (or was noted), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Note {
    pub external_id: String,
    /// `failed` or `skipped`.
    pub outcome: &'static str,
    pub message: String,
}

/// The PO an order came from, with its lines mapped to order lines.
pub(super) struct PoContext {
    pub po: PoRef,
    pub lines: Vec<PoLine>,
}

/// The PO of order `order_id` (if cartbridge sent it), its lines mapped to the order's
/// lines: the first time, `GET /v2/orders/{id}/products` fills each line's
/// `order_product_id` (by variant id, else by SKU).
pub(super) async fn po_context(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    tenant_id: i64,
    connection_id: i64,
    order_id: i64,
) -> Result<Option<PoContext>, ContextError> {
    let Some(po) = db::shipments::po_for_order(&ctx.db, tenant_id, connection_id, order_id).await?
    else {
        return Ok(None);
    };
    let mut lines = db::shipments::po_lines(&ctx.db, tenant_id, po.id).await?;
    if lines.iter().any(|l| l.order_product_id.is_none()) {
        let products: Vec<Value> = client
            .get_json_or_default(&format!("/v2/orders/{order_id}/products?limit=250"))
            .await?;
        let pairs = map_lines(&lines, &products);
        if !pairs.is_empty() {
            db::shipments::set_order_products(&ctx.db, tenant_id, &pairs).await?;
            lines = db::shipments::po_lines(&ctx.db, tenant_id, po.id).await?;
        }
    }
    Ok(Some(PoContext { po, lines }))
}

#[derive(Debug)]
pub(super) enum ContextError {
    BigCommerce(BigCommerceError),
    Db(DbError),
}

impl From<BigCommerceError> for ContextError {
    fn from(e: BigCommerceError) -> Self {
        Self::BigCommerce(e)
    }
}

impl From<DbError> for ContextError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

/// (PO line id, order_product_id) for each unmapped line: the first unused order line with
/// the line's variant id, else with its SKU.
fn map_lines(lines: &[PoLine], products: &[Value]) -> Vec<(i64, i64)> {
    let mut used: HashSet<i64> = lines.iter().filter_map(|l| l.order_product_id).collect();
    let mut pairs = Vec::new();
    let rows: Vec<(i64, Option<i64>, String)> = products
        .iter()
        .filter_map(|p| {
            let id = p.get("id")?.as_i64()?;
            let variant = p.get("variant_id").and_then(Value::as_i64);
            let sku = p
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            Some((id, variant, sku))
        })
        .collect();
    for line in lines.iter().filter(|l| l.order_product_id.is_none()) {
        let by_variant = line.variant_id.and_then(|v| {
            rows.iter()
                .find(|(id, variant, _)| !used.contains(id) && *variant == Some(v))
        });
        let found = by_variant.or_else(|| {
            rows.iter()
                .find(|(id, _, sku)| !used.contains(id) && !sku.is_empty() && *sku == line.sku)
        });
        if let Some((id, _, _)) = found {
            used.insert(*id);
            pairs.push((line.id, *id));
        }
    }
    pairs
}

/// Maps and records one shipment; returns what recording did, with the notes (run items)
/// it raised, and queues its webhook deliveries.
pub(super) async fn record_one(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    po: Option<&PoContext>,
    s: &BcShipment,
    notes: &mut Vec<Note>,
) -> Result<Recorded, DbError> {
    let external_id = format!("shipment {} (order {})", s.id, s.order_id);
    let mut items = Vec::with_capacity(s.items.len());
    for item in &s.items {
        let line = po.and_then(|po| {
            po.lines
                .iter()
                .find(|l| l.order_product_id == Some(item.order_product_id))
        });
        if let (Some(po), None) = (po, line) {
            notes.push(Note {
                external_id: external_id.clone(),
                outcome: "failed",
                message: format!(
                    "Item order_product_id {} matches no line of purchase order {}: the shipment is recorded, this item without a PO line or SKU.",
                    item.order_product_id, po.po.po_number
                ),
            });
        }
        items.push(NewShipmentItem {
            order_product_id: item.order_product_id,
            product_id: item.product_id,
            quantity: item.quantity,
            purchase_order_line_id: line.map(|l| l.id),
            sku: line.map(|l| l.sku.clone()),
        });
    }
    let carrier_note = (!known_provider(&s.shipping_provider)).then(|| {
        format!(
            "Unknown carrier “{}”: recorded as BigCommerce sent it.",
            s.shipping_provider
        )
    });
    if let Some(message) = &carrier_note {
        notes.push(Note {
            external_id: external_id.clone(),
            outcome: "skipped",
            message: message.clone(),
        });
    }
    let (link, source) = tracking_link(s);
    let shipped_at = chrono::DateTime::parse_from_rfc2822(s.date_created.trim())
        .ok()
        .map(|t| t.timestamp());
    let display = if s.shipping_provider_display_name.trim().is_empty() {
        s.shipping_provider.clone()
    } else {
        s.shipping_provider_display_name.clone()
    };
    let mut new = NewShipment {
        connection_id,
        bc_shipment_id: s.id,
        bc_order_id: s.order_id,
        purchase_order_id: po.map(|p| p.po.id),
        shipping_provider: s.shipping_provider.clone(),
        provider_display_name: display,
        tracking_carrier: s.tracking_carrier.clone(),
        carrier_note,
        tracking_number: s.tracking_number.clone(),
        tracking_link: link,
        tracking_link_source: source,
        shipping_method: s.shipping_method.clone(),
        shipped_at,
        fingerprint: String::new(),
        items,
    };
    new.fingerprint = fingerprint(&new);
    let (outcome, deliveries) = db::shipments::record(&ctx.db, tenant_id, &new).await?;
    crate::partner_api::webhooks::enqueue_all(ctx, tenant_id, &deliveries).await;
    Ok(outcome)
}

/// SHA-256 (hex) of everything recorded about a shipment.
fn fingerprint(s: &NewShipment) -> String {
    let items: Vec<Value> = s
        .items
        .iter()
        .map(|i| {
            serde_json::json!([
                i.order_product_id,
                i.product_id,
                i.quantity,
                i.purchase_order_line_id,
                i.sku
            ])
        })
        .collect();
    let all = serde_json::json!([
        s.bc_order_id,
        s.purchase_order_id,
        s.shipping_provider,
        s.provider_display_name,
        s.tracking_carrier,
        s.tracking_number,
        s.tracking_link,
        s.tracking_link_source,
        s.shipping_method,
        s.shipped_at,
        items
    ]);
    let digest = Sha256::digest(all.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(json: Value) -> BcShipment {
        serde_json::from_value(json).expect("decodes")
    }

    #[test]
    fn the_custom_link_wins_else_the_generated_one() {
        let both = shipment(serde_json::json!({"id": 1, "order_id": 2,
            "tracking_link": "https://x.example/t/1", "generated_tracking_link": "https://g/1"}));
        assert_eq!(
            tracking_link(&both),
            ("https://x.example/t/1".into(), "tracking_link")
        );
        let generated = shipment(serde_json::json!({"id": 1, "order_id": 2,
            "tracking_link": "", "generated_tracking_link": "https://g/1"}));
        assert_eq!(
            tracking_link(&generated),
            ("https://g/1".into(), "generated_tracking_link")
        );
        let none = shipment(serde_json::json!({"id": 1, "order_id": 2,
            "tracking_link": null, "items": []}));
        assert_eq!(tracking_link(&none), (String::new(), "none"));
    }

    #[test]
    fn documented_and_custom_carriers_are_known() {
        for code in ["", "ups", "royalmail", "carrier_1234"] {
            assert!(known_provider(code), "{code}");
        }
        for code in ["dhl-ish", "carrier_", "carrier_x1", "UPS"] {
            assert!(!known_provider(code), "{code}");
        }
    }
}
