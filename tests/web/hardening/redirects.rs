//! Findings 3 and 6 (`next`): only a path on our own origin is a redirect target after
//! login; anything else is a 400 with a message, never a redirect elsewhere nor a 500.

use crate::helpers::{PASSWORD, spawn_app};

/// `next` values that must never become a `Location` (raw, before URL-encoding).
const HOSTILE: &[&str] = &[
    "/\t/evil.example",
    "/\t\\evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http://evil.example/",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "",
    " /t/1",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\nSet-Cookie: a=b",
    "/\u{1}",
    "/\u{7f}",
    "/\u{0}evil",
    "/ /evil.example",
    "/\u{b}/evil.example",
    "/\u{c}/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/t/1\\..\\..\\evil",
    "/\u{3000}/evil.example",
    "/\u{200b}/evil.example",
    "/\u{202e}/evil.example",
    "//\tevil.example",
    "/.//evil.example",
    "@evil.example",
    "/t/1#//evil.example\\",
    "/t/1?x=\\",
];

fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn hostile_next_values_are_refused_signed_in_signed_out_and_on_post() {
    let app = spawn_app().await;
    let (signed_in, _) = app.signup_and_login("nextuser@corp.example", "Acme").await;
    let anonymous = app.client();
    assert!(HOSTILE.len() >= 30);
    for value in HOSTILE.iter().filter(|v| !v.is_empty()) {
        let path = format!("/login?next={}", encoded(value));
        for (who, client) in [("signed in", &signed_in), ("anonymous", &anonymous)] {
            let page = client.get(&path).await;
            assert_eq!(
                page.status, 400,
                "GET {path} {who}: {} {:?}",
                page.status, page.location
            );
            assert!(page.location.is_none());
            assert!(
                page.body.contains("not a page of this site"),
                "{}",
                page.body
            );
        }
        let fresh = app.client();
        let csrf = fresh.csrf().await;
        let before = app.snapshot().await;
        let res = fresh
            .post(
                "/login",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("email", "nextuser@corp.example"),
                    ("password", PASSWORD),
                    ("next", value),
                ],
            )
            .await;
        assert_eq!(
            res.status, 400,
            "POST /login next={value:?}: {:?}",
            res.location
        );
        assert!(res.location.is_none());
        assert_eq!(app.snapshot().await, before);
        assert_eq!(fresh.get("/t/1").await.status, 303, "signed in anyway");
    }
}

#[tokio::test]
async fn a_local_next_still_works_and_an_empty_one_means_home() {
    let app = spawn_app().await;
    let (signed_in, tenant) = app.signup_and_login("nextuser@corp.example", "Acme").await;
    let page = signed_in
        .get(&format!(
            "/login?next={}",
            encoded(&format!("/t/{tenant}/members?x=1"))
        ))
        .await;
    page.assert_redirect_to(&format!("/t/{tenant}/members?x=1"));
    signed_in.get("/login?next=").await.assert_redirect_to("/");
    let fresh = app.client();
    let res = fresh
        .submit(
            "/login",
            "/login",
            &[
                ("email", "nextuser@corp.example"),
                ("password", PASSWORD),
                ("next", &format!("/t/{tenant}")),
            ],
        )
        .await;
    res.assert_redirect_to(&format!("/t/{tenant}"));
}
