//! Headless Chromium on the Shipments page: a shipped PO shows its tracking link (the
//! store's own link for one shipment, the generated one for the other). Screenshot in
//! `target/screenshots/shipments-po.png`.

use cartbridge::jobs::RunMode;
use serde_json::json;

use crate::helpers::{
    PASSWORD,
    browser::Browser,
    shipments::{STORE, order_product_id, run, save_settings, sent_po, shipments_env},
};

#[tokio::test]
async fn a_shipped_po_shows_its_tracking_links_in_a_real_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let env = shipments_env(|_| {}).await;
    save_settings(&env, "sent", false).await;
    run(&env, RunMode::Auto).await;
    let (po, order) = sent_po(&env, "PO-4711", &[("WID-1", 2), ("GAD-2", 1)]).await;
    let wid = order_product_id(&env, order, "WID-1");
    let gad = order_product_id(&env, order, "GAD-2");
    env.fake.ship(
        STORE,
        order,
        json!({"tracking_number": "1Z4711", "shipping_provider": "ups",
               "items": [{"order_product_id": wid, "quantity": 2}]}),
    );
    env.fake.ship(
        STORE,
        order,
        json!({"tracking_number": "RM4711GB", "shipping_provider": "royalmail",
               "tracking_link": "https://tracking.example/RM4711GB",
               "items": [{"order_product_id": gad, "quantity": 1}]}),
    );
    let r = run(&env, RunMode::Auto).await;
    assert_eq!(r.created, 2, "{:?}", r.error);

    let app = &env.app;
    let t = env.tenant;
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("email", "owner@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url(&format!("/t/{t}"))).await;
    let page = format!("/t/{t}/connections/{}/shipments?po={po}", env.connection);
    b.client.goto(&app.url(&page)).await.unwrap();
    let links = b
        .eval(
            "return Array.from(document.querySelectorAll('a.tracking-link'))\
             .map(a => [a.textContent.trim(), a.href]);",
        )
        .await;
    assert_eq!(
        links,
        json!([
            ["1Z4711", "https://track.aftership.com/ups/1Z4711"],
            ["RM4711GB", "https://tracking.example/RM4711GB"]
        ]),
        "each shipment links its tracking: generated, then the store's own"
    );
    let heading = b.text("#shipments-heading").await;
    assert!(heading.contains("PO-4711"), "{heading}");
    let overflow = b
        .eval("return document.documentElement.scrollWidth > window.innerWidth;")
        .await;
    assert_eq!(overflow, json!(false), "no sideways scrolling");
    b.screenshot("shipments-po").await;
    b.close().await;
}
