//! Placed Orders: every order placed on the store becomes an `order.placed` event for the
//! partner, from BigCommerce's webhooks (`store/order/created` and `statusUpdated`, received
//! by `inbound`) the moment it is placed, and from an hourly reconciliation that pages
//! `GET /v2/orders?min_date_created=` and emits what the webhooks missed (and, from a past
//! start date, the history). Both write through one function, deduplicated per (connection,
//! order), so an order is emitted exactly once whichever path saw it first. Filters
//! (storefronts, start date) drop orders with the reason recorded; `order_source` is mapped
//! to a sales channel (default table, per-connection overrides).

mod channels;
pub mod mapping;
mod order;
mod reconcile;

use serde::{Deserialize, Serialize};

pub use order::consume;

use super::{Field, FieldKind, Flow, FlowConfig, LoadedOption, RunButton, Schedule, ScopeProbe};
use crate::{
    context::AppContext,
    db::{DbError, runs::RunRow},
    jobs::{BoxFuture, Job, JobFailure, RunMode},
};

/// The flow kind.
pub const KIND: &str = "placed_orders";

/// The scopes the flow registers.
pub const SCOPES: &[&str] = &["store/order/created", "store/order/statusUpdated"];

/// The event type it emits.
pub const EVENT_TYPE: &str = "order.placed";

pub struct PlacedOrders;

const FIELDS: &[Field] = &[
    Field {
        name: "storefronts",
        label: "Storefronts",
        help: "Tick the storefronts whose orders are sent, from the store's channel list. None ticked: every storefront.",
        kind: FieldKind::LoadedMultiChoice,
    },
    Field {
        name: "start_date",
        label: "Start date",
        help: "Orders created before this day (UTC, YYYY-MM-DD) are ignored; a past date sends the history from then. Empty: from the moment the flow is enabled.",
        kind: FieldKind::Text {
            default: "",
            check: check_start_date,
        },
    },
];

fn check_start_date(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| d.year_ce().1 >= 2000)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| {
            "Start date must be a day written YYYY-MM-DD (e.g. 2026-01-31), or empty.".into()
        })
}

use chrono::Datelike;

/// The storefront entries of the setting (channel ids, or names saved by older versions),
/// trimmed, empty ones dropped.
pub fn storefront_entries(raw: &str) -> Vec<String> {
    super::settings::multi_entries(raw)
}

/// The flow's decoded settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrdersSettings {
    #[serde(default)]
    pub storefronts: String,
    #[serde(default)]
    pub start_date: String,
}

impl PlacedOrdersSettings {
    /// The start date as UNIX seconds (midnight UTC), if set.
    pub fn start_at(&self) -> Option<i64> {
        chrono::NaiveDate::parse_from_str(&self.start_date, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
    }
}

impl Flow for PlacedOrders {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Placed Orders"
    }

    fn description(&self) -> &'static str {
        "Sends every order placed on the store to your partners as an “order.placed” event the moment it is placed (BigCommerce webhooks), and an hourly reconciliation sends any order the webhooks missed."
    }

    fn scope_probes(&self) -> &'static [ScopeProbe] {
        &[
            ScopeProbe {
                path: "/v2/orders?limit=1",
                scope: "store_v2_orders_read_only",
            },
            ScopeProbe {
                path: "/v3/channels?limit=1",
                scope: "store_channel_settings_read_only",
            },
        ]
    }

    fn schedule(&self) -> Option<Schedule> {
        Some(Schedule {
            default_minutes: 60,
            min_minutes: 15,
            max_minutes: 1440,
        })
    }

    fn fields(&self) -> &'static [Field] {
        FIELDS
    }

    fn run_buttons(&self) -> &'static [RunButton] {
        &[RunButton {
            mode: RunMode::Auto,
            label: "Reconcile now",
            id: "run-now",
        }]
    }

    fn run_help(&self) -> &'static str {
        "A run checks the store's webhooks (re-activating or re-creating them) and sends every order since the start date (or the last run) that no webhook delivered."
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(reconcile::execute(ctx, job))
    }

    fn field_choices<'a>(
        &'a self,
        ctx: &'a AppContext,
        tenant_id: i64,
        connection_id: i64,
        field: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LoadedOption>, String>> {
        Box::pin(async move {
            if field != "storefronts" {
                return Ok(Vec::new());
            }
            channels::choices(ctx, tenant_id, connection_id).await
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
            let result = if config.enabled {
                crate::inbound::ensure(ctx, tenant_id, connection_id, KIND, SCOPES).await
            } else {
                crate::inbound::remove(ctx, tenant_id, connection_id, KIND).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, connection_id, "placed orders: webhooks not (un)registered; the hourly check retries");
            }
            Ok(())
        })
    }

    fn run_detail<'a>(
        &'a self,
        _ctx: &'a AppContext,
        run: &'a RunRow,
    ) -> BoxFuture<'a, Result<Option<String>, DbError>> {
        Box::pin(async move { Ok(Some(reconcile::detail(run))) })
    }
}

/// The connection's saved settings (defaults when never saved or unreadable).
pub async fn stored(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<(bool, PlacedOrdersSettings), DbError> {
    let (config, _) = super::stored_config(ctx, tenant_id, connection_id, &PlacedOrders).await?;
    Ok((config.enabled, config.decode().unwrap_or_default()))
}
