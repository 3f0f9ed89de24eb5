//! The vault at work: `cartbridge keys rotate` / `keys status` against a running app, a
//! wrong master key stopping startup, and ciphertext moved to another row failing to open.

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use cartbridge::{
    config::DatabaseUrl,
    connections::oauth_clients,
    db::Db,
    domain::Secret,
    startup::Application,
    vault::{Aad, MasterKey, key_id_of},
};

use crate::{
    helpers::{TestApp, spawn_app, test_settings},
    oauth_clients::{assert_secret_stored_nowhere, ciphertext, create_ok},
};

const SECRET: &str = "SENTINEL-rotated-secret-0b1c2d";
const TOKEN: &str = "SENTINEL-access-token-3e4f5a";

/// Runs the binary against the app's data folder (so its `master.key`) and database, with
/// nothing else from the environment; gives up after a minute.
fn cartbridge(app: &TestApp, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cartbridge"));
    for var in cartbridge::config::VARIABLES {
        cmd.env_remove(var);
    }
    let data = app.data_dir.path().display().to_string();
    cmd.env("CARTBRIDGE_DATA_DIR", &data)
        .env("CARTBRIDGE_DATABASE_URL", &app.database_url)
        .env("CARTBRIDGE_LISTEN", "127.0.0.1:0")
        .envs(extra.iter().copied())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run cartbridge");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("cartbridge {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

/// Stores a connection whose access token is sealed to it, as the connection code does.
async fn connection_with_token(app: &TestApp, tenant: i64, token: &str) -> i64 {
    app.execute(&format!(
        "INSERT INTO connections (tenant_id, name, auth_type, store_hash, created_at, updated_at) \
         VALUES ({tenant}, 'Token store', 'token', 'abc123', 0, 0)"
    ))
    .await;
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Token store'")
        .await;
    let aad = Aad::new(tenant, "connections", id, "access_token");
    let ct = app
        .ctx
        .vault
        .seal(&aad, &Secret::new(token.to_owned()))
        .await
        .unwrap();
    let sql = "UPDATE connections SET access_token_ct = $1 WHERE id = $2";
    match &app.db {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(ct)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(ct)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
    id
}

#[tokio::test]
async fn keys_rotate_reencrypts_every_secret_while_the_app_keeps_working() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let client = create_ok(&app, &owner, tenant, "Main app", SECRET).await;
    let connection = connection_with_token(&app, tenant, TOKEN).await;
    assert_eq!(key_id_of(&ciphertext(&app, client).await), Some(1));

    let status = stdout_of(&cartbridge(&app, &[], &["keys", "status"]));
    assert!(has_line(&status, "active key: 1"), "{status}");
    assert!(has_line(&status, "key 1: 2 secret(s) (active)"), "{status}");

    let rotated = stdout_of(&cartbridge(&app, &[], &["keys", "rotate"]));
    assert!(
        has_line(&rotated, "added data key 2 (now active)"),
        "{rotated}"
    );
    assert!(
        rotated.contains("oauth_clients.client_secret_ct: 1 re-encrypted")
            && rotated.contains("connections.access_token_ct: 1 re-encrypted"),
        "{rotated}"
    );
    assert!(!rotated.contains(SECRET) && !rotated.contains(TOKEN));

    let status = stdout_of(&cartbridge(&app, &[], &["keys", "status"]));
    assert!(has_line(&status, "active key: 2"), "{status}");
    assert!(has_line(&status, "key 1: 0 secret(s)"), "{status}");
    assert!(has_line(&status, "key 2: 2 secret(s) (active)"), "{status}");

    // The running app (whose key ring only knew key 1) opens the re-encrypted values.
    let sealed = ciphertext(&app, client).await;
    assert_eq!(key_id_of(&sealed), Some(2));
    let aad = Aad::new(tenant, "oauth_clients", client, "client_secret");
    assert_eq!(
        app.ctx.vault.open(&aad, &sealed).await.unwrap().expose(),
        SECRET
    );
    let opened = oauth_clients::open_secret(&app.ctx, tenant, client)
        .await
        .unwrap();
    assert_eq!(opened.expose(), SECRET);
    let token_ct = app
        .bytes(&format!(
            "SELECT access_token_ct FROM connections WHERE id = {connection}"
        ))
        .await
        .unwrap();
    let aad = Aad::new(tenant, "connections", connection, "access_token");
    assert_eq!(
        app.ctx.vault.open(&aad, &token_ct).await.unwrap().expose(),
        TOKEN
    );

    // A value that changed since it was read is not overwritten (rotation's optimistic update).
    let field = &cartbridge::db::sealed::SEALED_FIELDS[0];
    assert_eq!(field.column, "client_secret_ct");
    let swapped = cartbridge::db::sealed::replace(&app.db, field, tenant, client, b"stale", b"x")
        .await
        .unwrap();
    assert!(!swapped);
    assert_eq!(ciphertext(&app, client).await, sealed);

    // The app seals new values under the new key.
    let second = create_ok(&app, &owner, tenant, "Second app", "SENTINEL-second-77").await;
    assert_eq!(key_id_of(&ciphertext(&app, second).await), Some(2));
    assert_eq!(app.ctx.vault.active_key_id(), 2);

    // Rotating again moves everything on, and the app follows once more.
    stdout_of(&cartbridge(&app, &[], &["keys", "rotate"]));
    let status = stdout_of(&cartbridge(&app, &[], &["keys", "status"]));
    assert!(has_line(&status, "key 2: 0 secret(s)"), "{status}");
    assert!(has_line(&status, "key 3: 3 secret(s) (active)"), "{status}");
    let opened = oauth_clients::open_secret(&app.ctx, tenant, second)
        .await
        .unwrap();
    assert_eq!(opened.expose(), "SENTINEL-second-77");
    assert_secret_stored_nowhere(&app, SECRET).await;
}

#[tokio::test]
async fn a_wrong_master_key_stops_startup_with_an_error_naming_it() {
    let app = spawn_app().await;
    let other_key = MasterKey::generate().to_base64().expose().to_owned();

    let mut settings = test_settings(app.data_dir.path()).await;
    settings.database_url = DatabaseUrl::parse(&app.database_url).unwrap();
    settings.master_key = Some(Secret::new(other_key.clone()));
    let err = match Application::build(settings).await {
        Ok(_) => panic!("the app started with the wrong master key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("master key"), "{err}");
    assert!(!err.contains(&other_key));

    let out = cartbridge(&app, &[("CARTBRIDGE_MASTER_KEY", &other_key)], &["serve"]);
    assert!(
        !out.status.success(),
        "serve started with the wrong master key"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        line.contains("master key") && line.contains("CARTBRIDGE_MASTER_KEY"),
        "{line}"
    );
    assert!(!stderr.contains(&other_key));

    // keys commands refuse too, and change nothing.
    let before = app.snapshot().await;
    let out = cartbridge(
        &app,
        &[("CARTBRIDGE_MASTER_KEY", &other_key)],
        &["keys", "rotate"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("master key"));
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM vault_keys").await, 1);
}

#[tokio::test]
async fn a_secret_copied_to_another_row_does_not_open() {
    let app = spawn_app().await;
    let (alice, tenant_a) = app.signup_and_login("alice@example.com", "Alpha").await;
    let (bob, tenant_b) = app.signup_and_login("bob@example.com", "Bravo").await;
    let a = create_ok(&app, &alice, tenant_a, "Alpha app", SECRET).await;
    let a2 = create_ok(&app, &alice, tenant_a, "Alpha spare", "SENTINEL-spare-1").await;
    let b = create_ok(&app, &bob, tenant_b, "Bravo app", "SENTINEL-bravo-2").await;

    // Into another tenant's row, and into another row of the same tenant.
    for (tenant, target) in [(tenant_b, b), (tenant_a, a2)] {
        app.execute(&format!(
            "UPDATE oauth_clients SET client_secret_ct = \
             (SELECT client_secret_ct FROM oauth_clients WHERE id = {a}) WHERE id = {target}"
        ))
        .await;
        let err = oauth_clients::open_secret(&app.ctx, tenant, target)
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(
            matches!(err, oauth_clients::OAuthClientError::Vault(_)),
            "{shown}"
        );
    }
    // The original still opens, and only for its own tenant.
    let opened = oauth_clients::open_secret(&app.ctx, tenant_a, a)
        .await
        .unwrap();
    assert_eq!(opened.expose(), SECRET);
    assert!(
        oauth_clients::open_secret(&app.ctx, tenant_b, a)
            .await
            .is_err()
    );

    // Bob's pages still render, and show nothing secret.
    for path in [
        format!("/t/{tenant_b}/oauth-clients"),
        format!("/t/{tenant_b}/oauth-clients/{b}/edit"),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.body.contains(SECRET) && !page.body.contains("SENTINEL"),
            "{path}"
        );
    }
    // Rotation moves the sound values and names the two it cannot open, failing the command.
    let out = cartbridge(&app, &[], &["keys", "rotate"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("oauth_clients.client_secret_ct: 1 re-encrypted"),
        "{stdout}"
    );
    for (tenant, id) in [(tenant_b, b), (tenant_a, a2)] {
        let line = format!("tenant {tenant} record {id}: the sealed value failed authentication");
        assert!(stdout.contains(&line), "{stdout}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 secret(s) could not be re-encrypted"));
    assert_eq!(key_id_of(&ciphertext(&app, a).await), Some(2));

    // Typing a new secret repairs the row.
    let res = bob
        .submit(
            &format!("/t/{tenant_b}/oauth-clients/{b}/edit"),
            &format!("/t/{tenant_b}/oauth-clients/{b}"),
            &[
                ("name", "Bravo app"),
                ("client_id", "client-abc"),
                ("client_secret", "SENTINEL-new-3"),
            ],
        )
        .await;
    res.assert_redirect_to(&format!("/t/{tenant_b}/oauth-clients"));
    let opened = oauth_clients::open_secret(&app.ctx, tenant_b, b)
        .await
        .unwrap();
    assert_eq!(opened.expose(), "SENTINEL-new-3");
}
