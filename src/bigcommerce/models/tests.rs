//! Decoding of catalog models from bodies shaped like the fake's and the spec's examples.

use super::*;

/// A product as `GET /v3/catalog/products?include=variants` sends it (many fields
/// trimmed, every `null` the fake sends kept).
const PRODUCT: &str = r#"{
  "id": 101, "name": "Trail Shoe", "type": "physical", "sku": "SHOE-1",
  "description": "", "weight": 1.5, "width": 0, "depth": 0, "height": 0,
  "price": 89.95, "cost_price": 0, "retail_price": 0, "sale_price": 0, "map_price": 0,
  "calculated_price": 89.95, "categories": [23], "brand_id": 0,
  "option_set_id": null, "inventory_level": 12, "inventory_warning_level": 0,
  "inventory_tracking": "variant", "is_visible": false, "date_last_imported": null,
  "availability": "available", "date_created": "2025-01-14T10:00:00+00:00",
  "date_modified": "2025-01-15T00:03:17+00:00", "preorder_release_date": null,
  "custom_url": {"url": "/trail-shoe/", "is_customized": false}, "base_variant_id": null,
  "primary_image": null,
  "variants": [
    {"id": 1000001, "product_id": 101, "sku": "SHOE-1-L-RED", "sku_id": 501,
     "price": null, "calculated_price": 89.95, "sale_price": null, "retail_price": null,
     "map_price": null, "weight": null, "calculated_weight": 1.5, "width": null,
     "height": null, "depth": null, "is_free_shipping": false,
     "fixed_cost_shipping_price": null, "purchasing_disabled": false,
     "purchasing_disabled_message": "", "image_url": "", "cost_price": null, "upc": "",
     "mpn": "", "gtin": "", "inventory_level": 7, "inventory_warning_level": 0,
     "bin_picking_number": "",
     "option_values": [
       {"id": 301, "label": "Large", "option_id": 201, "option_display_name": "Size"},
       {"id": 302, "label": "Red", "option_id": 202, "option_display_name": "Color"}
     ]},
    {"id": 1000002, "product_id": 101, "sku": "SHOE-1-S-RED", "price": 79.5,
     "calculated_price": 79.5, "inventory_level": 5, "option_values": []}
  ]
}"#;

#[test]
fn a_product_with_variants_decodes_as_sent() {
    let product: Product = serde_json::from_str(PRODUCT).unwrap();
    assert_eq!(product.id, 101);
    assert_eq!(product.name, "Trail Shoe");
    assert_eq!(product.sku, "SHOE-1");
    assert_eq!(product.price, 89.95);
    assert!(!product.is_visible);
    assert_eq!(product.inventory_level, 12);
    assert_eq!(product.inventory_tracking, "variant");
    assert_eq!(product.date_modified, "2025-01-15T00:03:17+00:00");
    assert_eq!(product.variants.len(), 2);

    let first = &product.variants[0];
    assert_eq!((first.id, first.product_id), (1_000_001, 101));
    assert_eq!(first.sku, "SHOE-1-L-RED");
    assert_eq!(first.price, None, "null price means the product's price");
    assert_eq!(first.calculated_price, Some(89.95));
    assert_eq!(first.inventory_level, 7);
    assert_eq!(first.option_label(), "Size: Large, Color: Red");

    let second = &product.variants[1];
    assert_eq!(second.price, Some(79.5));
    assert_eq!(second.option_label(), "");
}

#[test]
fn a_trimmed_product_gets_defaults() {
    let product: Product =
        serde_json::from_str(r#"{"id": 7, "name": "Gift card", "sku": null, "is_visible": null}"#)
            .unwrap();
    assert_eq!(product.sku, "");
    assert_eq!(product.price, 0.0);
    assert!(product.is_visible);
    assert_eq!(product.inventory_level, 0);
    assert_eq!(product.inventory_tracking, "none");
    assert!(product.variants.is_empty());
    assert_eq!(product.date_modified_unix(), None);
}

#[test]
fn a_product_without_an_id_is_rejected() {
    assert!(serde_json::from_str::<Product>(r#"{"name": "No id"}"#).is_err());
}

#[test]
fn date_modified_is_read_as_unix_seconds() {
    let mut product: Product = serde_json::from_str(PRODUCT).unwrap();
    assert_eq!(product.date_modified_unix(), Some(1_736_899_397));
    product.date_modified = "2025-01-15T02:03:17+02:00".into();
    assert_eq!(product.date_modified_unix(), Some(1_736_899_397));
    product.date_modified = "2025-01-15T00:03:17.515Z".into();
    assert_eq!(product.date_modified_unix(), Some(1_736_899_397));
    product.date_modified = "Wed, 15 Jan 2025 00:03:17 +0000".into();
    assert_eq!(
        product.date_modified_unix(),
        None,
        "RFC 2822 is v2's format"
    );
}

#[test]
fn a_v3_list_reads_its_pagination() {
    let body = r#"{"data": [{"id": 1}, {"id": 2}], "meta": {"pagination": {
        "total": 1234, "count": 2, "per_page": 250, "current_page": 2, "total_pages": 5,
        "links": {"previous": "?page=1&limit=250", "current": "?page=2&limit=250",
                  "next": "?page=3&limit=250"}}}}"#;
    let list: V3List<serde_json::Value> = serde_json::from_str(body).unwrap();
    assert_eq!(list.data.len(), 2);
    let p = &list.meta.pagination;
    assert_eq!((p.total, p.count, p.per_page), (1234, 2, 250));
    assert_eq!((p.current_page, p.total_pages), (2, 5));
    assert_eq!(p.links.next.as_deref(), Some("?page=3&limit=250"));
}

#[test]
fn a_v3_list_without_meta_or_links_still_decodes() {
    for body in [
        r#"{"data": []}"#,
        r#"{"data": [], "meta": {}}"#,
        r#"{"data": [], "meta": null}"#,
        r#"{"data": [], "meta": {"pagination": {"current_page": 1, "total_pages": 1, "links": {"current": "?page=1", "previous": null}}}}"#,
    ] {
        let list: V3List<Product> = serde_json::from_str(body).unwrap();
        assert_eq!(list.meta.pagination.links.next, None, "{body}");
    }
}

#[test]
fn store_time_decodes() {
    let time: StoreTime = serde_json::from_str(r#"{"time": 1736899397}"#).unwrap();
    assert_eq!(time.time, 1_736_899_397);
}
