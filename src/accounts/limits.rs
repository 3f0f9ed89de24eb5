//! Limits on requests that cost us a password hash or send an email: per client address
//! (signup, forgot-password, resend-verification, app link emails) and per recipient (at
//! most five emails of each kind an hour to one address). Counted in the
//! database (`db::rate_limits`), so every app process enforces the same limits, and
//! recorded before they are counted, so a burst of concurrent requests cannot slip past.
//! The answer is the same whether or not an account exists, so it cannot be used to probe.

use super::AccountError;
use crate::{context::AppContext, db, domain::Email};

/// The window every limit here counts over.
pub const WINDOW_SECS: i64 = 3600;
/// Emails of one kind one recipient gets per hour.
pub const EMAILS_PER_RECIPIENT: i64 = 5;

/// The kinds of email sent on request, each limited per recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    /// Signup and resend-verification, together.
    Verification,
    PasswordReset,
    AppLink,
}

impl Mail {
    fn name(self) -> &'static str {
        match self {
            Self::Verification => "verify",
            Self::PasswordReset => "reset",
            Self::AppLink => "link",
        }
    }
}

/// What a client address asks for, each with its own hourly limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Signup,
    ForgotPassword,
    ResendVerification,
    LinkByEmail,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::ForgotPassword => "forgot",
            Self::ResendVerification => "resend",
            Self::LinkByEmail => "link",
        }
    }

    /// Requests one address may make per hour.
    pub fn per_address(self) -> i64 {
        match self {
            Self::Signup => 10,
            Self::ForgotPassword | Self::ResendVerification | Self::LinkByEmail => 20,
        }
    }

    fn refusal(self, minutes: i64) -> String {
        let what = match self {
            Self::Signup => "sign-ups",
            Self::ForgotPassword => "password reset requests",
            Self::ResendVerification => "confirmation requests",
            Self::LinkByEmail => "link requests",
        };
        format!("Too many {what} from your network. Wait {minutes} minute(s) before trying again.")
    }
}

/// A request counted against a limit; `release` takes it back when it ended up doing nothing.
#[derive(Debug, Clone, Copy)]
pub struct Counted(i64);

impl Counted {
    pub async fn release(self, ctx: &AppContext) {
        if let Err(e) = db::rate_limits::forget(&ctx.db, self.0).await {
            tracing::warn!(error = %e, "cannot take back a counted request");
        }
    }
}

/// Records the request in `bucket` and refuses it (taken back again) beyond `limit`.
async fn count(
    ctx: &AppContext,
    bucket: &str,
    limit: i64,
    message: impl FnOnce(i64) -> String,
) -> Result<Counted, AccountError> {
    let now = db::now();
    let (id, n, oldest) =
        db::rate_limits::record_and_count(&ctx.db, bucket, now - WINDOW_SECS).await?;
    if n <= limit {
        return Ok(Counted(id));
    }
    Counted(id).release(ctx).await;
    let retry_after = (oldest + WINDOW_SECS - now).max(1);
    tracing::warn!(
        bucket = bucket.split(':').next().unwrap_or(""),
        "rate limit reached"
    );
    Err(AccountError::RateLimited {
        message: message((retry_after + 59) / 60),
        retry_after,
    })
}

/// Counts `action` from client address `ip`.
pub async fn by_address(
    ctx: &AppContext,
    action: Action,
    ip: &str,
) -> Result<Counted, AccountError> {
    let bucket = format!("{}:ip:{ip}", action.name());
    count(ctx, &bucket, action.per_address(), |m| action.refusal(m)).await
}

/// Counts an email of `kind` to `to` (asked for, whether or not it is then sent).
pub async fn by_recipient(
    ctx: &AppContext,
    kind: Mail,
    to: &Email,
) -> Result<Counted, AccountError> {
    let bucket = format!("mail:{}:{}", kind.name(), to.as_str());
    count(ctx, &bucket, EMAILS_PER_RECIPIENT, |m| {
        format!(
            "Too many emails to {to} in the last hour. Wait {m} minute(s) before asking for another."
        )
    })
    .await
}
