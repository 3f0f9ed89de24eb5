//! `bench`: measures cartbridge against a generated catalog served by the fake BigCommerce
//! (the same fake the integration tests use) running in a child process, so that the
//! figures printed are cartbridge's own: HTTP requests, wall time, products per second and
//! peak memory (VmHWM) of the syncing process.
//!
//! ```text
//! cargo run --release --bin bench -- inventory --products 100000 [--variants 3] [--page-size 250]
//! cargo run --release --bin bench -- api --variants 300000 [--clients 50]
//! ```

#![allow(clippy::print_stdout)]

#[path = "../../tests/web/helpers/fake_bigcommerce.rs"]
#[allow(clippy::all, clippy::pedantic, unused)]
mod fake_bigcommerce;
#[path = "../../tests/web/helpers/fake_bigcommerce_models.rs"]
#[allow(clippy::all, clippy::pedantic, unused)]
mod fake_bigcommerce_models;

#[path = "bench/api.rs"]
mod api;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cartbridge::{
    accounts::members::Actor,
    config::Settings,
    connections::store::{self, ConnectionInput},
    db,
    domain::{AuthType, ConnectionName, Role, Scopes, Secret, StoreHash},
    flows::{RunMode, inventory},
    startup,
};
use clap::{Parser, Subcommand};

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
    /// (internal) Serves the HTTP API over a prepared database; prints its address.
    #[command(hide = true)]
    ApiServer {
        #[arg(long)]
        data_dir: String,
        #[arg(long)]
        database_url: String,
    },
    /// (internal) Serves the fake BigCommerce with a generated catalog; prints its URL.
    #[command(hide = true)]
    Fake {
        #[arg(long)]
        products: usize,
        #[arg(long)]
        variants: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        BenchCommand::Fake { products, variants } => {
            runtime.block_on(serve_fake(products, variants))
        }
        BenchCommand::Inventory {
            products,
            variants,
            page_size,
            database_url,
        } => runtime.block_on(bench_inventory(products, variants, page_size, database_url)),
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
        BenchCommand::ApiServer {
            data_dir,
            database_url,
        } => runtime.block_on(api::serve(data_dir, database_url)),
    }
}

/// The child: a fake store with `products` generated products and an unlimited quota.
async fn serve_fake(products: usize, variants: usize) -> anyhow::Result<()> {
    let fake = fake_bigcommerce::FakeBigCommerce::start().await;
    fake.add_store(fake_bigcommerce::FakeStore::new(STORE));
    fake.add_token(STORE, TOKEN, &["store_v2_products_read_only"]);
    // The benchmark measures cartbridge, not BigCommerce's quota (150 per 30 s on most
    // plans, which would make any catalog take minutes by design).
    fake.set_rate_limit(STORE, u32::MAX, 30_000);
    fake.generate_catalog(STORE, products, variants);
    println!("READY {}", fake.api_url());
    std::io::stdout().flush()?;
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    Ok(())
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
    products: usize,
    variants: usize,
    page_size: u32,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    println!("generating {products} products × {variants} variants in the fake BigCommerce…");
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "fake",
            "--products",
            &products.to_string(),
            "--variants",
            &variants.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the fake BigCommerce")?;
    let fake_pid = child.id().to_string();
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("child stdout")?).read_line(&mut line)?;
    let Some(api_url) = line.trim().strip_prefix("READY ") else {
        bail!("the fake BigCommerce did not start: {line:?}");
    };

    let data_dir = tempfile_dir()?;
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir.display().to_string());
    raw.insert("CARTBRIDGE_BIGCOMMERCE_API_URL", api_url.to_owned());
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
    let mut flow = inventory::settings(&ctx, actor.tenant_id, connection).await?;
    flow.page_size = page_size;
    inventory::save_settings(&ctx, &actor, connection, &flow).await?;
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
            match inventory::run_now(&ctx, &actor, connection, mode).await {
                Err(inventory::FlowError::AlreadyQueued) => {
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
        println!("  wall time             {:.2} s", wall.as_secs_f64());
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
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
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

/// A fresh folder under the system temp dir.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "cartbridge-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
