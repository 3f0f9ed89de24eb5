//! A tenant's own pages about its security: the audit log (owners only: filterable by
//! action and actor, paged newest first) and each member's notifications (opt out of alert
//! emails).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    admin::{AuditQuery, audit_filter, next_page},
    extract::CurrentTenant,
    render::{Layout, flash_on, render, see_other},
};
use crate::{
    context::AppContext,
    db::{
        self,
        audit::{Filter, LogRow},
    },
    domain::Role,
    error::AppError,
};

#[derive(Template)]
#[template(path = "tenants/audit.html")]
struct TenantAuditPage {
    layout: Layout,
    filter: Filter,
    entries: Vec<LogRow>,
    next: Option<String>,
    action_path: String,
    all_tenants: bool,
}

pub async fn tenant_log(
    tenant: CurrentTenant,
    query: web::Query<AuditQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    if tenant.actor.role != Role::Owner {
        return Err(AppError::Forbidden(
            "Only owners can read the audit log.".into(),
        ));
    }
    let mut filter = audit_filter(
        None,
        query.action.as_deref(),
        query.actor.as_deref(),
        query.before.as_deref(),
    )?;
    filter.tenant_id = Some(tenant.id());
    let (entries, more) = db::audit::page(&ctx.db, &filter).await?;
    let next = next_page(&filter, &entries, more, false);
    render(&TenantAuditPage {
        layout: tenant.layout("Audit log"),
        filter,
        entries,
        next,
        action_path: tenant.path("/audit"),
        all_tenants: false,
    })
}

#[derive(Template)]
#[template(path = "tenants/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    action_path: String,
    alerts: bool,
    receives: bool,
}

pub async fn notifications_page(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let out = db::alerts::is_opted_out(&ctx.db, tenant.id(), tenant.actor.user_id).await?;
    render(&NotificationsPage {
        layout: tenant.layout("Notifications"),
        action_path: tenant.path("/notifications"),
        alerts: !out,
        receives: tenant.actor.role != Role::Member,
    })
}

#[derive(Deserialize)]
pub struct NotificationsForm {
    /// `on` when the box is ticked (a browser sends nothing otherwise).
    alerts: Option<String>,
}

pub async fn save_notifications(
    tenant: CurrentTenant,
    form: web::Form<NotificationsForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let wants = match form.alerts.as_deref() {
        None => false,
        Some("on") => true,
        Some(_) => {
            return Err(AppError::BadRequest(
                "The alerts box can only be ticked or not.".into(),
            ));
        }
    };
    db::alerts::set_opted_out(&ctx.db, tenant.id(), tenant.actor.user_id, !wants).await?;
    let path = tenant.path("/notifications");
    flash_on(
        &tenant.viewer.session,
        &path,
        "success",
        if wants {
            "Saved: you get alert emails about this company's connections and flows."
        } else {
            "Saved: you no longer get alert emails about this company."
        },
    );
    Ok(see_other(&path))
}
