//! Static assets (CSS, JS), compiled into the binary so that it runs from anywhere, offline.

use actix_web::{HttpResponse, http::header, web};

use crate::error::AppError;

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/app.js"),
    ),
];

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *mime))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*body))
}
