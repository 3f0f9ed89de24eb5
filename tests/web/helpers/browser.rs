//! Headless Chromium through chromedriver and fantoccini. `Browser::start()` returns `None`
//! (and the test is skipped with a message) only when chromedriver is absent and
//! `CARTBRIDGE_REQUIRE_BROWSER` is unset; `.ci/run` sets it, so in CI a missing browser fails.
//! [`axe_source`] and [`Browser::axe_violations`] run axe-core on the current page.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Browser {
    pub async fn start() -> Option<Browser> {
        Self::start_with_env(&[]).await
    }

    /// Like `start`, with these environment variables for chromedriver and the Chromium it
    /// starts (e.g. `TZ`, the time zone the page's `Intl` reports).
    pub async fn start_with_env(env: &[(&str, &str)]) -> Option<Browser> {
        let required = std::env::var("CARTBRIDGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let Some(driver_path) = chromedriver() else {
            assert!(
                !required,
                "chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping browser test: chromedriver not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new(driver_path)
            .envs(env.iter().copied())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1200,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let mut last_error = None;
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("cannot start a WebDriver session: {last_error:?}");
    }

    /// Types `text` into the element with this id.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(fantoccini::Locator::Id(id)).await;
        let field = field.unwrap_or_else(|e| panic!("no element #{id}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into #{id}: {e}"));
    }

    /// Empties the field with this id, then types `text` into it.
    pub async fn replace(&self, id: &str, text: &str) {
        let field = self.client.find(fantoccini::Locator::Id(id)).await;
        let field = field.unwrap_or_else(|e| panic!("no element #{id}: {e}"));
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear #{id}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into #{id}: {e}"));
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("cannot run {script:?}: {e}"))
    }

    /// Clicks the element with this id.
    pub async fn click(&self, id: &str) {
        let element = self.client.find(fantoccini::Locator::Id(id)).await;
        let element = element.unwrap_or_else(|e| panic!("no element #{id}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click #{id}: {e}"));
    }

    /// The visible text of the first element matching the CSS selector. A page that
    /// redraws itself (live run or PO status) can replace the element between finding and
    /// reading it: a stale element is found again, a few times.
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            let element = self.client.find(fantoccini::Locator::Css(css)).await;
            let element = element.unwrap_or_else(|e| panic!("no element {css}: {e}"));
            match element.text().await {
                Ok(text) => return text,
                Err(e) if tries < 20 && e.to_string().contains("stale element") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("no text in {css}: {e}"),
            }
        }
    }

    /// Waits until the browser has navigated to `url` (a click only starts a navigation).
    pub async fn arrive(&self, url: &str) {
        let target = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_url(&target)
            .await
            .unwrap_or_else(|e| panic!("never reached {url}: {e}"));
    }

    /// Saves a PNG of the current page to `target/screenshots/NAME.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Every violation axe-core (`axe_source`) finds on the current page, as
    /// `impact rule: help — first nodes`.
    pub async fn axe_violations(&self, axe: &str) -> Vec<String> {
        self.client
            .execute(&format!("{axe}\n;return true;"), Vec::new())
            .await
            .expect("inject axe-core");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((r) => done(r.violations
                     .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)))
                   .catch((e) => done([`axe failed: ${e}`]));",
                Vec::new(),
            )
            .await
            .expect("run axe-core");
        serde_json::from_value(found.clone())
            .unwrap_or_else(|e| panic!("axe-core answered {found}: {e}"))
    }

    pub async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// axe-core's script, installed by `npm ci --prefix tests/web/assets` (`.ci/run` does it);
/// `None` (the check skipped, with a message) when it is missing and
/// `CARTBRIDGE_REQUIRE_BROWSER` is unset.
pub fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/web/assets/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            let required = std::env::var("CARTBRIDGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{}: {e} (run npm ci --prefix tests/web/assets)",
                path.display()
            );
            eprintln!("skipping the axe-core check: {} missing", path.display());
            None
        }
    }
}
