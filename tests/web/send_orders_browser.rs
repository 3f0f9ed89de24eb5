//! Headless Chromium on Send Orders: upload a CSV file through the file input, watch the
//! purchase orders become orders in the fake store, open one and see its BigCommerce order
//! id. Screenshots go to `target/screenshots/send-orders-*.png`.

use std::time::Duration;

use crate::helpers::{PASSWORD, browser::Browser, inventory::STORE, purchase_orders::orders_env};

#[tokio::test]
async fn a_csv_uploaded_in_a_real_browser_becomes_orders_and_the_po_shows_its_order_id() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let env = orders_env(|_| {}).await;
    env.enable("guest").await;
    let app = env.app();
    let (t, c) = (env.env.tenant, env.env.connection);
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("email", "owner@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url(&format!("/t/{t}"))).await;

    let list = app.url(&format!("/t/{t}/connections/{c}/purchase-orders"));
    b.client.goto(&list).await.unwrap();
    let csv = cartbridge::flows::send_orders::csv_import::template()
        + &cartbridge::flows::send_orders::csv_import::template()
            .lines()
            .nth(1)
            .unwrap()
            .replace("PO-1001", "PO-1002")
        + "\n";
    let file = app.data_dir.path().join("orders-upload.csv");
    std::fs::write(&file, &csv).unwrap();
    let input = b
        .client
        .find(fantoccini::Locator::Id("csv-file"))
        .await
        .expect("file input");
    input.send_keys(&file.display().to_string()).await.unwrap();
    let mut filled = false;
    for _ in 0..100 {
        if b.eval("return document.getElementById('csv').value.length")
            .await
            .as_u64()
            .unwrap_or(0)
            > 0
        {
            filled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(filled, "the chosen file was not read into the form");
    b.screenshot("send-orders-csv-chosen").await;
    b.click("csv-submit").await;
    b.arrive(&list).await;
    let flash = b.text("main").await;
    assert!(flash.contains("Imported 2 new purchase orders"), "{flash}");

    // Watch them become orders (reloading the list).
    let mut sent = false;
    for _ in 0..300 {
        b.client.refresh().await.unwrap();
        let table = b.text("#purchase-orders").await;
        if table.matches("sent").count() >= 2 {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sent, "the purchase orders did not become orders");
    b.screenshot("send-orders-list-sent").await;

    let order = env
        .orders()
        .into_iter()
        .find(|o| o["external_order_id"] == "PO-1002")
        .expect("an order for PO-1002");
    let link = b
        .client
        .find(fantoccini::Locator::LinkText("PO-1002"))
        .await
        .expect("PO-1002 is listed");
    link.click().await.unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Id("po-order-id"))
        .await
        .expect("the order id is shown");
    assert_eq!(b.text("#po-order-id").await, order["id"].to_string());
    assert_eq!(b.text("#po-status").await, "sent");
    let href = b
        .eval("return document.getElementById('po-order-link').href")
        .await;
    assert_eq!(
        href.as_str().unwrap(),
        format!(
            "https://store-{STORE}.mybigcommerce.com/manage/orders/{}",
            order["id"]
        )
    );
    b.screenshot("send-orders-po-detail").await;
    b.close().await;
}
