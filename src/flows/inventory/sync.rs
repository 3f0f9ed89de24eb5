//! The Get Inventory job: opens (or resumes) the job's run, pages the catalog (the first
//! page tells how many there are; the rest are fetched several at a time, as the store's
//! budget and `CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT` allow), stages each page with its
//! checkpoint as it arrives, and merges into the snapshot at the end. It keeps at most a
//! few pages in memory and never touches the snapshot before the merge, so a failed run
//! leaves it as it was; a resumed run fetches only the pages not staged yet.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::decode::decode_page;
use super::{InventorySettings, KIND, stored};
use crate::{
    bigcommerce::{BigCommerceError, Paginator, StoreClient, check_within, models::V3List},
    connections::store::{ConnectionError, access_token},
    context::AppContext,
    db::{
        self, DbError,
        connections::ConnectionRow,
        inventory::MergePlan,
        runs::{NewRun, Progress, RunRow},
    },
    domain::{Secret, StoreHash, connection::permission_of},
    jobs::{Job, JobFailure, RunMode, SyncRequest},
};

const PRODUCTS: &str = "/v3/catalog/products";

/// The next watermark is the run's start minus this, so that clock skew between the store
/// and us, and edits saved while a page was read, are fetched again rather than missed.
const OVERLAP_SECS: i64 = 120;

/// A run's checkpoint (`runs.cursor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// The lowest page not staged yet (1-based; 0 before the first): every page below it
    /// is staged.
    #[serde(default)]
    pub page: u32,
    /// Pages above `page` already staged (fetched out of order), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staged: Vec<u32>,
    /// `total_pages` as the run's first page announced it.
    #[serde(default)]
    pub total_pages: Option<u32>,
    /// The `date_modified:min` watermark (UNIX seconds) of an incremental run.
    #[serde(default)]
    pub since: Option<i64>,
    /// The store's clock when the run started: the next run's watermark, less the overlap.
    #[serde(default)]
    pub started: Option<i64>,
    /// The page size and hidden-product choice the run started with: a resumed run keeps
    /// them even if the settings changed meanwhile, so its pages line up.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub skip_hidden: Option<bool>,
}

impl Cursor {
    fn parse(raw: &str) -> Self {
        serde_json::from_str(raw).unwrap_or_default()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    fn is_staged(&self, page: u32) -> bool {
        page < self.page || self.staged.binary_search(&page).is_ok()
    }

    /// Records `page` as staged, moving `page` up past every page now staged in a row.
    pub(super) fn mark_staged(&mut self, page: u32) {
        if self.is_staged(page) {
            return;
        }
        if let Err(at) = self.staged.binary_search(&page) {
            self.staged.insert(at, page);
        }
        while self.staged.first() == Some(&self.page.max(1)) {
            self.staged.remove(0);
            self.page = self.page.max(1) + 1;
        }
    }
}

/// The run being worked on.
struct Run {
    id: i64,
    full: bool,
    cursor: Cursor,
    progress: Progress,
}

/// Why a run stopped.
enum SyncError {
    BigCommerce { error: BigCommerceError, page: u32 },
    Db(DbError),
}

impl From<DbError> for SyncError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

fn retry_db(e: DbError) -> JobFailure {
    JobFailure::Retry(format!("cartbridge could not read its database: {e}"))
}

#[tracing::instrument(skip_all, fields(tenant = job.tenant_id, job = job.id))]
pub(super) async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    let request: SyncRequest = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::Fail(format!("This job's request could not be read ({e}).")))?;
    let tenant_id = job.tenant_id;
    let connection_id = job
        .connection_id
        .ok_or_else(|| JobFailure::Fail("This job names no connection.".into()))?;
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await
        .map_err(retry_db)?
        .ok_or_else(|| JobFailure::Fail("The connection no longer exists.".into()))?;
    let settings = stored(ctx, tenant_id, connection_id)
        .await
        .map_err(retry_db)?;
    let mut run = open_run(ctx, job, connection_id, request, &settings)
        .await
        .map_err(retry_db)?;
    tracing::info!(
        run = run.id,
        full = run.full,
        page = run.cursor.page,
        "inventory run"
    );

    let (token, hash) = match credentials(ctx, &connection).await {
        Ok(credentials) => credentials,
        Err(message) => {
            end_run(ctx, tenant_id, run.id, "failed", &message).await;
            return Err(JobFailure::Fail(message));
        }
    };
    let client = ctx.bigcommerce.store(&hash, &token).bulk();
    match sync(ctx, tenant_id, connection_id, &mut run, &settings, &client).await {
        Ok(()) => Ok(()),
        Err(e) => Err(fail(ctx, job, &run, &hash, e).await),
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

/// Resumes the job's unfinished run, or starts one in the mode `request` and the history
/// call for.
async fn open_run(
    ctx: &AppContext,
    job: &Job,
    connection_id: i64,
    request: SyncRequest,
    settings: &InventorySettings,
) -> Result<Run, DbError> {
    let tenant_id = job.tenant_id;
    if let Some(row) = db::runs::unfinished_for_job(&ctx.db, tenant_id, job.id).await? {
        db::runs::resume(&ctx.db, tenant_id, row.id).await?;
        return Ok(resumed(&row));
    }
    let since = match request.mode {
        RunMode::Full => None,
        RunMode::Auto => incremental_since(ctx, tenant_id, connection_id, settings).await?,
    };
    let new = NewRun {
        connection_id,
        flow: KIND,
        job_id: job.id,
        triggered_by: request.trigger.as_str(),
        mode: if since.is_some() {
            "incremental"
        } else {
            "full"
        },
    };
    let id = db::runs::create(&ctx.db, tenant_id, &new).await?;
    Ok(Run {
        id,
        full: since.is_none(),
        cursor: Cursor {
            page: 1,
            staged: Vec::new(),
            total_pages: None,
            since,
            started: None,
            limit: Some(settings.page_size),
            skip_hidden: Some(settings.skip_hidden),
        },
        progress: Progress::default(),
    })
}

fn resumed(row: &RunRow) -> Run {
    let cursor = Cursor::parse(&row.cursor);
    Run {
        id: row.id,
        full: row.mode != "incremental" || cursor.since.is_none(),
        cursor,
        progress: Progress {
            total: row.total,
            done: row.done,
            fetched: row.fetched,
            created: row.created,
            updated: row.updated,
            unchanged: row.unchanged,
            deleted: row.deleted,
            skipped: row.skipped,
            failed: row.failed,
        },
    }
}

/// The watermark of an incremental run, or `None` when the run must be full: no full run
/// succeeded within `full_sync_hours`, or no succeeded run left a start time.
async fn incremental_since(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    settings: &InventorySettings,
) -> Result<Option<i64>, DbError> {
    let flow = KIND;
    let last_full =
        db::runs::last_succeeded(&ctx.db, tenant_id, connection_id, flow, Some("full")).await?;
    let full_due_before = db::now() - i64::from(settings.full_sync_hours) * 3600;
    if last_full.is_none_or(|run| run.started_at <= full_due_before) {
        return Ok(None);
    }
    let last = db::runs::last_succeeded(&ctx.db, tenant_id, connection_id, flow, None).await?;
    Ok(last
        .and_then(|run| Cursor::parse(&run.cursor).started)
        .map(|started| started - OVERLAP_SECS))
}

/// Fetches the remaining pages, staging each, then merges.
async fn sync(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    run: &mut Run,
    settings: &InventorySettings,
    client: &StoreClient<'_>,
) -> Result<(), SyncError> {
    let limit = *run.cursor.limit.get_or_insert(settings.page_size);
    let skip_hidden = *run.cursor.skip_hidden.get_or_insert(settings.skip_hidden);
    if run.cursor.started.is_none() {
        let started = match client.store_time().await {
            Ok(time) => time.time,
            Err(e) => {
                tracing::warn!(error = %e, "store clock unavailable; using ours");
                db::now()
            }
        };
        run.cursor.started = Some(started);
    }
    let walk = Paginator::new(PRODUCTS, query(run, skip_hidden), limit);
    let skip_hidden_later = skip_hidden && !run.full;
    let mut pages = PageWalk {
        ctx,
        tenant_id,
        run,
        walk: &walk,
        client,
        skip_hidden_later,
    };
    pages.fetch_all().await?;
    if run.full {
        recheck_missing(ctx, tenant_id, connection_id, run, skip_hidden, client).await?;
    }
    let first_success = db::runs::last_succeeded(&ctx.db, tenant_id, connection_id, KIND, None)
        .await?
        .is_none();
    let plan = MergePlan {
        full: run.full,
        skip_hidden,
        // The first snapshot is the baseline: "added" for the whole catalog is noise.
        record_events: !first_success,
    };
    let merge_started = std::time::Instant::now();
    match db::inventory::merge(&ctx.db, tenant_id, connection_id, run.id, plan).await {
        Ok((counts, deliveries)) => {
            let merge_ms = merge_started.elapsed().as_millis();
            tracing::info!(
                run = run.id,
                ?counts,
                fetched = run.progress.fetched,
                merge_ms,
                "inventory merged"
            );
            // Committed with the snapshot; queue them now (the sweep would otherwise).
            crate::partner_api::webhooks::enqueue_all(ctx, tenant_id, &deliveries).await;
            Ok(())
        }
        Err(DbError::Conflict) => {
            tracing::warn!(run = run.id, "run was finished elsewhere; nothing merged");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The catalog walk of one run: the first unstaged page alone (it announces how many pages
/// there are), then every other unstaged page with several requests in flight, each staged
/// with the checkpoint as it arrives.
struct PageWalk<'r, 'c> {
    ctx: &'c AppContext,
    tenant_id: i64,
    run: &'r mut Run,
    walk: &'r Paginator,
    client: &'r StoreClient<'c>,
    skip_hidden_later: bool,
}

impl PageWalk<'_, '_> {
    async fn fetch_all(&mut self) -> Result<(), SyncError> {
        let first = self.run.cursor.page.max(1);
        let announced = match self.run.cursor.total_pages {
            Some(total) => total,
            None => {
                let list = self.fetch(first).await?;
                let total = list.meta.pagination.total_pages;
                self.run.cursor.total_pages = Some(total);
                self.stage(first, list).await?;
                total
            }
        };
        // Pages up to the announced total, then any the catalog grew by while it was read
        // (bounded: a walk that never ends is an error).
        let mut last = announced;
        loop {
            let pending: Vec<u32> = (first..=last)
                .filter(|p| !self.run.cursor.is_staged(*p))
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            let seen = self.fetch_concurrently(pending).await?;
            if seen <= last {
                return Ok(());
            }
            for page in last + 1..=seen {
                check_within(announced, page)
                    .map_err(|error| SyncError::BigCommerce { error, page })?;
            }
            last = seen;
        }
    }

    /// Fetches `pages` with up to the store's in-flight cap at once and stages each as it
    /// arrives; returns the highest `total_pages` any response announced.
    async fn fetch_concurrently(&mut self, pages: Vec<u32>) -> Result<u32, SyncError> {
        let in_flight = self.ctx.bigcommerce.max_in_flight().max(1);
        let (walk, client) = (self.walk, self.client);
        let (tx, mut rx) = tokio::sync::mpsc::channel(in_flight);
        let fetch = async move {
            let mut results = futures_util::stream::iter(pages)
                .map(|page| async move {
                    let list = walk.fetch_page::<Value>(client, page).await;
                    (page, list)
                })
                .buffer_unordered(in_flight);
            while let Some((page, list)) = results.next().await {
                let list = list.map_err(|error| SyncError::BigCommerce { error, page })?;
                if tx.send((page, list)).await.is_err() {
                    break; // the stager stopped on an error of its own
                }
            }
            Ok::<(), SyncError>(())
        };
        let stage = async {
            let mut seen = 0;
            while let Some((page, list)) = rx.recv().await {
                seen = seen.max(list.meta.pagination.total_pages);
                if let Err(e) = self.stage(page, list).await {
                    rx.close();
                    return Err(e);
                }
            }
            Ok(seen)
        };
        let (fetched, staged) = tokio::join!(fetch, stage);
        fetched?;
        staged
    }

    async fn fetch(&self, page: u32) -> Result<V3List<Value>, SyncError> {
        self.walk
            .fetch_page(self.client, page)
            .await
            .map_err(|error| SyncError::BigCommerce { error, page })
    }

    /// Decodes and stages one page, with the run's progress and checkpoint, in one
    /// transaction.
    async fn stage(&mut self, page: u32, list: V3List<Value>) -> Result<(), SyncError> {
        let records = i64::try_from(list.data.len()).unwrap_or(i64::MAX);
        let total = i64::try_from(list.meta.pagination.total).unwrap_or(i64::MAX);
        let decoded = decode_page(list.data, self.skip_hidden_later);
        let run = &mut *self.run;
        let p = &mut run.progress;
        p.total = Some(p.total.map_or(total, |t| t.max(total)));
        p.fetched += records;
        p.done += records;
        p.skipped += decoded.skipped;
        p.failed += i64::try_from(decoded.page.failures.len()).unwrap_or(i64::MAX);
        run.cursor.mark_staged(page);
        db::inventory::stage_page(
            &self.ctx.db,
            self.tenant_id,
            run.id,
            &decoded.page,
            &run.progress,
            &run.cursor.to_json(),
        )
        .await?;
        Ok(())
    }
}

/// Asks BigCommerce, by id, for the snapshot products a full walk did not see, and stages
/// those that still exist. Page-number paging can miss a product when the catalog shifts
/// under it (one deleted on an earlier page moves the rest up by one), and the merge would
/// otherwise report it deleted. Normally nothing is missing, and no request is made;
/// otherwise one request per 250 missing products.
async fn recheck_missing(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    run: &mut Run,
    skip_hidden: bool,
    client: &StoreClient<'_>,
) -> Result<(), SyncError> {
    const IDS_PER_REQUEST: u32 = 250;
    let page = run.cursor.page;
    let mut after = 0;
    loop {
        let missing = db::inventory::unstaged_snapshot_ids(
            &ctx.db,
            tenant_id,
            connection_id,
            run.id,
            after,
            i64::from(IDS_PER_REQUEST),
        )
        .await?;
        let Some(&last) = missing.last() else {
            return Ok(());
        };
        after = last;
        let ids: Vec<String> = missing.iter().map(i64::to_string).collect();
        let mut query = query(run, skip_hidden);
        query.push(("id:in".to_owned(), ids.join(",")));
        let mut walk = Paginator::new(PRODUCTS, query, IDS_PER_REQUEST);
        while let Some(list) = walk
            .next_page::<Value>(client)
            .await
            .map_err(|error| SyncError::BigCommerce { error, page })?
        {
            let found = i64::try_from(list.data.len()).unwrap_or(i64::MAX);
            if found > 0 {
                tracing::info!(
                    run = run.id,
                    found,
                    "products the pages missed were found by id"
                );
            }
            let decoded = decode_page(list.data, false);
            run.progress.fetched += found;
            run.progress.failed += i64::try_from(decoded.page.failures.len()).unwrap_or(i64::MAX);
            db::inventory::stage_page(
                &ctx.db,
                tenant_id,
                run.id,
                &decoded.page,
                &run.progress,
                &run.cursor.to_json(),
            )
            .await?;
        }
    }
}

/// The products query: variants included, by id; visible only when hidden products are
/// skipped in a full run (an incremental run must see products that became hidden, to
/// drop them); changed since the watermark when incremental.
fn query(run: &Run, skip_hidden: bool) -> Vec<(String, String)> {
    let mut query = vec![
        ("include".to_owned(), "variants".to_owned()),
        ("sort".to_owned(), "id".to_owned()),
    ];
    if skip_hidden && run.full {
        query.push(("is_visible".to_owned(), "true".to_owned()));
    }
    if let Some(since) = run.cursor.since.filter(|_| !run.full) {
        let at = chrono::DateTime::from_timestamp(since, 0).unwrap_or_default();
        query.push((
            "date_modified:min".to_owned(),
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        ));
    }
    query
}

/// Ends the run after an error and tells the jobs layer whether to try again. A retryable
/// failure keeps the staged pages for the next attempt (unless this was the last one); any
/// other failure discards them. The snapshot is never touched.
async fn fail(
    ctx: &AppContext,
    job: &Job,
    run: &Run,
    hash: &StoreHash,
    error: SyncError,
) -> JobFailure {
    let (message, retry) = match &error {
        SyncError::BigCommerce { error, page } => {
            (explain(error, hash, *page), error.is_retryable())
        }
        SyncError::Db(e) => (
            format!("cartbridge could not save the run's data: {e}"),
            true,
        ),
    };
    let last = !retry || job.is_last_attempt();
    tracing::warn!(run = run.id, retry, last, error = %message, "inventory run stopped");
    end_run(
        ctx,
        job.tenant_id,
        run.id,
        if last { "failed" } else { "retrying" },
        &message,
    )
    .await;
    if retry {
        JobFailure::Retry(message)
    } else {
        JobFailure::Fail(message)
    }
}

/// Marks the run `failed` (discarding its staging) or `retrying`. Errors are only logged:
/// the job's own outcome still reaches the jobs layer.
async fn end_run(ctx: &AppContext, tenant_id: i64, run_id: i64, status: &str, message: &str) {
    if status == "failed"
        && let Err(e) = db::inventory::discard_staging(&ctx.db, tenant_id, run_id).await
    {
        tracing::error!(error = %e, run = run_id, "could not discard the run's staging");
    }
    if let Err(e) = db::runs::finish(&ctx.db, tenant_id, run_id, status, Some(message)).await {
        tracing::error!(error = %e, run = run_id, "could not record the run's end");
    } else if status == "failed" {
        crate::partner_api::events::after_run(ctx, tenant_id, run_id).await;
    }
}

/// A merchant-facing explanation of a failed catalog request.
fn explain(error: &BigCommerceError, hash: &StoreHash, page: u32) -> String {
    let what = match error {
        BigCommerceError::Unauthorized => "BigCommerce rejected the access token (401): edit the connection and enter a valid token, or connect it again".to_owned(),
        BigCommerceError::Forbidden => format!(
            "The token lacks the scope store_v2_products_read_only (403): grant “{}” to the API account",
            permission_of("store_v2_products_read_only")
        ),
        BigCommerceError::NotFound => format!(
            "BigCommerce has no store with the hash “{}” (404): check the connection's store hash",
            hash.as_str()
        ),
        other => capitalized(&other.to_string()),
    };
    format!("{what} (page {page})")
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
