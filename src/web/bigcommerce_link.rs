//! "Link your existing account": when a BigCommerce payload names the email of an account
//! its identity (store + BigCommerce user id) is not linked to, its owner proves the
//! account is theirs — by logging in once from the app, or by following a link emailed to
//! that address — before the identity may sign in as them. Until then nobody is signed in.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::{
    bigcommerce_app::{dashboard, framed, refused},
    extract::{Viewer, client_address},
    render::{Layout, render},
    session::csrf_token,
};
use crate::{
    accounts::{self, AccountError},
    context::AppContext,
    db::bigcommerce_app::PendingLink,
    domain::{Email, Secret, StoreHash},
    error::AppError,
    oauth::{
        app::{AppSession, BcAppError},
        app_link as bc_app,
    },
};

/// Session key of the identity waiting to be linked.
pub const PENDING_KEY: &str = "bc_pending_link";

/// What the session remembers between the payload and the proof.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingInSession {
    pub pending: PendingLink,
    pub email: String,
    pub connection_id: i64,
}

#[derive(Template)]
#[template(path = "bigcommerce/link.html")]
pub struct LinkPage {
    layout: Layout,
    email: String,
    store_hash: String,
    error: Option<String>,
    sent: bool,
}

impl LinkPage {
    pub fn new(csrf: String, p: &PendingInSession, error: Option<String>) -> Self {
        let mut layout = Layout::bare("Link your existing account");
        layout.csrf = csrf;
        Self {
            layout,
            email: p.email.clone(),
            store_hash: p.pending.store_hash.clone(),
            error,
            sent: false,
        }
    }
}

fn pending(session: &Session) -> Result<(PendingInSession, StoreHash), AppError> {
    let missing = || {
        AppError::BadRequest(
            "Nothing is waiting to be linked in this browser. Open the app again from the BigCommerce control panel."
                .into(),
        )
    };
    let p: PendingInSession = session
        .get(PENDING_KEY)
        .ok()
        .flatten()
        .ok_or_else(missing)?;
    let store = StoreHash::parse(&p.pending.store_hash).map_err(|_| missing())?;
    Ok((p, store))
}

fn link_page(
    session: &Session,
    status: StatusCode,
    p: &PendingInSession,
    store: &StoreHash,
    error: Option<String>,
    sent: bool,
) -> Result<HttpResponse, AppError> {
    let mut page = LinkPage::new(csrf_token(session), p, error);
    page.sent = sent;
    framed(status, &page, Some(store))
}

#[derive(Deserialize)]
pub struct LinkForm {
    password: Secret,
}

/// `POST /bigcommerce/link`: the account's password, checked like any login (throttled,
/// bounded hashing); then the identity is linked and signed in to the store's tenant.
pub async fn link_by_login(
    session: Session,
    req: HttpRequest,
    form: web::Form<LinkForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (p, store) = pending(&session)?;
    let user = match accounts::login(&ctx, &p.email, &form.password, &client_address(&req)).await {
        Ok(user) => user,
        Err(e @ (AccountError::InvalidCredentials | AccountError::Unverified)) => {
            let status = match e {
                AccountError::Unverified => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = match e {
                AccountError::Unverified => "This account's email is not confirmed yet, so it cannot be linked by password. Use the emailed confirmation link below.".to_owned(),
                other => other.to_string(),
            };
            return link_page(&session, status, &p, &store, Some(message), false);
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = bc_app::link_after_login(&ctx, &p.pending, user.id).await {
        return refused(e);
    }
    session.remove(PENDING_KEY);
    let s = AppSession {
        tenant_id: p.pending.tenant_id,
        connection_id: p.connection_id,
        user_id: user.id,
        store_hash: store,
    };
    dashboard(&ctx, &session, &s, false, true).await
}

/// `POST /bigcommerce/link/email`: mails the account's address a one-time confirmation link.
pub async fn link_by_email(
    session: Session,
    req: HttpRequest,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (p, store) = pending(&session)?;
    let email = Email::parse(&p.email).map_err(|e| AppError::BadRequest(e.to_string()))?;
    match bc_app::send_link_confirmation(&ctx, &p.pending, &email, &client_address(&req)).await {
        Ok(()) => link_page(&session, StatusCode::OK, &p, &store, None, true),
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "bigcommerce/confirm_link.html")]
struct ConfirmPage {
    layout: Layout,
    token: String,
    store_hash: String,
    done: bool,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /bigcommerce/link/confirm`: a button, so that mail scanners cannot use the link up.
pub async fn confirm_page(
    viewer: Viewer,
    query: web::Query<TokenQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    let pending = match bc_app::check_link_token(&ctx, &token).await {
        Ok(p) => p,
        Err(e) => return Err(AppError::BadRequest(e.to_string())),
    };
    render(&ConfirmPage {
        layout: viewer.layout("Link a BigCommerce user"),
        token,
        store_hash: pending.store_hash,
        done: false,
    })
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

/// `POST /bigcommerce/link/confirm`: links the identity (once). Signs nobody in: the next
/// app load from BigCommerce does.
pub async fn confirm(
    viewer: Viewer,
    form: web::Form<TokenForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let pending = match bc_app::confirm_link(&ctx, &form.token).await {
        Ok(p) => p,
        Err(BcAppError::LinkInvalid) => {
            return Err(AppError::BadRequest(BcAppError::LinkInvalid.to_string()));
        }
        Err(e) => return Err(AppError::internal(e)),
    };
    render(&ConfirmPage {
        layout: viewer.layout("Linked"),
        token: String::new(),
        store_hash: pending.store_hash,
        done: true,
    })
}
