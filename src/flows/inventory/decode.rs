//! Reading one page of `GET /v3/catalog/products?include=variants` into staging rows,
//! record by record: one product that does not decode is a failed record, not a failed run.

use std::collections::HashSet;

use serde_json::Value;

use crate::{
    bigcommerce::models::Product,
    db::inventory::{FailedRecord, StagedPage, StagedProduct, StagedVariant},
};

/// A page decoded record by record.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    pub page: StagedPage,
    /// Hidden products of an incremental run that skips them (staged, then dropped).
    pub skipped: i64,
}

/// Decodes each record on its own, so one unreadable product becomes a failed record and
/// not a failed run. A product listed twice (the catalog shifting under the pages) is
/// staged once, as last seen.
pub(super) fn decode_page(records: Vec<Value>, skip_hidden: bool) -> Decoded {
    let mut decoded = Decoded::default();
    let mut seen = HashSet::new();
    for record in records.into_iter().rev() {
        let id = record.get("id").map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let product = match serde_json::from_value::<Product>(record) {
            Ok(product) => product,
            Err(e) => {
                let external_id = id.unwrap_or_else(|| "unknown".to_owned());
                decoded.page.failures.push(FailedRecord {
                    message: format!("Product {external_id} could not be read: {e}."),
                    external_id,
                });
                continue;
            }
        };
        if !seen.insert(product.id) {
            continue;
        }
        if skip_hidden && !product.is_visible {
            decoded.skipped += 1;
        }
        let (staged, variants) = staged(product, skip_hidden);
        decoded.page.products.push(staged);
        decoded.page.variants.extend(variants);
    }
    decoded.page.products.reverse();
    decoded.page.variants.reverse();
    decoded.page.failures.reverse();
    decoded
}

/// A product and its variants as staged. `stock` is the level that counts: the product's
/// when tracked by product, the variant's when tracked by variant, none when not tracked.
/// A hidden product that will be dropped is staged without its variants.
fn staged(product: Product, skip_hidden: bool) -> (StagedProduct, Vec<StagedVariant>) {
    let tracking = product.inventory_tracking.as_str();
    let drop_variants = skip_hidden && !product.is_visible;
    let mut seen = HashSet::new();
    let variants = product
        .variants
        .iter()
        .filter(|_| !drop_variants)
        .filter(|v| seen.insert(v.id))
        .map(|v| StagedVariant {
            variant_id: v.id,
            product_id: product.id,
            sku: v.sku.clone(),
            label: v.option_label(),
            price: v.price,
            inventory_level: v.inventory_level,
            stock: match tracking {
                "product" => Some(product.inventory_level),
                "variant" => Some(v.inventory_level),
                _ => None,
            },
        })
        .collect();
    let date_modified = product.date_modified_unix().unwrap_or(0);
    let staged = StagedProduct {
        product_id: product.id,
        sku: product.sku,
        name: product.name,
        price: product.price,
        inventory_level: product.inventory_level,
        inventory_tracking: product.inventory_tracking,
        is_visible: product.is_visible,
        date_modified,
    };
    (staged, variants)
}
