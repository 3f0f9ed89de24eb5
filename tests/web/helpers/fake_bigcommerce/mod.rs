//! An in-process fake of the BigCommerce REST API (the parts cartbridge uses), for
//! integration tests. Start it with [`FakeBigCommerce::start`], seed stores, tokens and
//! data, point the app at [`FakeBigCommerce::api_url`], and inspect
//! [`FakeBigCommerce::requests`] afterwards.
//!
//! Shapes follow the OpenAPI files in `shared/bigcommerce/spec/reference/`: v2 money is a
//! 4-decimal string, v2 dates are RFC-2822, v3 dates ISO-8601, v3 lists carry
//! `meta.pagination`, v2 errors are `[{"status","message"}]` arrays and v3 errors are
//! `{"status","title","type","errors"}` objects.
//!
//! Layout: this file holds the server and the public API that is not about one resource;
//! `server.rs` records, faults and routes each request (`routes.rs`) to one file per
//! resource (`catalog`, `orders` with `order_create`, `shipments`, `customers`, `hooks`,
//! `channels`, `store`), each with the seeding helpers of its resource. `models.rs` holds
//! the seed types, `json.rs` their rendering, `state.rs`, `rate.rs` and `faults.rs` the
//! rest.

mod catalog;
mod channels;
mod customers;
mod deliveries;
mod faults;
mod hooks;
mod json;
mod models;
mod order_create;
mod orders;
mod paging;
mod query;
mod rate;
mod reply;
mod routes;
mod server;
mod shipment_seed;
mod shipments;
mod state;
mod store;
mod values;

pub use deliveries::Sent;
pub use faults::Fault;
pub use models::{FakeChannel, FakeCustomer, FakeProduct, FakeStore, FakeVariant};
pub use server::RecordedRequest;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use server::dispatch;
use state::{State, StoreState, TokenInfo, lock};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use values::fnv;

/// The fake server. Dropping it stops the server too (without waiting).
pub struct FakeBigCommerce {
    base_url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl FakeBigCommerce {
    /// Binds 127.0.0.1:0 and runs the server (one worker) on the current tokio runtime.
    pub async fn start() -> FakeBigCommerce {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("fake BigCommerce: bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("fake BigCommerce: local_addr")
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            base_url: base_url.clone(),
            stores: HashMap::new(),
            tokens: HashMap::new(),
            rates: HashMap::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            next_seq: 1,
            latency: Duration::ZERO,
            in_flight: 0,
            max_in_flight: 0,
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .default_service(web::to(dispatch))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("fake BigCommerce: listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeBigCommerce {
            base_url,
            state,
            handle,
        }
    }

    /// `http://127.0.0.1:PORT`; the API lives under `/stores/{hash}/v2|v3/...`.
    pub fn api_url(&self) -> String {
        self.base_url.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn with_store<R>(&self, store_hash: &str, f: impl FnOnce(&mut StoreState) -> R) -> R {
        let mut st = self.lock();
        match st.stores.get_mut(store_hash) {
            Some(s) => f(s),
            None => panic!("fake BigCommerce: unknown store {store_hash:?} (call add_store first)"),
        }
    }

    /// Adds a store (or replaces the settings of an existing one, keeping its data).
    /// A new store has channel 1 (the BigCommerce storefront).
    pub fn add_store(&self, store: FakeStore) {
        let mut st = self.lock();
        match st.stores.get_mut(&store.hash) {
            Some(s) => s.info = store,
            None => {
                let hash = store.hash.clone();
                st.stores.insert(hash, StoreState::new(store));
            }
        }
    }

    /// Registers an access token for a store. Each token gets its own client id
    /// (like a store-level API account); see [`Self::add_token_with_client_id`].
    pub fn add_token(&self, store_hash: &str, token: &str, scopes: &[&str]) {
        let client_id = format!("fakeclient{:016x}", fnv(token));
        self.add_token_with_client_id(store_hash, token, &client_id, scopes);
    }

    /// Registers a token with an explicit client id (app-level tokens of one app share it;
    /// webhooks are visible per client id).
    pub fn add_token_with_client_id(
        &self,
        store_hash: &str,
        token: &str,
        client_id: &str,
        scopes: &[&str],
    ) {
        self.lock().tokens.insert(
            token.to_string(),
            TokenInfo {
                store_hash: store_hash.to_string(),
                client_id: client_id.to_string(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    /// Deletes a token, as when the merchant deletes the API account or uninstalls the
    /// app: the token answers 401 from now on and, when no other token of the same client
    /// id remains for the store, that client's webhooks are deleted.
    pub fn remove_token(&self, token: &str) {
        let mut st = self.lock();
        if let Some(t) = st.tokens.remove(token) {
            let still_used = st
                .tokens
                .values()
                .any(|o| o.store_hash == t.store_hash && o.client_id == t.client_id);
            if !still_used && let Some(s) = st.stores.get_mut(&t.store_hash) {
                s.hooks.retain(|_, h| h.client_id != t.client_id);
            }
        }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Waits until a request recorded after the first `after` matches `wanted` (requests
    /// are recorded on arrival, before any latency or fault holds them); panics after 10 s.
    pub async fn wait_for_request(&self, after: usize, wanted: impl Fn(&RecordedRequest) -> bool) {
        for _ in 0..1000 {
            if self.lock().requests.iter().skip(after).any(&wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the awaited request never reached the fake");
    }

    /// How many recorded requests were answered `status` (e.g. 429), faults included.
    pub fn count_answered(&self, status: u16) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    /// The most requests the fake was handling at once since it started (or since
    /// [`Self::clear_requests`]), counted from arrival to the answer, latency included.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// Delays every answer by `latency` (before the request is processed, so the store's
    /// state changes after the delay), like a distant BigCommerce. Requests are still
    /// served concurrently. `Duration::ZERO` (the default) turns it off.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Forgets the recorded requests and the peak of [`Self::max_in_flight`].
    pub fn clear_requests(&self) {
        let mut st = self.lock();
        st.requests.clear();
        st.max_in_flight = st.in_flight;
    }

    /// Stops the server (open connections are dropped).
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

impl Drop for FakeBigCommerce {
    fn drop(&mut self) {
        // The stop command is sent eagerly; the returned future only awaits completion.
        drop(self.handle.stop(false));
    }
}
