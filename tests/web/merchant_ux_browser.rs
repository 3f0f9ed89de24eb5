//! Issue 16 in real Chromium: Create & Test clicked twice, Back after logging out, a
//! member's 403 page, the wizard's per-auth-type fields, the dashboard's attention list,
//! and every main page at 1280 and 390 px wide — no sideways scrolling, screenshots in
//! `target/screenshots/`, and axe-core finding no serious or critical violations.

use std::time::Duration;

use fantoccini::Locator;

use crate::{
    helpers::{
        PASSWORD, TestApp,
        browser::{Browser, axe_source},
        fake_bigcommerce::Fault,
        inventory::{STORE, inventory_env},
    },
    merchant_ux::{TOKEN, add_member, setup},
};

/// Logs in through the form and waits for the tenant's dashboard.
async fn log_in(b: &Browser, app: &TestApp, email: &str, tenant: i64) {
    b.client.goto(&app.url("/login")).await.unwrap();
    b.replace("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.arrive(&app.url(&format!("/t/{tenant}"))).await;
}

/// Resizes the window so that the page's viewport is `width` px wide.
async fn viewport(b: &Browser, width: u32) {
    b.client.set_window_size(width, 900).await.unwrap();
    let inner = b
        .eval("return window.innerWidth;")
        .await
        .as_i64()
        .unwrap_or(0);
    let fixed = i64::from(width) * 2 - inner;
    if inner != i64::from(width) && fixed > 0 {
        b.client.set_window_size(fixed as u32, 900).await.unwrap();
    }
    let inner = b.eval("return window.innerWidth;").await.as_i64();
    assert_eq!(inner, Some(i64::from(width)), "the viewport's width");
}

/// Waits until the element with this id exists (the page after a click has loaded).
async fn wait_for(b: &Browser, css: &str) {
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
}

#[tokio::test]
async fn clicking_create_and_test_twice_creates_one_connection_and_the_button_says_testing() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (app, fake, _client, tenant) = setup().await;
    // BigCommerce is slow: the answer cannot come before the second click.
    fake.inject(Fault::Slow {
        delay: Duration::from_secs(3),
        path_prefix: "/v2/store".into(),
        times: 2,
    });
    log_in(&b, &app, "owner@example.com", tenant).await;
    b.client
        .goto(&app.url(&format!("/t/{tenant}/connections/new")))
        .await
        .unwrap();
    b.fill("name", "Main store").await;
    b.fill("store", "abc123").await;
    b.click("auth-token").await;
    b.fill("api_client_id", "client-1").await;
    b.fill("access_token", TOKEN).await;
    // Two clicks, the second while the first is waiting for BigCommerce. (One script: the
    // driver would otherwise wait for the navigation the first click starts.)
    let state = b
        .eval(
            "const b = document.getElementById('create-and-test'); \
             b.click(); \
             const seen = [b.textContent, b.disabled]; \
             b.click(); \
             b.form.requestSubmit(); \
             return seen;",
        )
        .await;
    assert_eq!(state, serde_json::json!(["Testing…", true]));
    wait_for(&b, "#connection-status").await;
    let id = app.scalar_i64("SELECT id FROM connections").await;
    b.arrive(&app.url(&format!("/t/{tenant}/connections/{id}")))
        .await;
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM connections").await, 1);
    assert_eq!(b.text("#connection-status").await, "healthy");
    let flashes = b.text("main").await;
    assert!(
        flashes.contains("Connection “Main store” created."),
        "{flashes}"
    );
    assert!(!flashes.contains("already have a connection"));
    b.close().await;
}

#[tokio::test]
async fn back_after_logging_out_does_not_show_the_last_page() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (app, _fake, _client, tenant) = setup().await;
    log_in(&b, &app, "owner@example.com", tenant).await;
    b.client
        .goto(&app.url(&format!("/t/{tenant}/members")))
        .await
        .unwrap();
    assert!(
        b.client
            .source()
            .await
            .unwrap()
            .contains("owner@example.com")
    );
    b.click("logout").await;
    b.arrive(&app.url("/login")).await;
    b.client.back().await.unwrap();
    wait_for(&b, "main h1").await;
    assert_eq!(b.text("main h1").await, "Log in");
    let source = b.client.source().await.unwrap();
    assert!(
        !source.contains(r#"id="whoami""#),
        "the members page came back"
    );
    assert!(!source.contains("<h1>Members</h1>"));
    b.close().await;
}

#[tokio::test]
async fn a_member_sees_a_403_page_with_their_header_and_a_back_link_that_works() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (app, _fake, owner, tenant) = setup().await;
    add_member(&app, &owner, tenant, "member@example.com", "member").await;
    log_in(&b, &app, "member@example.com", tenant).await;
    b.client
        .goto(&app.url(&format!("/t/{tenant}/connections")))
        .await
        .unwrap();
    assert!(b.client.find(Locator::Id("new-connection")).await.is_err());
    b.client
        .goto(&app.url(&format!("/t/{tenant}/connections/new")))
        .await
        .unwrap();
    assert_eq!(b.text("#whoami").await, "member@example.com");
    assert!(b.client.find(Locator::Id("access_token")).await.is_err());
    assert_eq!(b.text("#error-back").await, "Back to Connections");
    b.screenshot("ux-403-member-1280").await;
    b.click("error-back").await;
    b.arrive(&app.url(&format!("/t/{tenant}/connections")))
        .await;
    b.close().await;
}

#[tokio::test]
async fn the_wizard_shows_only_the_chosen_auth_types_fields() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (app, _fake, _client, tenant) = setup().await;
    log_in(&b, &app, "owner@example.com", tenant).await;
    b.client
        .goto(&app.url(&format!("/t/{tenant}/connections/new")))
        .await
        .unwrap();
    let shown = |id: &'static str| {
        let b = &b;
        async move {
            b.client
                .find(Locator::Id(id))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        }
    };
    // Token is the default.
    assert!(shown("token-fields").await && !shown("oauth-fields").await);
    b.click("auth-oauth").await;
    assert!(!shown("token-fields").await && shown("oauth-fields").await);
    assert_eq!(b.text("#create-and-test").await, "Create & Connect");
    b.click("auth-basic").await;
    assert!(shown("token-fields").await && !shown("oauth-fields").await);
    assert_eq!(b.text("#create-and-test").await, "Create & Test");
    b.close().await;
}

#[tokio::test]
async fn the_dashboard_lists_what_needs_attention_and_its_action_leads_to_the_fix() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (app, _fake, client, tenant) = setup().await;
    let actor = crate::helpers::fixtures::owner(&app, tenant, "owner@example.com").await;
    // A token the store does not know: the test fails with a 401.
    let id = crate::helpers::fixtures::token_connection(&app, &actor, "Main store", "abc123").await;
    let show = format!("/t/{tenant}/connections/{id}");
    client.submit(&show, &format!("{show}/test"), &[]).await;
    log_in(&b, &app, "owner@example.com", tenant).await;
    let item = b.text("#attention .attention-item").await;
    assert!(
        item.contains("Main store") && item.contains("rejected the access token"),
        "{item}"
    );
    b.client
        .find(Locator::Css("#attention .attention-action"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.arrive(&app.url(&format!("{show}/edit"))).await;
    b.close().await;
}

/// The pages a merchant sees, by screenshot name and path.
fn main_pages(tenant: i64, connection: i64, run: i64) -> Vec<(&'static str, String)> {
    let c = format!("/t/{tenant}/connections/{connection}");
    vec![
        ("dashboard", format!("/t/{tenant}")),
        ("connections", format!("/t/{tenant}/connections")),
        ("connection-new", format!("/t/{tenant}/connections/new")),
        ("connection", c.clone()),
        ("connection-edit", format!("{c}/edit")),
        ("flow-settings", format!("{c}/flows/inventory")),
        ("runs", format!("{c}/runs")),
        ("run", format!("{c}/runs/{run}")),
        ("products", format!("{c}/products")),
        ("members", format!("/t/{tenant}/members")),
        ("oauth-clients", format!("/t/{tenant}/oauth-clients")),
        ("oauth-client-new", format!("/t/{tenant}/oauth-clients/new")),
        ("not-found", format!("{c}/runs/999999")),
        ("account", "/account".to_owned()),
        ("company-settings", format!("/t/{tenant}/settings")),
    ]
}

/// The serious and critical violations axe-core finds on the current page.
async fn axe_violations(b: &Browser, axe: &str) -> Vec<String> {
    b.axe_violations(axe)
        .await
        .into_iter()
        .filter(|v| {
            v.starts_with("serious ") || v.starts_with("critical ") || v.starts_with("axe failed")
        })
        .collect()
}

#[tokio::test]
async fn every_main_page_fits_a_phone_passes_axe_and_is_photographed_at_1280_and_390() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let axe = axe_source();
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 30, 2);
    let (app, tenant, connection) = (&env.app, env.tenant, env.connection);
    let show = format!("/t/{tenant}/connections/{connection}");
    env.client.submit(&show, &format!("{show}/test"), &[]).await;
    let run = env.run(cartbridge::jobs::RunMode::Full).await;
    log_in(&b, app, "owner@example.com", tenant).await;

    let mut problems = Vec::new();
    for width in [1280u32, 390] {
        viewport(&b, width).await;
        for (name, path) in main_pages(tenant, connection, run.id) {
            b.client.goto(&app.url(&path)).await.unwrap();
            wait_for(&b, "main").await;
            let scroll = b
                .eval("return document.documentElement.scrollWidth;")
                .await
                .as_i64()
                .unwrap();
            if scroll > i64::from(width) {
                problems.push(format!(
                    "{name} at {width}px scrolls sideways: {scroll}px wide"
                ));
            }
            b.screenshot(&format!("ux-{name}-{width}")).await;
            if name == "account" {
                // The sessions and "log out everywhere", below the fold.
                b.eval("document.getElementById('sessions-title').scrollIntoView(); return true;")
                    .await;
                b.screenshot(&format!("ux-account-sessions-{width}")).await;
            }
            if width == 1280 && name == "runs" {
                let visible = b
                    .eval(
                        "const a = document.querySelector('#runs .run-link'); \
                         const r = a.getBoundingClientRect(); \
                         return r.right <= window.innerWidth && r.width > 0;",
                    )
                    .await;
                if visible != serde_json::Value::Bool(true) {
                    problems.push("runs: the link to a run is off screen at 1280px".into());
                }
            }
            if let Some(axe) = &axe {
                for v in axe_violations(&b, axe).await {
                    problems.push(format!("{name} at {width}px: {v}"));
                }
            }
        }
    }
    b.click("logout").await;
    b.arrive(&app.url("/login")).await;
    for width in [1280u32, 390] {
        viewport(&b, width).await;
        for (name, path) in [("home", "/"), ("login", "/login"), ("signup", "/signup")] {
            b.client.goto(&app.url(path)).await.unwrap();
            wait_for(&b, "main").await;
            let scroll = b
                .eval("return document.documentElement.scrollWidth;")
                .await
                .as_i64()
                .unwrap();
            if scroll > i64::from(width) {
                problems.push(format!(
                    "{name} at {width}px scrolls sideways: {scroll}px wide"
                ));
            }
            b.screenshot(&format!("ux-{name}-{width}")).await;
            if let Some(axe) = &axe {
                for v in axe_violations(&b, axe).await {
                    problems.push(format!("{name} at {width}px: {v}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    b.close().await;
}

#[tokio::test]
async fn the_browsers_time_zone_becomes_the_default_and_times_are_shown_in_it() {
    let Some(b) = Browser::start_with_env(&[("TZ", "Asia/Tokyo")]).await else {
        return;
    };
    let (app, _fake, _client, tenant) = setup().await;
    // 2026-01-01T00:00:00Z, 09:00 in Tokyo.
    app.execute(&format!(
        "UPDATE memberships SET created_at = 1767225600 WHERE tenant_id = {tenant}"
    ))
    .await;
    let zone_sql =
        "SELECT COUNT(*) FROM users WHERE email = 'owner@example.com' AND time_zone = 'Asia/Tokyo'";
    assert_eq!(app.scalar_i64(zone_sql).await, 0);
    log_in(&b, &app, "owner@example.com", tenant).await;
    let reported = b
        .eval("return Intl.DateTimeFormat().resolvedOptions().timeZone;")
        .await;
    assert_eq!(reported, serde_json::json!("Asia/Tokyo"), "chromium's zone");
    // The script sends it once, in the background.
    let mut stored = false;
    for _ in 0..100 {
        if app.scalar_i64(zone_sql).await == 1 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored, "the browser's zone was not kept");
    b.client
        .goto(&app.url(&format!("/t/{tenant}/members")))
        .await
        .unwrap();
    wait_for(&b, "#members time").await;
    let time = b
        .eval(
            "const t = document.querySelector('#members time'); \
             return [t.textContent, t.title, t.getAttribute('datetime')];",
        )
        .await;
    assert_eq!(
        time,
        serde_json::json!([
            "2026-01-01 09:00 JST",
            "2026-01-01 00:00 UTC",
            "2026-01-01T00:00:00Z"
        ])
    );
    assert!(
        b.client
            .find(Locator::Css("meta[name=time-zone-unset]"))
            .await
            .is_err(),
        "the page still asks for a zone"
    );
    b.client.goto(&app.url("/account")).await.unwrap();
    wait_for(&b, "#time_zone").await;
    let field = b
        .eval("return document.getElementById('time_zone').value;")
        .await;
    assert_eq!(field, serde_json::json!("Asia/Tokyo"));
    assert!(
        b.text("#zone-in-use")
            .await
            .contains("Times are shown in Asia/Tokyo.")
    );
    b.screenshot("account-tokyo-1280").await;
    b.close().await;
}
