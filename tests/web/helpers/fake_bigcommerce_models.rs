//! Data types, JSON rendering and small helpers for the fake BigCommerce API in
//! the sibling module `fake_bigcommerce`. Shapes follow the OpenAPI files in
//! `shared/bigcommerce/spec/reference/` (catalog v3, orders v2, customers v3,
//! webhooks v3, channels v3, store information v2).
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Documentation link BigCommerce puts in the `type` of v3 errors.
pub const ERROR_TYPE: &str =
    "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";
/// Wording real BigCommerce uses when a token lacks the endpoint's scope.
pub const MISSING_SCOPE: &str = "You don't have a required scope to access the endpoint";
/// Default quota and window: Standard/Plus plans, 150 requests per 30 s.
pub const DEFAULT_QUOTA: u32 = 150;
pub const DEFAULT_WINDOW_MS: u64 = 30_000;
/// Largest `limit` accepted by paginated endpoints (catalog spec: maximum 250).
pub const MAX_LIMIT: usize = 250;
/// Largest stock value the Catalog API stores; bigger values are clamped.
pub const MAX_STOCK: i64 = 2_147_483_647;

// ---------------------------------------------------------------------------
// Public model types
// ---------------------------------------------------------------------------

/// A store known to the fake. `FakeStore::new("abc123")` fills realistic defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeStore {
    /// Store hash (`id` in `/v2/store`).
    pub hash: String,
    /// Numeric store id (`store_id` in `/v2/store`, `store_id` in webhook payloads).
    pub store_id: i64,
    pub name: String,
    pub domain: String,
    pub plan_name: String,
    pub plan_level: String,
    /// `live`, `prelaunch`, `maintenance`, ...
    pub status: String,
    pub currency: String,
    pub currency_symbol: String,
    /// IANA zone name, e.g. `America/Chicago`.
    pub timezone: String,
    pub timezone_raw_offset: i64,
    pub account_uuid: String,
    pub admin_email: String,
    pub country: String,
    pub country_code: String,
    pub language: String,
    pub default_channel_id: i64,
    /// Hook destinations must be `https://` on port 443 (real behaviour). Turn off to
    /// let tests register plain-HTTP destinations.
    pub require_https_hooks: bool,
}

impl FakeStore {
    pub fn new(hash: &str) -> FakeStore {
        let n = fnv(hash);
        FakeStore {
            hash: hash.to_string(),
            store_id: 1_000_000 + (n % 8_999_999) as i64,
            name: format!("Fake Store {hash}"),
            domain: format!("{hash}.example.com"),
            plan_name: "Standard".to_string(),
            plan_level: "Standard".to_string(),
            status: "live".to_string(),
            currency: "USD".to_string(),
            currency_symbol: "$".to_string(),
            timezone: "America/Chicago".to_string(),
            timezone_raw_offset: -21600,
            account_uuid: uuid_from(n, hash),
            admin_email: format!("owner@{hash}.example.com"),
            country: "United States".to_string(),
            country_code: "US".to_string(),
            language: "en".to_string(),
            default_channel_id: 1,
            require_https_hooks: true,
        }
    }
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = domain.to_string();
        self
    }
    pub fn plan(mut self, plan_name: &str, plan_level: &str) -> Self {
        self.plan_name = plan_name.to_string();
        self.plan_level = plan_level.to_string();
        self
    }
    pub fn currency(mut self, code: &str, symbol: &str) -> Self {
        self.currency = code.to_string();
        self.currency_symbol = symbol.to_string();
        self
    }
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_string();
        self
    }
    pub fn timezone(mut self, name: &str, raw_offset_secs: i64) -> Self {
        self.timezone = name.to_string();
        self.timezone_raw_offset = raw_offset_secs;
        self
    }
    pub fn store_id(mut self, id: i64) -> Self {
        self.store_id = id;
        self
    }
    pub fn allow_http_hooks(mut self) -> Self {
        self.require_https_hooks = false;
        self
    }
}

/// One option value of a variant (`option_values[]` in `productVariant_Full`).
/// Ids left at 0 are assigned by `add_product`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOptionValue {
    pub id: i64,
    pub label: String,
    pub option_id: i64,
    pub option_display_name: String,
}

/// A product variant. Prices left `None` inherit the product's (and are `null` in JSON,
/// as real base variants are).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeVariant {
    /// 0 = assign on insert.
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    /// v2 SKU id; `None` for a base variant.
    pub sku_id: Option<i64>,
    pub price: Option<f64>,
    pub sale_price: Option<f64>,
    pub cost_price: Option<f64>,
    pub retail_price: Option<f64>,
    pub weight: Option<f64>,
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    pub purchasing_disabled: bool,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    pub option_values: Vec<FakeOptionValue>,
}

impl FakeVariant {
    pub fn new(sku: &str, inventory_level: i64) -> FakeVariant {
        FakeVariant {
            id: 0,
            product_id: 0,
            sku: sku.to_string(),
            sku_id: None,
            price: None,
            sale_price: None,
            cost_price: None,
            retail_price: None,
            weight: None,
            inventory_level,
            inventory_warning_level: 0,
            purchasing_disabled: false,
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            option_values: Vec::new(),
        }
    }
    /// Adds an option value, e.g. `.option("Size", "Large")`.
    pub fn option(mut self, display_name: &str, label: &str) -> Self {
        self.option_values.push(FakeOptionValue {
            id: 0,
            label: label.to_string(),
            option_id: 0,
            option_display_name: display_name.to_string(),
        });
        self
    }
    pub fn price(mut self, price: f64) -> Self {
        self.price = Some(price);
        self
    }
    pub fn sale_price(mut self, price: f64) -> Self {
        self.sale_price = Some(price);
        self
    }
    pub fn upc(mut self, upc: &str) -> Self {
        self.upc = upc.to_string();
        self
    }
}

/// A catalog product (`product_Full`). `FakeProduct::new` makes a simple product; each
/// `.variant(..)` call adds a variant and switches `inventory_tracking` to `variant`.
/// A product added with no variants gets one base variant (same SKU, no option values).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeProduct {
    /// 0 = assign on insert.
    pub id: i64,
    pub name: String,
    /// `physical` or `digital`.
    pub product_type: String,
    pub sku: String,
    pub description: String,
    pub price: f64,
    pub sale_price: f64,
    pub cost_price: f64,
    pub retail_price: f64,
    pub weight: f64,
    pub is_visible: bool,
    /// `available`, `disabled` or `preorder`.
    pub availability: String,
    /// Ignored in JSON when `inventory_tracking == "variant"` (the sum of variants is shown).
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    /// `none`, `product` or `variant`.
    pub inventory_tracking: String,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    /// `custom_url.url`; empty = derived from the name on insert.
    pub custom_url: String,
    pub brand_id: i64,
    pub categories: Vec<i64>,
    pub total_sold: i64,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    pub variants: Vec<FakeVariant>,
}

impl FakeProduct {
    pub fn new(name: &str, sku: &str, price: f64) -> FakeProduct {
        let now = now_secs();
        FakeProduct {
            id: 0,
            name: name.to_string(),
            product_type: "physical".to_string(),
            sku: sku.to_string(),
            description: String::new(),
            price,
            sale_price: 0.0,
            cost_price: 0.0,
            retail_price: 0.0,
            weight: 1.0,
            is_visible: true,
            availability: "available".to_string(),
            inventory_level: 0,
            inventory_warning_level: 0,
            inventory_tracking: "product".to_string(),
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            custom_url: String::new(),
            brand_id: 0,
            categories: Vec::new(),
            total_sold: 0,
            date_created: now,
            date_modified: now,
            variants: Vec::new(),
        }
    }
    pub fn inventory(mut self, level: i64) -> Self {
        self.inventory_level = level;
        self
    }
    pub fn tracking(mut self, tracking: &str) -> Self {
        self.inventory_tracking = tracking.to_string();
        self
    }
    pub fn visible(mut self, visible: bool) -> Self {
        self.is_visible = visible;
        self
    }
    pub fn sale_price(mut self, price: f64) -> Self {
        self.sale_price = price;
        self
    }
    pub fn modified_at(mut self, at: DateTime<Utc>) -> Self {
        self.date_modified = at;
        if self.date_created > at {
            self.date_created = at;
        }
        self
    }
    pub fn variant(mut self, v: FakeVariant) -> Self {
        self.variants.push(v);
        self.inventory_tracking = "variant".to_string();
        self
    }
    /// `sale_price` when set and lower than `price`, else `price`.
    pub fn calculated_price(&self) -> f64 {
        if self.sale_price > 0.0 && self.sale_price < self.price {
            self.sale_price
        } else {
            self.price
        }
    }
    /// Stock as the Catalog API reports it at product level.
    pub fn effective_inventory(&self) -> i64 {
        if self.inventory_tracking == "variant" {
            self.variants
                .iter()
                .map(|v| v.inventory_level)
                .sum::<i64>()
                .min(MAX_STOCK)
        } else {
            self.inventory_level
        }
    }
    pub fn base_variant_id(&self) -> Option<i64> {
        match self.variants.as_slice() {
            [only] if only.option_values.is_empty() => Some(only.id),
            _ => None,
        }
    }
}

/// A customer (`customer_Full`). `FakeCustomer::new(email, first, last)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeCustomer {
    /// 0 = assign on insert.
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub notes: String,
    pub customer_group_id: i64,
    pub registration_ip_address: String,
    pub tax_exempt_category: String,
    pub accepts_product_review_abandoned_cart_emails: bool,
    pub origin_channel_id: i64,
    /// `None` = global account.
    pub channel_ids: Option<Vec<i64>>,
    /// `address_Full` objects; ids and `customer_id` are filled on insert.
    pub addresses: Vec<Value>,
    pub force_password_reset: bool,
    pub store_credit: f64,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
}

impl FakeCustomer {
    pub fn new(email: &str, first_name: &str, last_name: &str) -> FakeCustomer {
        let now = now_secs();
        FakeCustomer {
            id: 0,
            email: email.to_string(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            company: String::new(),
            phone: String::new(),
            notes: String::new(),
            customer_group_id: 0,
            registration_ip_address: String::new(),
            tax_exempt_category: String::new(),
            accepts_product_review_abandoned_cart_emails: false,
            origin_channel_id: 1,
            channel_ids: None,
            addresses: Vec::new(),
            force_password_reset: false,
            store_credit: 0.0,
            date_created: now,
            date_modified: now,
        }
    }
}

/// A sales channel (`ChannelWithoutCurrencies`).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeChannel {
    /// 0 = assign on insert.
    pub id: i64,
    pub name: String,
    /// `storefront`, `marketplace`, `marketing` or `pos`.
    pub channel_type: String,
    pub platform: String,
    pub status: String,
    pub external_id: String,
    pub is_listable_from_ui: bool,
    pub is_visible: bool,
    pub icon_url: String,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
}

impl FakeChannel {
    pub fn new(name: &str, channel_type: &str, platform: &str) -> FakeChannel {
        let now = now_secs();
        FakeChannel {
            id: 0,
            name: name.to_string(),
            channel_type: channel_type.to_string(),
            platform: platform.to_string(),
            status: "active".to_string(),
            external_id: String::new(),
            is_listable_from_ui: true,
            is_visible: true,
            icon_url: format!(
                "https://storage.googleapis.com/bigcommerce-production-dev-center/images/{platform}_icon.svg"
            ),
            date_created: now,
            date_modified: now,
        }
    }
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_string();
        self
    }
    /// `is_enabled` (deprecated) derived from `status` as the spec describes.
    pub fn is_enabled(&self) -> bool {
        matches!(self.status.as_str(), "prelaunch" | "active" | "connected")
    }
}

/// A fault to inject. `path_prefix` is matched against the request path after
/// `/stores/{hash}` (e.g. `/v3/catalog/products`); empty matches everything. Each fault
/// answers the next `times` matching requests, then is used up. Faults are tried in the
/// order injected and only the first matching one applies to a request; one armed with
/// `FakeBigCommerce::inject_when` matches only if the query string has its substring.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer `status` with an error body in the v2 or v3 shape.
    Status {
        status: u16,
        path_prefix: String,
        times: usize,
    },
    /// Answer 429 with `X-Rate-Limit-Time-Reset-Ms: reset_ms` and `Requests-Left: 0`.
    RateLimited {
        reset_ms: u64,
        path_prefix: String,
        times: usize,
    },
    /// Wait `delay`, then process the request normally.
    Slow {
        delay: Duration,
        path_prefix: String,
        times: usize,
    },
    /// Answer 200 `application/json` with a truncated, invalid JSON body.
    Malformed { path_prefix: String, times: usize },
    /// Process the request as if it had asked for `page=1` (pagination stuck on page 1).
    RepeatFirstPage { path_prefix: String, times: usize },
}

impl Fault {
    pub fn path_prefix(&self) -> &str {
        match self {
            Fault::Status { path_prefix, .. }
            | Fault::RateLimited { path_prefix, .. }
            | Fault::Slow { path_prefix, .. }
            | Fault::Malformed { path_prefix, .. }
            | Fault::RepeatFirstPage { path_prefix, .. } => path_prefix,
        }
    }
    pub(crate) fn times_mut(&mut self) -> &mut usize {
        match self {
            Fault::Status { times, .. }
            | Fault::RateLimited { times, .. }
            | Fault::Slow { times, .. }
            | Fault::Malformed { times, .. }
            | Fault::RepeatFirstPage { times, .. } => times,
        }
    }
}

/// One request as the fake saw it. Recorded before any check, faults included.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Increasing sequence number (stable across `clear_requests`).
    pub seq: u64,
    pub method: String,
    /// Full path, e.g. `/stores/abc123/v3/catalog/products`.
    pub path: String,
    /// Raw query string without `?` (still percent-encoded).
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Status answered; 0 while the request is still being processed.
    pub status: u16,
    /// Store hash from the path, if the path had one.
    pub store_hash: Option<String>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Decoded query parameter.
    pub fn query_param(&self, key: &str) -> Option<String> {
        parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

// ---------------------------------------------------------------------------
// Dates, money, ids
// ---------------------------------------------------------------------------

pub fn now_secs() -> DateTime<Utc> {
    let now = Utc::now();
    Utc.timestamp_opt(now.timestamp(), 0)
        .single()
        .unwrap_or(now)
}

/// v2 date: `Tue, 20 Nov 2012 00:00:00 +0000`.
pub fn rfc2822(d: &DateTime<Utc>) -> String {
    d.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// Catalog v3 date: `2018-08-15T14:49:05+00:00`.
pub fn iso_offset(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// Customers/channels v3 date: `2018-11-13T21:42:06Z`.
pub fn iso_z(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// v2 money string with 4 decimals: `"225.0000"`.
pub fn money(v: f64) -> String {
    format!("{:.4}", v + 0.0)
}

/// Parses a v3 date filter: `YYYY-MM-DD` (current time of day appended, as the catalog
/// spec says), ISO-8601 with or without offset/fraction, or UNIX seconds.
pub fn parse_v3_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|t| Utc.timestamp_opt(t, 0).single());
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%#z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = Utc::now().time();
        return Some(Utc.from_utc_datetime(&d.and_time(t)));
    }
    None
}

/// Parses a v2 date filter: RFC-2822 or ISO-8601 (or UNIX seconds).
pub fn parse_v2_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(s.trim()) {
        return Some(d.with_timezone(&Utc));
    }
    parse_v3_date(s)
}

/// FNV-1a, for deterministic derived values.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub fn uuid_from(n: u64, salt: &str) -> String {
    let m = fnv(&format!("{salt}:{n}"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        (m >> 52) & 0xfff,
        (m >> 40) & 0xfff,
        m & 0xffff_ffff_ffff
    )
}

pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

// ---------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------

/// Form-style decoding: `%XX` escapes and `+` as space (so an unencoded `+00:00`
/// offset arrives as ` 00:00`, as it would at BigCommerce).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Decoded query parameters (last value wins for repeated keys).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: parse_query(raw),
        }
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Comma-separated list, trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }
}

/// Builds a JSON object from pairs (large `json!` literals hit the macro recursion limit).
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

// ---------------------------------------------------------------------------
// JSON rendering (catalog)
// ---------------------------------------------------------------------------

fn opt_num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

pub fn variant_json(p: &FakeProduct, v: &FakeVariant) -> Value {
    let base_price = v.price.unwrap_or(p.price);
    let sale = v.sale_price.unwrap_or(p.sale_price);
    let calculated = if sale > 0.0 && sale < base_price {
        sale
    } else {
        base_price
    };
    let weight = v.weight.unwrap_or(p.weight);
    let options: Vec<Value> = v
        .option_values
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "label": o.label,
                "option_id": o.option_id,
                "option_display_name": o.option_display_name,
            })
        })
        .collect();
    json!({
        "id": v.id,
        "product_id": p.id,
        "sku": v.sku,
        "sku_id": v.sku_id,
        "price": opt_num(v.price),
        "calculated_price": calculated,
        "sale_price": opt_num(v.sale_price),
        "retail_price": opt_num(v.retail_price),
        "map_price": Value::Null,
        "weight": opt_num(v.weight),
        "calculated_weight": weight,
        "width": Value::Null,
        "height": Value::Null,
        "depth": Value::Null,
        "is_free_shipping": false,
        "fixed_cost_shipping_price": Value::Null,
        "purchasing_disabled": v.purchasing_disabled,
        "purchasing_disabled_message": "",
        "image_url": "",
        "cost_price": opt_num(v.cost_price),
        "upc": v.upc,
        "mpn": v.mpn,
        "gtin": v.gtin,
        "inventory_level": v.inventory_level,
        "inventory_warning_level": v.inventory_warning_level,
        "bin_picking_number": "",
        "option_values": options,
    })
}

/// Sub-resources requested with `include=`.
#[derive(Debug, Clone, Default)]
pub struct Includes {
    pub variants: bool,
    pub images: bool,
    pub primary_image: bool,
    pub custom_fields: bool,
    pub bulk_pricing_rules: bool,
    pub options: bool,
    pub modifiers: bool,
    pub videos: bool,
    pub channels: bool,
}

impl Includes {
    pub fn parse(list: &[String]) -> Includes {
        let has = |s: &str| list.iter().any(|x| x == s);
        Includes {
            variants: has("variants"),
            images: has("images"),
            primary_image: has("primary_image"),
            custom_fields: has("custom_fields"),
            bulk_pricing_rules: has("bulk_pricing_rules"),
            options: has("options"),
            modifiers: has("modifiers"),
            videos: has("videos"),
            channels: has("channels"),
        }
    }
}

pub fn product_json(p: &FakeProduct, inc: &Includes) -> Value {
    let mut v = obj([
        ("id", json!(p.id)),
        ("name", json!(p.name)),
        ("type", json!(p.product_type)),
        ("sku", json!(p.sku)),
        ("description", json!(p.description)),
        ("weight", json!(p.weight)),
        ("width", json!(0)),
        ("depth", json!(0)),
        ("height", json!(0)),
        ("price", json!(p.price)),
        ("cost_price", json!(p.cost_price)),
        ("retail_price", json!(p.retail_price)),
        ("sale_price", json!(p.sale_price)),
        ("map_price", json!(0)),
        ("tax_class_id", json!(0)),
        ("product_tax_code", json!("")),
        ("calculated_price", json!(p.calculated_price())),
        ("categories", json!(p.categories)),
        ("brand_id", json!(p.brand_id)),
        ("option_set_id", json!(Value::Null)),
        ("option_set_display", json!("right")),
        ("inventory_level", json!(p.effective_inventory())),
        ("inventory_warning_level", json!(p.inventory_warning_level)),
        ("inventory_tracking", json!(p.inventory_tracking)),
        ("reviews_rating_sum", json!(0)),
        ("reviews_count", json!(0)),
        ("total_sold", json!(p.total_sold)),
        ("fixed_cost_shipping_price", json!(0)),
        ("is_free_shipping", json!(false)),
        ("is_visible", json!(p.is_visible)),
        ("is_featured", json!(false)),
        ("related_products", json!([-1])),
        ("warranty", json!("")),
        ("bin_picking_number", json!("")),
        ("layout_file", json!("product.html")),
        ("upc", json!(p.upc)),
        ("mpn", json!(p.mpn)),
        ("gtin", json!(p.gtin)),
        ("date_last_imported", json!(Value::Null)),
        ("search_keywords", json!("")),
        ("availability", json!(p.availability)),
        ("availability_description", json!("")),
        ("gift_wrapping_options_type", json!("any")),
        ("gift_wrapping_options_list", json!([])),
        ("sort_order", json!(0)),
        ("condition", json!("New")),
        ("is_condition_shown", json!(false)),
        ("order_quantity_minimum", json!(0)),
        ("order_quantity_maximum", json!(0)),
        ("page_title", json!("")),
        ("meta_keywords", json!([])),
        ("meta_description", json!("")),
        ("date_created", json!(iso_offset(&p.date_created))),
        ("date_modified", json!(iso_offset(&p.date_modified))),
        ("view_count", json!(0)),
        ("preorder_release_date", json!(Value::Null)),
        ("preorder_message", json!("")),
        ("is_preorder_only", json!(false)),
        ("is_price_hidden", json!(false)),
        ("price_hidden_label", json!("")),
        (
            "custom_url",
            json!({ "url": p.custom_url, "is_customized": false }),
        ),
        ("base_variant_id", json!(p.base_variant_id())),
        ("open_graph_type", json!("product")),
        ("open_graph_title", json!("")),
        ("open_graph_description", json!("")),
        ("open_graph_use_meta_description", json!(true)),
        ("open_graph_use_product_name", json!(true)),
        ("open_graph_use_image", json!(true)),
    ]);
    if let Some(m) = v.as_object_mut() {
        if inc.variants {
            let vs: Vec<Value> = p.variants.iter().map(|x| variant_json(p, x)).collect();
            m.insert("variants".into(), Value::Array(vs));
        }
        for (on, key) in [
            (inc.images, "images"),
            (inc.custom_fields, "custom_fields"),
            (inc.bulk_pricing_rules, "bulk_pricing_rules"),
            (inc.options, "options"),
            (inc.modifiers, "modifiers"),
            (inc.videos, "videos"),
        ] {
            if on {
                m.insert(key.into(), Value::Array(Vec::new()));
            }
        }
        if inc.primary_image {
            m.insert("primary_image".into(), Value::Null);
        }
        if inc.channels {
            m.insert("channels".into(), json!([1]));
        }
    }
    v
}

/// Applies `include_fields` / `exclude_fields` (`id` is always kept; sub-resources asked
/// for with `include=` are kept too).
pub fn trim_fields(v: &mut Value, include: Option<&[String]>, exclude: Option<&[String]>) {
    const SUBRESOURCES: [&str; 9] = [
        "variants",
        "images",
        "primary_image",
        "custom_fields",
        "bulk_pricing_rules",
        "options",
        "modifiers",
        "videos",
        "channels",
    ];
    let Some(m) = v.as_object_mut() else { return };
    if let Some(inc) = include {
        m.retain(|k, _| {
            k == "id" || SUBRESOURCES.contains(&k.as_str()) || inc.iter().any(|f| f == k)
        });
    }
    if let Some(exc) = exclude {
        m.retain(|k, _| k == "id" || !exc.iter().any(|f| f == k));
    }
}

// ---------------------------------------------------------------------------
// JSON rendering (customers, channels, hooks, store)
// ---------------------------------------------------------------------------

pub fn customer_json(
    c: &FakeCustomer,
    include_addresses: bool,
    include_storecredit: bool,
) -> Value {
    let mut v = json!({
        "id": c.id,
        "authentication": { "force_password_reset": c.force_password_reset },
        "company": c.company,
        "customer_group_id": c.customer_group_id,
        "email": c.email,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "notes": c.notes,
        "phone": c.phone,
        "registration_ip_address": c.registration_ip_address,
        "tax_exempt_category": c.tax_exempt_category,
        "date_created": iso_z(&c.date_created),
        "date_modified": iso_z(&c.date_modified),
        "accepts_product_review_abandoned_cart_emails": c.accepts_product_review_abandoned_cart_emails,
        "origin_channel_id": c.origin_channel_id,
        "channel_ids": c.channel_ids,
        "address_count": c.addresses.len(),
        "attribute_count": 0,
    });
    if let Some(m) = v.as_object_mut() {
        if include_addresses {
            m.insert("addresses".into(), Value::Array(c.addresses.clone()));
        }
        if include_storecredit {
            m.insert(
                "store_credit_amounts".into(),
                json!([{ "amount": c.store_credit }]),
            );
        }
    }
    v
}

pub fn channel_json(c: &FakeChannel) -> Value {
    json!({
        "id": c.id,
        "icon_url": c.icon_url,
        "is_listable_from_ui": c.is_listable_from_ui,
        "is_visible": c.is_visible,
        "is_enabled": c.is_enabled(),
        "date_created": iso_z(&c.date_created),
        "external_id": c.external_id,
        "type": c.channel_type,
        "platform": c.platform,
        "date_modified": iso_z(&c.date_modified),
        "name": c.name,
        "status": c.status,
    })
}

pub fn store_json(s: &FakeStore) -> Value {
    let timezone = json!({
        "name": s.timezone,
        "raw_offset": s.timezone_raw_offset,
        "dst_offset": s.timezone_raw_offset + 3600,
        "dst_correction": true,
        "date_format": {
            "display": "M jS Y",
            "export": "M jS Y",
            "extended_display": "M jS Y @ g:i A",
        },
    });
    let features = json!({
        "stencil_enabled": true,
        "sitewidehttps_enabled": true,
        "facebook_catalog_id": "",
        "checkout_type": "optimized",
        "wishlists_enabled": true,
        "graphql_storefront_api_enabled": true,
        "shopper_consent_tracking_enabled": true,
        "multi_storefront_enabled": false,
        "storefront_limits": { "active": 1, "total_including_inactive": 1 },
    });
    obj([
        ("id", json!(s.hash)),
        ("account_uuid", json!(s.account_uuid)),
        ("domain", json!(s.domain)),
        ("secure_url", json!(format!("https://{}", s.domain))),
        (
            "control_panel_base_url",
            json!(format!("https://store-{}.mybigcommerce.com", s.hash)),
        ),
        ("status", json!(s.status)),
        ("name", json!(s.name)),
        ("first_name", json!("Jane")),
        ("last_name", json!("Doe")),
        ("address", json!(s.name)),
        ("country", json!(s.country)),
        ("country_code", json!(s.country_code)),
        ("infrastructure_region", json!("us-central1")),
        ("phone", json!("555-123-4567")),
        ("admin_email", json!(s.admin_email)),
        ("order_email", json!(format!("orders@{}", s.domain))),
        (
            "favicon_url",
            json!("https://cdn11.bigcommerce.com/r-fake/img/bc_favicon.ico"),
        ),
        ("timezone", timezone),
        ("language", json!(s.language)),
        ("currency", json!(s.currency)),
        ("currency_symbol", json!(s.currency_symbol)),
        ("decimal_separator", json!(".")),
        ("thousands_separator", json!(",")),
        ("decimal_places", json!(2)),
        ("currency_symbol_location", json!("left")),
        ("weight_units", json!("Ounces")),
        ("dimension_units", json!("Inches")),
        ("dimension_decimal_places", json!(2)),
        ("dimension_decimal_token", json!(".")),
        ("dimension_thousands_token", json!(",")),
        ("plan_name", json!(s.plan_name)),
        ("plan_level", json!(s.plan_level)),
        ("plan_is_trial", json!(false)),
        ("industry", json!("Technology")),
        ("logo", json!([])),
        ("is_price_entered_with_tax", json!(false)),
        ("store_id", json!(s.store_id)),
        ("default_channel_id", json!(s.default_channel_id)),
        ("default_site_id", json!(1000)),
        ("active_comparison_modules", json!([])),
        ("features", features),
    ])
}

/// Order statuses as `GET /v2/order_statuses` lists them: (id, name, description, order).
pub const ORDER_STATUSES: [(i64, &str, &str, i64); 15] = [
    (
        0,
        "Incomplete",
        "An incomplete order happens when a shopper reached the payment page, but did not complete the transaction.",
        0,
    ),
    (
        1,
        "Pending",
        "Customer started the checkout process, but did not complete it.",
        1,
    ),
    (
        2,
        "Shipped",
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
        8,
    ),
    (
        3,
        "Partially Shipped",
        "Only some items in the order have been shipped, due to some products being pre-order only or other reasons.",
        6,
    ),
    (4, "Refunded", "Seller has used the Refund action.", 11),
    (
        5,
        "Cancelled",
        "Seller has cancelled an order, due to a stock inconsistency or other reasons.",
        9,
    ),
    (
        6,
        "Declined",
        "Seller has marked the order as declined for lack of manual payment, or other reasons.",
        10,
    ),
    (
        7,
        "Awaiting Payment",
        "Customer has completed checkout process, but payment has yet to be confirmed.",
        2,
    ),
    (
        8,
        "Awaiting Pickup",
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
        5,
    ),
    (
        9,
        "Awaiting Shipment",
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
        4,
    ),
    (
        10,
        "Completed",
        "Client has paid for their digital product and their file(s) are available for download.",
        7,
    ),
    (
        11,
        "Awaiting Fulfillment",
        "Customer has completed the checkout process and payment has been confirmed.",
        3,
    ),
    (
        12,
        "Manual Verification Required",
        "Order is on hold while some aspect needs to be manually confirmed.",
        13,
    ),
    (
        13,
        "Disputed",
        "Customer has initiated a dispute resolution process for the PayPal transaction that paid for the order.",
        12,
    ),
    (
        14,
        "Partially Refunded",
        "Seller has partially refunded the order.",
        14,
    ),
];

pub fn status_name(id: i64) -> Option<&'static str> {
    ORDER_STATUSES.iter().find(|s| s.0 == id).map(|s| s.1)
}

/// Display name BigCommerce shows for a shipping provider code.
pub fn provider_display_name(code: &str) -> String {
    match code {
        "" => String::new(),
        "auspost" => "Australia Post".into(),
        "canadapost" => "Canada Post".into(),
        "endicia" => "Endicia".into(),
        "usps" => "USPS".into(),
        "fedex" => "FedEx".into(),
        "ups" | "upsready" | "upsonline" => "UPS".into(),
        "shipperhq" => "ShipperHQ".into(),
        "royalmail" => "Royal Mail".into(),
        other => other.to_string(),
    }
}

/// Reads a number sent as JSON number, numeric string or integer (v2 accepts all).
pub fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

pub fn str_of(m: &Map<String, Value>, key: &str) -> String {
    match m.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}
