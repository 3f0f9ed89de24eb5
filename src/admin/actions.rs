//! Support actions. Each takes the staff member, the tenant, the target and a [`Reason`],
//! checks that the target belongs to the tenant and that the action applies, changes it,
//! and appends exactly one audit entry (who, when, tenant, action, target, reason). A
//! refused action changes nothing and writes nothing.

use super::{AdminError, Reason};
use crate::{
    accounts,
    context::AppContext,
    db::{self, DbError, tokens::Purpose},
    domain::Email,
    jobs::{self, RunMode, SyncRequest, Trigger},
};

/// The staff member acting, and from where.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user_id: i64,
    pub email: String,
    pub client_address: String,
}

async fn audit(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    action: &str,
    target: &str,
    reason: &Reason,
) -> Result<(), DbError> {
    let entry = db::audit::Entry {
        tenant_id: Some(tenant_id),
        actor_user_id: Some(staff.user_id),
        action,
        target,
        detail: "",
        reason: reason.as_str(),
        client_address: Some(&staff.client_address),
    };
    db::audit::append(&ctx.db, &entry).await.map(|_| ())
}

/// Disables (`false`) or enables (`true`) a connection: a disabled connection runs no flow;
/// an enabled one is `untested` until its next test.
pub async fn set_connection_enabled(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    connection_id: i64,
    enabled: bool,
    reason: &Reason,
) -> Result<String, AdminError> {
    let c = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let (status, action) = match (enabled, c.status == "disabled") {
        (false, false) => ("disabled", "support.connection_disabled"),
        (true, true) => ("untested", "support.connection_enabled"),
        (false, true) => {
            return Err(AdminError::Invalid(format!(
                "{} is disabled already.",
                c.name
            )));
        }
        (true, false) => {
            return Err(AdminError::Invalid(format!("{} is not disabled.", c.name)));
        }
    };
    if !db::admin::set_connection_status(&ctx.db, tenant_id, connection_id, status).await? {
        return Err(AdminError::NotFound);
    }
    let target = format!("connection {} ({})", c.id, c.name);
    audit(ctx, staff, tenant_id, action, &target, reason).await?;
    Ok(if enabled {
        format!(
            "{} is enabled again; it is untested until its next test.",
            c.name
        )
    } else {
        format!("{} is disabled: none of its flows run.", c.name)
    })
}

/// Turns a connection's flow off or on.
pub async fn set_flow_enabled(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    enabled: bool,
    reason: &Reason,
) -> Result<String, AdminError> {
    let c = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let flow = ctx.flows.find(flow).ok_or(AdminError::NotFound)?;
    let settings = db::flows::find(&ctx.db, tenant_id, connection_id, flow.kind())
        .await?
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "{} was never set up on {}; the merchant enables it first.",
                flow.label(),
                c.name
            ))
        })?;
    if settings.enabled == enabled {
        return Err(AdminError::Invalid(format!(
            "{} on {} is {} already.",
            flow.label(),
            c.name,
            if enabled { "enabled" } else { "disabled" }
        )));
    }
    if !db::admin::set_flow_enabled(&ctx.db, tenant_id, connection_id, flow.kind(), enabled).await?
    {
        return Err(AdminError::NotFound);
    }
    let action = if enabled {
        "support.flow_enabled"
    } else {
        "support.flow_disabled"
    };
    let target = format!("{} on connection {} ({})", flow.kind(), c.id, c.name);
    audit(ctx, staff, tenant_id, action, &target, reason).await?;
    Ok(format!(
        "{} on {} is {}.",
        flow.label(),
        c.name,
        if enabled { "enabled" } else { "disabled" }
    ))
}

/// Runs a failed run's flow again (a new run, queued now).
pub async fn retry_run(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    run_id: i64,
    reason: &Reason,
) -> Result<String, AdminError> {
    let run = db::runs::find(&ctx.db, tenant_id, run_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if run.status != "failed" {
        return Err(AdminError::Invalid(format!(
            "Run #{run_id} did not fail ({}); only a failed run is retried.",
            run.status
        )));
    }
    let c = db::connections::find(&ctx.db, tenant_id, run.connection_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if c.status == "disabled" {
        return Err(AdminError::Invalid(format!(
            "{} is disabled; enable it before retrying its runs.",
            c.name
        )));
    }
    let flow = ctx.flows.find(&run.flow).ok_or(AdminError::NotFound)?;
    let sync = SyncRequest {
        mode: RunMode::Auto,
        trigger: Trigger::Manual,
    };
    let Some(job) =
        jobs::enqueue_sync(ctx, tenant_id, c.id, &c.store_hash, flow.kind(), sync).await?
    else {
        return Err(AdminError::Invalid(format!(
            "{} on {} is already queued or running.",
            flow.label(),
            c.name
        )));
    };
    let target = format!("run {run_id} ({} on {})", flow.kind(), c.name);
    audit(
        ctx,
        staff,
        tenant_id,
        "support.run_retried",
        &target,
        reason,
    )
    .await?;
    Ok(format!(
        "{} on {} is queued again (job #{job}).",
        flow.label(),
        c.name
    ))
}

/// Queues a dead job again with its attempts reset.
pub async fn retry_job(
    ctx: &AppContext,
    staff: &Staff,
    job_id: i64,
    reason: &Reason,
) -> Result<String, AdminError> {
    let (tenant_id, kind) = db::admin::dead_job(&ctx.db, job_id)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("Job #{job_id} is not a dead job.")))?;
    match db::admin::retry_dead_job(&ctx.db, tenant_id, job_id).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(AdminError::Invalid(format!(
                "Job #{job_id} is not a dead job."
            )));
        }
        Err(DbError::Conflict) => {
            return Err(AdminError::Invalid(format!(
                "Another {kind} job for the same record is queued or running; job #{job_id} stays dead."
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let target = format!("job {job_id} ({kind})");
    audit(
        ctx,
        staff,
        tenant_id,
        "support.job_retried",
        &target,
        reason,
    )
    .await?;
    Ok(format!("Job #{job_id} ({kind}) is queued again."))
}

/// A member of the tenant, as an email address.
async fn member(
    ctx: &AppContext,
    tenant_id: i64,
    user_id: i64,
) -> Result<(db::admin::MemberStatus, Email), AdminError> {
    let m = db::admin::member(&ctx.db, tenant_id, user_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let email = Email::parse(&m.email).map_err(|e| AdminError::Invalid(e.to_string()))?;
    Ok((m, email))
}

/// Emails an unconfirmed member a fresh verification link (limited per recipient).
pub async fn resend_verification(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    user_id: i64,
    reason: &Reason,
) -> Result<String, AdminError> {
    let (m, email) = member(ctx, tenant_id, user_id).await?;
    if m.email_verified_at.is_some() {
        return Err(AdminError::Invalid(format!(
            "{email} is confirmed already."
        )));
    }
    let user = db::users::find(&ctx.db, user_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    accounts::send_verification_by_staff(ctx, &user, &email).await?;
    let target = format!("user {user_id} ({email})");
    audit(
        ctx,
        staff,
        tenant_id,
        "support.verification_resent",
        &target,
        reason,
    )
    .await?;
    Ok(format!("A new confirmation link is on its way to {email}."))
}

/// Locks a member (their sessions end at once; they cannot log in) or unlocks them.
pub async fn set_locked(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    user_id: i64,
    locked: bool,
    reason: &Reason,
) -> Result<String, AdminError> {
    let (m, email) = member(ctx, tenant_id, user_id).await?;
    if m.locked_at.is_some() == locked {
        return Err(AdminError::Invalid(format!(
            "{email} is {} already.",
            if locked { "locked" } else { "not locked" }
        )));
    }
    if !db::admin::set_locked(&ctx.db, user_id, locked).await? {
        return Err(AdminError::Invalid(format!(
            "{email} changed meanwhile; reload."
        )));
    }
    let action = if locked {
        "support.user_locked"
    } else {
        "support.user_unlocked"
    };
    let target = format!("user {user_id} ({email})");
    audit(ctx, staff, tenant_id, action, &target, reason).await?;
    Ok(if locked {
        format!("{email} is locked: signed out everywhere and cannot log in.")
    } else {
        format!("{email} is unlocked and can log in again.")
    })
}

/// Emails a member a password reset link (limited per recipient).
pub async fn send_password_reset(
    ctx: &AppContext,
    staff: &Staff,
    tenant_id: i64,
    user_id: i64,
    reason: &Reason,
) -> Result<String, AdminError> {
    let (_, email) = member(ctx, tenant_id, user_id).await?;
    accounts::limits::by_recipient(ctx, accounts::limits::Mail::PasswordReset, &email).await?;
    accounts::send_password_link(ctx, user_id, &email, Purpose::ResetPassword).await?;
    let target = format!("user {user_id} ({email})");
    audit(
        ctx,
        staff,
        tenant_id,
        "support.password_reset_sent",
        &target,
        reason,
    )
    .await?;
    Ok(format!("A password reset link is on its way to {email}."))
}
