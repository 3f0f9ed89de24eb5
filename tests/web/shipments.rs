//! Get Shipments against the fake BigCommerce: a PO shipped in two parts, items mapped to
//! SKUs, the tracking link from the right field, updates, the first run only setting the
//! watermark, bad data as run items, the request count of an incremental run over 5,000
//! orders, the one-shipment job delivering `shipment.created`, the API, the page and CSV.

use std::time::{Duration, Instant};

use cartbridge::{
    db::{self, runs::RunRow},
    flows::shipments,
    jobs::RunMode,
};
use serde_json::json;

use crate::helpers::{
    fake_bigcommerce::Fault,
    inventory::InventoryEnv,
    partner::{Api, Receiver, create_endpoint, create_key},
    shipments::{
        STORE, order_product_id, run, save_settings, save_settings_as, sent_po, shipments_env,
    },
};

async fn views(env: &InventoryEnv, po: i64) -> Vec<db::shipments::ShipmentView> {
    db::shipments::for_purchase_order(&env.app.db, env.tenant, po)
        .await
        .expect("shipments of the PO")
}

async fn po_status(env: &InventoryEnv, po: i64) -> String {
    let n = env
        .app
        .scalar_i64(&format!(
            "SELECT CAST(CASE status WHEN 'sent' THEN 0 WHEN 'partially_shipped' THEN 1 \
             WHEN 'shipped' THEN 2 ELSE 9 END AS BIGINT) FROM purchase_orders WHERE id = {po}"
        ))
        .await;
    ["sent", "partially_shipped", "shipped"]
        .get(n as usize)
        .unwrap_or(&"other")
        .to_string()
}

async fn count(env: &InventoryEnv, sql: &str) -> i64 {
    env.app.scalar_i64(sql).await
}

async fn items_of(env: &InventoryEnv, run: &RunRow) -> Vec<(String, String, String)> {
    db::runs::items(&env.app.db, env.tenant, run.id, 100, 0)
        .await
        .expect("run items")
        .into_iter()
        .map(|i| (i.external_id, i.outcome, i.message))
        .collect()
}

/// A watching environment whose first run (which only sets the watermark) is done.
async fn watching(which: &str) -> InventoryEnv {
    let env = shipments_env(|_| {}).await;
    save_settings(&env, which, false).await;
    let first = run(&env, RunMode::Auto).await;
    assert_eq!(first.status, "succeeded", "{:?}", first.error);
    env
}

/// The whole bridge, with no stand-in: a partner POSTs a purchase order, Send Orders makes
/// the store order, the supplier ships it in two parts, and Get Shipments records each part
/// once, maps its items to the PO's lines and SKUs, and moves the PO to partially shipped,
/// then shipped, as the PO's own API resource shows.
#[tokio::test]
async fn a_po_sent_by_send_orders_and_shipped_in_two_parts_goes_partially_shipped_then_shipped() {
    use crate::helpers::{
        inventory::STORE as ORDERS_STORE,
        purchase_orders::{orders_env, po_body},
    };
    let orders = orders_env(|_| {}).await;
    orders.enable("guest").await;
    let res = orders.post(&po_body("PO-BRIDGE-1")).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let sent = orders.wait_for("PO-BRIDGE-1", "sent").await;
    let order = sent["bc_order_id"].as_i64().expect("the order id");
    let po = sent["id"].as_i64().expect("the PO id");
    let env = &orders.env;
    save_settings(env, "sent", false).await;
    let first_run = run(env, RunMode::Auto).await;
    assert_eq!(first_run.status, "succeeded", "{:?}", first_run.error);

    let line_of = |sku: &str| {
        env.fake
            .order_products(ORDERS_STORE, order)
            .iter()
            .find(|p| p["sku"] == sku)
            .and_then(|p| p["id"].as_i64())
            .unwrap_or_else(|| panic!("the order has a line for {sku}"))
    };
    let (widget, gadget) = (line_of("SKU-100-1"), line_of("SKU-200"));
    let first = env.fake.ship(
        ORDERS_STORE,
        order,
        json!({"tracking_number": "1ZBRIDGE1", "shipping_provider": "ups",
               "items": [{"order_product_id": widget, "quantity": 2}]}),
    );
    let r = run(env, RunMode::Auto).await;
    assert_eq!(
        (r.status.as_str(), r.created, r.failed),
        ("succeeded", 1, 0),
        "{:?}",
        r.error
    );
    assert_eq!(po_status(env, po).await, "partially_shipped");
    let again = run(env, RunMode::Auto).await;
    assert_eq!((again.created, again.updated), (0, 0), "each shipment once");
    let second = env.fake.ship(
        ORDERS_STORE,
        order,
        json!({"tracking_number": "1ZBRIDGE2", "shipping_provider": "ups",
               "items": [{"order_product_id": gadget, "quantity": 1}]}),
    );
    let r = run(env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated), (1, 0));
    let shipped = orders.wait_for("PO-BRIDGE-1", "shipped").await;
    let shipments = shipped["shipments"].as_array().expect("shipments").clone();
    assert_eq!(shipments.len(), 2, "{shipped}");
    assert_eq!(shipments[0]["shipment_id"], first);
    assert_eq!(shipments[1]["shipment_id"], second);
    assert_eq!(shipments[0]["items"][0]["sku"], "SKU-100-1");
    assert_eq!(shipments[0]["items"][0]["quantity"], 2);
    assert_eq!(shipments[1]["items"][0]["sku"], "SKU-200");
    assert_eq!(
        env.fake.orders(ORDERS_STORE).len(),
        1,
        "one store order for the PO"
    );
}

#[tokio::test]
async fn a_po_shipped_in_two_parts_is_recorded_once_per_shipment_and_goes_partially_shipped_then_shipped()
 {
    let env = watching("sent").await;
    let (po, order) = sent_po(&env, "PO-1001", &[("WID-1", 3), ("GAD-2", 2)]).await;
    let (wid, gad) = (
        order_product_id(&env, order, "WID-1"),
        order_product_id(&env, order, "GAD-2"),
    );
    let first = env.fake.ship(
        STORE,
        order,
        json!({"tracking_number": "1Z999AA1", "shipping_provider": "ups",
               "items": [{"order_product_id": wid, "quantity": 3}]}),
    );
    let r = run(&env, RunMode::Auto).await;
    assert_eq!(
        (r.status.as_str(), r.created, r.failed),
        ("succeeded", 1, 0),
        "{:?}",
        r.error
    );
    assert_eq!(po_status(&env, po).await, "partially_shipped");
    for _ in 0..2 {
        let again = run(&env, RunMode::Auto).await;
        assert_eq!((again.created, again.updated), (0, 0), "seen once only");
    }
    let second = env.fake.ship(
        STORE,
        order,
        json!({"tracking_number": "RM123456GB", "shipping_provider": "royalmail",
               "tracking_link": "https://track.example/RM123456GB",
               "shipping_method": "Royal Mail Tracked 48",
               "items": [{"order_product_id": gad, "quantity": 2}]}),
    );
    let r = run(&env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated), (1, 0));
    assert_eq!(po_status(&env, po).await, "shipped");
    let r = run(&env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated), (0, 0));

    let shown = views(&env, po).await;
    assert_eq!(shown.len(), 2, "two shipments, each once: {shown:?}");
    let (a, b) = (&shown[0], &shown[1]);
    assert_eq!((a.shipment_id, b.shipment_id), (first, second));
    assert_eq!(a.po_number.as_deref(), Some("PO-1001"));
    // Items mapped back to PO lines and SKUs through order_product_id.
    assert_eq!(a.items.len(), 1);
    assert_eq!(
        (
            a.items[0].sku.as_deref(),
            a.items[0].po_line,
            a.items[0].quantity
        ),
        (Some("WID-1"), Some(0), 3)
    );
    assert_eq!(
        (
            b.items[0].sku.as_deref(),
            b.items[0].po_line,
            b.items[0].quantity
        ),
        (Some("GAD-2"), Some(1), 2)
    );
    // The link: generated when the store set none, the store's own when it did.
    assert_eq!(a.tracking_link, "https://track.aftership.com/ups/1Z999AA1");
    assert_eq!(a.tracking_link_source, "generated_tracking_link");
    assert_eq!(b.tracking_link, "https://track.example/RM123456GB");
    assert_eq!(b.tracking_link_source, "tracking_link");
    assert_eq!(
        (a.shipping_provider.as_str(), a.carrier.as_str()),
        ("ups", "UPS")
    );
    assert_eq!(b.carrier, "Royal Mail");
    assert_eq!(b.shipping_method, "Royal Mail Tracked 48");
    assert!(a.shipped_at.is_some() && a.carrier_note.is_none());
    // PO lines: order lines filled once, quantities from the shipments.
    assert_eq!(
        count(&env, &format!("SELECT COUNT(*) FROM purchase_order_lines WHERE purchase_order_id = {po} AND quantity_shipped = quantity AND order_product_id IS NOT NULL")).await,
        2
    );
    let product_reads = env
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(&format!("/v2/orders/{order}/products")))
        .count();
    assert_eq!(
        product_reads, 1,
        "the order's lines are read once, to map them"
    );
    // One shipment.created per shipment in the outbox, nothing else.
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'shipment.created'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'shipment.updated'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_changed_tracking_number_is_recorded_as_an_update_and_an_unchanged_one_emits_nothing() {
    let env = watching("sent").await;
    let (po, order) = sent_po(&env, "PO-2001", &[("WID-1", 1)]).await;
    let id = env.fake.add_shipment(STORE, order, "OLD-1", "fedex");
    run(&env, RunMode::Auto).await;
    env.fake.update_shipment(
        STORE,
        order,
        id,
        json!({"tracking_number": "NEW-2", "tracking_link": "https://fedex.example/NEW-2"}),
    );
    let r = run(&env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated), (0, 1));
    let shown = views(&env, po).await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].tracking_number, "NEW-2");
    assert_eq!(shown[0].tracking_link, "https://fedex.example/NEW-2");
    let r = run(&env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated, r.unchanged), (0, 0, 1));
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'shipment.updated'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'shipment.created'"
        )
        .await,
        1
    );
    assert_eq!(po_status(&env, po).await, "shipped");
}

#[tokio::test]
async fn the_first_run_only_sets_the_watermark_and_backfill_imports_history() {
    let env = shipments_env(|_| {}).await;
    save_settings(&env, "all", false).await;
    let old = env.fake.seed_orders(STORE, 3, 11, 3 * 86_400);
    for id in &old {
        env.fake
            .add_shipment(STORE, *id, &format!("T-{id}"), "usps");
    }
    let first = run(&env, RunMode::Auto).await;
    assert_eq!(
        (first.status.as_str(), first.created, first.fetched),
        ("succeeded", 0, 0)
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM shipments").await,
        0,
        "no history without a backfill"
    );
    let orders_listed = env
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/v2/orders"))
        .count();
    assert_eq!(
        orders_listed, 0,
        "the first run asks only the store's clock"
    );
    let backfill = run(&env, RunMode::Full).await;
    assert_eq!(
        (
            backfill.status.as_str(),
            backfill.mode.as_str(),
            backfill.created
        ),
        ("succeeded", "full", 3)
    );
    let again = run(&env, RunMode::Auto).await;
    assert_eq!(again.created, 0);
}

#[tokio::test]
async fn orders_cartbridge_did_not_send_are_left_alone_unless_every_order_is_watched() {
    let env = watching("sent").await;
    let other = env.fake.seed_orders(STORE, 1, 11, 0)[0];
    env.fake.add_shipment(STORE, other, "STORE-1", "ups");
    let r = run(&env, RunMode::Auto).await;
    assert_eq!(r.created, 0);
    let shipment_reads = env
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/shipments"))
        .count();
    assert_eq!(
        shipment_reads, 0,
        "no shipments request for an order cartbridge did not send"
    );
    save_settings(&env, "all", false).await;
    let r = run(&env, RunMode::Auto).await;
    assert_eq!(r.created, 1);
    let row = count(&env, &format!("SELECT COUNT(*) FROM shipments WHERE bc_order_id = {other} AND purchase_order_id IS NULL")).await;
    assert_eq!(row, 1);
}

#[tokio::test]
async fn bad_data_becomes_run_items_with_reasons_and_the_run_goes_on_with_earlier_data_intact() {
    let env = watching("sent").await;
    // Earlier data: one good shipment.
    let (good_po, good) = sent_po(&env, "PO-GOOD", &[("WID-1", 1)]).await;
    env.fake.add_shipment(STORE, good, "GOOD-1", "ups");
    run(&env, RunMode::Auto).await;
    let before = env
        .app
        .snapshot_of(&[
            (
                "shipments",
                "id, bc_shipment_id, tracking_number, tracking_link, fingerprint, updated_at",
            ),
            (
                "shipment_items",
                "id, shipment_id, order_product_id, quantity, sku",
            ),
        ])
        .await;

    // A 204: marked shipped, no shipments.
    let (_, empty) = sent_po(&env, "PO-204", &[("WID-1", 1)]).await;
    env.fake.set_order_status(STORE, empty, 2);
    // A shipment for an order line that does not exist.
    let (_, ghost) = sent_po(&env, "PO-GHOST", &[("WID-1", 2)]).await;
    let ghost_id = env.fake.add_shipment(STORE, ghost, "GHOST-1", "ups");
    let mut raw = env.fake.shipments(STORE, ghost)[0].clone();
    raw["items"] = json!([{"order_product_id": 999_999, "product_id": 0, "quantity": 2}]);
    env.fake.corrupt_shipment(STORE, ghost, ghost_id, raw);
    // An unknown carrier.
    let (unknown_po, unknown) = sent_po(&env, "PO-CARRIER", &[("WID-1", 1)]).await;
    env.fake
        .add_shipment(STORE, unknown, "DX-77", "dhl-overnight-zz");
    // A malformed shipments page.
    let (broken_po, broken) = sent_po(&env, "PO-BROKEN", &[("WID-1", 1)]).await;
    env.fake.add_shipment(STORE, broken, "BROKEN-1", "usps");
    env.fake.inject(Fault::Malformed {
        path_prefix: format!("/v2/orders/{broken}/shipments"),
        times: 1,
    });
    // A good one after all of them.
    let (late_po, late) = sent_po(&env, "PO-LATE", &[("WID-1", 1)]).await;
    env.fake.add_shipment(STORE, late, "LATE-1", "ups");

    let r = run(&env, RunMode::Auto).await;
    assert_eq!(r.status, "succeeded", "the run goes on: {:?}", r.error);
    let items = items_of(&env, &r).await;
    let find = |needle: &str| {
        items
            .iter()
            .find(|(id, _, _)| id.contains(needle))
            .unwrap_or_else(|| panic!("no run item for {needle}: {items:?}"))
            .clone()
    };
    let (_, outcome, message) = find(&format!("order {empty}"));
    assert_eq!(outcome, "skipped");
    assert!(message.contains("204"), "{message}");
    let (_, outcome, message) = find(&format!("shipment {ghost_id} "));
    assert_eq!(outcome, "failed");
    assert!(
        message.contains("999999") && message.contains("PO-GHOST"),
        "{message}"
    );
    let carrier = items
        .iter()
        .find(|(_, _, m)| m.contains("dhl-overnight-zz"))
        .expect("carrier item");
    assert_eq!(carrier.1, "skipped");
    let (_, outcome, message) = find(&format!("order {broken}"));
    assert_eq!(outcome, "failed");
    assert!(
        message.contains("could not be read") && message.contains("next run"),
        "{message}"
    );
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!((r.skipped, r.failed), (2, 2));

    // Recorded: the ghost's shipment (item unmapped), the unknown carrier as sent, the late one.
    assert_eq!(r.created, 3);
    let ghost_item = count(&env, &format!("SELECT COUNT(*) FROM shipment_items i JOIN shipments s ON s.id = i.shipment_id WHERE s.bc_shipment_id = {ghost_id} AND i.purchase_order_line_id IS NULL AND i.order_product_id = 999999")).await;
    assert_eq!(ghost_item, 1);
    let shown = views(&env, unknown_po).await;
    assert_eq!(shown[0].shipping_provider, "dhl-overnight-zz");
    assert!(
        shown[0]
            .carrier_note
            .as_deref()
            .unwrap_or("")
            .contains("Unknown carrier")
    );
    assert_eq!(views(&env, late_po).await.len(), 1);
    assert_eq!(views(&env, broken_po).await.len(), 0);
    // Earlier data intact.
    let after = env
        .app
        .snapshot_of(&[
            (
                "shipments",
                "id, bc_shipment_id, tracking_number, tracking_link, fingerprint, updated_at",
            ),
            (
                "shipment_items",
                "id, shipment_id, order_product_id, quantity, sku",
            ),
        ])
        .await;
    for table in ["shipments", "shipment_items"] {
        for row in &before[table] {
            assert!(after[table].contains(row), "{table} row changed: {row}");
        }
    }
    assert_eq!(views(&env, good_po).await.len(), 1);

    // The next run reads the broken order again, and raises nothing twice.
    let next = run(&env, RunMode::Auto).await;
    assert_eq!(
        views(&env, broken_po).await.len(),
        1,
        "the broken order is read again"
    );
    let again = items_of(&env, &next).await;
    assert!(
        again
            .iter()
            .all(|(_, _, m)| !m.contains("dhl-overnight-zz")),
        "{again:?}"
    );
}

#[tokio::test]
async fn an_incremental_run_over_5000_orders_with_20_changed_sends_one_list_page_and_one_shipments_request_each()
 {
    let env = shipments_env(|_| {}).await;
    save_settings(&env, "all", false).await;
    let ids = env.fake.seed_orders(STORE, 5_000, 11, 86_400);
    let first = run(&env, RunMode::Auto).await;
    assert_eq!(first.status, "succeeded");
    let changed: Vec<i64> = ids.iter().step_by(250).copied().collect();
    assert_eq!(changed.len(), 20);
    for id in &changed {
        env.fake.add_shipment(STORE, *id, &format!("1Z{id}"), "ups");
    }
    env.fake.clear_requests();
    let r = run(&env, RunMode::Auto).await;
    assert_eq!(
        (r.status.as_str(), r.created),
        ("succeeded", 20),
        "{:?}",
        r.error
    );
    let requests = env.fake.requests();
    let lists = requests
        .iter()
        .filter(|q| q.path.ends_with("/v2/orders"))
        .count();
    let shipments = requests
        .iter()
        .filter(|q| q.path.ends_with("/shipments"))
        .count();
    println!(
        "incremental run over 5,000 orders, 20 changed: {} requests ({lists} order-list page, {shipments} shipments requests)",
        requests.len()
    );
    assert_eq!(lists, 1);
    assert_eq!(shipments, 20);
    assert_eq!(
        requests.len(),
        21,
        "{:?}",
        requests.iter().map(|q| &q.path).collect::<Vec<_>>()
    );
    for id in &changed {
        assert!(
            requests
                .iter()
                .any(|q| q.path.ends_with(&format!("/v2/orders/{id}/shipments")))
        );
    }
}

#[tokio::test]
async fn a_fetched_shipment_is_recorded_and_its_shipment_created_is_delivered_signed() {
    let receiver = Receiver::start().await;
    let env = shipments_env(|s| {
        s.webhooks.allow_private = true;
        s.webhooks.retry_schedule = vec![Duration::ZERO; 7];
    })
    .await;
    save_settings(&env, "sent", true).await;
    let (_, secret) = create_endpoint(
        &env.app,
        &env.client,
        env.tenant,
        &receiver.url,
        &["shipment.created", "shipment.updated"],
    )
    .await;
    receiver.configure(json!({ "secret": secret })).await;
    let (po, order) = sent_po(&env, "PO-HOOK", &[("WID-1", 2)]).await;
    let shipment = env.fake.add_shipment(STORE, order, "HOOK-1", "ups");
    // The job the shared receiver's dispatch queues for store/shipment/created (the lead
    // wires the receiver and the hook registration at merge), queued here directly.
    let started = Instant::now();
    let job =
        shipments::enqueue_fetch_one(&env.app.ctx, env.tenant, env.connection, order, shipment)
            .await
            .expect("queued")
            .expect("a job");
    assert!(job > 0);
    receiver
        .wait_for("shipment.created", 30, |seen| {
            seen.iter().any(|v| v["type"] == "shipment.created")
        })
        .await;
    println!(
        "shipment.created delivered {:?} after the webhook was dispatched",
        started.elapsed()
    );
    let seen = receiver.answered();
    let event = seen
        .iter()
        .find(|v| v["type"] == "shipment.created")
        .expect("event");
    assert_eq!(event["verified"], true, "signature verified: {event}");
    assert_eq!(event["data"]["shipment_id"], shipment);
    assert_eq!(event["data"]["po_number"], "PO-HOOK");
    assert_eq!(event["data"]["tracking_number"], "HOOK-1");
    assert_eq!(event["data"]["items"][0]["sku"], "WID-1");
    assert_eq!(views(&env, po).await.len(), 1);
    // Polling then sees it as known: nothing new.
    let r = run(&env, RunMode::Auto).await;
    assert_eq!((r.created, r.updated), (0, 0));
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'shipment.created'"
        )
        .await,
        1
    );
    // The dispatch honours the settings: the flow here is disabled, so a delivery is ignored.
    assert!(
        !shipments::wants_webhooks(&env.app.ctx, env.tenant, env.connection)
            .await
            .unwrap()
    );
    let ignored =
        shipments::on_shipment_webhook(&env.app.ctx, env.tenant, env.connection, order, shipment)
            .await
            .expect("answered");
    assert_eq!(ignored, None);
    save_settings_as(&env, true, "sent", true).await;
    assert!(
        shipments::wants_webhooks(&env.app.ctx, env.tenant, env.connection)
            .await
            .unwrap()
    );
    let queued =
        shipments::on_shipment_webhook(&env.app.ctx, env.tenant, env.connection, order, shipment)
            .await
            .expect("answered");
    assert!(
        queued.is_some(),
        "enabled and listening: the delivery queues a fetch"
    );
}

/// The whole path of a shipment webhook: saving "also listen" registers both shipment
/// scopes on the store (one hook each, to the connection's receiver URL); the fake store
/// fires `store/shipment/created` at it; the shared receiver stores and acknowledges it,
/// its job hands it to Get Shipments, which fetches that one shipment, records it, and the
/// partner's endpoint receives `shipment.created`, signed. Turning listening off removes
/// the hooks and the receiver then answers 410, so BigCommerce stops.
#[tokio::test]
async fn a_shipment_webhook_from_the_store_is_recorded_and_reaches_the_partner_signed() {
    let receiver = Receiver::start().await;
    let env = shipments_env(|s| {
        s.webhooks.allow_private = true;
        s.webhooks.retry_schedule = vec![Duration::ZERO; 7];
    })
    .await;
    let (_, secret) = create_endpoint(
        &env.app,
        &env.client,
        env.tenant,
        &receiver.url,
        &["shipment.created"],
    )
    .await;
    receiver.configure(json!({ "secret": secret })).await;
    let (po, order) = sent_po(&env, "PO-WEBHOOK", &[("WID-1", 2)]).await;
    save_settings_as(&env, true, "sent", true).await;
    let hooks = env.fake.hooks(STORE);
    for scope in shipments::WEBHOOK_SCOPES {
        let mine: Vec<_> = hooks.iter().filter(|h| h["scope"] == *scope).collect();
        assert_eq!(mine.len(), 1, "one hook for {scope}: {hooks:?}");
        assert_eq!(mine[0]["is_active"], true);
        let destination = mine[0]["destination"].as_str().unwrap_or_default();
        assert!(
            destination.starts_with(&format!("{}/webhooks/bigcommerce/", env.app.base)),
            "{destination}"
        );
    }
    // Enabling queued a first run (it only sets the watermark); let it finish first.
    for _ in 0..300 {
        if count(
            &env,
            "SELECT COUNT(*) FROM runs WHERE flow = 'get_shipments' AND status = 'succeeded'",
        )
        .await
            > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let shipment = env.fake.add_shipment(STORE, order, "1ZWEBHOOK1", "ups");
    let started = Instant::now();
    let sent = env
        .fake
        .fire(
            STORE,
            "store/shipment/created",
            json!({"type": "shipment", "id": shipment, "orderId": order}),
        )
        .await
        .expect("delivered");
    assert_eq!(sent.len(), 1, "one active hook for the scope");
    assert_eq!(sent[0].status, Some(200), "the receiver acknowledged it");
    receiver
        .wait_for("shipment.created", 30, |seen| {
            seen.iter().any(|v| v["type"] == "shipment.created")
        })
        .await;
    println!(
        "store/shipment/created fired → shipment.created received by the partner in {:?}",
        started.elapsed()
    );
    let seen = receiver.answered();
    let event = seen
        .iter()
        .find(|v| v["type"] == "shipment.created")
        .expect("event");
    assert_eq!(event["verified"], true, "signature verified: {event}");
    assert_eq!(event["data"]["shipment_id"], shipment);
    assert_eq!(event["data"]["po_number"], "PO-WEBHOOK");
    assert_eq!(event["data"]["tracking_number"], "1ZWEBHOOK1");
    let recorded = views(&env, po).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(po_status(&env, po).await, "shipped");

    // Listening off: the hooks go, and a late delivery is refused with 410.
    save_settings_as(&env, true, "sent", false).await;
    assert!(
        env.fake.hooks(STORE).iter().all(|h| !h["scope"]
            .as_str()
            .unwrap_or_default()
            .starts_with("store/shipment/")),
        "shipment hooks removed"
    );
    let late = reqwest::Client::new()
        .post(&sent[0].destination)
        .headers(
            sent[0]
                .headers
                .iter()
                .map(|(k, v)| (k.parse().expect("name"), v.parse().expect("value")))
                .collect(),
        )
        .json(&sent[0].body)
        .send()
        .await
        .expect("answered");
    assert_eq!(late.status().as_u16(), 410);
    assert_eq!(views(&env, po).await.len(), 1, "nothing more recorded");
}

/// A run's hook check racing a save that stops listening leaves no hook on the store: the
/// check is held at its first look at a hook (`GET /v3/hooks/{id}`), the save removes the
/// registrations and the hooks meanwhile, the check then finds the hook gone and creates it
/// again, sees that its registration went, and deletes what it made.
#[tokio::test]
async fn a_hook_check_racing_a_save_that_stops_listening_leaves_no_hook_on_the_store() {
    let env = shipments_env(|_| {}).await;
    save_settings_as(&env, true, "sent", true).await;
    let listening = |env: &InventoryEnv| {
        env.fake
            .hooks(STORE)
            .iter()
            .filter(|h| {
                h["scope"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("store/shipment/")
            })
            .count()
    };
    assert_eq!(listening(&env), shipments::WEBHOOK_SCOPES.len());

    // Long enough for the save below to finish inside it, even on a loaded machine.
    env.fake.inject(Fault::Slow {
        delay: Duration::from_secs(4),
        path_prefix: "/v3/hooks/".into(),
        times: 1,
    });
    let seen = env.fake.requests().len();
    let ctx = env.app.ctx.clone();
    let (tenant, connection) = (env.tenant, env.connection);
    let check = tokio::spawn(async move {
        cartbridge::inbound::check(&ctx, tenant, connection, Some("get_shipments"))
            .await
            .map_err(|e| e.to_string())
    });
    // The check has reached the store and is held there.
    env.fake
        .wait_for_request(seen, |r| r.method == "GET" && r.path.contains("/v3/hooks/"))
        .await;
    save_settings_as(&env, true, "sent", false).await;
    assert_eq!(listening(&env), 0, "the save removed the hooks");
    check
        .await
        .expect("the check ran")
        .expect("the check succeeded");

    assert_eq!(
        listening(&env),
        0,
        "no hook re-created by the check outlives the save: {:?}",
        env.fake.hooks(STORE)
    );
    assert!(
        env.fake
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/v3/hooks")),
        "the check did re-create a hook (the race happened)"
    );
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM bigcommerce_hooks WHERE flow = 'get_shipments'"
        )
        .await,
        0
    );
}

/// Registers the shipment scopes for the connection, as enabling listening does.
async fn register_hooks(env: &InventoryEnv) -> Result<(), cartbridge::inbound::HookError> {
    cartbridge::inbound::ensure(
        &env.app.ctx,
        env.tenant,
        env.connection,
        "get_shipments",
        shipments::WEBHOOK_SCOPES,
    )
    .await
}

/// Two registrations of one hook at once (a save and a run, or two processes): this one
/// looks and finds nothing, the other creates the hook meanwhile, and BigCommerce refuses
/// this one's create with 422 ("already exists"). The check adopts the other's hook instead
/// of failing: one hook per scope, recorded. (The look is answered "nothing" and then held
/// by the fake while the other registration creates the hook, so the race always happens.)
#[tokio::test]
async fn a_registration_that_loses_the_race_to_create_a_hook_adopts_the_winner_s() {
    let env = shipments_env(|_| {}).await;
    let (public_id, secret) = cartbridge::inbound::key(&env.app.ctx, env.tenant, env.connection)
        .await
        .expect("the connection's hook key");
    let scope = shipments::WEBHOOK_SCOPES[0];
    env.fake.inject(Fault::HangAfterWrite {
        delay: Duration::from_millis(800),
        path_prefix: "/v3/hooks".into(),
        times: 1,
    });
    let seen = env.fake.requests().len();
    let registration = tokio::spawn({
        let ctx = env.app.ctx.clone();
        let (tenant, connection) = (env.tenant, env.connection);
        async move {
            cartbridge::inbound::ensure(&ctx, tenant, connection, "get_shipments", &[scope])
                .await
                .map_err(|e| e.to_string())
        }
    });
    env.fake
        .wait_for_request(seen, |r| r.method == "GET" && r.path.ends_with("/v3/hooks"))
        .await;
    // The other registration creates the hook while this one's look is held.
    let winner: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/stores/{STORE}/v3/hooks", env.fake.api_url()))
        .header("X-Auth-Token", crate::helpers::shipments::TOKEN)
        .json(&json!({
            "scope": scope,
            "destination": format!("{}/webhooks/bigcommerce/{public_id}", env.app.base),
            "is_active": true,
            "headers": { cartbridge::inbound::SECRET_HEADER: secret.expose() },
        }))
        .send()
        .await
        .expect("created")
        .json()
        .await
        .expect("the hook");
    let winner = winner["data"]["id"].as_i64().expect("the winner's id");

    registration
        .await
        .expect("the registration ran")
        .expect("the registration succeeded");
    assert_eq!(
        env.fake.count_answered(422),
        1,
        "the late create was refused"
    );
    let hooks = env.fake.hooks(STORE);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["id"], winner);
    assert_eq!(
        count(
            &env,
            &format!(
                "SELECT COUNT(*) FROM bigcommerce_hooks WHERE scope = '{scope}' \
                 AND bc_hook_id = {winner} AND is_active AND problem IS NULL"
            )
        )
        .await,
        1,
        "the winner's hook is recorded"
    );
}

/// A hook key whose creator died between inserting the row and sealing its secret is
/// taken over with a new secret by the next registration, which then succeeds; deliveries
/// carrying that secret are accepted.
#[tokio::test]
async fn a_hook_key_left_unsealed_by_a_dead_request_is_taken_over_by_the_next_registration() {
    let env = shipments_env(|_| {}).await;
    let orphan = db::inbound::insert_key(
        &env.app.db,
        env.tenant,
        env.connection,
        "DeadRequestPublicId00000",
        "0000",
    )
    .await
    .expect("insert")
    .expect("a new row");
    register_hooks(&env)
        .await
        .expect("the registration took the key over");
    let row = db::inbound::key(&env.app.db, env.tenant, env.connection)
        .await
        .expect("read")
        .expect("the key");
    assert_eq!(row.id, orphan, "the same row, now sealed");
    assert!(!row.secret_ct.is_empty());
    let hooks = env.fake.hooks(STORE);
    assert_eq!(hooks.len(), shipments::WEBHOOK_SCOPES.len(), "{hooks:?}");
    let hook = &hooks[0];
    assert!(
        hook["destination"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/webhooks/bigcommerce/DeadRequestPublicId00000")
    );
    let secret = hook["headers"][cartbridge::inbound::SECRET_HEADER]
        .as_str()
        .expect("the secret header");
    let res = reqwest::Client::new()
        .post(hook["destination"].as_str().expect("destination"))
        .header(cartbridge::inbound::SECRET_HEADER, secret)
        .json(&json!({
            "scope": "store/shipment/created",
            "store_id": "1",
            "producer": format!("stores/{STORE}"),
            "hash": "takeover1",
            "created_at": 1_700_000_000,
            "data": {"type": "shipment", "id": 1, "orderId": 1},
        }))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status().as_u16(), 200, "the new secret is accepted");
}

#[tokio::test]
async fn the_api_lists_shipments_per_tenant_and_connection_and_the_page_searches_and_exports() {
    let env = watching("sent").await;
    let (po, order) = sent_po(&env, "PO-API-7", &[("WID-1", 1)]).await;
    env.fake.add_shipment(STORE, order, "1ZAPI777", "ups");
    let (_, other) = sent_po(&env, "PO-API-8", &[("GAD-2", 1)]).await;
    env.fake.add_shipment(STORE, other, "RMAPI888", "royalmail");
    run(&env, RunMode::Auto).await;

    let key = create_key(&env.client, env.tenant, "partner", "read", &[]).await;
    let api = Api::new(&env.app, Some(&key));
    let all = api.get("/api/v1/shipments?limit=1").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let page = all.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["po_number"], "PO-API-7");
    let cursor = page["next_cursor"].as_str().expect("more").to_owned();
    let rest = api
        .get(&format!("/api/v1/shipments?limit=1&cursor={cursor}"))
        .await
        .json();
    assert_eq!(rest["data"][0]["po_number"], "PO-API-8");
    let by_connection = api
        .get(&format!("/api/v1/connections/{}/shipments", env.connection))
        .await;
    assert_eq!(by_connection.status, 200);
    assert_eq!(by_connection.json()["data"].as_array().unwrap().len(), 2);
    api.get("/api/v1/connections/999999/shipments")
        .await
        .assert_problem(404);
    // The PO's own resource carries its shipments, and its page lists them with the link.
    let po_resource = api
        .get(&format!(
            "/api/v1/connections/{}/purchase-orders/PO-API-7",
            env.connection
        ))
        .await;
    assert_eq!(po_resource.status, 200, "{}", po_resource.body);
    let po_json = po_resource.json();
    assert_eq!(po_json["status"], "shipped", "{po_json}");
    assert_eq!(
        po_json["shipments"].as_array().map(Vec::len),
        Some(1),
        "{po_json}"
    );
    assert_eq!(po_json["shipments"][0]["tracking_number"], "1ZAPI777");
    let detail = env
        .client
        .get(&format!(
            "/t/{}/connections/{}/purchase-orders/{po}",
            env.tenant, env.connection
        ))
        .await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("id=\"po-shipments\"")
            && detail
                .body
                .contains("href=\"https://track.aftership.com/ups/1ZAPI777\""),
        "{}",
        detail.body
    );
    api.get("/api/v1/shipments?cursor=nope")
        .await
        .assert_problem(422);

    let base = format!("/t/{}/connections/{}/shipments", env.tenant, env.connection);
    for q in [
        "PO-API-7",
        "po-api-7",
        &order.to_string(),
        "1ZAPI777",
        "1zapi",
    ] {
        let page = env.client.get(&format!("{base}?q={q}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("1ZAPI777"), "search {q}");
        assert!(
            !page.body.contains("RMAPI888"),
            "search {q} shows only the match"
        );
    }
    let page = env.client.get(&format!("{base}?q=%25")).await;
    assert!(
        !page.body.contains("1ZAPI777"),
        "a % is a character, not a wildcard"
    );
    let po_page = env.client.get(&format!("{base}?po={po}")).await;
    assert_eq!(po_page.status, 200);
    assert!(
        po_page
            .body
            .contains("href=\"https://track.aftership.com/ups/1ZAPI777\""),
        "{}",
        po_page.body
    );
    let csv = env.client.get(&format!("{base}.csv")).await;
    assert_eq!(csv.status, 200);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "shipment_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.iter().any(|f| f == "PO-API-7")));
}

#[tokio::test]
async fn the_shipments_list_shows_when_each_shipped_in_the_tenants_time_zone() {
    let env = watching("sent").await;
    let (po, order) = sent_po(&env, "PO-TZ-1", &[("WID-1", 1)]).await;
    env.fake.add_shipment(STORE, order, "1ZTZ0001", "ups");
    run(&env, RunMode::Auto).await;
    // 2026-01-01 00:00 UTC, which is 09:00 in Tokyo.
    env.app
        .execute("UPDATE shipments SET shipped_at = 1767225600")
        .await;
    env.app
        .execute(&format!(
            "UPDATE tenants SET time_zone = 'Asia/Tokyo' WHERE id = {}",
            env.tenant
        ))
        .await;
    let stamp = "<time datetime=\"2026-01-01T00:00:00Z\" title=\"2026-01-01 00:00 UTC\">\
                 2026-01-01 09:00 JST</time>";
    let base = format!("/t/{}/connections/{}", env.tenant, env.connection);
    for path in [
        format!("{base}/shipments"),
        format!("{base}/shipments?po={po}"),
        format!("{base}/purchase-orders/{po}"),
    ] {
        let page = env.client.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains(stamp), "{path}: {}", page.body);
    }
}
