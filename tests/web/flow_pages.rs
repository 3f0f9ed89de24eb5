//! The flow pages of a connection over HTTP: Get Inventory settings (round trip, rejected
//! input that saves nothing, members who may look but not change), Run now → history →
//! detail → progress JSON → products (paging, SKU, name and variant-SKU search).

use std::time::Duration;

use crate::helpers::{
    Client,
    fake_bigcommerce::Fault,
    inventory::{InventoryEnv, STORE, inventory_env},
};

fn conn(env: &InventoryEnv, rest: &str) -> String {
    format!("/t/{}/connections/{}{rest}", env.tenant, env.connection)
}

/// Saves settings as the owner and expects the redirect back with the flash.
async fn save(env: &InventoryEnv, fields: &[(&str, &str)]) {
    let page = conn(env, "/flows/inventory");
    let res = env.client.submit(&page, &page, fields).await;
    res.assert_redirect_to(&page);
}

const SETTINGS_50: &[(&str, &str)] = &[
    ("interval_minutes", "30"),
    ("page_size", "50"),
    ("full_sync_hours", "12"),
];

#[tokio::test]
async fn inventory_settings_round_trip_through_the_form() {
    let env = inventory_env(|_| {}).await;
    let page = conn(&env, "/flows/inventory");

    let form = env.client.get(&page).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("Main store"), "connection name shown");
    assert!(
        form.body
            .contains(r#"id="page_size" name="page_size" inputmode="numeric" value="250""#)
    );
    assert!(
        !form
            .body
            .contains(r#"id="enabled" name="enabled" value="on" checked"#)
    );
    for tab in ["Connection", "Get Inventory", "Runs", "Products"] {
        assert!(
            form.body.contains(&format!(">{tab}</a>")),
            "sub-navigation has {tab}"
        );
    }

    let res = env
        .client
        .submit(
            &page,
            &page,
            &[
                ("enabled", "on"),
                ("interval_minutes", "30"),
                ("page_size", "50"),
                ("skip_hidden", "on"),
                ("full_sync_hours", "12"),
            ],
        )
        .await;
    res.assert_redirect_to(&page);
    let shown = env.client.get(&page).await;
    assert!(shown.body.contains("Get Inventory settings saved."));
    assert!(
        shown
            .body
            .contains(r#"id="enabled" name="enabled" value="on" checked"#)
    );
    assert!(
        shown
            .body
            .contains(r#"id="skip_hidden" name="skip_hidden" value="on" checked"#)
    );
    assert!(
        shown
            .body
            .contains(r#"name="interval_minutes" inputmode="numeric" value="30""#)
    );
    assert!(
        shown
            .body
            .contains(r#"name="page_size" inputmode="numeric" value="50""#)
    );
    assert!(
        shown
            .body
            .contains(r#"name="full_sync_hours" inputmode="numeric" value="12""#)
    );

    // Unticking the boxes turns them off again (an absent checkbox is "off").
    save(&env, SETTINGS_50).await;
    let shown = env.client.get(&page).await;
    assert!(
        !shown.body.contains(r#"value="on" checked"#),
        "{}",
        shown.body
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM flow_settings WHERE enabled = FALSE")
            .await,
        1
    );

    // The connection page links to it and shows the state.
    let show = env.client.get(&conn(&env, "")).await;
    assert!(show.body.contains(&format!(r#"href="{page}""#)));
    assert!(
        show.body
            .contains(r#"<td data-label="Schedule" id="inventory-enabled">off</td>"#)
    );
}

#[tokio::test]
async fn a_bad_page_size_is_sent_back_with_a_message_and_nothing_is_saved() {
    let env = inventory_env(|_| {}).await;
    let page = conn(&env, "/flows/inventory");
    save(&env, SETTINGS_50).await;
    let state = "SELECT COUNT(*) FROM flow_settings WHERE interval_secs = 1800 AND enabled = FALSE";
    assert_eq!(env.app.scalar_i64(state).await, 1);
    let updated_at = env
        .app
        .scalar_i64("SELECT updated_at FROM flow_settings")
        .await;

    for bad in ["0", "251", "abc"] {
        let res = env
            .client
            .submit(
                &page,
                &page,
                &[
                    ("enabled", "on"),
                    ("interval_minutes", "5"),
                    ("page_size", bad),
                    ("full_sync_hours", "1"),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "page size {bad}: {}", res.body);
        assert!(
            res.body.contains(r#"id="page_size-error""#),
            "{bad}: a message by the field"
        );
        assert!(res.body.contains("Nothing was saved"));
        // What was typed is shown again, escaped.
        assert!(res.body.contains(&format!(
            r#"name="page_size" inputmode="numeric" value="{bad}""#
        )));
        assert!(
            res.body
                .contains(r#"id="enabled" name="enabled" value="on" checked"#)
        );
    }
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM flow_settings")
            .await,
        1
    );
    assert_eq!(env.app.scalar_i64(state).await, 1, "nothing changed");
    assert_eq!(
        env.app
            .scalar_i64("SELECT updated_at FROM flow_settings")
            .await,
        updated_at
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind <> 'email'")
            .await,
        0
    );
    let shown = env.client.get(&page).await;
    assert!(
        shown
            .body
            .contains(r#"name="page_size" inputmode="numeric" value="50""#)
    );

    // Markup in a field comes back escaped.
    let res = env
        .client
        .submit(&page, &page, &[("page_size", "<b>x</b>")])
        .await;
    assert_eq!(res.status, 422);
    assert!(!res.body.contains("<b>x</b>"), "{}", res.body);
}

/// Adds `email` (signed up in a tenant of their own) to the env's tenant as a member.
async fn member_of(env: &InventoryEnv, email: &str) -> Client {
    let (client, _) = env.app.signup_and_login(email, "Elsewhere").await;
    let user = env
        .app
        .scalar_i64(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await;
    env.app
        .execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({}, {user}, 'member', 0)",
            env.tenant
        ))
        .await;
    client
}

#[tokio::test]
async fn a_member_can_look_but_not_change_settings_or_start_runs() {
    let env = inventory_env(|_| {}).await;
    let member = member_of(&env, "member@example.com").await;
    let page = conn(&env, "/flows/inventory");

    let form = member.get(&page).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains("Only owners and admins can change these settings")
    );
    assert!(!form.body.contains(r#"id="run-now""#));
    for path in ["/runs", "/products", ""] {
        assert_eq!(member.get(&conn(&env, path)).await.status, 200, "{path}");
    }

    let res = member
        .submit(
            &page,
            &page,
            &[
                ("enabled", "on"),
                ("interval_minutes", "30"),
                ("page_size", "50"),
                ("full_sync_hours", "12"),
            ],
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains(r#"id="error-message""#));
    let run = conn(&env, "/flows/inventory/run");
    for mode in ["auto", "full"] {
        let res = member.submit(&page, &run, &[("mode", mode)]).await;
        assert_eq!(res.status, 403, "{}", res.body);
    }
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM flow_settings")
            .await,
        0
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind <> 'email'")
            .await,
        0
    );
}

#[tokio::test]
async fn page_numbers_must_be_whole_numbers_from_one() {
    let env = inventory_env(|_| {}).await;
    for path in ["/runs", "/products"] {
        for bad in ["0", "-2", "abc"] {
            let res = env
                .client
                .get(&conn(&env, &format!("{path}?page={bad}")))
                .await;
            assert_eq!(res.status, 400, "{path}?page={bad}");
            assert!(
                res.body
                    .contains("The page number must be a whole number from 1.")
            );
        }
        assert_eq!(
            env.client
                .get(&conn(&env, &format!("{path}?page=1")))
                .await
                .status,
            200
        );
    }
    let products = env.client.get(&conn(&env, "/products")).await;
    assert!(
        products
            .body
            .contains("No products yet — enable Get Inventory and run it.")
    );
    let runs = env.client.get(&conn(&env, "/runs")).await;
    assert!(runs.body.contains(r#"id="no-runs""#));
    let show = env.client.get(&conn(&env, "")).await;
    assert!(show.body.contains("never run"));
    // A run that does not exist, or a connection that is not there, is 404.
    assert_eq!(
        env.client.get(&conn(&env, "/runs/999999")).await.status,
        404
    );
    assert_eq!(
        env.client
            .get(&conn(&env, "/runs/999999/progress"))
            .await
            .status,
        404
    );
    let missing = format!("/t/{}/connections/999999", env.tenant);
    for path in ["/flows/inventory", "/runs", "/products"] {
        assert_eq!(
            env.client.get(&format!("{missing}{path}")).await.status,
            404,
            "{path}"
        );
    }
}

#[tokio::test]
async fn run_now_fills_history_detail_progress_and_the_products_page() {
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 120, 3);
    save(&env, SETTINGS_50).await;
    // Slow the first pages a little, so that a second "Run now" finds the first one busy.
    env.fake.inject(Fault::Slow {
        delay: Duration::from_millis(600),
        path_prefix: "/v3/catalog/products".into(),
        times: 2,
    });

    let settings = conn(&env, "/flows/inventory");
    let run = conn(&env, "/flows/inventory/run");
    let runs = conn(&env, "/runs");
    env.client
        .submit(&settings, &run, &[("mode", "full")])
        .await
        .assert_redirect_to(&runs);
    let list = env.client.get(&runs).await;
    assert!(list.body.contains("Run queued."), "{}", list.body);
    env.client
        .submit(&settings, &run, &[("mode", "auto")])
        .await
        .assert_redirect_to(&runs);
    let list = env.client.get(&runs).await;
    assert!(
        list.body
            .contains("A run is already queued or in progress."),
        "{}",
        list.body
    );

    let finished = env.wait_for_finished_run().await;
    assert_eq!(finished.status, "succeeded", "{:?}", finished.error);
    assert_eq!(finished.mode, "full");

    // History.
    let list = env.client.get(&runs).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&format!(r#"id="run-{}""#, finished.id)));
    assert!(list.body.contains("run-status-succeeded"));
    assert!(list.body.contains(">manual<") && list.body.contains(">full<"));
    assert!(
        !list.body.contains("data-progress-url"),
        "nothing left to poll"
    );

    // Detail.
    let detail_path = format!("{runs}/{}", finished.id);
    let detail = env.client.get(&detail_path).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(
        detail
            .body
            .contains(r#"id="run-status" class="run-status run-status-succeeded""#)
    );
    assert!(
        detail
            .body
            .contains(&format!(r#"data-field="progress-text">{}"#, finished.done))
    );
    assert!(detail.body.contains(r#"id="run-events""#));
    assert!(!detail.body.contains("data-progress-url"));

    // Progress JSON.
    let progress = env.client.get(&format!("{detail_path}/progress")).await;
    assert_eq!(progress.status, 200);
    assert_eq!(progress.headers["cache-control"], "no-store");
    assert!(
        progress.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let json: serde_json::Value = serde_json::from_str(&progress.body).unwrap();
    for key in [
        "status",
        "done",
        "total",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "skipped",
        "failed",
        "error",
        "finished",
    ] {
        assert!(json.get(key).is_some(), "progress has {key}: {json}");
    }
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["finished"], true);
    assert_eq!(json["done"], finished.done);
    assert_eq!(json["created"], finished.created);
    assert!(json["error"].is_null());

    // The run is only shown under its own connection.
    let res = env
        .client
        .submit(
            &format!("/t/{}/connections/new", env.tenant),
            &format!("/t/{}/connections", env.tenant),
            &[
                ("name", "Second store"),
                ("auth_type", "token"),
                ("store", "other456"),
                ("api_client_id", "client-2"),
                ("access_token", "tok-second-store"),
                ("scopes", "store_v2_products_read_only"),
                ("then", "save"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let other = res.location.unwrap();
    assert_eq!(
        env.client
            .get(&format!("{other}/runs/{}", finished.id))
            .await
            .status,
        404
    );
    assert_eq!(
        env.client
            .get(&format!("{other}/runs/{}/progress", finished.id))
            .await
            .status,
        404
    );

    // Products: 120, 50 a page, with their variants.
    let products = conn(&env, "/products");
    let first = env.client.get(&products).await;
    assert_eq!(first.status, 200);
    assert!(
        first.body.contains("1–50 of 120 products"),
        "{}",
        first.body
    );
    assert!(first.body.contains(">GEN-000001<") && first.body.contains("Generated Product 000001"));
    assert!(first.body.contains(">GEN-000001-2<") && first.body.contains("Medium"));
    assert!(first.body.contains(&format!(r#"href="{products}?page=2""#)));
    let third = env.client.get(&format!("{products}?page=3")).await;
    assert!(third.body.contains("101–120 of 120 products"));
    assert!(!third.body.contains(r#"id="next-page""#));

    let by_sku = env.client.get(&format!("{products}?q=gen-000007")).await;
    assert!(
        by_sku.body.contains("Generated Product 000007"),
        "{}",
        by_sku.body
    );
    assert!(!by_sku.body.contains("Generated Product 000008"));
    let by_variant = env.client.get(&format!("{products}?q=GEN-000042-3")).await;
    assert!(by_variant.body.contains("Generated Product 000042"));
    assert!(by_variant.body.contains("1–1 of 1 product"));
    let by_name = env.client.get(&format!("{products}?q=Product+00011")).await;
    assert!(by_name.body.contains("of 10 products"), "{}", by_name.body);
    let none = env.client.get(&format!("{products}?q=%3Cscript%3E")).await;
    assert!(
        none.body.contains("No products match “&#60;script&#62;”."),
        "{}",
        none.body
    );
    // Paging keeps the search.
    let all_gen = env.client.get(&format!("{products}?q=GEN")).await;
    assert!(
        all_gen
            .body
            .contains(&format!(r#"href="{products}?q=GEN&#38;page=2""#)),
        "{}",
        all_gen.body
    );

    // The connection page shows the last run.
    let show = env.client.get(&conn(&env, "")).await;
    assert!(show.body.contains(&format!(r#"href="{detail_path}""#)));
    assert!(show.body.contains("run-status-succeeded"));
}

#[tokio::test]
async fn a_run_waiting_for_a_worker_is_shown_as_queued_until_one_starts_it() {
    let env = inventory_env(|s| s.jobs.workers = 0).await;
    let settings = conn(&env, "/flows/inventory");
    let runs = conn(&env, "/runs");
    let before = env.client.get(&runs).await;
    assert!(
        !before.body.contains(r#"id="queued-run""#),
        "{}",
        before.body
    );
    assert!(!before.body.contains("http-equiv=\"refresh\""));

    env.client
        .submit(
            &settings,
            &conn(&env, "/flows/inventory/run"),
            &[("mode", "full")],
        )
        .await
        .assert_redirect_to(&runs);
    let list = env.client.get(&runs).await;
    assert!(list.body.contains(r#"id="queued-run""#), "{}", list.body);
    assert!(list.body.contains("this page refreshes until then"));
    assert!(
        list.body
            .contains(r#"<meta http-equiv="refresh" content="2">"#)
    );
    assert_eq!(
        env.app
            .scalar_i64("SELECT COUNT(*) FROM jobs WHERE status = 'queued'")
            .await,
        1
    );
}
