//! `BigCommerceError`: what a call to BigCommerce can end in.

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
}
