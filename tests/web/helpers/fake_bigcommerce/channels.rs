//! Channels v3: list and read.

use super::FakeBigCommerce;
use super::json::channel_json;
use super::models::FakeChannel;
use super::paging::{page_of, paging, v3_list};
use super::query::{Query, q_bool};
use super::reply::{ApiErr, HResult, Reply};
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
            let c = s
                .channels
                .get(&id)
                .ok_or_else(|| ApiErr::new(404, "The channel was not found."))?;
            Ok(Reply::data(channel_json(c)))
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

pub(super) fn list_channels(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let type_in = q.list("type:in");
    let status_in = q.list("status:in");
    let platform_in = q.list("platform:in");
    let available = q_bool(q, "available")?;
    let iter = s.channels.values().filter(|c| {
        type_in.as_ref().is_none_or(|l| l.contains(&c.channel_type))
            && status_in.as_ref().is_none_or(|l| l.contains(&c.status))
            && platform_in.as_ref().is_none_or(|l| l.contains(&c.platform))
            && available.is_none_or(|a| a == !matches!(c.status.as_str(), "deleted" | "terminated"))
    });
    let (items, total) = page_of(iter, page, limit);
    Ok(v3_list(
        items.into_iter().map(channel_json).collect(),
        total,
        page,
        limit,
    ))
}
