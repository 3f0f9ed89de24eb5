//! Accepting an invitation from its emailed link: as the signed-in invitee, or by creating
//! the invitee's account with a password.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::Viewer,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
    session::sign_in,
};
use crate::{
    accounts::members,
    context::AppContext,
    db::{self, tenants::InvitationRow},
    domain::{Password, Secret},
    error::AppError,
};

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    layout: Layout,
    token: String,
    invitation: InvitationRow,
    /// The signed-in user's email, if any.
    signed_in_as: Option<String>,
    has_account: bool,
    login_link: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

async fn page(
    viewer: &Viewer,
    ctx: &AppContext,
    token: String,
    errors: FormErrors,
) -> Result<AcceptPage, AppError> {
    let invitation = members::find_invitation(ctx, &token).await?;
    let has_account = db::users::find_by_email(&ctx.db, &invitation.email)
        .await?
        .is_some();
    let next = format!("/invitations/accept?token={token}");
    let login_link = format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    Ok(AcceptPage {
        layout: viewer.layout("Join a company"),
        token,
        invitation,
        signed_in_as: viewer.user.as_ref().map(|u| u.email.clone()),
        has_account,
        login_link,
        errors,
    })
}

pub async fn accept_page(
    viewer: Viewer,
    query: web::Query<TokenQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    render(&page(&viewer, &ctx, token, FormErrors::default()).await?)
}

#[derive(Deserialize)]
pub struct AcceptForm {
    token: String,
    password: Option<Secret>,
}

pub async fn accept(
    viewer: Viewer,
    form: web::Form<AcceptForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let user_id = match (&viewer.user, &form.password) {
        (Some(user), _) => members::accept_as(&ctx, &form.token, user).await?,
        (None, Some(password)) => {
            let invitation = members::find_invitation(&ctx, &form.token).await?;
            match Password::parse(password.clone(), &invitation.email) {
                Ok(password) => members::accept_new(&ctx, &form.token, &password).await?,
                Err(e) => {
                    let mut errors = FormErrors::default();
                    errors.add("password", e.to_string());
                    let page = page(&viewer, &ctx, form.token.clone(), errors).await?;
                    return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
                }
            }
        }
        (None, None) => {
            return Err(AppError::BadRequest(
                "Log in, or choose a password, to accept the invitation.".into(),
            ));
        }
    };
    if viewer.user.is_none() {
        sign_in(&viewer.session, user_id)?;
    }
    flash(
        &viewer.session,
        "success",
        "Welcome aboard: you have joined the company.",
    );
    Ok(see_other("/"))
}
