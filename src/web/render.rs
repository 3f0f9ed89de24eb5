//! Rendering helpers: the `Layout` every page template extends (navigation, flash messages,
//! CSRF token), `render` with a status, `see_other` redirects and streamed CSV downloads.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, http::header};
use askama::Template;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{db::tenants::MembershipRow, domain::TimeZone, error::AppError};

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
    /// The zone times are shown in: the viewer's own, else the tenant's, else UTC.
    pub zone: TimeZone,
    /// Signed in without a chosen zone: the script sends the browser's zone once.
    pub zone_unset: bool,
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

    /// A Unix timestamp for `<time datetime>` (RFC 3339, UTC).
    pub fn iso(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }

    /// A Unix timestamp in UTC, for the hover title: "2026-12-01 12:06 UTC".
    pub fn utc(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }

    /// A Unix timestamp as shown on pages, in the viewer's zone: "2026-12-01 13:06 CET".
    pub fn time(&self, at: &i64) -> String {
        if self.zone == TimeZone::UTC {
            return self.utc(at);
        }
        chrono::DateTime::from_timestamp(*at, 0)
            .map(|t| {
                t.with_timezone(&self.zone.tz())
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The local time and the UTC one, for the title of a time shown in words.
    pub fn both(&self, at: &i64) -> String {
        if self.zone == TimeZone::UTC {
            self.utc(at)
        } else {
            format!("{} ({})", self.time(at), self.utc(at))
        }
    }

    /// A whole `<time>` element: UTC in `datetime` and on hover, the viewer's time as text.
    /// (Its content is made of digits and zone abbreviations only; templates use `|safe`.)
    pub fn stamp(&self, at: &i64) -> String {
        format!(
            r#"<time datetime="{}" title="{}">{}</time>"#,
            self.iso(at),
            self.utc(at),
            escape(&self.time(at))
        )
    }
}

/// Escapes text for HTML (for the few elements built in Rust).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
/// A CSV download named `file_name`, streamed from `chunks`. An error while streaming is
/// logged and cuts the response short (the status line has gone out already).
pub fn csv_attachment<E: std::fmt::Display>(
    file_name: &str,
    chunks: impl Stream<Item = Result<Bytes, E>> + 'static,
) -> HttpResponse {
    let chunks = chunks.map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "CSV export stopped");
            actix_web::error::ErrorInternalServerError("export failed")
        })
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .streaming(chunks)
}

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
