//! RFC 9457 problem details (`application/problem+json`) for every `/api/v1` error:
//! `type`, `title`, `status`, `detail`, and `errors` (field → messages) on a 422.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, ResponseError, http::StatusCode, http::header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{db::DbError, partner_api::keys::AuthFailure};

/// A problem details object (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem (documented at `/api/docs`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For 422: the messages per query parameter or field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// What an API handler can answer instead of data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized(AuthFailure),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The path exists for these methods (the `Allow` header).
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("invalid input")]
    Invalid(BTreeMap<String, Vec<String>>),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 422 with one message for one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    fn problem(&self) -> Problem {
        let (slug, title, detail) = match self {
            Self::Unauthorized(why) => (
                "unauthorized",
                "Unauthorized",
                match why {
                    AuthFailure::Missing => {
                        "Send your API key in the header Authorization: Bearer cbk_…"
                    }
                    AuthFailure::Malformed => {
                        "The Authorization header does not hold a cartbridge API key (Bearer cbk_…)."
                    }
                    AuthFailure::Unknown => "This API key is not valid.",
                    AuthFailure::Revoked => "This API key has been revoked.",
                }
                .to_owned(),
            ),
            Self::Forbidden(d) => ("forbidden", "Forbidden", d.clone()),
            Self::NotFound => (
                "not-found",
                "Not Found",
                "There is no such resource for this API key.".to_owned(),
            ),
            Self::Conflict(d) => ("conflict", "Conflict", d.clone()),
            Self::MethodNotAllowed(allow) => (
                "method-not-allowed",
                "Method Not Allowed",
                format!("This path answers {allow}."),
            ),
            Self::Invalid(_) => (
                "invalid-request",
                "Unprocessable Content",
                "Some parameters are not valid; see errors.".to_owned(),
            ),
            Self::Internal(_) => (
                "internal",
                "Internal Server Error",
                "Something went wrong on our side. It has been logged; please try again.".to_owned(),
            ),
        };
        Problem {
            kind: format!("/api/docs#problem-{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                Self::Invalid(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Internal(other.into()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "API request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.content_type("application/problem+json");
        match self {
            Self::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"cartbridge\""));
            }
            Self::MethodNotAllowed(allow) => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}
