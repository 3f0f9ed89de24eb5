//! The data types tests seed the fake with: stores, products and variants, customers,
//! channels. Shapes follow the OpenAPI files in `shared/bigcommerce/spec/reference/`.

use super::catalog::MAX_STOCK;
use super::values::{fnv, now_secs, uuid_from};
use chrono::{DateTime, Utc};
use serde_json::Value;

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

    /// Lets hook destinations be plain HTTP on any port (real BigCommerce refuses them).
    #[allow(
        dead_code,
        reason = "for the order webhooks issue: tests register plain-HTTP destinations"
    )]
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
    pub fn visible(mut self, visible: bool) -> Self {
        self.is_visible = visible;
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
