//! Store information v2: `/v2/store` and `/v2/time`.

use super::json::store_json;
use super::reply::{ApiErr, HResult, Reply};
use super::routes::R;
use super::server::Incoming;
use super::state::StoreState;
use chrono::Utc;
use serde_json::json;

/// Answers the store routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R) -> HResult {
    match (inc.method.as_str(), r) {
        ("GET", R::Store) => Ok(Reply::ok(store_json(&s.info))),
        ("GET", R::Time) => Ok(Reply::ok(json!({ "time": Utc::now().timestamp() }))),
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}
