//! `BigCommerceError`: what a call to BigCommerce can end in, how a response's status maps
//! to it, and whether trying the whole job again later could help. Error bodies are read
//! for their human message only; nothing here logs them.

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

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
    /// A write (POST, PUT, DELETE) that was sent but got no complete answer, or a 5xx: the
    /// store may or may not have performed it. Sending it again could do it twice, so the
    /// caller must look the result up (e.g. an order by `external_order_id`) first.
    #[error(
        "BigCommerce may or may not have performed {method} {path} ({reason}); look the result up before sending it again"
    )]
    OutcomeUnknown {
        /// `POST`, `PUT` or `DELETE`.
        method: String,
        /// The path without its query string.
        path: String,
        /// What happened: a timeout, a dropped connection, a truncated body or a 5xx.
        reason: String,
    },
    /// A write whose body could not be serialized (a bug on our side; nothing was sent).
    #[error("cartbridge could not encode the request body: {0}")]
    Encode(String),
}

impl BigCommerceError {
    /// Whether the same call might succeed later: transport failures, 5xx answers and rate
    /// limiting. A broken response (`Malformed`, `Pagination`) or a refusal (401, 403, 404,
    /// other 4xx) will not fix itself, so the run should fail with this error.
    ///
    /// `OutcomeUnknown` is not retryable either: re-running a write blindly could perform it
    /// twice. See [`Self::is_outcome_unknown`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Unreachable(_) | Self::RateLimited { .. } => true,
            Self::Status { status, .. } => (500..=599).contains(status),
            Self::Unauthorized
            | Self::Forbidden
            | Self::NotFound
            | Self::Malformed(_)
            | Self::Pagination(_)
            | Self::OutcomeUnknown { .. }
            | Self::Encode(_) => false,
        }
    }

    /// Whether this is a write the store may or may not have performed: the caller should
    /// look the result up before deciding to send it again.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
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

/// Longest message kept from an error body, and longest text kept per field.
const MAX_MESSAGE: usize = 300;
const MAX_FIELD: usize = 80;
/// Field messages listed before "and N more".
const MAX_FIELDS: usize = 5;

/// The human part of a v2 (`[{message, details?}]`) or v3 (`{title, errors: {field: msg}}`)
/// error body: the message or title, then the per-field messages in brackets, shortened.
/// Anything else (HTML from a proxy, an empty body) gives "".
pub(crate) fn error_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let (headline, fields) = match &value {
        // v2: an array of errors; the first one speaks for the request.
        Value::Array(errors) => {
            let first = errors.first();
            (
                first.and_then(|e| e.get("message")),
                first.and_then(|e| e.get("details")),
            )
        }
        Value::Object(error) => (error.get("title"), error.get("errors")),
        _ => (None, None),
    };
    let headline = headline.and_then(Value::as_str).unwrap_or_default().trim();
    let fields = fields.map(field_messages).unwrap_or_default();
    let message = match (headline.is_empty(), fields.is_empty()) {
        (_, true) => headline.to_owned(),
        (true, false) => fields,
        (false, false) => format!("{headline} ({fields})"),
    };
    shorten(&message, MAX_MESSAGE)
}

/// `field: message; field: message` from an `errors`/`details` object (or array).
fn field_messages(errors: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => shorten(s.trim(), MAX_FIELD),
        other => shorten(&other.to_string(), MAX_FIELD),
    };
    let mut parts: Vec<String> = match errors {
        Value::Object(map) => map
            .iter()
            .map(|(field, msg)| match field.trim() {
                "" => text(msg),
                field => format!("{}: {}", shorten(field, MAX_FIELD), text(msg)),
            })
            .collect(),
        Value::Array(items) => items.iter().map(text).collect(),
        _ => Vec::new(),
    };
    parts.retain(|p| !p.is_empty());
    let more = parts.len().saturating_sub(MAX_FIELDS);
    parts.truncate(MAX_FIELDS);
    let mut joined = parts.join("; ");
    if more > 0 {
        joined.push_str(&format!("; and {more} more"));
    }
    joined
}

/// At most `max` characters, with "…" when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::{BigCommerceError, Bytes, MAX_MESSAGE, StatusCode, classify, error_message};

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
            BigCommerceError::Encode("key must be a string".into()),
        ];
        for e in final_errors {
            assert!(!e.is_retryable(), "{e:?} should not be retryable");
            assert!(!e.is_outcome_unknown(), "{e:?}");
        }
    }

    #[test]
    fn an_unknown_outcome_is_never_retryable_and_says_the_store_may_have_done_it() {
        let e = BigCommerceError::OutcomeUnknown {
            method: "POST".into(),
            path: "/v2/orders".into(),
            reason: "the connection was dropped".into(),
        };
        assert!(!e.is_retryable(), "a job must not re-run the write blindly");
        assert!(e.is_outcome_unknown());
        assert_eq!(
            e.to_string(),
            "BigCommerce may or may not have performed POST /v2/orders (the connection was \
             dropped); look the result up before sending it again"
        );
    }

    #[test]
    fn validation_errors_keep_the_title_and_each_field_message() {
        assert_eq!(
            error_message(
                br#"{"status":422,"title":"JSON data is missing or invalid","type":"x",
                    "errors":{"0.email":"error.format","0.first_name":"error.path.missing"}}"#
            ),
            "JSON data is missing or invalid (0.email: error.format; 0.first_name: error.path.missing)"
        );
        assert_eq!(
            error_message(
                br#"[{"status":400,"message":"The field 'billing_address.email' is invalid.",
                    "details":{"billing_address.email":"must be an email address"}}]"#
            ),
            "The field 'billing_address.email' is invalid. (billing_address.email: must be an \
             email address)"
        );
        assert_eq!(
            error_message(
                br#"{"status":422,"title":"","errors":{"":"At least one is required."}}"#
            ),
            "At least one is required."
        );
    }

    #[test]
    fn long_error_bodies_are_shortened() {
        let fields: Vec<String> = (0..8)
            .map(|i| format!(r#""f{i}":"{}""#, "x".repeat(200)))
            .collect();
        let body = format!(r#"{{"title":"Bad","errors":{{{}}}}}"#, fields.join(","));
        let message = error_message(body.as_bytes());
        assert!(message.chars().count() <= MAX_MESSAGE, "{message}");
        assert!(message.starts_with("Bad (f0: xxx"), "{message}");
        assert!(message.ends_with('…'), "{message}");
        let few =
            r#"{"title":"Bad","errors":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7"}}"#;
        assert_eq!(
            error_message(few.as_bytes()),
            "Bad (a: 1; b: 2; c: 3; d: 4; e: 5; and 2 more)"
        );
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
