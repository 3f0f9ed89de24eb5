//! How an [`AppError`] reaches the browser: its status, `Retry-After` where it has one, a
//! redirect to the login page, or `templates/errors/error.html` with the short message.
//! The cause chain of an internal error is logged here, once.

use actix_web::{HttpResponse, ResponseError, http::StatusCode, http::header};
use askama::Template;

use crate::error::AppError;

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    layout: super::render::Layout,
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
            layout: super::render::Layout::bare(status.canonical_reason().unwrap_or("Error")),
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
