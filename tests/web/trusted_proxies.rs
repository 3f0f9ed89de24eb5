//! `CARTBRIDGE_TRUSTED_PROXIES` end to end: `cartbridge serve` started with the variable
//! believes `X-Forwarded-For` only on a connection from a trusted proxy, and then takes the
//! rightmost address that is not itself a trusted proxy; from any other peer (or with the
//! variable unset) the client is the peer, whatever the header says. What the app believed
//! shows in the client address of the audit log's `login` entry (the same address the
//! per-address limits and the login throttle count by).

use std::net::{IpAddr, Ipv4Addr};

use cartbridge::db::Db;

use crate::helpers::{Client, PASSWORD, TestApp, process, spawn_app_with};

const EMAIL: &str = "owner@proxies.test";

/// Logs in from `from` (a 127.x address) to the app at `base`, sending `X-Forwarded-For:
/// forwarded_for`; returns the client address the `login` audit entry recorded.
async fn login_recorded_as(app: &TestApp, base: &str, from: u8, forwarded_for: &str) -> String {
    let client = Client::from_address(base, IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)));
    let csrf = client.follow("/login").await.csrf().expect("csrf token");
    let res = client
        .send(
            client
                .http()
                .post(client.url("/login"))
                .header("x-forwarded-for", forwarded_for)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                ]),
        )
        .await;
    assert_eq!(res.status, 303, "login failed: {}", res.body);
    let sql =
        "SELECT client_address FROM audit_log WHERE action = 'login' ORDER BY id DESC LIMIT 1";
    let address: Option<String> = match &app.db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .expect("a login entry");
    address.expect("the login entry has a client address")
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let app = spawn_app_with(|s| s.jobs.workers = 0).await;
    let (_, _) = app.signup_and_login(EMAIL, "Proxies Co").await;

    // Without the variable (the test app's settings), the header is ignored.
    assert_eq!(
        login_recorded_as(&app, &app.base, 1, "203.0.113.7").await,
        "127.0.0.1"
    );

    // `serve` with the variable in its environment, on the same database.
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let extra = [
        ("CARTBRIDGE_LISTEN", listen.as_str()),
        ("CARTBRIDGE_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8"),
    ];
    let vars = process::child_env(&app, "http://127.0.0.1:9", &extra);
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_cartbridge"));
    let child = process::spawn(
        program,
        &["serve", "--workers", "0"],
        &vars,
        app.data_dir.path(),
    );
    process::wait_healthy(&base, &child).await;

    // From the trusted proxy (127.0.0.1): the client it reports. An address the client put
    // in the header itself (left of what the proxy appended) is not believed, and another
    // trusted proxy on the way (10.1.2.3) is skipped.
    assert_eq!(
        login_recorded_as(&app, &base, 1, "203.0.113.7").await,
        "203.0.113.7",
        "{}",
        child.output()
    );
    assert_eq!(
        login_recorded_as(&app, &base, 1, "198.51.100.66, 203.0.113.8, 10.1.2.3").await,
        "203.0.113.8"
    );
    // From a peer that is not a trusted proxy (127.0.0.2): the peer, whatever it sends.
    assert_eq!(
        login_recorded_as(&app, &base, 2, "203.0.113.9").await,
        "127.0.0.2"
    );
}
