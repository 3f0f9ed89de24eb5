//! `/api/docs`: the API reference, rendered in the browser from `/api/v1/openapi.json` by a
//! small viewer compiled into the binary (no CDN, works offline, no inline script).

use actix_web::{HttpResponse, http::header};

const PAGE: &str = include_str!("../../../static/api/docs.html");
const VIEWER: &str = include_str!("../../../static/js/api-docs.js");

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

pub async fn viewer_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(VIEWER)
}
