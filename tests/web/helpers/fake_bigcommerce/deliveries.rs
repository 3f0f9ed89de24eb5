//! Webhook deliveries, as BigCommerce sends them: placing an order (or firing any scope)
//! POSTs `{scope, store_id, data, hash, created_at, producer}` with the hook's custom headers
//! to the destination of every *active* hook of that scope (an inactive hook's delivery is
//! dropped, as BigCommerce does once it gave up), from a task of its own. The returned
//! handle yields what each destination answered.

use super::FakeBigCommerce;
use super::order_create::create_order;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::task::JoinHandle;

/// One delivery sent (or attempted).
#[derive(Debug, Clone)]
pub struct Sent {
    #[allow(dead_code, reason = "for tests that tell hooks apart")]
    pub hook_id: i64,
    pub destination: String,
    /// The hook's custom headers, sent as they were registered.
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The destination's answer; `None` if it could not be reached.
    pub status: Option<u16>,
}

impl Sent {
    /// Sends the same delivery again (a BigCommerce retry: same `hash`); returns the status.
    pub async fn resend(&self) -> Option<u16> {
        post(&self.destination, &self.headers, &self.body).await
    }
}

static NEXT_HASH: AtomicU64 = AtomicU64::new(1);

/// A 40-hex-digit hash, unique per delivery (BigCommerce's is a SHA-1).
fn delivery_hash() -> String {
    let n = NEXT_HASH.fetch_add(1, Ordering::Relaxed);
    let t = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64;
    format!("{:016x}{:016x}{:08x}", n ^ 0x5bd1_e995, t, n as u32)
}

async fn post(destination: &str, headers: &[(String, String)], body: &Value) -> Option<u16> {
    let client = reqwest::Client::new();
    let mut req = client.post(destination).json(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req.send().await.ok().map(|r| r.status().as_u16())
}

impl FakeBigCommerce {
    /// Deletes a hook, as the merchant (or an expired app) would on the store.
    pub fn delete_hook(&self, store_hash: &str, hook_id: i64) {
        self.with_store(store_hash, |s| {
            s.hooks.remove(&hook_id);
        });
    }

    /// Places an order as `POST /v2/orders` would (same body, same checks), with
    /// `order_source` `source` (e.g. `www`, `amazon`), and fires `store/order/created`.
    /// Returns the order id and the deliveries' handle.
    pub fn place_order(
        &self,
        store_hash: &str,
        body: Value,
        source: &str,
    ) -> (i64, JoinHandle<Vec<Sent>>) {
        let id = {
            let mut st = self.lock();
            let base = st.base_url.clone();
            let Some(s) = st.stores.get_mut(store_hash) else {
                panic!("fake BigCommerce: unknown store {store_hash:?}");
            };
            match create_order(s, &body, &base, store_hash, source) {
                Ok(id) => id,
                Err(e) => panic!(
                    "fake BigCommerce: place_order rejected: {} {}",
                    e.status, e.title
                ),
            }
        };
        let handle = self.fire(
            store_hash,
            "store/order/created",
            json!({"type": "order", "id": id}),
        );
        (id, handle)
    }

    /// The deliveries of one event of `scope` with `data`, as BigCommerce would build them,
    /// one per active hook of that scope (any client id). Nothing is sent.
    pub fn deliveries_for(&self, store_hash: &str, scope: &str, data: Value) -> Vec<Sent> {
        self.with_store(store_hash, |s| {
            let store_id = s.info.store_id.to_string();
            let hash = delivery_hash();
            s.hooks
                .values()
                .filter(|h| h.is_active && h.scope == scope)
                .map(|h| Sent {
                    hook_id: h.id,
                    destination: h.destination.clone(),
                    headers: h
                        .headers
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                                .collect()
                        })
                        .unwrap_or_default(),
                    body: json!({
                        "scope": scope,
                        "store_id": store_id,
                        "data": data,
                        "hash": hash,
                        "created_at": chrono::Utc::now().timestamp(),
                        "producer": format!("stores/{store_hash}"),
                    }),
                    status: None,
                })
                .collect()
        })
    }

    /// Fires one event of `scope` with `data` (e.g. `{"type":"order","id":100}`): POSTs it
    /// to every active hook of that scope, from a task of its own.
    pub fn fire(&self, store_hash: &str, scope: &str, data: Value) -> JoinHandle<Vec<Sent>> {
        let deliveries = self.deliveries_for(store_hash, scope, data);
        tokio::spawn(async move {
            let mut out = Vec::with_capacity(deliveries.len());
            for mut d in deliveries {
                d.status = post(&d.destination, &d.headers, &d.body).await;
                out.push(d);
            }
            out
        })
    }
}
