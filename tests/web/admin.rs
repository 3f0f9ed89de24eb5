//! The support-staff area (issue 14): every `/admin` route is 404 for tenant users (owners
//! included) and 200 for staff; tenant search and detail; needs attention; the job queue;
//! each support action writes exactly one audit entry with its reason and has its effect;
//! no admin page shows a secret, and the admin code has no path to the vault.

use cartbridge::{db, web::admin::ADMIN_ROUTES};

use crate::helpers::{Client, PASSWORD, TestApp, fixtures, never_shown, spawn_app_with};

const STORE: &str = "adm123";
const TOKEN: &str = "tok-adm123-fixture-7c2a";

/// A tenant "Acme" (owner, a member, a token connection with a failed run and a dead job),
/// and a staff member, each signed in.
pub struct World {
    pub app: TestApp,
    pub owner: Client,
    pub member: Client,
    pub staff: Client,
    pub tenant: i64,
    pub connection: i64,
    pub run: i64,
    pub dead_job: i64,
    pub member_id: i64,
}

pub async fn world() -> World {
    never_shown(TOKEN);
    let app = spawn_app_with(|s| s.jobs.workers = 0).await;
    let (owner, tenant) = app.signup_and_login("owner@acme.test", "Acme").await;
    let (member, _) = app.signup_and_login("member@acme.test", "Member Co").await;
    let member_id = app
        .scalar_i64("SELECT id FROM users WHERE email = 'member@acme.test'")
        .await;
    app.execute(&format!(
        "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({tenant}, {member_id}, 'member', 0)"
    ))
    .await;
    let (staff, _) = app
        .signup_and_login("support@cartbridge.test", "Staff")
        .await;
    app.execute("UPDATE users SET is_staff = TRUE WHERE email = 'support@cartbridge.test'")
        .await;
    app.execute(
        "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'support@cartbridge.test')",
    )
    .await;
    let actor = fixtures::owner(&app, tenant, "owner@acme.test").await;
    let connection = fixtures::token_connection(&app, &actor, "Main store", STORE).await;
    let run = fixtures::finished_run(&app, tenant, connection, STORE, "inventory", "failed").await;
    app.execute(&format!(
        "UPDATE connections SET status = 'failing', last_tested_at = {now}, \
         last_error = 'BigCommerce rejected the access token (401). Check the token.' WHERE id = {connection}",
        now = db::now()
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO flow_settings (tenant_id, connection_id, flow, enabled, interval_secs, settings, next_run_at, updated_at) \
         VALUES ({tenant}, {connection}, 'inventory', TRUE, 3600, '{{}}', {next}, 0)",
        next = db::now() + 3600
    ))
    .await;
    let dead_job = app
        .scalar_i64(&format!(
            "INSERT INTO jobs (tenant_id, connection_id, kind, payload, status, run_at, attempts, max_attempts, \
             last_error, created_at, updated_at) VALUES ({tenant}, {connection}, 'webhook_delivery', '{{}}', 'dead', 0, 5, 5, \
             'receiver answered 500', 0, {now}) RETURNING id",
            now = db::now()
        ))
        .await;
    World {
        app,
        owner,
        member,
        staff,
        tenant,
        connection,
        run,
        dead_job,
        member_id,
    }
}

impl World {
    /// A route of `ADMIN_ROUTES` with its parameters filled with this world's ids.
    pub fn path(&self, route: &str) -> String {
        route
            .replace("{tenant_id}", &self.tenant.to_string())
            .replace("{connection_id}", &self.connection.to_string())
            .replace("{run_id}", &self.run.to_string())
            .replace("{job_id}", &self.dead_job.to_string())
            .replace("{user_id}", &self.member_id.to_string())
            .replace("{flow}", "inventory")
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        self.app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await
    }
}

#[tokio::test]
async fn every_admin_route_is_404_for_tenant_users_and_200_for_staff() {
    let w = world().await;
    assert!(ADMIN_ROUTES.len() >= 16, "{ADMIN_ROUTES:?}");
    let before = w.app.snapshot().await;
    for (who, client) in [("owner", &w.owner), ("member", &w.member)] {
        let csrf = client.csrf().await;
        for (method, route) in ADMIN_ROUTES {
            let path = w.path(route);
            let page = match *method {
                "get" => client.get(&path).await,
                _ => {
                    client
                        .post(&path, &[("csrf_token", &csrf), ("reason", "poking around")])
                        .await
                }
            };
            assert_eq!(page.status, 404, "{who} {method} {path}: {}", page.body);
        }
    }
    let anonymous = w.app.client();
    for (method, route) in ADMIN_ROUTES.iter().filter(|(m, _)| *m == "get") {
        let path = w.path(route);
        assert_eq!(
            anonymous.get(&path).await.status,
            404,
            "anonymous {method} {path}"
        );
    }
    assert_eq!(
        before,
        w.app.snapshot().await,
        "a refused request changed something"
    );
    // Staff get every page (the Client checks each body for every secret of the suite).
    for (_, route) in ADMIN_ROUTES.iter().filter(|(m, _)| *m == "get") {
        let path = w.path(route);
        let page = w.staff.get(&path).await;
        assert_eq!(page.status, 200, "staff GET {path}: {}", page.body);
        assert!(!page.body.contains(TOKEN), "{path} shows the token");
    }
}

#[tokio::test]
async fn staff_search_tenants_by_name_owner_email_user_email_and_store_hash() {
    let w = world().await;
    for q in ["acm", "OWNER@acme", "member@acme.test", "ADM12"] {
        let page = w.staff.get(&format!("/admin/tenants?q={q}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!("id=\"tenant-{}\"", w.tenant)),
            "{q}: {}",
            page.body
        );
    }
    let page = w.staff.get("/admin/tenants?q=acme").await;
    let row = &page.body[page
        .body
        .find(&format!("id=\"tenant-{}\"", w.tenant))
        .unwrap()..];
    assert!(row.contains("owner@acme.test"));
    assert!(row.contains(r#"class="tenant-users">2<"#), "{row}");
    assert!(row.contains(r#"class="tenant-connections">1<"#), "{row}");
    assert!(
        row.contains(r#"<span class="status-failing">1</span>"#),
        "{row}"
    );
    let none = w.staff.get("/admin/tenants?q=nobody%25here").await;
    assert!(none.body.contains("id=\"no-tenants\""), "{}", none.body);
    // A LIKE wildcard is taken literally.
    let wild = w.staff.get("/admin/tenants?q=%25").await;
    assert!(wild.body.contains("id=\"no-tenants\""), "{}", wild.body);
}

#[tokio::test]
async fn the_tenant_page_shows_users_connections_flows_and_runs_and_the_run_detail() {
    let w = world().await;
    let page = w.staff.get(&format!("/admin/tenants/{}", w.tenant)).await;
    assert_eq!(page.status, 200);
    for text in [
        "owner@acme.test",
        "member@acme.test",
        "Main store",
        "<code>adm123</code>",
        "BigCommerce rejected the access token (401)",
        "token",
        "Get Inventory",
        &format!("/admin/tenants/{}/runs/{}", w.tenant, w.run),
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(
        page.body.contains(r#"class="flow-failures">1<"#),
        "{}",
        page.body
    );
    let run = w
        .staff
        .get(&format!("/admin/tenants/{}/runs/{}", w.tenant, w.run))
        .await;
    assert_eq!(run.status, 200);
    assert!(
        run.body.contains(r#"id="run-status">failed"#),
        "{}",
        run.body
    );
    // Another tenant's run under this tenant is 404.
    let other = w
        .staff
        .get(&format!("/admin/tenants/{}/runs/{}", w.tenant + 99, w.run))
        .await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn needs_attention_lists_auth_failures_dead_jobs_failing_flows_disabled_endpoints_hooks_and_pos()
 {
    let w = world().await;
    w.app
        .execute("UPDATE tenants SET alert_after_failures = 1")
        .await;
    let secret_ct = "X'00'";
    let ct = if crate::helpers::on_postgres() {
        "'\\x00'::bytea"
    } else {
        secret_ct
    };
    w.app
        .execute(&format!(
            "INSERT INTO webhook_endpoints (tenant_id, url, description, event_types, secret_ct, status, disabled_reason, created_at, updated_at) \
             VALUES ({}, 'https://hooks.example.com/in', '', 'run.failed', {ct}, 'disabled', 'The receiver answered 410 Gone.', 0, {})",
            w.tenant,
            db::now()
        ))
        .await;
    let now = db::now();
    w.app
        .execute(&format!(
            "INSERT INTO bigcommerce_hooks (tenant_id, connection_id, flow, scope, bc_hook_id, is_active, problem, last_checked_at, created_at) \
             VALUES ({}, {}, 'placed_orders', 'store/order/created', 7, TRUE, \
             'The webhook was deactivated on the store; it was re-activated.', {now}, 0)",
            w.tenant, w.connection
        ))
        .await;
    w.app
        .execute(&format!(
            "INSERT INTO purchase_orders (tenant_id, connection_id, po_number, source, body, body_hash, status, customer_email, failure_reason, created_at, updated_at) \
             VALUES ({}, {}, 'PO-77', 'api', '{{}}', 'h', 'failed', 'buyer@example.com', \
             'Line 1: no variant with SKU NOPE in the store.', {now}, {now})",
            w.tenant, w.connection
        ))
        .await;
    let page = w.staff.get("/admin").await;
    assert_eq!(page.status, 200);
    for (class, text) in [
        (
            "attention-bigcommerce_hook",
            "store/order/created hook on Main store",
        ),
        ("attention-po_failed", "no variant with SKU NOPE"),
        (
            "attention-connection_auth",
            "rejected the access token (401)",
        ),
        ("attention-flow_dead_jobs", "receiver answered 500"),
        ("attention-flow_failures", "1 failed runs in a row"),
        ("attention-webhook_disabled", "410 Gone"),
    ] {
        let at = page
            .body
            .find(class)
            .unwrap_or_else(|| panic!("{class} missing: {}", page.body));
        let row = &page.body[at..at + 600.min(page.body.len() - at)];
        assert!(row.contains(text), "{class}: {row}");
        assert!(row.contains("Acme"), "{class}: {row}");
    }
}

#[tokio::test]
async fn the_jobs_page_shows_depth_oldest_due_and_dead_jobs_and_retries_one() {
    let w = world().await;
    w.app
        .execute(&format!(
            "INSERT INTO jobs (tenant_id, kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at) \
             VALUES ({}, 'inventory', '{{}}', 'queued', 100, 0, 5, 0, 0)",
            w.tenant
        ))
        .await;
    let page = w.staff.get("/admin/jobs").await;
    assert!(
        page.body.contains(r#"id="kind-inventory""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="oldest-due">#"#), "{}", page.body);
    assert!(page.body.contains("receiver answered 500"));
    // No reason: refused, nothing changes.
    let before = w.app.snapshot().await;
    let res = w
        .staff
        .submit(
            "/admin/jobs",
            &format!("/admin/jobs/{}/retry", w.dead_job),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(res.status, 303);
    let back = w.staff.get("/admin/jobs").await;
    assert!(back.body.contains("Give a reason"), "{}", back.body);
    assert_eq!(before, w.app.snapshot().await);
    let res = w
        .staff
        .submit(
            "/admin/jobs",
            &format!("/admin/jobs/{}/retry", w.dead_job),
            &[("reason", "receiver fixed, ticket 42")],
        )
        .await;
    assert_eq!(res.status, 303);
    let status = w
        .app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM jobs WHERE id = {} AND status = 'queued' AND attempts = 0",
            w.dead_job
        ))
        .await;
    assert_eq!(status, 1);
    assert_eq!(w.audit_count("support.job_retried").await, 1);
}

/// Submits a support action from the tenant page; returns the flash text shown after.
async fn act(w: &World, action: &str, reason: &str) -> String {
    let page = format!("/admin/tenants/{}", w.tenant);
    let res = w
        .staff
        .submit(&page, &w.path(action), &[("reason", reason)])
        .await;
    assert_eq!(res.status, 303, "{action}: {}", res.body);
    w.staff.get(&page).await.body
}

#[tokio::test]
async fn each_support_action_writes_one_audit_entry_with_its_reason_and_has_its_effect() {
    let w = world().await;
    let t = "/admin/tenants/{tenant_id}";
    let cases: &[(&str, &str)] = &[
        (
            "/connections/{connection_id}/disable",
            "support.connection_disabled",
        ),
        (
            "/connections/{connection_id}/enable",
            "support.connection_enabled",
        ),
        (
            "/connections/{connection_id}/flows/{flow}/disable",
            "support.flow_disabled",
        ),
        (
            "/connections/{connection_id}/flows/{flow}/enable",
            "support.flow_enabled",
        ),
        ("/runs/{run_id}/retry", "support.run_retried"),
        (
            "/users/{user_id}/password-reset",
            "support.password_reset_sent",
        ),
        ("/users/{user_id}/lock", "support.user_locked"),
        ("/users/{user_id}/unlock", "support.user_unlocked"),
    ];
    for (i, (route, action)) in cases.iter().enumerate() {
        let before = w.app.scalar_i64("SELECT COUNT(*) FROM audit_log").await;
        let reason = format!("ticket #{i} {action}");
        let body = act(&w, &format!("{t}{route}"), &reason).await;
        assert!(body.contains("flash-success"), "{action}: {body}");
        assert_eq!(
            w.app.scalar_i64("SELECT COUNT(*) FROM audit_log").await,
            before + 1,
            "{action} wrote one entry"
        );
        let (got, got_reason, tenant, actor): (String, String, i64, String) = match &w.app.db {
            db::Db::Sqlite(p) => sqlx::query_as("SELECT a.action, a.reason, a.tenant_id, u.email FROM audit_log a JOIN users u ON u.id = a.actor_user_id ORDER BY a.id DESC LIMIT 1").fetch_one(p).await,
            db::Db::Postgres(p) => sqlx::query_as("SELECT a.action, a.reason, a.tenant_id, u.email FROM audit_log a JOIN users u ON u.id = a.actor_user_id ORDER BY a.id DESC LIMIT 1").fetch_one(p).await,
        }
        .unwrap();
        assert_eq!(
            (got.as_str(), got_reason.as_str(), tenant, actor.as_str()),
            (
                *action,
                reason.as_str(),
                w.tenant,
                "support@cartbridge.test"
            )
        );
        // Effects.
        match *action {
            "support.connection_disabled" => assert_eq!(
                w.app
                    .scalar_i64(&format!(
                        "SELECT COUNT(*) FROM connections WHERE id = {} AND status = 'disabled'",
                        w.connection
                    ))
                    .await,
                1
            ),
            "support.connection_enabled" => assert_eq!(
                w.app
                    .scalar_i64(&format!(
                        "SELECT COUNT(*) FROM connections WHERE id = {} AND status = 'untested'",
                        w.connection
                    ))
                    .await,
                1
            ),
            "support.flow_disabled" => assert_eq!(
                w.app
                    .scalar_i64("SELECT COUNT(*) FROM flow_settings WHERE enabled = FALSE")
                    .await,
                1
            ),
            "support.flow_enabled" => assert_eq!(
                w.app
                    .scalar_i64("SELECT COUNT(*) FROM flow_settings WHERE enabled = TRUE")
                    .await,
                1
            ),
            "support.run_retried" => assert_eq!(
                w.app
                    .scalar_i64(
                        "SELECT COUNT(*) FROM jobs WHERE kind = 'inventory' AND status = 'queued'"
                    )
                    .await,
                1
            ),
            "support.password_reset_sent" => {
                let link = w.app.last_link("member@acme.test", "/password/reset").await;
                assert!(link.contains("token="));
            }
            "support.user_locked" => {
                // The member's session ended, and they cannot log in.
                let res = w.member.get(&format!("/t/{}", w.tenant)).await;
                assert_eq!(res.status, 303, "a locked user's session ends");
                assert!(res.location.unwrap_or_default().starts_with("/login"));
                let fresh = w.app.client();
                let login = fresh
                    .submit(
                        "/login",
                        "/login",
                        &[("email", "member@acme.test"), ("password", PASSWORD)],
                    )
                    .await;
                assert_eq!(login.status, 403, "{}", login.body);
                assert!(
                    login.body.contains("This account is locked"),
                    "{}",
                    login.body
                );
            }
            "support.user_unlocked" => {
                let fresh = w.app.client();
                let login = fresh
                    .submit(
                        "/login",
                        "/login",
                        &[("email", "member@acme.test"), ("password", PASSWORD)],
                    )
                    .await;
                assert_eq!(login.status, 303, "{}", login.body);
            }
            _ => unreachable!(),
        }
    }
    // The audit log shows the entries with their reasons, to staff and to the owner.
    let log = w
        .staff
        .get(&format!("/admin/audit?tenant={}&action=support.", w.tenant))
        .await;
    assert_eq!(
        log.body.matches(r#"class="audit-entry""#).count(),
        cases.len(),
        "{}",
        log.body
    );
    assert!(log.body.contains("ticket #6 support.user_locked"));
    let owners = w
        .owner
        .get(&format!("/t/{}/audit?action=support.", w.tenant))
        .await;
    assert_eq!(owners.status, 200);
    assert!(
        owners.body.contains("support@cartbridge.test (support)"),
        "{}",
        owners.body
    );
}

#[tokio::test]
async fn resend_verification_by_staff_sends_a_new_link_to_an_unconfirmed_member() {
    let w = world().await;
    let pending = w.app.client();
    w.app
        .signup(&pending, "pending@acme.test", "Pending Co")
        .await;
    let user = w
        .app
        .scalar_i64("SELECT id FROM users WHERE email = 'pending@acme.test'")
        .await;
    w.app
        .execute(&format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ({}, {user}, 'admin', 0)",
            w.tenant
        ))
        .await;
    let before = w.app.emails_to("pending@acme.test").await.len();
    let page = format!("/admin/tenants/{}", w.tenant);
    let res = w
        .staff
        .submit(
            &page,
            &format!("{page}/users/{user}/resend-verification"),
            &[("reason", "lost the email")],
        )
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(w.app.emails_to("pending@acme.test").await.len(), before + 1);
    assert_eq!(w.audit_count("support.verification_resent").await, 1);
    // A confirmed member: refused with a message, nothing written.
    let snapshot = w.app.snapshot().await;
    let body = act(
        &w,
        "/admin/tenants/{tenant_id}/users/{user_id}/resend-verification",
        "again please",
    )
    .await;
    assert!(body.contains("confirmed already"), "{body}");
    assert_eq!(snapshot, w.app.snapshot().await);
}

#[tokio::test]
async fn a_refused_action_changes_nothing_and_says_why() {
    let w = world().await;
    let before = w.app.snapshot().await;
    for (route, reason, message) in [
        (
            "/admin/tenants/{tenant_id}/connections/{connection_id}/disable",
            "",
            "Give a reason",
        ),
        (
            "/admin/tenants/{tenant_id}/connections/{connection_id}/disable",
            "a\u{7}b c",
            "control characters",
        ),
        (
            "/admin/tenants/{tenant_id}/connections/{connection_id}/enable",
            "not disabled",
            "is not disabled",
        ),
        (
            "/admin/tenants/{tenant_id}/users/{user_id}/unlock",
            "not locked",
            "not locked already",
        ),
    ] {
        let body = act(&w, route, reason).await;
        assert!(body.contains(message), "{route}: {body}");
    }
    let long = "x".repeat(501);
    let body = act(&w, "/admin/tenants/{tenant_id}/users/{user_id}/lock", &long).await;
    assert!(body.contains("500 characters"), "{body}");
    // Another tenant's connection through this tenant's path: 404.
    let page = format!("/admin/tenants/{}", w.tenant + 1);
    let res = w
        .staff
        .submit(
            &format!("/admin/tenants/{}", w.tenant),
            &format!("{page}/connections/{}/disable", w.connection),
            &[("reason", "wrong tenant")],
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(before, w.app.snapshot().await);
}

/// The admin code's dependencies, read from its source: every `crate::` path it names must
/// be in this list, and none of these (or the admin code itself) may name the vault, a
/// sealed value or a ciphertext column. A new dependency has to be added here on purpose.
const ADMIN_MAY_USE: &[&str] = &[
    "accounts",
    "admin",
    "connections",
    "context",
    "db",
    "domain",
    "error",
    "jobs",
];
const NEVER: &[&str] = &[
    "vault",
    "sealed",
    "_ct ",
    "_ct,",
    "_ct)",
    "_ct\"",
    "access_token",
    "token_ciphertext",
    "secret_ct",
    ".expose(",
    "Secret",
    "decrypt",
];

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_admin_code_has_no_path_to_the_vault() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src/admin"));
    files.extend(rust_files(&root.join("src/web/admin")));
    files.push(root.join("src/db/admin.rs"));
    files.push(root.join("src/db/audit.rs"));
    assert!(files.len() >= 6, "{files:?}");
    let mut modules = std::collections::BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for word in NEVER {
            // The doc comments say what is forbidden; only code counts.
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(!code.contains(word), "{} names {word:?}", f.display());
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + 7..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{')
                .collect();
            let name = name.trim_start_matches('{').to_owned();
            if !name.is_empty() {
                modules.insert(name);
            }
        }
        // `use crate::{a, b::c}` groups.
        if let Some(at) = text.find("use crate::{") {
            let group = &text[at + 12..];
            let group = &group[..group.find("};").unwrap_or(group.len())];
            let mut depth = 0;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => {
                        if depth == 0 && !word.trim().is_empty() {
                            modules.insert(word.trim().trim_end_matches("::").to_owned());
                        }
                        depth += 1;
                        word.clear();
                    }
                    '}' => {
                        depth -= 1;
                        word.clear();
                    }
                    ',' if depth == 0 => {
                        let w = word.trim();
                        let top = w.split("::").next().unwrap_or("");
                        if !top.is_empty() {
                            modules.insert(top.to_owned());
                        }
                        word.clear();
                    }
                    _ if depth == 0 => word.push(c),
                    _ => {}
                }
            }
            let top = word.trim().split("::").next().unwrap_or("").to_owned();
            if !top.is_empty() {
                modules.insert(top);
            }
        }
    }
    let modules: Vec<String> = modules
        .into_iter()
        .map(|m| m.split("::").next().unwrap_or("").to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    for m in &modules {
        assert!(
            ADMIN_MAY_USE.contains(&m.as_str()),
            "the admin code uses crate::{m}"
        );
    }
    // One level further: the service functions admin calls must not open secrets either.
    // `accounts` (links, limits), `jobs` (queue) and `connections::overview`/`health`
    // (statuses) are read for the vault.
    for f in [
        "src/accounts/mod.rs",
        "src/accounts/limits.rs",
        "src/jobs/mod.rs",
        "src/connections/overview.rs",
        "src/connections/health.rs",
    ] {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        assert!(!text.contains("vault"), "{f} names the vault");
    }
}
