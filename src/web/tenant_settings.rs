//! The company settings page (`/t/{tenant}/settings`), for owners: the company's name, its
//! time zone (what members who chose none see times in) and the default alert threshold
//! (a flow's owners and admins are emailed after this many failed runs in a row). Others get 403, like every
//! owner-only action; non-members 404 (`CurrentTenant`).

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash_on, render_with, see_other},
};
use crate::{
    context::AppContext,
    db,
    domain::{CompanyName, Role, TimeZone},
    error::AppError,
};

#[derive(Template)]
#[template(path = "tenants/settings.html")]
struct SettingsPage {
    layout: Layout,
    action: String,
    name: String,
    time_zone: String,
    alert_after_failures: String,
    zone_names: Vec<&'static str>,
    errors: FormErrors,
}

/// The bounds of the alert threshold: 1 alerts on the first failure; more than 20 failed
/// runs in a row is a flow nobody would want to hear about that late.
const ALERT_THRESHOLD: std::ops::RangeInclusive<i32> = 1..=20;

fn parse_threshold(raw: &str) -> Result<i32, String> {
    let message = || {
        format!(
            "Enter a whole number of failed runs from {} to {}.",
            ALERT_THRESHOLD.start(),
            ALERT_THRESHOLD.end()
        )
    };
    let n: i32 = raw.trim().parse().map_err(|_| message())?;
    if ALERT_THRESHOLD.contains(&n) {
        Ok(n)
    } else {
        Err(message())
    }
}

fn require_owner(tenant: &CurrentTenant) -> Result<(), AppError> {
    if tenant.actor.role == Role::Owner {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only owners can change the company's settings.".into(),
        ))
    }
}

fn page(
    tenant: &CurrentTenant,
    name: String,
    time_zone: String,
    alert_after_failures: String,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &SettingsPage {
            layout: tenant.layout("Company settings"),
            action: tenant.path("/settings"),
            name,
            time_zone,
            alert_after_failures,
            zone_names: TimeZone::all_names(),
            errors,
        },
    )
}

pub async fn settings_page(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    require_owner(&tenant)?;
    let row = db::profiles::tenant_settings(&ctx.db, tenant.id()).await?;
    page(
        &tenant,
        row.name,
        row.time_zone,
        row.alert_after_failures.to_string(),
        FormErrors::default(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    alert_after_failures: String,
}

pub async fn save_settings(
    tenant: CurrentTenant,
    form: web::Form<SettingsForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    require_owner(&tenant)?;
    let mut errors = FormErrors::default();
    let name = errors.check("name", CompanyName::parse(&form.name));
    let zone = errors.check("time_zone", TimeZone::parse(&form.time_zone));
    let threshold = errors.check(
        "alert_after_failures",
        parse_threshold(&form.alert_after_failures),
    );
    let (Some(name), Some(zone), Some(threshold)) = (name, zone, threshold) else {
        return page(
            &tenant,
            form.name.trim().to_owned(),
            form.time_zone.trim().chars().take(100).collect(),
            form.alert_after_failures.trim().chars().take(10).collect(),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    db::profiles::save_tenant_settings(&ctx.db, tenant.id(), name.as_str(), zone.name(), threshold)
        .await?;
    db::audit::record(
        &ctx.db,
        Some(tenant.id()),
        Some(tenant.actor.user_id),
        "tenant.settings_saved",
        &format!("name “{name}”, time zone {zone}, alerts after {threshold} failed runs"),
    )
    .await?;
    let path = tenant.path("/settings");
    flash_on(
        &tenant.viewer.session,
        &path,
        "success",
        "The company's settings are saved.",
    );
    Ok(see_other(&path))
}
