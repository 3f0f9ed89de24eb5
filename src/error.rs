//! `AppError`: the one error type handlers return, and how each layer's errors map to it.
//! How it is shown (status, page, headers) is `web::error_page`'s business.

use crate::{accounts::AccountError, db::DbError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("We couldn't find that page.")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Please log in to continue.")]
    LoginRequired { next: String },
    #[error(
        "This form has expired or did not come from cartbridge. Go back, reload the page and try again."
    )]
    Csrf,
    #[error("{0}")]
    Unavailable(String),
    /// A rate limit: 429 with `Retry-After` (seconds).
    #[error("{message}")]
    TooMany { message: String, retry_after: i64 },
    /// Overloaded (every core hashing a password): 503 with `Retry-After`, answered at once.
    #[error("cartbridge is busy right now. Try again in a few seconds.")]
    Busy,
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Db(DbError::NotFound) => Self::NotFound,
            AccountError::Db(db) => Self::Internal(db.into()),
            AccountError::Internal(e) => Self::Internal(e),
            AccountError::NotAllowed(msg) => Self::Forbidden(msg),
            e @ AccountError::Mail(_) => {
                tracing::error!(error = ?e, "email delivery failed");
                Self::Unavailable(e.to_string())
            }
            AccountError::RateLimited {
                message,
                retry_after,
            } => Self::TooMany {
                message,
                retry_after,
            },
            e @ AccountError::Throttled { minutes } => Self::TooMany {
                message: e.to_string(),
                retry_after: minutes * 60,
            },
            AccountError::Busy(_) => Self::Busy,
            other => Self::BadRequest(other.to_string()),
        }
    }
}
