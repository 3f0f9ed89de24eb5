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

/// Why a `next` was refused.
pub const NOT_LOCAL: &str = "The address to return to after logging in is not a page of this site. Open cartbridge from its own links and try again.";

/// Where to go after logging in: `next` if it is a path on our own origin, `/` if none was
/// given, and a 400 for anything else (never a redirect elsewhere, never a 500).
pub fn safe_next(next: Option<&str>) -> Result<String, AppError> {
    match next.filter(|n| !n.is_empty()) {
        None => Ok("/".to_owned()),
        Some(n) if is_local_path(n) => Ok(n.to_owned()),
        Some(_) => Err(AppError::BadRequest(NOT_LOCAL.into())),
    }
}

/// A relative reference to a path on our own origin: one leading `/` (not `//`), no control,
/// whitespace, invisible characters or backslashes anywhere, no empty segment or encoded
/// slash in the path, and the URL parser, resolving it against our origin, stays on it and
/// gives back exactly the same text (so no browser can read it as another host).
pub fn is_local_path(next: &str) -> bool {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    let plain = next.len() <= 2048
        && next.starts_with('/')
        && !path.contains("//")
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !next.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || c == '\\'
                || crate::domain::names::is_invisible(c)
        });
    if !plain {
        return false;
    }
    let Ok(base) = url::Url::parse("http://origin.invalid/") else {
        return false;
    };
    let Ok(joined) = base.join(next) else {
        return false;
    };
    let mut same = joined.path().to_owned();
    if let Some(q) = joined.query() {
        same.push('?');
        same.push_str(q);
    }
    if let Some(f) = joined.fragment() {
        same.push('#');
        same.push_str(f);
    }
    joined.origin() == base.origin() && same == next
}

#[cfg(test)]
mod tests {
    use super::{is_local_path, safe_next};

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(
            safe_next(Some("/t/1/members")).ok().as_deref(),
            Some("/t/1/members")
        );
        assert_eq!(
            safe_next(Some("/t/1?x=1#top")).ok().as_deref(),
            Some("/t/1?x=1#top")
        );
        assert_eq!(safe_next(None).ok().as_deref(), Some("/"));
        assert_eq!(safe_next(Some("")).ok().as_deref(), Some("/"));
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "evil",
            "/x\r\nSet-Cookie: a",
            "/\t/evil.example",
            "/\t\\evil.example",
            "/\u{1}",
            "/\u{7f}",
            "/./evil",
            "/a/../../evil",
            "/%2F/evil.example",
            "/ x",
            "/\u{202e}x",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
            assert!(safe_next(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
