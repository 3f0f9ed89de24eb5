//! Rendering helpers: the `Layout` every page template extends (navigation, flash messages,
//! CSRF token), `render` with a status, and `see_other` redirects.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, http::header};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::{db::tenants::MembershipRow, error::AppError};

/// A message shown once, on the next page, or on the page it was made for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `info` or `error` (a CSS class).
    pub kind: String,
    pub text: String,
    /// The path of the page this message belongs to; `None`: the next page shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
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
    /// The request's path, for the navigation's `aria-current`.
    pub path: String,
    /// Where an error page's Back link goes, and its text.
    pub back: Option<(String, String)>,
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

    /// The section of the current tenant the page is in: `""` (the dashboard),
    /// `connections`, `members`, `oauth-clients`, … (the first segment after `/t/{id}`).
    pub fn section(&self) -> &str {
        let Some(id) = self.current_tenant else {
            return "";
        };
        let prefix = format!("/t/{id}");
        match self.path.strip_prefix(&prefix) {
            Some(rest) => rest.trim_start_matches('/').split('/').next().unwrap_or(""),
            None => "",
        }
    }

    /// Whether the page is in `section` of the current tenant (the menu marks its link).
    pub fn in_section(&self, section: &str) -> bool {
        self.current_tenant.is_some() && self.section() == section
    }

    /// The `aria-current` value for the menu link to `section`: `page` on the section's own
    /// page, `true` on pages under it.
    pub fn aria_current(&self, section: &str) -> &'static str {
        let own = match self.current_tenant {
            Some(id) if section.is_empty() => format!("/t/{id}"),
            Some(id) => format!("/t/{id}/{section}"),
            None => String::new(),
        };
        if self.path.trim_end_matches('/') == own {
            "page"
        } else {
            "true"
        }
    }

    /// The page title as the browser shows it: "Page · cartbridge", or just "cartbridge".
    pub fn full_title(&self) -> String {
        if self.title.is_empty() || self.title == "cartbridge" {
            "cartbridge".to_owned()
        } else {
            format!("{} · cartbridge", self.title)
        }
    }

    /// A Unix timestamp for `<time datetime>` (RFC 3339, UTC); the script shows it in the
    /// viewer's own time zone and keeps the UTC time on hover.
    pub fn iso(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }

    /// A Unix timestamp as shown on pages (UTC).
    pub fn time(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

const FLASH_KEY: &str = "flash";

/// Messages kept for pages not shown yet; older ones are dropped past this.
const MAX_PENDING_FLASHES: usize = 10;

/// Queues a message for the next page this session renders.
pub fn flash(session: &Session, kind: &str, text: impl Into<String>) {
    push_flash(session, kind, text.into(), None);
}

/// Queues a message for the page at `path` only (the page a redirect leads to): another
/// page rendered first, say by a second tab or an abandoned request, does not show it.
pub fn flash_on(session: &Session, path: &str, kind: &str, text: impl Into<String>) {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    push_flash(session, kind, text.into(), Some(path.to_owned()));
}

fn push_flash(session: &Session, kind: &str, text: String, path: Option<String>) {
    let mut all: Vec<Flash> = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
    all.push(Flash {
        kind: kind.into(),
        text,
        path,
    });
    let excess = all.len().saturating_sub(MAX_PENDING_FLASHES);
    all.drain(..excess);
    if let Err(e) = session.insert(FLASH_KEY, all) {
        tracing::warn!(error = %e, "cannot store a flash message");
    }
}

/// The messages for the page at `path` (and those for whichever page comes next); messages
/// made for other pages stay queued for them.
pub fn take_flashes(session: &Session, path: &str) -> Vec<Flash> {
    let all: Vec<Flash> = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
    if all.is_empty() {
        return all;
    }
    let (shown, kept): (Vec<Flash>, Vec<Flash>) = all
        .into_iter()
        .partition(|f| f.path.as_deref().is_none_or(|p| p == path));
    if shown.is_empty() {
        return shown;
    }
    let stored = if kept.is_empty() {
        session.remove(FLASH_KEY);
        Ok(())
    } else {
        session.insert(FLASH_KEY, kept)
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, "cannot store flash messages");
    }
    shown
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
