//! Middleware: a tracing span per request (request id; extractors add tenant and user),
//! the CSRF guard on every state-changing request, and the default security headers.

use std::time::Instant;

use actix_session::SessionExt;
use actix_web::{
    Error, HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::{DefaultHeaders, Next},
    web::Bytes,
};
use futures_util::StreamExt;
use subtle::ConstantTimeEq;
use tracing::Instrument;

use super::session::{CSRF_KEY, SESSION_COOKIES};
use crate::error::AppError;

/// The one prefix whose requests may be authenticated by an API key instead of a session;
/// they skip the CSRF check only when they carry a Bearer key and no session cookie (see
/// `is_csrf_exempt`). The BigCommerce callbacks are GETs and need no exemption.
const API_PREFIX: &str = "/api/";
/// The largest form body the CSRF guard will read.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Opens the request span (`id`, method, path; `tenant` and `user` filled in by extractors)
/// and logs one line per request. The query string is never logged: links carry tokens.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let id = id[..16].to_owned();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.path(),
        tenant = tracing::field::Empty,
        user = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            // 503 is our own answer to overload (with Retry-After), not a failure.
            if status >= 500 && status != 503 {
                tracing::error!(status, ms, "request finished");
            } else if status == 503 {
                tracing::warn!(status, ms, "request finished");
            } else {
                tracing::info!(status, ms, "request finished");
            }
            if let Ok(value) = header::HeaderValue::from_str(&id) {
                res.headers_mut()
                    .insert(header::HeaderName::from_static("x-request-id"), value);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::error!(ms, error = %e, "request failed");
            Err(e)
        }
    }
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request a browser cannot have been tricked into sending with the user's rights: under
/// `/api/`, authenticated by `Authorization: Bearer …` (a browser never adds that on its own),
/// and carrying no session cookie (so no cookie-authenticated route can be reached this way).
fn is_csrf_exempt(req: &ServiceRequest) -> bool {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    let session_cookie = SESSION_COOKIES
        .iter()
        .any(|name| req.cookie(name).is_some());
    (req.path().starts_with(API_PREFIX) && bearer && !session_cookie)
        // The BigCommerce webhook receiver reads no session: its secret header authenticates it.
        || req.path().starts_with(super::inbound::PREFIX)
}

/// Refuses any state-changing request whose `csrf_token` form field (or `X-CSRF-Token`
/// header) does not match the session's token. Forms are read here and handed on intact.
pub async fn csrf_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !is_state_changing(req.method()) || is_csrf_exempt(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let expected: Option<String> = req.get_session().get(CSRF_KEY).ok().flatten();
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sent = match header_token {
        Some(token) => Some(token),
        None if req.content_type() == "application/x-www-form-urlencoded" => {
            let body = match read_body(&mut req).await {
                Ok(body) => body,
                Err(e) => return Ok(req.error_response(e)),
            };
            let token = url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v.into_owned());
            req.set_payload(body.into());
            token
        }
        None => None,
    };
    let valid =
        matches!((&expected, &sent), (Some(e), Some(s)) if e.as_bytes().ct_eq(s.as_bytes()).into());
    if !valid {
        tracing::warn!(
            had_token = sent.is_some(),
            had_session_token = expected.is_some(),
            "CSRF check failed"
        );
        return Ok(req.error_response(AppError::Csrf));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The forms whose POST hashes a password.
const HASHING_POSTS: &[&str] = &[
    "/signup",
    "/login",
    "/password/reset",
    "/invitations/accept",
    "/bigcommerce/link",
    "/account/password",
];

/// When every core is hashing a password and the queue is full, a POST that would hash one
/// is answered 503 + Retry-After here, before the session is loaded or anything is written:
/// a flood of signups or logins then costs next to nothing, and other pages stay fast.
/// Must wrap the session middleware.
pub async fn hashing_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let full = req.method() == Method::POST
        && HASHING_POSTS.contains(&req.path())
        && req
            .app_data::<actix_web::web::Data<crate::context::AppContext>>()
            .is_some_and(|ctx| ctx.hasher.is_full());
    if full {
        return Ok(req.error_response(AppError::Busy));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, AppError> {
    let mut payload = req.take_payload();
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}.")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::BadRequest("The form is too large.".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// Headers every response gets unless a handler set its own (pages shown inside the
/// BigCommerce control panel will relax `frame-ancestors`).
pub fn security_headers(https: bool) -> DefaultHeaders {
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
               form-action 'self'; frame-ancestors 'none'";
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if https {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
