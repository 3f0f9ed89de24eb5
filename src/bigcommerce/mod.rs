//! The BigCommerce REST client (reqwest): base URL from `CARTBRIDGE_BIGCOMMERCE_API_URL`,
//! `X-Auth-Token` from the vault, timeouts, and errors classified so a merchant can act on
//! them. Wire models live in `models.rs` and are mapped to domain values at the edge.

mod client;
mod error;
pub mod models;

pub use client::{BigCommerce, StoreClient};
pub use error::BigCommerceError;
