//! Connections to BigCommerce stores and the OAuth client records they use.

pub mod oauth_clients;
pub mod store;
