//! `POST /webhooks/bigcommerce/{public_id}`: the receiver of every BigCommerce webhook.
//! No session, no CSRF (the secret header authenticates it), no call to BigCommerce: look
//! the connection up (cached), check the secret in constant time, read at most 64 KiB of
//! JSON, and store it in the inbox with its job before answering 200.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{
    context::AppContext,
    db::inbound::NewDelivery,
    inbound::{SECRET_HEADER, receiver::StoreError, secret_digest},
};

/// The largest body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Deliveries of the same scope and data id within this many seconds are stored once.
pub const DEDUPE_WINDOW_SECS: i64 = 300;

/// The path prefix (the CSRF guard lets it through).
pub const PREFIX: &str = "/webhooks/bigcommerce/";

#[derive(Deserialize)]
struct Delivery {
    scope: String,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    created_at: Option<i64>,
}

fn answer(status: StatusCode, message: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(message)
}

pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    ctx: web::Data<AppContext>,
) -> HttpResponse {
    let public_id = path.into_inner();
    if public_id.len() > 64 {
        return answer(StatusCode::NOT_FOUND, "unknown connection");
    }
    let endpoint = match ctx.inbound.endpoint(&ctx.db, &public_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return answer(StatusCode::NOT_FOUND, "unknown connection"),
        Err(e) => {
            tracing::error!(error = %e, "webhook lookup failed");
            return answer(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    };
    let sent = req
        .headers()
        .get(SECRET_HEADER)
        .map(|v| secret_digest(&String::from_utf8_lossy(v.as_bytes())));
    let valid = sent.is_some_and(|digest| {
        bool::from(digest.as_bytes().ct_eq(endpoint.secret_sha256.as_bytes()))
    });
    if !valid {
        tracing::warn!(
            connection = endpoint.connection_id,
            "webhook with a wrong or missing secret"
        );
        return answer(StatusCode::UNAUTHORIZED, "wrong or missing secret");
    }
    if endpoint.scopes.is_empty() {
        return answer(StatusCode::GONE, "no flow takes these webhooks any more");
    }
    let too_long = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY);
    if too_long {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "body over 64 KiB");
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return answer(StatusCode::BAD_REQUEST, "the body could not be read");
        };
        if body.len() + chunk.len() > MAX_BODY {
            return answer(StatusCode::PAYLOAD_TOO_LARGE, "body over 64 KiB");
        }
        body.extend_from_slice(&chunk);
    }
    let Ok(delivery) = serde_json::from_slice::<Delivery>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "malformed JSON delivery");
    };
    if !endpoint.scopes.contains(&delivery.scope) {
        return answer(StatusCode::GONE, "no flow takes this scope any more");
    }
    let data_id = delivery
        .data
        .as_ref()
        .and_then(|d| d.get("id"))
        .and_then(Value::as_i64);
    let hash = delivery
        .hash
        .filter(|h| !h.is_empty() && h.len() <= 200)
        .unwrap_or_else(|| secret_digest(&String::from_utf8_lossy(&body)));
    let window_key = match (data_id, delivery.created_at) {
        (Some(id), Some(at)) => format!(
            "{}:{id}:{}",
            delivery.scope,
            at.div_euclid(DEDUPE_WINDOW_SECS)
        ),
        _ => format!("hash:{hash}"),
    };
    let stored = ctx
        .inbound
        .store(NewDelivery {
            tenant_id: endpoint.tenant_id,
            connection_id: endpoint.connection_id,
            store_hash: endpoint.store_hash.clone(),
            scope: delivery.scope,
            hash,
            data_id,
            window_key,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
        .await;
    match stored {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(StoreError::Busy) => answer(StatusCode::SERVICE_UNAVAILABLE, "busy, try again"),
        Err(StoreError::Failed(e)) => {
            tracing::error!(error = %e, "webhook delivery not stored");
            answer(StatusCode::SERVICE_UNAVAILABLE, "not stored, try again")
        }
    }
}
