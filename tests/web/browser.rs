//! Headless Chromium drives signup, email verification (link read from the outbox), login
//! and logout, and saves a screenshot.

use std::time::Duration;

use fantoccini::Locator;

use crate::helpers::{PASSWORD, browser::Browser, spawn_app};

/// Waits until the browser has navigated to `url` (a click only starts a navigation).
async fn arrive(c: &fantoccini::Client, url: &str) {
    let url = url::Url::parse(url).unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_url(&url)
        .await
        .unwrap_or_else(|e| panic!("never reached {url}: {e}"));
}

#[tokio::test]
async fn a_person_signs_up_verifies_logs_in_and_out_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    let c = &browser.client;

    c.goto(&app.url("/")).await.unwrap();
    c.find(Locator::LinkText("Sign up"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("company"))
        .await
        .unwrap()
        .send_keys("Browser Co")
        .await
        .unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("browser@example.com")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("signup-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url("/signup/check-email")).await;
    let heading = c.find(Locator::Css("main h1")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Check your email");

    let link = app.last_link("browser@example.com", "/verify-email");
    c.goto(&link).await.unwrap();
    c.find(Locator::Id("verify-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url("/login")).await;
    let flash = c.find(Locator::Css(".flash-success")).await.unwrap();
    assert!(
        flash
            .text()
            .await
            .unwrap()
            .contains("Your email is confirmed")
    );

    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("browser@example.com")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let tenant_id = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Browser Co'")
        .await;
    arrive(c, &app.url(&format!("/t/{tenant_id}"))).await;
    let who = c.find(Locator::Id("whoami")).await.unwrap();
    assert_eq!(who.text().await.unwrap(), "browser@example.com");
    let h1 = c
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Browser Co");
    let shot = browser.screenshot("accounts-dashboard").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    c.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url("/login")).await;
    let h1 = c.find(Locator::Css("main h1")).await.unwrap();
    assert_eq!(h1.text().await.unwrap(), "Log in");
    assert!(c.find(Locator::Id("whoami")).await.is_err(), "logged out");
    browser.close().await;
}

#[tokio::test]
async fn a_merchant_adds_an_oauth_client_and_a_token_connection_then_creates_and_tests_it() {
    use crate::helpers::fake_bigcommerce::{FakeBigCommerce, FakeStore};

    let Some(browser) = Browser::start().await else {
        return;
    };
    crate::helpers::never_shown("tok-browser-SENTINEL");
    crate::helpers::never_shown("client-secret-SENTINEL");
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Browser Test Store".into();
    fake.add_store(store);
    fake.add_token(
        "abc123",
        "tok-browser-SENTINEL",
        &[
            "store_v2_information_read_only",
            "store_v2_products_read_only",
            "store_v2_orders",
            "store_v2_customers",
            "store_channel_settings_read_only",
        ],
    );
    let api = fake.api_url();
    let app =
        crate::helpers::spawn_app_with(|s| s.bigcommerce_api_url = api.parse().unwrap()).await;
    let c = &browser.client;

    // Log in through the browser with an account made over HTTP.
    app.signup_and_login("merchant@example.com", "Merchant Co")
        .await;
    let tenant_id = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Merchant Co'")
        .await;
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("merchant@example.com")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url(&format!("/t/{tenant_id}"))).await;

    // An OAuth client record.
    c.goto(&app.url(&format!("/t/{tenant_id}/oauth-clients/new")))
        .await
        .unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Partner app")
        .await
        .unwrap();
    c.find(Locator::Id("client_id"))
        .await
        .unwrap()
        .send_keys("partner-client-id")
        .await
        .unwrap();
    c.find(Locator::Id("client_secret"))
        .await
        .unwrap()
        .send_keys("client-secret-SENTINEL")
        .await
        .unwrap();
    c.find(Locator::Id("oauth-client-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url(&format!("/t/{tenant_id}/oauth-clients"))).await;
    assert!(c.source().await.unwrap().contains("Partner app"));

    // A Token connection, Create & Test.
    c.goto(&app.url(&format!("/t/{tenant_id}/connections")))
        .await
        .unwrap();
    c.find(Locator::Id("new-connection"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, &app.url(&format!("/t/{tenant_id}/connections/new"))).await;
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Main store")
        .await
        .unwrap();
    c.find(Locator::Id("store"))
        .await
        .unwrap()
        .send_keys("https://api.bigcommerce.com/stores/abc123/v3/")
        .await
        .unwrap();
    c.find(Locator::Id("auth-token"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("api_client_id"))
        .await
        .unwrap()
        .send_keys("api-client-1")
        .await
        .unwrap();
    c.find(Locator::Id("access_token"))
        .await
        .unwrap()
        .send_keys("tok-browser-SENTINEL")
        .await
        .unwrap();
    c.find(Locator::Id("create-and-test"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click starts the POST; wait for the connection row it creates.
    let mut id = 0;
    for _ in 0..100 {
        id = app
            .scalar_i64("SELECT COUNT(*) FROM connections WHERE name = 'Main store'")
            .await;
        if id > 0 {
            id = app
                .scalar_i64("SELECT id FROM connections WHERE name = 'Main store'")
                .await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(id > 0, "the connection was not created");
    arrive(c, &app.url(&format!("/t/{tenant_id}/connections/{id}"))).await;
    let store_name = c
        .find(Locator::Id("store-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(store_name, "Browser Test Store");
    assert_eq!(
        c.find(Locator::Id("connection-status"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "healthy"
    );
    let source = c.source().await.unwrap();
    assert!(!source.contains("tok-browser-SENTINEL") && !source.contains("client-secret-SENTINEL"));
    browser.screenshot("connection-created-and-tested").await;
    browser.close().await;
}
