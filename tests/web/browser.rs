//! Headless Chromium drives the app like a person: signup, email verification (link read
//! from the outbox), login and logout; then an OAuth client, a Token connection and
//! Create & Test. Each saves a screenshot to `target/screenshots/`.

use crate::helpers::{
    PASSWORD, TestApp,
    browser::Browser,
    fake_bigcommerce::{FakeBigCommerce, FakeStore},
    never_shown, spawn_app, spawn_app_with,
};

/// Logs in through the login form and waits for the tenant's dashboard.
async fn log_in(b: &Browser, app: &TestApp, email: &str, tenant_id: i64) {
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url(&format!("/t/{tenant_id}"))).await;
}

#[tokio::test]
async fn a_person_signs_up_verifies_logs_in_and_out_in_a_real_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;

    b.client.goto(&app.url("/")).await.unwrap();
    b.client
        .find(fantoccini::Locator::LinkText("Sign up"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.arrive(&app.url("/signup")).await;
    b.fill("company", "Browser Co").await;
    b.fill("email", "browser@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click("signup-submit").await;
    b.arrive(&app.url("/signup/check-email")).await;
    assert_eq!(b.text("main h1").await, "Check your email");

    b.client
        .goto(&app.last_link("browser@example.com", "/verify-email").await)
        .await
        .unwrap();
    b.click("verify-submit").await;
    b.arrive(&app.url("/login?email=browser%40example.com"))
        .await;
    assert!(
        b.text(".flash-success")
            .await
            .contains("Your email is confirmed")
    );

    // The address is filled in already.
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    let tenant_id = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Browser Co'")
        .await;
    b.arrive(&app.url(&format!("/t/{tenant_id}"))).await;
    assert_eq!(b.text("#whoami").await, "browser@example.com");
    assert_eq!(b.text("main h1").await, "Browser Co");
    let shot = b.screenshot("accounts-dashboard").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    b.click("logout").await;
    b.arrive(&app.url("/login")).await;
    assert_eq!(b.text("main h1").await, "Log in");
    assert!(
        b.client
            .find(fantoccini::Locator::Id("whoami"))
            .await
            .is_err(),
        "logged out"
    );
    b.close().await;
}

#[tokio::test]
async fn a_merchant_adds_an_oauth_client_and_a_token_connection_then_creates_and_tests_it() {
    let Some(b) = Browser::start().await else {
        return;
    };
    never_shown("tok-browser-SENTINEL");
    never_shown("client-secret-SENTINEL");
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Browser Test Store".into();
    fake.add_store(store);
    let scopes = [
        "store_v2_information_read_only",
        "store_v2_products_read_only",
        "store_v2_orders",
        "store_v2_customers",
        "store_channel_settings_read_only",
    ];
    fake.add_token("abc123", "tok-browser-SENTINEL", &scopes);
    let api = fake.api_url();
    let app = spawn_app_with(|s| s.bigcommerce_api_url = api.parse().unwrap()).await;

    // Log in through the browser with an account made over HTTP.
    app.signup_and_login("merchant@example.com", "Merchant Co")
        .await;
    let tenant_id = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Merchant Co'")
        .await;
    log_in(&b, &app, "merchant@example.com", tenant_id).await;

    // An OAuth client record.
    b.client
        .goto(&app.url(&format!("/t/{tenant_id}/oauth-clients/new")))
        .await
        .unwrap();
    b.fill("name", "Partner app").await;
    b.fill("client_id", "partner-client-id").await;
    b.fill("client_secret", "client-secret-SENTINEL").await;
    b.click("oauth-client-submit").await;
    b.arrive(&app.url(&format!("/t/{tenant_id}/oauth-clients")))
        .await;
    assert!(b.client.source().await.unwrap().contains("Partner app"));

    // A Token connection, Create & Test.
    b.client
        .goto(&app.url(&format!("/t/{tenant_id}/connections")))
        .await
        .unwrap();
    b.click("new-connection").await;
    b.arrive(&app.url(&format!("/t/{tenant_id}/connections/new")))
        .await;
    b.fill("name", "Main store").await;
    b.fill("store", "https://api.bigcommerce.com/stores/abc123/v3/")
        .await;
    b.click("auth-token").await;
    b.fill("api_client_id", "api-client-1").await;
    b.fill("access_token", "tok-browser-SENTINEL").await;
    b.click("create-and-test").await;
    // The click starts the POST; wait for the connection row it creates.
    let mut id = 0;
    for _ in 0..100 {
        if app
            .scalar_i64("SELECT COUNT(*) FROM connections WHERE name = 'Main store'")
            .await
            > 0
        {
            id = app
                .scalar_i64("SELECT id FROM connections WHERE name = 'Main store'")
                .await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(id > 0, "the connection was not created");
    b.arrive(&app.url(&format!("/t/{tenant_id}/connections/{id}")))
        .await;
    assert_eq!(b.text("#store-name").await, "Browser Test Store");
    assert_eq!(b.text("#connection-status").await, "healthy");
    let source = b.client.source().await.unwrap();
    assert!(!source.contains("tok-browser-SENTINEL") && !source.contains("client-secret-SENTINEL"));
    b.screenshot("connection-created-and-tested").await;
    b.close().await;
}

#[tokio::test]
async fn a_merchant_connects_an_oauth_connection_through_the_bigcommerce_consent_page() {
    use crate::helpers::fake_login::FakeLogin;
    let Some(b) = Browser::start().await else {
        return;
    };
    never_shown("tok-connect-browser-SENTINEL");
    never_shown("secret-connect-browser-SENTINEL");
    let scopes = [
        "store_v2_information_read_only",
        "store_v2_products_read_only",
        "store_v2_orders",
        "store_v2_customers",
        "store_channel_settings_read_only",
    ];
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Consent Store".into();
    fake.add_store(store);
    fake.add_token("abc123", "tok-connect-browser-SENTINEL", &scopes);
    let login = FakeLogin::start("abc123", "tok-connect-browser-SENTINEL").await;
    login.add_app("client-abc", "secret-connect-browser-SENTINEL");
    let (api, login_url) = (fake.api_url(), login.url());
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api.parse().unwrap();
        s.bigcommerce_login_url = login_url.parse().unwrap();
    })
    .await;

    // An OAuth client and an OAuth 2.0 connection, made over HTTP.
    let (client, tenant_id) = app
        .signup_and_login("consent@example.com", "Consent Co")
        .await;
    let oauth_client = crate::oauth_clients::create_ok(
        &app,
        &client,
        tenant_id,
        "Main app",
        "secret-connect-browser-SENTINEL",
    )
    .await
    .to_string();
    let mut fields = vec![
        ("name", "Consent store"),
        ("auth_type", "oauth"),
        ("store", "abc123"),
        ("oauth_client_id", oauth_client.as_str()),
    ];
    fields.extend(scopes.iter().map(|s| ("scopes", *s)));
    let res = client
        .submit(
            &format!("/t/{tenant_id}/connections/new"),
            &format!("/t/{tenant_id}/connections"),
            &fields,
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Consent store'")
        .await;

    // In the browser: log in, open the connection, Connect, approve on BigCommerce's page.
    log_in(&b, &app, "consent@example.com", tenant_id).await;
    let show = app.url(&format!("/t/{tenant_id}/connections/{id}"));
    b.client.goto(&show).await.unwrap();
    assert_eq!(b.text("#connection-status").await, "not connected");
    b.click("connect").await;
    b.client
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(fantoccini::Locator::Id("approve"))
        .await
        .expect("BigCommerce's consent page");
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&login.url())
    );
    b.screenshot("oauth-consent-page").await;
    b.click("approve").await;
    b.arrive(&show).await;
    assert_eq!(b.text("#connection-status").await, "healthy");
    assert_eq!(b.text("#store-name").await, "Consent Store");
    assert!(
        b.text(".flash-success")
            .await
            .contains("is connected to BigCommerce: Consent Store")
    );
    let source = b.client.source().await.unwrap();
    assert!(
        !source.contains("tok-connect-browser-SENTINEL")
            && !source.contains("secret-connect-browser-SENTINEL")
    );
    let shot = b.screenshot("oauth-connected").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    b.close().await;
}

#[tokio::test]
async fn a_merchant_sets_up_get_inventory_runs_it_and_watches_it_finish_without_a_reload() {
    use crate::helpers::{
        fake_bigcommerce::Fault,
        inventory::{STORE, inventory_env},
    };
    use std::time::Duration;
    let Some(b) = Browser::start().await else {
        return;
    };
    let env = inventory_env(|_| {}).await;
    // 600 products, 50 a page: twelve requests, each slowed a little so the run takes a few
    // seconds (the test does not rely on seeing it in progress, only on how it ends).
    env.fake.generate_catalog(STORE, 600, 2);
    env.fake.inject(Fault::Slow {
        delay: Duration::from_millis(300),
        path_prefix: "/v3/catalog/products".into(),
        times: 12,
    });
    let (app, tenant, connection) = (&env.app, env.tenant, env.connection);
    let base = format!("/t/{tenant}/connections/{connection}");
    log_in(&b, app, "owner@example.com", tenant).await;

    // Connection → Get Inventory: tick Enabled, page size 50, save.
    b.client.goto(&app.url(&base)).await.unwrap();
    b.click("inventory-settings-link").await;
    let settings = app.url(&format!("{base}/flows/inventory"));
    b.arrive(&settings).await;
    assert_eq!(b.text("#connection-name").await, "Main store");
    b.click("enabled").await;
    b.replace("page_size", "50").await;
    b.click("save-settings").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css(".flash-success"))
        .await
        .expect("a flash after saving");
    assert_eq!(
        b.text(".flash-success").await,
        "Get Inventory settings saved. It is enabled: the first run is starting now."
    );

    // Run now. Enabling already scheduled a first run, so this one may find it queued.
    b.click("run-now").await;
    b.arrive(&app.url(&format!("{base}/runs"))).await;
    let flash = b.text(".flash").await;
    assert!(
        flash == "Run queued." || flash == "A run is already queued or in progress.",
        "{flash}"
    );

    // The run row appears once a worker picks the job up; then open it from the list.
    let mut runs = 0;
    for _ in 0..200 {
        runs = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM runs WHERE connection_id = {connection}"
            ))
            .await;
        if runs > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(runs > 0, "no run started");
    b.client.refresh().await.unwrap();
    b.client
        .find(fantoccini::Locator::Css("#runs .run-link"))
        .await
        .expect("a run in the list")
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Id("run-status"))
        .await
        .expect("the run page");
    let run_url = b.client.current_url().await.unwrap();
    let run_id: i64 = run_url
        .path()
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("run id in the URL");

    // The page changes under us (the script swaps sections in): read text leniently.
    let read = |css: &'static str| {
        let client = b.client.clone();
        async move {
            match client.find(fantoccini::Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        }
    };
    // Mark this page: a reload would lose the marker.
    b.eval("window.__marker = 1; return true;").await;
    let first_status = read("#run-status").await;
    let mut seen = vec![read("#run-progress-text").await];
    let mut status = first_status.clone();
    for _ in 0..600 {
        status = read("#run-status").await;
        let text = read("#run-progress-text").await;
        if seen.last() != Some(&text) {
            seen.push(text);
        }
        if status == "succeeded" || status.starts_with("failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded", "progress seen: {seen:?}");
    assert_eq!(
        b.eval("return window.__marker === 1;").await,
        serde_json::Value::Bool(true),
        "the run page was reloaded"
    );
    assert_eq!(b.client.current_url().await.unwrap(), run_url);
    let run = env.wait_for_run_id(run_id).await;
    let expected = match run.total {
        Some(total) => format!("{} of {total} records", run.done),
        None => format!("{} records", run.done),
    };
    assert_eq!(b.text("#run-progress-text").await, expected);
    // Once finished, the stock changes are swapped in, still without a reload.
    let events = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM inventory_events WHERE run_id = {run_id}"
        ))
        .await;
    let want = format!("({events})");
    let mut shown = String::new();
    for _ in 0..100 {
        shown = read("#event-count").await;
        if shown == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shown, want);
    assert_eq!(
        b.eval("return window.__marker === 1;").await,
        serde_json::Value::Bool(true)
    );
    eprintln!("run {run_id}: first status {first_status:?}, progress seen {seen:?}");
    let shot = b.screenshot("inventory-run").await;
    println!("screenshot: {}", shot.display());
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // Products: the snapshot, with a product SKU.
    b.click("subnav-products").await;
    b.arrive(&app.url(&format!("{base}/products"))).await;
    assert_eq!(b.text("#products td.sku").await, "GEN-000001");
    assert!(b.text("#product-count").await.contains("of 600 products"));
    let shot = b.screenshot("inventory-products").await;
    println!("screenshot: {}", shot.display());
    b.close().await;
}
