//! Injected faults: errors, 429s, slowness, broken bodies, broken pagination and
//! connections dropped after a write, armed per path prefix (and optionally query
//! substring) for a number of requests.

use super::FakeBigCommerce;
use std::time::Duration;

impl FakeBigCommerce {
    /// Arms `fault` for the next `times` requests under its path prefix.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(ArmedFault {
            fault,
            query_contains: None,
        });
    }

    /// Like [`inject`](Self::inject), but the fault fires (and counts down) only on requests
    /// whose raw, still percent-encoded query string contains `query_contains`, e.g.
    /// `"page=3"` for one page of a walk.
    pub fn inject_when(&self, fault: Fault, query_contains: &str) {
        self.lock().faults.push(ArmedFault {
            fault,
            query_contains: Some(query_contains.to_string()),
        });
    }
}

/// An injected fault and, for [`FakeBigCommerce::inject_when`], the substring the raw query
/// string must contain for it to fire.
pub(super) struct ArmedFault {
    pub(super) fault: Fault,
    pub(super) query_contains: Option<String>,
}

impl ArmedFault {
    pub(super) fn matches(&self, rest: &str, query: &str) -> bool {
        rest.starts_with(self.fault.path_prefix())
            && self
                .query_contains
                .as_deref()
                .is_none_or(|needle| query.contains(needle))
    }
}

/// A fault to inject. `path_prefix` is matched against the request path after
/// `/stores/{hash}` (e.g. `/v3/catalog/products`); empty matches everything. Each fault
/// answers the next `times` matching requests, then is used up. Faults are tried in the
/// order injected and only the first matching one applies to a request; one armed with
/// `FakeBigCommerce::inject_when` matches only if the query string has its substring.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer `status` with an error body in the v2 or v3 shape.
    Status {
        status: u16,
        path_prefix: String,
        times: usize,
    },
    /// Answer 429 with `X-Rate-Limit-Time-Reset-Ms: reset_ms` and `Requests-Left: 0`.
    RateLimited {
        reset_ms: u64,
        path_prefix: String,
        times: usize,
    },
    /// Wait `delay`, then process the request normally.
    Slow {
        delay: Duration,
        path_prefix: String,
        times: usize,
    },
    /// Answer 200 `application/json` with a truncated, invalid JSON body.
    Malformed { path_prefix: String, times: usize },
    /// Process the request as if it had asked for `page=1` (pagination stuck on page 1).
    RepeatFirstPage { path_prefix: String, times: usize },
    /// Process the request (a POST creates its order), then answer its status and headers
    /// with a `Content-Length` announcing the whole body, send half of the body and close
    /// the connection: the client sees a dropped connection after the store did the
    /// write. An answer without a body (a 204) is sent as a 200 announcing `{}` and cut
    /// after `{`.
    DropAfterWrite { path_prefix: String, times: usize },
    /// Process the request (a POST creates its order), then wait `delay` before
    /// answering: the store did the write, the client hears nothing for that long (a
    /// process killed meanwhile never learns the outcome).
    HangAfterWrite {
        delay: Duration,
        path_prefix: String,
        times: usize,
    },
}

impl Fault {
    pub fn path_prefix(&self) -> &str {
        match self {
            Fault::Status { path_prefix, .. }
            | Fault::RateLimited { path_prefix, .. }
            | Fault::Slow { path_prefix, .. }
            | Fault::Malformed { path_prefix, .. }
            | Fault::RepeatFirstPage { path_prefix, .. }
            | Fault::DropAfterWrite { path_prefix, .. }
            | Fault::HangAfterWrite { path_prefix, .. } => path_prefix,
        }
    }
    pub(crate) fn times_mut(&mut self) -> &mut usize {
        match self {
            Fault::Status { times, .. }
            | Fault::RateLimited { times, .. }
            | Fault::Slow { times, .. }
            | Fault::Malformed { times, .. }
            | Fault::RepeatFirstPage { times, .. }
            | Fault::DropAfterWrite { times, .. }
            | Fault::HangAfterWrite { times, .. } => times,
        }
    }
}
