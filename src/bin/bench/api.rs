//! `bench api`: the partner API over a large snapshot. Seeds `--variants` variants (default
//! 300,000) straight into the database, starts the HTTP server in a child process (so its
//! memory is measured alone), then measures:
//! - a full walk of `/inventory` with `limit=500` by one client (rows per second);
//! - one `limit=500` page under 50 concurrent clients (p50/p99 latency, rows per second);
//! - the streamed CSV export of every variant (time, size, the server's peak memory).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, bail};
use cartbridge::{
    config::Settings,
    db::Db,
    partner_api::keys::{self, Access, NewKey},
    startup,
};

use super::percentile;

/// Options of `bench api`.
pub struct ApiBench {
    pub variants: i64,
    pub clients: usize,
    pub requests_per_client: usize,
    pub database_url: Option<String>,
}

/// The child: the real HTTP server over the prepared database; prints its address.
pub async fn serve(data_dir: String, database_url: String) -> anyhow::Result<()> {
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir);
    raw.insert("CARTBRIDGE_DATABASE_URL", database_url);
    raw.insert("CARTBRIDGE_LISTEN", "127.0.0.1:0".into());
    raw.insert("CARTBRIDGE_WORKERS", "0".into());
    let settings = Settings::from_values(&raw)?;
    let app = startup::Application::build(settings).await?;
    println!("READY {}", app.address());
    std::io::stdout().flush()?;
    let server = tokio::spawn(app.run_until_stopped());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    server.abort();
    Ok(())
}

fn peak_memory_of(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn seed(database: &Db, tenant: i64, connection: i64, variants: i64) -> anyhow::Result<()> {
    const PER_PRODUCT: i64 = 3;
    const CHUNK: i64 = 3_000;
    let mut next = 1;
    while next <= variants {
        let last = (next + CHUNK - 1).min(variants);
        let mut products = Vec::new();
        let mut rows = Vec::new();
        for v in next..=last {
            let p = (v - 1) / PER_PRODUCT + 1;
            if (v - 1) % PER_PRODUCT == 0 {
                products.push(format!(
                    "({tenant}, {connection}, {p}, 'P-{p:07}', 'Generated Product {p:07}', 19.99, 0, 'variant', TRUE, 1700000000, 1700000000)"
                ));
            }
            rows.push(format!(
                "({tenant}, {connection}, {v}, {p}, 'P-{p:07}-{}', 'Size: {}', NULL, {}, {})",
                (v - 1) % PER_PRODUCT + 1,
                ["Small", "Medium", "Large"][((v - 1) % PER_PRODUCT) as usize],
                v % 100,
                v % 100
            ));
        }
        let products_sql = format!(
            "INSERT INTO inventory_products (tenant_id, connection_id, product_id, sku, name, price, \
             inventory_level, inventory_tracking, is_visible, date_modified, synced_at) VALUES {} \
             ON CONFLICT DO NOTHING",
            products.join(", ")
        );
        let variants_sql = format!(
            "INSERT INTO inventory_variants (tenant_id, connection_id, variant_id, product_id, sku, \
             label, price, inventory_level, stock) VALUES {}",
            rows.join(", ")
        );
        match database {
            Db::Sqlite(p) => {
                sqlx::query(&products_sql).execute(p).await?;
                sqlx::query(&variants_sql).execute(p).await?;
            }
            Db::Postgres(p) => {
                sqlx::query(&products_sql).execute(p).await?;
                sqlx::query(&variants_sql).execute(p).await?;
            }
        }
        next = last + 1;
    }
    if let Db::Postgres(p) = database {
        // Fresh planner statistics, as after a real merge (which analyzes these tables).
        sqlx::query("ANALYZE inventory_products, inventory_variants")
            .execute(p)
            .await?;
    }
    Ok(())
}

/// Runs the benchmark and prints the figures.
pub async fn run(opts: ApiBench) -> anyhow::Result<()> {
    let data_dir = super::tempfile_dir()?;
    let mut raw: BTreeMap<&'static str, String> = BTreeMap::new();
    raw.insert("CARTBRIDGE_DATA_DIR", data_dir.display().to_string());
    if let Some(url) = &opts.database_url {
        raw.insert("CARTBRIDGE_DATABASE_URL", url.clone());
    }
    let settings = Settings::from_values(&raw)?;
    let database_url = settings.database_url.expose().to_owned();
    let master_key = startup::load_master_key(&settings)?;
    let database = startup::open_database(&settings, 5).await?;
    let ctx = startup::build_context(
        &settings,
        master_key,
        database.clone(),
        "http://localhost".parse()?,
    )
    .await?;
    let actor = super::bench_owner(&database).await?;
    let connection = {
        let sql = "INSERT INTO connections (tenant_id, name, auth_type, store_hash, created_at, updated_at) \
                   VALUES ($1, 'Bench store', 'token', 'bench1', 0, 0) RETURNING id";
        match &database {
            Db::Sqlite(p) => {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(actor.tenant_id)
                    .fetch_one(p)
                    .await?
            }
            Db::Postgres(p) => {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(actor.tenant_id)
                    .fetch_one(p)
                    .await?
            }
        }
    };
    let started = Instant::now();
    seed(&database, actor.tenant_id, connection, opts.variants).await?;
    println!(
        "seeded {} variants in {:.1} s ({})",
        database.count_rows("inventory_variants").await?,
        started.elapsed().as_secs_f64(),
        database.backend()
    );
    let (_, key) = keys::create(
        &ctx,
        &actor,
        &NewKey {
            name: "bench",
            access: Access::Read,
            connection_ids: &[],
        },
    )
    .await?;
    database.close().await;

    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "api-server",
            "--data-dir",
            &data_dir.display().to_string(),
            "--database-url",
            &database_url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the API server")?;
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().context("child stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    let Some(address) = line.trim().strip_prefix("READY ") else {
        bail!("the API server did not start: {line:?}");
    };
    // Keep the pipe drained so the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let base = format!("http://{address}/api/v1/connections/{connection}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let auth = format!("Bearer {}", key.expose());
    let before_csv = peak_memory_of(pid);
    println!("server peak memory after start: {before_csv:.1} MiB");

    // 1. The CSV export first, read as a stream, so the server's peak memory is its own.
    let started = Instant::now();
    let mut res = http
        .get(format!("{base}/inventory.csv"))
        .header("authorization", &auth)
        .send()
        .await?;
    let mut bytes = 0usize;
    let mut lines = 0usize;
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let csv = started.elapsed();
    println!("\nCSV export of every variant");
    println!(
        "  rows                  {} (+ header)",
        lines.saturating_sub(1)
    );
    println!(
        "  size                  {:.1} MiB",
        bytes as f64 / 1_048_576.0
    );
    println!("  wall time             {:.2} s", csv.as_secs_f64());
    println!(
        "  server peak memory    {:.1} MiB (before the export: {before_csv:.1} MiB)",
        peak_memory_of(pid)
    );

    // 2. One client walks every page.
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut rows = 0usize;
    let mut pages = 0usize;
    let mut cursors = Vec::new();
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/inventory?limit=500&cursor={c}"),
            None => format!("{base}/inventory?limit=500"),
        };
        let page: serde_json::Value = http
            .get(&url)
            .header("authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        rows += page["data"].as_array().map_or(0, Vec::len);
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => {
                cursors.push(c.to_owned());
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    let walk = started.elapsed();
    println!("\nfull walk, 1 client, limit=500");
    println!("  rows                  {rows} in {pages} pages");
    println!("  wall time             {:.2} s", walk.as_secs_f64());
    println!(
        "  rows per second       {:.0}",
        rows as f64 / walk.as_secs_f64()
    );

    // 3. 50 clients, each fetching pages at spread-out cursors.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let http = http.clone();
        let auth = auth.clone();
        let base = base.clone();
        let cursors = cursors.clone();
        let per = opts.requests_per_client;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per);
            let mut rows = 0usize;
            for r in 0..per {
                let i = (c * 7919 + r * 104_729) % cursors.len().max(1);
                let url = match cursors.get(i) {
                    Some(cur) => format!("{base}/inventory?limit=500&cursor={cur}"),
                    None => format!("{base}/inventory?limit=500"),
                };
                let t = Instant::now();
                let body = http
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                latencies.push(t.elapsed());
                rows += body.windows(13).filter(|w| w == b"\"variant_id\":").count();
            }
            Ok::<_, anyhow::Error>((latencies, rows))
        }));
    }
    let mut latencies = Vec::new();
    let mut concurrent_rows = 0;
    for t in tasks {
        let (l, r) = t.await??;
        latencies.extend(l);
        concurrent_rows += r;
    }
    let wall = started.elapsed();
    latencies.sort();
    println!(
        "\n{} concurrent clients, {} requests of one limit=500 page each",
        opts.clients, opts.requests_per_client
    );
    println!("  requests              {}", latencies.len());
    println!(
        "  p50 / p99 latency     {:.1} ms / {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  rows per second       {:.0}",
        concurrent_rows as f64 / wall.as_secs_f64()
    );
    println!(
        "  requests per second   {:.0}",
        latencies.len() as f64 / wall.as_secs_f64()
    );
    println!("  server peak memory    {:.1} MiB", peak_memory_of(pid));

    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
