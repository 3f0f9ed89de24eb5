//! Child processes for tests that need more than one process: the `cartbridge` binary
//! (`serve`, `worker`), or this test binary re-run as a worker with flows of the test's own.
//! A child is killed (SIGKILL) when its guard drops, even if the test panics.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use super::TestApp;

/// A child process and the file its output goes to.
pub struct ChildGuard {
    child: std::process::Child,
    log: PathBuf,
}

impl ChildGuard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's output so far (for failure messages).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (up to 60 s) for the process to exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the process did not stop within 60 s of SIGTERM:\n{}",
            self.output()
        );
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The environment of a child that works on `app`'s database and data folder (so the same
/// master key) against the BigCommerce at `api_url`, with fast job timings; `extra` last.
pub fn child_env(app: &TestApp, api_url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("CARTBRIDGE_DATABASE_URL", app.database_url.clone()),
        (
            "CARTBRIDGE_DATA_DIR",
            app.data_dir.path().display().to_string(),
        ),
        ("CARTBRIDGE_LISTEN", "127.0.0.1:0".into()),
        ("CARTBRIDGE_BIGCOMMERCE_API_URL", api_url.into()),
        ("CARTBRIDGE_BIGCOMMERCE_TIMEOUT_SECS", "5".into()),
        ("CARTBRIDGE_BIGCOMMERCE_RETRY_BASE_MS", "20".into()),
        ("CARTBRIDGE_JOB_POLL_MS", "50".into()),
        ("CARTBRIDGE_JOB_RETRY_BASE_SECS", "0".into()),
        ("CARTBRIDGE_SCHEDULER_TICK_SECS", "1".into()),
        ("CARTBRIDGE_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    vars
}

/// Starts `program args` with only `vars` of cartbridge's variables set, its output in a
/// log file under `log_dir`.
pub fn spawn(
    program: &Path,
    args: &[&str],
    vars: &[(String, String)],
    log_dir: &Path,
) -> ChildGuard {
    let log = log_dir.join(format!("child-{}.log", uuid::Uuid::new_v4().simple()));
    let out = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(program);
    for var in cartbridge::config::VARIABLES {
        cmd.env_remove(var);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)))
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out);
    ChildGuard {
        child: cmd.spawn().expect("start the child process"),
        log,
    }
}

/// A port nobody listens on now, for a child `cartbridge serve`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits (up to 30 s) until the server at `base` answers `/healthz`; panics with the
/// child's output otherwise.
pub async fn wait_healthy(base: &str, child: &ChildGuard) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start:\n{}", child.output());
}
