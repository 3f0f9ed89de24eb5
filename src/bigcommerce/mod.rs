//! The BigCommerce REST client (reqwest): base URL from `CARTBRIDGE_BIGCOMMERCE_API_URL`,
//! `X-Auth-Token` from the vault, timeouts, per-store rate-limit pacing, retries of
//! transient failures, writes that are never resent blindly, v3 pagination, and errors
//! classified so a merchant can act on them. Wire models live in `models.rs` and are
//! mapped to domain values at the edge.

mod client;
mod error;
mod limiter;
pub mod models;
mod paginate;
mod retry;
mod write;

pub use client::{BigCommerce, StoreClient};
pub use error::BigCommerceError;
pub use limiter::{BudgetFuture, RateLimitState, SharedBudget, WindowSeen};
pub use paginate::{Paginator, check_within};
pub use retry::RetryPolicy;
