//! Send Orders (issue 11): each customer mode against the fake, compared field by field;
//! exactly once (the same PO twice, 20 at once, a dropped connection after the order was
//! created, a `cartbridge serve` SIGKILLed before it saved the order id); bad input that
//! changes nothing; failures a person can act on. Runs on SQLite and, with
//! `CARTBRIDGE_TEST_POSTGRES_URL`, on PostgreSQL.

use std::time::Duration;

use cartbridge::flows::send_orders::SendOrdersSettings;
use serde_json::{Value, json};

use crate::helpers::{
    fake_bigcommerce::{FakeCustomer, Fault},
    inventory::STORE,
    process,
    purchase_orders::{OrdersEnv, orders_env, po_body, post_po},
};

/// The bodies of every `POST /v2/orders` the fake received.
fn order_posts(env: &OrdersEnv) -> Vec<Value> {
    let path = format!("/stores/{STORE}/v2/orders");
    env.env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| serde_json::from_str(&r.body).expect("JSON body"))
        .collect()
}

/// Asserts the order the fake received for `po_body("PO-…")`, field by field.
fn assert_order_matches(env: &OrdersEnv, sent: &Value, po_number: &str, customer_id: i64) {
    assert_eq!(sent["external_order_id"], po_number);
    assert_eq!(sent["external_source"], "cartbridge");
    assert_eq!(sent["customer_id"], customer_id);
    assert_eq!(sent["status_id"], 11);
    let b = &sent["billing_address"];
    for (k, v) in [
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("company", "Retail Co"),
        ("street_1", "123 Main St"),
        ("street_2", ""),
        ("city", "Austin"),
        ("state", "Texas"),
        ("zip", "78751"),
        ("country_iso2", "US"),
        ("email", "ap@retail.example"),
    ] {
        assert_eq!(b[k], v, "billing_address.{k} in {b}");
    }
    let s = &sent["shipping_addresses"][0];
    for (k, v) in [
        ("first_name", "Sam"),
        ("last_name", "Dock"),
        ("street_1", "9 Warehouse Rd"),
        ("street_2", "Dock 4"),
        ("city", "Round Rock"),
        ("zip", "78664"),
        ("country_iso2", "US"),
        ("shipping_method", "UPS Ground"),
        ("email", "buyer@example.com"),
    ] {
        assert_eq!(s[k], v, "shipping_addresses[0].{k} in {s}");
    }
    let products = sent["products"].as_array().expect("products");
    assert_eq!(products.len(), 2);
    assert_eq!(products[0]["product_id"], env.widget.0);
    assert_eq!(products[0]["variant_id"], env.widget.1);
    assert_eq!(products[0]["quantity"], 2);
    assert_eq!(products[0]["price_inc_tax"], json!(12.5));
    assert_eq!(products[0]["price_ex_tax"], json!(12.5));
    assert_eq!(products[1]["product_id"], env.gadget.0);
    assert_eq!(products[1]["variant_id"], env.gadget.1);
    assert_eq!(products[1]["quantity"], 1);
    assert!(
        products[1].get("price_inc_tax").is_none(),
        "{}",
        products[1]
    );
    assert_eq!(sent["shipping_cost_inc_tax"], json!(5.0));
    assert_eq!(sent["customer_message"], "Dock 4");
}

/// The one order the fake holds for a PO number, and its lines.
fn the_order(env: &OrdersEnv, po_number: &str) -> (Value, Vec<Value>) {
    let orders: Vec<Value> = env
        .orders()
        .into_iter()
        .filter(|o| o["external_order_id"] == po_number)
        .collect();
    assert_eq!(orders.len(), 1, "orders for {po_number}: {orders:?}");
    let id = orders[0]["id"].as_i64().expect("id");
    let lines = env.env.fake.order_products(STORE, id);
    (orders[0].clone(), lines)
}

#[tokio::test]
async fn a_guest_po_becomes_one_order_with_every_field_as_sent() {
    let env = orders_env(|_| {}).await;
    env.enable("guest").await;
    let res = env.post(&po_body("PO-1001")).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let created = res.json();
    assert_eq!(created["po_number"], "PO-1001");
    assert!(created["id"].is_i64());
    assert!(
        matches!(
            created["status"].as_str(),
            Some("received" | "sending" | "sent")
        ),
        "{created}"
    );
    let po = env.wait_for("PO-1001", "sent").await;
    let (order, lines) = the_order(&env, "PO-1001");
    assert_eq!(po["bc_order_id"], order["id"]);
    assert_eq!(po["bc_customer_id"], 0);
    assert_eq!(order["customer_id"], 0);
    assert_eq!(order["status_id"], 11);
    assert_eq!(order["external_source"], "cartbridge");
    assert_eq!(lines[0]["product_id"], env.widget.0);
    assert_eq!(lines[0]["variant_id"], env.widget.1);
    assert_eq!(lines[1]["variant_id"], env.gadget.1);
    let posts = order_posts(&env);
    assert_eq!(posts.len(), 1);
    assert_order_matches(&env, &posts[0], "PO-1001", 0);
    // The PO view: lines resolved, one attempt that created the order.
    assert_eq!(po["lines"][0]["variant_id"], env.widget.1);
    assert_eq!(po["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(po["attempts"][0]["outcome"], "created");
    // order.created in the outbox, in the same transaction as `sent`.
    let events = env
        .app()
        .scalar_i64("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'order.created'")
        .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn create_mode_creates_the_customer_once_and_the_next_po_reuses_it() {
    let env = orders_env(|_| {}).await;
    env.enable("create").await;
    assert_eq!(env.post(&po_body("PO-2001")).await.status, 201);
    let first = env.wait_for("PO-2001", "sent").await;
    assert_eq!(env.post(&po_body("PO-2002")).await.status, 201);
    let second = env.wait_for("PO-2002", "sent").await;
    let customers = env.env.fake.customers(STORE);
    assert_eq!(customers.len(), 1, "{customers:?}");
    let id = customers[0]["id"].as_i64().unwrap();
    assert_eq!(customers[0]["email"], "buyer@example.com");
    assert_eq!(customers[0]["first_name"], "Jane");
    assert_eq!(customers[0]["last_name"], "Doe");
    assert_eq!(first["bc_customer_id"], id);
    assert_eq!(second["bc_customer_id"], id);
    let posts = order_posts(&env);
    assert_eq!(posts.len(), 2);
    assert_order_matches(&env, &posts[0], "PO-2001", id);
    assert_order_matches(&env, &posts[1], "PO-2002", id);
    assert_eq!(the_order(&env, "PO-2002").0["customer_id"], id);
}

#[tokio::test]
async fn existing_mode_uses_the_customer_found_or_fails_the_po_without_an_order() {
    let env = orders_env(|_| {}).await;
    let id = env
        .env
        .fake
        .add_customer(STORE, FakeCustomer::new("buyer@example.com", "Jane", "Doe"));
    env.enable("existing").await;
    assert_eq!(env.post(&po_body("PO-3001")).await.status, 201);
    let po = env.wait_for("PO-3001", "sent").await;
    assert_eq!(po["bc_customer_id"], id);
    assert_order_matches(&env, &order_posts(&env)[0], "PO-3001", id);

    let mut other = po_body("PO-3002");
    other["customer"]["email"] = json!("nobody@example.com");
    assert_eq!(env.post(&other).await.status, 201);
    let failed = env.wait_for("PO-3002", "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("No customer with email nobody@example.com in the store"),
        "{reason}"
    );
    assert!(failed["bc_order_id"].is_null());
    assert_eq!(order_posts(&env).len(), 1, "no order was sent for PO-3002");
    assert_eq!(
        env.env.fake.customers(STORE).len(),
        1,
        "no customer created"
    );
    assert_eq!(failed["attempts"][0]["outcome"], "failed");
    let failed_events = env
        .app()
        .scalar_i64("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'order.failed'")
        .await;
    assert_eq!(failed_events, 1);
}

#[tokio::test]
async fn the_same_po_twice_then_twenty_at_once_makes_one_order() {
    let env = orders_env(|_| {}).await;
    env.enable("guest").await;
    let body = po_body("PO-4001");
    let first = env.post(&body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = env.post(&body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);

    let base = env.app().base.clone();
    let path = env.path();
    let mut tasks = tokio::task::JoinSet::new();
    let concurrent = po_body("PO-4002").to_string();
    for _ in 0..20 {
        let (base, key, path, body) = (
            base.clone(),
            env.key.clone(),
            path.clone(),
            concurrent.clone(),
        );
        tasks.spawn(async move { post_po(&base, &key, &path, &body).await });
    }
    let mut statuses = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    while let Some(res) = tasks.join_next().await {
        let res = res.expect("task");
        statuses.push(res.status);
        ids.insert(res.json()["id"].as_i64().expect("id"));
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(ids.len(), 1, "every answer names the same PO");

    env.wait_for("PO-4001", "sent").await;
    env.wait_for("PO-4002", "sent").await;
    the_order(&env, "PO-4001");
    the_order(&env, "PO-4002");
    assert_eq!(order_posts(&env).len(), 2);
    let app = env.app();
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM purchase_orders").await,
        2
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind = 'send_orders'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_dropped_connection_after_the_order_was_created_is_adopted_by_lookup() {
    let env = orders_env(|_| {}).await;
    env.env.fake.inject(Fault::DropAfterWrite {
        path_prefix: "/v2/orders".into(),
        times: 1,
    });
    env.enable("guest").await;
    assert_eq!(env.post(&po_body("PO-5001")).await.status, 201);
    let po = env.wait_for("PO-5001", "sent").await;
    let (order, _) = the_order(&env, "PO-5001");
    assert_eq!(po["bc_order_id"], order["id"]);
    assert_eq!(
        order_posts(&env).len(),
        1,
        "the order was never POSTed twice"
    );
    let outcomes: Vec<_> = po["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(outcomes, ["unknown", "adopted"]);
    let lookups = env
        .env
        .fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "GET"
                && r.path.ends_with("/v2/orders")
                && r.query_param("external_order_id").as_deref() == Some("PO-5001")
        })
        .count();
    assert_eq!(lookups, 1);
}

#[tokio::test]
async fn a_serve_killed_after_the_store_created_the_order_is_adopted_after_restart() {
    // The in-process app only takes the PO (no workers); the real binary sends it.
    let env = orders_env(|s| s.jobs.workers = 0).await;
    env.enable("guest").await;
    env.env.fake.inject(Fault::HangAfterWrite {
        delay: Duration::from_secs(120),
        path_prefix: "/v2/orders".into(),
        times: 1,
    });
    assert_eq!(env.post(&po_body("PO-6001")).await.status, 201);
    let extra = [
        ("CARTBRIDGE_JOB_LEASE_SECS", "2"),
        ("CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS", "300"),
    ];
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_cartbridge"));
    let vars = process::child_env(env.app(), &env.env.fake.api_url(), &extra);
    let mut first = process::spawn(binary, &["serve"], &vars, env.app().data_dir.path());
    // Wait until the store has created the order (the answer hangs).
    let mut created = false;
    for _ in 0..600 {
        if !env.orders().is_empty() {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        created,
        "the child never sent the order:\n{}",
        first.output()
    );
    first.kill();
    let po_id = env
        .app()
        .scalar_i64("SELECT id FROM purchase_orders WHERE po_number = 'PO-6001'")
        .await;
    let status = env
        .app()
        .scalar_i64(&format!(
            "SELECT COUNT(*) \
             FROM purchase_orders WHERE id = {po_id} AND status = 'sending' AND bc_order_id IS NULL"
        ))
        .await;
    assert_eq!(status, 1, "killed while sending, before the id was saved");

    let second = process::spawn(binary, &["serve"], &vars, env.app().data_dir.path());
    let po = env.wait_for("PO-6001", "sent").await;
    let (order, _) = the_order(&env, "PO-6001");
    assert_eq!(po["bc_order_id"], order["id"], "{}", second.output());
    assert_eq!(env.orders().len(), 1);
    assert_eq!(order_posts(&env).len(), 1, "never POSTed again");
    let last = po["attempts"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["outcome"], "adopted");
}

#[tokio::test]
async fn bad_input_is_a_422_per_field_and_a_changed_body_a_409_and_neither_changes_anything() {
    let env = orders_env(|_| {}).await;
    env.enable("guest").await;
    let before = env.app().snapshot().await;
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({}),
            &["billing_address", "customer", "lines", "po_number"],
        ),
        (
            {
                let mut b = po_body("PO-7001");
                b["lines"][1]["sku"] = json!("");
                b["lines"][0]["quantity"] = json!(0);
                b
            },
            &["lines[0].quantity", "lines[1].sku"],
        ),
        (
            {
                let mut b = po_body("PO-7001");
                b["lines"][0]["price"] = json!(12.5);
                b["shipping_cost"] = json!("-1");
                b
            },
            &["lines[0].price", "shipping_cost"],
        ),
        (
            {
                let mut b = po_body("PO-7001");
                b["billing_address"]["street_1"] = json!("");
                b["billing_address"]["country_iso2"] = json!("USA");
                b["shipping_address"]["zip"] = json!("7");
                b["customer"]["email"] = json!("not-an-email");
                b
            },
            &[
                "billing_address.country_iso2",
                "billing_address.street_1",
                "customer.email",
                "shipping_address.zip",
            ],
        ),
        (
            {
                let mut b = po_body("PO 7001");
                b["lines"] = json!([]);
                b
            },
            &["lines", "po_number"],
        ),
    ];
    for (body, fields) in cases {
        let res = env.post(&body).await;
        let problem = res.assert_problem(422);
        let got: Vec<&str> = problem["errors"]
            .as_object()
            .expect("errors")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, fields, "{problem}");
        for messages in problem["errors"].as_object().unwrap().values() {
            assert!(!messages[0].as_str().unwrap().is_empty());
        }
    }
    env.post_raw("{not json").await.assert_problem(422);
    env.post_raw("[1, 2]").await.assert_problem(422);
    assert_eq!(env.app().snapshot().await, before, "a 422 changed nothing");

    assert_eq!(env.post(&po_body("PO-7002")).await.status, 201);
    env.wait_for("PO-7002", "sent").await;
    let after_first = env.app().snapshot().await;
    let mut changed = po_body("PO-7002");
    changed["lines"][0]["quantity"] = json!(3);
    let problem = env.post(&changed).await.assert_problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("PO-7002"),
        "{problem}"
    );
    assert_eq!(
        env.app().snapshot().await,
        after_first,
        "a 409 changed nothing"
    );
    assert_eq!(order_posts(&env).len(), 1);

    // A read-only key may not submit.
    let read =
        crate::helpers::partner::create_key(&env.env.client, env.env.tenant, "read", "read", &[])
            .await;
    let res = post_po(
        &env.app().base,
        &read,
        &env.path(),
        &po_body("PO-7003").to_string(),
    )
    .await;
    res.assert_problem(403);
}

#[tokio::test]
async fn an_unknown_sku_or_a_line_beyond_stock_fails_the_po_with_the_line_and_sends_nothing() {
    let env = orders_env(|_| {}).await;
    // Get Inventory's snapshot gives the known stock.
    env.env.run(cartbridge::jobs::RunMode::Full).await;
    env.save(&SendOrdersSettings {
        enabled: true,
        refuse_over_stock: true,
        ..SendOrdersSettings::default()
    })
    .await;
    let mut unknown = po_body("PO-8001");
    unknown["lines"][1]["sku"] = json!("NOPE-1");
    assert_eq!(env.post(&unknown).await.status, 201);
    let failed = env.wait_for("PO-8001", "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("Line 2") && reason.contains("NOPE-1"),
        "{reason}"
    );

    let mut over = po_body("PO-8002");
    over["lines"][1]["quantity"] = json!(4);
    assert_eq!(env.post(&over).await.status, 201);
    let failed = env.wait_for("PO-8002", "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("Line 2") && reason.contains("only 3 are in stock"),
        "{reason}"
    );
    assert!(order_posts(&env).is_empty(), "nothing was sent");
    assert!(env.orders().is_empty());
    for po in ["PO-8001", "PO-8002"] {
        let status = env
            .app()
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM purchase_orders WHERE po_number = '{po}' AND status = 'failed' \
                 AND bc_order_id IS NULL AND order_body IS NULL"
            ))
            .await;
        assert_eq!(status, 1, "{po} failed before anything was sent");
    }

    // Fix the cause (allow more than stock) and retry: the PO is sent.
    env.save(&SendOrdersSettings {
        enabled: true,
        refuse_over_stock: false,
        ..SendOrdersSettings::default()
    })
    .await;
    let po_id = env
        .app()
        .scalar_i64("SELECT id FROM purchase_orders WHERE po_number = 'PO-8002'")
        .await;
    assert!(
        cartbridge::flows::send_orders::retry(&env.app().ctx, env.env.tenant, po_id)
            .await
            .unwrap()
    );
    env.wait_for("PO-8002", "sent").await;
    assert_eq!(order_posts(&env).len(), 1);
}

#[tokio::test]
async fn while_the_flow_is_off_pos_are_held_and_sent_when_it_is_turned_on() {
    let env = orders_env(|_| {}).await;
    assert_eq!(env.post(&po_body("PO-9001")).await.status, 201);
    assert_eq!(env.post(&po_body("PO-9002")).await.status, 201);
    env.wait_for("PO-9001", "held").await;
    let held = env.get(&format!("{}?status=held", env.path())).await.json();
    assert_eq!(held["data"].as_array().unwrap().len(), 2);
    let po2 = env
        .app()
        .scalar_i64("SELECT id FROM purchase_orders WHERE po_number = 'PO-9002'")
        .await;
    assert!(
        cartbridge::flows::send_orders::cancel(&env.app().ctx, env.env.tenant, po2)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(env.orders().is_empty(), "nothing is sent while off");
    env.enable("guest").await;
    env.wait_for("PO-9001", "sent").await;
    env.wait_for("PO-9002", "cancelled").await;
    assert_eq!(order_posts(&env).len(), 1);
    env.get(&format!("{}?status=bogus", env.path()))
        .await
        .assert_problem(422);
}

/// The template's header, then rows for POs `CSV-1` (two lines) and `CSV-2`.
fn csv_file(bad_zip_for_csv2: bool, bad_qty_row: bool) -> String {
    let template = cartbridge::flows::send_orders::csv_import::template();
    let mut lines = template.lines();
    let header = lines.next().unwrap().to_owned();
    let row1 = lines.next().unwrap().to_owned();
    let row2 = lines.next().unwrap().to_owned();
    let mut out = vec![header];
    out.push(row1.replace("PO-1001", "CSV-1"));
    let second = row2.replace("PO-1001", "CSV-1");
    out.push(if bad_qty_row {
        second.replace("SKU-200,1,", "SKU-200,-2,")
    } else {
        second
    });
    let third = row1.replace("PO-1001", "CSV-2");
    out.push(if bad_zip_for_csv2 {
        third.replace(",78751,", ",,")
    } else {
        third
    });
    out.join("\n") + "\n"
}

#[tokio::test]
async fn a_csv_with_bad_rows_imports_nothing_and_lists_each_line_and_a_good_one_imports_once() {
    let env = orders_env(|_| {}).await;
    env.enable("guest").await;
    let (client, t, c) = (&env.env.client, env.env.tenant, env.env.connection);
    let list = format!("/t/{t}/connections/{c}/purchase-orders");
    let upload = format!("{list}/upload");
    let template = client.get(&format!("{list}/template.csv")).await;
    assert_eq!(template.status, 200);
    assert!(template.body.starts_with("po_number,customer_email,"));

    let before = env.app().snapshot().await;
    let bad = client
        .submit(&list, &upload, &[("csv", &csv_file(true, true))])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("Nothing was imported"), "{}", bad.body);
    assert!(bad.body.contains("Line 3: quantity:"), "{}", bad.body);
    assert!(bad.body.contains("Line 4: billing_zip:"), "{}", bad.body);
    assert_eq!(
        env.app().snapshot().await,
        before,
        "a bad file imports nothing"
    );

    let good = csv_file(false, false);
    let res = client.submit(&list, &upload, &[("csv", &good)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = client.get(&list).await;
    assert!(
        page.body.contains("Imported 2 new purchase orders"),
        "{}",
        page.body
    );
    env.wait_for("CSV-1", "sent").await;
    env.wait_for("CSV-2", "sent").await;
    let res = client.submit(&list, &upload, &[("csv", &good)]).await;
    assert_eq!(res.status, 303);
    let page = client.get(&list).await;
    assert!(
        page.body
            .contains("Imported 0 new purchase orders; 2 already received"),
        "{}",
        page.body
    );
    assert_eq!(
        env.app()
            .scalar_i64("SELECT COUNT(*) FROM purchase_orders")
            .await,
        2
    );
    assert_eq!(
        env.app()
            .scalar_i64("SELECT COUNT(*) FROM purchase_order_lines")
            .await,
        3
    );
    assert_eq!(order_posts(&env).len(), 2, "no duplicate orders");
    let csv1 = env.wait_for("CSV-1", "sent").await;
    assert_eq!(csv1["lines"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_pages_list_show_preview_and_take_a_po_from_the_form() {
    let env = orders_env(|_| {}).await;
    let (client, t, c) = (&env.env.client, env.env.tenant, env.env.connection);
    let list = format!("/t/{t}/connections/{c}/purchase-orders");
    // The settings form offers the store's own order statuses.
    let settings = client
        .get(&format!("/t/{t}/connections/{c}/flows/send_orders"))
        .await;
    assert_eq!(settings.status, 200);
    assert!(
        settings
            .body
            .contains(r#"<option value="11" selected>Awaiting Fulfillment (11)</option>"#),
        "{}",
        settings.body
    );
    let saved = client
        .submit(
            &format!("/t/{t}/connections/{c}/flows/send_orders"),
            &format!("/t/{t}/connections/{c}/flows/send_orders"),
            &[
                ("customer_mode", "guest"),
                ("status_id", "99"),
                ("external_source", "cartbridge"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(
        saved.status, 422,
        "a status the store does not have is refused"
    );
    assert!(
        saved
            .body
            .contains("Choose one of the options for “Order status”")
    );

    // The form, while the flow is off: held.
    let new = format!("{list}/new");
    let fields = [
        ("po_number", "PHONE-1"),
        ("customer.email", "buyer@example.com"),
        ("customer.first_name", "Jane"),
        ("customer.last_name", "Doe"),
        ("billing_address.first_name", "Jane"),
        ("billing_address.last_name", "Doe"),
        ("billing_address.street_1", "123 Main St"),
        ("billing_address.city", "Austin"),
        ("billing_address.zip", "78751"),
        ("billing_address.country_iso2", "US"),
        ("lines", "SKU-100-1, 2, 12.50\nSKU-200, 1"),
    ];
    let mut bad_fields = fields.to_vec();
    bad_fields[8] = ("billing_address.zip", "");
    let before = env.app().snapshot().await;
    let bad = client.submit(&new, &list, &bad_fields).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("billing_address.zip is required."),
        "{}",
        bad.body
    );
    assert_eq!(env.app().snapshot().await, before);
    let res = client.submit(&new, &list, &fields).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let po = env.wait_for("PHONE-1", "held").await;
    let detail = format!("{list}/{}", po["id"]);

    // Preview: the body with resolved ids, nothing sent.
    let preview = client.get(&format!("{detail}/preview")).await;
    assert_eq!(preview.status, 200);
    assert!(
        preview
            .body
            .contains(&format!("&#34;variant_id&#34;: {}", env.widget.1)),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("guest (customer_id 0)"));
    assert!(order_posts(&env).is_empty(), "a preview sends nothing");

    env.enable("guest").await;
    let po = env.wait_for("PHONE-1", "sent").await;
    let page = client.get(&detail).await;
    let order_id = po["bc_order_id"].as_i64().unwrap();
    assert!(
        page.body.contains(&format!(
            "https://store-{STORE}.mybigcommerce.com/manage/orders/{order_id}"
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"po-order-body\""));
    let listed = client.get(&format!("{list}?status=sent&q=phone")).await;
    assert!(listed.body.contains("PHONE-1"), "{}", listed.body);
    let none = client.get(&format!("{list}?status=failed")).await;
    assert!(!none.body.contains("PHONE-1"));
}
