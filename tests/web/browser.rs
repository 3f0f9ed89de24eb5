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
