//! OAuth with BigCommerce: the "Connect to BigCommerce" authorization-code flow that gives an
//! OAuth 2.0 connection its access token. Knows nothing of HTTP requests coming in (sessions,
//! handlers): `web::oauth` keeps the pending state in the session and calls in here.

pub mod app;
pub mod app_link;
pub mod connect;
