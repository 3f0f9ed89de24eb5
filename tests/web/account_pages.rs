//! Issue 16, the rest: the profile page (`/account`: name, time zone, password, sessions)
//! and the owners' company settings page (`/t/{tenant}/settings`), over HTTP. Every bad
//! input gets its error beside the field and changes nothing in the database.

use crate::{
    helpers::{Client, PASSWORD, TestApp, spawn_app},
    merchant_ux::add_member,
};

const NEW_PASSWORD: &str = "plum tractor velvet 1984";
/// 2026-01-01T00:00:00Z.
const NEW_YEAR: i64 = 1_767_225_600;

/// Logs `email` in on a fresh client and returns it with the session cookie it was given
/// (`name=value`), to replay that cookie later from a client of its own.
async fn log_in(app: &TestApp, email: &str, password: &str) -> (Client, String) {
    let client = app.client();
    let res = client
        .submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await;
    assert_eq!(res.status, 303, "login failed: {}", res.body);
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cartbridge="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    (client, cookie)
}

/// GET `/account` with only this cookie (no jar).
async fn with_cookie(app: &TestApp, cookie: &str, path: &str) -> u16 {
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    raw.get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn is_login_redirect(page: &crate::helpers::Page) -> bool {
    page.status == 303
        && page
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login"))
}

/// The field's error is shown and linked to its control.
fn assert_field_error(body: &str, field: &str, text: &str) {
    assert!(
        body.contains(&format!("aria-describedby=\"{field}-error\"")),
        "{field} is not linked to its error"
    );
    assert!(
        body.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
        "no error for {field}"
    );
    assert!(body.contains(text), "{field}: expected “{text}”");
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.scalar_i64(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

async fn live_sessions(app: &TestApp, user: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM sessions WHERE user_id = {user}"
    ))
    .await
}

/// The revoke actions on the profile page, and which one is this device's.
fn session_handles(body: &str) -> (Vec<String>, Option<String>) {
    let mut all = Vec::new();
    let mut this = None;
    for (i, part) in body
        .split("action=\"/account/sessions/")
        .enumerate()
        .skip(1)
    {
        if part.starts_with("revoke-all") {
            continue;
        }
        let Some(handle) = part.split('/').next() else {
            continue;
        };
        let before = body
            .split("action=\"/account/sessions/")
            .nth(i - 1)
            .unwrap();
        let row = before.rsplit("<tr").next().unwrap_or_default();
        if row.contains("id=\"this-session\"") {
            this = Some(handle.to_owned());
        }
        all.push(handle.to_owned());
    }
    (all, this)
}

#[tokio::test]
async fn every_bad_profile_input_is_refused_beside_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let (client, _) = app.signup_and_login("ada@example.com", "Analytical").await;
    let page = client.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Your account</h1>"));
    let before = app.snapshot().await;

    let long = "x".repeat(101);
    for (name, error) in [
        (long.as_str(), "100 characters or fewer"),
        ("Ada\u{7}", "control characters"),
        ("Ada\u{202e}", "invisible characters"),
    ] {
        let res = client
            .submit("/account", "/account/name", &[("name", name)])
            .await;
        assert_eq!(res.status, 422, "{name:?}");
        assert_field_error(&res.body, "name", error);
    }
    for zone in [
        "Mars/Olympus",
        "Europe/Atlantis",
        "",
        "+02:00",
        "UTC; DROP TABLE users",
    ] {
        let res = client
            .submit("/account", "/account/time-zone", &[("time_zone", zone)])
            .await;
        assert_eq!(res.status, 422, "{zone:?}");
        assert_field_error(&res.body, "time_zone", "time zone");
    }
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "",
            NEW_PASSWORD,
            "current_password",
            "Enter your current password.",
        ),
        (PASSWORD, "short", "new_password", "at least 10 characters"),
        (PASSWORD, "password123", "new_password", "too easy to guess"),
        (
            PASSWORD,
            "ada@example.com",
            "new_password",
            "too easy to guess",
        ),
        (
            "wrong horse battery staple",
            NEW_PASSWORD,
            "current_password",
            "That is not your current password.",
        ),
    ];
    for (current, new, field, error) in cases {
        let res = client
            .submit(
                "/account",
                "/account/password",
                &[("current_password", current), ("new_password", new)],
            )
            .await;
        assert_eq!(res.status, 422, "{current:?} → {new:?}");
        assert_field_error(&res.body, field, error);
        assert!(
            !res.body.contains("name=\"new_password\" value")
                && !res.body.contains("name=\"current_password\" value"),
            "a password is echoed"
        );
    }
    let res = client
        .submit(
            "/account",
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 422);
    assert_field_error(&res.body, "new_password", "differs from your current one");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused form changed something"
    );
    // The old password still works (nothing was changed by the wrong one).
    log_in(&app, "ada@example.com", PASSWORD).await;

    // And good input is kept: the name, trimmed, and a zone, case-corrected.
    client
        .submit("/account", "/account/name", &[("name", "  Ada Lovelace ")])
        .await
        .assert_redirect_to("/account");
    client
        .submit(
            "/account",
            "/account/time-zone",
            &[("time_zone", "asia/tokyo")],
        )
        .await
        .assert_redirect_to("/account");
    let row = app.snapshot_of(&[("users", "name, time_zone")]).await;
    assert_eq!(row["users"], vec!["Ada Lovelace|Asia/Tokyo".to_owned()]);
    let page = client.get("/account").await;
    assert!(page.body.contains("value=\"Ada Lovelace\""));
    assert!(page.body.contains("Times are shown in Asia/Tokyo."));
    // The name is what the members list shows beside the email.
    let tenant = app
        .scalar_i64("SELECT tenant_id FROM memberships ORDER BY tenant_id LIMIT 1")
        .await;
    let members = client.get(&format!("/t/{tenant}/members")).await;
    assert!(
        members
            .body
            .contains(r#"<span class="member-name">Ada Lovelace</span> ada@example.com"#)
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_the_old_password_stops_working() {
    let app = spawn_app().await;
    let (here, tenant) = app.signup_and_login("grace@example.com", "Cobol").await;
    let (elsewhere, old_cookie) = log_in(&app, "grace@example.com", PASSWORD).await;
    let user = user_id(&app, "grace@example.com").await;
    assert_eq!(elsewhere.get("/account").await.status, 200);
    let res = here
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    res.assert_redirect_to("/account");
    let page = here.get("/account").await;
    assert_eq!(page.status, 200, "this browser stays signed in");
    assert!(
        page.body
            .contains("Your password is changed. Your other session was logged out.")
    );
    assert!(is_login_redirect(&elsewhere.get("/account").await));
    assert!(is_login_redirect(
        &elsewhere.get(&format!("/t/{tenant}")).await
    ));
    assert_eq!(with_cookie(&app, &old_cookie, "/account").await, 303);
    assert_eq!(live_sessions(&app, user).await, 1);
    // The old password no longer logs in; the new one does.
    let res = app
        .client()
        .submit(
            "/login",
            "/login",
            &[("email", "grace@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 401, "the old password was accepted");
    log_in(&app, "grace@example.com", NEW_PASSWORD).await;
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'password.changed' AND actor_user_id = {user}"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn the_profile_lists_sessions_and_each_can_be_logged_out_alone() {
    let app = spawn_app().await;
    let (here, _) = app.signup_and_login("linus@example.com", "Kernel").await;
    let (elsewhere, _) = log_in(&app, "linus@example.com", PASSWORD).await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let seen = elsewhere
        .send(
            elsewhere
                .http()
                .get(elsewhere.url("/account"))
                .header("user-agent", firefox),
        )
        .await;
    assert_eq!(seen.status, 200);
    let (stranger, _) = app.signup_and_login("eve@example.com", "Other").await;
    stranger.get("/account").await;
    let user = user_id(&app, "linus@example.com").await;

    let page = here.get("/account").await;
    let (handles, this) = session_handles(&page.body);
    assert_eq!(handles.len(), 2, "{}", page.body);
    let this = this.expect("this device is marked");
    assert!(page.body.contains("this device"));
    assert!(
        page.body.contains("Firefox on Linux"),
        "the browser is named"
    );
    assert!(
        page.body.contains("Unknown browser"),
        "a client that sent no User-Agent"
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {user} AND last_seen_at IS NOT NULL AND created_at IS NOT NULL AND handle IS NOT NULL"
        ))
        .await,
        2
    );
    assert!(page.body.contains("<th scope=\"col\">Last seen</th>"));
    let other = handles.iter().find(|h| **h != this).unwrap().clone();

    // Someone else's session cannot be ended from here, nor an unknown one.
    let (eve_handles, eve_this) = session_handles(&stranger.get("/account").await.body);
    let eve = eve_this.unwrap();
    assert_eq!(eve_handles, vec![eve.clone()]);
    let before = app.scalar_i64("SELECT COUNT(*) FROM sessions").await;
    for handle in [eve.as_str(), "nope"] {
        let res = here
            .submit(
                "/account",
                &format!("/account/sessions/{handle}/revoke"),
                &[],
            )
            .await;
        assert_eq!(res.status, 404, "{handle}");
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM sessions").await,
        before
    );
    assert_eq!(stranger.get("/account").await.status, 200);

    here.submit(
        "/account",
        &format!("/account/sessions/{other}/revoke"),
        &[],
    )
    .await
    .assert_redirect_to("/account");
    assert!(is_login_redirect(&elsewhere.get("/account").await));
    let page = here.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("That session is logged out."));
    assert_eq!(session_handles(&page.body).0, vec![this.clone()]);
    assert_eq!(live_sessions(&app, user).await, 1);

    // Ending this device's own session logs it out.
    here.submit("/account", &format!("/account/sessions/{this}/revoke"), &[])
        .await
        .assert_redirect_to("/login");
    assert!(is_login_redirect(&here.get("/account").await));
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_this_one_included() {
    let app = spawn_app().await;
    let (here, tenant) = app.signup_and_login("ken@example.com", "Unix").await;
    let (elsewhere, elsewhere_cookie) = log_in(&app, "ken@example.com", PASSWORD).await;
    let (_third, third_cookie) = log_in(&app, "ken@example.com", PASSWORD).await;
    let (other_user, _) = app.signup_and_login("dmr@example.com", "C").await;
    let user = user_id(&app, "ken@example.com").await;
    assert_eq!(live_sessions(&app, user).await, 3);
    assert_eq!(with_cookie(&app, &third_cookie, "/account").await, 200);

    let res = here
        .submit("/account", "/account/sessions/revoke-all", &[])
        .await;
    res.assert_redirect_to("/login");
    let login = here.get("/login").await;
    assert!(
        login
            .body
            .contains("You are logged out on every device, this one included.")
    );
    assert!(is_login_redirect(&here.get("/account").await));
    assert!(is_login_redirect(
        &elsewhere.get(&format!("/t/{tenant}")).await
    ));
    for cookie in [&elsewhere_cookie, &third_cookie] {
        assert_eq!(with_cookie(&app, cookie, "/account").await, 303);
    }
    assert_eq!(live_sessions(&app, user).await, 0);
    assert_eq!(
        other_user.get("/account").await.status,
        200,
        "only this user's sessions"
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sessions.revoked_all' AND actor_user_id = {user}"
        ))
        .await,
        1
    );
    // Without the form's token, nothing happens.
    let (again, _) = log_in(&app, "ken@example.com", PASSWORD).await;
    let res = again
        .post("/account/sessions/revoke-all", &[("csrf_token", "forged")])
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(live_sessions(&app, user).await, 1);
}

#[tokio::test]
async fn times_are_shown_in_the_viewers_zone_with_utc_on_hover() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("tz@example.com", "Zones").await;
    app.execute(&format!(
        "UPDATE memberships SET created_at = {NEW_YEAR} WHERE tenant_id = {tenant}"
    ))
    .await;
    let members = format!("/t/{tenant}/members");
    let utc = r#"<time datetime="2026-01-01T00:00:00Z" title="2026-01-01 00:00 UTC">"#;
    // Nothing chosen, the company in UTC: UTC.
    let page = owner.get(&members).await;
    assert!(
        page.body
            .contains(&format!("{utc}2026-01-01 00:00 UTC</time>")),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<meta name="time-zone-unset""#));
    // The company's zone, for members who chose none.
    owner
        .submit(
            &format!("/t/{tenant}/settings"),
            &format!("/t/{tenant}/settings"),
            &[
                ("name", "Zones"),
                ("time_zone", "America/New_York"),
                ("alert_after_failures", "3"),
            ],
        )
        .await
        .assert_redirect_to(&format!("/t/{tenant}/settings"));
    let page = owner.get(&members).await;
    assert!(
        page.body
            .contains(&format!("{utc}2025-12-31 19:00 EST</time>")),
        "{}",
        page.body
    );
    // The viewer's own zone wins.
    owner
        .submit(
            "/account",
            "/account/time-zone",
            &[("time_zone", "Asia/Kolkata")],
        )
        .await
        .assert_redirect_to("/account");
    let page = owner.get(&members).await;
    assert!(
        page.body
            .contains(&format!("{utc}2026-01-01 05:30 IST</time>")),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"<meta name="time-zone-unset""#));
}

#[tokio::test]
async fn the_browsers_zone_is_kept_once_and_never_over_a_choice() {
    let app = spawn_app().await;
    let (client, _) = app.signup_and_login("js@example.com", "Script").await;
    let csrf = client.csrf().await;
    let send = |zone: &'static str, token: String| {
        let request = client
            .http()
            .post(client.url("/account/time-zone/detected"))
            .header("x-csrf-token", token)
            .form(&[("time_zone", zone)]);
        client.send(request)
    };
    let zones = || async { app.snapshot_of(&[("users", "time_zone")]).await["users"].clone() };
    assert_eq!(send("Europe/Paris", "forged".into()).await.status, 403);
    let bad = send("Moon/Tranquility", csrf.clone()).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("not a time zone we know"));
    assert_eq!(zones().await, vec!["-".to_owned()]);
    assert_eq!(send("Europe/Paris", csrf.clone()).await.status, 204);
    assert_eq!(zones().await, vec!["Europe/Paris".to_owned()]);
    // A second report (another browser, another zone) does not replace the first.
    assert_eq!(send("America/Chicago", csrf.clone()).await.status, 204);
    assert_eq!(zones().await, vec!["Europe/Paris".to_owned()]);
    // The page's field shows it as chosen.
    let page = client.get("/account").await;
    assert!(page.body.contains("value=\"Europe/Paris\""));
    assert!(!page.body.contains("data-browser-zone"));
}

#[tokio::test]
async fn only_owners_see_and_save_the_company_settings() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("boss@example.com", "Acme").await;
    let admin = add_member(&app, &owner, tenant, "admin@example.com", "admin").await;
    let member = add_member(&app, &owner, tenant, "member@example.com", "member").await;
    let settings = format!("/t/{tenant}/settings");
    let dashboard = format!("/t/{tenant}");
    assert!(
        owner
            .get(&dashboard)
            .await
            .body
            .contains("id=\"nav-settings\"")
    );
    let before = app.snapshot().await;
    for (who, client) in [("admin", &admin), ("member", &member)] {
        let page = client.get(&dashboard).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("id=\"nav-settings\""),
            "{who} sees the link"
        );
        let page = client.get(&settings).await;
        assert_eq!(page.status, 403, "{who}");
        assert!(page.body.contains("Only owners can change the company"));
        let res = client
            .submit(
                &dashboard,
                &settings,
                &[("name", "Taken over"), ("time_zone", "Europe/Rome")],
            )
            .await;
        assert_eq!(res.status, 403, "{who}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused member changed something"
    );
    // Someone from another company: 404, as for every tenant page.
    let (outsider, _) = app.signup_and_login("out@example.com", "Elsewhere").await;
    let before_outsider = app.snapshot_of(&[("tenants", "id, name, time_zone")]).await;
    assert_eq!(outsider.get(&settings).await.status, 404);
    assert_eq!(
        app.snapshot_of(&[("tenants", "id, name, time_zone")]).await,
        before_outsider
    );

    let page = owner.get(&settings).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"UTC\""), "UTC by default");
    let snapshot = app.snapshot().await;
    assert!(
        page.body
            .contains("name=\"alert_after_failures\" type=\"number\"")
            && page.body.contains("value=\"3\""),
        "the alert threshold defaults to 3"
    );
    for (name, zone, threshold, field, error) in [
        ("", "Europe/Rome", "3", "name", "Enter your company name."),
        (
            "Acme\u{200b}",
            "Europe/Rome",
            "3",
            "name",
            "invisible characters",
        ),
        ("Acme", "Rome", "3", "time_zone", "not a time zone we know"),
        ("Acme", "", "3", "time_zone", "Choose a time zone"),
        (
            "Acme",
            "Europe/Rome",
            "0",
            "alert_after_failures",
            "from 1 to 20",
        ),
        (
            "Acme",
            "Europe/Rome",
            "21",
            "alert_after_failures",
            "from 1 to 20",
        ),
        (
            "Acme",
            "Europe/Rome",
            "2.5",
            "alert_after_failures",
            "whole number",
        ),
        (
            "Acme",
            "Europe/Rome",
            "",
            "alert_after_failures",
            "whole number",
        ),
    ] {
        let res = owner
            .submit(
                &settings,
                &settings,
                &[
                    ("name", name),
                    ("time_zone", zone),
                    ("alert_after_failures", threshold),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{name:?} {zone:?} {threshold:?}");
        assert_field_error(&res.body, field, error);
    }
    assert_eq!(
        app.snapshot().await,
        snapshot,
        "a refused form changed something"
    );
    owner
        .submit(
            &settings,
            &settings,
            &[
                ("name", "Acme Trading"),
                ("time_zone", "Europe/Rome"),
                ("alert_after_failures", "5"),
            ],
        )
        .await
        .assert_redirect_to(&settings);
    let row = app
        .snapshot_of(&[("tenants", "name, time_zone, alert_after_failures")])
        .await;
    assert!(
        row["tenants"].contains(&"Acme Trading|Europe/Rome|5".to_owned()),
        "{row:?}"
    );
    let page = owner.get(&settings).await;
    assert!(page.body.contains("settings are saved."), "{}", page.body);
    assert!(
        page.body
            .contains("<span class=\"tenant-name\" id=\"current-tenant\">Acme Trading</span>")
    );
    assert!(
        owner
            .get(&dashboard)
            .await
            .body
            .contains("Company settings saved")
    );
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    let (client, _) = app.signup_and_login("seen@example.com", "Seen").await;
    client.get("/account").await;
    let user = user_id(&app, "seen@example.com").await;
    let sql = format!("SELECT last_seen_at FROM sessions WHERE user_id = {user}");
    let first = app.scalar_i64(&sql).await;
    assert!(first > 0);
    // The column is older than the state says; within the minute, nothing is written.
    app.execute(&format!(
        "UPDATE sessions SET last_seen_at = {} WHERE user_id = {user}",
        first - 30
    ))
    .await;
    assert_eq!(client.get("/account").await.status, 200);
    assert_eq!(
        app.scalar_i64(&sql).await,
        first - 30,
        "written again within the minute"
    );
    // Once the state's time is over a minute old, the next request writes it.
    let old = format!(r#""seen":"{first}""#);
    let older = format!(r#""seen":"{}""#, first - 120);
    app.execute(&format!(
        "UPDATE sessions SET state = REPLACE(state, '{old}', '{older}') WHERE user_id = {user}"
    ))
    .await;
    assert_eq!(client.get("/account").await.status, 200);
    assert!(
        app.scalar_i64(&sql).await >= first,
        "not written after a minute"
    );
}
