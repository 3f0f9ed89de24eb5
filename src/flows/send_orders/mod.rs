//! Send Orders: purchase orders from trading partners (API, CSV, form) become orders in the
//! store, exactly once. Intake stores the PO, its lines and its job (`po:<id>`) in one
//! transaction; `po_number` is unique per connection and is the idempotency key (the
//! canonical body's hash tells a retry, 200, from a changed body, 409). While the flow is
//! off a PO is `held`; saving it enabled queues every held PO. The job (`job.rs`) resolves
//! SKUs and the customer, commits `sending`, then POSTs; after an unknown outcome the next
//! attempt first looks the order up by `external_order_id` and adopts it.

pub mod csv_import;
pub mod job;
pub mod po;
pub mod view;

use serde::{Deserialize, Serialize};

use super::{Field, FieldKind, Flow, FlowConfig, LoadedOption, RunButton, Schedule, ScopeProbe};
use crate::{
    context::AppContext,
    db::{
        self, DbError,
        connections::ConnectionRow,
        purchase_orders::{self as pos, Created, PoJob, PoRow},
    },
    jobs::{BoxFuture, Job, JobFailure},
};

pub use po::PurchaseOrder;

/// The flow kind (and the kind of each PO's job).
pub const KIND: &str = "send_orders";

/// Send Orders, as the flow registry sees it.
pub struct SendOrders;

pub const CUSTOMER_MODES: &[(&str, &str)] = &[
    ("guest", "Send as guest (customer id 0)"),
    (
        "create",
        "Create the customer if no customer with that email exists",
    ),
    ("existing", "Use an existing customer, or fail the PO"),
];

const FIELDS: &[Field] = &[
    Field {
        name: "customer_mode",
        label: "Customer",
        help: "Who the order belongs to in the store. “Create” looks the email up and creates the customer on a miss; “existing” fails a PO whose email is not a customer.",
        kind: FieldKind::Choice {
            options: CUSTOMER_MODES,
            default: "guest",
        },
    },
    Field {
        name: "status_id",
        label: "Order status",
        help: "The status new orders get, from your store's own list (default: Awaiting Fulfillment).",
        kind: FieldKind::LoadedChoice { default: "11" },
    },
    Field {
        name: "external_source",
        label: "External source",
        help: "Written on each order as external_source, so the store shows where it came from.",
        kind: FieldKind::Text {
            default: "cartbridge",
            check: check_external_source,
        },
    },
    Field {
        name: "refuse_over_stock",
        label: "Refuse lines beyond known stock",
        help: "Fail a PO whose line asks for more than the stock cartbridge knows of (from Get Inventory, or the store).",
        kind: FieldKind::Checkbox { default: false },
    },
];

/// `external_source`: one line of 1 to 100 characters, without control characters.
fn check_external_source(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.chars().count() > 100 || raw.chars().any(char::is_control) {
        Err("External source must be 1 to 100 characters.".into())
    } else {
        Ok(raw.to_owned())
    }
}

/// The Send Orders settings a job uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOrdersSettings {
    #[serde(skip)]
    pub enabled: bool,
    /// `guest`, `create` or `existing`.
    pub customer_mode: String,
    /// The order status id, as text (from `GET /v2/order_statuses`).
    pub status_id: String,
    pub external_source: String,
    pub refuse_over_stock: bool,
}

impl Default for SendOrdersSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            customer_mode: "guest".into(),
            status_id: "11".into(),
            external_source: "cartbridge".into(),
            refuse_over_stock: false,
        }
    }
}

impl SendOrdersSettings {
    pub fn status_id(&self) -> i64 {
        self.status_id.parse().unwrap_or(11)
    }

    /// The settings as a flow config (tests, the benchmark).
    pub fn config(&self) -> FlowConfig {
        FlowConfig {
            enabled: self.enabled,
            interval_minutes: None,
            values: super::values(&[
                ("customer_mode", self.customer_mode.clone().into()),
                ("status_id", self.status_id.clone().into()),
                ("external_source", self.external_source.clone().into()),
                ("refuse_over_stock", self.refuse_over_stock.into()),
            ]),
        }
    }
}

/// The connection's saved settings (defaults when never saved or unreadable).
pub async fn settings(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<SendOrdersSettings, DbError> {
    let (config, _) = super::stored_config(ctx, tenant_id, connection_id, &SendOrders).await?;
    let mut settings: SendOrdersSettings = config.decode().unwrap_or_default();
    settings.enabled = config.enabled;
    Ok(settings)
}

impl Flow for SendOrders {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Send Orders"
    }

    fn description(&self) -> &'static str {
        "Turns each purchase order from your trading partners (API, CSV upload or the form) into an order in the store, exactly once. While it is off, purchase orders are accepted and held."
    }

    fn scope_probes(&self) -> &'static [ScopeProbe] {
        &[
            ScopeProbe {
                path: "/v2/orders?limit=1",
                scope: "store_v2_orders",
            },
            ScopeProbe {
                path: "/v3/customers?limit=1",
                scope: "store_v2_customers",
            },
        ]
    }

    fn schedule(&self) -> Option<Schedule> {
        None
    }

    fn fields(&self) -> &'static [Field] {
        FIELDS
    }

    fn run_buttons(&self) -> &'static [RunButton] {
        &[]
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(job::execute(ctx, job))
    }

    fn field_choices<'a>(
        &'a self,
        ctx: &'a AppContext,
        tenant_id: i64,
        connection_id: i64,
        field: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LoadedOption>, String>> {
        Box::pin(async move {
            if field != "status_id" {
                return Ok(Vec::new());
            }
            let statuses = job::order_statuses(ctx, tenant_id, connection_id).await?;
            Ok(statuses
                .into_iter()
                .map(|(value, label)| LoadedOption::new(value, label))
                .collect())
        })
    }

    fn after_save<'a>(
        &'a self,
        ctx: &'a AppContext,
        tenant_id: i64,
        connection_id: i64,
        config: &'a FlowConfig,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            if config.enabled {
                release_held(ctx, tenant_id, connection_id).await?;
            }
            Ok(())
        })
    }
}

fn po_job<'a>(ctx: &AppContext, connection: &'a ConnectionRow) -> PoJob<'a> {
    PoJob {
        kind: KIND,
        store_hash: &connection.store_hash,
        max_attempts: i32::try_from(ctx.jobs.max_attempts).unwrap_or(i32::MAX),
    }
}

/// What submitting a PO did.
#[derive(Debug)]
pub enum Intake {
    /// Stored (`received`, its job queued, or `held`).
    Created(PoRow),
    /// The same PO number with the same body: the stored PO.
    Same(PoRow),
    /// The same PO number with a different body: the stored PO.
    Changed(PoRow),
}

/// Who submitted a PO.
#[derive(Debug, Clone, Copy)]
pub struct Submitter<'a> {
    /// `api`, `csv` or `form`.
    pub source: &'a str,
    pub api_key_id: Option<i64>,
    pub user_id: Option<i64>,
}

/// Stores a valid PO for a connection (idempotent on its number).
pub async fn submit(
    ctx: &AppContext,
    connection: &ConnectionRow,
    po: &PurchaseOrder,
    by: Submitter<'_>,
) -> Result<Intake, DbError> {
    let tenant_id = connection.tenant_id;
    let enabled = settings(ctx, tenant_id, connection.id).await?.enabled;
    let body = po.canonical();
    let hash = po.body_hash();
    let lines: Vec<pos::NewLine<'_>> = po
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity, l.price.as_deref()))
        .collect();
    let new = pos::NewPo {
        connection_id: connection.id,
        po_number: &po.po_number,
        source: by.source,
        body: &body,
        body_hash: &hash,
        customer_email: &po.customer.email,
        status: if enabled { "received" } else { "held" },
        api_key_id: by.api_key_id,
        created_by: by.user_id,
    };
    let created = pos::create(&ctx.db, tenant_id, &new, &lines, &po_job(ctx, connection)).await?;
    let (id, same) = match created {
        Created::New(id) => {
            crate::jobs::wake();
            let row = pos::find(&ctx.db, tenant_id, id)
                .await?
                .ok_or(DbError::NotFound)?;
            return Ok(Intake::Created(row));
        }
        Created::Exists { id, body_hash } => (id, body_hash == hash),
    };
    let row = pos::find(&ctx.db, tenant_id, id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(if same {
        Intake::Same(row)
    } else {
        Intake::Changed(row)
    })
}

/// Queues every held PO of the connection (the flow was turned on).
pub async fn release_held(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Vec<i64>, DbError> {
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let ids = pos::requeue(
        &ctx.db,
        tenant_id,
        connection_id,
        "held",
        None,
        &po_job(ctx, &connection),
    )
    .await?;
    if !ids.is_empty() {
        crate::jobs::wake();
    }
    Ok(ids)
}

/// Sends a failed PO again (after its cause was fixed); false if it is not `failed`.
pub async fn retry(ctx: &AppContext, tenant_id: i64, po_id: i64) -> Result<bool, DbError> {
    let Some(po) = pos::find(&ctx.db, tenant_id, po_id).await? else {
        return Err(DbError::NotFound);
    };
    let connection = db::connections::find(&ctx.db, tenant_id, po.connection_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let enabled = settings(ctx, tenant_id, po.connection_id).await?.enabled;
    if !enabled {
        return pos::set_status(&ctx.db, tenant_id, po_id, &["failed"], "held").await;
    }
    let ids = pos::requeue(
        &ctx.db,
        tenant_id,
        po.connection_id,
        "failed",
        Some(po_id),
        &po_job(ctx, &connection),
    )
    .await?;
    crate::jobs::wake();
    Ok(!ids.is_empty())
}

/// Cancels a held (or failed) PO; false if it is in neither status.
pub async fn cancel(ctx: &AppContext, tenant_id: i64, po_id: i64) -> Result<bool, DbError> {
    pos::set_status(&ctx.db, tenant_id, po_id, &["held", "failed"], "cancelled").await
}

/// What a CSV import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    /// Already received with the same body (a re-upload).
    pub unchanged: usize,
}

/// Imports a CSV file: every line checked first (a PO number already received with another
/// body is a bad line too), then each PO submitted. Any bad line imports nothing.
pub async fn import_csv(
    ctx: &AppContext,
    connection: &ConnectionRow,
    text: &str,
    user_id: i64,
) -> Result<Result<ImportReport, Vec<csv_import::BadLine>>, DbError> {
    let pos = match csv_import::parse(text) {
        Ok(pos) => pos,
        Err(bad) => return Ok(Err(bad)),
    };
    let mut bad = Vec::new();
    for (line, po) in &pos {
        if let Some(row) =
            pos::find_by_number(&ctx.db, connection.tenant_id, connection.id, &po.po_number).await?
            && row.body_hash != po.body_hash()
        {
            bad.push(csv_import::BadLine {
                line: *line,
                reason: format!(
                    "PO {} was already received with different contents; use a new po_number.",
                    po.po_number
                ),
            });
        }
    }
    if !bad.is_empty() {
        return Ok(Err(bad));
    }
    let mut report = ImportReport::default();
    let by = Submitter {
        source: "csv",
        api_key_id: None,
        user_id: Some(user_id),
    };
    for (_, po) in &pos {
        match submit(ctx, connection, po, by).await? {
            Intake::Created(_) => report.created += 1,
            Intake::Same(_) | Intake::Changed(_) => report.unchanged += 1,
        }
    }
    Ok(Ok(report))
}
