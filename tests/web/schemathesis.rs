//! schemathesis (PyPI) against the live app, with a read_write key, over every operation of
//! `/api/v1/openapi.json`: no server errors and no response that the document does not
//! describe (status, content type, headers, body schema).
//!
//! Runs when schemathesis is installed (`.ci/run` installs it in `target/pyenv`); set
//! `CARTBRIDGE_REQUIRE_SCHEMATHESIS=1` to fail instead of skipping when it is missing.

use std::process::Command;

use cartbridge::jobs::RunMode;

use crate::{
    helpers::{
        inventory::{STORE, inventory_env},
        partner::{create_key, python},
    },
    partner_api::insert_variants,
};

/// The checks the issue asks for: server errors and conformance to the document.
pub const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance";

fn schemathesis() -> Option<std::path::PathBuf> {
    let beside = python().with_file_name("schemathesis");
    if beside.exists() {
        return Some(beside);
    }
    Command::new("schemathesis")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "schemathesis".into())
}

#[tokio::test]
async fn schemathesis_finds_no_server_errors_and_no_responses_violating_the_document() {
    let Some(bin) = schemathesis() else {
        assert!(
            std::env::var_os("CARTBRIDGE_REQUIRE_SCHEMATHESIS").is_none(),
            "schemathesis is not installed (see README: Test it)"
        );
        eprintln!("skipped: schemathesis is not installed");
        return;
    };
    let env = inventory_env(|_| {}).await;
    env.fake.generate_catalog(STORE, 20, 2);
    env.run(RunMode::Full).await;
    env.fake.update_product(
        STORE,
        env.app
            .scalar_i64("SELECT MIN(product_id) FROM inventory_products")
            .await,
        |p| {
            for v in &mut p.variants {
                v.inventory_level += 1;
            }
        },
    );
    env.run(RunMode::Full).await;
    insert_variants(&env.app, env.tenant, env.connection, 900_000_000, 300).await;
    let key = create_key(&env.client, env.tenant, "schemathesis", "read_write", &[]).await;
    let base = env.app.base.clone();
    let args = [
        "run".to_owned(),
        format!("{base}/api/v1/openapi.json"),
        "--url".into(),
        base.clone(),
        "--header".into(),
        format!("Authorization: Bearer {key}"),
        "--checks".into(),
        CHECKS.into(),
        "--generation-with-security-parameters".into(),
        "false".into(),
        "--max-examples".into(),
        "30".into(),
        "--workers".into(),
        "2".into(),
        "--seed".into(),
        "1".into(),
        // No example database (`.schemathesis/` in the working folder): every run is fresh.
        "--generation-database".into(),
        "none".into(),
        "--no-color".into(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(&args)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&key, "cbk_…");
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&key, "cbk_…");
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{stderr}"
    );
    // Every operation but the one serving the document itself, which schemathesis leaves out.
    let operations = cartbridge::web::api::API_ROUTES.len() - 1;
    assert!(
        stdout.contains(&format!("Selected: {operations}/{operations}"))
            && stdout.contains(&format!("Tested: {operations}")),
        "not every operation ran:\n{stdout}"
    );
    // Every generated case passed. (Warnings such as "missing test data" for the operations
    // whose path ids schemathesis cannot guess are printed above, not failures.)
    let cases = stdout
        .lines()
        .skip_while(|l| !l.contains("Test cases:"))
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let counts: Vec<&str> = cases.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    assert!(
        matches!(counts.as_slice(), [generated, "generated", passed, "passed"] if generated == passed),
        "some generated cases did not pass ({cases}):\n{stdout}"
    );
}
