//! A connection's flow pages, one set for every flow of the registry: the settings form
//! (rendered from the flow's declared fields), save, and "Run now", plus what the connection
//! pages share (the sub-navigation, `?page=` parsing, the flows summary on the connection
//! page). Who may change or run a flow is the flows service's decision, not ours.

use std::sync::Arc;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    connections::{health::Health, store},
    context::AppContext,
    db,
    error::AppError,
    flows::{
        self, Field, FieldKind, Flow, FlowConfig, FlowError, FormValues, LoadedOption, RunButton,
        settings::{find_option, form_values, multi_entries},
    },
    jobs::RunMode,
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

/// One tab of the connection's sub-navigation.
pub struct NavTab {
    pub id: &'static str,
    pub label: &'static str,
    pub href: String,
}

/// The connection's name and sub-navigation (Connection · each flow · Runs · Products),
/// shown on every page about one connection (`templates/flows/subnav.html`).
pub struct ConnectionNav {
    /// `/t/{tenant}/connections/{id}`.
    pub base: String,
    pub name: String,
    /// Which tab is shown: `connection`, a flow kind, `runs` or `products`.
    pub current: &'static str,
    pub tabs: Vec<NavTab>,
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
        let base = tenant.path(&format!("/connections/{}", c.id));
        let mut tabs = vec![NavTab {
            id: "connection",
            label: "Connection",
            href: base.clone(),
        }];
        tabs.extend(ctx.flows.all().map(|f| NavTab {
            id: f.kind(),
            label: f.label(),
            href: format!("{base}/flows/{}", f.kind()),
        }));
        tabs.push(NavTab {
            id: "runs",
            label: "Runs",
            href: format!("{base}/runs"),
        });
        if ctx.flows.find(flows::send_orders::KIND).is_some() {
            tabs.push(NavTab {
                id: "purchase-orders",
                label: "Purchase orders",
                href: format!("{base}/purchase-orders"),
            });
        }
        if ctx.flows.find(flows::inventory::KIND).is_some() {
            tabs.push(NavTab {
                id: "products",
                label: "Products",
                href: format!("{base}/products"),
            });
        }
        if ctx.flows.find(flows::shipments::KIND).is_some() {
            tabs.push(NavTab {
                id: "shipments",
                label: "Shipments",
                href: format!("{base}/shipments"),
            });
        }
        Ok(Self {
            base,
            name: c.name,
            current,
            tabs,
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

/// One flow's line on the connection page.
pub struct FlowLine {
    pub kind: &'static str,
    pub label: &'static str,
    pub enabled: bool,
    /// The newest run of this flow: id, status, status label.
    pub last_run: Option<(i64, String, String)>,
}

/// What the connection page shows about its flows: every registered flow.
pub struct FlowsSummary {
    pub lines: Vec<FlowLine>,
}

impl FlowsSummary {
    pub async fn load(
        ctx: &AppContext,
        tenant_id: i64,
        connection_id: i64,
    ) -> Result<Self, AppError> {
        let mut lines = Vec::new();
        for flow in ctx.flows.all() {
            let settings = db::flows::find(&ctx.db, tenant_id, connection_id, flow.kind()).await?;
            let last =
                db::runs::latest_of_flow(&ctx.db, tenant_id, connection_id, flow.kind()).await?;
            lines.push(FlowLine {
                kind: flow.kind(),
                label: flow.label(),
                enabled: settings.is_some_and(|s| s.enabled),
                last_run: last.map(|r| (r.id, r.status.clone(), super::runs::status_label(&r))),
            });
        }
        Ok(Self { lines })
    }
}

/// One field of the settings form, ready to render.
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `checkbox`, `number`, `text`, `choice` or `multi` (a group of checkboxes).
    pub kind: &'static str,
    /// The text to show (number), or the chosen value (choice).
    pub value: String,
    pub checked: bool,
    pub options: Vec<(String, String)>,
    /// The boxes of a `multi` field.
    pub picks: Vec<Pick>,
}

/// One checkbox of a `multi` field.
pub struct Pick {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

fn field_views(fields: &[Field], form: &FormValues) -> Vec<FieldView> {
    fields
        .iter()
        .map(|f| {
            let value = form.get(f.name).cloned().unwrap_or_default();
            let owned = |o: &[(&str, &str)]| {
                o.iter()
                    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                    .collect::<Vec<_>>()
            };
            let (kind, options) = match f.kind {
                FieldKind::Checkbox { .. } => ("checkbox", Vec::new()),
                FieldKind::Number { .. } => ("number", Vec::new()),
                FieldKind::Text { .. } => ("text", Vec::new()),
                FieldKind::Choice { options, .. } => ("choice", owned(options)),
                // Filled by `with_status` (the flow loads them per connection).
                FieldKind::LoadedChoice { .. } => ("choice", Vec::new()),
                FieldKind::LoadedMultiChoice => ("multi", Vec::new()),
            };
            FieldView {
                name: f.name,
                label: f.label,
                help: f.help,
                kind,
                checked: form.contains_key(f.name),
                value,
                options,
                picks: Vec::new(),
            }
        })
        .collect()
}

/// The boxes of a multi-choice field: one per loaded option, ticked when an entry of
/// `value` names it, then one per entry that names none of them (ticked, so saving
/// without unticking it says so).
fn picks(options: &[LoadedOption], value: &str) -> Vec<Pick> {
    let entries = multi_entries(value);
    let mut picks: Vec<Pick> = options
        .iter()
        .map(|o| Pick {
            value: o.value.clone(),
            label: o.label.clone(),
            checked: entries.iter().any(|e| o.matches(e)),
        })
        .collect();
    for entry in entries {
        if find_option(options, &entry).is_none() {
            picks.push(Pick {
                label: format!("{entry} (no longer a channel of the store)"),
                value: entry,
                checked: true,
            });
        }
    }
    picks
}

/// The saved entries of a multi-choice field whose options could not be loaded.
fn saved_picks(value: &str) -> Vec<Pick> {
    multi_entries(value)
        .into_iter()
        .map(|entry| Pick {
            label: entry.clone(),
            value: entry,
            checked: true,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "flows/settings.html")]
struct SettingsPage {
    layout: Layout,
    nav: ConnectionNav,
    kind: &'static str,
    label: &'static str,
    description: &'static str,
    scheduled: bool,
    enabled: bool,
    interval_minutes: String,
    fields: Vec<FieldView>,
    errors: FormErrors,
    can_manage: bool,
    run_buttons: &'static [RunButton],
    run_help: &'static str,
    /// When the scheduler starts the next run, in words, with the UTC time.
    next_run: Option<(String, i64)>,
    /// Why a run now would likely fail: the connection's health and problem.
    connection_problem: Option<String>,
}

impl SettingsPage {
    fn mode(&self, button: &RunButton) -> &'static str {
        match button.mode {
            RunMode::Auto => "auto",
            RunMode::Full => "full",
        }
    }
}

/// The flow a path names, if the registry has it (any other is a 404).
fn find_flow(ctx: &AppContext, kind: &str) -> Result<Arc<dyn Flow>, AppError> {
    ctx.flows.find(kind).cloned().ok_or(AppError::NotFound)
}

fn settings_page(
    tenant: &CurrentTenant,
    nav: ConnectionNav,
    flow: &dyn Flow,
    form: &FormValues,
    errors: FormErrors,
) -> SettingsPage {
    SettingsPage {
        layout: tenant.layout(&format!("{} · {}", flow.label(), nav.name)),
        nav,
        kind: flow.kind(),
        label: flow.label(),
        description: flow.description(),
        scheduled: flow.schedule().is_some(),
        enabled: form.contains_key("enabled"),
        interval_minutes: form.get("interval_minutes").cloned().unwrap_or_default(),
        fields: field_views(flow.fields(), form),
        errors,
        can_manage: tenant.actor.role.can_manage_members(),
        run_buttons: flow.run_buttons(),
        run_help: flow.run_help(),
        next_run: None,
        connection_problem: None,
    }
}

/// Fills the options of the fields the flow loads from the store; where they cannot be
/// loaded, shows the saved value and why beside the field.
async fn load_options(
    page: &mut SettingsPage,
    tenant: &CurrentTenant,
    ctx: &AppContext,
    connection_id: i64,
    flow: &dyn Flow,
) {
    for (view, field) in page.fields.iter_mut().zip(flow.fields()) {
        let multi = match field.kind {
            FieldKind::LoadedChoice { .. } => false,
            FieldKind::LoadedMultiChoice => true,
            _ => continue,
        };
        let why = match flow
            .field_choices(ctx, tenant.id(), connection_id, field.name)
            .await
        {
            Ok(options) if multi => {
                view.picks = picks(&options, &view.value);
                continue;
            }
            Ok(options) => {
                view.options = options.into_iter().map(|o| (o.value, o.label)).collect();
                continue;
            }
            Err(why) => why,
        };
        let mut message = format!("The options could not be loaded from the store: {why}");
        if multi {
            view.picks = saved_picks(&view.value);
            if !message.ends_with('.') {
                message.push('.');
            }
            message.push_str(if view.picks.is_empty() {
                " Nothing is ticked, and saving keeps it so."
            } else {
                " The saved choice is shown, and kept when you save other settings."
            });
        } else {
            view.options = vec![(view.value.clone(), view.value.clone())];
        }
        if page.errors.get(field.name).is_none() {
            page.errors.add(field.name, message);
        }
    }
}

/// Adds what the settings page says beside the form: the loaded options, the next scheduled
/// run and a warning when the connection is failing.
async fn with_status(
    mut page: SettingsPage,
    tenant: &CurrentTenant,
    ctx: &AppContext,
    connection_id: i64,
    flow: &dyn Flow,
) -> Result<SettingsPage, AppError> {
    load_options(&mut page, tenant, ctx, connection_id, flow).await;
    let now = db::now();
    let row = db::flows::find(&ctx.db, tenant.id(), connection_id, flow.kind()).await?;
    page.next_run = row
        .filter(|r| r.enabled && flow.schedule().is_some())
        .and_then(|r| {
            let at = r.next_run_at?;
            let when = super::words::relative(at, now);
            Some((
                format!("{when} ({})", super::words::every(r.interval_secs)),
                at,
            ))
        });
    let c = store::load(ctx, tenant.id(), connection_id).await?;
    let health = Health::of(&c);
    if matches!(health, Health::Failing | Health::NotConnected) {
        page.connection_problem = Some(format!(
            "The connection is {}{}",
            health.label(),
            c.last_error
                .map(|e| format!(": {e}"))
                .unwrap_or_else(|| ".".into())
        ));
    }
    Ok(page)
}

pub async fn flow_settings(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, String)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, connection_id, kind) = path.into_inner();
    let flow = find_flow(&ctx, &kind)?;
    let nav = ConnectionNav::load(&tenant, &ctx, connection_id, flow.kind()).await?;
    let config = flows::config(&ctx, tenant.id(), connection_id, flow.as_ref()).await?;
    let page = settings_page(
        &tenant,
        nav,
        flow.as_ref(),
        &config.to_form(),
        FormErrors::default(),
    );
    render(&with_status(page, &tenant, &ctx, connection_id, flow.as_ref()).await?)
}

pub async fn save_flow_settings(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, String)>,
    form: web::Form<Vec<(String, String)>>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, connection_id, kind) = path.into_inner();
    let flow = find_flow(&ctx, &kind)?;
    let nav = ConnectionNav::load(&tenant, &ctx, connection_id, flow.kind()).await?;
    let mut form = form_values(flow.fields(), form.into_inner());
    form.remove("csrf_token");
    let mut parsed = FlowConfig::parse_form(flow.schedule(), flow.fields(), &form);
    if let Ok(config) = &mut parsed
        && let Err(problems) =
            flows::check_loaded_choices(&ctx, tenant.id(), connection_id, flow.as_ref(), config)
                .await
    {
        parsed = Err(problems);
    }
    match parsed {
        Ok(config) => {
            let was_enabled = db::flows::find(&ctx.db, tenant.id(), connection_id, flow.kind())
                .await?
                .is_some_and(|r| r.enabled);
            flows::save_config(&ctx, &tenant.actor, connection_id, flow.as_ref(), &config).await?;
            let starting = config.enabled && !was_enabled && flow.schedule().is_some();
            flash(
                &tenant.viewer.session,
                "success",
                if starting {
                    format!(
                        "{} settings saved. It is enabled: the first run is starting now.",
                        flow.label()
                    )
                } else {
                    format!("{} settings saved.", flow.label())
                },
            );
            Ok(see_other(&format!("{}/flows/{}", nav.base, flow.kind())))
        }
        Err(problems) => {
            let mut errors = FormErrors::default();
            for (field, message) in problems {
                errors.add(field, message);
            }
            errors.general = Some("Nothing was saved: correct the fields below.".into());
            let page = settings_page(&tenant, nav, flow.as_ref(), &form, errors);
            let page = with_status(page, &tenant, &ctx, connection_id, flow.as_ref()).await?;
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    mode: String,
}

pub async fn run_flow(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, String)>,
    form: web::Form<RunForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, connection_id, kind) = path.into_inner();
    let flow = find_flow(&ctx, &kind)?;
    let nav = ConnectionNav::load(&tenant, &ctx, connection_id, flow.kind()).await?;
    let mode = match form.mode.as_str() {
        "" | "auto" => RunMode::Auto,
        "full" => RunMode::Full,
        _ => return Err(AppError::BadRequest("Choose “auto” or “full”.".into())),
    };
    let session = &tenant.viewer.session;
    match flows::run_now(&ctx, &tenant.actor, connection_id, flow.as_ref(), mode).await {
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
