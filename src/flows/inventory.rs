//! Get Inventory: pages `GET /v3/catalog/products?include=variants`, stages what it fetched,
//! and merges it into the connection's product/variant snapshot in one transaction at the
//! end, recording stock changes as inventory events. After a full run it fetches only what
//! changed (`date_modified:min`), with a periodic full run to notice deletions.

mod decode;
mod detail;
mod sync;

use serde::{Deserialize, Serialize};

use super::{Field, FieldKind, Flow, RunButton, Schedule, ScopeProbe};
use crate::{
    context::AppContext,
    db::{self, DbError, runs::RunRow},
    jobs::{BoxFuture, Job, JobFailure, RunMode},
};

/// The flow kind.
pub const KIND: &str = "inventory";

/// Get Inventory, as the flow registry sees it.
pub struct Inventory;

/// The fields of its settings form (besides `enabled` and the interval).
const FIELDS: &[Field] = &[
    Field {
        name: "page_size",
        label: "Page size",
        help: "Products per request to BigCommerce, 1 to 250 (default 250).",
        kind: FieldKind::Number {
            min: 1,
            max: 250,
            default: 250,
            message: "Page size must be a whole number from 1 to 250.",
        },
    },
    Field {
        name: "skip_hidden",
        label: "Do not import hidden products",
        help: "Products hidden from the storefront leave the snapshot at the next run. Unticking this brings them back at the next full sync (or press “Run a full sync now”).",
        kind: FieldKind::Checkbox { default: false },
    },
    Field {
        name: "full_sync_hours",
        label: "Full sync at least every N hours",
        help: "Between full runs only changed products are fetched; a full run also notices deleted products.",
        kind: FieldKind::Number {
            min: 1,
            max: 720,
            default: 24,
            message: "Full sync interval must be a whole number of hours from 1 to 720 (30 days).",
        },
    },
];

impl Flow for Inventory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Get Inventory"
    }

    fn description(&self) -> &'static str {
        "Copies the store's products, variants and stock levels into cartbridge on a schedule, and records every stock change."
    }

    fn scope_probes(&self) -> &'static [ScopeProbe] {
        &[ScopeProbe {
            path: "/v3/catalog/products?limit=1",
            scope: "store_v2_products_read_only",
        }]
    }

    fn schedule(&self) -> Option<Schedule> {
        Some(Schedule {
            default_minutes: 60,
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
                label: "Run a full sync now",
                id: "run-full",
            },
        ]
    }

    fn run_help(&self) -> &'static str {
        "A run fetches what changed since the last full run (or everything, when a full run is due). A full sync fetches every product."
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(sync::execute(ctx, job))
    }

    fn discard_run<'a>(
        &'a self,
        ctx: &'a AppContext,
        tenant_id: i64,
        run_id: i64,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(db::inventory::discard_staging(&ctx.db, tenant_id, run_id))
    }

    fn run_detail<'a>(
        &'a self,
        ctx: &'a AppContext,
        run: &'a RunRow,
    ) -> BoxFuture<'a, Result<Option<String>, DbError>> {
        Box::pin(detail::render(ctx, run))
    }
}

/// The Get Inventory settings a run uses (decoded from the flow's stored fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySettings {
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
            page_size: 250,
            skip_hidden: false,
            full_sync_hours: 24,
        }
    }
}

/// The connection's saved settings (defaults when never saved or unreadable).
async fn stored(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<InventorySettings, DbError> {
    let (config, _) = super::stored_config(ctx, tenant_id, connection_id, &Inventory).await?;
    Ok(config.decode().unwrap_or_else(|e| {
        tracing::warn!(error = %e, connection_id, "unreadable inventory settings; using defaults");
        InventorySettings::default()
    }))
}

#[cfg(test)]
mod tests;
