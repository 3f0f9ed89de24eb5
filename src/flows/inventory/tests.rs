use serde_json::json;

use super::decode::decode_page;
use super::sync::Cursor;
use super::{FIELDS, Inventory, InventorySettings};
use crate::db::flows::FlowSettingsRow;
use crate::flows::{Flow, FlowConfig, next_run_at};

fn form(pairs: &[(&str, &str)]) -> crate::flows::FormValues {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_settings_form_decodes_into_the_typed_settings() {
    let config = FlowConfig::parse_form(
        Inventory.schedule(),
        FIELDS,
        &form(&[
            ("enabled", "on"),
            ("interval_minutes", "15"),
            ("page_size", "100"),
            ("skip_hidden", ""),
            ("full_sync_hours", "48"),
        ]),
    )
    .expect("valid");
    assert_eq!(config.interval_minutes, Some(15));
    assert_eq!(
        config.decode::<InventorySettings>().expect("decodes"),
        InventorySettings {
            page_size: 100,
            skip_hidden: true,
            full_sync_hours: 48,
        }
    );
    let errors = FlowConfig::parse_form(
        Inventory.schedule(),
        FIELDS,
        &form(&[
            ("interval_minutes", "4"),
            ("page_size", "251"),
            ("full_sync_hours", "721"),
        ]),
    )
    .expect_err("all invalid");
    let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(fields, ["interval_minutes", "page_size", "full_sync_hours"]);
    assert_eq!(
        errors[1].1,
        "Page size must be a whole number from 1 to 250."
    );
}

fn row(enabled: bool, next_run_at: Option<i64>) -> FlowSettingsRow {
    FlowSettingsRow {
        tenant_id: 1,
        connection_id: 1,
        flow: "inventory".into(),
        enabled,
        interval_secs: 3600,
        settings: "{}".into(),
        next_run_at,
        updated_at: 0,
    }
}

#[test]
fn enabling_schedules_now_disabling_unschedules_and_a_shorter_interval_pulls_in() {
    let at = 1_000_000;
    let mut s = FlowConfig::defaults(Inventory.schedule(), FIELDS);
    s.enabled = true;
    assert_eq!(next_run_at(&s, None, at), Some(at));
    assert_eq!(next_run_at(&s, Some(&row(false, None)), at), Some(at));
    // Still enabled: the next run stays, unless the new interval makes it come sooner.
    assert_eq!(
        next_run_at(&s, Some(&row(true, Some(at + 600))), at),
        Some(at + 600)
    );
    s.interval_minutes = Some(5);
    assert_eq!(
        next_run_at(&s, Some(&row(true, Some(at + 3000))), at),
        Some(at + 300)
    );
    s.enabled = false;
    assert_eq!(next_run_at(&s, Some(&row(true, Some(at))), at), None);
}

fn product(id: i64, visible: bool) -> serde_json::Value {
    json!({
        "id": id, "name": format!("P{id}"), "sku": format!("SKU-{id}"), "price": 9.5,
        "is_visible": visible, "inventory_level": 7, "inventory_tracking": "product",
        "date_modified": "2025-01-15T00:00:00+00:00",
        "variants": [{"id": id * 10, "product_id": id, "sku": format!("SKU-{id}"),
                      "inventory_level": 3, "option_values": []}]
    })
}

#[test]
fn one_unreadable_record_fails_alone_and_keeps_its_id() {
    let records = vec![
        product(1, true),
        json!({"id": 2, "name": {"not": "a string"}}),
        json!({"name": "no id"}),
        product(3, true),
    ];
    let decoded = decode_page(records, false);
    let ids: Vec<i64> = decoded.page.products.iter().map(|p| p.product_id).collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(decoded.page.failures.len(), 2);
    assert_eq!(decoded.page.failures[0].external_id, "2");
    assert!(
        decoded.page.failures[0]
            .message
            .starts_with("Product 2 could not be read: invalid type"),
        "{:?}",
        decoded.page.failures[0]
    );
    assert_eq!(decoded.page.failures[1].external_id, "unknown");
    // Product-tracked: the variant's stock is the product's level.
    assert_eq!(decoded.page.variants[0].stock, Some(7));
    assert_eq!(decoded.page.variants[0].inventory_level, 3);
    assert_eq!(decoded.page.products[0].date_modified, 1_736_899_200);
}

#[test]
fn hidden_products_skipped_later_are_counted_and_staged_without_variants() {
    let decoded = decode_page(
        vec![product(1, false), product(2, true), product(2, true)],
        true,
    );
    assert_eq!(decoded.skipped, 1);
    assert_eq!(decoded.page.products.len(), 2, "duplicates are staged once");
    assert_eq!(decoded.page.variants.len(), 1);
    assert_eq!(decoded.page.variants[0].product_id, 2);
}

#[test]
fn the_cursor_reads_old_or_partial_json() {
    let cursor: Cursor = serde_json::from_str(r#"{"page":3}"#).expect("partial cursor");
    assert_eq!(cursor.page, 3);
    assert_eq!(cursor.started, None);
}

#[test]
fn pages_staged_out_of_order_are_remembered_until_the_ones_below_arrive() {
    let mut cursor = Cursor {
        page: 1,
        ..Cursor::default()
    };
    for page in [3, 2, 5] {
        cursor.mark_staged(page);
    }
    assert_eq!((cursor.page, cursor.staged.clone()), (1, vec![2, 3, 5]));
    cursor.mark_staged(1);
    assert_eq!((cursor.page, cursor.staged.clone()), (4, vec![5]));
    cursor.mark_staged(3);
    assert_eq!(
        (cursor.page, cursor.staged.clone()),
        (4, vec![5]),
        "already staged"
    );
    cursor.mark_staged(4);
    assert_eq!((cursor.page, cursor.staged.clone()), (6, vec![]));
    let legacy: Cursor = serde_json::from_str(r#"{"page":0}"#).expect("old cursor");
    let mut legacy = legacy;
    legacy.mark_staged(1);
    assert_eq!(
        legacy.page, 2,
        "a cursor before the first page counts from 1"
    );
}
