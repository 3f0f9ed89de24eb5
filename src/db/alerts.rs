//! Merchant alerts: who opted out (`alert_optouts`, per member and tenant) and what was
//! alerted (`alert_states`: one row per tenant, subject and problem, so that a problem is
//! emailed at most once an hour and its recovery once, and a partner event such as
//! `connection.failed` goes out once per failing streak). Every function takes the tenant
//! id first.

use super::{BeginWrite, Db, DbError, now, on_pool};

pub async fn is_opted_out(db: &Db, tenant_id: i64, user_id: i64) -> Result<bool, DbError> {
    let sql = "SELECT COUNT(*) FROM alert_optouts WHERE tenant_id = $1 AND user_id = $2";
    let n: i64 = on_pool!(db, p => sqlx::query_scalar(sql).bind(tenant_id).bind(user_id).fetch_one(p).await)?;
    Ok(n > 0)
}

/// Opts the member out of alert emails (`true`) or back in.
pub async fn set_opted_out(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    out: bool,
) -> Result<(), DbError> {
    if out {
        let sql = "INSERT INTO alert_optouts (tenant_id, user_id, created_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (tenant_id, user_id) DO NOTHING";
        on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(user_id).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    } else {
        let sql = "DELETE FROM alert_optouts WHERE tenant_id = $1 AND user_id = $2";
        on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The owners and admins who get alerts: not opted out, email confirmed, not locked.
pub async fn recipients(db: &Db, tenant_id: i64) -> Result<Vec<(i64, String)>, DbError> {
    let sql = "SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
               WHERE m.tenant_id = $1 AND m.role IN ('owner', 'admin') \
               AND u.email_verified_at IS NOT NULL AND u.locked_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM alert_optouts o WHERE o.tenant_id = m.tenant_id AND o.user_id = u.id) \
               ORDER BY u.id";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, (i64, String)>(sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

/// What an alert decision changes: whether to email now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Email about the problem now (first time, or the hour since the last one has passed).
    Alert,
    /// The problem ended after an alert: email the recovery.
    Recovered,
    /// Nothing to send.
    Quiet,
}

/// Records that `problem` of `subject` is ongoing (`active`) or over at `at`, and says
/// whether to email: a problem at most once per `throttle_secs`, its recovery once. One
/// transaction, so two processes seeing the same failure send one email.
pub async fn observe(
    db: &Db,
    tenant_id: i64,
    subject: &str,
    problem: &str,
    active: bool,
    at: i64,
    throttle_secs: i64,
) -> Result<Decision, DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let row: Option<(bool, Option<i64>)> = sqlx::query_as(
            "SELECT active, last_sent_at FROM alert_states WHERE tenant_id = $1 AND subject = $2 AND problem = $3")
            .bind(tenant_id).bind(subject).bind(problem).fetch_optional(&mut *tx).await?;
        let decision = match (row, active) {
            (None, true) => Decision::Alert,
            (None, false) => Decision::Quiet,
            (Some((_, last)), true) => match last {
                Some(last) if at - last < throttle_secs => Decision::Quiet,
                _ => Decision::Alert,
            },
            (Some((true, _)), false) => Decision::Recovered,
            (Some((false, _)), false) => Decision::Quiet,
        };
        if row.is_some() || active {
            let sent = matches!(decision, Decision::Alert);
            sqlx::query(
                "INSERT INTO alert_states (tenant_id, subject, problem, active, last_sent_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, subject, problem) DO UPDATE \
                 SET active = $4, last_sent_at = CASE WHEN $7 THEN $6 ELSE alert_states.last_sent_at END, updated_at = $6")
                .bind(tenant_id).bind(subject).bind(problem).bind(active)
                .bind(if sent { Some(at) } else { None }).bind(at).bind(sent)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<Decision, sqlx::Error>(decision)
    })
    .map_err(DbError::from)
}

/// Records that `problem` of `subject` is ongoing (`active`) or over at `at`, and says
/// whether this starts it: `true` when it is ongoing now and was not before (never seen, or
/// over since). One transaction, so two processes seeing the same failure agree on one
/// start.
pub async fn start_or_end(
    db: &Db,
    tenant_id: i64,
    subject: &str,
    problem: &str,
    active: bool,
    at: i64,
) -> Result<bool, DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let was: Option<bool> = sqlx::query_scalar(
            "SELECT active FROM alert_states WHERE tenant_id = $1 AND subject = $2 AND problem = $3")
            .bind(tenant_id).bind(subject).bind(problem).fetch_optional(&mut *tx).await?;
        let started = active && was != Some(true);
        if was.is_some() || active {
            sqlx::query(
                "INSERT INTO alert_states (tenant_id, subject, problem, active, last_sent_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, subject, problem) DO UPDATE \
                 SET active = $4, last_sent_at = COALESCE($5, alert_states.last_sent_at), updated_at = $6")
                .bind(tenant_id).bind(subject).bind(problem).bind(active)
                .bind(if started { Some(at) } else { None }).bind(at)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<bool, sqlx::Error>(started)
    })
    .map_err(DbError::from)
}
