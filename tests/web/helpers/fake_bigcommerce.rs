//! An in-process fake of the BigCommerce REST API (the parts cartbridge uses), for
//! integration tests. Start it with [`FakeBigCommerce::start`], seed stores, tokens and
//! data, point the app at [`FakeBigCommerce::api_url`], and inspect
//! [`FakeBigCommerce::requests`] afterwards.
//!
//! Shapes follow the OpenAPI files in `shared/bigcommerce/spec/reference/`: v2 money is a
//! 4-decimal string, v2 dates are RFC-2822, v3 dates ISO-8601, v3 lists carry
//! `meta.pagination`, v2 errors are `[{"status","message"}]` arrays and v3 errors are
//! `{"status","title","type","errors"}` objects.
#![allow(dead_code)]

use super::fake_bigcommerce_models::{
    DEFAULT_QUOTA, DEFAULT_WINDOW_MS, ERROR_TYPE, Includes, MAX_LIMIT, MAX_STOCK, MISSING_SCOPE,
    ORDER_STATUSES, Query, channel_json, customer_json, fnv, money, now_secs, num_of,
    parse_v2_date, parse_v3_date, product_json, provider_display_name, rfc2822, slug, status_name,
    store_json, str_of, trim_fields, variant_json,
};
pub use super::fake_bigcommerce_models::{
    FakeChannel, FakeCustomer, FakeOptionValue, FakeProduct, FakeStore, FakeVariant, Fault,
    RecordedRequest,
};

use super::fake_bigcommerce_models::obj as object;
use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct TokenInfo {
    store_hash: String,
    client_id: String,
    scopes: Vec<String>,
}

struct RateWindow {
    quota: u32,
    window_ms: u64,
    start: Instant,
    used: u32,
}

impl RateWindow {
    fn new(quota: u32, window_ms: u64) -> RateWindow {
        RateWindow {
            quota,
            window_ms,
            start: Instant::now(),
            used: 0,
        }
    }
    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.start).as_millis() >= u128::from(self.window_ms) {
            self.start = now;
            self.used = 0;
        }
    }
    fn reset_ms(&self, now: Instant) -> u64 {
        let elapsed = u64::try_from(now.duration_since(self.start).as_millis()).unwrap_or(u64::MAX);
        self.window_ms.saturating_sub(elapsed)
    }
    fn headers(&self, now: Instant) -> RateHeaders {
        RateHeaders {
            left: self.quota.saturating_sub(self.used),
            quota: self.quota,
            reset_ms: self.reset_ms(now),
            window_ms: self.window_ms,
        }
    }
}

#[derive(Clone, Copy)]
struct RateHeaders {
    left: u32,
    quota: u32,
    reset_ms: u64,
    window_ms: u64,
}

impl Default for RateHeaders {
    fn default() -> Self {
        RateHeaders {
            left: DEFAULT_QUOTA,
            quota: DEFAULT_QUOTA,
            reset_ms: DEFAULT_WINDOW_MS,
            window_ms: DEFAULT_WINDOW_MS,
        }
    }
}

struct OrderRec {
    id: i64,
    json: Map<String, Value>,
    date_created: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    products: Vec<Map<String, Value>>,
    addresses: Vec<Map<String, Value>>,
    shipments: Vec<Map<String, Value>>,
}

impl OrderRec {
    fn touch(&mut self) {
        self.date_modified = now_secs();
        self.json
            .insert("date_modified".into(), json!(rfc2822(&self.date_modified)));
    }
    fn get_i64(&self, key: &str) -> i64 {
        self.json.get(key).and_then(Value::as_i64).unwrap_or(0)
    }
    fn get_str(&self, key: &str) -> String {
        str_of(&self.json, key)
    }
    fn archived(&self) -> bool {
        self.json
            .get("is_deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

struct HookRec {
    id: i64,
    client_id: String,
    scope: String,
    destination: String,
    is_active: bool,
    headers: Value,
    created_at: i64,
    updated_at: i64,
}

impl HookRec {
    fn json(&self, store_hash: &str) -> Value {
        json!({
            "id": self.id,
            "client_id": self.client_id,
            "store_hash": store_hash,
            "scope": self.scope,
            "destination": self.destination,
            "is_active": self.is_active,
            "headers": self.headers,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

struct StoreState {
    info: FakeStore,
    products: BTreeMap<i64, FakeProduct>,
    /// variant id -> product id
    variant_index: HashMap<i64, i64>,
    next_product_id: i64,
    next_variant_id: i64,
    next_sku_id: i64,
    next_option_id: i64,
    next_option_value_id: i64,
    generated: usize,
    customers: BTreeMap<i64, FakeCustomer>,
    next_customer_id: i64,
    next_customer_address_id: i64,
    orders: BTreeMap<i64, OrderRec>,
    next_order_id: i64,
    next_order_product_id: i64,
    next_order_address_id: i64,
    next_order_option_id: i64,
    next_shipment_id: i64,
    hooks: BTreeMap<i64, HookRec>,
    next_hook_id: i64,
    channels: BTreeMap<i64, FakeChannel>,
    next_channel_id: i64,
}

impl StoreState {
    fn new(info: FakeStore) -> StoreState {
        let mut default_channel = FakeChannel::new(&info.name, "storefront", "bigcommerce");
        default_channel.id = 1;
        default_channel.icon_url =
            "https://storage.googleapis.com/bigcommerce-production-dev-center/images/bigcommerce_icon.svg".into();
        let mut channels = BTreeMap::new();
        channels.insert(1, default_channel);
        StoreState {
            info,
            products: BTreeMap::new(),
            variant_index: HashMap::new(),
            // Product and variant ids live in disjoint ranges so that mixing them up
            // in client code fails loudly.
            next_product_id: 101,
            next_variant_id: 1_000_001,
            next_sku_id: 501,
            next_option_id: 201,
            next_option_value_id: 301,
            generated: 0,
            customers: BTreeMap::new(),
            next_customer_id: 1,
            next_customer_address_id: 1,
            orders: BTreeMap::new(),
            next_order_id: 100,
            next_order_product_id: 1,
            next_order_address_id: 1,
            next_order_option_id: 1,
            next_shipment_id: 1,
            hooks: BTreeMap::new(),
            next_hook_id: 20_000_001,
            channels,
            next_channel_id: 664_001,
        }
    }

    fn insert_product(&mut self, mut p: FakeProduct) -> i64 {
        if p.id <= 0 {
            p.id = self.next_product_id;
        }
        self.next_product_id = self.next_product_id.max(p.id + 1);
        if p.custom_url.is_empty() {
            p.custom_url = format!("/{}/", slug(&p.name));
        }
        if p.variants.is_empty() {
            let mut v = FakeVariant::new(&p.sku, p.inventory_level);
            v.upc = p.upc.clone();
            v.mpn = p.mpn.clone();
            v.gtin = p.gtin.clone();
            p.variants.push(v);
        }
        let mut option_ids: Vec<(String, i64)> = Vec::new();
        let mut value_ids: Vec<(i64, String, i64)> = Vec::new();
        for v in &p.variants {
            for o in &v.option_values {
                if o.option_id > 0 && !option_ids.iter().any(|(n, _)| *n == o.option_display_name) {
                    option_ids.push((o.option_display_name.clone(), o.option_id));
                }
            }
        }
        for v in &mut p.variants {
            if v.id <= 0 {
                v.id = self.next_variant_id;
            }
            self.next_variant_id = self.next_variant_id.max(v.id + 1);
            v.product_id = p.id;
            if !v.option_values.is_empty() && v.sku_id.is_none() {
                v.sku_id = Some(self.next_sku_id);
                self.next_sku_id += 1;
            }
            v.inventory_level = v.inventory_level.min(MAX_STOCK);
            for o in &mut v.option_values {
                if o.option_id <= 0 {
                    o.option_id = match option_ids.iter().find(|(n, _)| *n == o.option_display_name)
                    {
                        Some((_, id)) => *id,
                        None => {
                            let id = self.next_option_id;
                            self.next_option_id += 1;
                            option_ids.push((o.option_display_name.clone(), id));
                            id
                        }
                    };
                }
                if o.id <= 0 {
                    o.id = match value_ids
                        .iter()
                        .find(|(oid, l, _)| *oid == o.option_id && *l == o.label)
                    {
                        Some((_, _, id)) => *id,
                        None => {
                            let id = self.next_option_value_id;
                            self.next_option_value_id += 1;
                            value_ids.push((o.option_id, o.label.clone(), id));
                            id
                        }
                    };
                }
            }
        }
        p.inventory_level = p.inventory_level.min(MAX_STOCK);
        let id = p.id;
        for v in &p.variants {
            self.variant_index.insert(v.id, id);
        }
        if let Some(old) = self.products.insert(id, p) {
            let keep: HashSet<i64> = self
                .products
                .get(&id)
                .map(|p| p.variants.iter().map(|v| v.id).collect())
                .unwrap_or_default();
            for v in old.variants {
                if !keep.contains(&v.id) {
                    self.variant_index.remove(&v.id);
                }
            }
        }
        id
    }

    fn remove_product(&mut self, id: i64) -> bool {
        match self.products.remove(&id) {
            Some(p) => {
                for v in p.variants {
                    self.variant_index.remove(&v.id);
                }
                true
            }
            None => false,
        }
    }

    fn insert_customer(&mut self, mut c: FakeCustomer) -> i64 {
        if c.id <= 0 {
            c.id = self.next_customer_id;
        }
        self.next_customer_id = self.next_customer_id.max(c.id + 1);
        for a in &mut c.addresses {
            if let Some(m) = a.as_object_mut() {
                if m.get("id").and_then(Value::as_i64).unwrap_or(0) <= 0 {
                    m.insert("id".into(), json!(self.next_customer_address_id));
                    self.next_customer_address_id += 1;
                }
                m.insert("customer_id".into(), json!(c.id));
            }
        }
        let id = c.id;
        self.customers.insert(id, c);
        id
    }
}

struct State {
    base_url: String,
    stores: HashMap<String, StoreState>,
    tokens: HashMap<String, TokenInfo>,
    rates: HashMap<String, RateWindow>,
    faults: Vec<ArmedFault>,
    requests: Vec<RecordedRequest>,
    next_seq: u64,
}

/// An injected fault and, for [`FakeBigCommerce::inject_when`], the substring the raw query
/// string must contain for it to fire.
struct ArmedFault {
    fault: Fault,
    query_contains: Option<String>,
}

impl ArmedFault {
    fn matches(&self, rest: &str, query: &str) -> bool {
        rest.starts_with(self.fault.path_prefix())
            && self
                .query_contains
                .as_deref()
                .is_none_or(|needle| query.contains(needle))
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

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

    /// Adds a product (ids 0 are assigned; a product without variants gets a base
    /// variant). Returns the product id.
    pub fn add_product(&self, store_hash: &str, p: FakeProduct) -> i64 {
        self.with_store(store_hash, |s| s.insert_product(p))
    }

    /// Adds `products` deterministic products. With `variants_per_product` ≤ 1 they are
    /// simple products (inventory tracked by product, one base variant); otherwise each
    /// has that many `Size` variants and inventory tracked by variant. Every 10th product
    /// is invisible; `date_modified` is 2024-01-01T00:00:00Z plus the product's index in
    /// seconds. Names/SKUs: `Generated Product 000001` / `GEN-000001[-N]`.
    pub fn generate_catalog(&self, store_hash: &str, products: usize, variants_per_product: usize) {
        const SIZES: [&str; 6] = [
            "Small",
            "Medium",
            "Large",
            "X-Large",
            "XX-Large",
            "XXX-Large",
        ];
        let base = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        self.with_store(store_hash, |s| {
            for _ in 0..products {
                s.generated += 1;
                let k = s.generated;
                let ki = k as i64;
                let price = 5.0 + ((ki * 37) % 9000) as f64 / 100.0;
                let at = base + chrono::Duration::seconds(ki);
                let mut p = FakeProduct::new(
                    &format!("Generated Product {k:06}"),
                    &format!("GEN-{k:06}"),
                    price,
                )
                .inventory((ki * 7) % 100)
                .visible(k % 10 != 0);
                p.cost_price = (price * 50.0).round() / 100.0;
                p.weight = 1.0 + (ki % 5) as f64;
                p.upc = format!("{:012}", 400_000_000_000i64 + ki);
                p.date_created = at;
                p.date_modified = at;
                if variants_per_product > 1 {
                    p.inventory_tracking = "variant".to_string();
                    p.inventory_level = 0;
                    for j in 0..variants_per_product {
                        let label = SIZES
                            .get(j)
                            .map_or_else(|| format!("Size {}", j + 1), |s| s.to_string());
                        let mut v = FakeVariant::new(
                            &format!("GEN-{k:06}-{}", j + 1),
                            (ki * 7 + j as i64 * 3) % 100,
                        )
                        .option("Size", &label);
                        if j % 2 == 1 {
                            v.price = Some(price + 2.0);
                        }
                        p.variants.push(v);
                    }
                }
                s.insert_product(p);
            }
        });
    }

    /// Applies `f` to a product and bumps `date_modified` to now (unless `f` set it).
    /// Variants added with id 0 get ids. Panics if the product doesn't exist.
    pub fn update_product(&self, store_hash: &str, id: i64, f: impl FnOnce(&mut FakeProduct)) {
        self.with_store(store_hash, |s| {
            let Some(mut p) = s.products.get(&id).cloned() else {
                panic!("fake BigCommerce: no product {id} in store {store_hash:?}");
            };
            let before = p.date_modified;
            f(&mut p);
            p.id = id;
            if p.date_modified == before {
                p.date_modified = now_secs();
            }
            s.insert_product(p);
        });
    }

    /// Deletes a product and its variants. Returns whether it existed.
    pub fn delete_product(&self, store_hash: &str, id: i64) -> bool {
        self.with_store(store_hash, |s| s.remove_product(id))
    }

    pub fn product(&self, store_hash: &str, id: i64) -> Option<FakeProduct> {
        self.with_store(store_hash, |s| s.products.get(&id).cloned())
    }

    pub fn product_count(&self, store_hash: &str) -> usize {
        self.with_store(store_hash, |s| s.products.len())
    }

    /// Adds a customer directly (no validation). Returns its id.
    pub fn add_customer(&self, store_hash: &str, c: FakeCustomer) -> i64 {
        self.with_store(store_hash, |s| s.insert_customer(c))
    }

    /// All customers as `GET /v3/customers?include=addresses` renders them.
    pub fn customers(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.customers
                .values()
                .map(|c| customer_json(c, true, false))
                .collect()
        })
    }

    /// Adds a channel (id 0 = assign). Returns its id.
    pub fn add_channel(&self, store_hash: &str, mut c: FakeChannel) -> i64 {
        self.with_store(store_hash, |s| {
            if c.id <= 0 {
                c.id = s.next_channel_id;
            }
            s.next_channel_id = s.next_channel_id.max(c.id + 1);
            let id = c.id;
            s.channels.insert(id, c);
            id
        })
    }

    /// Creates an order exactly as `POST /v2/orders` would (same body, same checks) but
    /// with `order_source` `www`, as if placed on the storefront. Panics on a validation
    /// error. Returns the order id.
    pub fn add_order(&self, store_hash: &str, body: Value) -> i64 {
        let mut st = self.lock();
        let base = st.base_url.clone();
        let Some(s) = st.stores.get_mut(store_hash) else {
            panic!("fake BigCommerce: unknown store {store_hash:?}");
        };
        match create_order(s, &body, &base, store_hash, "www") {
            Ok(id) => id,
            Err(e) => panic!(
                "fake BigCommerce: add_order rejected: {} {}",
                e.status, e.title
            ),
        }
    }

    /// Sets an order's status (and bumps its `date_modified`).
    pub fn set_order_status(&self, store_hash: &str, order_id: i64, status_id: i64) {
        self.with_store(store_hash, |s| {
            let Some(o) = s.orders.get_mut(&order_id) else {
                panic!("fake BigCommerce: no order {order_id}");
            };
            set_status(o, status_id);
            o.touch();
        });
    }

    /// All orders (archived ones included) as `GET /v2/orders/{id}` renders them.
    pub fn orders(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .values()
                .map(|o| Value::Object(o.json.clone()))
                .collect()
        })
    }

    /// Order lines as `GET /v2/orders/{id}/products` renders them.
    pub fn order_products(&self, store_hash: &str, order_id: i64) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .get(&order_id)
                .map(|o| o.products.iter().cloned().map(Value::Object).collect())
                .unwrap_or_default()
        })
    }

    /// Ships every unshipped item of the order's first shipping address (as if done in
    /// the control panel). Returns the shipment id.
    pub fn add_shipment(
        &self,
        store_hash: &str,
        order_id: i64,
        tracking_number: &str,
        shipping_provider: &str,
    ) -> i64 {
        self.with_store(store_hash, |s| {
            let Some(o) = s.orders.get(&order_id) else {
                panic!("fake BigCommerce: no order {order_id}");
            };
            let address_id = o
                .addresses
                .first()
                .and_then(|a| a.get("id"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let items: Vec<Value> = o
                .products
                .iter()
                .filter_map(|p| {
                    let left = p.get("quantity").and_then(Value::as_i64).unwrap_or(0)
                        - p.get("quantity_shipped")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                    (left > 0).then(|| json!({ "order_product_id": p.get("id"), "quantity": left }))
                })
                .collect();
            let body = json!({
                "order_address_id": address_id,
                "tracking_number": tracking_number,
                "shipping_provider": shipping_provider,
                "items": items,
            });
            match create_shipment(s, order_id, &body) {
                Ok(m) => m.get("id").and_then(Value::as_i64).unwrap_or(0),
                Err(e) => panic!(
                    "fake BigCommerce: add_shipment rejected: {} {}",
                    e.status, e.title
                ),
            }
        })
    }

    /// Shipments of an order as `GET /v2/orders/{id}/shipments` renders them.
    pub fn shipments(&self, store_hash: &str, order_id: i64) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.orders
                .get(&order_id)
                .map(|o| o.shipments.iter().cloned().map(Value::Object).collect())
                .unwrap_or_default()
        })
    }

    /// All webhooks of the store (every client id).
    pub fn hooks(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.hooks.values().map(|h| h.json(store_hash)).collect()
        })
    }

    /// Activates/deactivates a hook, as BigCommerce does after failed deliveries.
    pub fn set_hook_active(&self, store_hash: &str, hook_id: i64, active: bool) {
        self.with_store(store_hash, |s| {
            if let Some(h) = s.hooks.get_mut(&hook_id) {
                h.is_active = active;
                h.updated_at = Utc::now().timestamp();
            }
        });
    }

    /// Sets the store's quota per window (default 150 per 30 000 ms) and starts a new
    /// window.
    pub fn set_rate_limit(&self, store_hash: &str, quota: u32, window_ms: u64) {
        self.lock()
            .rates
            .insert(store_hash.to_string(), RateWindow::new(quota, window_ms));
    }

    /// Arms `fault` for the next `times` requests under its path prefix.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(ArmedFault {
            fault,
            query_contains: None,
        });
    }

    /// Like [`inject`](Self::inject), but the fault fires (and counts down) only on requests
    /// whose raw, still percent-encoded query string contains `query_contains`, e.g.
    /// `"page=3"` for one page of a walk.
    pub fn inject_when(&self, fault: Fault, query_contains: &str) {
        self.lock().faults.push(ArmedFault {
            fault,
            query_contains: Some(query_contains.to_string()),
        });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
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

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

struct ApiErr {
    status: u16,
    title: String,
    errors: Map<String, Value>,
}

impl ApiErr {
    fn new(status: u16, title: impl Into<String>) -> ApiErr {
        ApiErr {
            status,
            title: title.into(),
            errors: Map::new(),
        }
    }
    fn with(mut self, key: &str, msg: impl Into<String>) -> ApiErr {
        self.errors
            .insert(key.to_string(), Value::String(msg.into()));
        self
    }
    fn not_found() -> ApiErr {
        ApiErr::new(404, "The requested resource was not found.")
    }
    fn body(&self, v2: bool) -> Value {
        if v2 {
            let mut e = json!({ "status": self.status, "message": self.title });
            if !self.errors.is_empty()
                && let Some(m) = e.as_object_mut()
            {
                m.insert("details".into(), Value::Object(self.errors.clone()));
            }
            json!([e])
        } else {
            json!({
                "status": self.status,
                "title": self.title,
                "type": ERROR_TYPE,
                "errors": self.errors,
            })
        }
    }
}

fn invalid_filter(name: &str) -> ApiErr {
    ApiErr::new(422, format!("The filter(s): {name} are not valid.")).with(name, "is not valid")
}

fn v2_bad(field: &str) -> ApiErr {
    ApiErr::new(400, format!("The field '{field}' is invalid."))
}

fn v2_missing(field: &str) -> ApiErr {
    ApiErr::new(
        400,
        format!("The required field '{field}' was not supplied."),
    )
}

enum Body {
    Json(Value),
    Raw(String),
    Empty,
}

struct Reply {
    status: u16,
    body: Body,
}

impl Reply {
    fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(v),
        }
    }
    fn ok(v: Value) -> Reply {
        Reply::json(200, v)
    }
    fn data(v: Value) -> Reply {
        Reply::json(200, json!({ "data": v, "meta": {} }))
    }
    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Body::Empty,
        }
    }
}

type HResult = Result<Reply, ApiErr>;

struct Incoming {
    method: String,
    store_hash: Option<String>,
    /// Path after `/stores/{hash}`.
    rest: String,
    segments: Vec<String>,
    query: Query,
    body: String,
    token: Option<String>,
    content_type: Option<String>,
    v2: bool,
}

/// Splits `/stores/{hash}/rest` into (hash, rest).
fn split_store_path(path: &str) -> (Option<String>, String) {
    if let Some(after) = path.strip_prefix("/stores/") {
        let (hash, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        if !hash.is_empty() {
            return (Some(hash.to_string()), rest.to_string());
        }
    }
    (None, path.to_string())
}

async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<Mutex<State>>,
) -> HttpResponse {
    let path = req.path().to_string();
    let (store_hash, rest) = split_store_path(&path);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let inc = Incoming {
        method: req.method().as_str().to_string(),
        store_hash: store_hash.clone(),
        segments: rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        v2: rest.starts_with("/v2/") || rest == "/v2",
        rest,
        query: Query::parse(req.query_string()),
        body: String::from_utf8_lossy(&body).into_owned(),
        token: header("x-auth-token"),
        content_type: header("content-type"),
    };

    // Record first, then pick a fault.
    let (seq, fault) = {
        let mut st = lock(&data);
        let seq = st.next_seq;
        st.next_seq += 1;
        st.requests.push(RecordedRequest {
            seq,
            method: inc.method.clone(),
            path: path.clone(),
            query: req.query_string().to_string(),
            headers: headers.clone(),
            body: inc.body.clone(),
            status: 0,
            store_hash,
        });
        let mut picked = None;
        if let Some(i) = st
            .faults
            .iter()
            .position(|f| f.matches(&inc.rest, req.query_string()))
        {
            let f = &mut st.faults[i].fault;
            let times = f.times_mut();
            if *times > 0 {
                *times -= 1;
                picked = Some(f.clone());
            }
            if *st.faults[i].fault.times_mut() == 0 {
                st.faults.remove(i);
            }
        }
        (seq, picked)
    };

    let (reply, rate) = match fault {
        Some(Fault::Status { status, .. }) => {
            let title = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Injected fault")
                .to_string();
            let rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            let reply = if status == 204 || status == 304 {
                Reply {
                    status,
                    body: Body::Empty,
                }
            } else {
                Reply::json(status, ApiErr::new(status, title).body(inc.v2))
            };
            (reply, rate)
        }
        Some(Fault::RateLimited { reset_ms, .. }) => {
            let mut rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            rate.left = 0;
            rate.reset_ms = reset_ms;
            (
                Reply::json(429, ApiErr::new(429, "Too many requests").body(inc.v2)),
                rate,
            )
        }
        Some(Fault::Malformed { .. }) => {
            let rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            let raw = if inc.v2 {
                "[{\"id\":100,\"customer_id\":0,\"date_crea"
            } else {
                "{\"data\":[{\"id\":1,\"name\":\"Trunc"
            };
            (
                Reply {
                    status: 200,
                    body: Body::Raw(raw.to_string()),
                },
                rate,
            )
        }
        Some(Fault::Slow { delay, .. }) => {
            tokio::time::sleep(delay).await;
            process(&mut lock(&data), &inc)
        }
        Some(Fault::RepeatFirstPage { .. }) => {
            let mut inc = inc;
            inc.query.pairs.retain(|(k, _)| k != "page");
            inc.query.pairs.push(("page".to_string(), "1".to_string()));
            process(&mut lock(&data), &inc)
        }
        None => process(&mut lock(&data), &inc),
    };

    {
        let mut st = lock(&data);
        if let Some(r) = st.requests.iter_mut().rev().find(|r| r.seq == seq) {
            r.status = reply.status;
        }
    }

    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = HttpResponse::build(status);
    b.insert_header(("X-Rate-Limit-Requests-Left", rate.left.to_string()))
        .insert_header(("X-Rate-Limit-Requests-Quota", rate.quota.to_string()))
        .insert_header(("X-Rate-Limit-Time-Reset-Ms", rate.reset_ms.to_string()))
        .insert_header(("X-Rate-Limit-Time-Window-Ms", rate.window_ms.to_string()));
    match reply.body {
        Body::Json(v) => b.content_type("application/json").body(v.to_string()),
        Body::Raw(s) => b.content_type("application/json").body(s),
        Body::Empty => b.finish(),
    }
}

fn current_rate(st: &State, store_hash: Option<&str>) -> RateHeaders {
    let now = Instant::now();
    match store_hash.and_then(|h| st.rates.get(h)) {
        Some(w) => {
            if now.duration_since(w.start).as_millis() >= u128::from(w.window_ms) {
                RateHeaders {
                    left: w.quota,
                    quota: w.quota,
                    reset_ms: w.window_ms,
                    window_ms: w.window_ms,
                }
            } else {
                w.headers(now)
            }
        }
        None => RateHeaders::default(),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum R {
    Store,
    Time,
    Orders,
    OrdersCount,
    Order(i64),
    OrderProducts(i64),
    OrderAddresses(i64),
    Shipments(i64),
    ShipmentsCount(i64),
    Shipment(i64, i64),
    OrderStatuses,
    Products,
    Product(i64),
    ProductVariants(i64),
    ProductVariant(i64, i64),
    Variants,
    Customers,
    Hooks,
    Hook(i64),
    Channels,
    Channel(i64),
}

const GET: &[&str] = &["GET"];

fn route(method: &str, segs: &[String]) -> Result<(R, Option<&'static str>), ApiErr> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let id = |x: &str| {
        x.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(ApiErr::not_found)
    };
    let (r, allowed): (R, &[&str]) = match s.as_slice() {
        ["v2", "store"] => (R::Store, GET),
        ["v2", "time"] => (R::Time, GET),
        ["v2", "order_statuses"] => (R::OrderStatuses, GET),
        ["v2", "orders"] => (R::Orders, &["GET", "POST"]),
        ["v2", "orders", "count"] => (R::OrdersCount, GET),
        ["v2", "orders", o] => (R::Order(id(o)?), &["GET", "PUT", "DELETE"]),
        ["v2", "orders", o, "products"] => (R::OrderProducts(id(o)?), GET),
        [
            "v2",
            "orders",
            o,
            "shipping_addresses" | "shippingaddresses",
        ] => (R::OrderAddresses(id(o)?), GET),
        ["v2", "orders", o, "shipments"] => (R::Shipments(id(o)?), &["GET", "POST"]),
        ["v2", "orders", o, "shipments", "count"] => (R::ShipmentsCount(id(o)?), GET),
        ["v2", "orders", o, "shipments", sh] => (R::Shipment(id(o)?, id(sh)?), GET),
        ["v3", "catalog", "products"] => (R::Products, &["GET", "PUT"]),
        ["v3", "catalog", "products", p] => (R::Product(id(p)?), &["GET", "PUT"]),
        ["v3", "catalog", "products", p, "variants"] => (R::ProductVariants(id(p)?), GET),
        ["v3", "catalog", "products", p, "variants", v] => {
            (R::ProductVariant(id(p)?, id(v)?), &["GET", "PUT"])
        }
        ["v3", "catalog", "variants"] => (R::Variants, &["GET", "PUT"]),
        ["v3", "customers"] => (R::Customers, &["GET", "POST"]),
        ["v3", "hooks"] => (R::Hooks, &["GET", "POST"]),
        ["v3", "hooks", h] => (R::Hook(id(h)?), &["GET", "PUT", "DELETE"]),
        ["v3", "channels"] => (R::Channels, GET),
        ["v3", "channels", c] => (R::Channel(id(c)?), GET),
        _ => return Err(ApiErr::not_found()),
    };
    if !allowed.contains(&method) {
        return Err(ApiErr::new(405, "Method Not Allowed"));
    }
    let read = method == "GET";
    let scope = match r {
        R::Store | R::Time => Some("store_v2_information_read_only"),
        R::Orders
        | R::OrdersCount
        | R::Order(_)
        | R::OrderProducts(_)
        | R::OrderAddresses(_)
        | R::Shipments(_)
        | R::ShipmentsCount(_)
        | R::Shipment(..)
        | R::OrderStatuses => Some(if read {
            "store_v2_orders_read_only"
        } else {
            "store_v2_orders"
        }),
        R::Products
        | R::Product(_)
        | R::ProductVariants(_)
        | R::ProductVariant(..)
        | R::Variants => Some(if read {
            "store_v2_products_read_only"
        } else {
            "store_v2_products"
        }),
        R::Customers => Some(if read {
            "store_v2_customers_read_only"
        } else {
            "store_v2_customers"
        }),
        R::Hooks | R::Hook(_) => None,
        R::Channels | R::Channel(_) => Some("store_channel_settings_read_only"),
    };
    Ok((r, scope))
}

fn has_scope(scopes: &[String], need: &str) -> bool {
    scopes.iter().any(|s| {
        s == need
            || need
                .strip_suffix("_read_only")
                .is_some_and(|modify| s == modify)
    })
}

fn process(st: &mut State, inc: &Incoming) -> (Reply, RateHeaders) {
    let now = Instant::now();
    let err = |e: ApiErr| Reply::json(e.status, e.body(inc.v2));
    let Some(hash) = inc.store_hash.clone() else {
        return (err(ApiErr::not_found()), RateHeaders::default());
    };
    if !st.stores.contains_key(&hash) {
        return (
            err(ApiErr::new(404, "Store not found.")),
            RateHeaders::default(),
        );
    }
    let rate_now = |st: &State| current_rate(st, Some(&hash));
    let token = inc.token.as_deref().unwrap_or("").trim();
    if token.is_empty() {
        let t = if inc.v2 {
            "No credentials were supplied in the request."
        } else {
            "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store."
        };
        return (err(ApiErr::new(401, t)), rate_now(st));
    }
    let (client_id, scopes) = match st.tokens.get(token) {
        Some(t) if t.store_hash == hash => (t.client_id.clone(), t.scopes.clone()),
        _ => {
            let t = if inc.v2 {
                "Invalid credentials were supplied in the request."
            } else {
                "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store."
            };
            return (err(ApiErr::new(401, t)), rate_now(st));
        }
    };

    // Rate limit: every authenticated request counts against the store's window.
    let window = st
        .rates
        .entry(hash.clone())
        .or_insert_with(|| RateWindow::new(DEFAULT_QUOTA, DEFAULT_WINDOW_MS));
    window.roll(now);
    if window.used >= window.quota {
        let mut h = window.headers(now);
        h.left = 0;
        return (err(ApiErr::new(429, "Too many requests")), h);
    }
    window.used += 1;
    let rate = window.headers(now);

    let (r, scope) = match route(&inc.method, &inc.segments) {
        Ok(x) => x,
        Err(e) => return (err(e), rate),
    };
    if let Some(need) = scope
        && !has_scope(&scopes, need)
    {
        return (err(ApiErr::new(403, MISSING_SCOPE)), rate);
    }
    if matches!(inc.method.as_str(), "POST" | "PUT")
        && !inc
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"))
    {
        return (
            err(ApiErr::new(
                415,
                "The Content-Type header must be application/json.",
            )),
            rate,
        );
    }
    let base = st.base_url.clone();
    let Some(s) = st.stores.get_mut(&hash) else {
        return (err(ApiErr::not_found()), rate);
    };
    let ctx = Ctx {
        hash: &hash,
        base: &base,
        client_id: &client_id,
    };
    let result = handle(s, inc, r, &ctx);
    (result.unwrap_or_else(err), rate)
}

struct Ctx<'a> {
    hash: &'a str,
    base: &'a str,
    client_id: &'a str,
}

fn parse_body(inc: &Incoming) -> Result<Value, ApiErr> {
    serde_json::from_str(&inc.body).map_err(|_| {
        if inc.v2 {
            ApiErr::new(400, "The request body is not valid JSON.")
        } else {
            ApiErr::new(400, "Input is invalid.")
        }
    })
}

fn handle(s: &mut StoreState, inc: &Incoming, r: R, ctx: &Ctx<'_>) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Store) => Ok(Reply::ok(store_json(&s.info))),
        ("GET", R::Time) => Ok(Reply::ok(json!({ "time": Utc::now().timestamp() }))),
        ("GET", R::OrderStatuses) => Ok(Reply::ok(Value::Array(
            ORDER_STATUSES
                .iter()
                .map(|(id, name, desc, order)| {
                    json!({
                        "id": id,
                        "name": name,
                        "system_label": name,
                        "custom_label": name,
                        "system_description": desc,
                        "order": order,
                    })
                })
                .collect(),
        ))),
        ("GET", R::Orders) => list_orders(s, q),
        ("POST", R::Orders) => {
            let body = parse_body(inc)?;
            let id = create_order(s, &body, ctx.base, ctx.hash, "external")?;
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("GET", R::OrdersCount) => {
            let live: Vec<&OrderRec> = s.orders.values().filter(|o| !o.archived()).collect();
            let statuses: Vec<Value> = ORDER_STATUSES
                .iter()
                .map(|(id, name, desc, order)| {
                    json!({
                        "id": id,
                        "name": name,
                        "system_label": name,
                        "custom_label": name,
                        "system_description": desc,
                        "count": live.iter().filter(|o| o.get_i64("status_id") == *id).count(),
                        "sort_order": order,
                    })
                })
                .collect();
            Ok(Reply::ok(
                json!({ "statuses": statuses, "count": live.len() }),
            ))
        }
        ("GET", R::Order(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("PUT", R::Order(id)) => {
            let body = parse_body(inc)?;
            update_order(s, id, &body)?;
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(o.json.clone())))
        }
        ("DELETE", R::Order(id)) => {
            let o = s.orders.get_mut(&id).ok_or_else(ApiErr::not_found)?;
            o.json.insert("is_deleted".into(), json!(true));
            o.touch();
            Ok(Reply::no_content())
        }
        ("GET", R::OrderProducts(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.products)
        }
        ("GET", R::OrderAddresses(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.addresses)
        }
        ("GET", R::Shipments(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            v2_page(q, &o.shipments)
        }
        ("POST", R::Shipments(id)) => {
            let body = parse_body(inc)?;
            let m = create_shipment(s, id, &body)?;
            Ok(Reply::json(201, Value::Object(m)))
        }
        ("GET", R::ShipmentsCount(id)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(json!({ "count": o.shipments.len() })))
        }
        ("GET", R::Shipment(id, sid)) => {
            let o = s.orders.get(&id).ok_or_else(ApiErr::not_found)?;
            let sh = o
                .shipments
                .iter()
                .find(|m| m.get("id").and_then(Value::as_i64) == Some(sid))
                .ok_or_else(ApiErr::not_found)?;
            Ok(Reply::ok(Value::Object(sh.clone())))
        }
        ("GET", R::Products) => list_products(s, q),
        ("PUT", R::Products) => batch_update_products(s, &parse_body(inc)?),
        ("GET", R::Product(id)) => {
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let inc_list = q.list("include").unwrap_or_default();
            let mut v = product_json(p, &Includes::parse(&inc_list));
            trim_fields(
                &mut v,
                q.list("include_fields").as_deref(),
                q.list("exclude_fields").as_deref(),
            );
            Ok(Reply::data(v))
        }
        ("PUT", R::Product(id)) => {
            let body = parse_body(inc)?;
            let obj = body
                .as_object()
                .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
            let mut p = s.products.get(&id).cloned().ok_or_else(product_not_found)?;
            apply_product_update(&mut p, obj)?;
            p.date_modified = now_secs();
            s.insert_product(p);
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let mut v = product_json(p, &Includes::default());
            trim_fields(&mut v, q.list("include_fields").as_deref(), None);
            Ok(Reply::data(v))
        }
        ("GET", R::ProductVariants(id)) => {
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let (page, limit) = paging(q, 50)?;
            let total = p.variants.len();
            let data: Vec<Value> = p
                .variants
                .iter()
                .skip((page - 1) * limit)
                .take(limit)
                .map(|v| {
                    let mut j = variant_json(p, v);
                    trim_fields(
                        &mut j,
                        q.list("include_fields").as_deref(),
                        q.list("exclude_fields").as_deref(),
                    );
                    j
                })
                .collect();
            Ok(v3_list(data, total, page, limit))
        }
        ("GET", R::ProductVariant(pid, vid)) => {
            let p = s.products.get(&pid).ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            let mut j = variant_json(p, v);
            trim_fields(
                &mut j,
                q.list("include_fields").as_deref(),
                q.list("exclude_fields").as_deref(),
            );
            Ok(Reply::data(j))
        }
        ("PUT", R::ProductVariant(pid, vid)) => {
            let body = parse_body(inc)?;
            let obj = body
                .as_object()
                .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
            let mut p = s
                .products
                .get(&pid)
                .cloned()
                .ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter_mut()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            apply_variant_update(v, obj)?;
            p.date_modified = now_secs();
            s.insert_product(p);
            let p = s.products.get(&pid).ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            Ok(Reply::data(variant_json(p, v)))
        }
        ("GET", R::Variants) => list_variants(s, q),
        ("PUT", R::Variants) => batch_update_variants(s, &parse_body(inc)?),
        ("GET", R::Customers) => list_customers(s, q),
        ("POST", R::Customers) => create_customers(s, &parse_body(inc)?),
        ("GET", R::Hooks) => list_hooks(s, q, ctx),
        ("POST", R::Hooks) => create_hook(s, &parse_body(inc)?, ctx),
        ("GET", R::Hook(id)) => {
            let h = s
                .hooks
                .get(&id)
                .filter(|h| h.client_id == ctx.client_id)
                .ok_or_else(|| hook_not_found(id))?;
            Ok(Reply::data(h.json(ctx.hash)))
        }
        ("PUT", R::Hook(id)) => update_hook(s, id, &parse_body(inc)?, ctx),
        ("DELETE", R::Hook(id)) => {
            if s.hooks
                .get(&id)
                .is_none_or(|h| h.client_id != ctx.client_id)
            {
                return Err(hook_not_found(id));
            }
            let h = s.hooks.remove(&id).ok_or_else(|| hook_not_found(id))?;
            Ok(Reply::data(h.json(ctx.hash)))
        }
        ("GET", R::Channels) => list_channels(s, q),
        ("GET", R::Channel(id)) => {
            let c = s
                .channels
                .get(&id)
                .ok_or_else(|| ApiErr::new(404, "The channel was not found."))?;
            Ok(Reply::data(channel_json(c)))
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

// ---------------------------------------------------------------------------
// Pagination helpers
// ---------------------------------------------------------------------------

/// `page` (1-based, default 1) and `limit` (default `default_limit`, 1..=250; above → 413).
fn paging(q: &Query, default_limit: usize) -> Result<(usize, usize), ApiErr> {
    let page = match q.get("page").map(str::trim) {
        None | Some("") => 1,
        Some(p) => p.parse::<i64>().map_err(|_| invalid_filter("page"))?.max(1) as usize,
    };
    let limit = match q.get("limit").map(str::trim) {
        None | Some("") => default_limit,
        Some(l) => {
            let l = l.parse::<i64>().map_err(|_| invalid_filter("limit"))?;
            if l < 1 {
                return Err(invalid_filter("limit"));
            }
            if l as usize > MAX_LIMIT {
                return Err(ApiErr::new(
                    413,
                    format!(
                        "The limit parameter is too large. The maximum allowed is {MAX_LIMIT}."
                    ),
                ));
            }
            l as usize
        }
    };
    Ok((page, limit))
}

fn pagination_meta(total: usize, count: usize, page: usize, limit: usize) -> Value {
    let total_pages = total.div_ceil(limit);
    let mut links = Map::new();
    if page > 1 {
        links.insert(
            "previous".into(),
            json!(format!("?page={}&limit={limit}", page - 1)),
        );
    }
    links.insert(
        "current".into(),
        json!(format!("?page={page}&limit={limit}")),
    );
    if page < total_pages {
        links.insert(
            "next".into(),
            json!(format!("?page={}&limit={limit}", page + 1)),
        );
    }
    json!({
        "pagination": {
            "total": total,
            "count": count,
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
    })
}

fn v3_list(data: Vec<Value>, total: usize, page: usize, limit: usize) -> Reply {
    let count = data.len();
    Reply::ok(json!({ "data": data, "meta": pagination_meta(total, count, page, limit) }))
}

/// v2 collections: a bare array, or 204 with no body when the page is empty.
fn v2_page(q: &Query, items: &[Map<String, Value>]) -> HResult {
    let (page, limit) =
        paging(q, 50).map_err(|e| ApiErr::new(if e.status == 413 { 413 } else { 400 }, e.title))?;
    let out: Vec<Value> = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .cloned()
        .map(Value::Object)
        .collect();
    if out.is_empty() {
        Ok(Reply::no_content())
    } else {
        Ok(Reply::ok(Value::Array(out)))
    }
}

/// Applies a page to an iterator, counting the total.
fn page_of<'a, T: 'a>(
    iter: impl Iterator<Item = &'a T>,
    page: usize,
    limit: usize,
) -> (Vec<&'a T>, usize) {
    let start = (page - 1) * limit;
    let mut total = 0;
    let mut out = Vec::new();
    for x in iter {
        if total >= start && total < start + limit {
            out.push(x);
        }
        total += 1;
    }
    (out, total)
}

// ---------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------

fn product_not_found() -> ApiErr {
    ApiErr::new(404, "The requested product was not found.")
}

fn variant_not_found() -> ApiErr {
    ApiErr::new(404, "The requested variant was not found.")
}

fn q_i64(q: &Query, key: &str) -> Result<Option<i64>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_filter(key)),
    }
}

fn q_f64(q: &Query, key: &str) -> Result<Option<f64>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| invalid_filter(key)),
    }
}

fn q_i64_list(q: &Query, key: &str) -> Result<Option<HashSet<i64>>, ApiErr> {
    match q.list(key) {
        None => Ok(None),
        Some(l) => l
            .iter()
            .map(|x| x.parse::<i64>().map_err(|_| invalid_filter(key)))
            .collect::<Result<HashSet<i64>, ApiErr>>()
            .map(Some),
    }
}

fn q_bool(q: &Query, key: &str) -> Result<Option<bool>, ApiErr> {
    match q.get(key).map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(invalid_filter(key)),
    }
}

fn q_date(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => parse_v3_date(v)
            .map(Some)
            .ok_or_else(|| invalid_filter(key)),
    }
}

#[derive(Default)]
struct ProductFilter {
    id: Option<i64>,
    id_in: Option<HashSet<i64>>,
    id_not_in: Option<HashSet<i64>>,
    id_min: Option<i64>,
    id_max: Option<i64>,
    id_greater: Option<i64>,
    id_less: Option<i64>,
    sku: Option<String>,
    sku_in: Option<Vec<String>>,
    name: Option<String>,
    upc: Option<String>,
    mpn: Option<String>,
    price: Option<f64>,
    keyword: Option<String>,
    is_visible: Option<bool>,
    availability: Option<String>,
    product_type: Option<String>,
    brand_id: Option<i64>,
    categories_in: Option<HashSet<i64>>,
    inv: Option<i64>,
    inv_in: Option<HashSet<i64>>,
    inv_min: Option<i64>,
    inv_max: Option<i64>,
    inv_greater: Option<i64>,
    inv_less: Option<i64>,
    inventory_low: bool,
    out_of_stock: bool,
    dm: Option<(i64, bool)>,
    dm_min: Option<i64>,
    dm_max: Option<i64>,
}

impl ProductFilter {
    fn from_query(q: &Query) -> Result<ProductFilter, ApiErr> {
        let dm = match q.get("date_modified") {
            None => None,
            Some(v) => {
                let d = parse_v3_date(v).ok_or_else(|| invalid_filter("date_modified"))?;
                Some((d.timestamp(), v.trim().len() == 10))
            }
        };
        Ok(ProductFilter {
            id: q_i64(q, "id")?,
            id_in: q_i64_list(q, "id:in")?,
            id_not_in: q_i64_list(q, "id:not_in")?,
            id_min: q_i64(q, "id:min")?,
            id_max: q_i64(q, "id:max")?,
            id_greater: q_i64(q, "id:greater")?,
            id_less: q_i64(q, "id:less")?,
            sku: q.get("sku").map(str::to_string),
            sku_in: q.list("sku:in"),
            name: q.get("name").map(str::to_string),
            upc: q.get("upc").map(str::to_string),
            mpn: q.get("mpn").map(str::to_string),
            price: q_f64(q, "price")?,
            keyword: q.get("keyword").map(str::to_lowercase),
            is_visible: q_bool(q, "is_visible")?,
            availability: q.get("availability").map(str::to_string),
            product_type: q.get("type").map(str::to_string),
            brand_id: q_i64(q, "brand_id")?,
            categories_in: q_i64_list(q, "categories:in")?,
            inv: q_i64(q, "inventory_level")?,
            inv_in: q_i64_list(q, "inventory_level:in")?,
            inv_min: q_i64(q, "inventory_level:min")?,
            inv_max: q_i64(q, "inventory_level:max")?,
            inv_greater: q_i64(q, "inventory_level:greater")?,
            inv_less: q_i64(q, "inventory_level:less")?,
            inventory_low: q_bool(q, "inventory_low")?.unwrap_or(false),
            out_of_stock: q_bool(q, "out_of_stock")?.unwrap_or(false),
            dm,
            dm_min: q_date(q, "date_modified:min")?.map(|d| d.timestamp()),
            dm_max: q_date(q, "date_modified:max")?.map(|d| d.timestamp()),
        })
    }

    fn matches(&self, p: &FakeProduct) -> bool {
        fn opt<T: PartialEq>(f: &Option<T>, v: &T) -> bool {
            f.as_ref().is_none_or(|x| x == v)
        }
        let id = p.id;
        let inv = p.effective_inventory();
        let dm = p.date_modified.timestamp();
        opt(&self.id, &id)
            && self.id_in.as_ref().is_none_or(|s| s.contains(&id))
            && self.id_not_in.as_ref().is_none_or(|s| !s.contains(&id))
            && self.id_min.is_none_or(|m| id >= m)
            && self.id_max.is_none_or(|m| id <= m)
            && self.id_greater.is_none_or(|m| id > m)
            && self.id_less.is_none_or(|m| id < m)
            && opt(&self.sku, &p.sku)
            && self.sku_in.as_ref().is_none_or(|l| l.contains(&p.sku))
            && opt(&self.name, &p.name)
            && opt(&self.upc, &p.upc)
            && opt(&self.mpn, &p.mpn)
            && self.price.is_none_or(|x| (x - p.price).abs() < 1e-9)
            && self.keyword.as_ref().is_none_or(|k| {
                p.name.to_lowercase().contains(k) || p.sku.to_lowercase().contains(k)
            })
            && opt(&self.is_visible, &p.is_visible)
            && opt(&self.availability, &p.availability)
            && opt(&self.product_type, &p.product_type)
            && opt(&self.brand_id, &p.brand_id)
            && self
                .categories_in
                .as_ref()
                .is_none_or(|s| p.categories.iter().any(|c| s.contains(c)))
            && opt(&self.inv, &inv)
            && self.inv_in.as_ref().is_none_or(|s| s.contains(&inv))
            && self.inv_min.is_none_or(|m| inv >= m)
            && self.inv_max.is_none_or(|m| inv <= m)
            && self.inv_greater.is_none_or(|m| inv > m)
            && self.inv_less.is_none_or(|m| inv < m)
            && (!self.inventory_low
                || (p.inventory_tracking != "none" && inv <= p.inventory_warning_level))
            && (!self.out_of_stock || (p.inventory_tracking != "none" && inv <= 0))
            && self.dm.is_none_or(|(t, day_only)| {
                if day_only {
                    let day = |x: i64| Utc.timestamp_opt(x, 0).single().map(|d| d.date_naive());
                    day(t) == day(dm)
                } else {
                    t == dm
                }
            })
            && self.dm_min.is_none_or(|m| dm >= m)
            && self.dm_max.is_none_or(|m| dm <= m)
    }
}

fn list_products(s: &StoreState, q: &Query) -> HResult {
    let includes = Includes::parse(&q.list("include").unwrap_or_default());
    let (page, mut limit) = paging(q, 50)?;
    if includes.options || includes.modifiers {
        limit = limit.min(10);
    }
    let filter = ProductFilter::from_query(q)?;
    let sort = q.get("sort").unwrap_or("id");
    let desc = match q.get("direction") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(invalid_filter("direction")),
    };
    let (items, total) = if sort == "id" {
        let matching = s.products.values().filter(|p| filter.matches(p));
        if desc {
            let all: Vec<&FakeProduct> = matching.collect();
            page_of(all.into_iter().rev(), page, limit)
        } else {
            page_of(matching, page, limit)
        }
    } else {
        let mut all: Vec<&FakeProduct> =
            s.products.values().filter(|p| filter.matches(p)).collect();
        let cmp_f = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
        match sort {
            "name" => all.sort_by(|a, b| a.name.cmp(&b.name)),
            "sku" => all.sort_by(|a, b| a.sku.cmp(&b.sku)),
            "price" => all.sort_by(|a, b| cmp_f(a.price, b.price)),
            "calculated_price" => {
                all.sort_by(|a, b| cmp_f(a.calculated_price(), b.calculated_price()))
            }
            "date_modified" => all.sort_by_key(|p| p.date_modified),
            "date_last_imported" => {}
            "inventory_level" => all.sort_by_key(|p| p.effective_inventory()),
            "is_visible" => all.sort_by_key(|p| p.is_visible),
            "total_sold" => all.sort_by_key(|p| p.total_sold),
            _ => return Err(invalid_filter("sort")),
        }
        if desc {
            all.reverse();
        }
        page_of(all.into_iter(), page, limit)
    };
    let inc_f = q.list("include_fields");
    let exc_f = q.list("exclude_fields");
    let data: Vec<Value> = items
        .into_iter()
        .map(|p| {
            let mut v = product_json(p, &includes);
            trim_fields(&mut v, inc_f.as_deref(), exc_f.as_deref());
            v
        })
        .collect();
    Ok(v3_list(data, total, page, limit))
}

fn list_variants(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let id = q_i64(q, "id")?;
    let product_in = q_i64_list(q, "product_id:in")?;
    let sku = q.get("sku");
    let upc = q.get("upc");
    let iter = s
        .products
        .values()
        .filter(|p| product_in.as_ref().is_none_or(|set| set.contains(&p.id)))
        .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
        .filter(|(_, v)| {
            id.is_none_or(|i| v.id == i)
                && sku.is_none_or(|x| v.sku == x)
                && upc.is_none_or(|x| v.upc == x)
        });
    let start = (page - 1) * limit;
    let mut total = 0;
    let mut data = Vec::new();
    let inc_f = q.list("include_fields");
    let exc_f = q.list("exclude_fields");
    for (p, v) in iter {
        if total >= start && total < start + limit {
            let mut j = variant_json(p, v);
            trim_fields(&mut j, inc_f.as_deref(), exc_f.as_deref());
            data.push(j);
        }
        total += 1;
    }
    Ok(v3_list(data, total, page, limit))
}

fn field_err(field: &str, msg: &str) -> ApiErr {
    ApiErr::new(422, "JSON data is missing or invalid").with(field, msg)
}

fn get_num(obj: &Map<String, Value>, k: &str) -> Result<Option<f64>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x >= 0.0 => Ok(Some(x)),
            _ => Err(field_err(k, "error.minimum")),
        },
        Some(_) => Err(field_err(k, "error.type.number")),
    }
}

fn get_int(obj: &Map<String, Value>, k: &str) -> Result<Option<i64>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
            .map(Some)
            .ok_or_else(|| field_err(k, "error.type.integer")),
    }
}

fn get_str(obj: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(field_err(k, "error.type.string")),
    }
}

fn get_bool(obj: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(field_err(k, "error.type.boolean")),
    }
}

fn apply_product_update(p: &mut FakeProduct, obj: &Map<String, Value>) -> Result<(), ApiErr> {
    if let Some(t) = get_str(obj, "inventory_tracking")? {
        if !matches!(t.as_str(), "none" | "product" | "variant") {
            return Err(field_err("inventory_tracking", "error.enum"));
        }
        p.inventory_tracking = t;
    }
    if let Some(n) = get_str(obj, "name")? {
        if n.is_empty() || n.len() > 250 {
            return Err(field_err("name", "error.length"));
        }
        p.name = n;
    }
    if let Some(t) = get_str(obj, "type")? {
        if !matches!(t.as_str(), "physical" | "digital") {
            return Err(field_err("type", "error.enum"));
        }
        p.product_type = t;
    }
    if let Some(x) = get_str(obj, "sku")? {
        p.sku = x;
    }
    if let Some(x) = get_num(obj, "price")? {
        p.price = x;
    }
    if let Some(x) = get_num(obj, "sale_price")? {
        p.sale_price = x;
    }
    if let Some(x) = get_num(obj, "cost_price")? {
        p.cost_price = x;
    }
    if let Some(x) = get_num(obj, "retail_price")? {
        p.retail_price = x;
    }
    if let Some(x) = get_num(obj, "weight")? {
        p.weight = x;
    }
    if let Some(x) = get_bool(obj, "is_visible")? {
        p.is_visible = x;
    }
    if let Some(a) = get_str(obj, "availability")? {
        if !matches!(a.as_str(), "available" | "disabled" | "preorder") {
            return Err(field_err("availability", "error.enum"));
        }
        p.availability = a;
    }
    if let Some(x) = get_int(obj, "inventory_level")? {
        if x < 0 {
            return Err(field_err("inventory_level", "error.minimum"));
        }
        // Only meaningful when the product itself tracks stock.
        if p.inventory_tracking == "product" {
            p.inventory_level = x.min(MAX_STOCK);
            if let [only] = p.variants.as_mut_slice() {
                only.inventory_level = p.inventory_level;
            }
        }
    }
    if let Some(x) = get_int(obj, "inventory_warning_level")? {
        p.inventory_warning_level = x;
    }
    for (k, slot) in [
        ("upc", &mut p.upc),
        ("mpn", &mut p.mpn),
        ("gtin", &mut p.gtin),
    ] {
        if let Some(x) = get_str(obj, k)? {
            *slot = x;
        }
    }
    Ok(())
}

fn apply_variant_update(v: &mut FakeVariant, obj: &Map<String, Value>) -> Result<(), ApiErr> {
    fn nullable(obj: &Map<String, Value>, k: &str, slot: &mut Option<f64>) -> Result<(), ApiErr> {
        match obj.get(k) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(_) => *slot = get_num(obj, k)?,
        }
        Ok(())
    }
    nullable(obj, "price", &mut v.price)?;
    nullable(obj, "sale_price", &mut v.sale_price)?;
    nullable(obj, "cost_price", &mut v.cost_price)?;
    nullable(obj, "retail_price", &mut v.retail_price)?;
    nullable(obj, "weight", &mut v.weight)?;
    if let Some(x) = get_int(obj, "inventory_level")? {
        if x < 0 {
            return Err(field_err("inventory_level", "error.minimum"));
        }
        v.inventory_level = x.min(MAX_STOCK);
    }
    if let Some(x) = get_int(obj, "inventory_warning_level")? {
        v.inventory_warning_level = x;
    }
    if let Some(x) = get_bool(obj, "purchasing_disabled")? {
        v.purchasing_disabled = x;
    }
    for (k, slot) in [
        ("sku", &mut v.sku),
        ("upc", &mut v.upc),
        ("mpn", &mut v.mpn),
        ("gtin", &mut v.gtin),
    ] {
        if let Some(x) = get_str(obj, k)? {
            *slot = x;
        }
    }
    Ok(())
}

fn batch_update_products(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body
        .as_array()
        .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
    if arr.len() > 10 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 10.",
        ));
    }
    let mut updated = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| field_err(&i.to_string(), "error.type.object"))?;
        let id = get_int(obj, "id")?
            .ok_or_else(|| field_err(&format!("{i}.id"), "error.path.missing"))?;
        let mut p = s.products.get(&id).cloned().ok_or_else(product_not_found)?;
        apply_product_update(&mut p, obj)?;
        p.date_modified = now_secs();
        updated.push(p);
    }
    let mut data = Vec::new();
    for p in updated {
        let id = s.insert_product(p);
        if let Some(p) = s.products.get(&id) {
            data.push(product_json(p, &Includes::default()));
        }
    }
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}

fn batch_update_variants(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body
        .as_array()
        .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
    if arr.len() > 50 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 50",
        ));
    }
    let mut touched: BTreeMap<i64, FakeProduct> = BTreeMap::new();
    let mut order = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| field_err(&i.to_string(), "error.type.object"))?;
        let vid = get_int(obj, "id")?.ok_or_else(|| {
            field_err(
                &format!("{i}.id"),
                "creating variants through this endpoint is not supported by the fake",
            )
        })?;
        let pid = *s.variant_index.get(&vid).ok_or_else(variant_not_found)?;
        let p = match touched.entry(pid) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(
                s.products
                    .get(&pid)
                    .cloned()
                    .ok_or_else(product_not_found)?,
            ),
        };
        let v = p
            .variants
            .iter_mut()
            .find(|v| v.id == vid)
            .ok_or_else(variant_not_found)?;
        apply_variant_update(v, obj)?;
        p.date_modified = now_secs();
        order.push((pid, vid));
    }
    for (_, p) in touched {
        s.insert_product(p);
    }
    let data: Vec<Value> = order
        .iter()
        .filter_map(|(pid, vid)| {
            let p = s.products.get(pid)?;
            let v = p.variants.iter().find(|v| v.id == *vid)?;
            Some(variant_json(p, v))
        })
        .collect();
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}

// ---------------------------------------------------------------------------
// Orders (v2)
// ---------------------------------------------------------------------------

const COUNTRIES: [(&str, &str); 10] = [
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("IE", "Ireland"),
    ("MX", "Mexico"),
];

fn country_pair(m: &Map<String, Value>) -> (String, String) {
    let country = str_of(m, "country");
    let iso = str_of(m, "country_iso2");
    match (country.is_empty(), iso.is_empty()) {
        (false, false) => (country, iso),
        (true, false) => {
            let name = COUNTRIES
                .iter()
                .find(|(c, _)| *c == iso)
                .map_or(iso.clone(), |(_, n)| n.to_string());
            (name, iso)
        }
        (false, true) => {
            let code = COUNTRIES
                .iter()
                .find(|(_, n)| *n == country)
                .map_or(String::new(), |(c, _)| c.to_string());
            (country, code)
        }
        (true, true) => (String::new(), String::new()),
    }
}

fn address_fields(m: &Map<String, Value>) -> Map<String, Value> {
    let (country, iso) = country_pair(m);
    let mut out = Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
    ] {
        out.insert(k.into(), json!(str_of(m, k)));
    }
    out.insert("country".into(), json!(country));
    out.insert("country_iso2".into(), json!(iso));
    out.insert("phone".into(), json!(str_of(m, "phone")));
    out.insert("email".into(), json!(str_of(m, "email")));
    out
}

fn check_address(m: &Map<String, Value>, prefix: &str) -> Result<(), ApiErr> {
    if str_of(m, "zip").trim().len() < 2 {
        return Err(v2_bad(&format!("{prefix}.zip")));
    }
    if str_of(m, "country").is_empty() && str_of(m, "country_iso2").is_empty() {
        return Err(v2_missing(&format!("{prefix}.country")));
    }
    Ok(())
}

/// Reads an `_ex_tax`/`_inc_tax` pair: both or neither.
fn money_pair(obj: &Map<String, Value>, ex: &str, inc: &str) -> Result<Option<(f64, f64)>, ApiErr> {
    match (obj.get(ex), obj.get(inc)) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => {
            let a = num_of(a).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(ex))?;
            let b = num_of(b).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(inc))?;
            Ok(Some((a, b)))
        }
        (Some(_), None) => Err(ApiErr::new(
            400,
            format!("The field '{inc}' is required when '{ex}' is supplied."),
        )),
        (None, Some(_)) => Err(ApiErr::new(
            400,
            format!("The field '{ex}' is required when '{inc}' is supplied."),
        )),
    }
}

fn set_status(o: &mut OrderRec, status_id: i64) {
    let name = status_name(status_id).unwrap_or("");
    o.json.insert("status_id".into(), json!(status_id));
    o.json.insert("status".into(), json!(name));
    o.json.insert("custom_status".into(), json!(name));
}

struct Line {
    product_id: i64,
    variant_id: Option<i64>,
    name: String,
    sku: String,
    upc: String,
    qty: i64,
    ex: f64,
    inc: f64,
    cost: f64,
    weight: f64,
    ptype: String,
    options: Vec<FakeOptionValue>,
}

fn resolve_line(s: &StoreState, i: usize, item: &Value) -> Result<Line, ApiErr> {
    let it = item
        .as_object()
        .ok_or_else(|| v2_bad(&format!("products[{i}]")))?;
    let qty = match it.get("quantity") {
        None => return Err(v2_missing(&format!("products[{i}].quantity"))),
        Some(v) => v
            .as_i64()
            .filter(|q| *q >= 1)
            .ok_or_else(|| v2_bad(&format!("products[{i}].quantity")))?,
    };
    let price = money_pair(it, "price_ex_tax", "price_inc_tax")?;
    let name_given = ["name", "name_customer", "name_merchant"]
        .iter()
        .map(|k| str_of(it, k))
        .find(|n| !n.is_empty());
    let product_id = match it.get("product_id") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_id")))?,
    };
    if product_id <= 0 {
        // Custom product.
        if it.get("variant_id").is_some_and(|v| !v.is_null()) {
            return Err(v2_bad(&format!("products[{i}].variant_id")));
        }
        let name = name_given.ok_or_else(|| v2_missing(&format!("products[{i}].name")))?;
        let (ex, inc) = price.ok_or_else(|| v2_missing(&format!("products[{i}].price_inc_tax")))?;
        return Ok(Line {
            product_id: 0,
            variant_id: None,
            name,
            sku: str_of(it, "sku"),
            upc: str_of(it, "upc"),
            qty,
            ex,
            inc,
            cost: 0.0,
            weight: 0.0,
            ptype: "physical".into(),
            options: Vec::new(),
        });
    }
    let p = s
        .products
        .get(&product_id)
        .ok_or_else(|| ApiErr::new(400, format!("The field 'products[{i}].product_id' is invalid. Product {product_id} was not found.")))?;
    let variant = if let Some(vid) = it.get("variant_id").filter(|v| !v.is_null()) {
        let vid = vid
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].variant_id")))?;
        p.variants.iter().find(|v| v.id == vid).ok_or_else(|| {
            ApiErr::new(400, format!("The field 'products[{i}].variant_id' is invalid. Variant {vid} does not belong to product {product_id}."))
        })?
    } else if let Some(opts) = it
        .get("product_options")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let mut wanted: Vec<(i64, i64)> = Vec::new();
        for o in opts {
            let oid = o.get("id").and_then(Value::as_i64);
            let val = o.get("value").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
            match (oid, val) {
                (Some(a), Some(b)) => wanted.push((a, b)),
                _ => return Err(v2_bad(&format!("products[{i}].product_options"))),
            }
        }
        p.variants
            .iter()
            .find(|v| {
                v.option_values.len() == wanted.len()
                    && v.option_values
                        .iter()
                        .all(|ov| wanted.contains(&(ov.option_id, ov.id)))
            })
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_options")))?
    } else if p.variants.len() == 1 && p.variants[0].option_values.is_empty() {
        &p.variants[0]
    } else {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'products[{i}].product_options' is required: product {product_id} has options."
            ),
        ));
    };
    let unit = {
        let base = variant.price.unwrap_or(p.price);
        let sale = variant.sale_price.unwrap_or(p.sale_price);
        if sale > 0.0 && sale < base {
            sale
        } else {
            base
        }
    };
    let (ex, inc) = price.unwrap_or((unit, unit));
    Ok(Line {
        product_id,
        variant_id: Some(variant.id),
        name: name_given.unwrap_or_else(|| p.name.clone()),
        sku: variant.sku.clone(),
        upc: if variant.upc.is_empty() {
            p.upc.clone()
        } else {
            variant.upc.clone()
        },
        qty,
        ex,
        inc,
        cost: variant.cost_price.unwrap_or(p.cost_price),
        weight: variant.weight.unwrap_or(p.weight),
        ptype: p.product_type.clone(),
        options: variant.option_values.clone(),
    })
}

fn create_order(
    s: &mut StoreState,
    body: &Value,
    base: &str,
    hash: &str,
    source: &str,
) -> Result<i64, ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    let billing = match obj.get("billing_address") {
        Some(Value::Object(b)) => b,
        None | Some(Value::Null) => return Err(v2_missing("billing_address")),
        Some(_) => return Err(v2_bad("billing_address")),
    };
    check_address(billing, "billing_address")?;
    if obj.get("consignments").is_some() {
        return Err(ApiErr::new(
            400,
            "Orders with 'consignments' are not supported by the fake.",
        ));
    }
    let items = match obj.get("products") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None | Some(Value::Null) => return Err(v2_missing("products")),
        Some(_) => return Err(v2_bad("products")),
    };
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, it)| resolve_line(s, i, it))
        .collect::<Result<_, _>>()?;
    let customer_id = match obj.get("customer_id") {
        None | Some(Value::Null) => 0,
        Some(v) => num_of(v)
            .map(|x| x as i64)
            .ok_or_else(|| v2_bad("customer_id"))?,
    };
    if customer_id != 0 && !s.customers.contains_key(&customer_id) {
        return Err(ApiErr::new(
            400,
            format!("The field 'customer_id' is invalid. Customer {customer_id} does not exist."),
        ));
    }
    let status_id = match obj.get("status_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_i64()
            .filter(|x| status_name(*x).is_some())
            .ok_or_else(|| v2_bad("status_id"))?,
    };
    let channel_id = match obj.get("channel_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_i64().ok_or_else(|| v2_bad("channel_id"))?,
    };
    if !s
        .channels
        .get(&channel_id)
        .is_some_and(FakeChannel::is_enabled)
    {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'channel_id' is invalid. Channel {channel_id} does not exist or is not enabled."
            ),
        ));
    }
    let date_created = match obj.get("date_created") {
        None | Some(Value::Null) => now_secs(),
        Some(Value::String(d)) => parse_v2_date(d).ok_or_else(|| v2_bad("date_created"))?,
        Some(_) => return Err(v2_bad("date_created")),
    };
    let ship =
        money_pair(obj, "shipping_cost_ex_tax", "shipping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let handling =
        money_pair(obj, "handling_cost_ex_tax", "handling_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let wrapping =
        money_pair(obj, "wrapping_cost_ex_tax", "wrapping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let discount = match obj.get("discount_amount") {
        None | Some(Value::Null) => 0.0,
        Some(v) => num_of(v)
            .filter(|x| *x >= 0.0)
            .ok_or_else(|| v2_bad("discount_amount"))?,
    };
    let subtotal = money_pair(obj, "subtotal_ex_tax", "subtotal_inc_tax")?.unwrap_or_else(|| {
        (
            lines.iter().map(|l| l.ex * l.qty as f64).sum(),
            lines.iter().map(|l| l.inc * l.qty as f64).sum(),
        )
    });
    let total = money_pair(obj, "total_ex_tax", "total_inc_tax")?.unwrap_or((
        (subtotal.0 + ship.0 + handling.0 + wrapping.0 - discount).max(0.0),
        (subtotal.1 + ship.1 + handling.1 + wrapping.1 - discount).max(0.0),
    ));
    let ship_addrs_in: Vec<Map<String, Value>> = match obj.get("shipping_addresses") {
        None | Some(Value::Null) => vec![billing.clone()],
        Some(Value::Array(a)) if a.is_empty() => vec![billing.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let m = x
                    .as_object()
                    .cloned()
                    .ok_or_else(|| v2_bad(&format!("shipping_addresses[{i}]")))?;
                check_address(&m, &format!("shipping_addresses[{i}]"))?;
                Ok(m)
            })
            .collect::<Result<_, ApiErr>>()?,
        Some(_) => return Err(v2_bad("shipping_addresses")),
    };

    // All checks passed: commit.
    let id = s.next_order_id;
    s.next_order_id += 1;
    let items_total: i64 = lines.iter().map(|l| l.qty).sum();
    let res = |kind: &str, path: &str| json!({ "url": format!("{base}/stores/{hash}/v2/orders/{id}/{path}"), "resource": format!("/orders/{id}/{kind}") });
    let n_addr = ship_addrs_in.len() as f64;
    let mut addresses = Vec::new();
    for (i, a) in ship_addrs_in.iter().enumerate() {
        let aid = s.next_order_address_id;
        s.next_order_address_id += 1;
        let mut m = Map::new();
        m.insert("id".into(), json!(aid));
        m.insert("order_id".into(), json!(id));
        for (k, v) in address_fields(a) {
            m.insert(k, v);
        }
        m.insert(
            "items_total".into(),
            json!(if i == 0 { items_total } else { 0 }),
        );
        m.insert("items_shipped".into(), json!(0));
        let method = str_of(a, "shipping_method");
        m.insert(
            "shipping_method".into(),
            json!(if method.is_empty() {
                "None".to_string()
            } else {
                method
            }),
        );
        let (ex, inc) = (ship.0 / n_addr, ship.1 / n_addr);
        m.insert("base_cost".into(), json!(money(inc)));
        m.insert("cost_ex_tax".into(), json!(money(ex)));
        m.insert("cost_inc_tax".into(), json!(money(inc)));
        m.insert("cost_tax".into(), json!(money(inc - ex)));
        m.insert("cost_tax_class_id".into(), json!(0));
        m.insert("base_handling_cost".into(), json!(money(0.0)));
        m.insert("handling_cost_ex_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_inc_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax_class_id".into(), json!(0));
        m.insert("shipping_zone_id".into(), json!(1));
        m.insert("shipping_zone_name".into(), json!("United States"));
        m.insert(
            "shipping_quotes".into(),
            json!({
                "url": format!("{base}/stores/{hash}/v2/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
                "resource": format!("/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
            }),
        );
        m.insert("form_fields".into(), json!([]));
        addresses.push(m);
    }
    let first_address_id = addresses
        .first()
        .and_then(|a| a.get("id"))
        .cloned()
        .unwrap_or(json!(0));
    let mut products = Vec::new();
    for l in &lines {
        let opid = s.next_order_product_id;
        s.next_order_product_id += 1;
        let options: Vec<Value> = l
            .options
            .iter()
            .map(|ov| {
                let oid = s.next_order_option_id;
                s.next_order_option_id += 1;
                json!({
                    "id": oid,
                    "option_id": ov.option_id,
                    "order_product_id": opid,
                    "product_option_id": ov.option_id,
                    "display_name": ov.option_display_name,
                    "display_name_customer": ov.option_display_name,
                    "display_name_merchant": ov.option_display_name,
                    "display_value": ov.label,
                    "display_value_customer": ov.label,
                    "display_value_merchant": ov.label,
                    "value": ov.id.to_string(),
                    "type": "Multiple choice",
                    "name": ov.option_display_name,
                    "display_style": "Rectangle",
                })
            })
            .collect();
        let q = l.qty as f64;
        let m = object([
            ("id", json!(opid)),
            ("order_id", json!(id)),
            ("product_id", json!(l.product_id)),
            ("variant_id", json!(l.variant_id)),
            ("order_pickup_method_id", json!(0)),
            ("order_address_id", json!(first_address_id)),
            ("name", json!(l.name)),
            ("name_customer", json!(l.name)),
            ("name_merchant", json!(l.name)),
            ("sku", json!(l.sku)),
            ("upc", json!(l.upc)),
            ("type", json!(l.ptype)),
            ("base_price", json!(money(l.ex))),
            ("price_ex_tax", json!(money(l.ex))),
            ("price_inc_tax", json!(money(l.inc))),
            ("price_tax", json!(money(l.inc - l.ex))),
            ("base_total", json!(money(l.ex * q))),
            ("total_ex_tax", json!(money(l.ex * q))),
            ("total_inc_tax", json!(money(l.inc * q))),
            ("total_tax", json!(money((l.inc - l.ex) * q))),
            ("weight", json!(money(l.weight))),
            ("width", json!(money(0.0))),
            ("height", json!(money(0.0))),
            ("depth", json!(money(0.0))),
            ("quantity", json!(l.qty)),
            ("base_cost_price", json!(money(l.cost))),
            ("cost_price_inc_tax", json!(money(l.cost))),
            ("cost_price_ex_tax", json!(money(l.cost))),
            ("cost_price_tax", json!(money(0.0))),
            ("is_refunded", json!(false)),
            ("quantity_refunded", json!(0)),
            ("refund_amount", json!(money(0.0))),
            ("return_id", json!(0)),
            ("wrapping_id", json!(0)),
            ("wrapping_name", json!("")),
            ("base_wrapping_cost", json!(money(0.0))),
            ("wrapping_cost_ex_tax", json!(money(0.0))),
            ("wrapping_cost_inc_tax", json!(money(0.0))),
            ("wrapping_cost_tax", json!(money(0.0))),
            ("wrapping_message", json!("")),
            ("quantity_shipped", json!(0)),
            ("event_name", json!(Value::Null)),
            ("event_date", json!(Value::Null)),
            ("fixed_shipping_cost", json!(money(0.0))),
            ("ebay_item_id", json!("")),
            ("ebay_transaction_id", json!("")),
            ("option_set_id", json!(Value::Null)),
            ("parent_order_product_id", json!(Value::Null)),
            ("is_bundled_product", json!(false)),
            ("bin_picking_number", json!("")),
            ("external_id", json!(Value::Null)),
            ("brand", json!("")),
            ("applied_discounts", json!([])),
            ("product_options", json!(options)),
            ("configurable_fields", json!([])),
            ("gift_certificate_id", json!(Value::Null)),
            ("discounted_total_inc_tax", json!(money(l.inc * q))),
        ]);
        if let Value::Object(m) = m {
            products.push(m);
        }
    }
    // Stock is decremented like the default "on order placement" setting; the
    // product's date_modified is NOT bumped by this (as on BigCommerce).
    for l in &lines {
        if let Some(p) = s.products.get_mut(&l.product_id) {
            p.total_sold += l.qty;
            match p.inventory_tracking.as_str() {
                "product" => {
                    p.inventory_level = (p.inventory_level - l.qty).max(0);
                    if let [only] = p.variants.as_mut_slice() {
                        only.inventory_level = p.inventory_level;
                    }
                }
                "variant" => {
                    if let Some(v) = p.variants.iter_mut().find(|v| Some(v.id) == l.variant_id) {
                        v.inventory_level = (v.inventory_level - l.qty).max(0);
                    }
                }
                _ => {}
            }
        }
    }
    let mut billing_out = address_fields(billing);
    billing_out.insert("form_fields".into(), json!([]));
    let now = now_secs();
    let opt_str = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => json!(s),
        _ => Value::Null,
    };
    let text = |k: &str| str_of(obj, k);
    let currency = {
        let c = text("default_currency_code");
        if c.is_empty() {
            s.info.currency.clone()
        } else {
            c
        }
    };
    let locale = {
        let l = text("customer_locale");
        if l.is_empty() { "en".to_string() } else { l }
    };
    let order = object([
        ("id", json!(id)),
        ("customer_id", json!(customer_id)),
        ("date_created", json!(rfc2822(&date_created))),
        ("date_modified", json!(rfc2822(&now))),
        ("date_shipped", json!("")),
        ("status_id", json!(status_id)),
        ("status", json!(status_name(status_id).unwrap_or(""))),
        ("subtotal_ex_tax", json!(money(subtotal.0))),
        ("subtotal_inc_tax", json!(money(subtotal.1))),
        ("subtotal_tax", json!(money(subtotal.1 - subtotal.0))),
        ("base_shipping_cost", json!(money(ship.1))),
        ("shipping_cost_ex_tax", json!(money(ship.0))),
        ("shipping_cost_inc_tax", json!(money(ship.1))),
        ("shipping_cost_tax", json!(money(ship.1 - ship.0))),
        ("shipping_cost_tax_class_id", json!(0)),
        ("base_handling_cost", json!(money(handling.1))),
        ("handling_cost_ex_tax", json!(money(handling.0))),
        ("handling_cost_inc_tax", json!(money(handling.1))),
        ("handling_cost_tax", json!(money(handling.1 - handling.0))),
        ("handling_cost_tax_class_id", json!(0)),
        ("base_wrapping_cost", json!(money(wrapping.1))),
        ("wrapping_cost_ex_tax", json!(money(wrapping.0))),
        ("wrapping_cost_inc_tax", json!(money(wrapping.1))),
        ("wrapping_cost_tax", json!(money(wrapping.1 - wrapping.0))),
        ("wrapping_cost_tax_class_id", json!(0)),
        ("total_ex_tax", json!(money(total.0))),
        ("total_inc_tax", json!(money(total.1))),
        ("total_tax", json!(money(total.1 - total.0))),
        ("is_tax_inclusive_pricing", json!(false)),
        ("items_total", json!(items_total)),
        ("items_shipped", json!(0)),
        ("payment_method", json!(text("payment_method"))),
        ("payment_provider_id", json!("")),
        ("payment_status", json!("")),
        ("refunded_amount", json!(money(0.0))),
        (
            "order_is_digital",
            json!(lines.iter().all(|l| l.ptype == "digital")),
        ),
        ("store_credit_amount", json!(money(0.0))),
        ("gift_certificate_amount", json!(money(0.0))),
        ("ip_address", json!(text("ip_address"))),
        ("ip_address_v6", json!("")),
        ("geoip_country", json!("")),
        ("geoip_country_iso2", json!("")),
        ("currency_id", json!(1)),
        ("currency_code", json!(currency)),
        ("currency_exchange_rate", json!("1.0000000000")),
        ("default_currency_id", json!(1)),
        ("default_currency_code", json!(currency)),
        ("staff_notes", json!(text("staff_notes"))),
        ("customer_message", json!(text("customer_message"))),
        ("discount_amount", json!(money(discount))),
        ("coupon_discount", json!(money(0.0))),
        ("shipping_address_count", json!(addresses.len())),
        ("is_deleted", json!(false)),
        ("ebay_order_id", json!("0")),
        ("cart_id", json!("")),
        ("billing_address", json!(billing_out)),
        ("is_email_opt_in", json!(false)),
        ("credit_card_type", json!(Value::Null)),
        ("order_source", json!(source)),
        ("channel_id", json!(channel_id)),
        ("external_source", json!(opt_str("external_source"))),
        ("products", json!(res("products", "products"))),
        (
            "shipping_addresses",
            json!(res("shippingaddresses", "shippingaddresses")),
        ),
        ("coupons", json!(res("coupons", "coupons"))),
        ("external_id", json!(Value::Null)),
        (
            "external_merchant_id",
            json!(opt_str("external_merchant_id")),
        ),
        ("tax_provider_id", json!("")),
        ("store_default_currency_code", json!(s.info.currency)),
        (
            "store_default_to_transactional_exchange_rate",
            json!("1.0000000000"),
        ),
        ("custom_status", json!(status_name(status_id).unwrap_or(""))),
        ("customer_locale", json!(locale)),
        ("external_order_id", json!(opt_str("external_order_id"))),
        ("fees", json!([])),
    ]);
    let Value::Object(json) = order else {
        return Err(ApiErr::new(500, "internal error"));
    };
    s.orders.insert(
        id,
        OrderRec {
            id,
            json,
            date_created,
            date_modified: now,
            products,
            addresses,
            shipments: Vec::new(),
        },
    );
    Ok(id)
}

fn update_order(s: &mut StoreState, id: i64, body: &Value) -> Result<(), ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    if obj.contains_key("external_merchant_id") {
        return Err(ApiErr::new(
            400,
            "The field 'external_merchant_id' cannot be updated.",
        ));
    }
    for k in ["products", "consignments", "shipping_addresses"] {
        if obj.contains_key(k) {
            return Err(ApiErr::new(
                400,
                format!("Updating '{k}' is not supported by the fake."),
            ));
        }
    }
    let status = match obj.get("status_id") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|x| status_name(*x).is_some())
                .ok_or_else(|| v2_bad("status_id"))?,
        ),
    };
    let customer = match obj.get("customer_id") {
        None => None,
        Some(v) => {
            let c = num_of(v)
                .map(|x| x as i64)
                .ok_or_else(|| v2_bad("customer_id"))?;
            if c != 0 && !s.customers.contains_key(&c) {
                return Err(v2_bad("customer_id"));
            }
            Some(c)
        }
    };
    let o = s.orders.get_mut(&id).ok_or_else(ApiErr::not_found)?;
    if let Some(st) = status {
        set_status(o, st);
    }
    if let Some(c) = customer {
        o.json.insert("customer_id".into(), json!(c));
    }
    for k in [
        "external_order_id",
        "external_source",
        "staff_notes",
        "customer_message",
        "payment_method",
    ] {
        match obj.get(k) {
            None => {}
            Some(Value::String(v)) => {
                o.json.insert(k.into(), json!(v));
            }
            Some(Value::Null) => {
                o.json.insert(k.into(), Value::Null);
            }
            Some(_) => return Err(v2_bad(k)),
        }
    }
    if let Some(Value::Object(b)) = obj.get("billing_address")
        && let Some(Value::Object(cur)) = o.json.get_mut("billing_address")
    {
        for (k, v) in b {
            cur.insert(k.clone(), v.clone());
        }
    }
    o.touch();
    Ok(())
}

fn list_orders(s: &StoreState, q: &Query) -> HResult {
    let v2err = |e: ApiErr| ApiErr::new(if e.status == 413 { 413 } else { 400 }, e.title);
    let (page, limit) = paging(q, 50).map_err(v2err)?;
    let int = |k: &str| -> Result<Option<i64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let float = |k: &str| -> Result<Option<f64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let date = |k: &str| -> Result<Option<i64>, ApiErr> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => parse_v2_date(v)
                .map(|d| Some(d.timestamp()))
                .ok_or_else(|| ApiErr::new(400, format!("The filter '{k}' is invalid."))),
        }
    };
    let (min_id, max_id) = (int("min_id")?, int("max_id")?);
    let (min_total, max_total) = (float("min_total")?, float("max_total")?);
    let customer_id = int("customer_id")?;
    let status_id = int("status_id")?;
    let channel_id = int("channel_id")?;
    let (min_dc, max_dc) = (date("min_date_created")?, date("max_date_created")?);
    let (min_dm, max_dm) = (date("min_date_modified")?, date("max_date_modified")?);
    let email = q.get("email").map(str::to_lowercase);
    let cart_id = q.get("cart_id");
    let payment_method = q.get("payment_method");
    let external_order_id = q.get("external_order_id");
    let (sort_field, desc) = match q.get("sort") {
        None => ("id", false),
        Some(v) => {
            let (f, d) = v.split_once(':').unwrap_or((v, "asc"));
            let desc = match d {
                "asc" => false,
                "desc" => true,
                _ => return Err(ApiErr::new(400, "The filter 'sort' is invalid.")),
            };
            if ![
                "id",
                "customer_id",
                "date_created",
                "date_modified",
                "status_id",
                "channel_id",
                "external_id",
            ]
            .contains(&f)
            {
                return Err(ApiErr::new(400, "The filter 'sort' is invalid."));
            }
            (f, desc)
        }
    };
    let mut all: Vec<&OrderRec> = s
        .orders
        .values()
        .filter(|o| {
            let total = num_of(o.json.get("total_inc_tax").unwrap_or(&Value::Null)).unwrap_or(0.0);
            let billing_email = o
                .json
                .get("billing_address")
                .and_then(|b| b.get("email"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            !o.archived()
                && min_id.is_none_or(|m| o.id >= m)
                && max_id.is_none_or(|m| o.id <= m)
                && min_total.is_none_or(|m| total >= m)
                && max_total.is_none_or(|m| total <= m)
                && customer_id.is_none_or(|c| o.get_i64("customer_id") == c)
                && status_id.is_none_or(|c| o.get_i64("status_id") == c)
                && channel_id.is_none_or(|c| o.get_i64("channel_id") == c)
                && min_dc.is_none_or(|m| o.date_created.timestamp() >= m)
                && max_dc.is_none_or(|m| o.date_created.timestamp() <= m)
                && min_dm.is_none_or(|m| o.date_modified.timestamp() >= m)
                && max_dm.is_none_or(|m| o.date_modified.timestamp() <= m)
                && email.as_ref().is_none_or(|e| *e == billing_email)
                && cart_id.is_none_or(|c| o.get_str("cart_id") == c)
                && payment_method.is_none_or(|c| o.get_str("payment_method") == c)
                && external_order_id.is_none_or(|c| o.get_str("external_order_id") == c)
        })
        .collect();
    match sort_field {
        "customer_id" => all.sort_by_key(|o| (o.get_i64("customer_id"), o.id)),
        "date_created" => all.sort_by_key(|o| (o.date_created, o.id)),
        "date_modified" => all.sort_by_key(|o| (o.date_modified, o.id)),
        "status_id" => all.sort_by_key(|o| (o.get_i64("status_id"), o.id)),
        "channel_id" => all.sort_by_key(|o| (o.get_i64("channel_id"), o.id)),
        "external_id" => all.sort_by_key(|o| (o.get_str("external_id"), o.id)),
        _ => {}
    }
    if desc {
        all.reverse();
    }
    let page_items: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| Value::Object(o.json.clone()))
        .collect();
    if page_items.is_empty() {
        // BigCommerce v2 answers an empty collection with 204 and no body.
        return Ok(Reply::no_content());
    }
    Ok(Reply::ok(Value::Array(page_items)))
}

fn create_shipment(
    s: &mut StoreState,
    order_id: i64,
    body: &Value,
) -> Result<Map<String, Value>, ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    let shipment_id = s.next_shipment_id;
    let o = s.orders.get_mut(&order_id).ok_or_else(ApiErr::not_found)?;
    let address_id = match obj.get("order_address_id") {
        None | Some(Value::Null) => return Err(v2_missing("order_address_id")),
        Some(v) => v.as_i64().ok_or_else(|| v2_bad("order_address_id"))?,
    };
    let address_idx = o
        .addresses
        .iter()
        .position(|a| a.get("id").and_then(Value::as_i64) == Some(address_id))
        .ok_or_else(|| v2_bad("order_address_id"))?;
    let items = match obj.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None | Some(Value::Null) => return Err(v2_missing("items")),
        Some(_) => return Err(v2_bad("items")),
    };
    let tracking_number = match obj.get("tracking_number") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(t)) if t.chars().count() <= 50 => t.clone(),
        Some(_) => return Err(v2_bad("tracking_number")),
    };
    let mut wanted: Vec<(usize, i64)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let opid = it
            .get("order_product_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| v2_missing(&format!("items[{i}].order_product_id")))?;
        let qty = it
            .get("quantity")
            .and_then(Value::as_i64)
            .filter(|q| *q >= 1)
            .ok_or_else(|| v2_bad(&format!("items[{i}].quantity")))?;
        let idx = o
            .products
            .iter()
            .position(|p| p.get("id").and_then(Value::as_i64) == Some(opid))
            .ok_or_else(|| v2_bad(&format!("items[{i}].order_product_id")))?;
        let already: i64 = wanted
            .iter()
            .filter(|(j, _)| *j == idx)
            .map(|(_, q)| q)
            .sum();
        let p = &o.products[idx];
        let left = p.get("quantity").and_then(Value::as_i64).unwrap_or(0)
            - p.get("quantity_shipped")
                .and_then(Value::as_i64)
                .unwrap_or(0)
            - already;
        if qty > left {
            return Err(ApiErr::new(
                400,
                format!(
                    "The quantity specified for order product {opid} is greater than the quantity available to ship."
                ),
            ));
        }
        wanted.push((idx, qty));
    }

    // Commit.
    s.next_shipment_id += 1;
    let mut out_items = Vec::new();
    let mut shipped_now = 0;
    for (idx, qty) in &wanted {
        let p = &mut o.products[*idx];
        let cur = p
            .get("quantity_shipped")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        p.insert("quantity_shipped".into(), json!(cur + qty));
        out_items.push(json!({
            "order_product_id": p.get("id"),
            "product_id": p.get("product_id"),
            "quantity": qty,
        }));
        shipped_now += qty;
    }
    let a = &mut o.addresses[address_idx];
    let cur = a.get("items_shipped").and_then(Value::as_i64).unwrap_or(0);
    a.insert("items_shipped".into(), json!(cur + shipped_now));
    let mut ship_addr = Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
        "country",
        "country_iso2",
        "phone",
        "email",
    ] {
        ship_addr.insert(k.into(), a.get(k).cloned().unwrap_or(json!("")));
    }
    let mut bill = o
        .json
        .get("billing_address")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    bill.remove("form_fields");
    let items_total = o.get_i64("items_total");
    let items_shipped = o.get_i64("items_shipped") + shipped_now;
    o.json.insert("items_shipped".into(), json!(items_shipped));
    set_status(o, if items_shipped >= items_total { 2 } else { 3 });
    let now = now_secs();
    o.json.insert("date_shipped".into(), json!(rfc2822(&now)));
    o.touch();

    let provider = str_of(obj, "shipping_provider");
    let carrier = str_of(obj, "tracking_carrier");
    let tracking_link = str_of(obj, "tracking_link");
    let generated = if tracking_link.is_empty() && !tracking_number.is_empty() {
        let slug = if carrier.is_empty() {
            provider.clone()
        } else {
            carrier.clone()
        };
        if slug.is_empty() {
            format!("https://track.aftership.com/{tracking_number}")
        } else {
            format!("https://track.aftership.com/{slug}/{tracking_number}")
        }
    } else {
        String::new()
    };
    let merchant_cost = obj
        .get("merchant_shipping_cost")
        .and_then(num_of)
        .unwrap_or(0.0);
    let shipping_method = {
        let m = str_of(obj, "shipping_method");
        if m.is_empty() { "None".to_string() } else { m }
    };
    let shipment = json!({
        "id": shipment_id,
        "order_id": order_id,
        "customer_id": o.get_i64("customer_id"),
        "order_address_id": address_id,
        "date_created": rfc2822(&now),
        "tracking_number": tracking_number,
        "merchant_shipping_cost": money(merchant_cost),
        "shipping_method": shipping_method,
        "comments": str_of(obj, "comments"),
        "shipping_provider": provider,
        "tracking_carrier": carrier,
        "tracking_link": tracking_link,
        "billing_address": bill,
        "shipping_address": ship_addr,
        "items": out_items,
        "shipping_provider_display_name": provider_display_name(&provider),
        "generated_tracking_link": generated,
    });
    let Value::Object(m) = shipment else {
        return Err(ApiErr::new(500, "internal error"));
    };
    o.shipments.push(m.clone());
    Ok(m)
}

// ---------------------------------------------------------------------------
// Customers (v3)
// ---------------------------------------------------------------------------

fn list_customers(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let id_in = q_i64_list(q, "id:in")?;
    let email_in: Option<Vec<String>> = q
        .list("email:in")
        .map(|l| l.iter().map(|e| e.to_lowercase()).collect());
    let name_in = q.list("name:in");
    let name_like: Option<Vec<String>> = q
        .list("name:like")
        .map(|l| l.iter().map(|e| e.to_lowercase()).collect());
    let company_in = q.list("company:in");
    let group_in = q_i64_list(q, "customer_group_id:in")?;
    let phone_in = q.list("phone:in");
    let dc = |k| q_date(q, k).map(|d| d.map(|d| d.timestamp()));
    let (dc_min, dc_max, dm_min, dm_max) = (
        dc("date_created:min")?,
        dc("date_created:max")?,
        dc("date_modified:min")?,
        dc("date_modified:max")?,
    );
    let includes = q.list("include").unwrap_or_default();
    let inc_addr = includes.iter().any(|x| x == "addresses");
    let inc_credit = includes.iter().any(|x| x == "storecredit");
    let mut all: Vec<&FakeCustomer> = s
        .customers
        .values()
        .filter(|c| {
            let full = format!("{} {}", c.first_name, c.last_name);
            id_in.as_ref().is_none_or(|s| s.contains(&c.id))
                && email_in
                    .as_ref()
                    .is_none_or(|l| l.contains(&c.email.to_lowercase()))
                && name_in.as_ref().is_none_or(|l| l.contains(&full))
                && name_like
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|n| full.to_lowercase().contains(n)))
                && company_in.as_ref().is_none_or(|l| l.contains(&c.company))
                && group_in
                    .as_ref()
                    .is_none_or(|s| s.contains(&c.customer_group_id))
                && phone_in.as_ref().is_none_or(|l| l.contains(&c.phone))
                && dc_min.is_none_or(|m| c.date_created.timestamp() >= m)
                && dc_max.is_none_or(|m| c.date_created.timestamp() <= m)
                && dm_min.is_none_or(|m| c.date_modified.timestamp() >= m)
                && dm_max.is_none_or(|m| c.date_modified.timestamp() <= m)
        })
        .collect();
    match q.get("sort") {
        None => {}
        Some("date_created:asc") => all.sort_by_key(|c| (c.date_created, c.id)),
        Some("date_created:desc") => all.sort_by_key(|c| std::cmp::Reverse((c.date_created, c.id))),
        Some("last_name:asc") => {
            all.sort_by(|a, b| a.last_name.cmp(&b.last_name).then(a.id.cmp(&b.id)))
        }
        Some("last_name:desc") => {
            all.sort_by(|a, b| b.last_name.cmp(&a.last_name).then(b.id.cmp(&a.id)))
        }
        Some("date_modified:asc") => all.sort_by_key(|c| (c.date_modified, c.id)),
        Some("date_modified:desc") => {
            all.sort_by_key(|c| std::cmp::Reverse((c.date_modified, c.id)))
        }
        Some(_) => return Err(invalid_filter("sort")),
    }
    let (items, total) = page_of(all.into_iter(), page, limit);
    let data = items
        .into_iter()
        .map(|c| customer_json(c, inc_addr, inc_credit))
        .collect();
    Ok(v3_list(data, total, page, limit))
}

fn create_customers(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body.as_array().ok_or_else(|| {
        ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "The request body must be an array of customers.")
    })?;
    if arr.len() > 10 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 10.",
        ));
    }
    if arr.is_empty() {
        return Err(ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "At least one customer is required."));
    }
    let mut errors = ApiErr::new(422, "JSON data is missing or invalid");
    let mut new_customers = Vec::new();
    let mut seen: HashSet<String> = s
        .customers
        .values()
        .map(|c| c.email.to_lowercase())
        .collect();
    let mut duplicate: Option<String> = None;
    for (i, item) in arr.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errors = errors.with(&i.to_string(), "error.type.object");
            continue;
        };
        let text = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        for k in ["email", "first_name", "last_name"] {
            match obj.get(k) {
                None | Some(Value::Null) => {
                    errors = errors.with(&format!("{i}.{k}"), "error.path.missing")
                }
                Some(Value::String(v)) if v.trim().is_empty() => {
                    errors = errors.with(&format!("{i}.{k}"), "error.minLength")
                }
                Some(Value::String(_)) => {}
                Some(_) => errors = errors.with(&format!("{i}.{k}"), "error.type.string"),
            }
        }
        let email = text("email");
        if !email.is_empty() {
            let valid = email.split_once('@').is_some_and(|(a, b)| {
                !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.')
            });
            if !valid {
                errors = errors.with(&format!("{i}.email"), "error.format");
            } else if !seen.insert(email.to_lowercase()) && duplicate.is_none() {
                duplicate = Some(email.clone());
            }
        }
        let channel_ids = match obj.get("channel_ids") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) if !a.is_empty() => {
                let ids: Option<Vec<i64>> = a.iter().map(Value::as_i64).collect();
                match ids {
                    Some(ids) if ids.iter().all(|id| s.channels.contains_key(id)) => Some(ids),
                    _ => {
                        errors = errors.with(&format!("{i}.channel_ids"), "Invalid channel id(s).");
                        None
                    }
                }
            }
            Some(_) => {
                errors = errors.with(&format!("{i}.channel_ids"), "error.minItems");
                None
            }
        };
        let mut addresses = Vec::new();
        match obj.get("addresses") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.len() <= 10 => {
                for (j, addr) in a.iter().enumerate() {
                    let Some(am) = addr.as_object() else {
                        errors = errors.with(&format!("{i}.addresses.{j}"), "error.type.object");
                        continue;
                    };
                    for k in [
                        "first_name",
                        "last_name",
                        "address1",
                        "city",
                        "country_code",
                    ] {
                        if str_of(am, k).trim().is_empty() {
                            errors = errors
                                .with(&format!("{i}.addresses.{j}.{k}"), "error.path.missing");
                        }
                    }
                    let cc = str_of(am, "country_code");
                    if !cc.is_empty() && cc.len() != 2 {
                        errors =
                            errors.with(&format!("{i}.addresses.{j}.country_code"), "error.length");
                    }
                    let country = COUNTRIES
                        .iter()
                        .find(|(c, _)| *c == cc)
                        .map_or(cc.clone(), |(_, n)| n.to_string());
                    let address_type = {
                        let t = str_of(am, "address_type");
                        if t.is_empty() {
                            "residential".to_string()
                        } else {
                            t
                        }
                    };
                    addresses.push(json!({
                        "id": 0,
                        "customer_id": 0,
                        "first_name": str_of(am, "first_name"),
                        "last_name": str_of(am, "last_name"),
                        "company": str_of(am, "company"),
                        "address1": str_of(am, "address1"),
                        "address2": str_of(am, "address2"),
                        "city": str_of(am, "city"),
                        "state_or_province": str_of(am, "state_or_province"),
                        "postal_code": str_of(am, "postal_code"),
                        "country_code": cc,
                        "country": country,
                        "phone": str_of(am, "phone"),
                        "address_type": address_type,
                    }));
                }
            }
            Some(_) => errors = errors.with(&format!("{i}.addresses"), "error.maxItems"),
        }
        let mut c = FakeCustomer::new(&email, &text("first_name"), &text("last_name"));
        c.company = text("company");
        c.phone = text("phone");
        c.notes = text("notes");
        c.tax_exempt_category = text("tax_exempt_category");
        c.customer_group_id = obj
            .get("customer_group_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        c.accepts_product_review_abandoned_cart_emails = obj
            .get("accepts_product_review_abandoned_cart_emails")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.origin_channel_id = obj
            .get("origin_channel_id")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        c.channel_ids = channel_ids;
        c.addresses = addresses;
        c.force_password_reset = obj
            .get("authentication")
            .and_then(|a| a.get("force_password_reset"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.store_credit = obj
            .get("store_credit_amounts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("amount").and_then(Value::as_f64))
                    .sum()
            })
            .unwrap_or(0.0);
        new_customers.push(c);
    }
    if !errors.errors.is_empty() {
        return Err(errors);
    }
    if let Some(email) = duplicate {
        return Err(ApiErr::new(422, "Create customers failed.").with(
            ".customer_create",
            format!("Error creating customers: the email address {email} is already in use by another customer."),
        ));
    }
    let mut data = Vec::new();
    for c in new_customers {
        let id = s.insert_customer(c);
        if let Some(c) = s.customers.get(&id) {
            data.push(customer_json(c, true, false));
        }
    }
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}

// ---------------------------------------------------------------------------
// Webhooks (v3)
// ---------------------------------------------------------------------------

fn hook_not_found(id: i64) -> ApiErr {
    ApiErr::new(404, format!("Webhook with id [{id}] not found"))
}

fn check_destination(d: &str, strict: bool) -> Result<(), &'static str> {
    let rest = match (d.strip_prefix("https://"), d.strip_prefix("http://")) {
        (Some(r), _) => r,
        (None, Some(r)) if !strict => r,
        _ => return Err("The destination must be an HTTPS URL."),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("The destination must be a valid URL.");
    }
    if strict
        && let Some((_, port)) = host.rsplit_once(':')
        && port != "443"
    {
        return Err("The destination must be served on port 443; custom ports are not supported.");
    }
    Ok(())
}

fn validate_hook_fields(
    obj: &Map<String, Value>,
    strict: bool,
    require: bool,
) -> Result<(), ApiErr> {
    let mut e = ApiErr::new(422, "JSON data is missing or invalid");
    for k in ["scope", "destination"] {
        match obj.get(k) {
            None | Some(Value::Null) if require => e = e.with(k, "error.path.missing."),
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if v.is_empty() => e = e.with(k, "error.minLength"),
            Some(Value::String(_)) => {}
            Some(_) => e = e.with(k, "error.type.string"),
        }
    }
    if let Some(scope) = obj.get("scope").and_then(Value::as_str)
        && !scope.is_empty()
        && !scope.starts_with("store/")
    {
        e = e.with("scope", "The scope is not a valid webhook scope.");
    }
    if let Some(d) = obj.get("destination").and_then(Value::as_str)
        && !d.is_empty()
        && let Err(msg) = check_destination(d, strict)
    {
        e = e.with("destination", msg);
    }
    if let Some(v) = obj.get("is_active")
        && !v.is_boolean()
    {
        e = e.with("is_active", "error.type.boolean");
    }
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if m.values().any(|v| !v.is_string()) {
                e = e.with("headers", "Header values must be strings.");
            }
        }
        Some(_) => e = e.with("headers", "error.type.object"),
    }
    if e.errors.is_empty() { Ok(()) } else { Err(e) }
}

fn create_hook(s: &mut StoreState, body: &Value, ctx: &Ctx<'_>) -> HResult {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "Input is invalid."))?;
    validate_hook_fields(obj, s.info.require_https_hooks, true)?;
    let scope = str_of(obj, "scope");
    let destination = str_of(obj, "destination");
    let mine = s
        .hooks
        .values()
        .filter(|h| h.client_id == ctx.client_id && h.scope == scope);
    if mine.clone().any(|h| h.destination == destination) {
        return Err(ApiErr::new(
            422,
            "Webhook already exists for this scope and destination.",
        )
        .with(
            "destination",
            "A webhook with the same scope and destination already exists.",
        ));
    }
    if mine.count() >= 10 {
        return Err(ApiErr::new(422, "Webhook limit reached for this scope.")
            .with("scope", "At most 10 webhooks per scope are allowed."));
    }
    let now = Utc::now().timestamp();
    let id = s.next_hook_id;
    s.next_hook_id += 1;
    let h = HookRec {
        id,
        client_id: ctx.client_id.to_string(),
        scope,
        destination,
        is_active: obj
            .get("is_active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        headers: obj.get("headers").cloned().unwrap_or(Value::Null),
        created_at: now,
        updated_at: now,
    };
    let out = h.json(ctx.hash);
    s.hooks.insert(id, h);
    Ok(Reply::data(out))
}

fn update_hook(s: &mut StoreState, id: i64, body: &Value, ctx: &Ctx<'_>) -> HResult {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "Input is invalid."))?;
    if s.hooks
        .get(&id)
        .is_none_or(|h| h.client_id != ctx.client_id)
    {
        return Err(hook_not_found(id));
    }
    if !["scope", "destination", "is_active", "headers"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Err(ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "At least one field is required."));
    }
    validate_hook_fields(obj, s.info.require_https_hooks, false)?;
    let h = s.hooks.get(&id).ok_or_else(|| hook_not_found(id))?;
    let scope = obj
        .get("scope")
        .and_then(Value::as_str)
        .map_or(h.scope.clone(), str::to_string);
    let destination = obj
        .get("destination")
        .and_then(Value::as_str)
        .map_or(h.destination.clone(), str::to_string);
    if s.hooks.values().any(|o| {
        o.id != id
            && o.client_id == ctx.client_id
            && o.scope == scope
            && o.destination == destination
    }) {
        return Err(ApiErr::new(
            422,
            "Webhook already exists for this scope and destination.",
        )
        .with(
            "destination",
            "A webhook with the same scope and destination already exists.",
        ));
    }
    let h = s.hooks.get_mut(&id).ok_or_else(|| hook_not_found(id))?;
    h.scope = scope;
    h.destination = destination;
    if let Some(a) = obj.get("is_active").and_then(Value::as_bool) {
        h.is_active = a;
    }
    if let Some(hd) = obj.get("headers") {
        h.headers = hd.clone();
    }
    h.updated_at = Utc::now().timestamp();
    Ok(Reply::data(h.json(ctx.hash)))
}

fn list_hooks(s: &StoreState, q: &Query, ctx: &Ctx<'_>) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let active = q_bool(q, "is_active")?;
    let scope = q.get("scope");
    let destination = q.get("destination");
    let iter = s.hooks.values().filter(|h| {
        h.client_id == ctx.client_id
            && active.is_none_or(|a| h.is_active == a)
            && scope.is_none_or(|x| h.scope == x)
            && destination.is_none_or(|x| h.destination == x)
    });
    let (items, total) = page_of(iter, page, limit);
    Ok(v3_list(
        items.into_iter().map(|h| h.json(ctx.hash)).collect(),
        total,
        page,
        limit,
    ))
}

// ---------------------------------------------------------------------------
// Channels (v3)
// ---------------------------------------------------------------------------

fn list_channels(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let type_in = q.list("type:in");
    let status_in = q.list("status:in");
    let platform_in = q.list("platform:in");
    let available = q_bool(q, "available")?;
    let iter = s.channels.values().filter(|c| {
        type_in.as_ref().is_none_or(|l| l.contains(&c.channel_type))
            && status_in.as_ref().is_none_or(|l| l.contains(&c.status))
            && platform_in.as_ref().is_none_or(|l| l.contains(&c.platform))
            && available.is_none_or(|a| a == !matches!(c.status.as_str(), "deleted" | "terminated"))
    });
    let (items, total) = page_of(iter, page, limit);
    Ok(v3_list(
        items.into_iter().map(channel_json).collect(),
        total,
        page,
        limit,
    ))
}
