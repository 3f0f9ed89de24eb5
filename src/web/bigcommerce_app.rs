//! The single-click app's callbacks under `/bigcommerce/`: `auth` and `load` render inside
//! the BigCommerce control panel's iframe (so they, and only they, allow that framing), while
//! `uninstall` and `remove_user` are server-to-server. Also `iframe_headers`, the middleware
//! that makes the session cookie usable inside that third-party iframe. A session signed in
//! here reaches only the store's tenant; an existing account is linked in `bigcommerce_link`.

use actix_session::Session;
use actix_web::{
    Error, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
    web,
};
use askama::Template;
use serde::Deserialize;

use super::{
    bigcommerce_link::{LinkPage, PENDING_KEY, PendingInSession},
    render::Layout,
    session::{csrf_token, sign_in_to_app_tenant, sign_out_keeping_session},
};
use crate::{
    context::AppContext,
    db::{self, connections::ConnectionRow},
    domain::{Secret, StoreHash},
    error::AppError,
    oauth::app::{self as bc_app, AppOutcome, AppSession, AuthCallback, BcAppError},
};

/// The framing policy of the pages shown inside the BigCommerce control panel, for `store`:
/// BigCommerce's own origins (the control panel, `*.bigcommerce.com`) and that one store's
/// control-panel origin — never every merchant's storefront (`*.mybigcommerce.com`).
/// Everything else keeps the default `frame-ancestors 'none'`.
pub fn framed_csp(store: Option<&StoreHash>) -> String {
    let store = store
        .map(|s| format!(" https://store-{}.mybigcommerce.com", s.as_str()))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors https://*.bigcommerce.com{store}"
    )
}

/// Marks a response that set its own framing policy (see `iframe_headers`).
#[derive(Clone, Copy)]
struct Framable;

const PREFIX: &str = "/bigcommerce/";

#[derive(Deserialize)]
pub struct AuthQuery {
    code: Option<Secret>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    context: String,
    account_uuid: Option<String>,
}

#[derive(Deserialize)]
pub struct SignedQuery {
    signed_payload_jwt: Option<String>,
}

#[derive(Template)]
#[template(path = "bigcommerce/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    tenant_path: String,
    c: ConnectionRow,
    just_installed: bool,
    just_linked: bool,
}

#[derive(Template)]
#[template(path = "bigcommerce/refused.html")]
struct RefusedPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
}

/// A page that may be shown inside the control panel of `store` (if known).
pub fn framed(
    status: StatusCode,
    page: &impl Template,
    store: Option<&StoreHash>,
) -> Result<HttpResponse, AppError> {
    let mut res = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, framed_csp(store)))
        .body(page.render()?);
    res.extensions_mut().insert(Framable);
    Ok(res)
}

/// Bad signatures are 401, with nothing looked up or changed; other failures are explained.
pub fn refused(e: BcAppError) -> Result<HttpResponse, AppError> {
    let status = match e {
        BcAppError::NotConfigured => return Err(AppError::NotFound),
        BcAppError::BadSignature => StatusCode::UNAUTHORIZED,
        BcAppError::MissingCode | BcAppError::CodeRefused | BcAppError::LinkInvalid => {
            StatusCode::BAD_REQUEST
        }
        BcAppError::Exchange(_) => StatusCode::BAD_GATEWAY,
        BcAppError::UnknownStore | BcAppError::UnknownUser => StatusCode::NOT_FOUND,
        BcAppError::LastOwner => StatusCode::CONFLICT,
        BcAppError::NotAllowed(_) => StatusCode::FORBIDDEN,
        BcAppError::Account(e) => return Err(e.into()),
        BcAppError::Vault(_) | BcAppError::Mail(_) | BcAppError::Db(_) => {
            return Err(AppError::internal(e));
        }
    };
    let message = e.to_string();
    framed(
        status,
        &RefusedPage {
            layout: Layout::bare(status.canonical_reason().unwrap_or("Refused")),
            status: status.as_u16(),
            message: &message,
        },
        None,
    )
}

/// What `/auth` or `/load` led to: the dashboard, signed in to the store's tenant only, or
/// the "link your existing account" step.
async fn outcome(
    ctx: &AppContext,
    session: &Session,
    outcome: AppOutcome,
    just_installed: bool,
) -> Result<HttpResponse, AppError> {
    match outcome {
        AppOutcome::SignedIn(s) => dashboard(ctx, session, &s, just_installed, false).await,
        AppOutcome::NeedsProof {
            pending,
            email,
            connection_id,
            store_hash,
        } => {
            // Nobody is signed in until the account's owner proves it is theirs.
            sign_out_keeping_session(session);
            let pending = PendingInSession {
                pending,
                email: email.as_str().to_owned(),
                connection_id,
            };
            session
                .insert(PENDING_KEY, &pending)
                .map_err(AppError::internal)?;
            let page = LinkPage::new(csrf_token(session), &pending, None);
            framed(StatusCode::OK, &page, Some(&store_hash))
        }
    }
}

/// Signs the user in (to the store's tenant only) and shows the store's connection.
pub async fn dashboard(
    ctx: &AppContext,
    session: &Session,
    s: &AppSession,
    just_installed: bool,
    just_linked: bool,
) -> Result<HttpResponse, AppError> {
    sign_in_to_app_tenant(session, s.user_id, s.tenant_id)?;
    let c = db::connections::find(&ctx.db, s.tenant_id, s.connection_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = db::users::find(&ctx.db, s.user_id).await?;
    let mut layout = Layout::bare(&c.name);
    layout.user_email = user.map(|u| u.email);
    framed(
        StatusCode::OK,
        &DashboardPage {
            layout,
            tenant_path: format!("/t/{}", s.tenant_id),
            c,
            just_installed,
            just_linked,
        },
        Some(&s.store_hash),
    )
}

/// `GET /bigcommerce/auth`: install or re-install (answers HTML: it renders in the iframe).
pub async fn auth_callback(
    query: web::Query<AuthQuery>,
    session: Session,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    if ctx.bc_app.is_none() {
        return Err(AppError::NotFound);
    }
    let q = query.into_inner();
    let Some(code) = q.code.filter(|c| !c.expose().trim().is_empty()) else {
        return refused(BcAppError::MissingCode);
    };
    let cb = AuthCallback {
        code,
        scope: q.scope,
        context: q.context,
        account_uuid: q.account_uuid,
    };
    match bc_app::install(&ctx, &cb).await {
        Ok(o) => outcome(&ctx, &session, o, true).await,
        Err(e) => refused(e),
    }
}

/// `GET /bigcommerce/load`: opens the app inside the control panel.
pub async fn load_callback(
    query: web::Query<SignedQuery>,
    session: Session,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let jwt = query.into_inner().signed_payload_jwt.unwrap_or_default();
    match bc_app::load(&ctx, &jwt).await {
        Ok(o) => outcome(&ctx, &session, o, false).await,
        Err(e) => refused(e),
    }
}

/// `GET /bigcommerce/uninstall` (from BigCommerce's servers): 204 once done.
pub async fn uninstall_callback(
    query: web::Query<SignedQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let jwt = query.into_inner().signed_payload_jwt.unwrap_or_default();
    match bc_app::uninstall(&ctx, &jwt).await {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => refused(e),
    }
}

/// `GET /bigcommerce/remove_user` (from BigCommerce's servers): 204, or 409 for the last owner.
pub async fn remove_user_callback(
    query: web::Query<SignedQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let jwt = query.into_inner().signed_payload_jwt.unwrap_or_default();
    match bc_app::remove_user(&ctx, &jwt).await {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e @ BcAppError::LastOwner) => {
            Ok(HttpResponse::Conflict().json(serde_json::json!({ "error": e.to_string() })))
        }
        Err(e) => refused(e),
    }
}

/// For responses under `/bigcommerce/`: a page that set its own framing policy loses the
/// default `X-Frame-Options: DENY`, and — when the app is served over https — the session
/// cookie becomes `SameSite=None` (it is already `Secure`), so it is sent inside the
/// control panel's third-party iframe. Every other response is left alone (`SameSite=Lax`).
/// Must wrap the session middleware and the default security headers.
pub async fn iframe_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !req.path().starts_with(PREFIX) {
        return next.call(req).await;
    }
    let https = req
        .app_data::<web::Data<AppContext>>()
        .is_some_and(|ctx| ctx.is_https());
    let mut res = next.call(req).await?;
    if res.response().extensions().get::<Framable>().is_some() {
        let headers = res.headers_mut();
        headers.remove(header::X_FRAME_OPTIONS);
    }
    if https {
        let headers = res.headers_mut();
        let cookies: Vec<header::HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.replace("SameSite=Lax", "SameSite=None"))
            .filter_map(|v| header::HeaderValue::from_str(&v).ok())
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    Ok(res)
}
