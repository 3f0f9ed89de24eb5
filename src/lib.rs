//! cartbridge: a self-hostable integration platform for BigCommerce merchants and their
//! trading partners. The binary (`main.rs`) only parses the command line and calls in here.

pub mod accounts;
pub mod admin;
pub mod alerts;
pub mod bigcommerce;
pub mod config;
pub mod connections;
pub mod context;
pub mod db;
pub mod domain;
pub mod error;
pub mod flows;
pub mod inbound;
pub mod jobs;
pub mod mailer;
pub mod oauth;
pub mod partner_api;
pub mod startup;
pub mod telemetry;
pub mod vault;
pub mod web;
