//! Get Inventory: pages `GET /v3/catalog/products?include=variants`, stages what it fetched,
//! and merges it into the connection's product/variant snapshot in one transaction at the
//! end, recording stock changes as inventory events. After a full run it fetches only what
//! changed (`date_modified:min`), with a periodic full run to notice deletions.

mod decode;
mod sync;

use serde::{Deserialize, Serialize};

use super::{Flow, FlowJob, RunMode, Trigger};
use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{self, DbError, flows::FlowSettingsUpdate},
    jobs::{Job, JobFailure},
};

/// The Get Inventory settings of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySettings {
    pub enabled: bool,
    /// Minutes between scheduled runs (5 to 10,080).
    pub interval_minutes: u32,
    /// Products per request (1 to 250).
    pub page_size: u32,
    /// Do not import products hidden from the storefront.
    pub skip_hidden: bool,
    /// A full run (which notices deleted products) at least this often, in hours (1 to 720).
    pub full_sync_hours: u32,
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            interval_minutes: 60,
            page_size: 250,
            skip_hidden: false,
            full_sync_hours: 24,
        }
    }
}

/// The settings form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InventorySettingsInput {
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub interval_minutes: String,
    #[serde(default)]
    pub page_size: String,
    #[serde(default)]
    pub skip_hidden: Option<String>,
    #[serde(default)]
    pub full_sync_hours: String,
}

impl InventorySettings {
    /// Parses the form; on error, one message per field (field name, message).
    pub fn parse(input: &InventorySettingsInput) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut number = |field: &'static str,
                          raw: &str,
                          range: std::ops::RangeInclusive<u32>,
                          message: &str| {
            match raw.trim().parse::<u32>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    errors.push((field, message.to_owned()));
                    *range.start()
                }
            }
        };
        let settings = Self {
            enabled: input.enabled.is_some(),
            interval_minutes: number(
                "interval_minutes",
                &input.interval_minutes,
                5..=10_080,
                "Interval must be a whole number of minutes from 5 to 10,080 (one week).",
            ),
            page_size: number(
                "page_size",
                &input.page_size,
                1..=250,
                "Page size must be a whole number from 1 to 250.",
            ),
            skip_hidden: input.skip_hidden.is_some(),
            full_sync_hours: number(
                "full_sync_hours",
                &input.full_sync_hours,
                1..=720,
                "Full sync interval must be a whole number of hours from 1 to 720 (30 days).",
            ),
        };
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }

    fn interval_secs(&self) -> i64 {
        i64::from(self.interval_minutes) * 60
    }
}

/// What `flow_settings.settings` holds for this flow (`enabled` and the interval are
/// columns, for the scheduler). Missing fields take their defaults.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct StoredSettings {
    page_size: u32,
    skip_hidden: bool,
    full_sync_hours: u32,
}

impl Default for StoredSettings {
    fn default() -> Self {
        let d = InventorySettings::default();
        Self {
            page_size: d.page_size,
            skip_hidden: d.skip_hidden,
            full_sync_hours: d.full_sync_hours,
        }
    }
}

impl StoredSettings {
    fn of(s: &InventorySettings) -> Self {
        Self {
            page_size: s.page_size,
            skip_hidden: s.skip_hidden,
            full_sync_hours: s.full_sync_hours,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NotAllowed(String),
    /// A run of this flow is already queued or in progress.
    #[error("A run is already queued or in progress.")]
    AlreadyQueued,
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for FlowError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

/// The connection's settings (defaults if never saved).
pub async fn settings(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<InventorySettings, FlowError> {
    if db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .is_none()
    {
        return Err(FlowError::NotFound);
    }
    Ok(stored(ctx, tenant_id, connection_id).await?.0)
}

/// The saved settings (defaults if none) and the saved row's schedule, if any.
async fn stored(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<(InventorySettings, Option<db::flows::FlowSettingsRow>), DbError> {
    let Some(row) =
        db::flows::find(&ctx.db, tenant_id, connection_id, Flow::Inventory.as_str()).await?
    else {
        return Ok((InventorySettings::default(), None));
    };
    let json: StoredSettings = serde_json::from_str(&row.settings).unwrap_or_else(|e| {
        tracing::warn!(error = %e, connection_id, "unreadable inventory settings; using defaults");
        StoredSettings::default()
    });
    let settings = InventorySettings {
        enabled: row.enabled,
        interval_minutes: u32::try_from(row.interval_secs / 60)
            .unwrap_or(u32::MAX)
            .clamp(5, 10_080),
        page_size: json.page_size.clamp(1, 250),
        skip_hidden: json.skip_hidden,
        full_sync_hours: json.full_sync_hours.clamp(1, 720),
    };
    Ok((settings, Some(row)))
}

fn require_manager(actor: &Actor) -> Result<(), FlowError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(FlowError::NotAllowed(
            "Only owners and admins can change flows.".into(),
        ))
    }
}

/// When the scheduler should next run the flow after a save: enabling schedules it now,
/// a shorter interval pulls a later run in, disabling unschedules it.
fn next_run_at(
    settings: &InventorySettings,
    before: Option<&db::flows::FlowSettingsRow>,
    at: i64,
) -> Option<i64> {
    if !settings.enabled {
        return None;
    }
    match before {
        Some(row) if row.enabled => {
            let latest = at + settings.interval_secs();
            Some(row.next_run_at.map_or(at, |next| next.min(latest)))
        }
        _ => Some(at),
    }
}

/// Saves the settings (owners and admins). Enabling schedules the first run now.
pub async fn save_settings(
    ctx: &AppContext,
    actor: &Actor,
    connection_id: i64,
    settings: &InventorySettings,
) -> Result<(), FlowError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(FlowError::NotFound)?;
    let (_, before) = stored(ctx, tenant_id, connection_id).await?;
    let json = serde_json::to_string(&StoredSettings::of(settings))
        .map_err(|e| FlowError::Db(DbError::Other(sqlx::Error::Encode(Box::new(e)))))?;
    let update = FlowSettingsUpdate {
        enabled: settings.enabled,
        interval_secs: settings.interval_secs(),
        settings: &json,
        next_run_at: next_run_at(settings, before.as_ref(), db::now()),
    };
    db::flows::upsert(
        &ctx.db,
        tenant_id,
        connection_id,
        Flow::Inventory.as_str(),
        &update,
    )
    .await?;
    db::audit::record(
        &ctx.db,
        Some(tenant_id),
        Some(actor.user_id),
        "flow.settings_saved",
        &format!("{} on {}", Flow::Inventory.label(), connection.name),
    )
    .await?;
    Ok(())
}

/// Queues a run now (owners and admins); returns the job id.
pub async fn run_now(
    ctx: &AppContext,
    actor: &Actor,
    connection_id: i64,
    mode: RunMode,
) -> Result<i64, FlowError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(FlowError::NotFound)?;
    if connection.status == "disabled" {
        return Err(FlowError::NotAllowed(
            "This connection is disabled (the app was uninstalled from the store), so it cannot run flows.".into(),
        ));
    }
    if !connection.has_token {
        return Err(FlowError::NotAllowed(
            "This connection has no access token yet: connect it to BigCommerce first.".into(),
        ));
    }
    let job = FlowJob {
        mode,
        trigger: Trigger::Manual,
    };
    crate::jobs::enqueue_flow(
        ctx,
        tenant_id,
        connection_id,
        &connection.store_hash,
        Flow::Inventory,
        &job,
    )
    .await?
    .ok_or(FlowError::AlreadyQueued)
}

/// The job handler.
pub async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    sync::execute(ctx, job).await
}

#[cfg(test)]
mod tests;
