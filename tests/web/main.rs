//! The integration-test binary: spawns cartbridge on a random port with a fresh database
//! (SQLite, or PostgreSQL when `CARTBRIDGE_TEST_POSTGRES_URL` is set) and drives it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account_pages;
mod accounts;
mod admin;
mod admin_browser;
mod alerts;
mod app_install;
mod audit;
mod bigcommerce_client;
mod browser;
mod browser_partner;
mod cli;
mod connections;
mod durable_email;
mod email;
mod fake_bigcommerce;
mod flow_engine;
mod flow_pages;
mod hardening;
mod inventory;
mod isolation;
mod jobs;
mod merchant_ux;
mod merchant_ux_browser;
mod migrations;
mod oauth;
mod oauth_clients;
mod order_webhooks;
mod order_webhooks_browser;
mod order_webhooks_cleanup;
mod order_webhooks_durability;
mod order_webhooks_settings;
mod partner_api;
mod schemathesis;
mod security;
mod send_orders;
mod send_orders_browser;
mod shipments;
mod shipments_browser;
mod trusted_proxies;
mod vault;
mod webhooks_out;
