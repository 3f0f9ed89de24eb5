//! The `cartbridge` binary: one clear line for bad configuration, `migrate`, and
//! `admin create-staff` printing a one-time link that works.

use std::process::Command;

use crate::helpers::{fresh_database_url, spawn_app_with};

fn cartbridge(envs: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cartbridge"));
    for var in cartbridge::config::VARIABLES {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied())
        .args(args)
        .output()
        .expect("run cartbridge")
}

#[test]
fn bad_configuration_stops_startup_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    for (var, value) in [
        ("CARTBRIDGE_LISTEN", "not-an-address"),
        ("CARTBRIDGE_MASTER_KEY", "dG9vIHNob3J0"),
        ("CARTBRIDGE_DATABASE_URL", "mysql://localhost/x"),
        ("CARTBRIDGE_PUBLIC_URL", "ftp://example.com"),
        ("CARTBRIDGE_SMTP_URL", "http://example.com"),
    ] {
        let out = cartbridge(&[("CARTBRIDGE_DATA_DIR", &data), (var, value)], &["serve"]);
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}: {stderr}");
        assert!(lines[0].starts_with(&format!("error: {var}: ")), "{stderr}");
    }
}

#[tokio::test]
async fn create_staff_prints_a_one_time_link_that_opens_the_admin_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;
    let data = dir.path().display().to_string();
    let out = cartbridge(
        &[
            ("CARTBRIDGE_DATA_DIR", &data),
            ("CARTBRIDGE_DATABASE_URL", &db_url),
        ],
        &["migrate"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let app = spawn_app_with(|s| {
        s.database_url = cartbridge::config::DatabaseUrl::parse(&db_url).unwrap();
    })
    .await;
    // The app's data folder: its master.key is the one that opens this database's vault.
    let data = app.data_dir.path().display().to_string();
    let out = cartbridge(
        &[
            ("CARTBRIDGE_DATA_DIR", &data),
            ("CARTBRIDGE_DATABASE_URL", &db_url),
            ("CARTBRIDGE_PUBLIC_URL", &app.base),
        ],
        &["admin", "create-staff", "Support@Example.com"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let link = stdout
        .lines()
        .find(|l| l.contains("/password/reset?token="))
        .expect("a link")
        .trim()
        .to_owned();
    let path = link
        .strip_prefix(&app.base)
        .expect("link to the app")
        .to_owned();

    let client = app.client();
    let form = client.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("support@example.com"));
    let token = form.hidden_input("token").unwrap();
    client
        .submit(
            &path,
            "/password/reset",
            &[("token", &token), ("password", "staff passphrase 42")],
        )
        .await
        .assert_redirect_to("/login");
    client
        .submit(
            "/login",
            "/login",
            &[
                ("email", "support@example.com"),
                ("password", "staff passphrase 42"),
            ],
        )
        .await
        .assert_redirect_to("/admin");
    let admin = client.get("/admin").await;
    assert_eq!(admin.status, 200);
    assert!(admin.body.contains("Support dashboard"));
    assert_eq!(client.get(&path).await.status, 400, "the link works once");

    // A tenant user's email cannot be turned into staff.
    app.signup_and_login("jane@example.com", "Acme").await;
    let out = cartbridge(
        &[
            ("CARTBRIDGE_DATA_DIR", &data),
            ("CARTBRIDGE_DATABASE_URL", &db_url),
        ],
        &["admin", "create-staff", "jane@example.com"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has a tenant account"));
}
