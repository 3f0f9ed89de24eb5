//! The signed-in user's own account: name, time zone, password (the current one required,
//! wrong guesses throttled like logins), and their sessions. Takes parsed domain values.

use super::{AccountError, passwords, throttle};
use crate::{
    context::AppContext,
    db::{self, users::UserRow},
    domain::{Password, Secret, TimeZone},
};

/// Why a password change was refused (besides the ordinary account errors).
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("That is not your current password.")]
    WrongCurrent,
    #[error("Choose a new password that differs from your current one.")]
    Unchanged,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<db::DbError> for PasswordChangeError {
    fn from(e: db::DbError) -> Self {
        Self::Account(e.into())
    }
}

/// Changes `user`'s password after checking `current`; every other session of the user
/// ends (`keep` is the handle of the session asking). Returns how many sessions ended.
pub async fn change_password(
    ctx: &AppContext,
    user: &UserRow,
    current: &Secret,
    new: &Password,
    keep: &str,
    ip: &str,
) -> Result<u64, PasswordChangeError> {
    if ctx.hasher.is_full() {
        return Err(AccountError::from(passwords::Busy).into());
    }
    let key = user.email.to_lowercase();
    let now = db::now();
    let attempt = db::login_attempts::record(&ctx.db, &key, ip).await?;
    let recent = db::login_attempts::recent(
        &ctx.db,
        &key,
        ip,
        now - throttle::FAILURE_WINDOW_SECS,
        now - throttle::HOUR_SECS,
    )
    .await?;
    if let Some(wait) = throttle::wait(&recent, now) {
        db::login_attempts::forget(&ctx.db, attempt).await?;
        return Err(AccountError::Throttled {
            minutes: (wait + 59) / 60,
        }
        .into());
    }
    let stored = db::users::password_hash(&ctx.db, user.id).await?;
    let right = match ctx.hasher.verify(current, stored).await {
        Ok(right) => right,
        Err(busy) => {
            db::login_attempts::forget(&ctx.db, attempt).await?;
            return Err(AccountError::from(busy).into());
        }
    };
    if !right {
        // The failed attempt stays recorded: guessing here counts like guessing at login.
        return Err(PasswordChangeError::WrongCurrent);
    }
    db::login_attempts::forget(&ctx.db, attempt).await?;
    if new.secret().expose() == current.expose() {
        return Err(PasswordChangeError::Unchanged);
    }
    let hash = ctx
        .hasher
        .hash(new)
        .await
        .map_err(AccountError::from)?
        .map_err(AccountError::from)?;
    let ended = db::profiles::change_password(&ctx.db, user.id, &hash, keep).await?;
    db::audit::record(&ctx.db, None, Some(user.id), "password.changed", "").await?;
    tracing::info!(user_id = user.id, ended, "password changed");
    Ok(ended)
}

/// Ends every session of the user, the one asking included.
pub async fn end_all_sessions(ctx: &AppContext, user_id: i64) -> Result<u64, AccountError> {
    let ended = db::profiles::end_all_sessions(&ctx.db, user_id).await?;
    db::audit::record(
        &ctx.db,
        None,
        Some(user_id),
        "sessions.revoked_all",
        &format!("{ended} session(s) ended"),
    )
    .await?;
    tracing::info!(user_id, ended, "logged out everywhere");
    Ok(ended)
}

/// Records the zone the browser reported, unless the user already has one.
pub async fn adopt_browser_zone(
    ctx: &AppContext,
    user_id: i64,
    zone: TimeZone,
) -> Result<bool, AccountError> {
    Ok(db::profiles::set_time_zone_if_unset(&ctx.db, user_id, zone.name()).await?)
}
