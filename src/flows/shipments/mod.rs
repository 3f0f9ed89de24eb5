//! Get Shipments: carrier and tracking from the store back to the partner. A scheduled run
//! asks for the orders modified since its watermark (on the store's clock, less an
//! overlap), keeps those Shipped or Partially Shipped (and, by default, only those
//! cartbridge sent as purchase orders), reads each one's shipments and records each
//! shipment once per BigCommerce id (a change to a known one is recorded as an update).
//! Recording maps items back to PO lines and SKUs, moves the PO to `partially_shipped` or
//! `shipped`, and writes `shipment.created` / `shipment.updated` to the outbox in the same
//! transaction. A shipment webhook (when the receiver delivers one) queues a job that
//! fetches that one shipment and records it the same way; polling stays on as the net.

mod poll;
mod record;

use serde::{Deserialize, Serialize};

use super::{Field, FieldKind, Flow, FlowConfig, RunButton, Schedule, ScopeProbe};
use crate::{
    context::AppContext,
    db::inbound::InboxRow,
    db::{self, DbError},
    inbound::Outcome,
    jobs::{self, BoxFuture, Job, JobFailure, JobRequest, RunMode},
};

pub use record::known_provider;

/// The flow kind.
pub const KIND: &str = "get_shipments";

/// The BigCommerce webhook scopes to register when "also listen for shipment webhooks" is
/// on (the shared receiver's registration functions take these).
pub const WEBHOOK_SCOPES: &[&str] = &["store/shipment/created", "store/shipment/updated"];

/// Get Shipments, as the flow registry sees it.
pub struct GetShipments;

const FIELDS: &[Field] = &[
    Field {
        name: "which_orders",
        label: "Which orders",
        help: "Orders cartbridge sent as purchase orders, or every order in the store (for partners who want every fulfilment).",
        kind: FieldKind::Choice {
            options: &[
                ("sent", "Orders cartbridge sent"),
                ("all", "Every order in the store"),
            ],
            default: "sent",
        },
    },
    Field {
        name: "listen_webhooks",
        label: "Also listen for shipment webhooks",
        help: "Registers store/shipment/created and store/shipment/updated with the store: a new shipment is fetched within seconds. Scheduled runs stay on as the safety net.",
        kind: FieldKind::Checkbox { default: false },
    },
    Field {
        name: "backfill_days",
        label: "Backfill window (days)",
        help: "The first run only starts watching from now. “Backfill now” imports the shipments of orders modified in this many past days.",
        kind: FieldKind::Number {
            min: 1,
            max: 3650,
            default: 30,
            message: "Backfill window must be a whole number of days from 1 to 3,650.",
        },
    },
];

impl Flow for GetShipments {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Get Shipments"
    }

    fn description(&self) -> &'static str {
        "Brings each shipment's carrier and tracking number from the store back to the partner who sent the purchase order."
    }

    fn scope_probes(&self) -> &'static [ScopeProbe] {
        &[ScopeProbe {
            path: "/v2/orders?limit=1",
            scope: "store_v2_orders_read_only",
        }]
    }

    fn schedule(&self) -> Option<Schedule> {
        Some(Schedule {
            default_minutes: 15,
            min_minutes: 5,
            max_minutes: 10_080,
        })
    }

    fn fields(&self) -> &'static [Field] {
        FIELDS
    }

    fn run_buttons(&self) -> &'static [RunButton] {
        &[
            RunButton {
                mode: RunMode::Auto,
                label: "Run now",
                id: "run-now",
            },
            RunButton {
                mode: RunMode::Full,
                label: "Backfill now",
                id: "run-backfill",
            },
        ]
    }

    fn run_help(&self) -> &'static str {
        "A run reads the orders changed since the last one. The first run only sets where to start; “Backfill now” also imports the shipments of orders modified within the backfill window."
    }

    /// Registers the shipment scopes while the flow is enabled and listening, and removes
    /// them otherwise (the hourly hook check of a run re-registers what went missing).
    fn after_save<'a>(
        &'a self,
        ctx: &'a AppContext,
        tenant_id: i64,
        connection_id: i64,
        config: &'a FlowConfig,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let listen = config
                .decode::<ShipmentSettings>()
                .is_ok_and(|s| s.listen_webhooks);
            let result = if config.enabled && listen {
                crate::inbound::ensure(ctx, tenant_id, connection_id, KIND, WEBHOOK_SCOPES).await
            } else {
                crate::inbound::remove(ctx, tenant_id, connection_id, KIND).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, connection_id, "get shipments: webhooks not (un)registered; the next run's check retries");
            }
            Ok(())
        })
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            match serde_json::from_str::<FetchOne>(&job.payload) {
                Ok(one) => poll::fetch_one(ctx, job, one).await,
                Err(_) => poll::execute(ctx, job).await,
            }
        })
    }
}

/// The Get Shipments settings a run uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentSettings {
    /// `sent` (orders cartbridge sent) or `all`.
    pub which_orders: String,
    pub listen_webhooks: bool,
    pub backfill_days: u32,
}

impl Default for ShipmentSettings {
    fn default() -> Self {
        Self {
            which_orders: "sent".into(),
            listen_webhooks: false,
            backfill_days: 30,
        }
    }
}

impl ShipmentSettings {
    pub fn every_order(&self) -> bool {
        self.which_orders == "all"
    }
}

/// The connection's saved settings and whether the flow is enabled (defaults when never
/// saved or unreadable).
pub async fn stored(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<(bool, ShipmentSettings), DbError> {
    let (config, _) = super::stored_config(ctx, tenant_id, connection_id, &GetShipments).await?;
    let settings = config.decode().unwrap_or_else(|e| {
        tracing::warn!(error = %e, connection_id, "unreadable shipment settings; using defaults");
        ShipmentSettings::default()
    });
    Ok((config.enabled, settings))
}

/// The payload of a "fetch one shipment" job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchOne {
    pub order_id: i64,
    pub shipment_id: i64,
}

/// Queues a job that fetches one shipment (`GET /v2/orders/{order_id}/shipments/{id}`) and
/// records it exactly as polling does, with the same events. Keyed per shipment: a second
/// delivery while one is queued is absorbed. `None`: already queued.
pub async fn enqueue_fetch_one(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    order_id: i64,
    shipment_id: i64,
) -> Result<Option<i64>, DbError> {
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let request = JobRequest {
        tenant_id,
        connection_id: Some(connection_id),
        kind: KIND,
        key: Some(format!("shipment:{connection_id}:{order_id}:{shipment_id}")),
        store_hash: Some(&connection.store_hash),
        payload: jobs::to_payload(&FetchOne {
            order_id,
            shipment_id,
        })?,
        run_at: db::now(),
    };
    jobs::enqueue(ctx, &request).await
}

/// What the shared BigCommerce webhook receiver's dispatch calls for a `store/shipment/*`
/// delivery (`data.orderId`, `data.id`): queues the fetch when the connection's Get
/// Shipments is enabled and listens for webhooks; otherwise ignores it (`Ok(None)`).
pub async fn on_shipment_webhook(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    order_id: i64,
    shipment_id: i64,
) -> Result<Option<i64>, DbError> {
    let (enabled, settings) = stored(ctx, tenant_id, connection_id).await?;
    if !enabled || !settings.listen_webhooks {
        return Ok(None);
    }
    enqueue_fetch_one(ctx, tenant_id, connection_id, order_id, shipment_id).await
}

/// The receiver's consumer of `store/shipment/created` and `store/shipment/updated`: the
/// delivery's `data` is `{"type":"shipment","id":12,"orderId":251}` (REFERENCE §8), and the
/// fetch of that one shipment is queued at once.
pub fn consume<'a>(
    ctx: &'a AppContext,
    row: &'a InboxRow,
) -> BoxFuture<'a, Result<Outcome, JobFailure>> {
    Box::pin(async move {
        #[derive(Deserialize)]
        struct Data {
            id: i64,
            #[serde(rename = "orderId")]
            order_id: i64,
        }
        #[derive(Deserialize)]
        struct Delivery {
            data: Data,
        }
        let Ok(Delivery { data }) = serde_json::from_str::<Delivery>(&row.body) else {
            return Ok(Outcome::Skipped(
                "The delivery names no shipment and order id.".into(),
            ));
        };
        let queued = on_shipment_webhook(
            ctx,
            row.tenant_id,
            row.connection_id,
            data.order_id,
            data.id,
        )
        .await
        .map_err(|e| JobFailure::Retry(e.to_string()))?;
        Ok(match queued {
            Some(_) => Outcome::Done(Some(format!(
                "Shipment {} of order {} is being fetched.",
                data.id, data.order_id
            ))),
            None if wants_webhooks(ctx, row.tenant_id, row.connection_id)
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))? =>
            {
                Outcome::Done(Some(format!(
                    "Shipment {} of order {} was already being fetched.",
                    data.id, data.order_id
                )))
            }
            None => Outcome::Skipped("Get Shipments is not listening for webhooks.".into()),
        })
    })
}

/// Whether the connection's shipment webhooks should be registered (enabled and listening):
/// the receiver's `ensure`/`remove` for [`WEBHOOK_SCOPES`] follows this after a save.
pub async fn wants_webhooks(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<bool, DbError> {
    let (enabled, settings) = stored(ctx, tenant_id, connection_id).await?;
    Ok(enabled && settings.listen_webhooks)
}
