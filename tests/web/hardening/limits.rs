//! Findings 2, 4, 5 and 8: password hashing is bounded (503 + Retry-After beyond a short
//! queue); the login throttle records before it checks, so a burst cannot slip past it; a
//! lockout caused from one address does not keep the owner out from another; signup,
//! forgot-password and resend-verification are limited per address and per recipient.

use futures_util::future::join_all;

use super::{client_from, count, login, signup_unverified};
use crate::helpers::{Client, PASSWORD, Page, spawn_app};

const JANE: &str = "jane@corp.example";

async fn wrong_login(client: &Client, csrf: &str, email: &str) -> Page {
    client
        .post(
            "/login",
            &[
                ("csrf_token", csrf),
                ("email", email),
                ("password", "wrong password here"),
            ],
        )
        .await
}

#[tokio::test]
async fn fifty_concurrent_wrong_logins_for_one_email_check_the_password_at_most_five_times() {
    let app = spawn_app().await;
    app.signup_and_login(JANE, "Acme").await;
    let client = client_from(&app, 21);
    let csrf = client.csrf().await;
    let attempts = (0..50).map(|_| wrong_login(&client, &csrf, JANE));
    let pages = join_all(attempts).await;
    let checked = pages.iter().filter(|p| p.status == 401).count();
    for p in &pages {
        assert!(
            [401, 429, 503].contains(&p.status),
            "{}: {}",
            p.status,
            p.body
        );
    }
    assert!(checked <= 5, "the password was checked {checked} times");
    assert!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM login_attempts WHERE email = '{JANE}'")
        )
        .await
            <= 5
    );
}

#[tokio::test]
async fn fifty_concurrent_wrong_logins_from_one_address_check_at_most_thirty_passwords() {
    let app = spawn_app().await;
    let client = client_from(&app, 22);
    let csrf = client.csrf().await;
    let emails: Vec<String> = (0..50).map(|i| format!("nobody{i}@corp.example")).collect();
    let attempts = emails
        .iter()
        .map(|email| wrong_login(&client, &csrf, email));
    let pages = join_all(attempts).await;
    let checked = pages.iter().filter(|p| p.status == 401).count();
    assert!(
        checked <= 30,
        "{checked} passwords checked from one address"
    );
}

#[tokio::test]
async fn password_hashing_beyond_the_queue_gets_a_fast_503_with_retry_after() {
    let app = spawn_app().await;
    let client = client_from(&app, 23);
    let csrf = client.csrf().await;
    let emails: Vec<String> = (0..28).map(|i| format!("burst{i}@corp.example")).collect();
    let attempts = emails
        .iter()
        .map(|email| wrong_login(&client, &csrf, email));
    let pages = join_all(attempts).await;
    let busy: Vec<_> = pages.iter().filter(|p| p.status == 503).collect();
    assert!(
        !busy.is_empty(),
        "28 hashes at once all ran: {:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    for p in &busy {
        assert!(
            p.headers.get("retry-after").is_some(),
            "503 without Retry-After"
        );
        assert!(p.body.contains("busy"), "{}", p.body);
    }
    // A refused attempt was never checked, so it does not count as a failure.
    let failures = count(&app, "SELECT COUNT(*) FROM login_attempts").await;
    assert_eq!(
        failures as usize,
        pages.iter().filter(|p| p.status == 401).count()
    );
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out_from_another() {
    let app = spawn_app().await;
    app.signup_and_login(JANE, "Acme").await;
    let attacker = client_from(&app, 31);
    for _ in 0..5 {
        assert_eq!(
            login(&attacker, JANE, "wrong password here").await.status,
            401
        );
    }
    // The attacker's address is held back, even with the right password…
    assert_eq!(
        login(&attacker, JANE, "wrong password again").await.status,
        429
    );
    assert_eq!(login(&attacker, JANE, PASSWORD).await.status, 429);
    // …but the owner, from an address with no recent failures, gets in.
    let owner = client_from(&app, 32);
    let res = login(&owner, JANE, PASSWORD).await;
    res.assert_redirect_to("/");
    // A new address gets one try while the account is under attack, not five.
    let second = client_from(&app, 33);
    assert_eq!(
        login(&second, JANE, "wrong password here").await.status,
        401
    );
    assert_eq!(
        login(&second, JANE, "wrong password here").await.status,
        429
    );
}

#[tokio::test]
async fn the_sixth_reset_request_for_one_address_within_an_hour_is_refused() {
    let app = spawn_app().await;
    app.signup_and_login(JANE, "Acme").await;
    let sent_before = app.emails_to(JANE).await.len();
    for i in 0..5 {
        let client = client_from(&app, 40 + i);
        let res = client
            .submit("/password/forgot", "/password/forgot", &[("email", JANE)])
            .await;
        assert_eq!(res.status, 303, "request {i}: {}", res.body);
    }
    assert_eq!(app.emails_to(JANE).await.len(), sent_before + 5);
    let before = app.snapshot().await;
    let client = client_from(&app, 46);
    let res = client
        .submit("/password/forgot", "/password/forgot", &[("email", JANE)])
        .await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.body.contains("Too many emails"), "{}", res.body);
    assert!(res.headers.get("retry-after").is_some());
    assert_eq!(
        app.emails_to(JANE).await.len(),
        sent_before + 5,
        "a sixth email was sent"
    );
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn verification_emails_are_limited_per_recipient() {
    let app = spawn_app().await;
    signup_unverified(&app, JANE, "Acme").await;
    for i in 0..4 {
        let client = client_from(&app, 50 + i);
        let res = client
            .submit(
                "/signup/check-email",
                "/verify-email/resend",
                &[("email", JANE)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    assert_eq!(app.emails_to(JANE).await.len(), 5);
    let client = client_from(&app, 55);
    let res = client
        .submit(
            "/signup/check-email",
            "/verify-email/resend",
            &[("email", JANE)],
        )
        .await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.body.contains("Too many emails"), "{}", res.body);
    assert_eq!(app.emails_to(JANE).await.len(), 5, "a sixth email was sent");
}

#[tokio::test]
async fn signups_are_limited_per_address() {
    let app = spawn_app().await;
    let client = client_from(&app, 60);
    for i in 0..10 {
        let email = format!("user{i}@corp.example");
        let res = client
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", &email),
                    ("password", PASSWORD),
                    ("company", "Acme"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "signup {i}: {}", res.body);
    }
    let before = app.snapshot().await;
    let res = client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "user10@corp.example"),
                ("password", PASSWORD),
                ("company", "Acme"),
            ],
        )
        .await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.body.contains("Too many sign-ups"), "{}", res.body);
    assert_eq!(app.snapshot().await, before);
    assert!(app.emails_to("user10@corp.example").await.is_empty());
}
