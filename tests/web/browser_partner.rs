//! Headless Chromium on the partner pages: an API key (shown once, gone on reload), a
//! webhook endpoint, a test event seen in the delivery log, and the offline API reference.
//! Screenshots go to `target/screenshots/`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, browser::Browser, inventory::inventory_env, partner::Receiver};

/// Waits (up to 15 s) for the element with this id (a click only starts a navigation).
async fn appears(b: &Browser, id: &str) {
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} never appeared: {e}"));
}

#[tokio::test]
async fn an_owner_creates_a_key_and_an_endpoint_and_sees_a_test_event_delivered_in_a_real_browser()
{
    let Some(b) = Browser::start().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let env = inventory_env(|s| s.webhooks.allow_private = true).await;
    let app = &env.app;
    let t = env.tenant;
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("email", "owner@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url(&format!("/t/{t}"))).await;

    // An API key: shown once, gone on reload.
    b.client
        .goto(&app.url(&format!("/t/{t}/api-keys")))
        .await
        .unwrap();
    b.fill("key-name", "Warehouse ERP").await;
    b.click("create-api-key").await;
    appears(&b, "new-api-key").await;
    let key = b.text("#new-api-key").await;
    assert!(key.starts_with("cbk_"), "{key}");
    b.screenshot("partner-api-key-created").await;
    b.client.refresh().await.unwrap();
    assert!(
        b.client
            .find(fantoccini::Locator::Id("new-api-key"))
            .await
            .is_err(),
        "the key is shown again after a reload"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM api_keys").await,
        1,
        "the reload submitted the form again"
    );
    let listed = b.text("#api-keys").await;
    assert!(
        listed.contains("Warehouse ERP") && listed.contains(&key[..12]) && !listed.contains(&key)
    );

    // A webhook endpoint, then a test event.
    b.client
        .goto(&app.url(&format!("/t/{t}/webhooks")))
        .await
        .unwrap();
    b.fill("endpoint-url", &receiver.url).await;
    b.click("create-endpoint").await;
    appears(&b, "new-secret").await;
    let secret = b.text("#new-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.configure(json!({ "secret": secret })).await;
    b.click("send-test-event").await;
    appears(&b, "deliveries").await;
    let mut status = String::new();
    for _ in 0..100 {
        if let Ok(el) = b
            .client
            .find(fantoccini::Locator::Css(".delivery-status"))
            .await
        {
            status = el.text().await.unwrap_or_default();
            if status == "delivered" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.client.refresh().await.unwrap();
    }
    assert_eq!(status, "delivered");
    let log = b.text("#deliveries").await;
    assert!(log.contains("webhook.test") && log.contains("200"), "{log}");
    assert!(
        b.client
            .find(fantoccini::Locator::Id("new-secret"))
            .await
            .is_err(),
        "the secret is shown again"
    );
    assert_eq!(receiver.answered()[0]["verified"], true);
    let shot = b.screenshot("partner-webhook-delivery-log").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // The API reference renders from the binary alone.
    b.client.goto(&app.url("/api/docs")).await.unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css("body[data-rendered='true']"))
        .await
        .expect("the reference rendered");
    let ops = b.text("#operations").await;
    assert!(
        ops.contains("GET /api/v1/connections/{id}/inventory/changes"),
        "{ops}"
    );
    b.screenshot("partner-api-docs").await;
    b.close().await;
}
