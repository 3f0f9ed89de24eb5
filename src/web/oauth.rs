//! Connect to BigCommerce, over HTTP: `GET /t/{tenant}/connections/{id}/connect` keeps the
//! pending Connect in the session and redirects to BigCommerce's consent page (a plain GET
//! link: the CSP's `form-action 'self'` forbids a form that redirects off-site);
//! `GET /oauth/callback` takes the pending Connect out of the session (single-use) and lets
//! `oauth::connect` finish it. Every refusal renders a page saying nothing was changed.

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;

use super::{
    extract::{CurrentTenant, CurrentUser},
    render::{Layout, flash, render_with, see_other},
};
use crate::{
    accounts::members::Actor,
    context::AppContext,
    db,
    domain::Role,
    error::AppError,
    oauth::connect::{self, CallbackParams, ConnectError, PendingConnect},
};

/// Session key of the Connect in progress (at most one per session).
const PENDING_KEY: &str = "oauth_state";

#[derive(Template)]
#[template(path = "oauth/error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
    back: Option<String>,
}

/// A refused Connect as a page; unexpected failures go to the generic error handling.
fn refused(
    layout: Layout,
    back: Option<String>,
    e: ConnectError,
) -> Result<HttpResponse, AppError> {
    let status = match &e {
        ConnectError::NotFound => return Err(AppError::NotFound),
        ConnectError::NotAllowed(msg) => return Err(AppError::Forbidden(msg.clone())),
        ConnectError::OAuthClient(o) => return Err(AppError::BadRequest(o.to_string())),
        ConnectError::Vault(_) | ConnectError::Db(_) => return Err(AppError::internal(e)),
        ConnectError::ConnectionChanged => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::info!(reason = %e, "connect refused");
    let mut layout = layout;
    layout.title = "Connect to BigCommerce".into();
    render_with(
        status,
        &ErrorPage {
            layout,
            message: e.to_string(),
            back,
        },
    )
}

pub async fn connect(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let id = path.1;
    match connect::start(&ctx, &tenant.actor, id).await {
        Ok(auth) => {
            tenant
                .viewer
                .session
                .insert(PENDING_KEY, &auth.pending)
                .map_err(AppError::internal)?;
            Ok(HttpResponse::Found()
                .insert_header((header::LOCATION, auth.url.as_str()))
                .finish())
        }
        Err(e) => {
            let back = tenant.path(&format!("/connections/{id}"));
            refused(tenant.layout("Connect to BigCommerce"), Some(back), e)
        }
    }
}

/// The signed-in user acting in `tenant_id`, if they are still a member there.
fn actor_in(user: &CurrentUser, tenant_id: i64) -> Option<Actor> {
    let membership = user
        .viewer
        .tenants
        .iter()
        .find(|m| m.tenant_id == tenant_id)?;
    Some(Actor {
        tenant_id,
        tenant_name: membership.tenant_name.clone(),
        user_id: user.user.id,
        email: user.user.email.clone(),
        role: Role::parse(&membership.role).ok()?,
    })
}

pub async fn callback(
    user: CurrentUser,
    query: web::Query<CallbackParams>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let session = &user.viewer.session;
    // Taken out before anything else: a state works once, whatever happens next.
    let pending: Option<PendingConnect> = session.remove_as(PENDING_KEY).and_then(Result::ok);
    let layout = || user.viewer.layout("Connect to BigCommerce");
    let pending = match connect::check_state(pending, query.state.as_deref(), db::now()) {
        Ok(p) => p,
        Err(e) => return refused(layout(), None, e),
    };
    let back = format!(
        "/t/{}/connections/{}",
        pending.tenant_id, pending.connection_id
    );
    let Some(actor) = actor_in(&user, pending.tenant_id) else {
        return refused(layout(), None, ConnectError::UnknownState);
    };
    match connect::finish(&ctx, &actor, &pending, &query).await {
        Ok(done) => {
            let (kind, text) = match (&done.report.store, &done.report.problem) {
                (Some(info), _) => (
                    "success",
                    format!(
                        "“{}” is connected to BigCommerce: {} ({}).",
                        done.name, info.name, info.domain
                    ),
                ),
                (None, problem) => (
                    "error",
                    format!(
                        "“{}” is connected to BigCommerce, but the test failed: {}",
                        done.name,
                        problem.as_deref().unwrap_or("unknown problem")
                    ),
                ),
            };
            flash(session, kind, text);
            Ok(see_other(&back))
        }
        Err(e) => refused(layout(), Some(back), e),
    }
}
