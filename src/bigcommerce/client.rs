//! `BigCommerce` (one per process: the HTTP client, base URL, retry policy, request counter
//! and one rate limiter per store) and `StoreClient` (one store and its token).
//!
//! Every GET goes through the store's limiter and the retry loop: 429s wait for the window
//! to reset, transient failures back off, anything else is returned at once. Nothing here
//! logs or returns the token, or query strings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::{StatusCode, header};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::classify;
use super::limiter::{RateHeaders, RateLimitState, SharedBudget, StoreLimiter};
use super::retry::{Attempts, Next, RetryPolicy};
use super::{BigCommerceError, models};
use crate::domain::{Secret, StoreHash};

/// The BigCommerce API as reached from this process. Clones share the rate limiters and
/// the request counter.
#[derive(Debug, Clone)]
pub struct BigCommerce {
    http: reqwest::Client,
    api_base: Url,
    timeout: Duration,
    retry: RetryPolicy,
    limiters: Arc<Mutex<HashMap<String, Arc<StoreLimiter>>>>,
    requests_sent: Arc<AtomicU64>,
    /// Requests in flight to one store at most.
    max_in_flight: usize,
    /// The per-store budget shared with other processes, if they share one.
    shared: Option<Arc<dyn SharedBudget>>,
}

impl BigCommerce {
    /// A client for the API at `api_base` (`https://api.bigcommerce.com` in production);
    /// `timeout` bounds connecting and each whole request. Retries use
    /// [`RetryPolicy::default`].
    pub fn new(api_base: Url, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cartbridge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            api_base,
            timeout,
            retry: RetryPolicy::default(),
            limiters: Arc::default(),
            requests_sent: Arc::default(),
            max_in_flight: 8,
            shared: None,
        })
    }

    /// The same client keeping at most `n` requests in flight to one store.
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The same client drawing every store's requests from `budget` too, which other
    /// processes share (set before the first request).
    pub fn with_shared_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(budget);
        self
    }

    /// Requests kept in flight to one store at most (how many pages a walk fetches at once).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The same client with another retry policy (tests use short delays).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// A client for one store, authenticating with `token`. Every client of the same store
    /// hash shares one rate limiter.
    pub fn store<'a>(&'a self, hash: &'a StoreHash, token: &'a Secret) -> StoreClient<'a> {
        StoreClient {
            bc: self,
            hash,
            token,
            limiter: self.limiter(hash),
            retry: self.retry,
        }
    }

    /// HTTP requests actually sent so far by this client and its clones, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent.load(Ordering::Relaxed)
    }

    /// What the last responses from `hash` said about its rate-limit window, if it has
    /// been called.
    pub fn rate_limit_state(&self, hash: &StoreHash) -> Option<RateLimitState> {
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash.as_str())
            .map(|limiter| limiter.state())
    }

    fn limiter(&self, hash: &StoreHash) -> Arc<StoreLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry(hash.as_str().to_owned())
            .or_insert_with(|| {
                let shared = self
                    .shared
                    .clone()
                    .map(|budget| (hash.as_str().to_owned(), budget));
                let cap = u64::try_from(self.max_in_flight).unwrap_or(u64::MAX);
                Arc::new(StoreLimiter::new(cap, shared))
            })
            .clone()
    }
}

/// Requests to one store.
pub struct StoreClient<'a> {
    bc: &'a BigCommerce,
    hash: &'a StoreHash,
    token: &'a Secret,
    limiter: Arc<StoreLimiter>,
    retry: RetryPolicy,
}

/// One attempt's outcome, and the 429's reset time when it had one.
struct Attempt {
    result: Result<(StatusCode, bytes::Bytes), BigCommerceError>,
    reset_ms: Option<u64>,
}

impl StoreClient<'_> {
    /// This client with another retry policy, e.g. [`RetryPolicy::no_retries`] where a
    /// person waits for the answer (429s are still waited out).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}/stores/{}{}",
            self.bc.api_base.as_str().trim_end_matches('/'),
            self.hash.as_str(),
            path_and_query
        )
    }

    /// GETs `path_and_query` (e.g. `/v2/store`) and returns the status and body, after
    /// waiting out 429s and retrying transient failures; maps transport failures, 401, 403,
    /// 404, 429 and other non-2xx statuses to errors.
    async fn get_raw(
        &self,
        path_and_query: &str,
    ) -> Result<(StatusCode, bytes::Bytes), BigCommerceError> {
        let mut attempts = Attempts::default();
        loop {
            let attempt = self.send_once(path_and_query).await;
            let error = match attempt.result {
                Ok(ok) => return Ok(ok),
                Err(error) => error,
            };
            match attempts.after(&self.retry, &error, attempt.reset_ms) {
                Next::Fail => return Err(error),
                Next::AwaitReset(reset) => {
                    self.log_retry(path_and_query, &error, &attempts, reset);
                    // The limiter holds this and every other request to the store until then.
                    self.limiter.exhaust_for(reset);
                }
                Next::Backoff(delay) => {
                    self.log_retry(path_and_query, &error, &attempts, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Sends one GET once the limiter allows it, and records the rate-limit headers.
    async fn send_once(&self, path_and_query: &str) -> Attempt {
        let _in_flight = self.limiter.acquire().await;
        self.bc.requests_sent.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .bc
            .http
            .get(self.url(path_and_query))
            .header("X-Auth-Token", self.token.expose())
            .header(header::ACCEPT, "application/json")
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.failed(e),
        };
        let rate = RateHeaders::parse(response.headers());
        self.limiter.record(rate);
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return self.failed(e),
        };
        Attempt {
            result: classify(status, body, rate.reset_ms),
            reset_ms: rate.reset_ms,
        }
    }

    fn failed(&self, e: reqwest::Error) -> Attempt {
        Attempt {
            result: Err(self.transport_error(e)),
            reset_ms: None,
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> BigCommerceError {
        if e.is_timeout() {
            BigCommerceError::Timeout {
                seconds: self.bc.timeout.as_secs().max(1),
            }
        } else {
            // Without the URL: it is harmless, but keep messages short and stable.
            BigCommerceError::Unreachable(e.without_url().to_string())
        }
    }

    /// Logs the path without its query (filters may hold customer data), never the token.
    fn log_retry(
        &self,
        path_and_query: &str,
        error: &BigCommerceError,
        attempts: &Attempts,
        delay: Duration,
    ) {
        let path = path_and_query.split('?').next().unwrap_or_default();
        let status = match error {
            BigCommerceError::Status { status, .. } => Some(*status),
            BigCommerceError::RateLimited { .. } => Some(429),
            _ => None,
        };
        tracing::warn!(
            store = self.hash.as_str(),
            path,
            status,
            %error,
            retry = attempts.transient,
            rate_limited = attempts.rate_limited,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying BigCommerce request"
        );
    }

    /// GETs `path_and_query` and decodes the JSON body; a body that does not decode as `T`
    /// is `Malformed` (and is not retried).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, BigCommerceError> {
        let (_, body) = self.get_raw(path_and_query).await?;
        serde_json::from_slice(&body).map_err(|e| BigCommerceError::Malformed(e.to_string()))
    }

    /// `GET /v2/store`: the store's name, domain, plan and currency.
    pub async fn store_info(&self) -> Result<models::StoreInfo, BigCommerceError> {
        self.get_json("/v2/store").await
    }

    /// `GET /v2/time`: the store's clock, in UNIX seconds.
    pub async fn store_time(&self) -> Result<models::StoreTime, BigCommerceError> {
        self.get_json("/v2/time").await
    }

    /// A cheap GET that succeeds if the token may read `path_and_query` (204 counts).
    pub async fn probe(&self, path_and_query: &str) -> Result<(), BigCommerceError> {
        self.get_raw(path_and_query).await.map(|_| ())
    }
}
