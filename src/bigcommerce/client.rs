//! `BigCommerce` (one per process: the HTTP client, base URL, retry policy, request counter
//! and one rate limiter per store) and `StoreClient` (one store and its token).
//!
//! Every request, GET or write, goes through one path (`send_once`): the store's limiter,
//! then the retry loop. 429s wait for the window to reset; a GET's transient failures back
//! off; a write is resent only when BigCommerce cannot have performed it (a 429, or no
//! connection), see `write.rs`. Nothing here logs or returns the token, query strings or
//! request bodies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::limiter::{Priority, RateHeaders, RateLimitState, SharedBudget, StoreLimiter};
use super::retry::{Attempts, Next, RetryPolicy};
use super::write::{Outcome, Stage, read_result, unreadable_answer, write_result};
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
            priority: Priority::Normal,
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
    priority: Priority,
}

/// One request to send: the method, the path with its query, and the JSON body of a POST
/// or PUT.
struct Request<'p> {
    method: Method,
    path_and_query: &'p str,
    body: Option<Bytes>,
}

impl Request<'_> {
    /// The path without its query string (filters may hold customer data): what logs and
    /// errors name.
    fn path(&self) -> &str {
        self.path_and_query.split('?').next().unwrap_or_default()
    }
}

/// How one attempt ended, and the rate-limit reset time its headers gave.
struct Attempt {
    outcome: Outcome,
    reset_ms: Option<u64>,
}

impl StoreClient<'_> {
    /// This client with another retry policy, e.g. [`RetryPolicy::no_retries`] where a
    /// person waits for the answer (429s are still waited out).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// This client for bulk work (a sync's pages): its requests leave one request slot and
    /// the next units of the store's budget to other jobs' requests waiting beside them, so
    /// a purchase order is not held up behind a long sync.
    pub fn bulk(mut self) -> Self {
        self.priority = Priority::Bulk;
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
    async fn get_raw(&self, path_and_query: &str) -> Result<(StatusCode, Bytes), BigCommerceError> {
        self.request(&Request {
            method: Method::GET,
            path_and_query,
            body: None,
        })
        .await
    }

    /// Sends `request` until it succeeds or fails for good. GETs follow the retry policy;
    /// writes are resent only after a 429 or a failure to connect (see `write.rs`).
    async fn request(
        &self,
        request: &Request<'_>,
    ) -> Result<(StatusCode, Bytes), BigCommerceError> {
        let mut attempts = Attempts::default();
        loop {
            let attempt = self.send_once(request).await;
            let result = if request.method == Method::GET {
                read_result(attempt.outcome, attempt.reset_ms)
            } else {
                write_result(
                    &request.method,
                    request.path(),
                    attempt.outcome,
                    attempt.reset_ms,
                )
            };
            let error = match result {
                Ok(ok) => return Ok(ok),
                Err(error) => error,
            };
            match attempts.after(&self.retry, &error, attempt.reset_ms) {
                Next::Fail => return Err(error),
                Next::AwaitReset(reset) => {
                    self.log_retry(request, &error, &attempts, reset);
                    // The limiter holds this and every other request to the store until then.
                    self.limiter.exhaust_for(reset);
                }
                Next::Backoff(delay) => {
                    self.log_retry(request, &error, &attempts, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Sends `request` once the limiter allows it, records the rate-limit headers, and
    /// reads the whole answer. The one place a request leaves this process.
    async fn send_once(&self, request: &Request<'_>) -> Attempt {
        let _in_flight = self.limiter.acquire_as(self.priority).await;
        self.bc.requests_sent.fetch_add(1, Ordering::Relaxed);
        let mut builder = self
            .bc
            .http
            .request(request.method.clone(), self.url(request.path_and_query))
            .header("X-Auth-Token", self.token.expose())
            .header(header::ACCEPT, "application/json");
        if let Some(body) = &request.body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                // Nothing was sent when the connection could not be made.
                let stage = if e.is_connect() {
                    Stage::Connect
                } else {
                    Stage::Send
                };
                return self.failed(e, stage);
            }
        };
        let rate = RateHeaders::parse(response.headers());
        self.limiter.record(rate);
        let status = response.status();
        let outcome = match response.bytes().await {
            Ok(body) => Outcome::Answered(status, body),
            Err(e) => return self.failed(e, Stage::Body),
        };
        Attempt {
            outcome,
            reset_ms: rate.reset_ms,
        }
    }

    fn failed(&self, e: reqwest::Error, stage: Stage) -> Attempt {
        Attempt {
            outcome: Outcome::Failed {
                error: self.transport_error(e),
                stage,
            },
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

    /// Logs the method and the path without its query (filters may hold customer data),
    /// never the token or the body.
    fn log_retry(
        &self,
        request: &Request<'_>,
        error: &BigCommerceError,
        attempts: &Attempts,
        delay: Duration,
    ) {
        let status = match error {
            BigCommerceError::Status { status, .. } => Some(*status),
            BigCommerceError::RateLimited { .. } => Some(429),
            _ => None,
        };
        tracing::warn!(
            store = self.hash.as_str(),
            method = request.method.as_str(),
            path = request.path(),
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

    /// GETs `path_and_query` and decodes the JSON body, reading an empty answer (v2 answers
    /// an empty collection with 204 and no body, as `GET /v2/orders/{id}/shipments` does for
    /// an order without shipments) as `T::default()`.
    pub async fn get_json_or_default<T: DeserializeOwned + Default>(
        &self,
        path_and_query: &str,
    ) -> Result<T, BigCommerceError> {
        let (status, body) = self.get_raw(path_and_query).await?;
        if status == StatusCode::NO_CONTENT || body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
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

    /// POSTs `body` as JSON to `path` (e.g. `/v2/orders`) and decodes the JSON answer.
    ///
    /// A 429 is waited out and resent (BigCommerce did not perform it), and so is a failure
    /// to connect. A timeout, a dropped connection, a truncated answer, a 5xx or a 2xx whose
    /// body does not decode as `T` is [`BigCommerceError::OutcomeUnknown`]: it is never
    /// resent, and the caller should look the result up. Other 4xx answers are
    /// [`BigCommerceError::Status`] with BigCommerce's message (401, 403 and 404 keep their
    /// own variants).
    pub async fn post_json<B, T>(&self, path: &str, body: &B) -> Result<T, BigCommerceError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.write_json(Method::POST, path, body).await
    }

    /// PUTs `body` as JSON to `path` (e.g. `/v2/orders/{id}`) and decodes the JSON answer
    /// (an empty one as `null`, for `T = ()`); errors as for [`Self::post_json`].
    pub async fn put_json<B, T>(&self, path: &str, body: &B) -> Result<T, BigCommerceError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.write_json(Method::PUT, path, body).await
    }

    /// DELETEs `path` (e.g. `/v3/hooks/{id}`); any 2xx, with or without a body, is success.
    /// Errors as for [`Self::post_json`].
    pub async fn delete(&self, path: &str) -> Result<(), BigCommerceError> {
        let request = Request {
            method: Method::DELETE,
            path_and_query: path,
            body: None,
        };
        self.request(&request).await.map(|_| ())
    }

    async fn write_json<B, T>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, BigCommerceError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = serde_json::to_vec(body).map_err(|e| BigCommerceError::Encode(e.to_string()))?;
        let request = Request {
            method,
            path_and_query: path,
            body: Some(Bytes::from(body)),
        };
        let (status, answer) = self.request(&request).await?;
        // An empty answer (a 204) reads as `null`, so `T = ()` or `Option<_>` accepts it.
        let json: &[u8] = if answer.is_empty() { b"null" } else { &answer };
        serde_json::from_slice(json)
            .map_err(|e| unreadable_answer(&request.method, request.path(), status, &e))
    }
}
