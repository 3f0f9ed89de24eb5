//! What every page response gets on its way out: `Cache-Control: no-store` (so that Back
//! after logging out does not show the last account's page from the browser's cache), and
//! error pages (403, 404, …) rendered again with the viewer's own header and a Back link
//! to the section they were in. It must not change a response's status or a handler's own
//! caching headers.

use actix_web::{
    Error, HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use super::{extract::Viewer, render::Layout};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
}

/// The middleware (register it innermost, inside the session middleware).
pub async fn page_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let failure = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(AppError::LoginRequired { .. }) | None => None,
        Some(e) => Some((e.status_code(), e.to_string())),
    };
    let mut res = match failure {
        Some((status, message)) => {
            let (req, old) = res.into_parts();
            let page = error_page(&req, status, &message).await;
            let fresh = match page {
                Some(mut page) => {
                    // Keep what was set besides the body (e.g. a Retry-After).
                    for (name, value) in old.headers() {
                        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                            page.headers_mut().insert(name.clone(), value.clone());
                        }
                    }
                    page
                }
                None => old,
            };
            ServiceResponse::new(req, fresh)
        }
        _ => res,
    };
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

/// The error page for this viewer, or `None` to keep the plain one.
async fn error_page(
    req: &actix_web::HttpRequest,
    status: StatusCode,
    message: &str,
) -> Option<HttpResponse> {
    let viewer = Viewer::load(req).await.ok()?;
    viewer.user.as_ref()?;
    let mut layout = viewer.layout(status.canonical_reason().unwrap_or("Error"));
    let tenant =
        tenant_in_path(req.path()).filter(|id| viewer.tenants.iter().any(|m| m.tenant_id == *id));
    layout.current_tenant = tenant;
    layout.zone = viewer.zone(tenant);
    layout.back = Some(back_link(req.path(), tenant));
    let body = ErrorPage {
        layout,
        status: status.as_u16(),
        message,
    }
    .render()
    .ok()?;
    Some(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
    )
}

fn tenant_in_path(path: &str) -> Option<i64> {
    path.strip_prefix("/t/")?.split('/').next()?.parse().ok()
}

/// The section page above the one that failed (`/t/1/connections/9/edit` → Connections),
/// the tenant's dashboard, or the start for someone outside the tenant.
fn back_link(path: &str, tenant: Option<i64>) -> (String, String) {
    let Some(id) = tenant else {
        return ("/".into(), "Back to your dashboard".into());
    };
    let base = format!("/t/{id}");
    let rest = path.strip_prefix(&base).unwrap_or("").trim_matches('/');
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let section = parts.next();
    let deeper = parts.next().is_some();
    let label = |s: &str| match s {
        "connections" => Some("Connections"),
        "members" => Some("Members"),
        "oauth-clients" => Some("OAuth clients"),
        _ => None,
    };
    match section.and_then(|s| label(s).map(|l| (s, l))) {
        Some((s, l)) if deeper => (format!("{base}/{s}"), format!("Back to {l}")),
        _ => (base, "Back to the dashboard".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::back_link;

    #[test]
    fn back_goes_to_the_section_above_the_failed_page() {
        assert_eq!(
            back_link("/t/3/connections/new", Some(3)),
            ("/t/3/connections".into(), "Back to Connections".into())
        );
        assert_eq!(back_link("/t/3/connections", Some(3)).0, "/t/3");
        assert_eq!(back_link("/t/3/nope/x", Some(3)).0, "/t/3");
        assert_eq!(back_link("/t/4/connections/1", None).0, "/");
    }
}
