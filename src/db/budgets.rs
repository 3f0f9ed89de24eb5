//! `store_budgets`: one rate-limit budget per store hash, shared by every process on the
//! database. A request takes one unit of the store's current window in a single
//! conditional `UPDATE` (so two processes can never both take the last unit), and every
//! response's `X-Rate-Limit-*` headers correct the row, since other apps on the store spend
//! the same quota. Times are unix milliseconds. Not tenant data: two tenants connected to
//! one store share its quota, so the row is keyed by the store alone.

use std::time::Duration;

use super::{Db, DbError, on_pool};
use crate::bigcommerce::{BudgetFuture, SharedBudget, WindowSeen};

/// The shortest pause before asking a spent budget again.
const MIN_WAIT_MS: i64 = 10;

/// How often a take is tried again when the row changed between its two statements; then
/// the request goes (BigCommerce's 429 remains the backstop).
const TAKE_ATTEMPTS: usize = 3;

/// Within this many ms of the row's reset, a response's reset is taken as the same window.
const SAME_WINDOW_MS: i64 = 1000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Takes one unit of `store`'s window: `None` to go (a unit was taken, or nothing is known
/// of the store yet), or the milliseconds until the window resets.
pub async fn take(db: &Db, store: &str, now: i64) -> Result<Option<i64>, DbError> {
    // A window whose reset has passed starts afresh at the last known quota.
    let sql = "UPDATE store_budgets SET \
               requests_left = CASE WHEN resets_at <= $2 THEN quota - 1 ELSE requests_left - 1 END, \
               resets_at = CASE WHEN resets_at <= $2 THEN $2 + window_ms ELSE resets_at END, \
               updated_at = $2 \
               WHERE store_hash = $1 AND (resets_at <= $2 OR requests_left > 0)";
    let state = "SELECT requests_left, resets_at FROM store_budgets WHERE store_hash = $1";
    for _ in 0..TAKE_ATTEMPTS {
        let taken = on_pool!(db, p => sqlx::query(sql).bind(store).bind(now).execute(p).await
            .map(|r| r.rows_affected()))?;
        if taken == 1 {
            return Ok(None);
        }
        let row = on_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(state).bind(store)
            .fetch_optional(p).await)?;
        match row {
            None => return Ok(None),
            Some((left, resets_at)) if left <= 0 && resets_at > now => {
                return Ok(Some((resets_at - now).max(MIN_WAIT_MS)));
            }
            // The row was written between the two statements (the store's first response
            // was recorded, or another app's count corrected it): it is not spent, take again.
            Some(_) => {}
        }
    }
    Ok(None)
}

/// Records what a response said of `store`'s window at `now`. Within the same window the
/// lower count wins (responses arrive out of order, and units taken for requests still in
/// flight are not in BigCommerce's count yet); a later window replaces the row's.
pub async fn observe(db: &Db, store: &str, now: i64, seen: WindowSeen) -> Result<(), DbError> {
    let number = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let resets_at = now.saturating_add(number(seen.reset_ms));
    let sql = "INSERT INTO store_budgets (store_hash, quota, window_ms, requests_left, resets_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (store_hash) DO UPDATE SET \
               quota = excluded.quota, window_ms = excluded.window_ms, \
               requests_left = CASE \
                   WHEN store_budgets.resets_at > $6 AND excluded.resets_at <= store_budgets.resets_at + $7 \
                        AND store_budgets.requests_left < excluded.requests_left \
                   THEN store_budgets.requests_left ELSE excluded.requests_left END, \
               resets_at = excluded.resets_at, updated_at = $6";
    on_pool!(db, p => sqlx::query(sql).bind(store).bind(number(seen.quota))
        .bind(number(seen.window_ms)).bind(number(seen.left)).bind(resets_at).bind(now)
        .bind(SAME_WINDOW_MS).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The budgets in the database, as the BigCommerce client's [`SharedBudget`].
#[derive(Debug, Clone)]
pub struct DbBudget {
    db: Db,
}

impl DbBudget {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl SharedBudget for DbBudget {
    fn take<'a>(&'a self, store: &'a str) -> BudgetFuture<'a, Option<Duration>> {
        Box::pin(async move {
            match take(&self.db, store, now_ms()).await {
                Ok(wait) => wait.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
                Err(e) => {
                    tracing::warn!(error = %e, store, "store budget unavailable; sending anyway");
                    None
                }
            }
        })
    }

    fn observe(&self, store: &str, seen: WindowSeen) -> BudgetFuture<'static, ()> {
        let (db, store) = (self.db.clone(), store.to_owned());
        Box::pin(async move {
            if let Err(e) = observe(&db, &store, now_ms(), seen).await {
                tracing::warn!(error = %e, store, "could not record the store's rate-limit window");
            }
        })
    }
}
