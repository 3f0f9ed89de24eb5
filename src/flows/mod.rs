//! Flows: what cartbridge does with a connection. Each flow is one module implementing
//! [`Flow`]: its kind, label, the scopes it needs (Create & Test probes them), its settings
//! (declared fields, see `settings`), its job handler and what its run detail shows. The
//! [`Registry`] is the only list of flows; the job workers, the scheduler, Create & Test and
//! the pages all read it, and the settings, save and "Run now" services here serve every
//! flow alike. Adding a flow means a module, its templates, its migration and its tests, and
//! one line in [`Registry::standard`].

mod choices;
pub mod inventory;
pub mod placed_orders;
pub mod send_orders;
pub mod settings;
pub mod shipments;

use std::{collections::HashMap, sync::Arc};

use serde_json::{Map, Value};

pub use choices::check_loaded_choices;
pub use settings::{Field, FieldKind, FlowConfig, LoadedOption, Schedule};

use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{
        self, DbError,
        connections::ConnectionRow,
        flows::{FlowSettingsRow, FlowSettingsUpdate},
        runs::RunRow,
    },
    jobs::{self, BoxFuture, Handler, Handlers, Job, JobFailure, RunMode, SyncRequest, Trigger},
};

/// A request Create & Test sends to prove that the token holds `scope` (`""`: a request
/// every token may make, proving only that the endpoint answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeProbe {
    pub path: &'static str,
    pub scope: &'static str,
}

/// A "Run now" button of the flow's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunButton {
    pub mode: RunMode,
    pub label: &'static str,
    /// The button's element id.
    pub id: &'static str,
}

/// One flow. Implementations are stateless; what they need comes from the context.
pub trait Flow: Send + Sync {
    /// The flow's kind: its URL segment, job kind and `flow` column (`inventory`).
    fn kind(&self) -> &'static str;
    /// What merchants call it (`Get Inventory`).
    fn label(&self) -> &'static str;
    /// One sentence for its settings page.
    fn description(&self) -> &'static str;
    /// The requests that prove each scope it needs.
    fn scope_probes(&self) -> &'static [ScopeProbe];
    /// Its schedule's bounds, if it runs on one.
    fn schedule(&self) -> Option<Schedule>;
    /// Its settings, in form order.
    fn fields(&self) -> &'static [Field];
    /// The "Run now" buttons (none: it cannot be started by hand).
    fn run_buttons(&self) -> &'static [RunButton];
    /// What "Run now" explains above the buttons.
    fn run_help(&self) -> &'static str {
        ""
    }

    /// Runs one of the flow's jobs.
    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>>;

    /// The options of a [`FieldKind::LoadedChoice`] or [`FieldKind::LoadedMultiChoice`]
    /// field for a connection, loaded when the settings form is shown and checked when it
    /// is saved; `Err`: why they could not be loaded (shown beside the field).
    fn field_choices<'a>(
        &'a self,
        _ctx: &'a AppContext,
        _tenant_id: i64,
        _connection_id: i64,
        _field: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LoadedOption>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Runs after the connection's settings of this flow were saved (e.g. Send Orders
    /// sends the orders it held while it was off; Placed Orders and Get Shipments register
    /// or remove their BigCommerce webhooks). Nothing by default.
    fn after_save<'a>(
        &'a self,
        _ctx: &'a AppContext,
        _tenant_id: i64,
        _connection_id: i64,
        _config: &'a FlowConfig,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async { Ok(()) })
    }

    /// Cleans up the flow's own data of a run that will never finish (e.g. staged pages).
    fn discard_run<'a>(
        &'a self,
        _ctx: &'a AppContext,
        _tenant_id: i64,
        _run_id: i64,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async { Ok(()) })
    }

    /// The flow's own section of a run's detail page, as HTML rendered from its own
    /// (escaping) template; `None`: nothing beyond the generic counts and items.
    fn run_detail<'a>(
        &'a self,
        _ctx: &'a AppContext,
        _run: &'a RunRow,
    ) -> BoxFuture<'a, Result<Option<String>, DbError>> {
        Box::pin(async { Ok(None) })
    }
}

/// The flows this build offers, in the order pages list them.
#[derive(Clone)]
pub struct Registry {
    flows: Vec<Arc<dyn Flow>>,
}

impl Registry {
    /// Every flow cartbridge ships.
    pub fn standard() -> Self {
        Self::empty()
            .with(Arc::new(inventory::Inventory))
            .with(Arc::new(shipments::GetShipments))
            .with(Arc::new(placed_orders::PlacedOrders))
            .with(Arc::new(send_orders::SendOrders))
    }

    pub fn empty() -> Self {
        Self { flows: Vec::new() }
    }

    /// This registry plus `flow` (tests add flows of their own this way).
    pub fn with(mut self, flow: Arc<dyn Flow>) -> Self {
        assert!(
            self.find(flow.kind()).is_none(),
            "two flows of kind {:?}",
            flow.kind()
        );
        self.flows.push(flow);
        self
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Flow>> {
        self.flows.iter()
    }

    pub fn find(&self, kind: &str) -> Option<&Arc<dyn Flow>> {
        self.flows.iter().find(|f| f.kind() == kind)
    }

    /// The label of a flow kind as stored (a kind no longer offered shows as stored).
    pub fn label_of(&self, kind: &str) -> String {
        self.find(kind)
            .map_or_else(|| kind.to_owned(), |f| f.label().to_owned())
    }

    /// Each flow's label and the requests that prove the scopes it needs (Create & Test).
    pub fn scope_needs(&self) -> Vec<(&'static str, &'static [ScopeProbe])> {
        self.flows
            .iter()
            .map(|f| (f.label(), f.scope_probes()))
            .collect()
    }

    /// A job handler for every flow.
    pub fn handlers(&self) -> Handlers {
        let mut handlers = Handlers::default();
        for flow in &self.flows {
            handlers.register(Arc::new(FlowJobs(flow.clone())));
        }
        handlers
    }
}

/// Runs a flow's jobs, and ends the run of one that will not run again.
struct FlowJobs(Arc<dyn Flow>);

impl Handler for FlowJobs {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        self.0.execute(ctx, job)
    }

    fn abandon<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let Some(run) = db::runs::unfinished_for_job(&ctx.db, job.tenant_id, job.id).await?
            else {
                return Ok(());
            };
            self.0.discard_run(ctx, job.tenant_id, run.id).await?;
            db::runs::finish(&ctx.db, job.tenant_id, run.id, "failed", Some(message)).await?;
            crate::partner_api::events::after_run(ctx, job.tenant_id, run.id).await;
            Ok(())
        })
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

/// A connection's saved settings of `flow` (its defaults if never saved) and the saved
/// row, if any.
pub async fn stored_config(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &dyn Flow,
) -> Result<(FlowConfig, Option<FlowSettingsRow>), DbError> {
    let row = db::flows::find(&ctx.db, tenant_id, connection_id, flow.kind()).await?;
    let config = match &row {
        Some(row) => FlowConfig::from_stored(
            flow.schedule(),
            flow.fields(),
            row.enabled,
            row.interval_secs,
            &row.settings,
        ),
        None => FlowConfig::defaults(flow.schedule(), flow.fields()),
    };
    Ok((config, row))
}

/// The connection's settings of `flow`; `NotFound` if the connection is not the tenant's.
pub async fn config(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &dyn Flow,
) -> Result<FlowConfig, FlowError> {
    load_connection(ctx, tenant_id, connection_id).await?;
    Ok(stored_config(ctx, tenant_id, connection_id, flow).await?.0)
}

async fn load_connection(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<ConnectionRow, FlowError> {
    db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(FlowError::NotFound)
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
/// a shorter interval pulls a later run in, disabling (or having no schedule) unschedules.
pub fn next_run_at(config: &FlowConfig, before: Option<&FlowSettingsRow>, at: i64) -> Option<i64> {
    if !config.enabled || config.interval_minutes.is_none() {
        return None;
    }
    match before {
        Some(row) if row.enabled => {
            let latest = at + config.interval_secs();
            Some(row.next_run_at.map_or(at, |next| next.min(latest)))
        }
        _ => Some(at),
    }
}

/// Saves a connection's settings of `flow` (owners and admins). Enabling a scheduled flow
/// schedules its first run now.
pub async fn save_config(
    ctx: &AppContext,
    actor: &Actor,
    connection_id: i64,
    flow: &dyn Flow,
    config: &FlowConfig,
) -> Result<(), FlowError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    let connection = load_connection(ctx, tenant_id, connection_id).await?;
    let (_, before) = stored_config(ctx, tenant_id, connection_id, flow).await?;
    let json = config.values_json();
    let update = FlowSettingsUpdate {
        enabled: config.enabled,
        interval_secs: config.interval_secs(),
        settings: &json,
        next_run_at: next_run_at(config, before.as_ref(), db::now()),
    };
    db::flows::upsert(&ctx.db, tenant_id, connection_id, flow.kind(), &update).await?;
    flow.after_save(ctx, tenant_id, connection_id, config)
        .await?;
    db::audit::record(
        &ctx.db,
        Some(tenant_id),
        Some(actor.user_id),
        "flow.settings_saved",
        &format!("{} on {}", flow.label(), connection.name),
    )
    .await?;
    Ok(())
}

/// Queues a run of `flow` now (owners and admins); returns the job id.
pub async fn run_now(
    ctx: &AppContext,
    actor: &Actor,
    connection_id: i64,
    flow: &dyn Flow,
    mode: RunMode,
) -> Result<i64, FlowError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    let connection = load_connection(ctx, tenant_id, connection_id).await?;
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
    if !flow.run_buttons().iter().any(|b| b.mode == mode) {
        return Err(FlowError::NotAllowed(format!(
            "{} cannot be started that way.",
            flow.label()
        )));
    }
    let sync = SyncRequest {
        mode,
        trigger: Trigger::Manual,
    };
    jobs::enqueue_sync(
        ctx,
        tenant_id,
        connection_id,
        &connection.store_hash,
        flow.kind(),
        sync,
    )
    .await?
    .ok_or(FlowError::AlreadyQueued)
}

/// Field values by name, for building a [`FlowConfig`] in code (tests, the benchmark).
pub fn values(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A form as submitted, for [`FlowConfig::parse_form`].
pub type FormValues = HashMap<String, String>;
