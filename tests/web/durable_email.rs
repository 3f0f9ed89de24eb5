//! Durable email: a request queues its email as a job (sealed payload) and returns without
//! waiting on SMTP; a worker sends it, retrying with backoff while the SMTP server is down.
//! The per-recipient reset limit (the sixth reset request within an hour is refused) is
//! shown by `hardening::limits::the_sixth_reset_request_for_one_address_within_an_hour_is_refused`.
//! A one-time link and the email job that carries it are written in one transaction.

use std::time::{Duration, Instant};

use cartbridge::domain::Secret;

use crate::helpers::{PASSWORD, TestApp, on_postgres, smtp::SmtpServer, spawn_app, spawn_app_with};

const TO: &str = "durable.user@example.com";

/// Polls `sql` (a count) until it is at least `at_least`; panics after 30 s.
async fn wait_until(app: &crate::helpers::TestApp, sql: &str, at_least: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = app.scalar_i64(sql).await;
        if n >= at_least {
            return;
        }
        assert!(Instant::now() < deadline, "{sql} stayed at {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn signup_succeeds_while_smtp_is_down_and_the_email_arrives_once_it_is_up() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = spawn_app_with(|s| {
        s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
        s.jobs.retry_base = Duration::from_secs(1);
        s.jobs.max_attempts = 20;
        s.jobs.poll = Duration::from_millis(50);
    })
    .await;
    let client = app.client();
    let res = client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", TO),
                ("password", PASSWORD),
                ("company", "Durable Co"),
            ],
        )
        .await;
    res.assert_redirect_to("/signup/check-email");

    // The email is a job; its first attempt fails (nothing listens) and it waits to retry.
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind = 'email'")
            .await,
        1
    );
    wait_until(
        &app,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'email' AND status = 'queued' \
         AND attempts >= 1 AND last_error IS NOT NULL",
        1,
    )
    .await;
    // The payload is sealed: the one-time link is not readable at rest.
    let payloads = app
        .scalar_i64(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'email' AND (payload LIKE '%verify-email%' \
             OR payload LIKE '%durable.user%')",
        )
        .await;
    assert_eq!(payloads, 0, "the email job's payload is sealed");

    let smtp = SmtpServer::start_on(port).await;
    let received = smtp.wait_for(1).await;
    assert_eq!(
        received.len(),
        1,
        "the verification email arrives after a retry"
    );
    assert!(received[0].to.contains(TO));
    assert!(received[0].subject.contains("Confirm your email"));
    wait_until(
        &app,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'email' AND status = 'done'",
        1,
    )
    .await;

    // The link it carries works.
    let link = received[0]
        .link(&app.url("/verify-email"))
        .expect("a verification link");
    let path = link.strip_prefix(&app.base).unwrap();
    let page = client.get(path).await;
    let token = page.hidden_input("token").expect("token");
    client
        .submit(path, "/verify-email", &[("token", &token)])
        .await
        .assert_redirect_to("/login?email=durable.user%40example.com");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM users WHERE email = '{TO}' AND email_verified_at IS NOT NULL"
        ))
        .await,
        1
    );
}

/// Makes the database refuse email jobs from now on, as if the process died before writing
/// one.
async fn refuse_email_jobs(app: &TestApp) {
    if on_postgres() {
        app.execute(
            "CREATE FUNCTION refuse_email_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.kind = 'email' THEN RAISE EXCEPTION 'no email jobs'; END IF; \
             RETURN NEW; END $$",
        )
        .await;
        app.execute(
            "CREATE TRIGGER refuse_email_jobs BEFORE INSERT ON jobs \
             FOR EACH ROW EXECUTE FUNCTION refuse_email_jobs()",
        )
        .await;
    } else {
        app.execute(
            "CREATE TRIGGER refuse_email_jobs BEFORE INSERT ON jobs WHEN NEW.kind = 'email' \
             BEGIN SELECT RAISE(ABORT, 'no email jobs'); END",
        )
        .await;
    }
}

#[tokio::test]
async fn a_one_time_link_is_stored_only_together_with_the_email_that_carries_it() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@atomic.test", "Atomic Co").await;
    let stored = async || {
        let mut n = Vec::new();
        for table in ["users", "tenants", "user_tokens", "invitations", "jobs"] {
            n.push(
                app.scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
                    .await,
            );
        }
        n
    };
    let before = stored().await;
    refuse_email_jobs(&app).await;

    let anonymous = app.client();
    let reset = anonymous
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "owner@atomic.test")],
        )
        .await;
    assert!(reset.status >= 500, "{}", reset.body);
    let members = format!("/t/{tenant}/members");
    let invite = owner
        .submit(
            &members,
            &format!("/t/{tenant}/invitations"),
            &[("email", "new@atomic.test"), ("role", "member")],
        )
        .await;
    assert!(invite.status >= 500, "{}", invite.body);
    let signup = app
        .client()
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "second@atomic.test"),
                ("password", PASSWORD),
                ("company", "Second Co"),
            ],
        )
        .await;
    assert!(signup.status >= 500, "{}", signup.body);

    // No reset token, invitation, account or tenant without the email that carries its link.
    assert_eq!(stored().await, before);
}
