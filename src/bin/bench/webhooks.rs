//! `bench webhooks`: the BigCommerce webhook receiver under load. Prepares a tenant, a
//! connection to the fake BigCommerce (in this process) and enables Placed Orders (so its
//! hooks are registered and the connection has its public id and secret), then starts the
//! release `cartbridge serve --workers 0` on that database and posts valid
//! `store/order/created` deliveries from `--connections` concurrent keep-alive connections.
//! Every 200 means the delivery and its processing job were committed (group commit); the
//! workers are off so that only receipt is measured (processing calls BigCommerce and runs
//! later, at its own pace). Prints deliveries per second and the p50/p99 of the 200s, and
//! checks that the inbox holds exactly one row per 200.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cartbridge::flows::{self, placed_orders::PlacedOrders};

use super::{
    fake_bigcommerce::{FakeBigCommerce, FakeStore},
    ms, percentile, serve,
};

/// Options of `bench webhooks`.
pub struct WebhooksBench {
    pub deliveries: usize,
    pub connections: usize,
    /// Deliveries per second offered (open loop); `None`: as fast as answered (closed loop).
    pub rate: Option<u32>,
    pub database_url: Option<String>,
}

pub async fn run(opts: WebhooksBench) -> anyhow::Result<()> {
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(super::STORE).allow_http_hooks());
    fake.add_token(super::STORE, super::TOKEN, &["store_v2_orders_read_only"]);
    fake.set_rate_limit(super::STORE, u32::MAX, 30_000);

    let prepared = serve::prepare(&fake, opts.database_url.as_deref()).await?;
    let (ctx, actor, connection) = (&prepared.ctx, &prepared.actor, prepared.connection);
    let mut flow = flows::config(ctx, actor.tenant_id, connection, &PlacedOrders).await?;
    flow.enabled = true;
    flows::save_config(ctx, actor, connection, &PlacedOrders, &flow).await?;
    let hooks = fake.hooks(super::STORE);
    let hook = hooks
        .iter()
        .find(|h| h["scope"] == "store/order/created")
        .context("the hook was not registered")?;
    let destination = hook["destination"].as_str().unwrap_or_default().to_owned();
    let secret = hook["headers"]["X-Cartbridge-Secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let mut server = prepared.serve(&fake, &["--workers", "0"]).await?;
    println!(
        "database {}; {} deliveries from {} concurrent connections ({}) to {destination}",
        serve::backend(&server.settings),
        opts.deliveries,
        opts.connections,
        match opts.rate {
            Some(r) => format!("open loop, {r} offered per second"),
            None => "closed loop, each as soon as the last is answered".into(),
        }
    );

    let per_client = opts.deliveries.div_ceil(opts.connections);
    let destination = Arc::new(destination);
    let secret = Arc::new(secret);
    // Open loop: connection `c` sends its `i`-th delivery at `start + (i + c / C) × C / rate`,
    // and its latency counts from then, so a slow answer that delays the next send is
    // counted against every delivery it held up (no coordinated omission).
    let interval = opts
        .rate
        .map(|r| Duration::from_secs_f64(opts.connections as f64 / f64::from(r.max(1))));
    let connections = opts.connections;
    // One client per connection, made once: the warm-up opens each keep-alive connection,
    // the measured phase reuses it.
    let clients: Vec<reqwest::Client> = (0..connections)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build())
        .collect::<Result<_, _>>()?;
    // Warm-up: five deliveries per connection, as fast as answered, not counted.
    let run_phase = |offset: usize, count: usize, interval: Option<Duration>| {
        let mut tasks = Vec::new();
        let start = tokio::time::Instant::now() + Duration::from_millis(20);
        for (c, http) in clients.iter().enumerate() {
            let (destination, secret, http) = (destination.clone(), secret.clone(), http.clone());
            let first = interval.map(|every| start + every.mul_f64(c as f64 / connections as f64));
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                for i in 0..count {
                    let n = offset + c * count + i + 1;
                    let body = format!(
                        "{{\"scope\":\"store/order/created\",\"store_id\":\"1025646\",\"data\":{{\"type\":\"order\",\"id\":{n}}},\"hash\":\"bench{n:035}\",\"created_at\":{},\"producer\":\"stores/{}\"}}",
                        chrono::Utc::now().timestamp(),
                        super::STORE
                    );
                    let t = match (first, interval) {
                        (Some(first), Some(every)) => {
                            let due = first + every * i as u32;
                            tokio::time::sleep_until(due).await;
                            due.into_std()
                        }
                        _ => Instant::now(),
                    };
                    let status = match http
                        .post(destination.as_str())
                        .header("content-type", "application/json")
                        .header("X-Cartbridge-Secret", secret.as_str())
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            s
                        }
                        Err(_) => 0,
                    };
                    if status == 200 {
                        latencies.push(t.elapsed());
                    }
                    *statuses.entry(status).or_default() += 1;
                }
                (latencies, statuses)
            }));
        }
        tasks
    };
    for t in run_phase(10_000_000, 5, None) {
        t.await?;
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for t in run_phase(0, per_client, interval) {
        let (l, s) = t.await?;
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    let ok = statuses.get(&200).copied().unwrap_or(0);
    println!("answers               {statuses:?} (0 = no answer)");
    println!("wall time             {:.2} s", wall.as_secs_f64());
    println!(
        "durable deliveries/s  {:.0}",
        ok as f64 / wall.as_secs_f64().max(1e-9)
    );
    println!(
        "latency of the 200    p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 0.999)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    server.stop();
    let check = cartbridge::db::Db::connect(&server.settings.database_url, 2).await?;
    let stored = check.count_rows("bigcommerce_inbox").await?;
    let jobs = check.count_rows("jobs").await?;
    let warm = (opts.connections * 5) as i64;
    println!(
        "stored                {} inbox rows and {} jobs for {} 200s (+{warm} warm-up)",
        stored, jobs, ok
    );
    if stored != ok as i64 + warm {
        bail!("the inbox does not hold one row per 200");
    }
    check.close().await;
    let _ = std::fs::remove_dir_all(&server.data_dir);
    Ok(())
}
