//! `AppError`: the one error type handlers return. It picks the status, renders
//! `templates/errors/error.html` with a short message, and logs the cause chain once.

use actix_web::{HttpResponse, ResponseError, http::StatusCode, http::header};
use askama::Template;

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

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    layout: crate::web::render::Layout,
    status: u16,
    message: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Self::Unavailable(_) | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::LoginRequired { next } = self {
            let location = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        let status = self.status_code();
        let message = self.to_string();
        let page = ErrorPage {
            layout: crate::web::render::Layout::bare(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            message: &message,
        };
        let mut res = HttpResponse::build(status);
        match self {
            Self::TooMany { retry_after, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
            }
            Self::Busy => {
                res.insert_header((
                    header::RETRY_AFTER,
                    crate::accounts::passwords::RETRY_AFTER_SECS.to_string(),
                ));
            }
            _ => {}
        }
        res.content_type("text/html; charset=utf-8")
            .body(page.render().unwrap_or(message))
    }
}
