//! Wire models for the parts of the BigCommerce API cartbridge reads (field names as in
//! the OpenAPI files; unknown fields are ignored, missing optional ones default, and a
//! `null` where the spec allows one decodes to the default). They carry no behaviour
//! beyond small readings of their own fields; mapping to domain values happens at the edge.

use serde::{Deserialize, Deserializer};

/// `GET /stores/{hash}/v2/store` (store_information.v2.yml), the fields we use.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StoreInfo {
    /// The store hash.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub secure_url: String,
    #[serde(default)]
    pub control_panel_base_url: String,
    #[serde(default)]
    pub plan_name: String,
    #[serde(default)]
    pub plan_level: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub default_channel_id: Option<i64>,
    #[serde(default)]
    pub store_id: Option<i64>,
}

/// `GET /stores/{hash}/v2/time`: the store's clock.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct StoreTime {
    /// UNIX seconds.
    pub time: i64,
}

/// A v2 error body: `[{"status": 404, "message": "…"}]`.
#[derive(Debug, Deserialize)]
pub struct V2Error {
    #[serde(default)]
    pub message: String,
}

/// A v3 error body: `{"status": 422, "title": "…", "errors": {…}}`.
#[derive(Debug, Deserialize)]
pub struct V3Error {
    #[serde(default)]
    pub title: String,
}

/// A page of a v3 collection: `{"data": [...], "meta": {"pagination": {...}}}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct V3List<T> {
    pub data: Vec<T>,
    /// All zero when the response had no `meta`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub meta: V3Meta,
}

/// `meta` of a v3 collection.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct V3Meta {
    #[serde(default, deserialize_with = "null_as_default")]
    pub pagination: Pagination,
}

/// `meta.pagination` (the `Pagination` schema of products_catalog.v3.yml).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Pagination {
    /// Items in the whole result set.
    #[serde(deserialize_with = "null_as_default")]
    pub total: u64,
    /// Items on this page.
    #[serde(deserialize_with = "null_as_default")]
    pub count: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub per_page: u32,
    /// 1-based; 0 when BigCommerce sent no pagination.
    #[serde(deserialize_with = "null_as_default")]
    pub current_page: u32,
    #[serde(deserialize_with = "null_as_default")]
    pub total_pages: u32,
    #[serde(deserialize_with = "null_as_default")]
    pub links: PaginationLinks,
}

/// Query strings (`?page=2&limit=50`, not URLs) of the neighbouring pages.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct PaginationLinks {
    pub previous: Option<String>,
    pub current: Option<String>,
    /// Absent on the last page.
    pub next: Option<String>,
}

/// A catalog product (`product_Full`), the fields cartbridge uses.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    /// The product's base SKU (may be empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub sku: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub price: f64,
    #[serde(default = "yes", deserialize_with = "null_as_true")]
    pub is_visible: bool,
    /// Stock at the default location (meaningful when `inventory_tracking` is `product`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub inventory_level: i64,
    /// `none`, `product` or `variant`.
    #[serde(default = "untracked", deserialize_with = "null_as_untracked")]
    pub inventory_tracking: String,
    /// ISO-8601 as sent (`2025-01-15T00:03:17+00:00`); empty if absent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub date_modified: String,
    /// Only with `include=variants`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variants: Vec<Variant>,
}

impl Product {
    /// `date_modified` in UNIX seconds, if it is a valid RFC 3339 timestamp.
    pub fn date_modified_unix(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.date_modified)
            .ok()
            .map(|t| t.timestamp())
    }
}

/// A product variant (`productVariant_Full`), the fields cartbridge uses.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Variant {
    pub id: i64,
    pub product_id: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sku: String,
    /// `None` means the product's price applies.
    #[serde(default)]
    pub price: Option<f64>,
    /// The storefront price, sale and price rules applied.
    #[serde(default)]
    pub calculated_price: Option<f64>,
    /// Stock at the default location (meaningful when the product tracks by variant).
    #[serde(default, deserialize_with = "null_as_default")]
    pub inventory_level: i64,
    /// Empty for a simple product's base variant.
    #[serde(default, deserialize_with = "null_as_default")]
    pub option_values: Vec<VariantOptionValue>,
}

impl Variant {
    /// `"Size: Large, Color: Red"`; empty for a base variant.
    pub fn option_label(&self) -> String {
        self.option_values
            .iter()
            .map(|o| format!("{}: {}", o.option_display_name, o.label))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One option value of a variant (`productVariantOptionValue_Full`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct VariantOptionValue {
    /// The value, e.g. `Large`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub label: String,
    /// The option's name, e.g. `Size`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub option_display_name: String,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn yes() -> bool {
    true
}

fn null_as_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

fn untracked() -> String {
    "none".to_owned()
}

fn null_as_untracked<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(untracked))
}

#[cfg(test)]
mod tests;
