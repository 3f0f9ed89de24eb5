//! Email end to end: through lettre's SMTP transport to a real SMTP listener (the file
//! outbox is exercised by every other test).

use cartbridge::domain::Secret;

use crate::helpers::{PASSWORD, smtp::SmtpServer, spawn_app_with};

#[tokio::test]
async fn verification_email_travels_over_smtp_and_its_link_works() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(Secret::new(url))).await;
    let client = app.client();
    let res = client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "smtp.user@example.com"),
                ("password", PASSWORD),
                ("company", "Mail Co"),
            ],
        )
        .await;
    res.assert_redirect_to("/signup/check-email");

    let received = smtp.wait_for(1).await;
    app.email_jobs_settled().await;
    assert_eq!(smtp.received().len(), 1, "one message over SMTP");
    assert!(
        app.emails_to("smtp.user@example.com").await.is_empty(),
        "nothing in the file outbox"
    );
    let message = &received[0];
    assert!(message.to.contains("smtp.user@example.com"));
    assert!(message.subject.contains("Confirm your email"));
    let link = message
        .link(&app.url("/verify-email"))
        .expect("verification link in the message");

    let path = link.strip_prefix(&app.base).unwrap();
    let page = client.get(path).await;
    let token = page.hidden_input("token").expect("token");
    client
        .submit(path, "/verify-email", &[("token", &token)])
        .await
        .assert_redirect_to("/login?email=smtp.user%40example.com");
    client
        .submit(
            "/login",
            "/login",
            &[("email", "smtp.user@example.com"), ("password", PASSWORD)],
        )
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn an_unreachable_smtp_server_does_not_fail_signup_and_the_email_stays_queued() {
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app =
        spawn_app_with(|s| s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}"))))
            .await;
    let client = app.client();
    let res = client
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "jane@example.com"),
                ("password", PASSWORD),
                ("company", "Acme"),
            ],
        )
        .await;
    // Email is durable now: signup does not wait on SMTP, the message waits in the queue
    // (`durable_email` shows it arriving once a server listens).
    res.assert_redirect_to("/signup/check-email");
    let page = client.get("/signup/check-email").await;
    assert!(
        !page.body.contains("could not send the confirmation email"),
        "{}",
        page.body
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE kind = 'email' AND status <> 'dead'")
            .await,
        1,
        "the verification email is queued for another attempt"
    );
}

#[tokio::test]
async fn outbox_files_show_the_link_as_written_for_a_person_reading_them() {
    let app = crate::helpers::spawn_app().await;
    app.client()
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "reader@example.com"),
                ("password", PASSWORD),
                ("company", "Reader Co"),
            ],
        )
        .await
        .assert_redirect_to("/signup/check-email");
    app.email_jobs_settled().await;
    let file = std::fs::read_dir(app.outbox_dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(
        !raw.contains("quoted-printable") && !raw.contains("base64"),
        "{raw}"
    );
    let prefix = app.url("/verify-email?token=");
    let line = raw
        .lines()
        .find(|l| l.contains(&prefix))
        .expect("the link on one line");
    let token = line.split("token=").nth(1).unwrap();
    let token: String = token
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "the whole token, unencoded: {line}");
}
