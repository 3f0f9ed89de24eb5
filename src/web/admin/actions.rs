//! The support actions' forms: each POST carries a `reason`; the answer is a redirect back
//! to the page the form was on, with what happened (or why nothing did) as a flash.
//!
//! One handler serves them all: [`Action`] names the action, and is itself the actix
//! handler its route registers (`admin_routes!`), so a new action is a variant, a line in
//! [`Action::perform`] and a route, never another copy of the extract–parse–flash steps.

use std::{future::Future, pin::Pin};

use actix_web::{Handler, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::super::{
    extract::{StaffUser, client_address},
    render::{flash_on, see_other},
};
use crate::{
    accounts::AccountError,
    admin::{
        AdminError, Reason,
        actions::{self, Staff},
    },
    context::AppContext,
    error::AppError,
};

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// The ids in a support action's path. Each route names those its action needs; a missing
/// one would be a route registered with the wrong action, and answers 404.
#[derive(Deserialize)]
pub struct Target {
    tenant_id: Option<i64>,
    connection_id: Option<i64>,
    flow: Option<String>,
    run_id: Option<i64>,
    job_id: Option<i64>,
    user_id: Option<i64>,
}

fn id(v: Option<i64>) -> Result<i64, AdminError> {
    v.ok_or(AdminError::NotFound)
}

/// A support action; the handler of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    RetryJob,
    DisableConnection,
    EnableConnection,
    DisableFlow,
    EnableFlow,
    RetryRun,
    ResendVerification,
    LockUser,
    UnlockUser,
    SendPasswordReset,
}

impl Action {
    /// The page the action's form is on, where the answer redirects.
    fn back(self, t: &Target) -> Result<String, AdminError> {
        Ok(match self {
            Self::RetryJob => "/admin/jobs".to_owned(),
            _ => format!("/admin/tenants/{}", id(t.tenant_id)?),
        })
    }

    /// Calls the service; `Ok` is what staff are told.
    async fn perform(
        self,
        ctx: &AppContext,
        who: &Staff,
        t: &Target,
        r: &Reason,
    ) -> Result<String, AdminError> {
        let tenant = || id(t.tenant_id);
        let connection = || id(t.connection_id);
        let user = || id(t.user_id);
        let flow = || t.flow.as_deref().ok_or(AdminError::NotFound);
        match self {
            Self::RetryJob => actions::retry_job(ctx, who, id(t.job_id)?, r).await,
            Self::DisableConnection | Self::EnableConnection => {
                let on = self == Self::EnableConnection;
                actions::set_connection_enabled(ctx, who, tenant()?, connection()?, on, r).await
            }
            Self::DisableFlow | Self::EnableFlow => {
                let on = self == Self::EnableFlow;
                actions::set_flow_enabled(ctx, who, tenant()?, connection()?, flow()?, on, r).await
            }
            Self::RetryRun => actions::retry_run(ctx, who, tenant()?, id(t.run_id)?, r).await,
            Self::ResendVerification => {
                actions::resend_verification(ctx, who, tenant()?, user()?, r).await
            }
            Self::LockUser | Self::UnlockUser => {
                let locked = self == Self::LockUser;
                actions::set_locked(ctx, who, tenant()?, user()?, locked, r).await
            }
            Self::SendPasswordReset => {
                actions::send_password_reset(ctx, who, tenant()?, user()?, r).await
            }
        }
    }
}

/// Runs `action` with the parsed reason and tells staff how it went on the form's page.
async fn act(
    action: Action,
    staff: StaffUser,
    req: HttpRequest,
    target: web::Path<Target>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let back = action.back(&target)?;
    let who = Staff {
        user_id: staff.user.id,
        email: staff.user.email.clone(),
        client_address: client_address(&req),
    };
    let outcome = match Reason::parse(&form.reason) {
        Ok(reason) => action.perform(&ctx, &who, &target, &reason).await,
        Err(e) => Err(e),
    };
    let session = &staff.viewer.session;
    match outcome {
        Ok(message) => flash_on(session, &back, "success", message),
        Err(AdminError::Invalid(message))
        | Err(AdminError::Account(AccountError::RateLimited { message, .. }))
        | Err(AdminError::Account(AccountError::NotAllowed(message))) => {
            flash_on(session, &back, "error", message)
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&back))
}

type Args = (
    StaffUser,
    HttpRequest,
    web::Path<Target>,
    web::Form<ReasonForm>,
    web::Data<AppContext>,
);

impl Handler<Args> for Action {
    type Output = Result<HttpResponse, AppError>;
    type Future = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn call(&self, (staff, req, target, form, ctx): Args) -> Self::Future {
        Box::pin(act(*self, staff, req, target, form, ctx))
    }
}
