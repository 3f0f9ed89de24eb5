//! The partner API: keys (shown once, stored hashed, revocable), `/api/v1` access rules with
//! RFC 9457 problems, keyset pagination, the durable changes cursor, OpenAPI, the docs
//! page and the CSV export.

use std::collections::BTreeSet;

use cartbridge::jobs::RunMode;
use serde_json::Value;

use crate::helpers::{
    Client, TestApp,
    inventory::{InventoryEnv, STORE, inventory_env},
    logs,
    partner::{Api, create_key},
};

/// Variant rows written straight into the snapshot (ids `first..first+n`).
pub async fn insert_variants(app: &TestApp, tenant: i64, connection: i64, first: i64, n: i64) {
    let per_product = 4;
    let mut product_rows = Vec::new();
    let mut variant_rows = Vec::new();
    for v in first..first + n {
        let product = v / per_product;
        if v == first || v % per_product == 0 {
            product_rows.push(format!(
                "({tenant}, {connection}, {product}, 'P-{product}', 'Product {product}', 9.5, 0, 'variant', TRUE, 1700000000, 1700000000)"
            ));
        }
        variant_rows.push(format!(
            "({tenant}, {connection}, {v}, {product}, 'SKU-{v}', 'Size: {}', NULL, {}, {})",
            v % per_product,
            v % 50,
            v % 50
        ));
    }
    for chunk in product_rows.chunks(500) {
        app.execute(&format!(
            "INSERT INTO inventory_products (tenant_id, connection_id, product_id, sku, name, price, \
             inventory_level, inventory_tracking, is_visible, date_modified, synced_at) VALUES {} \
             ON CONFLICT DO NOTHING",
            chunk.join(", ")
        ))
        .await;
    }
    for chunk in variant_rows.chunks(500) {
        app.execute(&format!(
            "INSERT INTO inventory_variants (tenant_id, connection_id, variant_id, product_id, sku, \
             label, price, inventory_level, stock) VALUES {}",
            chunk.join(", ")
        ))
        .await;
    }
}

async fn owner_key(env: &InventoryEnv, access: &str) -> String {
    create_key(
        &env.client,
        env.tenant,
        &format!("{access} key"),
        access,
        &[],
    )
    .await
}

#[tokio::test]
async fn an_api_key_is_shown_once_stored_only_as_a_hash_and_shows_when_it_was_last_used() {
    let env = inventory_env(|_| {}).await;
    let page = format!("/t/{}/api-keys", env.tenant);
    assert!(
        env.client
            .get(&format!("/t/{}", env.tenant))
            .await
            .body
            .contains(&page),
        "nav link"
    );
    let key = owner_key(&env, "read").await;
    assert!(key.starts_with("cbk_") && key.len() == 47, "{key}");

    // Gone on reload: only the prefix is listed.
    let list = env.client.get(&page).await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains(&key), "the key is shown again");
    assert!(
        list.body.contains(&format!("{}…", &key[..12])),
        "{}",
        list.body
    );
    assert!(list.body.contains("never"), "not used yet");

    // Stored as SHA-256 only.
    let hash: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let stored = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{hash}' AND prefix = '{}'",
            &key[..12]
        ))
        .await;
    assert_eq!(stored, 1);

    let api = Api::new(&env.app, Some(&key));
    assert_eq!(api.get("/api/v1/connections").await.status, 200);
    let list = env.client.get(&page).await;
    assert!(
        !list.body.contains("never"),
        "last use shown: {}",
        list.body
    );

    assert_plaintext_nowhere(&env.app, &key).await;
}

/// The value is in no log line, no file of the data folder (SQLite) and no text column we keep.
pub async fn assert_plaintext_nowhere(app: &TestApp, value: &str) {
    // Logs first: the scans below put the value in their own SQL (logged by sqlx).
    let logged: Vec<String> = logs::captured()
        .lines()
        .filter(|l| l.contains(value))
        .map(|l| l.chars().take(400).collect())
        .collect();
    assert!(logged.is_empty(), "a log line holds it: {logged:?}");
    crate::oauth_clients::assert_secret_stored_nowhere(app, value).await;
    for (table, column) in [
        ("api_keys", "name"),
        ("api_keys", "prefix"),
        ("api_keys", "key_hash"),
        ("webhook_events", "payload"),
        ("webhook_attempts", "response_excerpt"),
        ("sessions", "state"),
        ("jobs", "payload"),
    ] {
        let found = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE '%{value}%'"
            ))
            .await;
        assert_eq!(found, 0, "{table}.{column} holds it");
    }
}

#[tokio::test]
async fn no_key_a_malformed_key_an_unknown_key_and_a_revoked_key_get_401_problems_and_change_nothing()
 {
    let env = inventory_env(|_| {}).await;
    let key = owner_key(&env, "read_write").await;
    let id = env
        .app
        .scalar_i64("SELECT id FROM api_keys ORDER BY id DESC LIMIT 1")
        .await;
    let revoke = format!("/t/{}/api-keys/{id}/revoke", env.tenant);
    let page = format!("/t/{}/api-keys", env.tenant);
    env.client
        .submit(&page, &revoke, &[])
        .await
        .assert_redirect_to(&page);
    assert!(env.client.get(&page).await.body.contains("revoked"));

    let unknown = format!("cbk_{}", "A".repeat(43));
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("Bearer not-a-key".into()),
        Some(format!("Basic {key}")),
        Some(format!("Bearer {}", &key[..20])),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {key}")),
    ];
    let c = env.connection;
    let paths = [
        "/api/v1/connections".to_owned(),
        format!("/api/v1/connections/{c}"),
        format!("/api/v1/connections/{c}/inventory"),
        format!("/api/v1/connections/{c}/inventory.csv"),
        format!("/api/v1/connections/{c}/inventory/changes"),
        format!("/api/v1/connections/{c}/runs"),
    ];
    let before = env.app.snapshot().await;
    for header in &headers {
        let api = Api::with_header(&env.app, header.clone());
        for path in &paths {
            let res = api.get(path).await;
            let problem = res.assert_problem(401);
            assert_eq!(problem["type"], "/api/docs#problem-unauthorized");
        }
        // A POST with a bearer key passes the CSRF rule and is refused by the key check;
        // without one it is not exempt from CSRF, and refused by that.
        let res = api
            .post(&format!("/api/v1/connections/{c}/flows/inventory/run"))
            .await;
        match header {
            Some(h) if h.len() > 7 && h.starts_with("Bearer ") => {
                res.assert_problem(401);
            }
            _ => assert_eq!(res.status, 403, "{header:?}"),
        }
    }
    let detail = Api::new(&env.app, Some(&key))
        .get("/api/v1/connections")
        .await
        .json();
    assert_eq!(detail["detail"], "This API key has been revoked.");
    assert_eq!(
        env.app.snapshot().await,
        before,
        "a refused request changed the database"
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind <> 'email'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_read_key_cannot_run_a_flow_and_another_tenants_connection_is_404() {
    let env = inventory_env(|_| {}).await;
    let read = Api::new(&env.app, Some(&owner_key(&env, "read").await));
    let c = env.connection;
    let before = env.app.snapshot().await;
    let run = format!("/api/v1/connections/{c}/flows/inventory/run");
    let problem = read.post(&run).await.assert_problem(403);
    assert_eq!(problem["type"], "/api/docs#problem-forbidden");

    // Another tenant with a read_write key cannot see, or run, this connection.
    let (other, other_tenant) = env
        .app
        .signup_and_login("partner-other@example.com", "Other Co")
        .await;
    let outsider = Api::new(
        &env.app,
        Some(&create_key(&other, other_tenant, "other", "read_write", &[]).await),
    );
    let before = {
        let mut b = before;
        // The other tenant's signup and key are expected changes (its verification email
        // is a job: no other job is checked below); compare the rest.
        b.retain(|t, _| {
            ![
                "tenants",
                "users",
                "memberships",
                "user_tokens",
                "audit_log",
                "api_keys",
                "jobs",
            ]
            .contains(&t.as_str())
        });
        b
    };
    for path in [
        format!("/api/v1/connections/{c}"),
        format!("/api/v1/connections/{c}/inventory"),
        format!("/api/v1/connections/{c}/inventory.csv"),
        format!("/api/v1/connections/{c}/inventory/changes"),
        format!("/api/v1/connections/{c}/inventory/SKU-1"),
        format!("/api/v1/connections/{c}/runs"),
        format!("/api/v1/connections/{c}/runs/1"),
    ] {
        outsider.get(&path).await.assert_problem(404);
    }
    outsider.post(&run).await.assert_problem(404);
    let listed = outsider.get("/api/v1/connections").await.json();
    assert_eq!(listed["data"], serde_json::json!([]));
    let mut after = env.app.snapshot().await;
    after.retain(|t, _| before.contains_key(t));
    assert_eq!(after, before, "a refused request changed the database");
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind <> 'email'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_key_limited_to_one_connection_sees_only_that_one() {
    let env = inventory_env(|_| {}).await;
    env.app
        .execute(&format!(
            "INSERT INTO connections (tenant_id, name, auth_type, store_hash, created_at, updated_at) \
             VALUES ({}, 'Second store', 'token', 'second1', 0, 0)",
            env.tenant
        ))
        .await;
    let second = env
        .app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Second store'")
        .await;
    let key = create_key(&env.client, env.tenant, "limited", "read", &[second]).await;
    let api = Api::new(&env.app, Some(&key));
    let listed = api.get("/api/v1/connections").await.json();
    let ids: Vec<i64> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![second]);
    api.get(&format!("/api/v1/connections/{}", env.connection))
        .await
        .assert_problem(404);
    assert!(
        env.client
            .get(&format!("/t/{}/api-keys", env.tenant))
            .await
            .body
            .contains("Second store")
    );
}

#[tokio::test]
async fn members_see_the_key_list_but_cannot_create_or_revoke_keys() {
    let env = inventory_env(|_| {}).await;
    let _key = owner_key(&env, "read").await;
    let (member, _) = env
        .app
        .signup_and_login("member@example.com", "Member's own")
        .await;
    let user = env
        .app
        .scalar_i64("SELECT id FROM users WHERE email = 'member@example.com'")
        .await;
    env.app
        .execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({}, {user}, 'member', 0)",
            env.tenant
        ))
        .await;
    let page = format!("/t/{}/api-keys", env.tenant);
    let list = member.get(&page).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("read key") && !list.body.contains("Create key"));
    let before = env.app.snapshot().await;
    let res = member
        .submit(
            &page,
            &page,
            &[("name", "sneaky"), ("access", "read_write")],
        )
        .await;
    assert_eq!(res.status, 403);
    let id = env.app.scalar_i64("SELECT MAX(id) FROM api_keys").await;
    let res = member
        .submit(&page, &format!("{page}/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(env.app.snapshot().await, before);
}

#[tokio::test]
async fn limit_and_cursor_outside_their_rules_are_422_problems_naming_the_parameter() {
    let env = inventory_env(|_| {}).await;
    let api = Api::new(&env.app, Some(&owner_key(&env, "read").await));
    let base = format!("/api/v1/connections/{}/inventory", env.connection);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let p = api
            .get(&format!("{base}?{query}"))
            .await
            .assert_problem(422);
        assert!(p["errors"][field].is_array(), "{query}: {p}");
    }
    assert_eq!(api.get(&format!("{base}?limit=500")).await.status, 200);
    api.get("/api/v1/nothing-here").await.assert_problem(404);
    let wrong = api.post(&base).await;
    let p = wrong.assert_problem(405);
    assert_eq!(p["detail"], "This path answers GET.");
    api.get("/api/v1/connections/not-a-number")
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn walking_the_inventory_with_limit_100_returns_each_of_10000_variants_exactly_once() {
    let env = inventory_env(|_| {}).await;
    insert_variants(&env.app, env.tenant, env.connection, 1, 10_000).await;
    let api = Api::new(&env.app, Some(&owner_key(&env, "read").await));
    let base = format!("/api/v1/connections/{}/inventory?limit=100", env.connection);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.clone(),
        };
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 100);
        seen.extend(data.iter().map(|v| v["variant_id"].as_i64().unwrap()));
        pages += 1;
        if pages == 50 {
            // A run rewriting stock mid-walk moves nothing between pages.
            env.app
                .execute("UPDATE inventory_variants SET stock = stock + 1 WHERE variant_id % 7 = 0")
                .await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 100);
    assert_eq!(seen.len(), 10_000);
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), 10_000, "a variant came twice");
    assert_eq!(unique.first(), Some(&1));
    assert_eq!(unique.last(), Some(&10_000));
    let one = api
        .get(&format!(
            "/api/v1/connections/{}/inventory/SKU-42",
            env.connection
        ))
        .await
        .json();
    assert_eq!(one["variant_id"], 42);
    assert_eq!(one["options"], "Size: 2");
}

async fn poll(api: &Api, base: &str, cursor: Option<&str>) -> (Vec<Value>, Option<String>) {
    let path = match cursor {
        Some(c) => format!("{base}?limit=500&cursor={c}"),
        None => format!("{base}?limit=500"),
    };
    let res = api.get(&path).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    (
        v["data"].as_array().unwrap().clone(),
        v["next_cursor"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn stock_changes_in_the_store_appear_in_changes_after_the_next_run_exactly_once() {
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 6, 2);
    let first = env.run(RunMode::Full).await;
    assert_eq!(first.status, "succeeded", "{:?}", first.error);
    let api = Api::new(&env.app, Some(&owner_key(&env, "read").await));
    let base = format!("/api/v1/connections/{}/inventory/changes", env.connection);
    let (changes, cursor) = poll(&api, &base, None).await;
    assert!(
        changes.is_empty(),
        "the first snapshot is the baseline: {changes:?}"
    );
    assert_eq!(cursor, None);

    let product = env
        .app
        .scalar_i64("SELECT MIN(product_id) FROM inventory_products")
        .await;
    let ids: Vec<i64> = env
        .fake
        .product(STORE, product)
        .map(|p| p.variants.iter().map(|v| v.id).collect())
        .unwrap_or_default();
    env.fake.update_product(STORE, product, |p| {
        for v in &mut p.variants {
            v.inventory_level += 5;
        }
    });
    // Polling before the run sees nothing.
    let (changes, _) = poll(&api, &base, None).await;
    assert!(changes.is_empty());
    let second = env.run(RunMode::Full).await;
    assert_eq!(second.status, "succeeded", "{:?}", second.error);

    let (changes, cursor) = poll(&api, &base, None).await;
    let changed: BTreeSet<i64> = changes
        .iter()
        .map(|c| c["variant_id"].as_i64().unwrap())
        .collect();
    assert_eq!(changed, ids.iter().copied().collect(), "{changes:?}");
    assert!(changes.iter().all(|c| c["kind"] == "changed"
        && c["new_stock"].as_i64() == c["old_stock"].as_i64().map(|s| s + 5)));
    let cursor = cursor.expect("a cursor after changes");
    for _ in 0..3 {
        let (again, next) = poll(&api, &base, Some(&cursor)).await;
        assert!(again.is_empty(), "seen twice: {again:?}");
        assert_eq!(
            next.as_deref(),
            Some(cursor.as_str()),
            "the cursor stays put"
        );
    }
    // A run with nothing new adds nothing.
    env.run(RunMode::Full).await;
    let (again, _) = poll(&api, &base, Some(&cursor)).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn connections_and_runs_read_without_secrets_and_a_read_write_key_starts_a_run_once() {
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 3, 1);
    let done = env.run(RunMode::Full).await;
    let api = Api::new(&env.app, Some(&owner_key(&env, "read_write").await));
    let c = env.connection;
    let conn = api.get(&format!("/api/v1/connections/{c}")).await;
    assert_eq!(conn.status, 200, "{}", conn.body);
    let conn = conn.json();
    assert_eq!(conn["store_hash"], STORE);
    assert_eq!(conn["auth_type"], "token");
    assert_eq!(conn["flows"][0]["flow"], "inventory");
    assert_eq!(conn["flows"][0]["last_run"]["id"], done.id);
    assert_eq!(conn["flows"][0]["last_run"]["status"], "succeeded");
    let runs = api
        .get(&format!("/api/v1/connections/{c}/runs?limit=1"))
        .await
        .json();
    assert_eq!(runs["data"][0]["id"], done.id);
    assert_eq!(runs["next_cursor"], Value::Null);
    let run = api
        .get(&format!("/api/v1/connections/{c}/runs/{}", done.id))
        .await
        .json();
    assert_eq!(run["counts"]["created"], 3);
    assert!(run["started_at"].as_str().unwrap().ends_with('Z'));

    // Run now: 202 with the job; a second while it is queued is 409.
    env.app.execute("UPDATE jobs SET status = 'done'").await;
    let queued = api
        .post(&format!("/api/v1/connections/{c}/flows/inventory/run"))
        .await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let job = queued.json()["job_id"].as_i64().unwrap();
    assert!(job > 0);
    let run = env.wait_for_job_run(job).await;
    assert_eq!(run.triggered_by, "manual");
}

#[tokio::test]
async fn a_second_run_now_while_one_is_queued_is_a_409_problem() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let api = Api::new(&env.app, Some(&owner_key(&env, "read_write").await));
    let run = format!("/api/v1/connections/{}/flows/inventory/run", env.connection);
    assert_eq!(api.post(&run).await.status, 202);
    api.post(&run).await.assert_problem(409);
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind <> 'email'")
            .await,
        1
    );
}

#[tokio::test]
async fn every_registered_api_route_is_in_the_openapi_document_and_nothing_else() {
    let env = inventory_env(|_| {}).await;
    let doc = Api::new(&env.app, None).get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let registered: BTreeSet<(String, String)> = cartbridge::web::api::API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, registered);
    assert!(doc["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer");
}

#[tokio::test]
async fn the_api_reference_page_and_its_viewer_are_served_by_the_binary() {
    let env = inventory_env(|_| {}).await;
    let client = Client::new(&env.app.base);
    let page = client.get("/api/docs").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/api/docs/viewer.js\""));
    assert!(!page.body.contains("https://cdn") && !page.body.contains("<script>"));
    let js = client.get("/api/docs/viewer.js").await;
    assert_eq!(js.status, 200);
    assert!(js.body.contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn the_inventory_downloads_as_csv_from_the_api_and_the_products_page() {
    let env = inventory_env(|_| {}).await;
    insert_variants(&env.app, env.tenant, env.connection, 1, 2_500).await;
    let api = Api::new(&env.app, Some(&owner_key(&env, "read").await));
    let csv = api
        .get(&format!(
            "/api/v1/connections/{}/inventory.csv",
            env.connection
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2_501);
    assert_eq!(
        lines[0],
        "product_id,variant_id,sku,product_name,options,inventory_level,stock,price,visible,updated_at"
    );
    assert_eq!(
        lines[1],
        "0,1,SKU-1,Product 0,Size: 1,1,1,9.50,true,2023-11-14T22:13:20Z"
    );
    let page = env
        .client
        .get(&format!(
            "/t/{}/connections/{}/products",
            env.tenant, env.connection
        ))
        .await;
    assert!(page.body.contains("products.csv"), "{}", page.body);
    let download = env
        .client
        .get(&format!(
            "/t/{}/connections/{}/products.csv",
            env.tenant, env.connection
        ))
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body, csv.body);
}
