//! The partner side of the bridge: API keys (stored hashed), the events partners are told
//! about, and outbound webhooks signed per Standard Webhooks (outbox, delivery, retries,
//! SSRF guard). Services only: `web::api` is the HTTP face, `db::api_keys`/`db::webhooks`
//! hold the SQL. Nothing here knows actix, and no key or signing secret is ever logged.

pub mod csv_stream;
pub mod events;
pub mod export;
pub mod keys;
pub mod shipments_export;
pub mod signing;
pub mod ssrf;
pub mod webhooks;

/// Event types an endpoint can subscribe to (later issues add order and shipment events).
pub const EVENT_TYPES: &[&str] = &[
    "inventory.changed",
    "run.failed",
    "connection.failed",
    "shipment.created",
    "shipment.updated",
    "order.placed",
    "order.created",
    "order.failed",
];

/// The type of the event "Send test event" sends (to one endpoint, whatever it subscribes to).
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// A Unix timestamp as RFC 3339 UTC (`2026-12-01T08:00:00Z`), as the API and events give times.
pub fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
