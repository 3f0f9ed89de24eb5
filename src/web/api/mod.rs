//! `/api/v1`: the partner API. JSON, scoped to the tenant of the bearer key (`ApiCaller`),
//! cursor-paginated lists (`limit` 1–500, default 100; `{"data": [...], "next_cursor"}`),
//! RFC 9457 problem+json errors, and an OpenAPI 3.1 document generated from these handlers
//! (`openapi.rs`), with a reference page at `/api/docs` that needs no network.
//! Handlers read through `db` and act through the area services; no session, no cookie.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

pub mod auth;
pub mod connections;
pub mod docs;
pub mod events;
pub mod inventory;
pub mod openapi;
pub mod problem;
pub mod purchase_orders;
pub mod runs;
pub mod shipments;

use problem::ApiError;

/// Declares the `/api/v1` routes once: registers them and exports them as `API_ROUTES`
/// (method, full path), which a test compares with the OpenAPI document.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every `/api/v1` route: (HTTP method, full path).
        pub const API_ROUTES: &[(&str, &str)] =
            &[$((stringify!($method), concat!("/api/v1", $path))),*];

        /// The `/api/v1` scope, with problem+json for unreadable paths and queries and for
        /// unknown routes.
        pub fn scope() -> actix_web::Scope {
            web::scope("/api/v1")
                .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    ApiError::invalid("query", format!("The query string is not valid: {e}.")).into()
                }))
                $(.route($path, web::$method().to($handler)))*
                .default_service(web::to(not_found))
        }
    };
}

api_routes! {
    get "/openapi.json" => openapi::openapi_json,
    get "/connections" => connections::list_connections,
    get "/connections/{id}" => connections::show_connection,
    get "/connections/{id}/inventory" => inventory::list_inventory,
    get "/connections/{id}/inventory.csv" => inventory::export_inventory,
    get "/connections/{id}/inventory/changes" => inventory::list_changes,
    get "/connections/{id}/inventory/{sku}" => inventory::show_sku,
    get "/connections/{id}/runs" => runs::list_runs,
    get "/connections/{id}/runs/{run_id}" => runs::show_run,
    post "/connections/{id}/flows/inventory/run" => runs::run_inventory,
    get "/shipments" => shipments::list_shipments,
    get "/connections/{id}/shipments" => shipments::list_connection_shipments,
    get "/events" => events::list_events,
    post "/connections/{id}/purchase-orders" => purchase_orders::create_purchase_order,
    get "/connections/{id}/purchase-orders" => purchase_orders::list_purchase_orders,
    get "/connections/{id}/purchase-orders/{po_number}" => purchase_orders::show_purchase_order,
}

/// No route matched: 405 (with `Allow`) when the path exists for other methods, else 404.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed: Vec<String> = API_ROUTES
        .iter()
        .filter(|(_, pattern)| matches_pattern(pattern, req.path()))
        .map(|(method, _)| method.to_ascii_uppercase())
        .collect();
    if allowed.is_empty() {
        Err(ApiError::NotFound)
    } else {
        Err(ApiError::MethodNotAllowed(allowed.join(", ")))
    }
}

/// Whether `path` fits a route pattern (`{name}` stands for one non-empty segment).
fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') => {
                if b.is_empty() {
                    return false;
                }
            }
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Registers `/api/v1` and the reference page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(docs::page))
        .route("/api/docs/viewer.js", web::get().to(docs::viewer_js))
        .service(scope());
}

pub use crate::partner_api::rfc3339;

/// `?limit=&cursor=` as sent (parsed by [`PageQuery::parse`], so that a bad value is a 422
/// naming the parameter).
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A parsed page request: how many, and after which key.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<i64>,
}

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

impl PageQuery {
    /// A page request from raw `limit` and `cursor` values (handlers with more parameters).
    pub fn new(limit: Option<String>, cursor: Option<String>) -> Self {
        Self { limit, cursor }
    }

    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let mut errors = std::collections::BTreeMap::new();
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.insert(
                        "limit".to_owned(),
                        vec![format!(
                            "limit must be a whole number from 1 to {MAX_LIMIT}."
                        )],
                    );
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None => None,
            Some(raw) => match decode_cursor(raw) {
                Some(key) => Some(key),
                None => {
                    errors.insert(
                        "cursor".to_owned(),
                        vec!["cursor must be a next_cursor value from an earlier page.".into()],
                    );
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(PageRequest { limit, after })
        } else {
            Err(ApiError::Invalid(errors))
        }
    }
}

/// An opaque cursor for a keyset position.
pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("k1:{key}"))
}

fn decode_cursor(raw: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix("k1:")?
        .parse()
        .ok()
        .filter(|k: &i64| *k >= 0)
}

/// The next cursor of a page fetched with `limit + 1` rows: `Some` when there is more.
pub fn next_cursor<T>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode_cursor(key(r)))
    } else {
        None
    }
}

/// A JSON 200.
pub fn json<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_match_one_segment_per_parameter() {
        let p = "/api/v1/connections/{id}/runs/{run_id}";
        assert!(matches_pattern(p, "/api/v1/connections/4/runs/9"));
        assert!(!matches_pattern(p, "/api/v1/connections/4/runs"));
        assert!(!matches_pattern(p, "/api/v1/connections//runs/9"));
        assert!(!matches_pattern(p, "/api/v1/connections/4/runs/9/x"));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("nope"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("k1:-3")), None);
    }

    #[test]
    fn limits_outside_one_to_five_hundred_are_422s() {
        let q = |l: &str| PageQuery {
            limit: Some(l.into()),
            cursor: None,
        };
        assert_eq!(q("500").parse().unwrap().limit, 500);
        assert!(q("0").parse().is_err());
        assert!(q("501").parse().is_err());
        assert!(q("x").parse().is_err());
        assert_eq!(PageQuery::default().parse().unwrap().limit, 100);
    }
}
