//! `bench orders`: Send Orders from API acceptance to a BigCommerce order. Prepares a
//! tenant, a connection to the fake BigCommerce (in this process) with two products, Send
//! Orders enabled (guest) and a `read_write` key, then starts the release `cartbridge serve`
//! (HTTP server and job workers) on that database, POSTs `--pos` purchase orders to
//! `/api/v1/connections/{id}/purchase-orders` from `--clients` concurrent clients, and
//! waits until every one is `sent`. `--latency-ms` delays every answer of the fake. Prints
//! the acceptance rate, POs/s end to end, and checks one store order per PO.

use std::time::{Duration, Instant};

use anyhow::bail;
use cartbridge::{
    flows::{
        self,
        send_orders::{SendOrders, SendOrdersSettings},
    },
    partner_api::keys::{self, Access, NewKey},
};
use serde_json::json;

use super::{
    fake_bigcommerce::{FakeBigCommerce, FakeProduct, FakeStore, FakeVariant},
    serve,
};

/// Options of `bench orders`.
pub struct OrdersBench {
    pub pos: usize,
    pub clients: usize,
    pub latency_ms: u64,
    pub database_url: Option<String>,
}

fn po(n: usize) -> serde_json::Value {
    json!({
        "po_number": format!("BENCH-{n:06}"),
        "customer": {"email": "buyer@example.com", "first_name": "Jane", "last_name": "Doe"},
        "billing_address": {"first_name": "Jane", "last_name": "Doe", "street_1": "123 Main St",
            "city": "Austin", "state": "Texas", "zip": "78751", "country_iso2": "US"},
        "lines": [{"sku": "BENCH-1-A", "quantity": 1, "price": "12.50"},
                  {"sku": "BENCH-2", "quantity": 2}],
        "shipping_cost": "5.00"
    })
}

pub async fn run(opts: OrdersBench) -> anyhow::Result<()> {
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(super::STORE));
    fake.add_token(
        super::STORE,
        super::TOKEN,
        &[
            "store_v2_products_read_only",
            "store_v2_orders",
            "store_v2_customers",
            "store_v2_information_read_only",
        ],
    );
    fake.set_rate_limit(super::STORE, u32::MAX, 30_000);
    fake.add_product(
        super::STORE,
        FakeProduct::new("Bench A", "BENCH-1", 12.5)
            .variant(FakeVariant::new("BENCH-1-A", 1_000_000)),
    );
    fake.add_product(
        super::STORE,
        FakeProduct::new("Bench B", "BENCH-2", 4.0).inventory(1_000_000),
    );

    let prepared = serve::prepare(&fake, opts.database_url.as_deref()).await?;
    let (ctx, actor, connection) = (&prepared.ctx, &prepared.actor, prepared.connection);
    let enabled = SendOrdersSettings {
        enabled: true,
        ..SendOrdersSettings::default()
    };
    flows::save_config(ctx, actor, connection, &SendOrders, &enabled.config()).await?;
    let (_, key) = keys::create(
        ctx,
        actor,
        &NewKey {
            name: "bench",
            access: Access::ReadWrite,
            connection_ids: &[],
        },
    )
    .await?;
    let key = key.expose().to_owned();
    let server = prepared.serve(&fake, &[]).await?;
    let (base, settings) = (&server.base, &server.settings);
    let http = reqwest::Client::new();
    // Only now: the connection's Create & Test and setup above ran without latency.
    fake.set_latency(Duration::from_millis(opts.latency_ms));
    fake.clear_requests();
    println!(
        "{} POs from {} clients, fake latency {} ms, {}",
        opts.pos,
        opts.clients,
        opts.latency_ms,
        serve::backend(settings)
    );

    let url = format!("{base}/api/v1/connections/{connection}/purchase-orders");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..opts.clients {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        let (pos, clients) = (opts.pos, opts.clients);
        tasks.spawn(async move {
            let mut n = c;
            while n < pos {
                let res = http
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&po(n))
                    .send()
                    .await?;
                if res.status().as_u16() != 201 {
                    bail!("PO {n}: {} {}", res.status(), res.text().await?);
                }
                n += clients;
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let accepted = started.elapsed();
    let check = cartbridge::db::Db::connect(&settings.database_url, 2).await?;
    let sql = "SELECT COUNT(*) FROM purchase_orders WHERE status = 'sent'";
    let sent = loop {
        let sent: i64 = match &check {
            cartbridge::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
            cartbridge::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        };
        if usize::try_from(sent).unwrap_or(0) >= opts.pos {
            break sent;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("only {sent} of {} POs sent within an hour", opts.pos);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let total = started.elapsed();
    check.close().await;
    let orders = fake.orders(super::STORE).len();
    println!(
        "accepted {} POs in {:.2} s ({:.0} POs/s accepted)",
        opts.pos,
        accepted.as_secs_f64(),
        opts.pos as f64 / accepted.as_secs_f64()
    );
    println!(
        "{sent} sent in {:.2} s: {:.1} POs/s from API acceptance to BigCommerce order; {orders} orders in the fake, {} requests to it ({:.1} per PO)",
        total.as_secs_f64(),
        opts.pos as f64 / total.as_secs_f64(),
        fake.requests().len(),
        fake.requests().len() as f64 / opts.pos as f64
    );
    if orders != opts.pos {
        bail!("the fake holds {orders} orders for {} POs", opts.pos);
    }
    Ok(())
}
