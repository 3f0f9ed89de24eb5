//! Finding 6: junk in a query string is the visitor's mistake, never our 5xx. Every GET
//! route of the app — the public ones as registered in `src/web/**/*.rs` (`.route("…",
//! web::get()…)`) and every tenant route of `TENANT_ROUTES` — gets control characters,
//! overlong values, broken percent-encoding and missing parameters, signed in and not.

use super::{BcTestApp, OWNER};
use crate::helpers::Client;

/// Parameter names any route reads (sent all at once; unknown ones are ignored).
const PARAMS: &[&str] = &[
    "next",
    "token",
    "code",
    "scope",
    "context",
    "account_uuid",
    "signed_payload_jwt",
    "state",
    "error",
    "error_description",
    "page",
    "status",
    "q",
];

/// Every `.route("PATH", web::get()…)` registered in the web layer's source.
fn public_get_routes() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut routes = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/web") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source: String = std::fs::read_to_string(&path)
                .expect("source")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let mut rest = source.as_str();
            while let Some(start) = rest.find(".route(\"") {
                rest = &rest[start + 8..];
                let Some(end) = rest.find('"') else { break };
                if rest[end..].starts_with("\",web::get()") {
                    routes.push(rest[..end].to_owned());
                }
                rest = &rest[end..];
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// Junk values, as they appear in the raw query string (already percent-encoded or not).
fn junk() -> Vec<String> {
    let mut values: Vec<String> = [
        "%00",
        "%01",
        "%7F",
        "%0D%0A",
        "%09",
        "%1B",
        "%E2%80%AE",
        "%E2%80%8B",
        "%ZZ",
        "%",
        "%C3%28",
        "-1",
        "99999999999999999999999",
        "%2F%2Fevil.example",
        "%5C",
    ]
    .iter()
    .map(|v| (*v).to_owned())
    .collect();
    values.push("a".repeat(4000));
    values.push("%01".repeat(1000));
    values.push(String::new());
    values
}

async fn sweep(client: &Client, who: &str, paths: &[String]) {
    for path in paths {
        let mut queries = vec![String::new()];
        for value in junk() {
            queries.push(
                PARAMS
                    .iter()
                    .map(|p| format!("{p}={value}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            );
            queries.push(format!("next={value}"));
        }
        for query in queries {
            let url = if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{query}")
            };
            let page = client.get(&url).await;
            assert!(
                page.status < 500,
                "{who} GET {}: {} {}",
                &url[..url.len().min(200)],
                page.status,
                &page.body[..page.body.len().min(300)]
            );
        }
    }
}

#[tokio::test]
async fn no_get_route_answers_5xx_to_junk_in_its_query() {
    let s = BcTestApp::spawn().await;
    let app = &s.app;
    let public = public_get_routes();
    for known in [
        "/login",
        "/bigcommerce/auth",
        "/bigcommerce/load",
        "/password/reset",
    ] {
        assert!(
            public.iter().any(|r| r == known),
            "{known} not found in {public:?}"
        );
    }
    let (owner, tenant) = app.signup_and_login("fuzz@corp.example", "Fuzz Ltd").await;
    let form = [
        ("name", "Fuzz store"),
        ("auth_type", "token"),
        ("store", "fuzz01"),
        ("api_client_id", "fuzzclient"),
        ("access_token", "fuzz-token-1"),
        ("then", "save"),
    ];
    let res = owner
        .submit(
            &format!("/t/{tenant}/connections/new"),
            &format!("/t/{tenant}/connections"),
            &form,
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let connection = app
        .scalar_i64(&format!(
            "SELECT id FROM connections WHERE tenant_id = {tenant}"
        ))
        .await
        .to_string();
    let mut paths: Vec<String> = public
        .iter()
        .map(|r| r.replace("{name}", "app.css"))
        .collect();
    for (method, route) in cartbridge::web::TENANT_ROUTES {
        if *method == "get" {
            paths.push(
                format!("/t/{tenant}{route}")
                    .replace("{connection_id}", &connection)
                    .replace("{run_id}", "1")
                    .replace("{flow}", "inventory")
                    .replace("{endpoint_id}", "1")
                    .replace("{po_id}", "1")
                    .replace("{oauth_client_id}", "1"),
            );
        }
    }
    for (method, route) in cartbridge::web::admin::ADMIN_ROUTES {
        if *method == "get" {
            paths.push(
                route
                    .replace("{tenant_id}", &tenant.to_string())
                    .replace("{run_id}", "1"),
            );
        }
    }
    assert!(paths.iter().all(|p| !p.contains('{')), "{paths:?}");
    sweep(&app.client(), "anonymous", &paths).await;
    sweep(&owner, "owner", &paths).await;
    // And as support staff (the admin pages' own junk: `tests/web/audit.rs` and `admin.rs`).
    let (staff, _) = app
        .signup_and_login("fuzz.staff@corp.example", "Staff")
        .await;
    app.execute("UPDATE users SET is_staff = TRUE WHERE email = 'fuzz.staff@corp.example'")
        .await;
    sweep(&staff, "staff", &paths).await;
    // And as someone signed in from the BigCommerce control panel.
    let bc = app.client();
    assert_eq!(s.install(&bc, OWNER).await.status, 200);
    sweep(&bc, "app user", &paths).await;
}
