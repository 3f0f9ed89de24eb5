//! A connection's flow pages: the Get Inventory settings form and "Run now", plus what the
//! connection pages share (the sub-navigation, `?page=` parsing, the flows summary on the
//! connection page). Who may change or run a flow is the flows service's decision, not ours.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    connections::store,
    context::AppContext,
    db,
    error::AppError,
    flows::{
        Flow, RunMode,
        inventory::{self, FlowError, InventorySettings, InventorySettingsInput},
    },
};

impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::NotFound => Self::NotFound,
            FlowError::NotAllowed(msg) => Self::Forbidden(msg),
            e @ FlowError::AlreadyQueued => Self::BadRequest(e.to_string()),
            FlowError::Db(d) => d.into(),
        }
    }
}

/// The connection's name and sub-navigation (Connection · Get Inventory · Runs · Products),
/// shown on every page about one connection (`templates/flows/subnav.html`).
pub struct ConnectionNav {
    /// `/t/{tenant}/connections/{id}`.
    pub base: String,
    pub name: String,
    /// Which tab is shown: `connection`, `inventory`, `runs` or `products`.
    pub current: &'static str,
}

impl ConnectionNav {
    /// Loads the connection (404 if it is not this tenant's).
    pub async fn load(
        tenant: &CurrentTenant,
        ctx: &AppContext,
        connection_id: i64,
        current: &'static str,
    ) -> Result<Self, AppError> {
        let c = store::load(ctx, tenant.id(), connection_id).await?;
        Ok(Self {
            base: tenant.path(&format!("/connections/{}", c.id)),
            name: c.name,
            current,
        })
    }

    pub fn is(&self, tab: &str) -> bool {
        self.current == tab
    }
}

/// A `?page=` value: absent means 1; anything but a whole number ≥ 1 is a 400, so a broken
/// link says so instead of silently showing another page.
pub fn parse_page(raw: Option<&str>) -> Result<i64, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(1),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| {
                AppError::BadRequest("The page number must be a whole number from 1.".into())
            }),
    }
}

/// What the connection page shows about its flows.
pub struct FlowsSummary {
    pub inventory_enabled: bool,
    /// Status label of the newest run, if any.
    pub last_run: Option<(i64, String, String)>,
}

impl FlowsSummary {
    pub async fn load(
        ctx: &AppContext,
        tenant_id: i64,
        connection_id: i64,
    ) -> Result<Self, AppError> {
        let settings =
            db::flows::find(&ctx.db, tenant_id, connection_id, Flow::Inventory.as_str()).await?;
        let runs = db::runs::list_for_connection(&ctx.db, tenant_id, connection_id, 1, 0).await?;
        Ok(Self {
            inventory_enabled: settings.is_some_and(|s| s.enabled),
            last_run: runs
                .first()
                .map(|r| (r.id, r.status.clone(), super::runs::status_label(r))),
        })
    }
}

#[derive(Template)]
#[template(path = "flows/inventory.html")]
struct SettingsPage {
    layout: Layout,
    nav: ConnectionNav,
    form: InventorySettingsInput,
    errors: FormErrors,
    can_manage: bool,
}

fn input_of(s: &InventorySettings) -> InventorySettingsInput {
    let on = |b: bool| b.then(|| "on".to_owned());
    InventorySettingsInput {
        enabled: on(s.enabled),
        interval_minutes: s.interval_minutes.to_string(),
        page_size: s.page_size.to_string(),
        skip_hidden: on(s.skip_hidden),
        full_sync_hours: s.full_sync_hours.to_string(),
    }
}

fn settings_page(
    tenant: &CurrentTenant,
    nav: ConnectionNav,
    form: InventorySettingsInput,
    errors: FormErrors,
) -> SettingsPage {
    SettingsPage {
        layout: tenant.layout(&format!("Get Inventory · {}", nav.name)),
        nav,
        form,
        errors,
        can_manage: tenant.actor.role.can_manage_members(),
    }
}

pub async fn inventory_settings(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "inventory").await?;
    let settings = inventory::settings(&ctx, tenant.id(), path.1).await?;
    let page = settings_page(&tenant, nav, input_of(&settings), FormErrors::default());
    render(&page)
}

pub async fn save_inventory_settings(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<InventorySettingsInput>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "inventory").await?;
    let form = form.into_inner();
    match InventorySettings::parse(&form) {
        Ok(settings) => {
            inventory::save_settings(&ctx, &tenant.actor, path.1, &settings).await?;
            flash(
                &tenant.viewer.session,
                "success",
                "Get Inventory settings saved.",
            );
            Ok(see_other(&format!("{}/flows/inventory", nav.base)))
        }
        Err(problems) => {
            let mut errors = FormErrors::default();
            for (field, message) in problems {
                errors.add(field, message);
            }
            errors.general = Some("Nothing was saved: correct the fields below.".into());
            let page = settings_page(&tenant, nav, form, errors);
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    mode: String,
}

pub async fn run_inventory(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<RunForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "inventory").await?;
    let mode = match form.mode.as_str() {
        "" | "auto" => RunMode::Auto,
        "full" => RunMode::Full,
        _ => return Err(AppError::BadRequest("Choose “auto” or “full”.".into())),
    };
    let session = &tenant.viewer.session;
    match inventory::run_now(&ctx, &tenant.actor, path.1, mode).await {
        Ok(_job) => flash(session, "success", "Run queued."),
        Err(e @ FlowError::AlreadyQueued) => flash(session, "info", e.to_string()),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&format!("{}/runs", nav.base)))
}

#[cfg(test)]
mod tests {
    use super::parse_page;

    #[test]
    fn page_numbers_are_whole_numbers_from_one() {
        assert_eq!(parse_page(None).ok(), Some(1));
        assert_eq!(parse_page(Some("")).ok(), Some(1));
        assert_eq!(parse_page(Some("3")).ok(), Some(3));
        for bad in ["0", "-1", "abc", "1.5", "99999999999"] {
            assert!(parse_page(Some(bad)).is_err(), "{bad}");
        }
    }
}
