//! Connections to BigCommerce stores and the OAuth client records they use.

pub mod health;
pub mod oauth_clients;
pub mod overview;
pub mod store;
