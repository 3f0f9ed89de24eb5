//! Deleting a connection (issue 13): its webhooks are deleted on the store first (Placed
//! Orders', Get Shipments', and any other hook with its destination), best-effort: a store
//! that fails or cannot be reached does not keep the connection, and what may remain is
//! said. Another connection's hooks on the same store are left alone.

use serde_json::json;

use crate::helpers::bc_webhooks::{OrdersEnv, STORE, TOKEN, orders_env};
use crate::helpers::fake_bigcommerce::Fault;

fn connection_path(env: &OrdersEnv, connection: i64) -> String {
    format!("/t/{}/connections/{connection}", env.tenant)
}

/// Enables Placed Orders and Get Shipments (listening for shipment webhooks) on
/// `connection` through their settings forms.
async fn enable_both(env: &OrdersEnv, connection: i64) {
    let base = connection_path(env, connection);
    let placed = format!("{base}/flows/placed_orders");
    let res = env
        .client
        .submit(
            &placed,
            &placed,
            &[
                ("enabled", "on"),
                ("interval_minutes", "60"),
                ("start_date", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let shipments = format!("{base}/flows/get_shipments");
    let res = env
        .client
        .submit(
            &shipments,
            &shipments,
            &[
                ("enabled", "on"),
                ("interval_minutes", "15"),
                ("which_orders", "all"),
                ("listen_webhooks", "on"),
                ("backfill_days", "30"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
}

/// Deletes `connection` with the form on its page, and follows to the connections list.
async fn delete_through_the_page(env: &OrdersEnv, connection: i64) -> String {
    let show = connection_path(env, connection);
    let res = env
        .client
        .submit(&show, &format!("{show}/delete"), &[])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    res.assert_redirect_to(&format!("/t/{}/connections", env.tenant));
    env.client
        .get(&format!("/t/{}/connections", env.tenant))
        .await
        .body
}

/// Rows of the connection left in the tables that belong to it.
async fn rows_left(env: &OrdersEnv, connection: i64) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "connections",
        "bigcommerce_hooks",
        "bigcommerce_hook_keys",
        "flow_settings",
    ] {
        let column = if table == "connections" {
            "id"
        } else {
            "connection_id"
        };
        let n = env
            .app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} = {connection}"
            ))
            .await;
        if n > 0 {
            out.push((table, n));
        }
    }
    out
}

fn destinations(env: &OrdersEnv) -> Vec<String> {
    let mut d: Vec<String> = env
        .fake
        .hooks(STORE)
        .iter()
        .map(|h| h["destination"].as_str().unwrap_or_default().to_owned())
        .collect();
    d.sort();
    d
}

#[tokio::test]
async fn deleting_a_connection_deletes_its_webhooks_on_the_store_and_leaves_anothers() {
    let env = orders_env(|_| {}).await;
    // A second connection to the same store, with its own hooks.
    let res = env
        .client
        .submit(
            &format!("/t/{}/connections/new", env.tenant),
            &format!("/t/{}/connections", env.tenant),
            &[
                ("name", "Second store"),
                ("auth_type", "token"),
                ("store", STORE),
                ("api_client_id", "client-orders"),
                ("access_token", TOKEN),
                ("then", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let other = env
        .app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Second store'")
        .await;
    enable_both(&env, env.connection).await;
    enable_both(&env, other).await;
    let url = env.hook_url().await;
    let mut scopes: Vec<String> = env
        .fake
        .hooks(STORE)
        .iter()
        .filter(|h| h["destination"] == json!(url))
        .map(|h| h["scope"].as_str().unwrap_or_default().to_owned())
        .collect();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "store/order/created",
            "store/order/statusUpdated",
            "store/shipment/created",
            "store/shipment/updated"
        ]
    );
    // A hook BigCommerce made although its creation looked failed (no id recorded): it has
    // the connection's destination, so it goes too.
    let orphan = reqwest::Client::new()
        .post(format!("{}/stores/{STORE}/v3/hooks", env.fake.api_url()))
        .header("X-Auth-Token", TOKEN)
        .json(&json!({"scope": "store/order/updated", "destination": url, "is_active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(orphan.status(), 200);
    let others_before: Vec<String> = destinations(&env)
        .into_iter()
        .filter(|d| *d != url)
        .collect();
    assert_eq!(others_before.len(), 4);

    let list = delete_through_the_page(&env, env.connection).await;
    assert!(
        list.contains("Connection “Main store” deleted, with its stored token and its 5 webhooks on the store."),
        "{list}"
    );
    assert_eq!(destinations(&env), others_before, "only the other's remain");
    let deletes = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 5);
    assert_eq!(rows_left(&env, env.connection).await, []);
    assert_eq!(
        rows_left(&env, other).await,
        [
            ("connections", 1),
            ("bigcommerce_hooks", 4),
            ("bigcommerce_hook_keys", 1),
            ("flow_settings", 2)
        ]
    );
    let secret = env.fake.hooks(STORE)[0]["headers"]["X-Cartbridge-Secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(&json!({"scope": "store/order/created",
        "data": {"type": "order", "id": 1}, "hash": "after-delete"}))
    .unwrap();
    assert_eq!(env.deliver(&url, Some(&secret), body).await, 404);
    assert_eq!(
        env.app
            .scalar_i64(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'connection.deleted' AND detail = 'Main store'"
            )
            .await,
        1
    );
}

#[tokio::test]
async fn a_store_that_fails_does_not_keep_the_connection_and_the_page_says_hooks_may_remain() {
    let env = orders_env(|_| {}).await;
    enable_both(&env, env.connection).await;
    let url = env.hook_url().await;
    assert_eq!(env.fake.hooks(STORE).len(), 4);
    env.fake.inject(Fault::Status {
        status: 500,
        path_prefix: "/v3/hooks".into(),
        times: 100,
    });

    let list = delete_through_the_page(&env, env.connection).await;
    assert!(
        list.contains("Connection “Main store” deleted, with its stored token. Its webhooks could not be deleted on the store")
            && list.contains("so they may remain there"),
        "{list}"
    );
    assert_eq!(rows_left(&env, env.connection).await, []);
    assert_eq!(env.fake.hooks(STORE).len(), 4, "still on the store");
    // The receiver answers them 404, so BigCommerce gives up on them.
    let secret = env.secret();
    let body = serde_json::to_vec(&json!({"scope": "store/order/created",
        "data": {"type": "order", "id": 1}, "hash": "after-delete"}))
    .unwrap();
    assert_eq!(env.deliver(&url, Some(&secret), body).await, 404);
    let recorded = env
        .app
        .scalar_i64(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'connection.deleted' \
             AND detail LIKE 'Main store (its webhooks could not be deleted on the store, so they may remain: %'",
        )
        .await;
    assert_eq!(recorded, 1, "the audit log says so");
}

#[tokio::test]
async fn a_store_that_cannot_be_reached_does_not_keep_the_connection() {
    let env = orders_env(|_| {}).await;
    enable_both(&env, env.connection).await;
    assert_eq!(env.fake.hooks(STORE).len(), 4);
    let OrdersEnv {
        app,
        fake,
        client,
        tenant,
        connection,
    } = env;
    fake.stop().await;
    let show = format!("/t/{tenant}/connections/{connection}");
    let started = std::time::Instant::now();
    let res = client.submit(&show, &format!("{show}/delete"), &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no long retries while the merchant waits: {:?}",
        started.elapsed()
    );
    let list = client.get(&format!("/t/{tenant}/connections")).await.body;
    assert!(list.contains("so they may remain there"), "{list}");
    for table in [
        "bigcommerce_hooks",
        "bigcommerce_hook_keys",
        "flow_settings",
    ] {
        assert_eq!(
            app.scalar_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE connection_id = {connection}"
            ))
            .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = {connection}"
        ))
        .await,
        0
    );
}
