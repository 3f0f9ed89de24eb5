//! OAuth client records: owners and admins add, edit and delete them, members only see the
//! list; the client secret is sealed by the vault and never shown or stored in clear.

use cartbridge::{connections::oauth_clients, vault::Aad};

use crate::helpers::{Client, PASSWORD, Page, TestApp, spawn_app};

const SECRET: &str = "SENTINEL-client-secret-5f1e2d";
const NEW_SECRET: &str = "SENTINEL-replacement-secret-9a8b7c";

/// Every page a test fetched, to check at the end that no secret was ever sent back.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, page: Page) -> Page {
        self.0.push(page.body.clone());
        page
    }

    fn assert_never_showed(&self, secret: &str) {
        for body in &self.0 {
            assert!(!body.contains(secret), "a page showed the secret: {body}");
        }
    }
}

/// Submits the new-client form as `client`.
pub async fn create(client: &Client, tenant: i64, fields: &[(&str, &str)]) -> Page {
    client
        .submit(
            &format!("/t/{tenant}/oauth-clients/new"),
            &format!("/t/{tenant}/oauth-clients"),
            fields,
        )
        .await
}

/// Creates an OAuth client through the form and returns its id.
pub async fn create_ok(
    app: &TestApp,
    client: &Client,
    tenant: i64,
    name: &str,
    secret: &str,
) -> i64 {
    let res = create(
        client,
        tenant,
        &[
            ("name", name),
            ("client_id", "client-abc"),
            ("client_secret", secret),
        ],
    )
    .await;
    res.assert_redirect_to(&format!("/t/{tenant}/oauth-clients"));
    app.scalar_i64(&format!(
        "SELECT id FROM oauth_clients WHERE tenant_id = {tenant} AND name = '{name}'"
    ))
    .await
}

/// The stored ciphertext of client `id`.
pub async fn ciphertext(app: &TestApp, id: i64) -> Vec<u8> {
    app.bytes(&format!(
        "SELECT client_secret_ct FROM oauth_clients WHERE id = {id}"
    ))
    .await
    .expect("a stored secret")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The secret's bytes appear nowhere at rest: not in any file of the data folder (SQLite
/// database, WAL, outbox), not in any stored ciphertext or audit entry.
pub async fn assert_secret_stored_nowhere(app: &TestApp, secret: &str) {
    if matches!(app.db, cartbridge::db::Db::Sqlite(_)) {
        let mut dirs = vec![app.data_dir.path().to_owned()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(
                        !contains(&bytes, secret),
                        "{} holds the secret",
                        path.display()
                    );
                }
            }
        }
    }
    let ids = app
        .scalar_i64("SELECT COALESCE(MAX(id), 0) FROM oauth_clients")
        .await;
    for id in 1..=ids {
        let sql = format!("SELECT client_secret_ct FROM oauth_clients WHERE id = {id}");
        if let Some(ct) = app.bytes(&sql).await {
            assert!(
                !contains(&ct, secret),
                "client {id}'s ciphertext holds the secret"
            );
        }
    }
    let in_audit = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%{secret}%'"
        ))
        .await;
    assert_eq!(in_audit, 0, "the audit log holds the secret");
}

#[tokio::test]
async fn owners_add_edit_and_delete_oauth_clients_and_the_secret_never_comes_back() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let list = format!("/t/{tenant}/oauth-clients");
    let mut seen = Seen::default();

    let page = seen.keep(owner.get(&format!("/t/{tenant}")).await);
    assert!(page.body.contains(&format!("href=\"{list}\"")), "nav link");
    let page = seen.keep(owner.get(&list).await);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No OAuth clients yet"));
    let form = seen.keep(owner.get(&format!("{list}/new")).await);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("type=\"password\""));

    let id = create_ok(&app, &owner, tenant, "Main app", SECRET).await;
    let page = seen.keep(owner.get(&list).await);
    assert!(page.body.contains("OAuth client Main app added."));
    assert!(page.body.contains("Main app") && page.body.contains("client-abc"));
    assert!(page.body.contains("secret: stored"), "{}", page.body);
    let audit = app
        .scalar_i64("SELECT COUNT(*) FROM audit_log WHERE action = 'oauth_client.created'")
        .await;
    assert_eq!(audit, 1);

    // Sealed to this tenant, table, row and field: the vault opens it with exactly that.
    let sealed = ciphertext(&app, id).await;
    let aad = Aad::new(tenant, "oauth_clients", id, "client_secret");
    let opened = app.ctx.vault.open(&aad, &sealed).await.unwrap();
    assert_eq!(opened.expose(), SECRET);
    let opened = oauth_clients::open_secret(&app.ctx, tenant, id)
        .await
        .unwrap();
    assert_eq!(opened.expose(), SECRET);
    let listed = oauth_clients::list(&app.ctx, tenant).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].name.as_str()), (id, "Main app"));

    // The edit form shows the values but an empty secret field with a hint.
    let edit = format!("{list}/{id}/edit");
    let form = seen.keep(owner.get(&edit).await);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"Main app\"") && form.body.contains("value=\"client-abc\""));
    assert!(form.body.contains("leave empty to keep the stored secret"));
    let secret_input = form
        .body
        .split("<input")
        .find(|i| i.contains("name=\"client_secret\""))
        .unwrap();
    assert!(!secret_input.contains("value="), "{secret_input}");

    // An empty secret keeps the stored one (same ciphertext).
    let update = format!("{list}/{id}");
    let res = seen.keep(
        owner
            .submit(
                &edit,
                &update,
                &[
                    ("name", "Main app 2"),
                    ("client_id", "client-xyz"),
                    ("client_secret", ""),
                ],
            )
            .await,
    );
    res.assert_redirect_to(&list);
    assert_eq!(ciphertext(&app, id).await, sealed);
    let page = seen.keep(owner.get(&list).await);
    assert!(page.body.contains("Main app 2") && page.body.contains("client-xyz"));
    let opened = oauth_clients::open_secret(&app.ctx, tenant, id)
        .await
        .unwrap();
    assert_eq!(opened.expose(), SECRET);

    // A typed secret replaces it, sealed anew.
    let res = seen.keep(
        owner
            .submit(
                &edit,
                &update,
                &[
                    ("name", "Main app 2"),
                    ("client_id", "client-xyz"),
                    ("client_secret", NEW_SECRET),
                ],
            )
            .await,
    );
    res.assert_redirect_to(&list);
    assert_ne!(ciphertext(&app, id).await, sealed);
    let opened = oauth_clients::open_secret(&app.ctx, tenant, id)
        .await
        .unwrap();
    assert_eq!(opened.expose(), NEW_SECRET);
    let audit = app
        .scalar_i64("SELECT COUNT(*) FROM audit_log WHERE action = 'oauth_client.updated'")
        .await;
    assert_eq!(audit, 2);
    seen.keep(owner.get(&list).await);
    seen.keep(owner.get(&edit).await);
    seen.keep(owner.get(&format!("/t/{tenant}")).await);
    assert_secret_stored_nowhere(&app, SECRET).await;
    assert_secret_stored_nowhere(&app, NEW_SECRET).await;

    // Delete removes the row and its ciphertext.
    let res = seen.keep(
        owner
            .submit(&list, &format!("{list}/{id}/delete"), &[])
            .await,
    );
    res.assert_redirect_to(&list);
    let page = seen.keep(owner.get(&list).await);
    assert!(page.body.contains("OAuth client Main app 2 deleted."));
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM oauth_clients").await,
        0
    );
    assert_eq!(seen.keep(owner.get(&edit).await).status, 404);
    let audit = app
        .scalar_i64("SELECT COUNT(*) FROM audit_log WHERE action = 'oauth_client.deleted'")
        .await;
    assert_eq!(audit, 1);

    seen.assert_never_showed(SECRET);
    seen.assert_never_showed(NEW_SECRET);
}

#[tokio::test]
async fn invalid_forms_come_back_with_messages_and_change_nothing() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let mut seen = Seen::default();
    create_ok(&app, &owner, tenant, "Main app", SECRET).await;
    let other = create_ok(&app, &owner, tenant, "Other app", SECRET).await;

    let typed = "SENTINEL-typed-but-refused-4c3b";
    let cases: [(&str, &str, &str, &str, &str); 6] = [
        (
            "name",
            "",
            "client-1",
            typed,
            "Enter a name for this OAuth client.",
        ),
        (
            "name",
            &"x".repeat(101),
            "client-1",
            typed,
            "100 characters or fewer",
        ),
        (
            "name",
            " Main app ",
            "client-1",
            typed,
            "You already have an OAuth client with this name.",
        ),
        ("client_id", "New app", "", typed, "Enter the client ID."),
        (
            "client_id",
            "New app",
            "client 1",
            typed,
            "The client ID cannot contain spaces.",
        ),
        (
            "client_secret",
            "New app",
            "client-1",
            "  ",
            "Enter the client secret.",
        ),
    ];
    for (field, name, client_id, secret, message) in cases {
        let before = app.snapshot().await;
        let fields = [
            ("name", name),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        let res = seen.keep(create(&owner, tenant, &fields).await);
        assert_eq!(res.status, 422, "{field}: {}", res.body);
        assert!(res.body.contains(message), "{field}: {}", res.body);
        assert!(
            res.body.contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
        // The other values are kept; the secret field comes back empty.
        if field != "client_id" {
            assert!(
                res.body.contains(&format!("value=\"{client_id}\"")),
                "{field}"
            );
        }
        assert_eq!(app.snapshot().await, before, "{field}");
    }

    // Editing: a duplicate name or an empty client id is refused; the stored secret is kept.
    let edit = format!("/t/{tenant}/oauth-clients/{other}/edit");
    let update = format!("/t/{tenant}/oauth-clients/{other}");
    for (field, name, client_id, message) in [
        (
            "name",
            "Main app",
            "client-2",
            "You already have an OAuth client with this name.",
        ),
        ("client_id", "Other app", " ", "Enter the client ID."),
    ] {
        let before = app.snapshot().await;
        let fields = [
            ("name", name),
            ("client_id", client_id),
            ("client_secret", typed),
        ];
        let res = seen.keep(owner.submit(&edit, &update, &fields).await);
        assert_eq!(res.status, 422, "{field}: {}", res.body);
        assert!(res.body.contains(message), "{field}");
        assert!(res.body.contains("leave empty to keep the stored secret"));
        assert_eq!(app.snapshot().await, before, "{field}");
    }
    assert_eq!(
        oauth_clients::open_secret(&app.ctx, tenant, other)
            .await
            .unwrap()
            .expose(),
        SECRET
    );
    // An id that is not one of ours is 404, on every route.
    let missing = other + 1000;
    assert_eq!(
        seen.keep(
            owner
                .get(&format!("/t/{tenant}/oauth-clients/{missing}/edit"))
                .await
        )
        .status,
        404
    );
    let res = owner
        .submit(
            &edit,
            &format!("/t/{tenant}/oauth-clients/{missing}"),
            &[("name", "X"), ("client_id", "y")],
        )
        .await;
    assert_eq!(res.status, 404);

    seen.assert_never_showed(SECRET);
    seen.assert_never_showed(typed);
    assert_secret_stored_nowhere(&app, typed).await;
}

/// Invites `email` as a member of the owner's tenant and returns their signed-in client.
async fn add_member(app: &TestApp, owner: &Client, tenant: i64, email: &str) -> Client {
    let members = format!("/t/{tenant}/members");
    owner
        .submit(
            &members,
            &format!("/t/{tenant}/invitations"),
            &[("email", email), ("role", "member")],
        )
        .await
        .assert_redirect_to(&members);
    let link = app.last_link(email, "/invitations/accept").await;
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let member = app.client();
    let token = member.get(&path).await.hidden_input("token").unwrap();
    member
        .submit(
            &path,
            "/invitations/accept",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await
        .assert_redirect_to("/");
    member
}

#[tokio::test]
async fn members_see_the_list_but_cannot_change_oauth_clients() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let id = create_ok(&app, &owner, tenant, "Main app", SECRET).await;
    let member = add_member(&app, &owner, tenant, "member@example.com").await;
    let list = format!("/t/{tenant}/oauth-clients");

    let page = member.get(&list).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Main app") && page.body.contains("secret: stored"));
    assert!(!page.body.contains("Add an OAuth client") && !page.body.contains("/delete"));

    for path in [format!("{list}/new"), format!("{list}/{id}/edit")] {
        let page = member.get(&path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(
            page.body.contains("Only owners and admins"),
            "{}",
            page.body
        );
    }
    let fields = [
        ("name", "Mine"),
        ("client_id", "mine"),
        ("client_secret", NEW_SECRET),
    ];
    for action in [
        list.clone(),
        format!("{list}/{id}"),
        format!("{list}/{id}/delete"),
    ] {
        let before = app.snapshot().await;
        let res = member.submit(&list, &action, &fields).await;
        assert_eq!(res.status, 403, "{action}");
        assert!(res.body.contains("Only owners and admins"), "{}", res.body);
        assert_eq!(app.snapshot().await, before, "{action}");
    }
}

#[tokio::test]
async fn a_client_used_by_a_connection_cannot_be_deleted() {
    let app = spawn_app().await;
    let (owner, tenant) = app.signup_and_login("owner@example.com", "Acme").await;
    let id = create_ok(&app, &owner, tenant, "Main app", SECRET).await;
    for store in ["Shop B", "Shop A"] {
        app.execute(&format!(
            "INSERT INTO connections (tenant_id, name, auth_type, store_hash, oauth_client_id, created_at, updated_at) \
             VALUES ({tenant}, '{store}', 'oauth', 'abc123', {id}, 0, 0)"
        ))
        .await;
    }
    let list = format!("/t/{tenant}/oauth-clients");
    let delete = format!("{list}/{id}/delete");

    let before = app.snapshot().await;
    let res = owner.submit(&list, &delete, &[]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(
        res.body
            .contains("Main app is used by 2 connection(s): Shop A, Shop B."),
        "{}",
        res.body
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM oauth_clients").await,
        1
    );

    app.execute("DELETE FROM connections").await;
    owner
        .submit(&list, &delete, &[])
        .await
        .assert_redirect_to(&list);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM oauth_clients").await,
        0
    );
}
