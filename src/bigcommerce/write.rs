//! How one attempt ends, and what that means for a write (POST, PUT, DELETE), which unlike
//! a GET must never be sent twice by accident. BigCommerce has no idempotency key, so:
//!
//! - a 429 was not performed: the retry loop waits out the window and resends;
//! - a failure to connect sent nothing: it is retried like a GET's;
//! - a timeout, a dropped connection, a truncated answer or a 5xx after the request went
//!   out may or may not have been performed: [`BigCommerceError::OutcomeUnknown`], never
//!   resent here, so that the flow can look the result up;
//! - any other 4xx carries BigCommerce's own message (see `error.rs`).
//!
//! Pure decisions, no I/O and no logging (write bodies hold customer data).

use bytes::Bytes;
use reqwest::{Method, StatusCode};

use super::BigCommerceError;
use super::error::classify;

/// Where an attempt without a complete answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The connection could not be made: nothing reached BigCommerce.
    Connect,
    /// The request went out (or may have) and no response head came back.
    Send,
    /// The response head came back but its body was cut short.
    Body,
}

/// How one attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A complete answer, whatever its status.
    Answered(StatusCode, Bytes),
    /// No complete answer; `error` is what a GET reports for it (`Timeout` or
    /// `Unreachable`).
    Failed {
        error: BigCommerceError,
        stage: Stage,
    },
}

/// The result of one attempt of a GET: transport failures are errors the retry policy may
/// resend, statuses map as in [`classify`].
pub(crate) fn read_result(
    outcome: Outcome,
    reset_ms: Option<u64>,
) -> Result<(StatusCode, Bytes), BigCommerceError> {
    match outcome {
        Outcome::Answered(status, body) => classify(status, body, reset_ms),
        Outcome::Failed { error, .. } => Err(error),
    }
}

/// The result of one attempt of a write to `path` (without its query). Only a failure to
/// connect and a 429 come back as errors the retry loop resends.
pub(crate) fn write_result(
    method: &Method,
    path: &str,
    outcome: Outcome,
    reset_ms: Option<u64>,
) -> Result<(StatusCode, Bytes), BigCommerceError> {
    let unknown = |reason: String| BigCommerceError::OutcomeUnknown {
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        reason,
    };
    match outcome {
        Outcome::Failed {
            error,
            stage: Stage::Connect,
        } => Err(error),
        Outcome::Failed { error, stage } => Err(unknown(lost_reason(&error, stage))),
        Outcome::Answered(status, body) if status.is_server_error() => {
            let message = super::error::error_message(&body);
            let code = status.as_u16();
            Err(unknown(if message.is_empty() {
                format!("BigCommerce answered {code}")
            } else {
                format!("BigCommerce answered {code}: {message}")
            }))
        }
        Outcome::Answered(status, body) => classify(status, body, reset_ms),
    }
}

/// A write that succeeded (2xx) but whose answer did not decode: the store performed it,
/// but what it made (e.g. the new order's id) is unknown.
pub(crate) fn unreadable_answer(
    method: &Method,
    path: &str,
    status: StatusCode,
    why: &serde_json::Error,
) -> BigCommerceError {
    BigCommerceError::OutcomeUnknown {
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        reason: format!(
            "it answered {} but the answer could not be read: {why}",
            status.as_u16()
        ),
    }
}

fn lost_reason(error: &BigCommerceError, stage: Stage) -> String {
    match (error, stage) {
        (BigCommerceError::Timeout { seconds }, _) => format!("no answer within {seconds} s"),
        (BigCommerceError::Unreachable(why), Stage::Body) => {
            format!("the answer was cut short: {why}")
        }
        (BigCommerceError::Unreachable(why), _) => format!("the connection was lost: {why}"),
        (other, _) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/v2/orders";

    fn post(outcome: Outcome) -> Result<(StatusCode, Bytes), BigCommerceError> {
        write_result(&Method::POST, PATH, outcome, Some(1500))
    }

    fn answered(status: u16, body: &'static str) -> Outcome {
        Outcome::Answered(
            StatusCode::from_u16(status).unwrap(),
            Bytes::from_static(body.as_bytes()),
        )
    }

    fn failed(error: BigCommerceError, stage: Stage) -> Outcome {
        Outcome::Failed { error, stage }
    }

    fn reason(result: Result<(StatusCode, Bytes), BigCommerceError>) -> String {
        match result {
            Err(BigCommerceError::OutcomeUnknown {
                method,
                path,
                reason,
            }) => {
                assert_eq!((method.as_str(), path.as_str()), ("POST", PATH));
                reason
            }
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
    }

    #[test]
    fn a_2xx_is_success() {
        let (status, body) = post(answered(200, r#"{"id":100}"#)).unwrap();
        assert_eq!((status.as_u16(), &body[..]), (200, &br#"{"id":100}"#[..]));
        assert!(post(answered(204, "")).is_ok());
    }

    #[test]
    fn a_429_is_rate_limited_so_the_loop_waits_and_resends() {
        let error = post(answered(429, "[]")).unwrap_err();
        assert_eq!(error, BigCommerceError::RateLimited { reset_ms: 1500 });
    }

    #[test]
    fn a_failure_to_connect_is_returned_as_for_a_get() {
        let refused = BigCommerceError::Unreachable("connection refused".into());
        assert_eq!(
            post(failed(refused.clone(), Stage::Connect)),
            Err(refused.clone())
        );
        assert!(refused.is_retryable());
    }

    #[test]
    fn anything_lost_after_sending_is_outcome_unknown() {
        let timeout = BigCommerceError::Timeout { seconds: 20 };
        assert_eq!(
            reason(post(failed(timeout, Stage::Send))),
            "no answer within 20 s"
        );
        let reset = BigCommerceError::Unreachable("connection reset".into());
        assert_eq!(
            reason(post(failed(reset.clone(), Stage::Send))),
            "the connection was lost: connection reset"
        );
        assert_eq!(
            reason(post(failed(reset, Stage::Body))),
            "the answer was cut short: connection reset"
        );
    }

    #[test]
    fn a_5xx_after_a_write_is_outcome_unknown_with_bigcommerce_s_message() {
        assert_eq!(
            reason(post(answered(
                500,
                r#"[{"status":500,"message":"Internal Server Error"}]"#
            ))),
            "BigCommerce answered 500: Internal Server Error"
        );
        assert_eq!(
            reason(post(answered(503, "<html>"))),
            "BigCommerce answered 503"
        );
    }

    #[test]
    fn refusals_keep_their_meaning() {
        assert_eq!(
            post(answered(401, "[]")),
            Err(BigCommerceError::Unauthorized)
        );
        assert_eq!(post(answered(403, "[]")), Err(BigCommerceError::Forbidden));
        assert_eq!(post(answered(404, "[]")), Err(BigCommerceError::NotFound));
        assert_eq!(
            post(answered(
                400,
                r#"[{"status":400,"message":"The field 'billing_address.zip' is invalid."}]"#
            )),
            Err(BigCommerceError::Status {
                status: 400,
                message: "The field 'billing_address.zip' is invalid.".into()
            })
        );
    }

    #[test]
    fn a_get_keeps_its_transport_errors_and_5xx_so_the_policy_can_retry_them() {
        let timeout = BigCommerceError::Timeout { seconds: 5 };
        assert_eq!(
            read_result(failed(timeout.clone(), Stage::Send), None),
            Err(timeout)
        );
        assert!(matches!(
            read_result(answered(502, "[]"), None),
            Err(BigCommerceError::Status { status: 502, .. })
        ));
    }

    #[test]
    fn an_unreadable_success_is_outcome_unknown() {
        let why = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
        let error = unreadable_answer(&Method::PUT, "/v2/orders/100", StatusCode::OK, &why);
        assert!(error.is_outcome_unknown());
        assert!(error.to_string().contains("PUT /v2/orders/100"), "{error}");
    }
}
