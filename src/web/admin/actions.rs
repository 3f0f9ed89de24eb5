//! The support actions' forms: each POST carries a `reason`; the answer is a redirect back
//! to the page the form was on, with what happened (or why nothing did) as a flash.

use actix_web::{HttpRequest, HttpResponse, web};
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

fn staff_of(staff: &StaffUser, req: &HttpRequest) -> Staff {
    Staff {
        user_id: staff.user.id,
        email: staff.user.email.clone(),
        client_address: client_address(req),
    }
}

/// Runs `action` with the parsed reason and tells staff how it went on `back`.
async fn answer(
    staff: &StaffUser,
    back: &str,
    form: &ReasonForm,
    action: impl AsyncFnOnce(&Reason) -> Result<String, AdminError>,
) -> Result<HttpResponse, AppError> {
    let outcome = match Reason::parse(&form.reason) {
        Ok(reason) => action(&reason).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(message) => flash_on(&staff.viewer.session, back, "success", message),
        Err(AdminError::Invalid(message)) => {
            flash_on(&staff.viewer.session, back, "error", message)
        }
        Err(AdminError::Account(AccountError::RateLimited { message, .. })) => {
            flash_on(&staff.viewer.session, back, "error", message)
        }
        Err(AdminError::Account(AccountError::NotAllowed(message))) => {
            flash_on(&staff.viewer.session, back, "error", message)
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(back))
}

fn tenant_page(tenant_id: i64) -> String {
    format!("/admin/tenants/{tenant_id}")
}

pub async fn disable_connection(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, c) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_connection_enabled(&ctx, &who, t, c, false, r).await
    })
    .await
}

pub async fn enable_connection(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, c) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_connection_enabled(&ctx, &who, t, c, true, r).await
    })
    .await
}

pub async fn disable_flow(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64, String)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, c, flow) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_flow_enabled(&ctx, &who, t, c, &flow, false, r).await
    })
    .await
}

pub async fn enable_flow(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64, String)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, c, flow) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_flow_enabled(&ctx, &who, t, c, &flow, true, r).await
    })
    .await
}

pub async fn retry_run(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, run) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::retry_run(&ctx, &who, t, run, r).await
    })
    .await
}

pub async fn retry_job(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, "/admin/jobs", &form, async |r| {
        actions::retry_job(&ctx, &who, job, r).await
    })
    .await
}

pub async fn resend_verification(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, u) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::resend_verification(&ctx, &who, t, u, r).await
    })
    .await
}

pub async fn lock_user(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, u) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_locked(&ctx, &who, t, u, true, r).await
    })
    .await
}

pub async fn unlock_user(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, u) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::set_locked(&ctx, &who, t, u, false, r).await
    })
    .await
}

pub async fn send_password_reset(
    staff: StaffUser,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReasonForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (t, u) = path.into_inner();
    let who = staff_of(&staff, &req);
    answer(&staff, &tenant_page(t), &form, async |r| {
        actions::send_password_reset(&ctx, &who, t, u, r).await
    })
    .await
}
