//! Accounts: signup (a tenant and its owner), email verification, login with throttling,
//! password reset, staff accounts. Memberships and invitations are in `members.rs`.
//! Takes parsed domain values; knows nothing of HTTP.

use crate::{
    context::AppContext,
    db::{self, DbError, tokens::Purpose, users::UserRow},
    domain::{CompanyName, Email, Password, Secret},
    mailer::{self, MailError, messages},
};

pub mod limits;
pub mod members;
pub mod passwords;
pub mod profile;
pub mod throttle;
pub mod tokens;

/// How long links stay valid.
pub const VERIFY_TTL_SECS: i64 = 48 * 3600;
pub const RESET_TTL_SECS: i64 = 60 * 60;
pub const SET_PASSWORD_TTL_SECS: i64 = 72 * 3600;
/// Login throttling (the rule is in `throttle`).
pub use throttle::{FAILURE_WINDOW_SECS, MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP};
/// The longest email kept as a login throttle key (longer input cannot be an account).
const MAX_LOGIN_KEY_CHARS: usize = 254;

/// What went wrong in an account operation; `Display` is what the user is told.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "An account with this email already exists. Log in, or reset your password if you forgot it."
    )]
    EmailTaken,
    #[error("Wrong email or password.")]
    InvalidCredentials,
    #[error("This account is locked. Contact support to have it unlocked.")]
    Locked,
    #[error("Please confirm your email address first: we sent you a link when you signed up.")]
    Unverified,
    #[error(
        "Too many failed attempts. Wait {minutes} minute(s) before trying again, or reset your password."
    )]
    Throttled { minutes: i64 },
    #[error("This link is not valid. Check that you copied the whole link, or ask for a new one.")]
    TokenInvalid,
    #[error("This link has expired. Ask for a new one.")]
    TokenExpired,
    #[error("This link has already been used. Ask for a new one if you still need it.")]
    TokenUsed,
    #[error("{0}")]
    NotAllowed(String),
    /// A per-address or per-recipient limit was reached; `retry_after` in seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after: i64 },
    /// Every core is hashing a password and the queue is full.
    #[error(transparent)]
    Busy(#[from] passwords::Busy),
    #[error("We could not send the email. Try again in a few minutes.")]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A new password's hash, through the process-wide bound on hashing.
async fn hash(ctx: &AppContext, password: &Password) -> Result<String, AccountError> {
    Ok(ctx.hasher.hash(password).await??)
}

/// Creates a tenant named `company` with a new, unverified owner and emails the
/// verification link. Limited per client address and per recipient before any hashing.
#[tracing::instrument(skip_all)]
pub async fn signup(
    ctx: &AppContext,
    email: &Email,
    password: &Password,
    company: &CompanyName,
    ip: &str,
) -> Result<i64, AccountError> {
    // Overloaded: refuse before writing anything (a flood then costs next to nothing).
    if ctx.hasher.is_full() {
        return Err(passwords::Busy.into());
    }
    limits::by_address(ctx, limits::Action::Signup, ip).await?;
    let mail = limits::by_recipient(ctx, limits::Mail::Verification, email).await?;
    let password_hash = match hash(ctx, password).await {
        Ok(h) => h,
        Err(e) => {
            mail.release(ctx).await;
            return Err(e);
        }
    };
    let (token, token_hash) = tokens::generate();
    let link = ctx.link("/verify-email", &token);
    let message = messages::verify_email(email, &link, company.as_str());
    let job = match mailer::prepare(ctx, message).await {
        Ok(job) => job,
        Err(e) => {
            mail.release(ctx).await;
            return Err(e.into());
        }
    };
    let new = db::tenants::NewOwner {
        company: company.as_str(),
        email: email.as_str(),
        password_hash: &password_hash,
        verify_token_hash: &token_hash,
        verify_expires_at: db::now() + VERIFY_TTL_SECS,
    };
    let (tenant_id, user_id) =
        match db::tenants::create_with_owner_and_email(&ctx.db, &new, &job).await {
            Err(DbError::Conflict) => {
                mail.release(ctx).await;
                return Err(AccountError::EmailTaken);
            }
            other => other?,
        };
    crate::jobs::wake();
    tracing::info!(tenant_id, user_id, "signed up");
    Ok(user_id)
}

/// Sends a fresh verification link if `email` belongs to an unverified account. Says nothing
/// either way, so it cannot be used to probe for accounts (the limits count every request).
pub async fn resend_verification(
    ctx: &AppContext,
    email: &Email,
    ip: &str,
) -> Result<(), AccountError> {
    limits::by_address(ctx, limits::Action::ResendVerification, ip).await?;
    limits::by_recipient(ctx, limits::Mail::Verification, email).await?;
    let Some(user) = db::users::find_by_email(&ctx.db, email.as_str()).await? else {
        return Ok(());
    };
    if user.email_verified_at.is_some() || user.is_staff {
        return Ok(());
    }
    send_verification(ctx, &user, email).await
}

/// Emails `user` (unverified) a fresh verification link, limited per recipient (a support
/// "resend" goes through here too, so nobody can flood the inbox).
pub async fn send_verification_by_staff(
    ctx: &AppContext,
    user: &UserRow,
    email: &Email,
) -> Result<(), AccountError> {
    if user.email_verified_at.is_some() {
        return Err(AccountError::NotAllowed(
            "This address is confirmed already.".into(),
        ));
    }
    limits::by_recipient(ctx, limits::Mail::Verification, email).await?;
    send_verification(ctx, user, email).await
}

async fn send_verification(
    ctx: &AppContext,
    user: &UserRow,
    email: &Email,
) -> Result<(), AccountError> {
    let (token, token_hash) = tokens::generate();
    let first = db::tenants::memberships_of(&ctx.db, user.id)
        .await?
        .into_iter()
        .next();
    let tenant_id = first.as_ref().map(|m| m.tenant_id);
    let company = first.map(|m| m.tenant_name).unwrap_or_default();
    let link = ctx.link("/verify-email", &token);
    let token = NewToken {
        user_id: user.id,
        purpose: Purpose::VerifyEmail,
        token_hash: &token_hash,
        expires_at: db::now() + VERIFY_TTL_SECS,
    };
    let message = messages::verify_email(email, &link, &company);
    store_token_and_email(ctx, &token, tenant_id, message).await
}

/// A one-time token about to be stored (its hash) and sent.
struct NewToken<'a> {
    user_id: i64,
    purpose: Purpose,
    token_hash: &'a str,
    expires_at: i64,
}

/// Stores `token` and queues `message`, the email carrying its link, in one transaction,
/// filed under `tenant_id` (the user's first tenant). An account without a tenant (staff
/// only) has no tenant to file a job under: its email is sent at once, after the token is
/// stored.
async fn store_token_and_email(
    ctx: &AppContext,
    token: &NewToken<'_>,
    tenant_id: Option<i64>,
    message: mailer::OutgoingEmail,
) -> Result<(), AccountError> {
    let NewToken {
        user_id,
        purpose,
        token_hash,
        expires_at,
    } = *token;
    let Some(tenant_id) = tenant_id else {
        db::tokens::insert(&ctx.db, user_id, purpose, token_hash, expires_at).await?;
        return Ok(ctx.mailer.send(message).await?);
    };
    let job = mailer::prepare(ctx, message).await?;
    db::tokens::insert_with_email(
        &ctx.db, user_id, purpose, token_hash, expires_at, tenant_id, &job,
    )
    .await?;
    crate::jobs::wake();
    Ok(())
}

/// Explains why a token could not be consumed.
async fn token_problem(ctx: &AppContext, token: &str, purposes: &[Purpose]) -> AccountError {
    match db::tokens::find(&ctx.db, &tokens::hash(token)).await {
        Ok(Some(row)) if purposes.iter().any(|p| p.as_str() == row.purpose) => {
            if row.used_at.is_some() {
                AccountError::TokenUsed
            } else if row.expires_at <= db::now() {
                AccountError::TokenExpired
            } else {
                AccountError::TokenInvalid
            }
        }
        Ok(_) => AccountError::TokenInvalid,
        Err(e) => e.into(),
    }
}

/// Checks a token without using it (to show the form it leads to).
pub async fn check_token(
    ctx: &AppContext,
    token: &str,
    purposes: &[Purpose],
) -> Result<UserRow, AccountError> {
    match db::tokens::find(&ctx.db, &tokens::hash(token)).await? {
        Some(row)
            if row.used_at.is_none()
                && row.expires_at > db::now()
                && purposes.iter().any(|p| p.as_str() == row.purpose) =>
        {
            db::users::find(&ctx.db, row.user_id)
                .await?
                .ok_or(AccountError::TokenInvalid)
        }
        _ => Err(token_problem(ctx, token, purposes).await),
    }
}

/// Marks the email of the token's user verified.
pub async fn verify_email(ctx: &AppContext, token: &str) -> Result<i64, AccountError> {
    let purposes = [Purpose::VerifyEmail];
    match db::tokens::consume(&ctx.db, &purposes, &tokens::hash(token)).await? {
        Some(user_id) => {
            tracing::info!(user_id, "email verified");
            Ok(user_id)
        }
        None => Err(token_problem(ctx, token, &purposes).await),
    }
}

/// Checks credentials, throttling failures per email and per client address (the rule is
/// in `throttle`). The attempt is recorded before the password is checked, so concurrent
/// attempts cannot all pass the limit; it is taken back if it was refused or right.
pub async fn login(
    ctx: &AppContext,
    raw_email: &str,
    password: &Secret,
    ip: &str,
) -> Result<UserRow, AccountError> {
    let key: String = raw_email
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_LOGIN_KEY_CHARS + 1)
        .collect();
    if ctx.hasher.is_full() {
        return Err(passwords::Busy.into());
    }
    let now = db::now();
    let attempt = db::login_attempts::record(&ctx.db, &key, ip).await?;
    let recent = db::login_attempts::recent(
        &ctx.db,
        &key,
        ip,
        now - FAILURE_WINDOW_SECS,
        now - throttle::HOUR_SECS,
    )
    .await?;
    if let Some(wait) = throttle::wait(&recent, now) {
        db::login_attempts::forget(&ctx.db, attempt).await?;
        tracing::warn!(ip, "login throttled");
        return Err(AccountError::Throttled {
            minutes: (wait + 59) / 60,
        });
    }
    let user = match Email::parse(&key) {
        Ok(email) => db::users::find_by_email(&ctx.db, email.as_str()).await?,
        Err(_) => None,
    };
    let stored = match &user {
        Some(u) => db::users::password_hash(&ctx.db, u.id).await?,
        None => None,
    };
    let right = match ctx.hasher.verify(password, stored).await {
        Ok(right) => right,
        Err(busy) => {
            db::login_attempts::forget(&ctx.db, attempt).await?;
            return Err(busy.into());
        }
    };
    if !right {
        if let Some(u) = &user {
            audit_user_event(ctx, u.id, "login.failed", ip).await?;
        }
        return Err(AccountError::InvalidCredentials);
    }
    db::login_attempts::forget(&ctx.db, attempt).await?;
    let user = user.ok_or(AccountError::InvalidCredentials)?;
    if db::users::locked_at(&ctx.db, user.id).await?.is_some() {
        tracing::warn!(user_id = user.id, "login of a locked account refused");
        audit_user_event(ctx, user.id, "login.locked", ip).await?;
        return Err(AccountError::Locked);
    }
    if user.email_verified_at.is_none() {
        return Err(AccountError::Unverified);
    }
    db::login_attempts::clear(&ctx.db, &key, ip).await?;
    audit_user_event(ctx, user.id, "login", ip).await?;
    tracing::info!(user_id = user.id, "logged in");
    Ok(user)
}

/// An audit entry about the user's own account in each tenant they belong to (so each
/// tenant's owners see their members' logins), with the client address.
pub async fn audit_user_event(
    ctx: &AppContext,
    user_id: i64,
    action: &str,
    ip: &str,
) -> Result<(), DbError> {
    for m in db::tenants::memberships_of(&ctx.db, user_id).await? {
        let entry = db::audit::Entry {
            tenant_id: Some(m.tenant_id),
            actor_user_id: Some(user_id),
            action,
            target: "",
            detail: "",
            reason: "",
            client_address: Some(ip),
        };
        db::audit::append(&ctx.db, &entry).await?;
    }
    Ok(())
}

/// Emails a reset link if the account exists; silent otherwise (no account probing: the
/// limits per address and per recipient count every request alike).
pub async fn request_password_reset(
    ctx: &AppContext,
    email: &Email,
    ip: &str,
) -> Result<(), AccountError> {
    limits::by_address(ctx, limits::Action::ForgotPassword, ip).await?;
    limits::by_recipient(ctx, limits::Mail::PasswordReset, email).await?;
    let Some(user) = db::users::find_by_email(&ctx.db, email.as_str()).await? else {
        tracing::info!("password reset asked for an unknown email");
        return Ok(());
    };
    send_password_link(ctx, user.id, email, Purpose::ResetPassword).await
}

/// How long a link to choose a password stays valid (`ResetPassword`: 1 hour;
/// `SetPassword`, for accounts made without one: 72 hours).
fn password_link_ttl(purpose: Purpose) -> i64 {
    match purpose {
        Purpose::ResetPassword => RESET_TTL_SECS,
        _ => SET_PASSWORD_TTL_SECS,
    }
}

/// Emails `email` a one-time link to choose a password.
pub async fn send_password_link(
    ctx: &AppContext,
    user_id: i64,
    email: &Email,
    purpose: Purpose,
) -> Result<(), AccountError> {
    let ttl = password_link_ttl(purpose);
    let (token, token_hash) = tokens::generate();
    let link = Secret::new(ctx.link("/password/reset", &token));
    let tenant_id = db::tenants::memberships_of(&ctx.db, user_id)
        .await?
        .into_iter()
        .next()
        .map(|m| m.tenant_id);
    let token = NewToken {
        user_id,
        purpose,
        token_hash: &token_hash,
        expires_at: db::now() + ttl,
    };
    let message = messages::reset_password(email, link.expose(), ttl / 60);
    store_token_and_email(ctx, &token, tenant_id, message).await
}

/// Sets a new password through a reset or set-password link; ends the user's other sessions.
pub async fn reset_password(
    ctx: &AppContext,
    token: &str,
    password: &Password,
) -> Result<UserRow, AccountError> {
    let purposes = [Purpose::ResetPassword, Purpose::SetPassword];
    let user = check_token(ctx, token, &purposes).await?;
    let hash = hash(ctx, password).await?;
    let Some(user_id) = db::tokens::consume(&ctx.db, &purposes, &tokens::hash(token)).await? else {
        return Err(token_problem(ctx, token, &purposes).await);
    };
    db::users::set_password_everywhere(&ctx.db, user_id, &hash).await?;
    db::audit::record(&ctx.db, None, Some(user_id), "user.password_reset", "").await?;
    tracing::info!(user_id, "password reset");
    Ok(user)
}

/// Creates (or re-issues a link for) a support-staff account; returns the set-password link.
pub async fn create_staff(ctx: &AppContext, email: &Email) -> Result<Secret, AccountError> {
    let user_id = match db::users::find_by_email(&ctx.db, email.as_str()).await? {
        Some(user) if user.is_staff => user.id,
        Some(_) => {
            return Err(AccountError::NotAllowed(format!(
                "{email} already has a tenant account; staff accounts are separate, so use another address."
            )));
        }
        None => db::users::create_staff(&ctx.db, email.as_str()).await?,
    };
    let (token, token_hash) = tokens::generate();
    let expires_at = db::now() + password_link_ttl(Purpose::SetPassword);
    db::tokens::insert(
        &ctx.db,
        user_id,
        Purpose::SetPassword,
        &token_hash,
        expires_at,
    )
    .await?;
    db::audit::record(&ctx.db, None, None, "staff.link_issued", email.as_str()).await?;
    Ok(Secret::new(ctx.link("/password/reset", &token)))
}
