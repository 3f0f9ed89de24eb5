//! `BigCommerce` (one per process: the HTTP client and base URL) and `StoreClient` (one
//! store and its token).

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde::de::DeserializeOwned;
use url::Url;

use super::{BigCommerceError, models};
use crate::domain::{Secret, StoreHash};

/// The BigCommerce API as reached from this process.
#[derive(Debug, Clone)]
pub struct BigCommerce {
    http: reqwest::Client,
    api_base: Url,
    timeout: Duration,
}

impl BigCommerce {
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
        })
    }

    /// A client for one store, authenticating with `token`.
    pub fn store<'a>(&'a self, hash: &'a StoreHash, token: &'a Secret) -> StoreClient<'a> {
        StoreClient {
            bc: self,
            hash,
            token,
        }
    }
}

/// Requests to one store.
pub struct StoreClient<'a> {
    bc: &'a BigCommerce,
    hash: &'a StoreHash,
    token: &'a Secret,
}

impl StoreClient<'_> {
    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}/stores/{}{}",
            self.bc.api_base.as_str().trim_end_matches('/'),
            self.hash.as_str(),
            path_and_query
        )
    }

    /// GETs `path_and_query` (e.g. `/v2/store`) and returns the status and body; maps
    /// transport failures, 401, 403, 404 and 429 to errors.
    async fn get_raw(
        &self,
        path_and_query: &str,
    ) -> Result<(StatusCode, bytes::Bytes), BigCommerceError> {
        let response = self
            .bc
            .http
            .get(self.url(path_and_query))
            .header("X-Auth-Token", self.token.expose())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let reset_ms = response
            .headers()
            .get("x-rate-limit-time-reset-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        match status {
            s if s.is_success() => Ok((s, body)),
            StatusCode::UNAUTHORIZED => Err(BigCommerceError::Unauthorized),
            StatusCode::FORBIDDEN => Err(BigCommerceError::Forbidden),
            StatusCode::NOT_FOUND => Err(BigCommerceError::NotFound),
            StatusCode::TOO_MANY_REQUESTS => Err(BigCommerceError::RateLimited { reset_ms }),
            s => Err(BigCommerceError::Status {
                status: s.as_u16(),
                message: error_message(&body),
            }),
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

    /// A cheap GET that succeeds if the token may read `path_and_query` (204 counts).
    pub async fn probe(&self, path_and_query: &str) -> Result<(), BigCommerceError> {
        self.get_raw(path_and_query).await.map(|_| ())
    }
}

/// The human part of a v2 (`[{message}]`) or v3 (`{title}`) error body, shortened.
fn error_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<Vec<models::V2Error>>(body)
        .ok()
        .and_then(|v| v.into_iter().next().map(|e| e.message))
        .or_else(|| {
            serde_json::from_slice::<models::V3Error>(body)
                .ok()
                .map(|e| e.title)
        })
        .unwrap_or_default();
    message.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn error_bodies_of_both_api_versions_are_read() {
        assert_eq!(
            error_message(br#"[{"status":500,"message":"Internal error"}]"#),
            "Internal error"
        );
        assert_eq!(
            error_message(br#"{"status":422,"title":"Bad input","errors":{}}"#),
            "Bad input"
        );
        assert_eq!(error_message(b"<html>"), "");
    }
}
