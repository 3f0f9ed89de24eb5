//! One order, from whichever path saw it: the filters, the sales channel, the
//! `order.placed` event, written once per (connection, order).

use serde_json::{Value, json};

use super::{EVENT_TYPE, KIND, PlacedOrdersSettings, mapping, storefront_entries};
use crate::{
    bigcommerce::{BigCommerceError, StoreClient},
    connections::store::access_token,
    context::AppContext,
    db::{
        self, DbError,
        inbound::{InboxRow, NewPlacedOrder},
        webhooks::NewEvent,
    },
    domain::{Secret, StoreHash},
    inbound::Outcome,
    jobs::{BoxFuture, JobFailure},
};

pub(super) fn retry_db(e: DbError) -> JobFailure {
    JobFailure::Retry(format!("cartbridge could not use its database: {e}"))
}

pub(super) fn bc_failure(e: BigCommerceError) -> JobFailure {
    if e.is_retryable() {
        JobFailure::Retry(e.to_string())
    } else {
        JobFailure::Fail(e.to_string())
    }
}

/// The connection's token and store hash.
pub(super) async fn credentials(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<(StoreHash, Secret), JobFailure> {
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await
        .map_err(retry_db)?
        .ok_or_else(|| JobFailure::Fail("The connection no longer exists.".into()))?;
    if connection.status == "disabled" {
        return Err(JobFailure::Fail(
            "The connection is disabled (the app was uninstalled from the store).".into(),
        ));
    }
    let hash =
        StoreHash::parse(&connection.store_hash).map_err(|e| JobFailure::Fail(e.to_string()))?;
    match access_token(ctx, tenant_id, connection_id).await {
        Ok(Some(token)) => Ok((hash, token)),
        Ok(None) => Err(JobFailure::Fail(
            "The connection has no access token: connect it to BigCommerce first.".into(),
        )),
        Err(e) => Err(JobFailure::Fail(format!(
            "The connection's token could not be read: {e}"
        ))),
    }
}

/// What every order of one connection is judged against.
pub(super) struct Rules {
    pub settings: PlacedOrdersSettings,
    /// Orders created before this are ignored.
    pub start_at: i64,
    pub overrides: Vec<(String, String)>,
    /// The store's channels: (id, name).
    pub channels: Vec<(i64, String)>,
}

/// The rules of an enabled flow; `None` when the flow is not enabled.
pub(super) async fn rules(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Option<Rules>, JobFailure> {
    let (enabled, settings) = super::stored(ctx, tenant_id, connection_id)
        .await
        .map_err(retry_db)?;
    if !enabled {
        return Ok(None);
    }
    let hooks = db::inbound::hooks(&ctx.db, tenant_id, connection_id, Some(KIND))
        .await
        .map_err(retry_db)?;
    // Empty start date: from the moment the flow was enabled (its hooks registered).
    let enabled_at = hooks
        .iter()
        .map(|h| h.created_at)
        .min()
        .unwrap_or_else(db::now);
    let start_at = settings.start_at().unwrap_or(enabled_at);
    let overrides = db::inbound::overrides(&ctx.db, tenant_id, connection_id)
        .await
        .map_err(retry_db)?;
    let channels = super::channels::names(ctx, client, connection_id).await?;
    Ok(Some(Rules {
        settings,
        start_at,
        overrides,
        channels,
    }))
}

/// What became of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Emitted,
    AlreadyEmitted,
    Skipped(String),
}

fn text(order: &Value, key: &str) -> String {
    match order.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn int(order: &Value, key: &str) -> i64 {
    match order.get(key) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A v2 date (RFC-2822, or ISO-8601) as UNIX seconds.
fn v2_date(raw: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(raw)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(raw))
        .ok()
        .map(|d| d.timestamp())
}

/// Why `order` is outside the filters, if it is.
pub(super) fn filtered_out(rules: &Rules, order: &Value) -> Option<String> {
    let id = int(order, "id");
    if int(order, "status_id") == 0 {
        return Some(format!(
            "Order {id} is incomplete (status 0); it is sent once its status changes."
        ));
    }
    let created = v2_date(&text(order, "date_created")).unwrap_or(0);
    if created < rules.start_at {
        return Some(format!(
            "Order {id} was created on {}, before the start date ({}).",
            crate::partner_api::rfc3339(created),
            crate::partner_api::rfc3339(rules.start_at)
        ));
    }
    let wanted = storefront_entries(&rules.settings.storefronts);
    if wanted.is_empty() {
        return None;
    }
    let channel_id = int(order, "channel_id");
    let name = storefront_name(rules, channel_id);
    let matches = wanted.iter().any(|w| {
        w.parse::<i64>().ok() == Some(channel_id)
            || (!name.is_empty() && w.eq_ignore_ascii_case(&name))
    });
    (!matches).then(|| {
        format!(
            "Order {id} is from channel {channel_id}{}, not one of the chosen storefronts ({}).",
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            },
            wanted.join(", ")
        )
    })
}

fn storefront_name(rules: &Rules, channel_id: i64) -> String {
    rules
        .channels
        .iter()
        .find(|(id, _)| *id == channel_id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default()
}

/// Judges an order and, when it passes, emits its event (once per connection and order).
#[allow(clippy::too_many_arguments)]
pub(super) async fn handle(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    tenant_id: i64,
    connection_id: i64,
    rules: &Rules,
    order: &Value,
    origin: &str,
    run_id: Option<i64>,
) -> Result<Verdict, JobFailure> {
    let order_id = int(order, "id");
    if db::inbound::placed_order_exists(&ctx.db, tenant_id, connection_id, order_id)
        .await
        .map_err(retry_db)?
    {
        return Ok(Verdict::AlreadyEmitted);
    }
    if let Some(why) = filtered_out(rules, order) {
        return Ok(Verdict::Skipped(why));
    }
    let lines: Vec<Value> = client
        .get_json_or_default(&format!("/v2/orders/{order_id}/products?limit=250"))
        .await
        .map_err(bc_failure)?;
    let order_source = text(order, "order_source");
    let sales_channel = mapping::sales_channel(&order_source, &rules.overrides).to_owned();
    let channel_id = int(order, "channel_id");
    let storefront = storefront_name(rules, channel_id);
    let created = v2_date(&text(order, "date_created")).unwrap_or(0);
    let currency = text(order, "currency_code");
    let total = text(order, "total_inc_tax");
    let status = text(order, "status");
    let email = order
        .get("billing_address")
        .map(|b| text(b, "email"))
        .unwrap_or_default();
    let data = json!({
        "connection_id": connection_id,
        "order_id": order_id,
        "date_created": crate::partner_api::rfc3339(created),
        "status_id": int(order, "status_id"),
        "status": status,
        "currency": currency,
        "totals": {
            "subtotal_ex_tax": text(order, "subtotal_ex_tax"),
            "subtotal_inc_tax": text(order, "subtotal_inc_tax"),
            "shipping_inc_tax": text(order, "shipping_cost_inc_tax"),
            "tax": text(order, "total_tax"),
            "discount": text(order, "discount_amount"),
            "total_ex_tax": text(order, "total_ex_tax"),
            "total_inc_tax": total,
        },
        "customer": { "id": int(order, "customer_id"), "email": email },
        "line_items": lines.iter().map(|l| json!({
            "sku": text(l, "sku"),
            "name": text(l, "name"),
            "quantity": int(l, "quantity"),
            "price": text(l, "price_inc_tax"),
            "price_ex_tax": text(l, "price_ex_tax"),
        })).collect::<Vec<_>>(),
        "channel_id": channel_id,
        "storefront": storefront,
        "order_source": order_source,
        "sales_channel": sales_channel,
        "origin": origin,
    });
    let body = crate::partner_api::events::envelope(EVENT_TYPE, data);
    let key = format!("{EVENT_TYPE}:{connection_id}:{order_id}");
    let message_id = crate::partner_api::events::message_id();
    let event = NewEvent {
        event_type: EVENT_TYPE,
        message_id: &message_id,
        dedupe_key: &key,
        payload: &body,
    };
    let record = NewPlacedOrder {
        connection_id,
        order_id,
        origin,
        order_source: &order_source,
        sales_channel: &sales_channel,
        channel_id,
        storefront: &storefront,
        status: &status,
        total: &total,
        currency: &currency,
        order_created_at: created,
        run_id,
    };
    match db::inbound::emit_placed_order(&ctx.db, tenant_id, &record, &event)
        .await
        .map_err(retry_db)?
    {
        Some(deliveries) => {
            crate::partner_api::webhooks::enqueue_all(ctx, tenant_id, &deliveries).await;
            Ok(Verdict::Emitted)
        }
        None => Ok(Verdict::AlreadyEmitted),
    }
}

/// The consumer of `store/order/created` and `store/order/statusUpdated` deliveries.
pub fn consume<'a>(
    ctx: &'a AppContext,
    row: &'a InboxRow,
) -> BoxFuture<'a, Result<Outcome, JobFailure>> {
    Box::pin(async move {
        let Some(order_id) = row.data_id else {
            return Ok(Outcome::Skipped("The delivery names no order.".into()));
        };
        let (tenant_id, connection_id) = (row.tenant_id, row.connection_id);
        if db::inbound::placed_order_exists(&ctx.db, tenant_id, connection_id, order_id)
            .await
            .map_err(retry_db)?
        {
            return Ok(Outcome::Done(Some(format!(
                "Order {order_id} was already sent."
            ))));
        }
        let (hash, token) = credentials(ctx, tenant_id, connection_id).await?;
        let client = ctx.bigcommerce.store(&hash, &token);
        let Some(rules) = rules(ctx, &client, tenant_id, connection_id).await? else {
            return Ok(Outcome::Skipped(
                "Placed Orders is not enabled on this connection.".into(),
            ));
        };
        let order: Value = match client.get_json(&format!("/v2/orders/{order_id}")).await {
            Ok(o) => o,
            Err(BigCommerceError::NotFound) => {
                return Ok(Outcome::Skipped(format!(
                    "Order {order_id} no longer exists."
                )));
            }
            Err(e) => return Err(bc_failure(e)),
        };
        match handle(
            ctx,
            &client,
            tenant_id,
            connection_id,
            &rules,
            &order,
            "webhook",
            None,
        )
        .await?
        {
            Verdict::Emitted => Ok(Outcome::Done(Some(format!("Order {order_id} sent.")))),
            Verdict::AlreadyEmitted => Ok(Outcome::Done(Some(format!(
                "Order {order_id} was already sent."
            )))),
            Verdict::Skipped(why) => Ok(Outcome::Skipped(why)),
        }
    })
}
