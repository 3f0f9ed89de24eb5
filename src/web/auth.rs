//! Signup, email verification, login, logout and password reset pages.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::{Viewer, client_address},
    forms::FormErrors,
    render::{Layout, flash, render, render_with, safe_next, see_other},
    session::sign_in,
};
use crate::{
    accounts::{self, AccountError},
    context::AppContext,
    db::tokens::Purpose,
    domain::{CompanyName, Email, Password, Secret},
    error::AppError,
};

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    layout: Layout,
    email: String,
    company: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct SignupForm {
    email: String,
    password: Secret,
    company: String,
}

pub async fn signup_page(viewer: Viewer) -> Result<HttpResponse, AppError> {
    if viewer.user.is_some() {
        return Ok(see_other("/"));
    }
    render(&SignupPage {
        layout: viewer.layout("Sign up"),
        email: String::new(),
        company: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn signup(
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<SignupForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FormErrors::default();
    let email = errors.check("email", Email::parse(&form.email));
    let company = errors.check("company", CompanyName::parse(&form.company));
    let password = errors.check(
        "password",
        Password::parse(form.password.clone(), &form.email.trim().to_lowercase()),
    );
    let outcome = match (email, company, password) {
        (Some(email), Some(company), Some(password)) => {
            match accounts::signup(&ctx, &email, &password, &company, &client_address(&req)).await {
                Ok(_) => Ok(email),
                Err(AccountError::EmailTaken) => {
                    errors.add("email", AccountError::EmailTaken.to_string());
                    Err(errors)
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => Err(errors),
    };
    match outcome {
        Ok(email) => {
            viewer
                .session
                .insert("pending_email", email.as_str())
                .map_err(AppError::internal)?;
            Ok(see_other("/signup/check-email"))
        }
        Err(errors) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage {
                layout: viewer.layout("Sign up"),
                email: form.email.trim().to_owned(),
                company: form.company.trim().to_owned(),
                errors,
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "auth/check_email.html")]
struct CheckEmailPage {
    layout: Layout,
    email: String,
}

pub async fn check_email(viewer: Viewer) -> Result<HttpResponse, AppError> {
    let email = viewer
        .session
        .get::<String>("pending_email")
        .ok()
        .flatten()
        .unwrap_or_default();
    render(&CheckEmailPage {
        layout: viewer.layout("Check your email"),
        email,
    })
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn resend_verification(
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<EmailForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    match Email::parse(&form.email) {
        Ok(email) => {
            accounts::resend_verification(&ctx, &email, &client_address(&req)).await?;
            viewer
                .session
                .insert("pending_email", email.as_str())
                .map_err(AppError::internal)?;
            flash(
                &viewer.session,
                "info",
                "If that address has an unconfirmed account, a new link is on its way.",
            );
        }
        Err(e) => flash(&viewer.session, "error", e.to_string()),
    }
    Ok(see_other("/signup/check-email"))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/verify.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
    email: String,
    /// The link was used already: the address is confirmed; offer to log in.
    already: bool,
}

/// The answer to a verification link that was used already (a second click, a mail
/// scanner): the address is confirmed, so say so and offer to log in.
fn already_confirmed(viewer: &Viewer) -> Result<HttpResponse, AppError> {
    render(&VerifyPage {
        layout: viewer.layout("Email already confirmed"),
        token: String::new(),
        email: String::new(),
        already: true,
    })
}

/// Shows a button that confirms the address: the GET changes nothing, so link scanners in
/// mail systems cannot use the link up.
pub async fn verify_page(
    viewer: Viewer,
    query: web::Query<TokenQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    let user = match accounts::check_token(&ctx, &token, &[Purpose::VerifyEmail]).await {
        Err(AccountError::TokenUsed) => return already_confirmed(&viewer),
        other => other?,
    };
    render(&VerifyPage {
        layout: viewer.layout("Confirm your email"),
        token,
        email: user.email,
        already: false,
    })
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

pub async fn verify(
    viewer: Viewer,
    form: web::Form<TokenForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let user_id = match accounts::verify_email(&ctx, &form.token).await {
        Err(AccountError::TokenUsed) => return already_confirmed(&viewer),
        other => other?,
    };
    flash(
        &viewer.session,
        "success",
        "Your email is confirmed. You can log in now.",
    );
    // Land on the login form with the address filled in.
    let email = crate::db::users::find(&ctx.db, user_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", &email)
        .finish();
    Ok(see_other(&format!("/login?{query}")))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    unverified: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Prefills the email field (after confirming an address).
    email: Option<String>,
}

pub async fn login_page(
    viewer: Viewer,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref())?;
    if viewer.user.is_some() {
        return Ok(see_other(&next));
    }
    render(&LoginPage {
        layout: viewer.layout("Log in"),
        email: query
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| e.len() <= 254)
            .unwrap_or_default()
            .to_owned(),
        next,
        error: None,
        unverified: false,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: Secret,
    next: Option<String>,
}

pub async fn login(
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<LoginForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(form.next.as_deref())?;
    match accounts::login(&ctx, &form.email, &form.password, &client_address(&req)).await {
        Ok(user) => {
            sign_in(&viewer.session, user.id)?;
            let target = if next == "/" && user.is_staff {
                "/admin".to_owned()
            } else {
                next
            };
            Ok(see_other(&target))
        }
        Err(
            e @ (AccountError::InvalidCredentials
            | AccountError::Unverified
            | AccountError::Locked
            | AccountError::Throttled { .. }),
        ) => {
            let status = match e {
                AccountError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                AccountError::Locked => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let page = LoginPage {
                layout: viewer.layout("Log in"),
                email: form.email.trim().to_owned(),
                next,
                unverified: matches!(e, AccountError::Unverified),
                error: Some(e.to_string()),
            };
            render_with(status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(viewer: Viewer) -> HttpResponse {
    viewer.session.purge();
    see_other("/login")
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

pub async fn forgot_page(viewer: Viewer) -> Result<HttpResponse, AppError> {
    render(&ForgotPage {
        layout: viewer.layout("Reset your password"),
        email: String::new(),
        error: None,
    })
}

pub async fn forgot(
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<EmailForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let page = ForgotPage {
                layout: viewer.layout("Reset your password"),
                email: form.email.clone(),
                error: Some(e.to_string()),
            };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    accounts::request_password_reset(&ctx, &email, &client_address(&req)).await?;
    flash(
        &viewer.session,
        "info",
        format!("If {email} has an account, we sent it a link to choose a new password."),
    );
    Ok(see_other("/login"))
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    email: String,
    errors: FormErrors,
}

pub async fn reset_page(
    viewer: Viewer,
    query: web::Query<TokenQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    let user = accounts::check_token(
        &ctx,
        &token,
        &[Purpose::ResetPassword, Purpose::SetPassword],
    )
    .await?;
    render(&ResetPage {
        layout: viewer.layout("Choose a new password"),
        token,
        email: user.email,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    password: Secret,
}

pub async fn reset(
    viewer: Viewer,
    form: web::Form<ResetForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let user = accounts::check_token(
        &ctx,
        &form.token,
        &[Purpose::ResetPassword, Purpose::SetPassword],
    )
    .await?;
    let password = match Password::parse(form.password.clone(), &user.email) {
        Ok(p) => p,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("password", e.to_string());
            let page = ResetPage {
                layout: viewer.layout("Choose a new password"),
                token: form.token.clone(),
                email: user.email,
                errors,
            };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // This also ends every session of the user, the current one included if it was theirs.
    accounts::reset_password(&ctx, &form.token, &password).await?;
    flash(
        &viewer.session,
        "success",
        "Your password is set. Log in with it now.",
    );
    Ok(see_other("/login"))
}
