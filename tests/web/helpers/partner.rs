//! Partner API test helpers: an API client that sends only a bearer key (no cookies, as a
//! partner's server would), keys and endpoints made through the pages, and the Python
//! webhook receiver that checks signatures with the `standardwebhooks` reference library.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;

use super::{Client, TestApp, assert_shows_no_secret};

/// An API response.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl ApiResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts an RFC 9457 problem with this status and returns it.
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        let p = self.json();
        for field in ["type", "title", "detail"] {
            assert!(p[field].is_string(), "problem without {field}: {p}");
        }
        assert_eq!(p["status"], status, "{p}");
        p
    }
}

/// A partner's HTTP client: no cookie store, an optional `Authorization` header.
pub struct Api {
    base: String,
    auth: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub fn new(app: &TestApp, key: Option<&str>) -> Self {
        Self::with_header(app, key.map(|k| format!("Bearer {k}")))
    }

    /// With a raw `Authorization` value (or none).
    pub fn with_header(app: &TestApp, auth: Option<String>) -> Self {
        Self {
            base: app.base.clone(),
            auth,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> ApiResponse {
        let req = match &self.auth {
            Some(a) => req.header("authorization", a),
            None => req,
        };
        let res = req.send().await.expect("API request");
        assert!(
            res.headers().get("set-cookie").is_none(),
            "the API set a cookie"
        );
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let url = res.url().to_string();
        let body = res.text().await.expect("body");
        assert_shows_no_secret(&body, &url);
        ApiResponse {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str) -> ApiResponse {
        self.send(self.http.post(format!("{}{path}", self.base)))
            .await
    }
}

/// The text of `<code id="ID">…</code>` in a page.
pub fn code_by_id(body: &str, id: &str) -> Option<String> {
    let marker = format!("<code id=\"{id}\">");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find("</code>")? + start;
    Some(body[start..end].to_owned())
}

/// Creates an API key through the page and returns it (shown once in the answer).
pub async fn create_key(
    client: &Client,
    tenant: i64,
    name: &str,
    access: &str,
    connections: &[i64],
) -> String {
    let page = format!("/t/{tenant}/api-keys");
    let ids: Vec<String> = connections.iter().map(|c| c.to_string()).collect();
    let mut fields = vec![("name", name), ("access", access)];
    fields.extend(ids.iter().map(|i| ("connection_ids", i.as_str())));
    let res = client.submit(&page, &page, &fields).await;
    assert_eq!(res.status, 200, "key not created: {}", res.body);
    code_by_id(&res.body, "new-api-key").expect("the new key is shown")
}

/// Registers a webhook endpoint through the page; returns its id and signing secret.
pub async fn create_endpoint(
    app: &TestApp,
    client: &Client,
    tenant: i64,
    url: &str,
    types: &[&str],
) -> (i64, String) {
    let page = format!("/t/{tenant}/webhooks");
    let mut fields = vec![("url", url), ("description", "test receiver")];
    fields.extend(types.iter().map(|t| ("event_types", *t)));
    let res = client.submit(&page, &page, &fields).await;
    assert_eq!(res.status, 200, "endpoint not created: {}", res.body);
    let secret = code_by_id(&res.body, "new-secret").expect("the secret is shown");
    let id = app
        .scalar_i64(&format!(
            "SELECT MAX(id) FROM webhook_endpoints WHERE tenant_id = {tenant}"
        ))
        .await;
    (id, secret)
}

/// The Python that has `standardwebhooks` (and `schemathesis`): `CARTBRIDGE_TEST_PYTHON`,
/// else the venv `.ci/run` makes in `target/pyenv`, else `python3`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CARTBRIDGE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// The receiver process (killed when dropped) and what it has seen.
pub struct Receiver {
    pub url: String,
    child: Child,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    /// Starts the receiver on 127.0.0.1 and waits until it listens.
    pub async fn start() -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web/helpers/webhook_receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the webhook receiver (python3 with standardwebhooks: see README)");
        let stdout = child.stdout.take().expect("stdout");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let Some(port) = v["listening"].as_u64() {
                    let _ = tx.send(port);
                } else {
                    sink.lock().expect("lock").push(v);
                }
            }
        });
        let port = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await
            .expect("join")
            .expect("the webhook receiver did not start (is standardwebhooks installed?)");
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            child,
            seen,
        }
    }

    /// Sets the secret to verify with and how to answer.
    pub async fn configure(&self, config: Value) {
        let res = reqwest::Client::new()
            .put(format!("{}/__config", self.url.trim_end_matches("/hooks")))
            .json(&config)
            .send()
            .await
            .expect("configure the receiver");
        assert_eq!(res.status().as_u16(), 204);
    }

    /// Every request answered so far (not the "hanging" notes).
    pub fn answered(&self) -> Vec<Value> {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|v| v.get("answered").is_some())
            .cloned()
            .collect()
    }

    /// Every line the receiver wrote (hanging notes included).
    pub fn all(&self) -> Vec<Value> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits (up to `secs`) until `pred` holds for what was answered.
    pub async fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&[Value]) -> bool) {
        for _ in 0..secs * 20 {
            if pred(&self.answered()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver never saw {what}: {:?}", self.all());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (up to `secs`) until `sql` (a COUNT) reaches `want`.
pub async fn wait_for_count(app: &TestApp, sql: &str, want: i64, secs: u64) {
    let mut last = -1;
    for _ in 0..secs * 20 {
        last = app.scalar_i64(sql).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql} stayed at {last}, wanted {want}");
}
