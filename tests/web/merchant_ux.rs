//! Issue 16, the merchant's experience, over HTTP: the wizard's one-time token and flash
//! messages that stay with their page, the dashboard, the menu, error pages, caching,
//! verification links, re-invitations and the home page. (The browser half is in
//! `merchant_ux_browser.rs`.)

use std::time::Duration;

use crate::helpers::{
    Client, PASSWORD, TestApp,
    fake_bigcommerce::{FakeBigCommerce, FakeStore, Fault},
    never_shown, spawn_app, spawn_app_with,
};

pub const TOKEN: &str = "tok-ux-SENTINEL-41c9";
pub const ALL_SCOPES: &[&str] = &[
    "store_v2_information_read_only",
    "store_v2_products_read_only",
    "store_v2_orders",
    "store_v2_customers",
    "store_channel_settings_read_only",
];

/// An app on a fake BigCommerce with store `abc123` ("Acme Store") and a token for it.
pub async fn setup() -> (TestApp, FakeBigCommerce, Client, i64) {
    never_shown(TOKEN);
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Acme Store".into();
    store.domain = "acme.example.com".into();
    fake.add_store(store);
    fake.add_token("abc123", TOKEN, ALL_SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api.parse().unwrap();
        s.bigcommerce_timeout = Duration::from_secs(10);
    })
    .await;
    let (client, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    (app, fake, client, tenant)
}

/// The wizard's fields for a Token connection, with the form's one-time token.
fn token_form<'a>(name: &'a str, form_token: &'a str, then: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("form_token", form_token),
        ("name", name),
        ("auth_type", "token"),
        ("store", "abc123"),
        ("api_client_id", "client-123"),
        ("access_token", TOKEN),
        ("then", then),
    ]
}

/// Invites `email` with `role` and returns their signed-in client.
pub async fn add_member(
    app: &TestApp,
    owner: &Client,
    tenant: i64,
    email: &str,
    role: &str,
) -> Client {
    let members = format!("/t/{tenant}/members");
    owner
        .submit(
            &members,
            &format!("/t/{tenant}/invitations"),
            &[("email", email), ("role", role)],
        )
        .await
        .assert_redirect_to(&members);
    let link = app.last_link(email, "/invitations/accept").await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let member = app.client();
    let token = member.get(&path).await.hidden_input("token").unwrap();
    member
        .submit(
            &path,
            "/invitations/accept",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await
        .assert_redirect_to("/");
    member
}

#[tokio::test]
async fn a_double_submitted_create_and_test_creates_one_connection_and_both_answers_lead_to_it() {
    let (app, fake, client, tenant) = setup().await;
    // BigCommerce is slow: the second POST arrives while the first is still testing.
    fake.inject(Fault::Slow {
        delay: Duration::from_millis(600),
        path_prefix: "/v2/store".into(),
        times: 1,
    });
    let new = client.get(&format!("/t/{tenant}/connections/new")).await;
    let form_token = new
        .hidden_input("form_token")
        .expect("a one-time token in the form");
    let csrf = new.csrf().unwrap();
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend(token_form("Main store", &form_token, "test"));
    let action = format!("/t/{tenant}/connections");
    let (first, second) = tokio::join!(client.post(&action, &fields), async {
        // Start the second once the first has claimed the token (no timing guess).
        for _ in 0..500 {
            if app
                .scalar_i64("SELECT COUNT(*) FROM form_submissions")
                .await
                > 0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.post(&action, &fields).await
    });
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM connections").await,
        1,
        "one connection"
    );
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let show = format!("/t/{tenant}/connections/{id}");
    first.assert_redirect_to(&show);
    second.assert_redirect_to(&show);
    assert!(!second.body.contains("already have a connection"));
    let page = client.get(&show).await;
    assert!(
        page.body.contains("Connection “Main store” created."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Connected to Acme Store"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(TOKEN));

    // The same form sent again later still goes to that connection.
    client
        .post(&action, &fields)
        .await
        .assert_redirect_to(&show);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM connections").await, 1);
}

#[tokio::test]
async fn a_form_that_failed_validation_can_be_corrected_and_sent_with_the_same_token() {
    let (app, _fake, client, tenant) = setup().await;
    let new = client.get(&format!("/t/{tenant}/connections/new")).await;
    let form_token = new.hidden_input("form_token").unwrap();
    let csrf = new.csrf().unwrap();
    let action = format!("/t/{tenant}/connections");
    let mut bad = vec![("csrf_token", csrf.as_str())];
    bad.extend(token_form("", &form_token, "save"));
    let refused = client.post(&action, &bad).await;
    assert_eq!(refused.status, 422);
    // Typed values come back, the secret does not; the token is kept for the retry.
    assert_eq!(
        refused.hidden_input("form_token").as_deref(),
        Some(form_token.as_str())
    );
    assert!(refused.body.contains(r#"value="client-123""#));
    assert!(!refused.body.contains(TOKEN));
    assert!(
        refused
            .body
            .contains(r#"aria-describedby="name-help name-error""#),
        "{}",
        refused.body
    );
    let mut good = vec![("csrf_token", csrf.as_str())];
    good.extend(token_form("Main store", &form_token, "save"));
    let res = client.post(&action, &good).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM connections").await, 1);
}

#[tokio::test]
async fn a_flash_message_is_shown_on_the_page_it_was_made_for_only() {
    let (app, _fake, client, tenant) = setup().await;
    let new = client.get(&format!("/t/{tenant}/connections/new")).await;
    let form_token = new.hidden_input("form_token").unwrap();
    let csrf = new.csrf().unwrap();
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend(token_form("Main store", &form_token, "save"));
    let res = client
        .post(&format!("/t/{tenant}/connections"), &fields)
        .await;
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let show = format!("/t/{tenant}/connections/{id}");
    res.assert_redirect_to(&show);
    // Another page (another tab) rendered first does not take the message…
    let elsewhere = client.get(&format!("/t/{tenant}/members")).await;
    assert!(!elsewhere.body.contains("created."), "{}", elsewhere.body);
    // …the connection's page shows it, once.
    let page = client.get(&show).await;
    assert!(page.body.contains("Connection “Main store” created."));
    assert!(!client.get(&show).await.body.contains("created."));
}

#[tokio::test]
async fn the_dashboard_lists_connections_with_health_and_readable_activity() {
    let (app, _fake, client, tenant) = setup().await;
    let empty = client.get(&format!("/t/{tenant}")).await;
    assert!(
        empty.body.contains("Create your first connection"),
        "{}",
        empty.body
    );
    let actor = crate::helpers::fixtures::owner(&app, tenant, "owner@example.com").await;
    crate::helpers::fixtures::token_connection(&app, &actor, "North store", "abc123").await;
    crate::helpers::fixtures::token_connection(&app, &actor, "South store", "def456").await;
    let page = client.get(&format!("/t/{tenant}")).await;
    assert!(page.body.contains("North store") && page.body.contains("South store"));
    assert!(!page.body.contains("will appear here"));
    assert!(page.body.contains("Connection created"), "{}", page.body);
    assert!(!page.body.contains("connection.created"), "{}", page.body);
    assert!(page.body.contains("Get Inventory"));
    // Untested connections need attention, with the action that fixes it.
    assert!(page.body.contains(r#"id="attention""#));
    assert_eq!(
        page.body
            .matches(r#"class="attention-action">Test</button>"#)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_failing_token_connection_asks_for_a_new_token_on_the_dashboard() {
    let (app, _fake, client, tenant) = setup().await;
    let actor = crate::helpers::fixtures::owner(&app, tenant, "owner@example.com").await;
    // The fixture's token is unknown to the fake store: the test fails with a 401.
    let id = crate::helpers::fixtures::token_connection(&app, &actor, "Main store", "abc123").await;
    client
        .submit(
            &format!("/t/{tenant}/connections/{id}"),
            &format!("/t/{tenant}/connections/{id}/test"),
            &[],
        )
        .await;
    let page = client.get(&format!("/t/{tenant}")).await;
    assert!(
        page.body.contains("rejected the access token"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!(
            r#"href="/t/{tenant}/connections/{id}/edit">Replace the token</a>"#
        )),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_menu_marks_the_current_section_not_the_tenant() {
    let (_app, _fake, client, tenant) = setup().await;
    let page = client.get(&format!("/t/{tenant}/connections")).await;
    assert!(page.body.contains(&format!(
        r#"<a href="/t/{tenant}/connections" class="current" aria-current="page">Connections</a>"#
    )), "{}", page.body);
    assert!(!page.body.contains(r#"class="current" href"#));
    assert_eq!(page.body.matches("aria-current=").count(), 1);
    let dashboard = client.get(&format!("/t/{tenant}")).await;
    assert!(dashboard.body.contains(&format!(
        r#"<a href="/t/{tenant}" class="current" aria-current="page">Dashboard</a>"#
    )));
    let members = client.get(&format!("/t/{tenant}/members")).await;
    assert!(members.body.contains(r#"aria-current="page">Members</a>"#));
}

#[tokio::test]
async fn link_buttons_marked_secondary_are_styled_as_secondary() {
    let app = spawn_app().await;
    let css = app.client().get("/static/app.css").await.body;
    let rule = css
        .lines()
        .find(|l| l.contains("a.button.secondary"))
        .expect("a rule for a.button.secondary");
    assert!(rule.contains("background: #e8edf7"), "{rule}");
}

#[tokio::test]
async fn save_and_test_after_an_edit_says_saved_and_what_the_test_found_nothing_else() {
    let (app, _fake, client, tenant) = setup().await;
    let new = client.get(&format!("/t/{tenant}/connections/new")).await;
    let form_token = new.hidden_input("form_token").unwrap();
    let csrf = new.csrf().unwrap();
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend(token_form("Main store", &form_token, "save"));
    client
        .post(&format!("/t/{tenant}/connections"), &fields)
        .await;
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let show = format!("/t/{tenant}/connections/{id}");
    client.get(&show).await;
    let res = client
        .submit(
            &format!("{show}/edit"),
            &show,
            &[
                ("name", "Main store"),
                ("auth_type", "token"),
                ("store", "abc123"),
                ("api_client_id", "client-123"),
                ("then", "test"),
            ],
        )
        .await;
    res.assert_redirect_to(&show);
    let page = client.get(&show).await;
    assert!(page.body.contains("Connection saved."));
    assert!(page.body.contains("Connected to Acme Store"));
    assert!(
        !page.body.contains("Test it to check the store again"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_tested_oauth_connection_without_a_token_reads_not_connected_not_untested() {
    let (app, _fake, client, tenant) = setup().await;
    let oauth_client =
        crate::oauth_clients::create_ok(&app, &client, tenant, "Main app", "secret-ux-5e1").await;
    let oauth_client = oauth_client.to_string();
    let mut fields = vec![
        ("name", "OAuth store"),
        ("auth_type", "oauth"),
        ("store", "abc123"),
        ("oauth_client_id", oauth_client.as_str()),
        ("then", "save"),
    ];
    fields.extend(ALL_SCOPES.iter().map(|s| ("scopes", *s)));
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &fields,
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let show = format!("/t/{tenant}/connections/{id}");
    client.submit(&show, &format!("{show}/test"), &[]).await;
    let page = client.get(&show).await;
    assert!(
        page.body
            .contains(r#"id="connection-status">not connected</span>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Not connected yet"));
    let list = client.get(&format!("/t/{tenant}/connections")).await;
    assert!(!list.body.contains(">untested<"), "{}", list.body);
}

#[tokio::test]
async fn create_and_connect_sends_an_oauth_connection_to_the_consent_step() {
    let (app, _fake, client, tenant) = setup().await;
    let oauth_client =
        crate::oauth_clients::create_ok(&app, &client, tenant, "Main app", "secret-ux-6f2").await;
    let oauth_client = oauth_client.to_string();
    let mut fields = vec![
        ("name", "OAuth store"),
        ("auth_type", "oauth"),
        ("store", "abc123"),
        ("oauth_client_id", oauth_client.as_str()),
        ("then", "test"),
    ];
    fields.extend(ALL_SCOPES.iter().map(|s| ("scopes", *s)));
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &fields,
        )
        .await;
    let id = app.scalar_i64("SELECT id FROM connections").await;
    res.assert_redirect_to(&format!("/t/{tenant}/connections/{id}/connect"));
}

#[tokio::test]
async fn a_member_is_not_offered_forms_they_cannot_send_and_error_pages_keep_the_header() {
    let (app, _fake, owner, tenant) = setup().await;
    let member = add_member(&app, &owner, tenant, "member@example.com", "member").await;
    let list = member.get(&format!("/t/{tenant}/connections")).await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("/connections/new"), "{}", list.body);
    let dashboard = member.get(&format!("/t/{tenant}")).await;
    assert!(!dashboard.body.contains("/connections/new"));

    let refused = member.get(&format!("/t/{tenant}/connections/new")).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains(r#"name="access_token""#));
    assert!(
        refused.body.contains(r#"id="whoami">member@example.com<"#),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(&format!(
            r#"<a href="/t/{tenant}/connections" id="error-back">Back to Connections</a>"#
        )),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(r#"aria-current="true">Connections</a>"#)
    );

    let missing = member.get(&format!("/t/{tenant}/connections/999999")).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains(r#"id="whoami""#));
    assert!(missing.body.contains(&format!(
        r#"href="/t/{tenant}/connections" id="error-back""#
    )));
    // Outside any tenant of theirs: back to their own start, still logged in.
    let elsewhere = member.get("/t/999999/connections").await;
    assert_eq!(elsewhere.status, 404);
    assert!(elsewhere.body.contains(r#"id="whoami""#));
    assert!(elsewhere.body.contains(r#"<a href="/" id="error-back">"#));
}

#[tokio::test]
async fn authenticated_pages_are_not_cached_by_the_browser() {
    let (_app, _fake, client, tenant) = setup().await;
    for path in [
        format!("/t/{tenant}"),
        format!("/t/{tenant}/connections"),
        format!("/t/{tenant}/members"),
        format!("/t/{tenant}/connections/999"),
    ] {
        let page = client.get(&path).await;
        let cache = page
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(cache.as_deref(), Some("no-store"), "{path}");
    }
    // Static files keep their own caching.
    let css = client.get("/static/app.css").await;
    assert_eq!(
        css.headers.get("cache-control").unwrap().to_str().unwrap(),
        "public, max-age=3600"
    );
}

#[tokio::test]
async fn after_confirming_an_email_the_login_form_has_the_address_filled_in() {
    let app = spawn_app().await;
    let page = app.client().get("/login?email=jane%40example.com").await;
    assert!(
        page.body.contains(r#"value="jane@example.com""#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn inviting_someone_already_invited_asks_first_and_changes_nothing_until_confirmed() {
    let (app, _fake, client, tenant) = setup().await;
    let members = format!("/t/{tenant}/members");
    let invitations = format!("/t/{tenant}/invitations");
    client
        .submit(
            &members,
            &invitations,
            &[("email", "pat@example.com"), ("role", "admin")],
        )
        .await
        .assert_redirect_to(&members);
    let before = app.snapshot().await;
    let asked = client
        .submit(
            &members,
            &invitations,
            &[("email", "pat@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(asked.status, 409);
    assert!(
        asked
            .body
            .contains("pat@example.com already has an invitation"),
        "{}",
        asked.body
    );
    assert!(
        asked
            .body
            .contains("the link in the first email stops working")
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing changed before confirming"
    );
    assert_eq!(app.emails_to("pat@example.com").await.len(), 1);

    let replaced = client
        .submit(
            &members,
            &invitations,
            &[
                ("email", "pat@example.com"),
                ("role", "member"),
                ("replace", "yes"),
            ],
        )
        .await;
    replaced.assert_redirect_to(&members);
    assert_eq!(app.emails_to("pat@example.com").await.len(), 2);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM invitations WHERE email = 'pat@example.com' AND role = 'member' AND accepted_at IS NULL AND revoked_at IS NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn the_home_page_promises_only_what_is_built_and_has_a_real_title() {
    let app = spawn_app().await;
    let home = app.client().get("/").await;
    assert!(
        !home.body.contains("cartbridge · cartbridge"),
        "{}",
        home.body
    );
    assert!(
        home.body
            .contains("<title>Connect your BigCommerce stores · cartbridge</title>")
    );
    for unbuilt in ["purchase orders", "shipments", "webhooks"] {
        assert!(!home.body.to_lowercase().contains(unbuilt), "{unbuilt}");
    }
    assert!(home.body.contains("Get Inventory"));
}

#[tokio::test]
async fn a_second_connection_to_the_same_store_is_pointed_out() {
    let (app, _fake, client, tenant) = setup().await;
    for (name, then) in [("First", "save"), ("Second", "test")] {
        let new = client.get(&format!("/t/{tenant}/connections/new")).await;
        let form_token = new.hidden_input("form_token").unwrap();
        let csrf = new.csrf().unwrap();
        let mut fields = vec![("csrf_token", csrf.as_str())];
        fields.extend(token_form(name, &form_token, then));
        let res = client
            .post(&format!("/t/{tenant}/connections"), &fields)
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Second'")
        .await;
    let page = client.get(&format!("/t/{tenant}/connections/{id}")).await;
    assert!(
        page.body
            .contains("The connection “First” already links this store"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Connected to Acme Store"));
}

#[tokio::test]
async fn enabling_a_flow_says_the_first_run_starts_now_and_shows_the_next_run() {
    let env = crate::helpers::inventory::inventory_env(|_| {}).await;
    let page = format!(
        "/t/{}/connections/{}/flows/inventory",
        env.tenant, env.connection
    );
    let before = env.client.get(&page).await;
    assert!(before.body.contains("Not scheduled"), "{}", before.body);
    let fields = [
        ("enabled", "on"),
        ("interval_minutes", "60"),
        ("page_size", "50"),
        ("full_sync_hours", "12"),
    ];
    env.client
        .submit(&page, &page, &fields)
        .await
        .assert_redirect_to(&page);
    let shown = env.client.get(&page).await;
    assert!(
        shown.body.contains(
            "Get Inventory settings saved. It is enabled: the first run is starting now."
        ),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains(r#"id="next-run">Next run: "#),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("(every hour)"));
    // Saving again while enabled says only that it was saved.
    env.client.submit(&page, &page, &fields).await;
    let again = env.client.get(&page).await;
    assert!(again.body.contains("Get Inventory settings saved."));
    assert!(!again.body.contains("first run is starting now"));
}

#[tokio::test]
async fn running_a_flow_on_a_failing_connection_warns_first() {
    let env = crate::helpers::inventory::inventory_env(|_| {}).await;
    let base = format!("/t/{}/connections/{}", env.tenant, env.connection);
    let page = env.client.get(&format!("{base}/flows/inventory")).await;
    assert!(!page.body.contains(r#"id="connection-warning""#));
    env.app
        .execute(&format!(
            "UPDATE connections SET status = 'failing', last_error = 'BigCommerce rejected the access token (401).', last_tested_at = 1 WHERE id = {}",
            env.connection
        ))
        .await;
    let page = env.client.get(&format!("{base}/flows/inventory")).await;
    assert!(
        page.body
            .contains("The connection is failing: BigCommerce rejected the access token"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("data-confirm=\"The connection is failing")
    );
}

#[tokio::test]
async fn a_failed_run_offers_retry_and_the_places_to_fix_it() {
    // No workers: the failed run stays the newest.
    let env = crate::helpers::inventory::inventory_env(|s| s.jobs.workers = 0).await;
    let base = format!("/t/{}/connections/{}", env.tenant, env.connection);
    let failed = crate::helpers::fixtures::finished_run(
        &env.app,
        env.tenant,
        env.connection,
        crate::helpers::inventory::STORE,
        "inventory",
        "failed",
    )
    .await;
    let page = env.client.get(&format!("{base}/runs/{failed}")).await;
    assert!(
        page.body.contains(r#"id="retry-run">Retry</button>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"action="{base}/flows/inventory/run""#))
    );
    assert!(page.body.contains(&format!(
        r#"href="{base}/flows/inventory">the Get Inventory settings</a>"#
    )));
    // On a healthy connection, the dashboard lists the failure with Retry.
    env.client.submit(&base, &format!("{base}/test"), &[]).await;
    let dashboard = env.client.get(&format!("/t/{}", env.tenant)).await;
    assert!(
        dashboard.body.contains("Get Inventory failed"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard
            .body
            .contains(r#"class="attention-action">Retry</button>"#)
    );
    let res = env
        .client
        .submit(
            &format!("{base}/runs/{failed}"),
            &format!("{base}/flows/inventory/run"),
            &[("mode", "full")],
        )
        .await;
    res.assert_redirect_to(&format!("{base}/runs"));
}

#[tokio::test]
async fn a_variant_sku_search_opens_and_marks_that_variant_and_prices_carry_the_currency() {
    let env = crate::helpers::inventory::inventory_env(|_| {}).await;
    env.fake
        .generate_catalog(crate::helpers::inventory::STORE, 3, 2);
    let base = format!("/t/{}/connections/{}", env.tenant, env.connection);
    env.client.submit(&base, &format!("{base}/test"), &[]).await;
    env.run(cartbridge::jobs::RunMode::Full).await;
    let (variant, sku): (i64, String) = {
        let rows = env
            .app
            .scalar_i64("SELECT MAX(variant_id) FROM inventory_variants")
            .await;
        let sku = sqlx_sku(&env.app, rows).await;
        (rows, sku)
    };
    let page = env
        .client
        .get(&format!("{base}/products?q={}", sku.to_lowercase()))
        .await;
    assert!(page.body.contains("<details open>"), "{}", page.body);
    assert!(
        page.body.contains(&format!(
            r#"<tr id="variant-{variant}" class="match" aria-current="true"><td class="sku" data-label="SKU"><mark>{sku}</mark>"#
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("Last synced"));
    // A stock change on the next run shows in that variant's history.
    let product = env
        .app
        .scalar_i64(&format!(
            "SELECT product_id FROM inventory_variants WHERE variant_id = {variant}"
        ))
        .await;
    env.fake
        .update_product(crate::helpers::inventory::STORE, product, |p| {
            for v in p.variants.iter_mut().filter(|v| v.id == variant) {
                v.inventory_level = 777;
            }
        });
    env.run(cartbridge::jobs::RunMode::Auto).await;
    let page = env
        .client
        .get(&format!("{base}/products?q={}", sku.to_lowercase()))
        .await;
    assert!(
        page.body.contains(r#"<ul class="history-list"><li>"#) && page.body.contains("→ 777"),
        "{}",
        page.body
    );
    let currency = env
        .app
        .scalar_i64("SELECT COUNT(*) FROM connections WHERE store_currency = 'USD'")
        .await;
    assert_eq!(currency, 1, "the fake store's currency is USD");
    assert!(page.body.contains(r#"class="price">$"#), "{}", page.body);
}

/// The SKU of a variant, read through the app's own listing query.
async fn sqlx_sku(app: &TestApp, variant_id: i64) -> String {
    let tenant = app.scalar_i64("SELECT MIN(id) FROM tenants").await;
    let connection = app.scalar_i64("SELECT MIN(id) FROM connections").await;
    let product = app
        .scalar_i64(&format!(
            "SELECT product_id FROM inventory_variants WHERE variant_id = {variant_id}"
        ))
        .await;
    cartbridge::db::inventory::variants_of(&app.db, tenant, connection, &[product])
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.variant_id == variant_id)
        .unwrap()
        .sku
}

#[tokio::test]
async fn a_flow_the_token_cannot_run_is_listed_with_the_scope_to_grant() {
    let (app, fake, client, tenant) = setup().await;
    fake.add_token(
        "abc123",
        "tok-ux-limited",
        &["store_v2_information_read_only"],
    );
    never_shown("tok-ux-limited");
    let new = client.get(&format!("/t/{tenant}/connections/new")).await;
    let form_token = new.hidden_input("form_token").unwrap();
    let csrf = new.csrf().unwrap();
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend(token_form("Limited", &form_token, "test"));
    for f in fields.iter_mut() {
        if f.0 == "access_token" {
            f.1 = "tok-ux-limited";
        }
    }
    let res = client
        .post(&format!("/t/{tenant}/connections"), &fields)
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = app.scalar_i64("SELECT id FROM connections").await;
    let page = client.get(&format!("/t/{tenant}")).await;
    assert!(
        page.body
            .contains("Get Inventory cannot run: missing scope store_v2_products_read_only"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(
        r#"href="/t/{tenant}/connections/{id}">Grant store_v2_products_read_only</a>"#
    )));
}

/// Every field error on the page is named by some control's `aria-describedby`.
fn assert_errors_linked(what: &str, body: &str) {
    let mut found = 0;
    for chunk in body.split(r#"class="field-error" id=""#).skip(1) {
        let id = chunk.split('"').next().unwrap();
        if id == "form-error" || id == "last-error" {
            continue;
        }
        found += 1;
        let linked = body.split("aria-describedby=\"").skip(1).any(|rest| {
            rest.split('"')
                .next()
                .unwrap()
                .split(' ')
                .any(|named| named == id)
        });
        assert!(
            linked,
            "{what}: #{id} is not linked by aria-describedby\n{body}"
        );
    }
    assert!(found > 0, "{what}: no field errors to check\n{body}");
}

#[tokio::test]
async fn every_field_error_is_linked_to_its_control() {
    let (app, _fake, client, tenant) = setup().await;
    let signup = app
        .client()
        .submit(
            "/signup",
            "/signup",
            &[("company", ""), ("email", "nope"), ("password", "x")],
        )
        .await;
    assert_errors_linked("signup", &signup.body);
    let wizard = client
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &[
                ("name", ""),
                ("auth_type", "token"),
                ("store", "https://shop.example.com"),
                ("then", "save"),
            ],
        )
        .await;
    assert_errors_linked("connection wizard", &wizard.body);
    let oauth = client
        .submit(
            &format!("/t/{tenant}/oauth-clients/new"),
            &format!("/t/{tenant}/oauth-clients"),
            &[("name", ""), ("client_id", ""), ("client_secret", "")],
        )
        .await;
    assert_errors_linked("OAuth client", &oauth.body);
    let invite = client
        .submit(
            &format!("/t/{tenant}/members"),
            &format!("/t/{tenant}/invitations"),
            &[("email", "not-an-email"), ("role", "member")],
        )
        .await;
    assert_errors_linked("invitation", &invite.body);
}
