//! Flows: what cartbridge does with a connection, each a job handler with its own settings.
//! Get Inventory is the first (`inventory`).

pub mod inventory;

use serde::{Deserialize, Serialize};

use crate::{
    context::AppContext,
    db::{self, DbError},
    jobs::{Job, JobFailure},
};

/// A kind of flow; its name is the job kind and the `flow` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Inventory,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "inventory" => Some(Self::Inventory),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Inventory => "Get Inventory",
        }
    }
}

/// What a "Run now" asks for: the flow's usual choice, or a full run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Incremental when a full run succeeded recently enough, else full.
    Auto,
    Full,
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }
}

/// The payload of a flow job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowJob {
    pub mode: RunMode,
    pub trigger: Trigger,
}

/// Runs a claimed job with the handler its kind names.
pub async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    match Flow::parse(&job.kind) {
        Some(Flow::Inventory) => inventory::execute(ctx, job).await,
        None if job.kind == "webhook_delivery" => {
            crate::partner_api::webhooks::execute(ctx, job).await
        }
        None => Err(JobFailure::Fail(format!(
            "no handler for jobs of kind {:?}",
            job.kind
        ))),
    }
}

/// Ends the unfinished run of a job that will not run again (its worker died during the
/// last attempt), so that the history does not show it running forever.
pub async fn abandon(ctx: &AppContext, job: &Job, message: &str) -> Result<(), DbError> {
    let Some(run) = db::runs::unfinished_for_job(&ctx.db, job.tenant_id, job.id).await? else {
        return Ok(());
    };
    if Flow::parse(&job.kind) == Some(Flow::Inventory) {
        db::inventory::discard_staging(&ctx.db, job.tenant_id, run.id).await?;
    }
    db::runs::finish(&ctx.db, job.tenant_id, run.id, "failed", Some(message)).await
}
