use serde_json::json;

use super::decode::decode_page;
use super::sync::Cursor;
use super::{InventorySettings, InventorySettingsInput, next_run_at};
use crate::db::flows::FlowSettingsRow;

fn input(interval: &str, page: &str, hours: &str) -> InventorySettingsInput {
    InventorySettingsInput {
        enabled: Some("on".into()),
        interval_minutes: interval.into(),
        page_size: page.into(),
        skip_hidden: None,
        full_sync_hours: hours.into(),
    }
}

#[test]
fn a_valid_form_parses_with_checkboxes_present_meaning_true() {
    let mut form = input(" 15 ", "100", "48");
    form.skip_hidden = Some(String::new());
    assert_eq!(
        InventorySettings::parse(&form),
        Ok(InventorySettings {
            enabled: true,
            interval_minutes: 15,
            page_size: 100,
            skip_hidden: true,
            full_sync_hours: 48,
        })
    );
    let mut off = input("5", "1", "1");
    off.enabled = None;
    let parsed = InventorySettings::parse(&off).expect("bounds are accepted");
    assert!(!parsed.enabled && !parsed.skip_hidden);
    assert!(InventorySettings::parse(&input("10080", "250", "720")).is_ok());
}

#[test]
fn each_out_of_range_field_gets_its_own_message() {
    let errors = InventorySettings::parse(&input("4", "251", "721")).expect_err("all invalid");
    let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(fields, ["interval_minutes", "page_size", "full_sync_hours"]);
    assert_eq!(
        errors[1].1,
        "Page size must be a whole number from 1 to 250."
    );
    for bad in ["", "abc", "0", "-1", "2.5", "10081"] {
        let errors = InventorySettings::parse(&input(bad, "50", "24")).expect_err(bad);
        assert_eq!(errors.len(), 1, "{bad:?}");
        assert_eq!(errors[0].0, "interval_minutes");
    }
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
    let mut s = InventorySettings {
        enabled: true,
        ..InventorySettings::default()
    };
    assert_eq!(next_run_at(&s, None, at), Some(at));
    assert_eq!(next_run_at(&s, Some(&row(false, None)), at), Some(at));
    // Still enabled: the next run stays, unless the new interval makes it come sooner.
    assert_eq!(
        next_run_at(&s, Some(&row(true, Some(at + 600))), at),
        Some(at + 600)
    );
    s.interval_minutes = 5;
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
