//! The store's channels (`GET /v3/channels`, every page): the options of the storefront
//! picker, and the names orders are labelled with (cached a minute per connection in the
//! receiver). Which orders pass the storefront filter is `order`'s decision, not this
//! module's.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::order::{bc_failure, credentials};
use crate::{
    bigcommerce::{BigCommerceError, Paginator, RetryPolicy, StoreClient},
    context::AppContext,
    flows::LoadedOption,
    jobs::JobFailure,
};

/// Channels per page (BigCommerce's largest page).
const PER_PAGE: u32 = 250;

/// How long the channels of a connection are trusted for labelling orders.
const CACHE_TTL: Duration = Duration::from_secs(60);

/// Statuses of a channel that is in use (any other is shown beside its platform).
const LIVE: &[&str] = &["active", "prelaunch", "connected"];

/// One channel as `GET /v3/channels` returns it (only what cartbridge shows).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct StoreChannel {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub status: String,
}

impl StoreChannel {
    /// The picker's option: the id is stored; the name, which older settings stored, also
    /// names it.
    fn option(&self) -> LoadedOption {
        let mut about = self.platform.clone();
        if !self.status.is_empty() && !LIVE.contains(&self.status.as_str()) {
            if !about.is_empty() {
                about.push_str(", ");
            }
            about.push_str(&self.status);
        }
        let mut label = self.id.to_string();
        if !self.name.is_empty() {
            label.push_str(" — ");
            label.push_str(&self.name);
        }
        if !about.is_empty() {
            label.push_str(&format!(" ({about})"));
        }
        LoadedOption::new(self.id.to_string(), label).also_matching(self.name.clone())
    }
}

/// Every channel of the store, page by page.
async fn list(client: &StoreClient<'_>) -> Result<Vec<StoreChannel>, BigCommerceError> {
    let mut walk = Paginator::new("/v3/channels", Vec::new(), PER_PAGE);
    let mut out = Vec::new();
    while let Some(page) = walk.next_page::<StoreChannel>(client).await? {
        out.extend(page.data);
    }
    Ok(out)
}

fn remember(ctx: &AppContext, connection_id: i64, channels: &[StoreChannel]) {
    if let Ok(mut cache) = ctx.inbound.channels.lock() {
        let named = channels.iter().map(|c| (c.id, c.name.clone())).collect();
        cache.insert(connection_id, (Instant::now(), named));
    }
}

/// The store's channels as (id, name), cached a minute per connection; empty when the
/// token lacks the channels scope (orders are then labelled by id only).
pub(super) async fn names(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    connection_id: i64,
) -> Result<Vec<(i64, String)>, JobFailure> {
    if let Ok(cache) = ctx.inbound.channels.lock()
        && let Some((at, list)) = cache.get(&connection_id)
        && at.elapsed() < CACHE_TTL
    {
        return Ok(list.clone());
    }
    let channels = match list(client).await {
        Ok(channels) => channels,
        Err(BigCommerceError::Forbidden) => Vec::new(),
        Err(e) => return Err(bc_failure(e)),
    };
    remember(ctx, connection_id, &channels);
    Ok(channels.into_iter().map(|c| (c.id, c.name)).collect())
}

/// The storefront picker's options, fresh from the store (one attempt per page: the
/// merchant is waiting), or why they could not be loaded.
pub(super) async fn choices(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Vec<LoadedOption>, String> {
    let (hash, token) = credentials(ctx, tenant_id, connection_id)
        .await
        .map_err(|e| e.to_string())?;
    let client = ctx
        .bigcommerce
        .store(&hash, &token)
        .with_retry_policy(RetryPolicy::no_retries());
    let channels = list(&client).await.map_err(|e| match e {
        BigCommerceError::Forbidden => "the access token lacks the scope store_channel_settings_read_only, which lists the store's channels.".to_owned(),
        other => other.to_string(),
    })?;
    remember(ctx, connection_id, &channels);
    Ok(channels.iter().map(StoreChannel::option).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: i64, name: &str, platform: &str, status: &str) -> StoreChannel {
        StoreChannel {
            id,
            name: name.into(),
            platform: platform.into(),
            status: status.into(),
        }
    }

    #[test]
    fn an_option_shows_id_name_and_platform_and_is_also_named_by_its_name() {
        let o = channel(1, "Orders Store", "bigcommerce", "active").option();
        assert_eq!(o.value, "1");
        assert_eq!(o.label, "1 — Orders Store (bigcommerce)");
        assert!(o.matches("1") && o.matches("orders store") && !o.matches("Orders"));
        let archived = channel(664_002, "Old shop", "custom", "archived").option();
        assert_eq!(archived.label, "664002 — Old shop (custom, archived)");
        let bare = channel(7, "", "", "").option();
        assert_eq!(bare.label, "7");
        assert_eq!(bare.alias, None);
    }
}
