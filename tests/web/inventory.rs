//! Get Inventory against the fake BigCommerce: full and incremental syncs, hidden products,
//! deletions, rate limits, server errors, unreadable responses, and the settings service.

use cartbridge::{
    accounts::members::Actor,
    db::{self, runs::RunRow},
    domain::Role,
    flows::FlowError,
    jobs::{RunMode, SyncRequest, Trigger},
};

use crate::helpers::inventory::flow::{self as inventory, InventorySettings};

use crate::helpers::fake_bigcommerce::Fault;
use crate::helpers::inventory::{InventoryEnv, STORE, inventory_env};

const PRODUCTS: &str = "/v3/catalog/products";

/// The fake's first generated product id (its ids start at 101).
const FIRST_ID: i64 = 101;

async fn env_with_catalog(products: usize, variants: usize, page_size: u32) -> InventoryEnv {
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, products, variants);
    env.save_settings(&InventorySettings {
        page_size,
        ..InventorySettings::default()
    })
    .await;
    env
}

fn assert_succeeded(run: &RunRow) {
    assert_eq!(run.status, "succeeded", "run failed: {:?}", run.error);
    assert_eq!(run.error, None);
}

async fn events(env: &InventoryEnv, run: &RunRow) -> Vec<db::inventory::EventRow> {
    db::inventory::events_of_run(&env.app.db, env.tenant, run.id, 10_000, 0)
        .await
        .expect("events")
}

async fn staged_rows(env: &InventoryEnv) -> i64 {
    env.app
        .db
        .count_rows("inventory_staged_products")
        .await
        .expect("count")
        + env
            .app
            .db
            .count_rows("inventory_staged_variants")
            .await
            .expect("count")
}

#[tokio::test]
async fn a_full_sync_reads_one_request_per_page_and_builds_the_snapshot() {
    let env = env_with_catalog(1234, 3, 250).await;

    let run = env.run(RunMode::Full).await;

    assert_succeeded(&run);
    assert_eq!(run.mode, "full");
    assert_eq!(run.triggered_by, "manual");
    assert_eq!(
        (
            run.total,
            run.done,
            run.fetched,
            run.created,
            run.updated,
            run.unchanged,
            run.deleted
        ),
        (Some(1234), 1234, 1234, 1234, 0, 0, 0)
    );
    let requests = env.product_requests();
    assert_eq!(requests.len(), 5, "one request per page of 250");
    // The first page alone (it tells how many there are), then the rest side by side.
    assert_eq!(requests[0].query_param("page").as_deref(), Some("1"));
    let mut pages: Vec<String> = requests
        .iter()
        .filter_map(|r| r.query_param("page"))
        .collect();
    pages.sort();
    assert_eq!(pages, ["1", "2", "3", "4", "5"]);
    for r in &requests {
        assert_eq!(r.query_param("limit").as_deref(), Some("250"));
        assert_eq!(r.query_param("include").as_deref(), Some("variants"));
        assert_eq!(r.query_param("is_visible"), None);
        assert_eq!(r.query_param("date_modified:min"), None);
    }
    let db = &env.app.db;
    assert_eq!(db.count_rows("inventory_products").await.unwrap(), 1234);
    assert_eq!(db.count_rows("inventory_variants").await.unwrap(), 3702);
    assert_eq!(staged_rows(&env).await, 0, "staging is cleared");
    assert!(
        events(&env, &run).await.is_empty(),
        "the first snapshot is the baseline"
    );

    for id in [FIRST_ID, FIRST_ID + 616, FIRST_ID + 1233] {
        let fake = env.fake.product(STORE, id).expect("fake product");
        let rows =
            db::inventory::list_products(db, env.tenant, env.connection, Some(&fake.sku), 10, 0)
                .await
                .unwrap();
        assert_eq!(rows.len(), 1, "{}", fake.sku);
        let row = &rows[0];
        assert_eq!((row.product_id, &row.name), (id, &fake.name));
        assert!((row.price - fake.price).abs() < 1e-9);
        assert_eq!(row.inventory_tracking, "variant");
        assert_eq!(row.variant_count, 3);
        let stock: i64 = fake.variants.iter().map(|v| v.inventory_level).sum();
        assert_eq!(row.stock, Some(stock));
        let variants = db::inventory::variants_of(db, env.tenant, env.connection, &[id])
            .await
            .unwrap();
        assert_eq!(variants.len(), 3);
        for (got, want) in variants.iter().zip(&fake.variants) {
            assert_eq!((got.variant_id, &got.sku), (want.id, &want.sku));
            assert_eq!(got.stock, Some(want.inventory_level));
            assert_eq!(got.price, want.price);
            assert_eq!(got.label, format!("Size: {}", want.option_values[0].label));
        }
    }
}

#[tokio::test]
async fn the_products_page_searches_skus_and_names_of_its_own_tenant_only() {
    let env = env_with_catalog(30, 2, 250).await;
    assert_succeeded(&env.run(RunMode::Full).await);
    let db = &env.app.db;
    let find = |search: &'static str| async move {
        let rows =
            db::inventory::list_products(db, env.tenant, env.connection, Some(search), 50, 0)
                .await
                .unwrap();
        let count = db::inventory::count_products(db, env.tenant, env.connection, Some(search))
            .await
            .unwrap();
        assert_eq!(count, i64::try_from(rows.len()).unwrap());
        rows.into_iter().map(|r| r.product_id).collect::<Vec<_>>()
    };
    assert_eq!(find("gen-000007-2").await, [FIRST_ID + 6], "variant SKU");
    assert_eq!(find("generated product 00001").await.len(), 10, "name");
    assert_eq!(find("%").await, Vec::<i64>::new(), "wildcards are literal");
    assert_eq!(
        db::inventory::count_products(db, env.tenant, env.connection, None)
            .await
            .unwrap(),
        30
    );
    let page = db::inventory::list_products(db, env.tenant, env.connection, None, 10, 20)
        .await
        .unwrap();
    assert_eq!(page.first().map(|r| r.product_id), Some(FIRST_ID + 20));
    let other_tenant = env.tenant + 1000;
    assert!(
        db::inventory::list_products(db, other_tenant, env.connection, None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db::inventory::variants_of(db, other_tenant, env.connection, &[FIRST_ID])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn hidden_products_are_skipped_when_asked_and_dropped_when_they_become_hidden() {
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 100, 1);
    env.save_settings(&InventorySettings {
        skip_hidden: true,
        ..InventorySettings::default()
    })
    .await;

    let full = env.run(RunMode::Full).await;

    assert_succeeded(&full);
    let requests = env.product_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].query_param("is_visible").as_deref(),
        Some("true")
    );
    assert_eq!((full.fetched, full.created), (90, 90));
    let db = &env.app.db;
    assert_eq!(db.count_rows("inventory_products").await.unwrap(), 90);
    let hidden = env
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM inventory_products WHERE connection_id = {} \
             AND (product_id - {FIRST_ID} + 1) % 10 = 0",
            env.connection
        ))
        .await;
    assert_eq!(hidden, 0, "every 10th generated product is hidden");

    // A product hidden since: an incremental run sees it and removes it.
    let gone = FIRST_ID + 4;
    let gone_variant = env.fake.product(STORE, gone).unwrap().variants[0].id;
    env.fake
        .update_product(STORE, gone, |p| p.is_visible = false);
    env.fake.clear_requests();

    let incremental = env.run(RunMode::Auto).await;

    assert_succeeded(&incremental);
    assert_eq!(incremental.mode, "incremental");
    let requests = env.product_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].query_param("is_visible"), None);
    assert!(requests[0].query_param("date_modified:min").is_some());
    assert_eq!((incremental.fetched, incremental.skipped), (1, 1));
    assert_eq!(incremental.deleted, 1);
    assert_eq!(db.count_rows("inventory_products").await.unwrap(), 89);
    assert_eq!(env.variant(gone_variant).await, None);
    let events = events(&env, &incremental).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind.as_str(), events[0].variant_id),
        ("removed", gone_variant)
    );
}

#[tokio::test]
async fn an_incremental_run_fetches_only_changed_products_and_records_stock_changes() {
    let env = env_with_catalog(300, 3, 250).await;
    let full = env.run(RunMode::Full).await;
    assert_succeeded(&full);
    let changed = [FIRST_ID + 3, FIRST_ID + 150, FIRST_ID + 299];
    let mut expected = Vec::new();
    for (i, id) in changed.iter().enumerate() {
        let before = env.fake.product(STORE, *id).unwrap().variants[1].clone();
        let new_stock = 500 + i64::try_from(i).unwrap();
        env.fake
            .update_product(STORE, *id, |p| p.variants[1].inventory_level = new_stock);
        expected.push((
            before.id,
            before.sku,
            Some(before.inventory_level),
            Some(new_stock),
        ));
    }
    env.fake.clear_requests();

    let run = env.run(RunMode::Auto).await;

    assert_succeeded(&run);
    assert_eq!(run.mode, "incremental");
    let requests = env.product_requests();
    assert_eq!(requests.len(), 1, "three products fit in one page");
    let since = requests[0]
        .query_param("date_modified:min")
        .expect("incremental runs filter on date_modified:min");
    let since = chrono::DateTime::parse_from_rfc3339(&since).expect("RFC 3339");
    assert!(
        since.timestamp() <= full.started_at,
        "the watermark overlaps the last start"
    );
    assert_eq!(
        (
            run.fetched,
            run.created,
            run.updated,
            run.unchanged,
            run.deleted
        ),
        (3, 0, 3, 0, 0)
    );
    let mut got: Vec<_> = events(&env, &run)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.kind, "changed");
            (e.variant_id, e.sku, e.old_stock, e.new_stock)
        })
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    for (variant, _, _, stock) in &expected {
        assert_eq!(env.variant(*variant).await.unwrap().2, *stock);
    }
    assert_eq!(
        env.app.db.count_rows("inventory_products").await.unwrap(),
        300
    );
}

#[tokio::test]
async fn a_full_run_removes_deleted_products_and_records_their_variants_as_removed() {
    let env = env_with_catalog(50, 3, 20).await;
    assert_succeeded(&env.run(RunMode::Full).await);
    let deleted = [FIRST_ID + 10, FIRST_ID + 33];
    let mut removed_variants = Vec::new();
    for id in deleted {
        let p = env.fake.product(STORE, id).unwrap();
        removed_variants.extend(p.variants.iter().map(|v| (v.id, Some(v.inventory_level))));
        assert!(env.fake.delete_product(STORE, id));
    }

    let run = env.run(RunMode::Full).await;

    assert_succeeded(&run);
    assert_eq!(
        (
            run.fetched,
            run.created,
            run.updated,
            run.unchanged,
            run.deleted
        ),
        (48, 0, 0, 48, 2)
    );
    let db = &env.app.db;
    assert_eq!(db.count_rows("inventory_products").await.unwrap(), 48);
    assert_eq!(db.count_rows("inventory_variants").await.unwrap(), 144);
    let mut got: Vec<_> = events(&env, &run)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!((e.kind.as_str(), e.new_stock), ("removed", None));
            (e.variant_id, e.old_stock)
        })
        .collect();
    got.sort();
    removed_variants.sort();
    assert_eq!(got, removed_variants);
}

#[tokio::test]
async fn a_product_deleted_mid_walk_does_not_make_the_one_shifted_past_a_page_look_deleted() {
    let env = env_with_catalog(60, 2, 20).await;
    assert_succeeded(&env.run(RunMode::Full).await);
    // The second full run's page 2 is slow; while it waits, the first product (on page 1,
    // already read) is deleted, so every later product moves up one place and the first
    // product of page 2 is now last on page 1, which the walk has passed.
    env.fake.inject_when(
        Fault::Slow {
            delay: std::time::Duration::from_millis(1500),
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=2",
    );
    let owner = env.owner().await;
    let job = inventory::run_now(&env.app.ctx, &owner, env.connection, RunMode::Full)
        .await
        .expect("run queued");
    env.wait_for_run("past page 1", |r| !r.is_finished() && r.done >= 20)
        .await;
    assert!(env.fake.delete_product(STORE, FIRST_ID));
    let run = env.wait_for_job_run(job).await;

    // The run read the deleted product before it went, and found the shifted one by id:
    // nothing is reported deleted that still exists. (Page 3 was read beside page 2,
    // before the shift, so one product arrived twice; it is staged once.)
    assert_succeeded(&run);
    assert_eq!((run.unchanged, run.deleted), (60, 0), "{run:?}");
    assert!((60..=61).contains(&run.fetched), "{run:?}");
    assert!(events(&env, &run).await.is_empty());
    assert_eq!(
        env.app.db.count_rows("inventory_products").await.unwrap(),
        60
    );
    // The shifted product was asked for by id, once.
    let by_id: Vec<_> = env
        .product_requests()
        .into_iter()
        .filter(|r| r.query.contains("id%3Ain") || r.query.contains("id:in"))
        .collect();
    assert_eq!(by_id.len(), 1, "{by_id:?}");

    // The next full run notices the deletion, and only it.
    let next = env.run(RunMode::Full).await;
    assert_succeeded(&next);
    assert_eq!((next.unchanged, next.deleted), (59, 1), "{next:?}");
    let removed: Vec<i64> = events(&env, &next)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.kind, "removed");
            e.product_id
        })
        .collect();
    assert_eq!(removed, vec![FIRST_ID, FIRST_ID]);
}

#[tokio::test]
async fn a_rate_limited_page_is_waited_out_and_the_run_completes() {
    let env = env_with_catalog(600, 3, 100).await;
    env.fake.inject_when(
        Fault::RateLimited {
            reset_ms: 1500,
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=3",
    );

    let run = env.run(RunMode::Full).await;

    assert_succeeded(&run);
    assert_eq!((run.fetched, run.created, run.attempts), (600, 600, 1));
    let requests = env.product_requests();
    let mut statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429]);
    assert_eq!(
        env.app.db.count_rows("inventory_variants").await.unwrap(),
        1800
    );
}

#[tokio::test]
async fn a_server_error_mid_catalog_is_retried_by_the_client() {
    let env = env_with_catalog(600, 3, 100).await;
    env.fake.inject_when(
        Fault::Status {
            status: 500,
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=3",
    );

    let run = env.run(RunMode::Full).await;

    assert_succeeded(&run);
    assert_eq!((run.fetched, run.created), (600, 600));
    // Pages go side by side, so the order varies: one 500, then page 3 again, and 6 pages.
    let mut statuses: Vec<u16> = env.product_requests().iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 500]);
    assert_eq!(
        env.app.db.count_rows("inventory_products").await.unwrap(),
        600
    );
}

#[tokio::test]
async fn a_run_the_client_gives_up_on_is_retried_by_the_job_and_resumes_at_its_checkpoint() {
    let env = env_with_catalog(600, 3, 100).await;
    // More 500s than the client retries (3): the job fails this attempt and tries again.
    env.fake.inject_when(
        Fault::Status {
            status: 500,
            path_prefix: PRODUCTS.into(),
            times: 4,
        },
        "page=4",
    );

    let run = env.run(RunMode::Full).await;

    assert_succeeded(&run);
    assert_eq!(run.attempts, 2, "resumed once");
    assert_eq!((run.fetched, run.done, run.created), (600, 600, 600));
    // Pages are fetched side by side, so in any order; none twice.
    let mut pages: Vec<String> = env
        .product_requests()
        .iter()
        .filter(|r| r.status == 200)
        .filter_map(|r| r.query_param("page"))
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        ["1", "2", "3", "4", "5", "6"],
        "no page fetched twice"
    );
    assert_eq!(
        env.app.db.count_rows("inventory_variants").await.unwrap(),
        1800
    );
    assert_eq!(staged_rows(&env).await, 0);
}

#[tokio::test]
async fn an_unreadable_page_fails_the_run_and_leaves_the_snapshot_exactly_as_it_was() {
    let env = env_with_catalog(600, 3, 100).await;
    assert_succeeded(&env.run(RunMode::Full).await);
    // Changes the failed run would have merged: stock, a deletion, new products.
    env.fake
        .update_product(STORE, FIRST_ID + 1, |p| p.variants[0].inventory_level = 999);
    env.fake.delete_product(STORE, FIRST_ID + 2);
    env.fake.generate_catalog(STORE, 5, 3);
    let before = env.dump_snapshot().await;
    env.fake.inject_when(
        Fault::Malformed {
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=2",
    );

    let run = env.run(RunMode::Full).await;

    assert_eq!(run.status, "failed");
    let error = run.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("BigCommerce sent a response cartbridge could not read: ")
            && error.ends_with("(page 2)"),
        "{error}"
    );
    assert_eq!(run.attempts, 1, "an unreadable response is not retried");
    assert_eq!(env.dump_snapshot().await, before);
    assert!(events(&env, &run).await.is_empty());
    assert_eq!(
        staged_rows(&env).await,
        0,
        "the failed run's staging is discarded"
    );
}

#[tokio::test]
async fn settings_are_saved_by_managers_only_and_schedule_the_flow() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let ctx = &env.app.ctx;
    let owner = env.owner().await;
    assert_eq!(
        inventory::settings(ctx, env.tenant, env.connection)
            .await
            .unwrap(),
        InventorySettings::default()
    );
    let wanted = InventorySettings {
        enabled: true,
        interval_minutes: 30,
        page_size: 120,
        skip_hidden: true,
        full_sync_hours: 6,
    };
    inventory::save_settings(ctx, &owner, env.connection, &wanted)
        .await
        .unwrap();
    assert_eq!(
        inventory::settings(ctx, env.tenant, env.connection)
            .await
            .unwrap(),
        wanted
    );
    let next_run = format!(
        "SELECT COALESCE(next_run_at, -1) FROM flow_settings WHERE connection_id = {}",
        env.connection
    );
    let scheduled = env.app.scalar_i64(&next_run).await;
    assert!(
        scheduled > 0 && scheduled <= db::now(),
        "enabling schedules a run now"
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT interval_secs FROM flow_settings")
            .await,
        1800
    );

    let member = Actor {
        role: Role::Member,
        ..owner.clone()
    };
    assert!(matches!(
        inventory::save_settings(ctx, &member, env.connection, &wanted).await,
        Err(FlowError::NotAllowed(m)) if m == "Only owners and admins can change flows."
    ));
    assert!(matches!(
        inventory::run_now(ctx, &member, env.connection, RunMode::Auto).await,
        Err(FlowError::NotAllowed(_))
    ));
    let stranger = Actor {
        tenant_id: env.tenant + 1000,
        ..owner.clone()
    };
    assert!(matches!(
        inventory::save_settings(ctx, &stranger, env.connection, &wanted).await,
        Err(FlowError::NotFound)
    ));
    assert!(matches!(
        inventory::settings(ctx, stranger.tenant_id, env.connection).await,
        Err(FlowError::NotFound)
    ));

    let disabled = InventorySettings {
        enabled: false,
        ..wanted
    };
    inventory::save_settings(ctx, &owner, env.connection, &disabled)
        .await
        .unwrap();
    assert_eq!(
        env.app.scalar_i64(&next_run).await,
        -1,
        "disabling unschedules"
    );
}

#[tokio::test]
async fn run_now_refuses_a_second_run_while_one_is_queued() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let ctx = &env.app.ctx;
    let owner = env.owner().await;

    let job = inventory::run_now(ctx, &owner, env.connection, RunMode::Full)
        .await
        .expect("queued");

    assert!(job > 0);
    assert!(matches!(
        inventory::run_now(ctx, &owner, env.connection, RunMode::Auto).await,
        Err(FlowError::AlreadyQueued)
    ));
    assert!(matches!(
        inventory::run_now(ctx, &owner, env.connection + 1000, RunMode::Auto).await,
        Err(FlowError::NotFound)
    ));
}

#[tokio::test]
async fn a_revoked_token_fails_the_run_at_once_with_a_clear_message() {
    let env = env_with_catalog(10, 1, 250).await;
    env.fake.remove_token(crate::helpers::inventory::TOKEN);

    let run = env.run(RunMode::Auto).await;

    assert_eq!(run.status, "failed");
    assert_eq!(
        run.error.as_deref(),
        Some(
            "BigCommerce rejected the access token (401): edit the connection and enter a \
             valid token, or connect it again (page 1)"
        )
    );
    assert_eq!(run.attempts, 1, "a refused token is not retried");
    assert_eq!(
        env.app.db.count_rows("inventory_products").await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_job_for_a_connection_without_a_token_records_a_failed_run() {
    let env = env_with_catalog(10, 1, 250).await;
    env.app
        .execute(&format!(
            "UPDATE connections SET access_token_ct = NULL WHERE id = {}",
            env.connection
        ))
        .await;
    let owner = env.owner().await;
    assert!(matches!(
        inventory::run_now(&env.app.ctx, &owner, env.connection, RunMode::Auto).await,
        Err(FlowError::NotAllowed(_))
    ));
    // A scheduled job finds the token gone when it runs.
    let job = cartbridge::jobs::enqueue_sync(
        &env.app.ctx,
        env.tenant,
        env.connection,
        STORE,
        "inventory",
        SyncRequest {
            mode: RunMode::Auto,
            trigger: Trigger::Schedule,
        },
    )
    .await
    .unwrap()
    .expect("queued");

    let run = env.wait_for_job_run(job).await;

    assert_eq!(
        (run.status.as_str(), run.triggered_by.as_str()),
        ("failed", "schedule")
    );
    assert_eq!(
        run.error.as_deref(),
        Some("The connection has no access token: connect it to BigCommerce first.")
    );
    assert!(env.product_requests().is_empty());
}
