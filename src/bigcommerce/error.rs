//! `BigCommerceError`: what a call to BigCommerce can end in, how a response's status maps
//! to it, and whether trying the whole job again later could help.

use bytes::Bytes;
use reqwest::StatusCode;

use super::models::{V2Error, V3Error};

/// A failed BigCommerce call. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BigCommerceError {
    #[error("BigCommerce rejected the access token (401)")]
    Unauthorized,
    #[error("the token lacks a scope this request needs (403)")]
    Forbidden,
    #[error("BigCommerce found no such store or resource (404)")]
    NotFound,
    #[error("BigCommerce's rate limit was reached (429); it resets in {reset_ms} ms")]
    RateLimited { reset_ms: u64 },
    #[error("BigCommerce answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("BigCommerce did not answer within {seconds} s")]
    Timeout { seconds: u64 },
    #[error("could not reach BigCommerce: {0}")]
    Unreachable(String),
    #[error("BigCommerce sent a response cartbridge could not read: {0}")]
    Malformed(String),
    /// A v3 list whose pagination contradicts itself (a page asked for twice, or no end).
    #[error("BigCommerce's pagination is inconsistent: {0}")]
    Pagination(String),
}

impl BigCommerceError {
    /// Whether the same call might succeed later: transport failures, 5xx answers and rate
    /// limiting. A broken response (`Malformed`, `Pagination`) or a refusal (401, 403, 404,
    /// other 4xx) will not fix itself, so the run should fail with this error.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Unreachable(_) | Self::RateLimited { .. } => true,
            Self::Status { status, .. } => (500..=599).contains(status),
            Self::Unauthorized
            | Self::Forbidden
            | Self::NotFound
            | Self::Malformed(_)
            | Self::Pagination(_) => false,
        }
    }
}

/// Success, or the error a non-2xx status stands for.
pub(crate) fn classify(
    status: StatusCode,
    body: Bytes,
    reset_ms: Option<u64>,
) -> Result<(StatusCode, Bytes), BigCommerceError> {
    match status {
        s if s.is_success() => Ok((s, body)),
        StatusCode::UNAUTHORIZED => Err(BigCommerceError::Unauthorized),
        StatusCode::FORBIDDEN => Err(BigCommerceError::Forbidden),
        StatusCode::NOT_FOUND => Err(BigCommerceError::NotFound),
        StatusCode::TOO_MANY_REQUESTS => Err(BigCommerceError::RateLimited {
            reset_ms: reset_ms.unwrap_or(0),
        }),
        s => Err(BigCommerceError::Status {
            status: s.as_u16(),
            message: error_message(&body),
        }),
    }
}

/// The human part of a v2 (`[{message}]`) or v3 (`{title}`) error body, shortened.
fn error_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<Vec<V2Error>>(body)
        .ok()
        .and_then(|v| v.into_iter().next().map(|e| e.message))
        .or_else(|| {
            serde_json::from_slice::<V3Error>(body)
                .ok()
                .map(|e| e.title)
        })
        .unwrap_or_default();
    message.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::{BigCommerceError, Bytes, StatusCode, classify, error_message};

    #[test]
    fn transport_failures_server_errors_and_rate_limits_are_retryable() {
        let retryable = [
            BigCommerceError::Timeout { seconds: 5 },
            BigCommerceError::Unreachable("connection refused".into()),
            BigCommerceError::RateLimited { reset_ms: 100 },
            BigCommerceError::Status {
                status: 500,
                message: String::new(),
            },
            BigCommerceError::Status {
                status: 503,
                message: "maintenance".into(),
            },
        ];
        for e in retryable {
            assert!(e.is_retryable(), "{e:?} should be retryable");
        }
    }

    #[test]
    fn refusals_and_broken_responses_are_not_retryable() {
        let final_errors = [
            BigCommerceError::Unauthorized,
            BigCommerceError::Forbidden,
            BigCommerceError::NotFound,
            BigCommerceError::Status {
                status: 422,
                message: "bad filter".into(),
            },
            BigCommerceError::Malformed("EOF".into()),
            BigCommerceError::Pagination("page 1 again".into()),
        ];
        for e in final_errors {
            assert!(!e.is_retryable(), "{e:?} should not be retryable");
        }
    }

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

    #[test]
    fn statuses_map_to_errors() {
        let body = || Bytes::from_static(br#"{"title":"Oops"}"#);
        assert!(classify(StatusCode::NO_CONTENT, body(), None).is_ok());
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, body(), Some(250)),
            Err(BigCommerceError::RateLimited { reset_ms: 250 })
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, body(), None),
            Err(BigCommerceError::Status {
                status: 502,
                message: "Oops".into()
            })
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, body(), None),
            Err(BigCommerceError::Forbidden)
        );
    }
}
