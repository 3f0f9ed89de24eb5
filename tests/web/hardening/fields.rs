//! Findings 7 and 9 (names): every secret and name has a maximum, refused with a message
//! beside its field; names refuse bidi controls and zero-width characters (display
//! spoofing). A refused form changes nothing.

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn an_overlong_access_token_is_refused_beside_its_field() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("fields@corp.example", "Acme").await;
    let huge = "t".repeat(100 * 1024);
    for (token, client_id) in [(huge.as_str(), "client1"), ("ok-token", &*"c".repeat(300))] {
        let before = app.snapshot().await;
        let res = owner
            .submit(
                &format!("/t/{tenant}/connections/new"),
                &format!("/t/{tenant}/connections"),
                &[
                    ("name", "Big token"),
                    ("auth_type", "token"),
                    ("store", "abc123"),
                    ("api_client_id", client_id),
                    ("access_token", token),
                    ("then", "save"),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{}", &res.body[..res.body.len().min(300)]);
        let field = if token.len() > 1000 {
            "access_token-error"
        } else {
            "api_client_id-error"
        };
        assert!(
            res.body.contains(&format!("id=\"{field}\"")),
            "no message beside {field}"
        );
        assert!(res.body.contains("at most"), "the message names the limit");
        assert_eq!(app.snapshot().await, before, "stored anyway");
    }
}

#[tokio::test]
async fn an_overlong_oauth_client_secret_or_name_is_refused_beside_its_field() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("fields@corp.example", "Acme").await;
    let cases = [
        ("name", "n".repeat(101), "client_secret", "s".repeat(20)),
        (
            "client_secret",
            "s".repeat(1001),
            "name",
            "Client".to_owned(),
        ),
    ];
    for (field, value, other, other_value) in &cases {
        let before = app.snapshot().await;
        let res = owner
            .submit(
                &format!("/t/{tenant}/oauth-clients/new"),
                &format!("/t/{tenant}/oauth-clients"),
                &[(field, value), (other, other_value), ("client_id", "cid")],
            )
            .await;
        assert_eq!(res.status, 422, "{field}");
        assert!(
            res.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            res.body
        );
        assert_eq!(app.snapshot().await, before);
    }
}

const SPOOFS: &[&str] = &[
    "Acme\u{202e}gpj.exe",
    "Ac\u{200b}me",
    "Acme\u{200d}",
    "\u{2066}Acme",
    "Acme\u{feff}",
    "Ac\u{200f}me",
    "Acme\u{061c}",
    "Acme\u{2069}",
];

#[tokio::test]
async fn names_refuse_bidi_controls_and_zero_width_characters() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("fields@corp.example", "Acme").await;
    for name in SPOOFS {
        let before = app.snapshot().await;
        let res = app
            .client()
            .submit(
                "/signup",
                "/signup",
                &[
                    ("email", "spoof@corp.example"),
                    ("password", PASSWORD),
                    ("company", name),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "company {name:?}");
        assert!(res.body.contains("id=\"company-error\""));
        assert!(res.body.contains("invisible"), "{}", res.body);
        let res = owner
            .submit(
                &format!("/t/{tenant}/connections/new"),
                &format!("/t/{tenant}/connections"),
                &[
                    ("name", name),
                    ("auth_type", "token"),
                    ("store", "abc123"),
                    ("api_client_id", "client1"),
                    ("access_token", "tok"),
                    ("then", "save"),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "connection {name:?}");
        assert!(res.body.contains("id=\"name-error\""));
        let res = owner
            .submit(
                &format!("/t/{tenant}/oauth-clients/new"),
                &format!("/t/{tenant}/oauth-clients"),
                &[
                    ("name", name),
                    ("client_id", "cid"),
                    ("client_secret", "sec"),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "oauth client {name:?}");
        assert_eq!(app.snapshot().await, before, "{name:?} was stored");
    }
}
