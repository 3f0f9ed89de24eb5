//! The support-staff console's service layer: tenant search and detail, "needs attention"
//! across tenants, the job queue, and the support actions (each with a reason and one audit
//! entry). Reads records and their statuses only: this module (and `web::admin`) never
//! touches the vault or a ciphertext column, which `tests/web/admin.rs` checks on the
//! source (no path from here to `vault`, `db::sealed` or a `*_ct` read).

pub mod actions;
pub mod attention;

use crate::{
    connections::overview::{self, ConnectionOverview},
    context::AppContext,
    db::{
        self, DbError,
        admin::{MemberStatus, RunSummary, TenantRow, TenantSummary},
    },
};

/// Tenants listed per search.
pub const TENANTS_SHOWN: i64 = 100;
/// Runs listed on a tenant's page.
pub const RUNS_SHOWN: i64 = 20;

/// Why a staff request could not be done; `Display` is what staff are told.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("not found")]
    NotFound,
    /// Bad input or a state the action does not apply to; nothing changed.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
}

pub async fn search(ctx: &AppContext, query: &str) -> Result<Vec<TenantSummary>, DbError> {
    db::admin::search_tenants(&ctx.db, query, TENANTS_SHOWN).await
}

/// Everything a tenant's staff page shows.
pub struct TenantDetail {
    pub tenant: TenantRow,
    pub members: Vec<MemberStatus>,
    pub connections: Vec<ConnectionOverview>,
    pub runs: Vec<RunSummary>,
}

pub async fn tenant(ctx: &AppContext, tenant_id: i64) -> Result<TenantDetail, AdminError> {
    let tenant = db::admin::find_tenant(&ctx.db, tenant_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let members = db::admin::members(&ctx.db, tenant_id).await?;
    let (connections, _) = overview::load(ctx, tenant_id).await?;
    let runs = db::admin::recent_runs(&ctx.db, tenant_id, RUNS_SHOWN).await?;
    Ok(TenantDetail {
        tenant,
        members,
        connections,
        runs,
    })
}

/// A reason given for a support action: 3–500 characters, no control characters.
#[derive(Debug, Clone)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, AdminError> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars < 3 {
            return Err(AdminError::Invalid(
                "Give a reason (at least 3 characters): it goes into the audit log.".into(),
            ));
        }
        if chars > 500 {
            return Err(AdminError::Invalid(
                "The reason is too long: 500 characters at most.".into(),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(AdminError::Invalid(
                "The reason cannot contain control characters such as line breaks or tabs.".into(),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
