//! Rendering helpers: the `Layout` every page template extends (navigation, flash messages,
//! CSRF token), `render` with a status, and `see_other` redirects.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, http::header};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::{db::tenants::MembershipRow, error::AppError};

/// A message shown once on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `info` or `error` (a CSS class).
    pub kind: String,
    pub text: String,
}

/// What `templates/base.html` needs.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub flashes: Vec<Flash>,
    pub user_email: Option<String>,
    pub is_staff: bool,
    pub tenants: Vec<MembershipRow>,
    pub current_tenant: Option<i64>,
}

impl Layout {
    /// A layout without session data, for error pages rendered outside a handler.
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            ..Self::default()
        }
    }

    pub fn is_current(&self, tenant_id: &i64) -> bool {
        self.current_tenant == Some(*tenant_id)
    }

    /// A Unix timestamp as shown on pages (UTC).
    pub fn time(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

const FLASH_KEY: &str = "flash";

/// Queues a message for the next page this session renders.
pub fn flash(session: &Session, kind: &str, text: impl Into<String>) {
    let mut all: Vec<Flash> = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
    all.push(Flash {
        kind: kind.into(),
        text: text.into(),
    });
    if let Err(e) = session.insert(FLASH_KEY, all) {
        tracing::warn!(error = %e, "cannot store a flash message");
    }
}

pub fn take_flashes(session: &Session) -> Vec<Flash> {
    session
        .remove_as(FLASH_KEY)
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Renders a page with a status (422 for a form sent back with errors, for example).
pub fn render_with(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

pub fn render(page: &impl Template) -> Result<HttpResponse, AppError> {
    render_with(StatusCode::OK, page)
}

/// A 303 redirect, as answered after every successful POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Keeps only local paths as redirect targets (no `//host` or scheme), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.contains(['\r', '\n']) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/t/1/members")), "/t/1/members");
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "evil",
            "/x\r\nSet-Cookie: a",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
