//! Placed Orders (issue 13): registration of the store's hooks, the shared receiver (good and
//! bad deliveries, duplicates), processing (sales-channel mapping, storefront and start-date
//! filters) and the reconciliation that emits what the webhooks missed.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::bc_webhooks::{OrdersEnv, STORE, order_body, orders_env};
use crate::helpers::fake_bigcommerce::FakeChannel;

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn hook_requests(env: &OrdersEnv, method: &str) -> Vec<Value> {
    env.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(&format!("/stores/{STORE}/v3/hooks")))
        .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn enabling_registers_each_scope_once_and_disabling_deletes_them() {
    let env = orders_env(|_| {}).await;
    env.enable().await;

    let public_id = env.public_id().await;
    assert!(public_id.len() >= 24, "an unguessable id: {public_id}");
    assert!(!public_id.contains(&env.connection.to_string()) || public_id.len() > 20);
    let destination = env.hook_url().await;
    let secret = env.secret();
    let stored_digest = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM bigcommerce_hook_keys WHERE connection_id = {} AND secret_sha256 = '{}'",
            env.connection,
            sha256_hex(&secret)
        ))
        .await;
    assert_eq!(
        stored_digest, 1,
        "the stored digest is the SHA-256 of the secret sent"
    );

    // The requests, field by field.
    let posts = hook_requests(&env, "POST").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let mut scopes: Vec<&str> = posts.iter().map(|p| p["scope"].as_str().unwrap()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["store/order/created", "store/order/statusUpdated"]);
    for p in &posts {
        let obj = p.as_object().unwrap();
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort();
        assert_eq!(keys, ["destination", "headers", "is_active", "scope"]);
        assert_eq!(p["destination"], json!(destination));
        assert_eq!(p["is_active"], json!(true));
        assert_eq!(p["headers"], json!({"X-Cartbridge-Secret": secret}));
    }
    let hooks = env.hooks_by_scope();
    assert_eq!(hooks.len(), 2);
    assert!(
        hooks
            .values()
            .all(|v| v.len() == 1 && v[0]["is_active"] == json!(true))
    );

    // Enabling twice creates no duplicates.
    env.enable().await;
    env.save(true, "1", "").await;
    assert_eq!(
        hook_requests(&env, "POST").await.len(),
        2,
        "no new hook created"
    );
    assert!(env.hooks_by_scope().values().all(|v| v.len() == 1));

    // Disabling deletes both hooks and deliveries get 410.
    let (_, sent) = env.place(order_body(1, None), "www").await;
    let delivery = sent[0].clone();
    env.save(false, "1", "").await;
    assert_eq!(env.fake.hooks(STORE).len(), 0, "hooks deleted on the store");
    let deletes: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert_eq!(delivery.resend().await, Some(410));
}

#[tokio::test]
async fn a_deactivated_or_missing_hook_is_repaired_by_the_check_and_shown() {
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let hooks = env.hooks_by_scope();
    let created = hooks["store/order/created"][0]["id"].as_i64().unwrap();
    let updated = hooks["store/order/statusUpdated"][0]["id"]
        .as_i64()
        .unwrap();
    env.fake.set_hook_active(STORE, created, false);

    let run = env.reconcile().await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    let puts = hook_requests(&env, "PUT").await;
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0]["is_active"], json!(true));
    let hooks = env.hooks_by_scope();
    assert_eq!(
        hooks["store/order/created"][0]["id"].as_i64(),
        Some(created)
    );
    assert_eq!(hooks["store/order/created"][0]["is_active"], json!(true));
    let page = env
        .client
        .get(&format!("/t/{}/connections/{}", env.tenant, env.connection))
        .await;
    assert!(
        page.body
            .contains("found deactivated on the store; it was re-activated"),
        "the connection page shows it: {}",
        page.body
    );

    // A hook deleted on the store is created again.
    env.fake.delete_hook(STORE, updated);
    env.reconcile().await;
    let hooks = env.hooks_by_scope();
    assert_eq!(hooks["store/order/statusUpdated"].len(), 1);
    assert_ne!(
        hooks["store/order/statusUpdated"][0]["id"].as_i64(),
        Some(updated)
    );
    let page = env
        .client
        .get(&format!("/t/{}/connections/{}", env.tenant, env.connection))
        .await;
    assert!(
        page.body
            .contains("was missing on the store; it was created again")
    );
}

#[tokio::test]
async fn every_row_of_the_default_table_an_unknown_source_and_an_override() {
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let rows = [
        ("www", "web"),
        ("iphone", "web"),
        ("ipad", "web"),
        ("android", "web"),
        ("mobile", "web"),
        ("checkout_api", "web"),
        ("buybutton", "web"),
        ("manual", "offline"),
        ("amazon", "marketplace"),
        ("ebay", "marketplace"),
        ("socialshop", "marketplace"),
        ("facebookcheckout", "facebook_shop"),
        ("facebookshop", "facebook_shop"),
        ("facebookmarketplace", "facebook_shop"),
        ("external", "none"),
        ("pinterest", "web"),
    ];
    let mut ids = Vec::new();
    for (source, _) in rows {
        let (id, sent) = env.place(order_body(1, None), source).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].status, Some(200));
        ids.push(id);
    }
    env.app.run_due_jobs().await;
    let events = env.events().await;
    assert_eq!(events.len(), rows.len());
    for ((source, channel), id) in rows.iter().zip(&ids) {
        let e = events
            .iter()
            .find(|e| e["order_id"] == json!(id))
            .expect("event");
        assert_eq!(e["order_source"], json!(source));
        assert_eq!(e["sales_channel"], json!(channel), "{source}");
        assert_eq!(e["origin"], json!("webhook"));
        assert_eq!(e["channel_id"], json!(1));
        assert_eq!(e["storefront"], json!("Orders Store"));
        assert_eq!(e["customer"]["email"], json!("janedoe@example.com"));
        assert_eq!(e["status_id"], json!(11));
        assert_eq!(e["line_items"][0]["sku"], json!("MUG-BLUE"));
        assert_eq!(e["line_items"][0]["quantity"], json!(2));
        assert!(e["totals"]["total_inc_tax"].as_str().is_some());
        assert!(e["currency"].as_str().is_some_and(|c| c.len() == 3));
    }

    // An override of one entry, through the mapping page.
    let page = env
        .client
        .submit(
            &format!(
                "/t/{}/connections/{}/sales-channels",
                env.tenant, env.connection
            ),
            &format!(
                "/t/{}/connections/{}/sales-channels",
                env.tenant, env.connection
            ),
            &[("overrides", "external = marketplace")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (id, _) = env.place(order_body(1, None), "external").await;
    let (www, _) = env.place(order_body(1, None), "www").await;
    env.app.run_due_jobs().await;
    let events = env.events().await;
    let channel_of = |id: i64| {
        events
            .iter()
            .find(|e| e["order_id"] == json!(id))
            .expect("event")["sales_channel"]
            .clone()
    };
    assert_eq!(channel_of(id), json!("marketplace"));
    assert_eq!(channel_of(www), json!("web"), "other rows keep the default");
}

#[tokio::test]
async fn the_storefront_filter_and_the_start_date_drop_orders_and_say_why() {
    let env = orders_env(|_| {}).await;
    let wholesale = env
        .fake
        .add_channel(STORE, FakeChannel::new("Wholesale", "storefront", "custom"));
    env.save(true, "1", "").await;
    let (kept, _) = env.place(order_body(1, None), "www").await;
    let (dropped, _) = env.place(order_body(wholesale, None), "www").await;
    env.app.run_due_jobs().await;
    let ids: Vec<Value> = env
        .events()
        .await
        .iter()
        .map(|e| e["order_id"].clone())
        .collect();
    assert_eq!(ids, [json!(kept)]);
    let inbox = env.inbox().await;
    let skipped: Vec<_> = inbox.iter().filter(|r| r.1 == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{inbox:?}");
    let why = skipped[0].2.clone().unwrap();
    assert!(
        why.contains(&format!("Order {dropped}"))
            && why.contains("Wholesale")
            && why.contains("not one of the chosen storefronts"),
        "{why}"
    );

    // By name.
    env.save(true, "wholesale", "").await;
    let (by_name, _) = env.place(order_body(wholesale, None), "www").await;
    env.app.run_due_jobs().await;
    assert!(
        env.events()
            .await
            .iter()
            .any(|e| e["order_id"] == json!(by_name) && e["storefront"] == json!("Wholesale"))
    );

    // The start date: an order created before it is dropped.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    env.save(true, "", &today).await;
    let old = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc2822();
    let (before, _) = env.place(order_body(1, Some(&old)), "www").await;
    let (after, _) = env.place(order_body(1, None), "www").await;
    env.app.run_due_jobs().await;
    let ids: Vec<Value> = env
        .events()
        .await
        .iter()
        .map(|e| e["order_id"].clone())
        .collect();
    assert!(ids.contains(&json!(after)));
    assert!(!ids.contains(&json!(before)));
    let inbox = env.inbox().await;
    let why = inbox
        .iter()
        .rev()
        .filter_map(|r| r.2.clone())
        .find(|w| w.contains(&format!("Order {before}")))
        .unwrap();
    assert!(why.contains("before the start date"), "{why}");
}

#[tokio::test]
async fn bad_deliveries_get_their_status_and_store_nothing_and_a_duplicate_gives_one_event() {
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let url = env.hook_url().await;
    let secret = env.secret();
    let good = |id: i64| {
        serde_json::to_vec(
            &json!({"scope": "store/order/created", "store_id": "1025646",
            "data": {"type": "order", "id": id}, "hash": format!("h{id}"),
            "created_at": chrono::Utc::now().timestamp(), "producer": format!("stores/{STORE}")}),
        )
        .unwrap()
    };
    let before = env.app.snapshot().await;
    assert_eq!(env.deliver(&url, Some("wrong-secret"), good(1)).await, 401);
    assert_eq!(env.deliver(&url, None, good(1)).await, 401);
    assert_eq!(
        env.deliver(&url, Some(&secret), b"{\"scope\": ".to_vec())
            .await,
        400
    );
    assert_eq!(
        env.deliver(&url, Some(&secret), b"[1,2]".to_vec()).await,
        400
    );
    let mut big = json!({"scope": "store/order/created", "data": {"id": 1}, "hash": "x"});
    big["pad"] = json!("a".repeat(65 * 1024));
    assert_eq!(
        env.deliver(&url, Some(&secret), serde_json::to_vec(&big).unwrap())
            .await,
        413
    );
    let unknown = env
        .app
        .url("/webhooks/bigcommerce/AAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(env.deliver(&unknown, Some(&secret), good(1)).await, 404);
    let other_scope = serde_json::to_vec(
        &json!({"scope": "store/product/updated", "data": {"id": 1}, "hash": "p1"}),
    )
    .unwrap();
    assert_eq!(env.deliver(&url, Some(&secret), other_scope).await, 410);
    assert_eq!(env.app.snapshot().await, before, "nothing stored");

    // A duplicate: the same delivery resent (same hash), and the same order again with
    // another hash inside the window.
    let (id, sent) = env.place(order_body(1, None), "www").await;
    assert_eq!(sent[0].status, Some(200));
    assert_eq!(sent[0].resend().await, Some(200));
    let mut again = sent[0].body.clone();
    again["hash"] = json!("another-hash-same-order");
    assert_eq!(
        env.deliver(&url, Some(&secret), serde_json::to_vec(&again).unwrap())
            .await,
        200
    );
    assert_eq!(env.inbox().await.len(), 1, "stored once");
    // statusUpdated for the same order is another scope: stored, but no second event.
    env.fake
        .fire(
            STORE,
            "store/order/statusUpdated",
            json!({"type": "order", "id": id,
        "status": {"previous_status_id": 11, "new_status_id": 2}}),
        )
        .await
        .unwrap();
    env.app.run_due_jobs().await;
    assert_eq!(env.events().await.len(), 1, "one event");

    // A disabled flow: 410, nothing stored.
    env.save(false, "", "").await;
    let before = env.app.snapshot().await;
    assert_eq!(env.deliver(&url, Some(&secret), good(99)).await, 410);
    assert_eq!(env.app.snapshot().await, before);
}

#[tokio::test]
async fn a_concurrent_burst_with_duplicates_stores_each_delivery_once_with_one_job() {
    // Deliveries arriving together are written in the same batch (group commit, multi-row
    // inserts): duplicates inside one batch must collapse as they do across batches.
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let url = env.hook_url().await;
    let secret = env.secret();
    let now = chrono::Utc::now().timestamp();
    let body = |id: i64, hash: String| {
        serde_json::to_vec(
            &json!({"scope": "store/order/created", "store_id": "1025646",
            "data": {"type": "order", "id": id}, "hash": hash, "created_at": now,
            "producer": format!("stores/{STORE}")}),
        )
        .unwrap()
    };
    let mut sends = Vec::new();
    for id in 1..=60_i64 {
        // Each order three times: twice with its hash, once with another hash (same window).
        for hash in [format!("b{id}"), format!("b{id}"), format!("other{id}")] {
            sends.push(env.deliver(&url, Some(&secret), body(id, hash)));
        }
    }
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(env.inbox().await.len(), 60, "one inbox row per order");
    let jobs = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM jobs WHERE tenant_id = {} AND kind = 'bigcommerce_webhook'",
            env.tenant
        ))
        .await;
    assert_eq!(jobs, 60, "one processing job per stored delivery");
}

#[tokio::test]
async fn orders_whose_deliveries_were_dropped_are_emitted_by_the_reconciliation_once_each() {
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let (by_hook, sent) = env.place(order_body(1, None), "www").await;
    assert_eq!(sent[0].status, Some(200));
    env.app.run_due_jobs().await;
    for h in env.fake.hooks(STORE) {
        env.fake
            .set_hook_active(STORE, h["id"].as_i64().unwrap(), false);
    }
    let mut missed = Vec::new();
    for _ in 0..3 {
        let (id, sent) = env.place(order_body(1, None), "amazon").await;
        assert!(
            sent.is_empty(),
            "BigCommerce sends nothing to a deactivated hook"
        );
        missed.push(id);
    }
    let run = env.reconcile().await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(run.created, 3, "reconciled");
    assert_eq!(run.unchanged, 1, "already sent by the webhook");
    let events = env.events().await;
    assert_eq!(events.len(), 4);
    for id in &missed {
        let e: Vec<_> = events
            .iter()
            .filter(|e| e["order_id"] == json!(id))
            .collect();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0]["origin"], json!("reconciled"));
        assert_eq!(e[0]["sales_channel"], json!("marketplace"));
    }
    assert!(
        events
            .iter()
            .any(|e| e["order_id"] == json!(by_hook) && e["origin"] == json!("webhook"))
    );
    let detail = env
        .client
        .get(&format!(
            "/t/{}/connections/{}/runs/{}",
            env.tenant, env.connection, run.id
        ))
        .await;
    assert!(
        detail.body.contains("id=\"from-webhooks\">1<"),
        "{}",
        detail.body
    );
    assert!(detail.body.contains("id=\"reconciled\">3<"));
    // The check re-activated the hooks; a second run emits nothing new.
    assert!(
        env.fake
            .hooks(STORE)
            .iter()
            .all(|h| h["is_active"] == json!(true))
    );
    let again = env.reconcile().await;
    assert_eq!(again.created, 0);
    assert_eq!(env.events().await.len(), 4);
}

#[tokio::test]
async fn a_past_start_date_backfills_one_event_per_order_in_range() {
    let env = orders_env(|_| {}).await;
    let day = |n: i64| (chrono::Utc::now() - chrono::Duration::days(n)).to_rfc2822();
    let too_old = env.fake.add_order(STORE, order_body(1, Some(&day(40))));
    let mut in_range = Vec::new();
    for n in [20, 10, 5, 1] {
        in_range.push(env.fake.add_order(STORE, order_body(1, Some(&day(n)))));
    }
    let start = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    env.save(true, "", &start).await;
    let run = env.reconcile().await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    let events = env.events().await;
    let mut ids: Vec<i64> = events
        .iter()
        .map(|e| e["order_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, in_range);
    assert!(!ids.contains(&too_old));
    assert!(events.iter().all(|e| e["origin"] == json!("reconciled")));
    assert_eq!(run.created, 4);
    let again = env.reconcile().await;
    assert_eq!(again.created, 0);
    assert_eq!(env.events().await.len(), 4);
}

#[tokio::test]
async fn the_events_api_and_page_list_placed_orders_with_a_durable_cursor() {
    use crate::helpers::partner::{Api, create_key};
    let env = orders_env(|_| {}).await;
    env.enable().await;
    let mut ids = Vec::new();
    for source in ["www", "amazon", "manual"] {
        ids.push(env.place(order_body(1, None), source).await.0);
    }
    env.app.run_due_jobs().await;
    let key = create_key(&env.client, env.tenant, "poller", "read", &[]).await;
    let api = Api::new(&env.app, Some(&key));
    let first = api.get("/api/v1/events?type=order.placed&limit=2").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let body = first.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][0]["type"], json!("order.placed"));
    assert_eq!(body["data"][0]["data"]["order_id"], json!(ids[0]));
    assert_eq!(
        body["data"][1]["data"]["sales_channel"],
        json!("marketplace")
    );
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let rest = api
        .get(&format!("/api/v1/events?type=order.placed&cursor={cursor}"))
        .await
        .json();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["data"]["sales_channel"], json!("offline"));
    assert!(rest["next_cursor"].is_null());
    api.get("/api/v1/events?type=inventory.changed")
        .await
        .assert_problem(422);
    api.get("/api/v1/events?cursor=nope")
        .await
        .assert_problem(422);
    Api::new(&env.app, None)
        .get("/api/v1/events")
        .await
        .assert_problem(401);

    let page = env
        .client
        .get(&format!(
            "/t/{}/connections/{}/events",
            env.tenant, env.connection
        ))
        .await;
    assert_eq!(page.status, 200);
    for id in &ids {
        assert!(page.body.contains(&format!("id=\"order-{id}\"")));
    }
    assert!(page.body.contains("marketplace") && page.body.contains("webhook"));
}
