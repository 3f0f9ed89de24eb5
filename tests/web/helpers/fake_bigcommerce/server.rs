//! The HTTP side: every request is recorded and counted as in flight, waits out the
//! latency, then may hit an armed fault, then is authenticated, counted against the
//! store's quota, routed and answered with the rate-limit headers.

use super::faults::Fault;
use super::query::{Query, parse_query};
use super::rate::{DEFAULT_QUOTA, DEFAULT_WINDOW_MS, RateHeaders, RateWindow, current_rate};
use super::reply::{ApiErr, Body, MISSING_SCOPE, Reply};
use super::routes::{Ctx, handle, has_scope, route};
use super::state::{State, lock};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) struct Incoming {
    pub(super) method: String,
    pub(super) store_hash: Option<String>,
    /// Path after `/stores/{hash}`.
    pub(super) rest: String,
    pub(super) segments: Vec<String>,
    pub(super) query: Query,
    pub(super) body: String,
    pub(super) token: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) v2: bool,
}

/// Splits `/stores/{hash}/rest` into (hash, rest).
pub(super) fn split_store_path(path: &str) -> (Option<String>, String) {
    if let Some(after) = path.strip_prefix("/stores/") {
        let (hash, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        if !hash.is_empty() {
            return (Some(hash.to_string()), rest.to_string());
        }
    }
    (None, path.to_string())
}

pub(super) async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<Mutex<State>>,
) -> HttpResponse {
    let path = req.path().to_string();
    let (store_hash, rest) = split_store_path(&path);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let inc = Incoming {
        method: req.method().as_str().to_string(),
        store_hash: store_hash.clone(),
        segments: rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        v2: rest.starts_with("/v2/") || rest == "/v2",
        rest,
        query: Query::parse(req.query_string()),
        body: String::from_utf8_lossy(&body).into_owned(),
        token: header("x-auth-token"),
        content_type: header("content-type"),
    };

    let _in_flight = InFlight::enter(&data);
    // Record first, then pick a fault.
    let (seq, fault, latency) = {
        let mut st = lock(&data);
        let seq = st.next_seq;
        st.next_seq += 1;
        st.requests.push(RecordedRequest {
            seq,
            method: inc.method.clone(),
            path: path.clone(),
            query: req.query_string().to_string(),
            headers: headers.clone(),
            body: inc.body.clone(),
            status: 0,
            store_hash,
        });
        let mut picked = None;
        if let Some(i) = st
            .faults
            .iter()
            .position(|f| f.matches(&inc.rest, req.query_string()))
        {
            let f = &mut st.faults[i].fault;
            let times = f.times_mut();
            if *times > 0 {
                *times -= 1;
                picked = Some(f.clone());
            }
            if *st.faults[i].fault.times_mut() == 0 {
                st.faults.remove(i);
            }
        }
        (seq, picked, st.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let drop_after_write = matches!(fault, Some(Fault::DropAfterWrite { .. }));
    let (reply, rate) = match fault {
        Some(Fault::Status { status, .. }) => {
            let title = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Injected fault")
                .to_string();
            let rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            let reply = if status == 204 || status == 304 {
                Reply {
                    status,
                    body: Body::Empty,
                }
            } else {
                Reply::json(status, ApiErr::new(status, title).body(inc.v2))
            };
            (reply, rate)
        }
        Some(Fault::RateLimited { reset_ms, .. }) => {
            let mut rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            rate.left = 0;
            rate.reset_ms = reset_ms;
            (
                Reply::json(429, ApiErr::new(429, "Too many requests").body(inc.v2)),
                rate,
            )
        }
        Some(Fault::Malformed { .. }) => {
            let rate = current_rate(&lock(&data), inc.store_hash.as_deref());
            let raw = if inc.v2 {
                "[{\"id\":100,\"customer_id\":0,\"date_crea"
            } else {
                "{\"data\":[{\"id\":1,\"name\":\"Trunc"
            };
            (
                Reply {
                    status: 200,
                    body: Body::Raw(raw.to_string()),
                },
                rate,
            )
        }
        Some(Fault::Slow { delay, .. }) => {
            tokio::time::sleep(delay).await;
            process(&mut lock(&data), &inc)
        }
        Some(Fault::RepeatFirstPage { .. }) => {
            let mut inc = inc;
            inc.query.pairs.retain(|(k, _)| k != "page");
            inc.query.pairs.push(("page".to_string(), "1".to_string()));
            process(&mut lock(&data), &inc)
        }
        Some(Fault::HangAfterWrite { delay, .. }) => {
            let answer = process(&mut lock(&data), &inc);
            tokio::time::sleep(delay).await;
            answer
        }
        Some(Fault::DropAfterWrite { .. }) | None => process(&mut lock(&data), &inc),
    };

    {
        let mut st = lock(&data);
        if let Some(r) = st.requests.iter_mut().rev().find(|r| r.seq == seq) {
            r.status = reply.status;
        }
    }

    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = HttpResponse::build(status);
    b.insert_header(("X-Rate-Limit-Requests-Left", rate.left.to_string()))
        .insert_header(("X-Rate-Limit-Requests-Quota", rate.quota.to_string()))
        .insert_header(("X-Rate-Limit-Time-Reset-Ms", rate.reset_ms.to_string()))
        .insert_header(("X-Rate-Limit-Time-Window-Ms", rate.window_ms.to_string()));
    if drop_after_write {
        return cut_short(b, reply.body);
    }
    match reply.body {
        Body::Json(v) => b.content_type("application/json").body(v.to_string()),
        Body::Raw(s) => b.content_type("application/json").body(s),
        Body::Empty => b.finish(),
    }
}

/// [`Fault::DropAfterWrite`]: announces the whole body, sends its first half, then fails
/// the stream so that actix closes the connection.
fn cut_short(mut b: HttpResponseBuilder, body: Body) -> HttpResponse {
    let full = match body {
        Body::Json(v) => v.to_string(),
        Body::Raw(s) => s,
        Body::Empty => {
            b.status(StatusCode::OK);
            "{}".to_string()
        }
    };
    let len = full.len();
    let half = Bytes::from(full.into_bytes()).slice(..len / 2);
    let chunks = futures_util::stream::unfold(Some(half), |left| async move {
        match left {
            Some(half) => Some((Ok(half), None)),
            None => {
                // Give actix a moment to flush the half before the error closes the socket.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let dropped = std::io::Error::other("connection dropped by the fake");
                Some((Err(dropped), None))
            }
        }
    });
    b.content_type("application/json")
        .no_chunking(len as u64)
        .streaming(chunks)
}

/// Counts a request as in flight while its handler runs (dropped with it, even when the
/// client goes away), and keeps the peak.
struct InFlight(web::Data<Mutex<State>>);

impl InFlight {
    fn enter(data: &web::Data<Mutex<State>>) -> InFlight {
        let mut st = lock(data);
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        InFlight(data.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = lock(&self.0);
        st.in_flight = st.in_flight.saturating_sub(1);
    }
}

pub(super) fn process(st: &mut State, inc: &Incoming) -> (Reply, RateHeaders) {
    let now = Instant::now();
    let err = |e: ApiErr| Reply::json(e.status, e.body(inc.v2));
    let Some(hash) = inc.store_hash.clone() else {
        return (err(ApiErr::not_found()), RateHeaders::default());
    };
    if !st.stores.contains_key(&hash) {
        return (
            err(ApiErr::new(404, "Store not found.")),
            RateHeaders::default(),
        );
    }
    let rate_now = |st: &State| current_rate(st, Some(&hash));
    let token = inc.token.as_deref().unwrap_or("").trim();
    if token.is_empty() {
        let t = if inc.v2 {
            "No credentials were supplied in the request."
        } else {
            "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store."
        };
        return (err(ApiErr::new(401, t)), rate_now(st));
    }
    let (client_id, scopes) = match st.tokens.get(token) {
        Some(t) if t.store_hash == hash => (t.client_id.clone(), t.scopes.clone()),
        _ => {
            let t = if inc.v2 {
                "Invalid credentials were supplied in the request."
            } else {
                "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store."
            };
            return (err(ApiErr::new(401, t)), rate_now(st));
        }
    };

    // Rate limit: every authenticated request counts against the store's window.
    let window = st
        .rates
        .entry(hash.clone())
        .or_insert_with(|| RateWindow::new(DEFAULT_QUOTA, DEFAULT_WINDOW_MS));
    window.roll(now);
    if window.used >= window.quota {
        let mut h = window.headers(now);
        h.left = 0;
        return (err(ApiErr::new(429, "Too many requests")), h);
    }
    window.used += 1;
    let rate = window.headers(now);

    let (r, scope) = match route(&inc.method, &inc.segments) {
        Ok(x) => x,
        Err(e) => return (err(e), rate),
    };
    if let Some(need) = scope
        && !has_scope(&scopes, need)
    {
        return (err(ApiErr::new(403, MISSING_SCOPE)), rate);
    }
    if matches!(inc.method.as_str(), "POST" | "PUT")
        && !inc
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"))
    {
        return (
            err(ApiErr::new(
                415,
                "The Content-Type header must be application/json.",
            )),
            rate,
        );
    }
    let base = st.base_url.clone();
    let Some(s) = st.stores.get_mut(&hash) else {
        return (err(ApiErr::not_found()), rate);
    };
    let ctx = Ctx {
        hash: &hash,
        base: &base,
        client_id: &client_id,
    };
    let result = handle(s, inc, r, &ctx);
    (result.unwrap_or_else(err), rate)
}

/// One request as the fake saw it. Recorded before any check, faults included.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Increasing sequence number (stable across `clear_requests`).
    pub seq: u64,
    pub method: String,
    /// Full path, e.g. `/stores/abc123/v3/catalog/products`.
    pub path: String,
    /// Raw query string without `?` (still percent-encoded).
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Status answered; 0 while the request is still being processed.
    pub status: u16,
    /// Store hash from the path, if the path had one.
    pub store_hash: Option<String>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Decoded query parameter.
    pub fn query_param(&self, key: &str) -> Option<String> {
        parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}
