//! Headless Chromium on Placed Orders (issue 13), as a merchant: sign up, connect the fake
//! store, enable Placed Orders choosing a storefront in the picker, override one row of the
//! sales-channel mapping, then see the orders placed on the store (delivered by webhook, and
//! one found by the reconciliation) on the Events page with their mapped sales channel,
//! storefront and origin. axe-core finds no violation at all on the settings, mapping and
//! Events pages. Screenshots in `target/screenshots/placed-orders-*.png`.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::helpers::{
    PASSWORD, TestApp,
    bc_webhooks::{STORE, TOKEN, order_body, orders_world},
    browser::{Browser, axe_source},
    fake_bigcommerce::FakeChannel,
};

async fn wait_for(b: &Browser, css: &str) {
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
}

/// axe-core on the current page: every violation, whatever its impact, is a problem.
async fn check_axe(b: &Browser, axe: Option<&String>, name: &str, problems: &mut Vec<String>) {
    if let Some(axe) = axe {
        for v in b.axe_violations(axe).await {
            problems.push(format!("{name}: {v}"));
        }
    }
}

/// Signs up through the form, confirms the address from the outbox and logs in; returns
/// the new tenant's id.
async fn sign_up(b: &Browser, app: &TestApp) -> i64 {
    b.client.goto(&app.url("/signup")).await.unwrap();
    b.fill("company", "Acme").await;
    b.fill("email", "owner@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click("signup-submit").await;
    b.arrive(&app.url("/signup/check-email")).await;
    b.client
        .goto(&app.last_link("owner@example.com", "/verify-email").await)
        .await
        .unwrap();
    b.click("verify-submit").await;
    b.arrive(&app.url("/login?email=owner%40example.com")).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    let tenant = app
        .scalar_i64("SELECT id FROM tenants WHERE name = 'Acme'")
        .await;
    b.arrive(&app.url(&format!("/t/{tenant}"))).await;
    tenant
}

/// Connects the fake store with its token through the wizard (Create & Test); returns the
/// connection's id.
async fn connect(b: &Browser, app: &TestApp, tenant: i64) -> i64 {
    b.client
        .goto(&app.url(&format!("/t/{tenant}/connections/new")))
        .await
        .unwrap();
    b.fill("name", "Main store").await;
    b.fill("store", STORE).await;
    b.click("auth-token").await;
    b.fill("api_client_id", "client-orders").await;
    b.fill("access_token", TOKEN).await;
    b.click("create-and-test").await;
    let sql = "SELECT COUNT(*) FROM connections WHERE name = 'Main store'";
    for _ in 0..100 {
        if app.scalar_i64(sql).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Main store'")
        .await;
    b.arrive(&app.url(&format!("/t/{tenant}/connections/{id}")))
        .await;
    assert_eq!(b.text("#connection-status").await, "healthy");
    id
}

/// The text of one cell of an order's row on the Events page.
async fn cell(b: &Browser, order: i64, label: &str) -> String {
    b.text(&format!("#order-{order} td[data-label='{label}']"))
        .await
}

#[tokio::test]
async fn a_merchant_picks_a_storefront_maps_a_source_and_sees_the_placed_orders_on_the_events_page()
{
    let Some(b) = Browser::start().await else {
        return;
    };
    let axe = axe_source();
    let (app, fake) = orders_world(|_| {}).await;
    let wholesale = fake.add_channel(STORE, FakeChannel::new("Wholesale", "storefront", "custom"));
    fake.add_channel(
        STORE,
        FakeChannel::new("Amazon EU", "marketplace", "amazon").status("connected"),
    );
    let mut problems = Vec::new();

    let tenant = sign_up(&b, &app).await;
    let connection = connect(&b, &app, tenant).await;
    let base = format!("/t/{tenant}/connections/{connection}");

    // Placed Orders, from the connection page: enable it and tick Wholesale.
    b.click("placed_orders-settings-link").await;
    b.arrive(&app.url(&format!("{base}/flows/placed_orders")))
        .await;
    wait_for(&b, "#storefronts legend").await;
    assert_eq!(b.text("#storefronts legend").await, "Storefronts");
    let labels = b
        .eval(
            "return Array.from(document.querySelectorAll('#storefronts label'))\
             .map(l => l.textContent.trim());",
        )
        .await;
    assert_eq!(
        labels,
        json!([
            "1 — Orders Store (bigcommerce)",
            format!("{wholesale} — Wholesale (custom)"),
            format!("{} — Amazon EU (amazon)", wholesale + 1),
        ])
    );
    check_axe(&b, axe.as_ref(), "settings", &mut problems).await;
    b.click("enabled").await;
    // A click on the label's text ticks its box, as a person would do it.
    b.client
        .find(Locator::XPath(
            "//fieldset[@id='storefronts']//label[contains(., 'Wholesale')]",
        ))
        .await
        .expect("the Wholesale label")
        .click()
        .await
        .unwrap();
    b.screenshot("placed-orders-settings").await;
    b.click("save-settings").await;
    b.arrive(&app.url(&format!("{base}/flows/placed_orders")))
        .await;
    wait_for(&b, ".flash-success").await;
    assert!(
        b.text(".flash-success")
            .await
            .contains("Placed Orders settings saved")
    );
    let ticked = b
        .eval(
            "return Array.from(document.querySelectorAll('#storefronts input:checked'))\
             .map(i => i.value);",
        )
        .await;
    assert_eq!(ticked, json!([wholesale.to_string()]));
    check_axe(&b, axe.as_ref(), "settings after saving", &mut problems).await;
    assert_eq!(
        fake.hooks(STORE).len(),
        2,
        "the order webhooks are registered"
    );
    app.run_due_jobs().await;

    // The mapping page: `external` orders are web sales here.
    b.client.goto(&app.url(&base)).await.unwrap();
    b.click("sales-channels-link").await;
    b.arrive(&app.url(&format!("{base}/sales-channels"))).await;
    wait_for(&b, "#overrides").await;
    check_axe(&b, axe.as_ref(), "mapping", &mut problems).await;
    b.fill("overrides", "external = web").await;
    b.click("save-sales-channels").await;
    b.arrive(&app.url(&format!("{base}/sales-channels"))).await;
    wait_for(&b, ".flash-success").await;
    let saved = b
        .eval("return document.getElementById('overrides').value;")
        .await;
    assert_eq!(saved, json!("external = web"));
    b.screenshot("placed-orders-mapping").await;
    check_axe(&b, axe.as_ref(), "mapping after saving", &mut problems).await;

    // Orders placed on the store; the webhooks deliver them.
    let mut placed = Vec::new();
    for (channel, source) in [(wholesale, "amazon"), (wholesale, "external"), (1, "www")] {
        let (id, sent) = fake.place_order(STORE, order_body(channel, None), source);
        let sent = sent.await.unwrap();
        assert!(
            sent.iter().all(|s| s.status == Some(200)),
            "{:?}",
            sent.iter().map(|s| s.status).collect::<Vec<_>>()
        );
        placed.push(id);
    }
    app.run_due_jobs().await;
    // One the webhooks miss (its hooks deactivated), found by "Reconcile now".
    for h in fake.hooks(STORE) {
        fake.set_hook_active(STORE, h["id"].as_i64().unwrap(), false);
    }
    let (missed, sent) = fake.place_order(STORE, order_body(wholesale, None), "manual");
    assert!(sent.await.unwrap().is_empty());
    b.client
        .goto(&app.url(&format!("{base}/flows/placed_orders")))
        .await
        .unwrap();
    b.click("run-now").await;
    b.arrive(&app.url(&format!("{base}/runs"))).await;
    app.run_due_jobs().await;

    // The Events page, from the connection page's link.
    b.client.goto(&app.url(&base)).await.unwrap();
    b.click("events-link").await;
    b.arrive(&app.url(&format!("{base}/events"))).await;
    wait_for(&b, "#placed-orders").await;
    let (amazon, external, www) = (placed[0], placed[1], placed[2]);
    for (order, channel, origin) in [
        (amazon, "marketplace", "webhook"),
        (external, "web", "webhook"),
        (missed, "offline", "reconciled"),
    ] {
        assert_eq!(cell(&b, order, "Sales channel").await, channel, "{order}");
        assert_eq!(
            cell(&b, order, "Storefront").await,
            format!("Wholesale ({wholesale})"),
            "{order}"
        );
        assert_eq!(cell(&b, order, "Origin").await, origin, "{order}");
    }
    assert_eq!(cell(&b, external, "Source").await, "external");
    assert!(
        b.client
            .find(Locator::Id(&format!("order-{www}")))
            .await
            .is_err(),
        "an order of another storefront is not sent"
    );
    b.screenshot("placed-orders-events").await;
    check_axe(&b, axe.as_ref(), "events", &mut problems).await;

    assert!(problems.is_empty(), "{}", problems.join("\n"));
    b.close().await;
}
