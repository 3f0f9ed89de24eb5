//! The fake's state behind one mutex: stores with their data, tokens, rate windows, armed
//! faults and the request log. Never held across an await.

use super::faults::ArmedFault;
use super::hooks::HookRec;
use super::models::{FakeChannel, FakeCustomer, FakeProduct, FakeStore};
use super::orders::OrderRec;
use super::rate::RateWindow;
use super::server::RecordedRequest;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

impl StoreState {
    pub(super) fn new(info: FakeStore) -> StoreState {
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
}

pub(super) struct TokenInfo {
    pub(super) store_hash: String,
    pub(super) client_id: String,
    pub(super) scopes: Vec<String>,
}

pub(super) struct StoreState {
    pub(super) info: FakeStore,
    pub(super) products: BTreeMap<i64, FakeProduct>,
    /// variant id -> product id
    pub(super) variant_index: HashMap<i64, i64>,
    pub(super) next_product_id: i64,
    pub(super) next_variant_id: i64,
    pub(super) next_sku_id: i64,
    pub(super) next_option_id: i64,
    pub(super) next_option_value_id: i64,
    pub(super) generated: usize,
    pub(super) customers: BTreeMap<i64, FakeCustomer>,
    pub(super) next_customer_id: i64,
    pub(super) next_customer_address_id: i64,
    pub(super) orders: BTreeMap<i64, OrderRec>,
    pub(super) next_order_id: i64,
    pub(super) next_order_product_id: i64,
    pub(super) next_order_address_id: i64,
    pub(super) next_order_option_id: i64,
    pub(super) next_shipment_id: i64,
    pub(super) hooks: BTreeMap<i64, HookRec>,
    pub(super) next_hook_id: i64,
    pub(super) channels: BTreeMap<i64, FakeChannel>,
    pub(super) next_channel_id: i64,
}

pub(super) struct State {
    pub(super) base_url: String,
    pub(super) stores: HashMap<String, StoreState>,
    pub(super) tokens: HashMap<String, TokenInfo>,
    pub(super) rates: HashMap<String, RateWindow>,
    pub(super) faults: Vec<ArmedFault>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) next_seq: u64,
    /// Added before every request is processed (`FakeBigCommerce::set_latency`).
    pub(super) latency: Duration,
    /// Requests being handled now, and the most seen at once.
    pub(super) in_flight: usize,
    pub(super) max_in_flight: usize,
}

pub(super) fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
