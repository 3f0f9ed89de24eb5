//! Channels v3: list and read, as `reference/channels.v3.yml` describes them: every field
//! of `ChannelWithoutCurrencies`, `include=currencies`, the `type:in`, `status:in`,
//! `platform:in`, `available` and date filters (an unknown type, status or include is a
//! 422), and `page`/`limit` with full pagination.

use chrono::{DateTime, Utc};

use super::FakeBigCommerce;
use super::json::channel_json;
use super::models::FakeChannel;
use super::paging::{page_of, paging, v3_list};
use super::query::{Query, q_bool, q_date};
use super::reply::{ApiErr, HResult, Reply, invalid_filter};
use super::routes::R;
use super::server::Incoming;
use super::state::StoreState;

impl FakeBigCommerce {
    /// Adds a channel (id 0 = assign). Returns its id.
    pub fn add_channel(&self, store_hash: &str, mut c: FakeChannel) -> i64 {
        self.with_store(store_hash, |s| {
            if c.id <= 0 {
                c.id = s.next_channel_id;
            }
            s.next_channel_id = s.next_channel_id.max(c.id + 1);
            let id = c.id;
            s.channels.insert(id, c);
            id
        })
    }
}

/// Answers the channels routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Channels) => list_channels(s, q),
        ("GET", R::Channel(id)) => {
            let currencies = include_currencies(q)?;
            let c = s
                .channels
                .get(&id)
                .ok_or_else(|| ApiErr::new(404, "The channel was not found."))?;
            Ok(Reply::data(with_currencies(s, c, currencies)))
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

const TYPES: &[&str] = &["storefront", "marketplace", "marketing", "pos"];
const STATUSES: &[&str] = &[
    "prelaunch",
    "active",
    "inactive",
    "connected",
    "disconnected",
    "archived",
    "deleted",
    "terminated",
];
/// The statuses `available=true` selects (`false` selects the others).
const AVAILABLE: &[&str] = &["prelaunch", "active", "inactive", "connected"];

/// `include`: only `currencies` exists.
fn include_currencies(q: &Query) -> Result<bool, ApiErr> {
    match q.get("include").map(str::trim) {
        None | Some("") => Ok(false),
        Some("currencies") => Ok(true),
        Some(_) => Err(invalid_filter("include")),
    }
}

/// A `…:in` filter whose values must be among `allowed`.
fn list_of(q: &Query, key: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, ApiErr> {
    let list = q.list(key);
    if let Some(l) = &list
        && l.iter().any(|v| !allowed.contains(&v.as_str()))
    {
        return Err(invalid_filter(key));
    }
    Ok(list)
}

fn with_currencies(s: &StoreState, c: &FakeChannel, currencies: bool) -> serde_json::Value {
    let mut v = channel_json(c);
    if currencies {
        v["currencies"] = serde_json::json!({
            "channel_id": c.id,
            "enabled_currencies": [s.info.currency],
            "default_currency": s.info.currency,
        });
    }
    v
}

/// A date filter: `key` (the same second, or the same day for a bare date), `key:min`
/// and `key:max`.
struct DateFilter {
    on: Option<(DateTime<Utc>, bool)>,
    min: Option<DateTime<Utc>>,
    max: Option<DateTime<Utc>>,
}

impl DateFilter {
    fn of(q: &Query, key: &str) -> Result<Self, ApiErr> {
        let day_only = q.get(key).is_some_and(|v| v.trim().len() == 10);
        Ok(Self {
            on: q_date(q, key)?.map(|d| (d, day_only)),
            min: q_date(q, &format!("{key}:min"))?,
            max: q_date(q, &format!("{key}:max"))?,
        })
    }

    fn admits(&self, at: &DateTime<Utc>) -> bool {
        let on = self.on.is_none_or(|(d, day_only)| {
            if day_only {
                d.date_naive() == at.date_naive()
            } else {
                d.timestamp() == at.timestamp()
            }
        });
        on && self.min.is_none_or(|m| *at >= m) && self.max.is_none_or(|m| *at <= m)
    }
}

pub(super) fn list_channels(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let currencies = include_currencies(q)?;
    let type_in = list_of(q, "type:in", TYPES)?;
    let status_in = list_of(q, "status:in", STATUSES)?;
    let platform_in = q.list("platform:in");
    let available = q_bool(q, "available")?;
    let created = DateFilter::of(q, "date_created")?;
    let modified = DateFilter::of(q, "date_modified")?;
    let iter = s.channels.values().filter(|c| {
        type_in.as_ref().is_none_or(|l| l.contains(&c.channel_type))
            && status_in.as_ref().is_none_or(|l| l.contains(&c.status))
            && platform_in.as_ref().is_none_or(|l| l.contains(&c.platform))
            && available.is_none_or(|a| a == AVAILABLE.contains(&c.status.as_str()))
            && created.admits(&c.date_created)
            && modified.admits(&c.date_modified)
    });
    let (items, total) = page_of(iter, page, limit);
    Ok(v3_list(
        items
            .into_iter()
            .map(|c| with_currencies(s, c, currencies))
            .collect(),
        total,
        page,
        limit,
    ))
}
