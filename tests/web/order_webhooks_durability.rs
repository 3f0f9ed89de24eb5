//! Placed Orders durability with the real binary: a delivery answered 200 by a `serve` that
//! is SIGKILLed right after is still turned into its event by the next process (the inbox
//! row and its job were committed before the 200).

use std::time::Duration;

use serde_json::json;

use crate::helpers::bc_webhooks::{STORE, order_body, orders_env};
use crate::helpers::process;

#[tokio::test]
async fn a_delivery_acknowledged_just_before_a_sigkill_is_emitted_after_the_restart() {
    let env = orders_env(|_| {}).await;
    env.enable().await;
    // The scheduler of the restarted process must not reconcile this order first: the event
    // has to come from the stored delivery.
    env.app
        .execute("UPDATE flow_settings SET next_run_at = 4102444800 WHERE flow = 'placed_orders'")
        .await;
    let order = env.fake.add_order(STORE, order_body(1, None));
    let deliveries = env.fake.deliveries_for(
        STORE,
        "store/order/created",
        json!({"type": "order", "id": order}),
    );
    assert_eq!(deliveries.len(), 1);

    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let extra = [
        ("CARTBRIDGE_LISTEN", listen.as_str()),
        ("CARTBRIDGE_PUBLIC_URL", env.app.base.as_str()),
    ];
    let vars = process::child_env(&env.app, &env.fake.api_url(), &extra);
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_cartbridge"));
    let mut first = process::spawn(
        program,
        &["serve", "--workers", "0"],
        &vars,
        env.app.data_dir.path(),
    );
    process::wait_healthy(&base, &first).await;

    let d = &deliveries[0];
    let url = d.destination.replace(&env.app.base, &base);
    let mut req = reqwest::Client::new().post(&url).json(&d.body);
    for (k, v) in &d.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let status = req.send().await.expect("deliver").status().as_u16();
    first.kill();
    assert_eq!(status, 200, "{}", first.output());
    assert!(
        env.events().await.is_empty(),
        "nothing was processed before the kill"
    );

    let second = process::spawn(
        program,
        &["serve", "--workers", "1"],
        &vars,
        env.app.data_dir.path(),
    );
    process::wait_healthy(&base, &second).await;
    for _ in 0..1200 {
        if !env.events().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = env.events().await;
    assert_eq!(events.len(), 1, "{}", second.output());
    assert_eq!(events[0]["order_id"], json!(order));
    assert_eq!(events[0]["origin"], json!("webhook"));
    assert_eq!(events[0]["sales_channel"], json!("web"));
}
