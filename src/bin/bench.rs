//! `bench`: measures cartbridge against a generated catalog served by the fake BigCommerce
//! (the same fake the integration tests use) running in a child process, so that the
//! figures printed are cartbridge's own: HTTP requests, wall time, products per second and
//! peak memory (VmHWM) of the syncing process. `--latency-ms` delays every answer of the
//! fake and `--quota N/WINDOW_MS` gives the store BigCommerce's quota windows; each run then
//! also prints the requests answered 429 and the wall time against two bounds: the
//! sequential one (requests × latency) and the quota one (requests ÷ allowed rate).
//!
//! ```text
//! cargo run --release --bin bench -- inventory --products 100000 [--variants 3] [--page-size 250]
//!     [--latency-ms 500] [--quota 150/30000]
//! cargo run --release --bin bench -- api --variants 300000 [--clients 50]
//! cargo run --release --bin bench -- webhooks [--deliveries 50000] [--connections 64] [--rate 5000] [--database-url postgres://…]
//! cargo run --release --bin bench -- orders [--pos 1000] [--clients 16] [--latency-ms 200] [--database-url postgres://…]
//! ```

#![allow(clippy::print_stdout)]

#[path = "../../tests/web/helpers/fake_bigcommerce/mod.rs"]
#[allow(clippy::all, clippy::pedantic, unused)]
mod fake_bigcommerce;

#[path = "bench/api.rs"]
mod api;

#[path = "bench/webhooks.rs"]
mod webhooks;

#[path = "bench/orders.rs"]
mod orders;

#[path = "bench/serve.rs"]
mod serve;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    process::{ChildStdin, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cartbridge::{
    accounts::members::Actor,
    config::Settings,
    connections::store::{self, ConnectionInput},
    db,
    domain::{AuthType, ConnectionName, Role, Scopes, Secret, StoreHash},
    flows::{self, FlowError, inventory::Inventory},
    jobs::RunMode,
    startup,
};
use clap::{Parser, Subcommand};

/// A `cartbridge serve` child of a benchmark, killed (and reaped) when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const STORE: &str = "bench1";
const TOKEN: &str = "bench-token";

#[derive(Parser)]
#[command(about = "cartbridge benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Get Inventory over a generated catalog: a first full sync, a second full sync
    /// (nothing changed, so every product is compared), then an incremental run.
    Inventory {
        /// Products in the catalog.
        #[arg(long, default_value_t = 10_000)]
        products: usize,
        /// Variants per product (1 = simple products).
        #[arg(long, default_value_t = 3)]
        variants: usize,
        /// Products per request (1-250).
        #[arg(long, default_value_t = 250)]
        page_size: u32,
        /// Database URL (default: a new SQLite file in a temporary folder).
        #[arg(long)]
        database_url: Option<String>,
        /// Milliseconds the fake BigCommerce waits before answering each request.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// The store's quota, as REQUESTS/WINDOW_MS (BigCommerce Standard: 150/30000).
        /// Default: no quota.
        #[arg(long, value_parser = parse_quota)]
        quota: Option<Quota>,
    },
    /// The partner API over a large snapshot: a full `/inventory` walk, one `limit=500`
    /// page under concurrent clients (p50/p99), and the streamed CSV export.
    Api {
        /// Variants in the snapshot.
        #[arg(long, default_value_t = 300_000)]
        variants: i64,
        /// Concurrent API clients.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Requests each client sends.
        #[arg(long, default_value_t = 20)]
        requests: usize,
        /// Database URL (default: a new SQLite file in a temporary folder).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The BigCommerce webhook receiver: valid deliveries from concurrent connections to
    /// the release `cartbridge serve` (deliveries/s, p50/p99 of the 200).
    Webhooks {
        /// Deliveries to post.
        #[arg(long, default_value_t = 50_000)]
        deliveries: usize,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Offered load in deliveries per second, spread evenly over the connections, each
        /// latency counted from when its delivery was due (open loop). Without it, every
        /// connection posts its next delivery as soon as the last is answered (closed loop:
        /// the most the server can take).
        #[arg(long)]
        rate: Option<u32>,
        /// Database URL (default: a new SQLite file in a temporary folder).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Send Orders: purchase orders POSTed to the release `cartbridge serve` until each is a
    /// BigCommerce order on the fake (POs/s from API acceptance to order).
    Orders {
        /// Purchase orders to send.
        #[arg(long, default_value_t = 1_000)]
        pos: usize,
        /// Concurrent API clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Delay of every answer of the fake BigCommerce.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Database URL (default: a new SQLite file in a temporary folder).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// (internal) Serves the HTTP API over a prepared database; prints its address.
    #[command(hide = true)]
    ApiServer {
        #[arg(long)]
        data_dir: String,
        #[arg(long)]
        database_url: String,
    },
    /// (internal) Serves the fake BigCommerce with a generated catalog; prints its URL,
    /// then answers each `STATS` line on stdin with what it saw since the last one.
    #[command(hide = true)]
    Fake {
        #[arg(long)]
        products: usize,
        #[arg(long)]
        variants: usize,
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long, value_parser = parse_quota)]
        quota: Option<Quota>,
    },
}

/// A rate-limit quota: `requests` per window of `window_ms`.
#[derive(Debug, Clone, Copy)]
struct Quota {
    requests: u32,
    window_ms: u64,
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.requests, self.window_ms)
    }
}

fn parse_quota(raw: &str) -> Result<Quota, String> {
    let invalid = || format!("{raw:?}: expected REQUESTS/WINDOW_MS, e.g. 150/30000");
    let (requests, window_ms) = raw.split_once('/').ok_or_else(invalid)?;
    let requests: u32 = requests.trim().parse().map_err(|_| invalid())?;
    let window_ms: u64 = window_ms.trim().parse().map_err(|_| invalid())?;
    if requests == 0 || window_ms == 0 {
        return Err(invalid());
    }
    Ok(Quota {
        requests,
        window_ms,
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        BenchCommand::Fake {
            products,
            variants,
            latency_ms,
            quota,
        } => runtime.block_on(serve_fake(products, variants, latency_ms, quota)),
        BenchCommand::Inventory {
            products,
            variants,
            page_size,
            database_url,
            latency_ms,
            quota,
        } => runtime.block_on(bench_inventory(
            Catalog { products, variants },
            page_size,
            database_url,
            FakeSetup { latency_ms, quota },
        )),
        BenchCommand::Api {
            variants,
            clients,
            requests,
            database_url,
        } => runtime.block_on(api::run(api::ApiBench {
            variants,
            clients,
            requests_per_client: requests,
            database_url,
        })),
        BenchCommand::Webhooks {
            deliveries,
            connections,
            rate,
            database_url,
        } => runtime.block_on(webhooks::run(webhooks::WebhooksBench {
            deliveries,
            connections,
            rate,
            database_url,
        })),
        BenchCommand::Orders {
            pos,
            clients,
            latency_ms,
            database_url,
        } => runtime.block_on(orders::run(orders::OrdersBench {
            pos,
            clients,
            latency_ms,
            database_url,
        })),
        BenchCommand::ApiServer {
            data_dir,
            database_url,
        } => runtime.block_on(api::serve(data_dir, database_url)),
    }
}

/// The generated catalog's size.
#[derive(Debug, Clone, Copy)]
struct Catalog {
    products: usize,
    variants: usize,
}

/// How the fake BigCommerce answers: its latency and the store's quota.
#[derive(Debug, Clone, Copy)]
struct FakeSetup {
    latency_ms: u64,
    quota: Option<Quota>,
}

/// The child: a fake store with `products` generated products, answering after
/// `latency_ms`, with `quota` (default: unlimited).
async fn serve_fake(
    products: usize,
    variants: usize,
    latency_ms: u64,
    quota: Option<Quota>,
) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let fake = fake_bigcommerce::FakeBigCommerce::start().await;
    fake.add_store(fake_bigcommerce::FakeStore::new(STORE));
    fake.add_token(STORE, TOKEN, &["store_v2_products_read_only"]);
    match quota {
        Some(q) => fake.set_rate_limit(STORE, q.requests, q.window_ms),
        // By default the benchmark measures cartbridge, not BigCommerce's quota (150 per
        // 30 s on most plans, which would make any catalog take minutes by design).
        None => fake.set_rate_limit(STORE, u32::MAX, 30_000),
    }
    fake.set_latency(Duration::from_millis(latency_ms));
    fake.generate_catalog(STORE, products, variants);
    println!("READY {}", fake.api_url());
    std::io::stdout().flush()?;
    // Serve until the parent closes our stdin; answer its STATS lines meanwhile.
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "STATS" {
            println!(
                "STATS {} {} {}",
                fake.requests().len(),
                fake.count_answered(429),
                fake.max_in_flight()
            );
            std::io::stdout().flush()?;
            fake.clear_requests();
        }
    }
    Ok(())
}

/// What the fake saw between two [`FakeChild::stats`] calls.
#[derive(Debug, Default, Clone, Copy)]
struct FakeStats {
    requests: u64,
    rate_limited: u64,
    max_in_flight: u64,
}

/// The fake BigCommerce child process and its stdin/stdout protocol.
struct FakeChild {
    process: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    api_url: String,
}

impl FakeChild {
    fn start(catalog: Catalog, setup: FakeSetup) -> anyhow::Result<Self> {
        let mut args = vec![
            "fake".to_owned(),
            "--products".to_owned(),
            catalog.products.to_string(),
            "--variants".to_owned(),
            catalog.variants.to_string(),
            "--latency-ms".to_owned(),
            setup.latency_ms.to_string(),
        ];
        if let Some(quota) = setup.quota {
            args.extend(["--quota".to_owned(), quota.to_string()]);
        }
        let mut process = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the fake BigCommerce")?;
        let stdin = process.stdin.take();
        let mut stdout = BufReader::new(process.stdout.take().context("child stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(api_url) = line.trim().strip_prefix("READY ") else {
            bail!("the fake BigCommerce did not start: {line:?}");
        };
        let api_url = api_url.to_owned();
        Ok(Self {
            process,
            stdin,
            stdout,
            api_url,
        })
    }

    fn pid(&self) -> String {
        self.process.id().to_string()
    }

    /// What the fake saw since the previous call (or since it started).
    fn stats(&mut self) -> anyhow::Result<FakeStats> {
        let stdin = self.stdin.as_mut().context("the fake's stdin is closed")?;
        stdin.write_all(b"STATS\n")?;
        stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let numbers: Vec<u64> = line
            .trim()
            .strip_prefix("STATS ")
            .with_context(|| format!("unexpected answer from the fake: {line:?}"))?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let [requests, rate_limited, max_in_flight] = numbers[..] else {
            bail!("unexpected answer from the fake: {line:?}");
        };
        Ok(FakeStats {
            requests,
            rate_limited,
            max_in_flight,
        })
    }

    /// Closes its stdin, so it exits, and waits for it.
    fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.process.wait();
    }
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Linux reports in USER_HZ, which is 100 on every mainstream architecture.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn bench_inventory(
    catalog: Catalog,
    page_size: u32,
    database_url: Option<String>,
    setup: FakeSetup,
) -> anyhow::Result<()> {
    let Catalog { products, variants } = catalog;
    println!("generating {products} products × {variants} variants in the fake BigCommerce…");
    println!(
        "fake latency {} ms, quota {}",
        setup.latency_ms,
        setup
            .quota
            .map_or_else(|| "none".to_owned(), |q| format!("{q} (requests/ms)"))
    );
    let mut fake = FakeChild::start(catalog, setup)?;
    let fake_pid = fake.pid();
    let api_url = fake.api_url.clone();

    let data_dir = tempfile_dir()?;
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir.display().to_string());
    raw.insert("CARTBRIDGE_BIGCOMMERCE_API_URL", api_url);
    if let Some(url) = database_url {
        raw.insert("CARTBRIDGE_DATABASE_URL", url);
    }
    let mut settings = Settings::from_values(&raw)?;
    settings.jobs.workers = 1;
    settings.jobs.poll = Duration::from_millis(20);
    let master_key = startup::load_master_key(&settings)?;
    let database = startup::open_database(&settings, 5).await?;
    let ctx = std::sync::Arc::new(
        startup::build_context(
            &settings,
            master_key,
            database.clone(),
            "http://localhost".parse()?,
        )
        .await?,
    );
    let actor = bench_owner(&ctx.db).await?;
    let input = ConnectionInput {
        name: ConnectionName::parse("Bench store")?,
        auth_type: AuthType::Token,
        store_hash: StoreHash::parse(STORE)?,
        oauth_client_id: None,
        api_client_id: Some("bench".into()),
        token: Some(Secret::new(TOKEN.into())),
        scopes: Scopes::defaults(),
    };
    let connection = store::create(&ctx, &actor, &input).await?;
    let mut flow = flows::config(&ctx, actor.tenant_id, connection, &Inventory).await?;
    flow.values
        .insert("page_size".into(), serde_json::Value::from(page_size));
    flows::save_config(&ctx, &actor, connection, &Inventory, &flow).await?;
    let jobs = cartbridge::jobs::start(ctx.clone(), &settings.jobs);
    let baseline = peak_memory_mib();
    println!("peak memory before the sync: {baseline:.1} MiB");

    for (label, mode) in [
        ("first full", RunMode::Full),
        ("second full (nothing changed)", RunMode::Full),
        ("incremental (nothing changed)", RunMode::Auto),
    ] {
        let requests_before = ctx.bigcommerce.requests_sent();
        let cpu_before = (cpu_seconds("self"), cpu_seconds(&fake_pid));
        let started = Instant::now();
        // The previous job is marked done a moment after its run finished.
        let job = loop {
            match flows::run_now(&ctx, &actor, connection, &Inventory, mode).await {
                Err(FlowError::AlreadyQueued) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => break other?,
            }
        };
        let run = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let newest = db::runs::list_for_connection(&ctx.db, actor.tenant_id, connection, 1, 0)
                .await?
                .into_iter()
                .next();
            if let Some(run) = newest.filter(|r| r.job_id == Some(job) && r.is_finished()) {
                break run;
            }
        };
        let wall = started.elapsed();
        let requests = ctx.bigcommerce.requests_sent() - requests_before;
        let seen = fake.stats()?;
        if run.status != "succeeded" {
            bail!(
                "the {label} run {}: {}",
                run.status,
                run.error.unwrap_or_default()
            );
        }
        let snapshot = ctx.db.count_rows("inventory_products").await?;
        let variant_rows = ctx.db.count_rows("inventory_variants").await?;
        println!("\n{label} run ({} mode)", run.mode);
        println!("  products in catalog   {products} ({variants} variants each)");
        println!("  page size             {page_size}");
        println!(
            "  HTTP requests         {requests} (ceil({products}/{page_size}) = {})",
            products.div_ceil(page_size as usize)
        );
        println!(
            "  answered 429          {} of the {} requests the fake saw ({} at most at once)",
            seen.rate_limited, seen.requests, seen.max_in_flight
        );
        println!("  wall time             {:.2} s", wall.as_secs_f64());
        print_bounds(requests, wall, setup);
        println!(
            "  products per second   {:.0}",
            run.fetched as f64 / wall.as_secs_f64().max(1e-9)
        );
        println!(
            "  counts                fetched {} created {} updated {} unchanged {} deleted {}",
            run.fetched, run.created, run.updated, run.unchanged, run.deleted
        );
        println!("  snapshot              {snapshot} products, {variant_rows} variants");
        println!(
            "  CPU                   cartbridge {:.1} s, fake BigCommerce {:.1} s",
            cpu_seconds("self") - cpu_before.0,
            cpu_seconds(&fake_pid) - cpu_before.1
        );
        println!("  peak memory (VmHWM)   {:.1} MiB", peak_memory_mib());
    }
    jobs.shutdown().await;
    fake.stop();
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

/// The wall time against the sequential bound (every request waits the latency, one after
/// another) and the quota bound (requests ÷ allowed rate), when there is one.
fn print_bounds(requests: u64, wall: Duration, setup: FakeSetup) {
    let wall = wall.as_secs_f64();
    let line = |name: &str, bound_s: f64, how: String| {
        println!(
            "  {name:<21} {bound_s:.2} s ({how}); wall ÷ bound = {:.2}",
            wall / bound_s
        );
    };
    if setup.latency_ms > 0 {
        let bound = requests as f64 * setup.latency_ms as f64 / 1000.0;
        line(
            "sequential bound",
            bound,
            format!("{requests} × {} ms", setup.latency_ms),
        );
    }
    if let Some(q) = setup.quota {
        let bound = requests as f64 * q.window_ms as f64 / f64::from(q.requests) / 1000.0;
        line(
            "quota bound",
            bound,
            format!("{requests} × {} ms / {}", q.window_ms, q.requests),
        );
    }
}

/// A tenant and its owner, straight in the database (the benchmark has no browser).
async fn bench_owner(database: &db::Db) -> anyhow::Result<Actor> {
    let (tenant_id, user_id) = db::tenants::create_with_owner(
        database,
        &db::tenants::NewOwner {
            company: "Bench",
            email: "bench@example.com",
            password_hash: "-",
            verify_token_hash: "-",
            verify_expires_at: 0,
        },
    )
    .await?;
    Ok(Actor {
        tenant_id,
        tenant_name: "Bench".into(),
        user_id,
        email: "bench@example.com".into(),
        role: Role::Owner,
    })
}

/// The `p` quantile (0–1) of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Milliseconds, for printing.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A fresh folder under the system temp dir.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "cartbridge-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
