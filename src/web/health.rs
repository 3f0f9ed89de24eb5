//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use actix_web::{HttpResponse, web};

use crate::context::AppContext;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

pub async fn readyz(ctx: web::Data<AppContext>) -> HttpResponse {
    match ctx.db.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}
