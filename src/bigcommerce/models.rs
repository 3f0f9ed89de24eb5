//! Wire models for the parts of the BigCommerce API cartbridge reads (field names as in
//! the OpenAPI files; unknown fields are ignored, missing optional ones default).

use serde::Deserialize;

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
