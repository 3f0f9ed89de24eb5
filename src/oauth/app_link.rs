//! Linking a BigCommerce identity to an existing account once its owner has proved it is
//! theirs: by logging in from the app (`link_after_login`), or by following a one-time link
//! emailed to the account's address (`send_link_confirmation`, then `confirm_link`). Never
//! links on an email's word, never marks an email verified.

use super::app::BcAppError;
use crate::{
    accounts,
    context::AppContext,
    db::{self, bigcommerce_app::PendingLink},
    domain::Email,
};

/// The owner of the account proved it by logging in (as `user_id`): links the identity.
pub async fn link_after_login(
    ctx: &AppContext,
    pending: &PendingLink,
    user_id: i64,
) -> Result<(), BcAppError> {
    if pending.user_id != user_id {
        return Err(BcAppError::NotAllowed(
            "Log in with the account this BigCommerce user's email belongs to.".into(),
        ));
    }
    db::bigcommerce_app::link_proven(&ctx.db, pending).await?;
    tracing::info!(
        tenant_id = pending.tenant_id,
        user_id,
        "BigCommerce user linked by login"
    );
    Ok(())
}

/// How long an emailed link confirmation stays valid.
pub const LINK_TTL_SECS: i64 = 24 * 3600;

/// Emails the account's owner a one-time link that links the identity when followed
/// (limited per address and per recipient like every email we send on request).
pub async fn send_link_confirmation(
    ctx: &AppContext,
    pending: &PendingLink,
    email: &Email,
    ip: &str,
) -> Result<(), BcAppError> {
    accounts::limits::by_address(ctx, accounts::limits::Action::LinkByEmail, ip).await?;
    accounts::limits::by_recipient(ctx, accounts::limits::Mail::AppLink, email).await?;
    let (token, token_hash) = accounts::tokens::generate();
    let link = ctx.link("/bigcommerce/link/confirm", &token);
    let message = crate::mailer::messages::confirm_app_link(
        email,
        &link,
        &pending.store_hash,
        LINK_TTL_SECS / 3600,
    );
    let job = crate::mailer::prepare(ctx, message).await?;
    db::bigcommerce_app::insert_link_request(
        &ctx.db,
        &token_hash,
        pending,
        db::now() + LINK_TTL_SECS,
        &job,
    )
    .await?;
    crate::jobs::wake();
    Ok(())
}

/// Whether an emailed link token is still good (to show its confirm button).
pub async fn check_link_token(ctx: &AppContext, token: &str) -> Result<PendingLink, BcAppError> {
    db::bigcommerce_app::find_link_request(&ctx.db, &accounts::tokens::hash(token))
        .await?
        .ok_or(BcAppError::LinkInvalid)
}

/// Uses an emailed link token: links the identity it names.
pub async fn confirm_link(ctx: &AppContext, token: &str) -> Result<PendingLink, BcAppError> {
    let pending =
        db::bigcommerce_app::confirm_link_request(&ctx.db, &accounts::tokens::hash(token))
            .await?
            .ok_or(BcAppError::LinkInvalid)?;
    tracing::info!(
        tenant_id = pending.tenant_id,
        user_id = pending.user_id,
        "BigCommerce user linked by email"
    );
    Ok(pending)
}
