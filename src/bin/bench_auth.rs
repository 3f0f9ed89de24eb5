//! `bench_auth`: the memory-exhaustion load of issue 15 against the release binary. Starts
//! `cartbridge serve` (the binary next to this one) on a fresh SQLite data folder, sends
//! `--concurrency` concurrent signups for `--seconds`, each from its own loopback address
//! (127.x.y.z, so that the per-address signup limit does not hide the hashing bound: the
//! worst case, a botnet), while a prober times `GET /login`. Prints the answers, the peak
//! resident memory of the server during the load, `GET /login` latency, and the resident
//! memory `--settle` seconds after the load.
//!
//! ```text
//! cargo build --release --bin cartbridge --bin bench_auth
//! target/release/bench_auth [--concurrency 100] [--seconds 10] [--settle 15] [--one-address]
//! ```

#![allow(clippy::print_stdout)]

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Concurrent signups against the release binary: memory and GET /login latency")]
struct Cli {
    /// Signups in flight at once.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// How long the load lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Idle time after the load before memory is read again (the runtime's idle blocking
    /// threads, which ran the hashes, exit after 10 s and hand their memory back).
    #[arg(long, default_value_t = 15)]
    settle: u64,
    /// Send every signup from 127.0.0.1 (then the per-address limit answers most of them).
    #[arg(long)]
    one_address: bool,
}

/// The server under test, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory (VmRSS) and its high-water mark (VmHWM) of `pid`, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The n-th distinct loopback address, never 127.0.x.x (the prober's stays clean).
fn address(n: u32) -> IpAddr {
    let n = n % (250 * 250 * 250);
    let octet = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    IpAddr::V4(Ipv4Addr::new(
        127,
        octet(n / 62_500 % 250 + 1),
        octet(n / 250 % 250),
        octet(n % 250 + 2),
    ))
}

fn client(local: Option<IpAddr>) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60));
    if let Some(ip) = local {
        b = b.local_address(ip);
    }
    Ok(b.build()?)
}

/// One signup as a browser does it: GET the form (session cookie, CSRF token), POST it.
async fn signup(base: &str, http: &reqwest::Client, n: u32) -> anyhow::Result<u16> {
    let page = http.get(format!("{base}/signup")).send().await?;
    let cookie = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let body = page.text().await?;
    let marker = "name=\"csrf-token\" content=\"";
    let csrf = body
        .find(marker)
        .map(|i| &body[i + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let email = format!("bench{n}@load.example");
    let res = http
        .post(format!("{base}/signup"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email.as_str()),
            ("password", "a long enough bench password"),
            ("company", "Load Test Ltd"),
        ])
        .send()
        .await?;
    Ok(res.status().as_u16())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let exe = std::env::current_exe()?;
    let server_bin = exe.with_file_name("cartbridge");
    if !server_bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release --bin cartbridge)",
            server_bin.display()
        );
    }
    let data = std::env::temp_dir().join(format!("cartbridge-bench-auth-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let port = free_port()?;
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let child = Command::new(&server_bin)
        .arg("serve")
        .env("CARTBRIDGE_LISTEN", listen.to_string())
        .env("CARTBRIDGE_DATA_DIR", &data)
        .env("CARTBRIDGE_WORKERS", "0")
        .env("CARTBRIDGE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", server_bin.display()))?;
    let server = Server(child);
    let pid = server.0.id();
    let base = format!("http://{listen}");
    let probe = client(None)?;
    let started = Instant::now();
    while probe.get(format!("{base}/healthz")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (fresh_kib, _) = memory_kib(pid);
    // One signup first, so the baseline includes warmed-up pools; then GET /login alone.
    let _ = signup(&base, &client(None)?, u32::MAX).await;
    let mut quiet = Vec::new();
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < quiet_until {
        let t = Instant::now();
        if let Ok(r) = probe.get(format!("{base}/login")).send().await {
            let _ = r.bytes().await;
            quiet.push(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    quiet.sort();
    let (idle_kib, _) = memory_kib(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU32::new(0));
    let answers: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let peak = Arc::new(AtomicU32::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let (rss, _) = memory_kib(pid);
                peak.fetch_max(u32::try_from(rss).unwrap_or(u32::MAX), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let prober = {
        let (stop, base, probe) = (stop.clone(), base.clone(), probe.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failed = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let t = Instant::now();
                match probe.get(format!("{base}/login")).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        times.push(t.elapsed());
                    }
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (times, failed)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(cli.seconds);
    let mut load = Vec::new();
    for _ in 0..cli.concurrency {
        let (counter, answers, base) = (counter.clone(), answers.clone(), base.clone());
        let one_address = cli.one_address;
        load.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let local = if one_address { None } else { Some(address(n)) };
                let answer = match client(local) {
                    Ok(http) => match signup(&base, &http, n).await {
                        Ok(status) => status.to_string(),
                        Err(e) if e.to_string().contains("timed out") => "timeout".into(),
                        Err(_) => "error".into(),
                    },
                    Err(_) => "client error".into(),
                };
                *answers.lock().expect("lock").entry(answer).or_default() += 1;
            }
        }));
    }
    for task in load {
        task.await?;
    }
    stop.store(true, Ordering::SeqCst);
    sampler.await?;
    let (mut times, failed) = prober.await?;
    times.sort();
    let (_, hwm_kib) = memory_kib(pid);
    tokio::time::sleep(Duration::from_secs(cli.settle)).await;
    let (after_kib, _) = memory_kib(pid);
    let peak_kib = u64::from(peak.load(Ordering::SeqCst)).max(hwm_kib);

    println!(
        "{} concurrent signups for {} s ({}), against {}",
        cli.concurrency,
        cli.seconds,
        if cli.one_address {
            "all from 127.0.0.1"
        } else {
            "each from its own address"
        },
        server_bin.display()
    );
    let answers = answers.lock().expect("lock").clone();
    let total: u64 = answers.values().sum();
    println!("signups sent: {total}; answers: {answers:?}");
    println!(
        "resident memory: at start {:.1} MiB, idle after one signup {:.1} MiB, peak {:.1} MiB (VmHWM), {} s after the load {:.1} MiB",
        mib(fresh_kib),
        mib(idle_kib),
        mib(peak_kib),
        cli.settle,
        mib(after_kib)
    );
    println!(
        "GET /login before the load: {} requests, p50 {:.1} ms, p99 {:.1} ms",
        quiet.len(),
        percentile(&quiet, 0.50).as_secs_f64() * 1000.0,
        percentile(&quiet, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "GET /login during the load: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed",
        times.len(),
        percentile(&times, 0.50).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        failed
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
