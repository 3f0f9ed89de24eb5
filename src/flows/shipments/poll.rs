//! The Get Shipments jobs. A scheduled (or "Run now") run pages
//! `GET /v2/orders?min_date_modified=…&sort=date_modified:asc&limit=250` from the last
//! run's watermark less an overlap (both on the store's clock: the watermark is the latest
//! `date_modified` the store reported, or its `/v2/time` for a first run), only while full
//! pages come back, keeps Shipped (2) and Partially Shipped (3) orders (of those
//! cartbridge sent, unless every order is watched), and reads each kept order's shipments.
//! A bad order or shipment becomes a run item and the run goes on; an order whose
//! shipments could not be read is tried again by the next run. The first run only sets
//! the watermark; "Backfill now" starts `backfill_days` back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::{self, BcShipment, ContextError, Note, PoContext};
use super::{FetchOne, KIND, ShipmentSettings, stored};
use crate::{
    bigcommerce::{BigCommerceError, StoreClient},
    connections::store::{ConnectionError, access_token},
    context::AppContext,
    db::{
        self, DbError,
        connections::ConnectionRow,
        runs::{NewRun, Progress},
        shipments::Recorded,
    },
    domain::{Secret, StoreHash, connection::permission_of},
    jobs::{Job, JobFailure, RunMode, SyncRequest},
};

/// Orders per list page (BigCommerce's largest).
const PAGE: usize = 250;

/// How far before the watermark each run asks again: edits saved while the last run read
/// its pages, and clock skew, are fetched again rather than missed (as Get Inventory).
pub(super) const OVERLAP_SECS: i64 = 120;

/// Statuses that have shipments: Shipped, Partially Shipped.
const SHIPPED: [i64; 2] = [2, 3];

/// A run's checkpoint (`runs.cursor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// The `min_date_modified` this run asks from (unix seconds, the store's clock).
    #[serde(default)]
    pub since: Option<i64>,
    /// The next run's watermark: the latest `date_modified` seen (or the store's clock at
    /// a first run).
    #[serde(default)]
    pub watermark: Option<i64>,
    /// Orders whose shipments could not be read: the next run reads them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_orders: Vec<i64>,
    /// A first run that only set the watermark.
    #[serde(default)]
    pub baseline: bool,
}

impl Cursor {
    fn parse(raw: &str) -> Self {
        serde_json::from_str(raw).unwrap_or_default()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Why a run stopped.
enum RunError {
    BigCommerce(BigCommerceError),
    Db(DbError),
}

impl From<DbError> for RunError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

impl From<BigCommerceError> for RunError {
    fn from(e: BigCommerceError) -> Self {
        Self::BigCommerce(e)
    }
}

fn retry_db(e: DbError) -> JobFailure {
    JobFailure::Retry(format!("cartbridge could not read its database: {e}"))
}

/// The run being worked on.
struct Run {
    id: i64,
    cursor: Cursor,
    progress: Progress,
    /// Orders whose shipments could not be read in this run.
    retry: BTreeSet<i64>,
}

#[tracing::instrument(skip_all, fields(tenant = job.tenant_id, job = job.id))]
pub(super) async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    let request: SyncRequest = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::Fail(format!("This job's request could not be read ({e}).")))?;
    let tenant_id = job.tenant_id;
    let connection = load_connection(ctx, job).await?;
    // The safety net's other half: while listening, a shipment hook found deactivated or
    // missing on the store is re-activated or re-created (and shown on the connection page
    // meanwhile), and registrations dropped by an app uninstall come back after the
    // re-install.
    if let Err(e) = crate::inbound::keep(
        ctx,
        tenant_id,
        connection.id,
        KIND,
        super::WEBHOOK_SCOPES,
        || super::wants_webhooks(ctx, tenant_id, connection.id),
    )
    .await
    {
        tracing::warn!(error = %e, connection_id = connection.id, "get shipments: hook check failed");
    }
    let (_, settings) = stored(ctx, tenant_id, connection.id)
        .await
        .map_err(retry_db)?;
    let previous = db::runs::last_succeeded(&ctx.db, tenant_id, connection.id, KIND, None)
        .await
        .map_err(retry_db)?
        .map(|r| Cursor::parse(&r.cursor));
    let backfill = request.mode == RunMode::Full;
    let new = NewRun {
        connection_id: connection.id,
        flow: KIND,
        job_id: job.id,
        triggered_by: request.trigger.as_str(),
        mode: if backfill { "full" } else { "incremental" },
    };
    let run_id = match db::runs::unfinished_for_job(&ctx.db, tenant_id, job.id)
        .await
        .map_err(retry_db)?
    {
        Some(row) => {
            db::runs::resume(&ctx.db, tenant_id, row.id)
                .await
                .map_err(retry_db)?;
            row.id
        }
        None => db::runs::create(&ctx.db, tenant_id, &new)
            .await
            .map_err(retry_db)?,
    };
    let mut run = Run {
        id: run_id,
        cursor: Cursor::default(),
        progress: Progress::default(),
        retry: BTreeSet::new(),
    };
    let (token, hash) = match credentials(ctx, &connection).await {
        Ok(c) => c,
        Err(message) => {
            end_run(ctx, tenant_id, run.id, "failed", &message).await;
            return Err(JobFailure::Fail(message));
        }
    };
    let client = ctx.bigcommerce.store(&hash, &token).bulk();
    let walk = Walk {
        ctx,
        tenant_id,
        connection_id: connection.id,
        settings: &settings,
        client: &client,
    };
    match walk.run(&mut run, previous, backfill).await {
        Ok(()) => {
            tracing::info!(run = run.id, progress = ?run.progress, "shipments run");
            db::runs::finish(&ctx.db, tenant_id, run.id, "succeeded", None)
                .await
                .map_err(retry_db)
        }
        Err(e) => {
            let (message, retry) = match &e {
                RunError::BigCommerce(error) => (explain(error, &hash), error.is_retryable()),
                RunError::Db(e) => (
                    format!("cartbridge could not save the run's data: {e}"),
                    true,
                ),
            };
            let last = !retry || job.is_last_attempt();
            end_run(
                ctx,
                tenant_id,
                run.id,
                if last { "failed" } else { "retrying" },
                &message,
            )
            .await;
            Err(if retry {
                JobFailure::Retry(message)
            } else {
                JobFailure::Fail(message)
            })
        }
    }
}

async fn load_connection(ctx: &AppContext, job: &Job) -> Result<ConnectionRow, JobFailure> {
    let connection_id = job
        .connection_id
        .ok_or_else(|| JobFailure::Fail("This job names no connection.".into()))?;
    db::connections::find(&ctx.db, job.tenant_id, connection_id)
        .await
        .map_err(retry_db)?
        .ok_or_else(|| JobFailure::Fail("The connection no longer exists.".into()))
}

/// One run's walk over the store.
struct Walk<'a> {
    ctx: &'a AppContext,
    tenant_id: i64,
    connection_id: i64,
    settings: &'a ShipmentSettings,
    client: &'a StoreClient<'a>,
}

impl Walk<'_> {
    async fn run(
        &self,
        run: &mut Run,
        previous: Option<Cursor>,
        backfill: bool,
    ) -> Result<(), RunError> {
        let previous_watermark = previous.as_ref().and_then(|c| c.watermark);
        let retry_orders = previous.map(|c| c.retry_orders).unwrap_or_default();
        let since = match (backfill, previous_watermark) {
            (false, Some(mark)) => mark - OVERLAP_SECS,
            (false, None) => {
                // A first run: start watching from now, import nothing.
                let now = self.client.store_time().await?.time;
                run.cursor = Cursor {
                    since: None,
                    watermark: Some(now),
                    retry_orders: Vec::new(),
                    baseline: true,
                };
                self.save(run).await?;
                return Ok(());
            }
            (true, _) => {
                let now = self.client.store_time().await?.time;
                run.cursor.watermark = Some(previous_watermark.unwrap_or(now).max(now));
                now - i64::from(self.settings.backfill_days) * 86_400
            }
        };
        run.cursor.since = Some(since);
        run.cursor.watermark = run.cursor.watermark.or(previous_watermark);
        self.save(run).await?;
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        for page in 1u32.. {
            let orders = self.orders_page(since, page).await?;
            let full = orders.len() >= PAGE;
            run.progress.fetched += i64::try_from(orders.len()).unwrap_or(i64::MAX);
            let mut kept = Vec::new();
            for order in &orders {
                let Some((id, status, modified)) = order_fields(order) else {
                    self.note(
                        run,
                        &Note {
                            external_id: "order ?".into(),
                            outcome: "failed",
                            message: format!(
                                "An order in the list could not be read: {}",
                                short(order)
                            ),
                        },
                    )
                    .await?;
                    continue;
                };
                if let Some(at) = modified {
                    run.cursor.watermark = Some(run.cursor.watermark.map_or(at, |w| w.max(at)));
                }
                if SHIPPED.contains(&status) && seen.insert(id) {
                    kept.push(id);
                }
            }
            let watched = self.watched(&kept).await?;
            for id in watched {
                self.order(run, id).await?;
            }
            self.save(run).await?;
            if !full {
                break;
            }
        }
        let again: Vec<i64> = retry_orders
            .into_iter()
            .filter(|id| !seen.contains(id))
            .collect();
        for id in again {
            self.order(run, id).await?;
        }
        run.cursor.retry_orders = run.retry.iter().copied().collect();
        self.save(run).await?;
        Ok(())
    }

    /// One page of orders modified since `since`, oldest change first (204: none).
    async fn orders_page(&self, since: i64, page: u32) -> Result<Vec<Value>, RunError> {
        let at = chrono::DateTime::from_timestamp(since, 0).unwrap_or_default();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "min_date_modified",
                &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .append_pair("sort", "date_modified:asc")
            .append_pair("limit", &PAGE.to_string())
            .append_pair("page", &page.to_string())
            .finish();
        Ok(self
            .client
            .get_json_or_default::<Vec<Value>>(&format!("/v2/orders?{query}"))
            .await?)
    }

    /// The orders of `ids` this connection watches: all of them, or those cartbridge sent.
    async fn watched(&self, ids: &[i64]) -> Result<Vec<i64>, DbError> {
        if self.settings.every_order() {
            return Ok(ids.to_vec());
        }
        let sent: BTreeSet<i64> =
            db::shipments::sent_orders_among(&self.ctx.db, self.tenant_id, self.connection_id, ids)
                .await?
                .into_iter()
                .collect();
        Ok(ids.iter().copied().filter(|id| sent.contains(id)).collect())
    }

    /// Reads and records one order's shipments. Only a refused token or a database error
    /// stops the run; anything else about this order is a run item.
    async fn order(&self, run: &mut Run, order_id: i64) -> Result<(), RunError> {
        let external_id = format!("order {order_id}");
        let mut shipments: Vec<Value> = Vec::new();
        for page in 1u32.. {
            let path = format!("/v2/orders/{order_id}/shipments?limit={PAGE}&page={page}");
            match self.client.get_json_or_default::<Vec<Value>>(&path).await {
                Ok(list) => {
                    let full = list.len() >= PAGE;
                    shipments.extend(list);
                    if !full {
                        break;
                    }
                }
                Err(e) if stops_run(&e) => return Err(e.into()),
                Err(e) => {
                    run.retry.insert(order_id);
                    let message = format!(
                        "The shipments of this order could not be read ({e}); the next run tries again."
                    );
                    return self
                        .note(
                            run,
                            &Note {
                                external_id,
                                outcome: "failed",
                                message,
                            },
                        )
                        .await;
                }
            }
        }
        run.progress.done += 1;
        if shipments.is_empty() {
            let message = "BigCommerce lists this order as shipped but answered 204 (no shipments); nothing recorded.".to_owned();
            return self
                .note(
                    run,
                    &Note {
                        external_id,
                        outcome: "skipped",
                        message,
                    },
                )
                .await;
        }
        let po = match record::po_context(
            self.ctx,
            self.client,
            self.tenant_id,
            self.connection_id,
            order_id,
        )
        .await
        {
            Ok(po) => po,
            Err(ContextError::Db(e)) => return Err(e.into()),
            Err(ContextError::BigCommerce(e)) if stops_run(&e) => return Err(e.into()),
            Err(ContextError::BigCommerce(e)) => {
                run.retry.insert(order_id);
                let message = format!(
                    "The order's lines could not be read to map the shipment's items ({e}); the next run tries again."
                );
                return self
                    .note(
                        run,
                        &Note {
                            external_id,
                            outcome: "failed",
                            message,
                        },
                    )
                    .await;
            }
        };
        for raw in shipments {
            self.shipment(run, po.as_ref(), order_id, raw).await?;
        }
        Ok(())
    }

    async fn shipment(
        &self,
        run: &mut Run,
        po: Option<&PoContext>,
        order_id: i64,
        raw: Value,
    ) -> Result<(), RunError> {
        let s: BcShipment = match serde_json::from_value(raw.clone()) {
            Ok(s) => s,
            Err(e) => {
                let message = format!(
                    "A shipment of this order could not be read ({e}): {}",
                    short(&raw)
                );
                return self
                    .note(
                        run,
                        &Note {
                            external_id: format!("order {order_id}"),
                            outcome: "failed",
                            message,
                        },
                    )
                    .await;
            }
        };
        let mut notes = Vec::new();
        let outcome = record::record_one(
            self.ctx,
            self.tenant_id,
            self.connection_id,
            po,
            &s,
            &mut notes,
        )
        .await?;
        match outcome {
            Recorded::Created => run.progress.created += 1,
            Recorded::Updated => run.progress.updated += 1,
            Recorded::Unchanged => run.progress.unchanged += 1,
        }
        // Notes of a shipment recorded before are not raised again.
        if outcome != Recorded::Unchanged {
            for note in &notes {
                self.note(run, note).await?;
            }
        }
        Ok(())
    }

    async fn note(&self, run: &mut Run, note: &Note) -> Result<(), RunError> {
        match note.outcome {
            "skipped" => run.progress.skipped += 1,
            _ => run.progress.failed += 1,
        }
        db::shipments::add_run_item(
            &self.ctx.db,
            self.tenant_id,
            run.id,
            &note.external_id,
            note.outcome,
            &note.message,
        )
        .await?;
        Ok(())
    }

    async fn save(&self, run: &Run) -> Result<(), DbError> {
        db::shipments::save_progress(
            &self.ctx.db,
            self.tenant_id,
            run.id,
            &run.progress,
            &run.cursor.to_json(),
        )
        .await
    }
}

/// Errors that no other order would escape: the token, the scope, the store.
fn stops_run(e: &BigCommerceError) -> bool {
    matches!(
        e,
        BigCommerceError::Unauthorized | BigCommerceError::Forbidden
    )
}

/// An order's id, status and `date_modified` (unix seconds) from the list.
fn order_fields(order: &Value) -> Option<(i64, i64, Option<i64>)> {
    let id = order.get("id")?.as_i64()?;
    let status = order.get("status_id")?.as_i64()?;
    let modified = order
        .get("date_modified")
        .and_then(Value::as_str)
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok())
        .map(|d| d.timestamp());
    Some((id, status, modified))
}

/// The start of a JSON value, for a run item.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// The one-shipment job: `GET /v2/orders/{order_id}/shipments/{id}`, recorded as polling
/// records it (same dedupe, same events). An order cartbridge did not send is ignored
/// unless every order is watched.
#[tracing::instrument(skip_all, fields(tenant = job.tenant_id, job = job.id))]
pub(super) async fn fetch_one(
    ctx: &AppContext,
    job: &Job,
    one: FetchOne,
) -> Result<(), JobFailure> {
    let tenant_id = job.tenant_id;
    let connection = load_connection(ctx, job).await?;
    let (_, settings) = stored(ctx, tenant_id, connection.id)
        .await
        .map_err(retry_db)?;
    let (token, hash) = credentials(ctx, &connection)
        .await
        .map_err(JobFailure::Fail)?;
    let client = ctx.bigcommerce.store(&hash, &token);
    let order_id = one.order_id;
    let po = match record::po_context(ctx, &client, tenant_id, connection.id, order_id).await {
        Ok(po) => po,
        Err(ContextError::Db(e)) => return Err(retry_db(e)),
        Err(ContextError::BigCommerce(e)) => return Err(bc_failure(&e, &hash)),
    };
    if po.is_none() && !settings.every_order() {
        tracing::info!(
            order_id,
            "shipment of an order cartbridge did not send; ignored"
        );
        return Ok(());
    }
    let path = format!("/v2/orders/{order_id}/shipments/{}", one.shipment_id);
    let raw: Value = client
        .get_json(&path)
        .await
        .map_err(|e| bc_failure(&e, &hash))?;
    let s: BcShipment = serde_json::from_value(raw)
        .map_err(|e| JobFailure::Fail(format!("The shipment could not be read ({e}).")))?;
    let mut notes = Vec::new();
    let outcome = record::record_one(ctx, tenant_id, connection.id, po.as_ref(), &s, &mut notes)
        .await
        .map_err(retry_db)?;
    for note in notes {
        tracing::warn!(shipment = s.id, outcome = note.outcome, message = %note.message, "shipment noted");
    }
    tracing::info!(shipment = s.id, ?outcome, "shipment fetched");
    Ok(())
}

fn bc_failure(e: &BigCommerceError, hash: &StoreHash) -> JobFailure {
    let message = explain(e, hash);
    if e.is_retryable() {
        JobFailure::Retry(message)
    } else {
        JobFailure::Fail(message)
    }
}

/// The connection's token and store hash, or why the run cannot call the store.
async fn credentials(
    ctx: &AppContext,
    connection: &ConnectionRow,
) -> Result<(Secret, StoreHash), String> {
    if connection.status == "disabled" {
        return Err("The connection is disabled (the app was uninstalled from the store), so it cannot run flows.".into());
    }
    let hash = StoreHash::parse(&connection.store_hash).map_err(|e| e.to_string())?;
    match access_token(ctx, connection.tenant_id, connection.id).await {
        Ok(Some(token)) => Ok((token, hash)),
        Ok(None) => {
            Err("The connection has no access token: connect it to BigCommerce first.".into())
        }
        Err(ConnectionError::Vault(e)) => {
            tracing::error!(error = %e, "stored token cannot be opened");
            Err("The stored access token cannot be opened. Edit the connection and enter the token again.".into())
        }
        Err(e) => Err(format!("The connection's token could not be read: {e}")),
    }
}

async fn end_run(ctx: &AppContext, tenant_id: i64, run_id: i64, status: &str, message: &str) {
    if let Err(e) = db::runs::finish(&ctx.db, tenant_id, run_id, status, Some(message)).await {
        tracing::error!(error = %e, run = run_id, "could not record the run's end");
    } else if status == "failed" {
        crate::partner_api::events::after_run(ctx, tenant_id, run_id).await;
    }
}

/// A merchant-facing explanation of a failed orders request.
fn explain(error: &BigCommerceError, hash: &StoreHash) -> String {
    match error {
        BigCommerceError::Unauthorized => "BigCommerce rejected the access token (401): edit the connection and enter a valid token, or connect it again".to_owned(),
        BigCommerceError::Forbidden => format!(
            "The token lacks the scope store_v2_orders_read_only (403): grant “{}” to the API account",
            permission_of("store_v2_orders_read_only")
        ),
        BigCommerceError::NotFound => format!(
            "BigCommerce has no store with the hash “{}”, or no such order or shipment (404)",
            hash.as_str()
        ),
        other => other.to_string(),
    }
}
