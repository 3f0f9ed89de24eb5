//! The connection wizard and Create & Test, against the fake BigCommerce.

use std::time::Duration;

use crate::helpers::{
    Client, Page, TestApp,
    fake_bigcommerce::{FakeBigCommerce, FakeStore, Fault},
    never_shown, spawn_app_with,
};

const TOKEN: &str = "tok-SENTINEL-7c1f2e9ab0";
const ALL_SCOPES: &[&str] = &[
    "store_v2_information_read_only",
    "store_v2_products_read_only",
    "store_v2_orders",
    "store_v2_customers",
    "store_channel_settings_read_only",
];

/// An app pointed at a fake BigCommerce with one store (`abc123`, "Acme Store") and a
/// token for it; plus a logged-in owner.
async fn setup() -> (TestApp, FakeBigCommerce, Client, i64) {
    for secret in [TOKEN, "tok-limited", "tok-second"] {
        never_shown(secret);
    }
    let fake = FakeBigCommerce::start().await;
    let mut store = FakeStore::new("abc123");
    store.name = "Acme Store".into();
    store.domain = "acme.example.com".into();
    store.plan_name = "Plus".into();
    store.currency = "EUR".into();
    fake.add_store(store);
    fake.add_token("abc123", TOKEN, ALL_SCOPES);
    let api = fake.api_url();
    let app = spawn_app_with(|s| {
        s.bigcommerce_api_url = api.parse().unwrap();
        s.bigcommerce_timeout = Duration::from_secs(1);
    })
    .await;
    let (client, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    (app, fake, client, tenant)
}

async fn create(client: &Client, tenant: i64, fields: &[(&str, &str)]) -> Page {
    let new = format!("/t/{tenant}/connections/new");
    client
        .submit(&new, &format!("/t/{tenant}/connections"), fields)
        .await
}

/// Form fields, the id of the error element expected, and its message.
type BadCase<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

fn token_form<'a>(name: &'a str, store: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("auth_type", "token"),
        ("store", store),
        ("api_client_id", "client-123"),
        ("access_token", token),
        ("then", "test"),
    ]
}

#[tokio::test]
async fn create_and_test_reaches_the_store_and_reports_what_each_flow_can_do() {
    let (app, fake, client, tenant) = setup().await;
    let res = create(
        &client,
        tenant,
        &token_form(
            "Main store",
            "https://api.bigcommerce.com/stores/abc123/v3/",
            TOKEN,
        ),
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Main store'")
        .await;
    res.assert_redirect_to(&format!("/t/{tenant}/connections/{id}"));

    let page = client.get(&format!("/t/{tenant}/connections/{id}")).await;
    assert!(
        page.body
            .contains("Connected to Acme Store (acme.example.com)"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("healthy") && page.body.contains("Plus") && page.body.contains("EUR")
    );
    assert_eq!(
        page.body
            .matches(r#"<td data-label="Ready?">yes</td>"#)
            .count(),
        app.ctx.flows.all().count(),
        "every registered flow ready: {}",
        page.body
    );
    // Only the flows this build has (the registry) are listed, each of them by its label.
    for flow in app.ctx.flows.all() {
        assert!(
            page.body
                .contains(&format!(r#"<td data-label="Flow">{}</td>"#, flow.label())),
            "{}: {}",
            flow.label(),
            page.body
        );
    }
    assert!(!page.body.contains(TOKEN));

    // The requests carried the token as X-Auth-Token to the parsed store.
    let requests = fake.requests();
    let store_call = requests
        .iter()
        .find(|r| r.path == "/stores/abc123/v2/store")
        .expect("GET /v2/store");
    assert!(
        store_call
            .headers
            .iter()
            .any(|(k, v)| k == "x-auth-token" && v == TOKEN)
    );
    // One probe per scope a registered flow needs.
    let probes: Vec<&str> = requests
        .iter()
        .filter(|r| r.path != "/stores/abc123/v2/store")
        .map(|r| r.path.as_str())
        .collect();
    // (A path two scopes share, read and write, is sent once: a GET proves read access.)
    let mut want = Vec::new();
    for (_, needs) in cartbridge::flows::Registry::standard().scope_needs() {
        for probe in needs {
            let path = probe.path.split('?').next().unwrap_or_default();
            let path = format!("/stores/abc123{path}");
            if !want.contains(&path) {
                want.push(path);
            }
        }
    }
    assert_eq!(probes, want);
    let list = client.get(&format!("/t/{tenant}/connections")).await;
    assert!(
        list.body.contains("Main store")
            && list.body.contains("healthy")
            && list.body.contains("Acme Store")
    );
    assert!(!list.body.contains(TOKEN));
    assert_token_not_stored_in_clear(&app, TOKEN).await;
}

#[tokio::test]
async fn test_names_the_cause_of_each_failure() {
    let (app, fake, client, tenant) = setup().await;
    fake.add_token("abc123", "tok-limited", &["store_v2_information_read_only"]);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "Rejected",
            "abc123",
            "tok-wrong",
            "BigCommerce rejected the access token (401)",
        ),
        (
            "Unknown store",
            "zzz999",
            TOKEN,
            "no store with the hash “zzz999” (404)",
        ),
    ];
    for (name, store, token, message) in cases {
        // Create & Test sends a failure back to the form, nothing saved, "Save anyway" offered.
        let refused = create(&client, tenant, &token_form(name, store, token)).await;
        assert_eq!(refused.status, 422, "{name}");
        assert!(refused.body.contains(message), "{name}: {}", refused.body);
        assert!(refused.body.contains("Save anyway"), "{name}");
        assert!(
            refused.body.contains(&format!(r#"value="{name}""#)),
            "{name}: typed name kept"
        );
        assert!(
            !refused.body.contains(token),
            "{name}: the token is not sent back"
        );
        let saved = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM connections WHERE name = '{name}'"
            ))
            .await;
        assert_eq!(saved, 0, "{name}");
        // Save anyway, then Test: the connection is failing, for the same reason.
        let mut anyway = token_form(name, store, token);
        anyway.retain(|(k, _)| *k != "then");
        anyway.push(("then", "save"));
        assert_eq!(create(&client, tenant, &anyway).await.status, 303);
        let id = app
            .scalar_i64(&format!("SELECT id FROM connections WHERE name = '{name}'"))
            .await;
        let show = format!("/t/{tenant}/connections/{id}");
        client.submit(&show, &format!("{show}/test"), &[]).await;
        let page = client.get(&show).await;
        assert!(page.body.contains(message), "{name}: {}", page.body);
        assert!(page.body.contains("failing"), "{name}");
    }

    // A token without the products scope: the store answers, but Get Inventory cannot run.
    create(
        &client,
        tenant,
        &token_form("Limited", "abc123", "tok-limited"),
    )
    .await;
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Limited'")
        .await;
    let page = client.get(&format!("/t/{tenant}/connections/{id}")).await;
    assert!(page.body.contains("healthy"));
    assert!(
        page.body
            .contains("missing scope store_v2_products_read_only: grant “Products: read-only”"),
        "{}",
        page.body
    );

    // BigCommerce too slow: a timeout, named.
    fake.inject(Fault::Slow {
        delay: Duration::from_secs(3),
        path_prefix: "/v2/store".into(),
        times: 1,
    });
    let res = client
        .submit(
            &format!("/t/{tenant}/connections/{id}"),
            &format!("/t/{tenant}/connections/{id}/test"),
            &[],
        )
        .await;
    assert_eq!(res.status, 303);
    let page = client.get(&format!("/t/{tenant}/connections/{id}")).await;
    assert!(
        page.body.contains("did not answer within 1 seconds"),
        "{}",
        page.body
    );
    assert!(page.body.contains("failing"));
}

#[tokio::test]
async fn bad_input_comes_back_with_messages_and_changes_nothing() {
    let (app, _fake, client, tenant) = setup().await;
    create(&client, tenant, &token_form("Taken", "abc123", TOKEN)).await;
    let cases: Vec<BadCase<'_>> = vec![
        (
            token_form("", "abc123", TOKEN),
            "name-error",
            "Give the connection a name",
        ),
        (
            token_form("Shop", "https://shop.example.com", TOKEN),
            "store-error",
            "custom domains",
        ),
        (
            token_form("Shop", "abc123", ""),
            "access_token-error",
            "Enter the API account's access token",
        ),
        (
            token_form("Taken", "abc123", TOKEN),
            "name-error",
            "already have a connection with this name",
        ),
        (
            vec![
                ("name", "O"),
                ("auth_type", "oauth"),
                ("store", "abc123"),
                ("scopes", "store_v2_orders"),
                ("access_token", TOKEN),
            ],
            "oauth_client_id-error",
            "Choose the OAuth client",
        ),
    ];
    for (fields, id, message) in cases {
        let before = app.snapshot().await;
        let res = create(&client, tenant, &fields).await;
        assert_eq!(res.status, 422, "{message}");
        assert!(
            res.body.contains(&format!("id=\"{id}\"")),
            "{message}: {}",
            res.body
        );
        assert!(
            res.body.contains(&message.replace('\'', "&#39;")),
            "{message}: {}",
            res.body
        );
        assert!(!res.body.contains(TOKEN), "the token is never sent back");
        assert_eq!(app.snapshot().await, before, "{message}: nothing changes");
    }
    // The store URL form is parsed and the hash shown back.
    let res = create(
        &client,
        tenant,
        &token_form("", "https://store-abc123.mybigcommerce.com/manage", TOKEN),
    )
    .await;
    assert!(
        res.body
            .contains("<strong id=\"parsed-hash\">abc123</strong>"),
        "{}",
        res.body
    );
    assert!(
        res.body
            .contains("value=\"https://store-abc123.mybigcommerce.com/manage\"")
    );
}

#[tokio::test]
async fn editing_keeps_the_token_unless_a_new_one_is_typed_and_delete_destroys_it() {
    let (app, fake, client, tenant) = setup().await;
    create(&client, tenant, &token_form("Main", "abc123", TOKEN)).await;
    let id = app
        .scalar_i64("SELECT id FROM connections WHERE name = 'Main'")
        .await;
    let edit = format!("/t/{tenant}/connections/{id}/edit");
    let form = client.get(&edit).await;
    assert!(
        form.body
            .contains("A token is stored and is never shown again")
    );
    assert!(!form.body.contains(TOKEN));

    let mut fields = token_form("Main renamed", "abc123", "");
    fields.retain(|(k, _)| *k != "then");
    fields.push(("then", "test"));
    client
        .submit(&edit, &format!("/t/{tenant}/connections/{id}"), &fields)
        .await
        .assert_redirect_to(&format!("/t/{tenant}/connections/{id}"));
    let page = client.get(&format!("/t/{tenant}/connections/{id}")).await;
    assert!(
        page.body.contains("Main renamed") && page.body.contains("healthy"),
        "empty token field keeps the token: {}",
        page.body
    );

    fake.add_token("abc123", "tok-second", ALL_SCOPES);
    let fields = token_form("Main renamed", "abc123", "tok-second");
    client
        .submit(&edit, &format!("/t/{tenant}/connections/{id}"), &fields)
        .await;
    let last = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "/stores/abc123/v2/store")
        .unwrap();
    assert!(
        last.headers
            .iter()
            .any(|(k, v)| k == "x-auth-token" && v == "tok-second"),
        "the new token is used"
    );

    // Pointing the connection at another store drops the token: it belongs to the old one,
    // so the form asks for a new token and nothing changes until one is given.
    let before = app.snapshot().await;
    let moved = token_form("Main renamed", "def456", "");
    let res = client
        .submit(&edit, &format!("/t/{tenant}/connections/{id}"), &moved)
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body.contains("id=\"access_token-error\""),
        "{}",
        res.body
    );
    assert_eq!(app.snapshot().await, before);

    let res = client
        .submit(
            &format!("/t/{tenant}/connections/{id}"),
            &format!("/t/{tenant}/connections/{id}/delete"),
            &[],
        )
        .await;
    res.assert_redirect_to(&format!("/t/{tenant}/connections"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM connections").await, 0);
    assert_eq!(
        client
            .get(&format!("/t/{tenant}/connections/{id}"))
            .await
            .status,
        404
    );
}

/// The token's bytes appear nowhere in the database: not in the SQLite files (main file and
/// WAL), not in any PostgreSQL column.
pub async fn assert_token_not_stored_in_clear(app: &TestApp, secret: &str) {
    match &app.db {
        cartbridge::db::Db::Sqlite(_) => {
            for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{} holds the secret",
                        path.display()
                    );
                }
            }
        }
        cartbridge::db::Db::Postgres(pool) => {
            let found: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM connections WHERE position(convert_to($1, 'UTF8') in access_token_ct) > 0 \
                 OR name LIKE '%' || $1 || '%' OR scopes LIKE '%' || $1 || '%' OR COALESCE(api_client_id, '') LIKE '%' || $1 || '%'",
            )
            .bind(secret)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(found, 0);
        }
    }
}
