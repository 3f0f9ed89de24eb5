//! `GET /api/v1/events?type=order.placed&cursor=`: the events partners are sent, for a
//! partner that polls instead of (or as well as) receiving webhooks. Only `order.placed` is
//! listed so far; the cursor is durable (keep the last `next_cursor`, returned on every poll).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{PageQuery, auth::ApiCaller, json, next_cursor, problem::ApiError, rfc3339};
use crate::{context::AppContext, db};

/// One event, with the body sent to webhook endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// The event's position (what `next_cursor` encodes).
    pub id: i64,
    /// `order.placed`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub connection_id: i64,
    pub created_at: String,
    /// The event's `data`, as in the webhook body: order id, date, status, totals and
    /// currency, customer, line items, channel and storefront, `order_source`,
    /// `sales_channel` and `origin` (`webhook` or `reconciled`).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// One page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub data: Vec<Event>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(rename = "type")]
    event_type: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// The events, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(
        ("type" = Option<String>, Query, description = "Event type; only `order.placed` is listed (the default)."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid type, limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_events(
    caller: ApiCaller,
    query: web::Query<EventsQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    if let Some(t) = query.event_type.as_deref()
        && t != crate::flows::placed_orders::EVENT_TYPE
    {
        return Err(ApiError::invalid(
            "type",
            "type must be order.placed (the only event type listed here).",
        ));
    }
    let page = PageQuery::new(query.limit, query.cursor).parse()?;
    let mut rows = db::inbound::placed_orders(
        &ctx.db,
        caller.0.tenant_id,
        caller.0.connections.as_deref(),
        page.after.unwrap_or(0),
        page.limit + 1,
    )
    .await?;
    let next = next_cursor(&mut rows, page.limit, |r| r.id);
    let data = rows
        .into_iter()
        .map(|r| Event {
            id: r.id,
            event_type: crate::flows::placed_orders::EVENT_TYPE.to_owned(),
            connection_id: r.connection_id,
            created_at: rfc3339(r.created_at),
            data: r
                .payload
                .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                .map_or(Value::Null, |mut v| v["data"].take()),
        })
        .collect();
    Ok(json(&EventList {
        data,
        next_cursor: next,
    }))
}
