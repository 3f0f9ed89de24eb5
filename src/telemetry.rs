//! Logging setup: tracing to stderr, filtered by `CARTBRIDGE_LOG` (or `RUST_LOG`).
//! Request spans are opened by `web::middleware::request_span`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests spawn many apps) are no-ops.
pub fn init(default_filter: &str) {
    let filter = std::env::var("CARTBRIDGE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default_filter.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .try_init();
}
