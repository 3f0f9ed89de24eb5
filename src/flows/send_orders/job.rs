//! The job of one PO: resolve each SKU (the inventory snapshot, then
//! `GET /v3/catalog/variants?sku=`), resolve the customer per the mode, commit `sending`
//! with the exact body, `POST /v2/orders`, record the order id and emit `order.created`
//! (or `order.failed`) in the same transaction. A PO that was ever marked `sending` is
//! looked up by `external_order_id` before anything is sent again, and a found order is
//! adopted: BigCommerce has no idempotency key, so this is what makes it exactly once.
//! A cause a person can act on fails the PO (not the job); anything transient retries.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::po::{Address, Money, PurchaseOrder};
use super::{KIND, SendOrdersSettings, settings};
use crate::{
    bigcommerce::{BigCommerceError, RetryPolicy, StoreClient, models::V3List},
    connections::store::{ConnectionError, access_token},
    context::AppContext,
    db::{
        self, DbError,
        connections::ConnectionRow,
        purchase_orders::{self as pos, PoRow, Resolved},
        webhooks::{NewEvent, envelope, message_id},
    },
    domain::{Secret, StoreHash},
    jobs::{Job, JobFailure},
};

#[derive(Debug, Deserialize)]
struct Payload {
    purchase_order_id: i64,
}

#[derive(Debug, Deserialize)]
struct OrderId {
    id: i64,
}

#[derive(Debug, Deserialize)]
struct VariantHit {
    id: i64,
    product_id: i64,
    #[serde(default)]
    sku: String,
}

#[derive(Debug, Deserialize)]
struct CustomerHit {
    id: i64,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct StatusRow {
    id: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    custom_label: String,
}

fn retry_db(e: DbError) -> JobFailure {
    JobFailure::Retry(format!("cartbridge could not use its database: {e}"))
}

/// Why a PO could not be prepared.
enum Stop {
    /// A cause a person can act on: the PO fails with this reason.
    Fail(String, Option<i32>),
    /// Transient: the job tries again later.
    Retry(String),
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Self::Retry(format!("cartbridge could not use its database: {e}"))
    }
}

/// A BigCommerce error on a read (or the customer create) while preparing.
fn stop_of(e: BigCommerceError, what: &str) -> Stop {
    match e {
        e if e.is_retryable() || e.is_outcome_unknown() => Stop::Retry(format!("{what}: {e}")),
        BigCommerceError::Status { status, message } => Stop::Fail(
            format!("{what}: BigCommerce answered {status}: {message}"),
            Some(i32::from(status)),
        ),
        e => Stop::Fail(format!("{what}: {e}"), None),
    }
}

/// The connection's token and store hash, or why the PO cannot be sent.
async fn credentials(
    ctx: &AppContext,
    connection: &ConnectionRow,
) -> Result<(Secret, StoreHash), String> {
    if connection.status == "disabled" {
        return Err("The connection is disabled (the app was uninstalled from the store).".into());
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

/// The store's order statuses (value = id, label = the merchant's label or the name).
pub async fn order_statuses(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Vec<(String, String)>, String> {
    let connection = db::connections::find(&ctx.db, tenant_id, connection_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the connection no longer exists".to_owned())?;
    let (token, hash) = credentials(ctx, &connection).await?;
    let client = ctx
        .bigcommerce
        .store(&hash, &token)
        .with_retry_policy(RetryPolicy::no_retries());
    let rows: Vec<StatusRow> = client
        .get_json_or_default("/v2/order_statuses")
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let label = if r.custom_label.trim().is_empty() {
                r.name
            } else {
                r.custom_label
            };
            (r.id.to_string(), format!("{label} ({})", r.id))
        })
        .collect())
}

fn query_value(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// The order made for a PO number, if one exists (`GET /v2/orders?external_order_id=`).
async fn lookup(
    client: &StoreClient<'_>,
    po_number: &str,
) -> Result<Option<i64>, BigCommerceError> {
    let path = format!(
        "/v2/orders?external_order_id={}&sort=id:asc&limit=5",
        query_value(po_number)
    );
    let orders: Vec<Value> = client.get_json_or_default(&path).await?;
    Ok(orders
        .iter()
        .filter(|o| o.get("external_order_id").and_then(Value::as_str) == Some(po_number))
        .filter_map(|o| o.get("id").and_then(Value::as_i64))
        .min())
}

#[tracing::instrument(skip_all, fields(tenant = job.tenant_id, job = job.id))]
pub async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    let payload: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::Fail(format!("This job's request could not be read ({e}).")))?;
    let tenant_id = job.tenant_id;
    let Some(row) = pos::find(&ctx.db, tenant_id, payload.purchase_order_id)
        .await
        .map_err(retry_db)?
    else {
        return Ok(());
    };
    if !matches!(row.status.as_str(), "received" | "sending") {
        return Ok(());
    }
    let settings = settings(ctx, tenant_id, row.connection_id)
        .await
        .map_err(retry_db)?;
    if !settings.enabled && row.status == "received" {
        pos::set_status(&ctx.db, tenant_id, row.id, &["received"], "held")
            .await
            .map_err(retry_db)?;
        return Ok(());
    }
    let attempt = pos::start_attempt(&ctx.db, tenant_id, row.id)
        .await
        .map_err(retry_db)?;
    match send(ctx, &row, &settings, attempt).await {
        Ok(()) => Ok(()),
        Err(Stop::Fail(reason, status)) => {
            fail(ctx, &row, attempt, &reason, status).await?;
            Ok(())
        }
        Err(Stop::Retry(message)) => {
            if job.is_last_attempt() {
                let reason = format!(
                    "{message} (gave up after {} attempts; retry the PO once the store answers: it is looked up before anything is sent again)",
                    job.attempts
                );
                fail(ctx, &row, attempt, &reason, None).await?;
                return Ok(());
            }
            pos::attempt_retry(&ctx.db, tenant_id, attempt, &message)
                .await
                .map_err(retry_db)?;
            Err(JobFailure::Retry(message))
        }
    }
}

async fn send(
    ctx: &AppContext,
    row: &PoRow,
    settings: &SendOrdersSettings,
    attempt: i64,
) -> Result<(), Stop> {
    let tenant_id = row.tenant_id;
    let connection = db::connections::find(&ctx.db, tenant_id, row.connection_id)
        .await?
        .ok_or_else(|| Stop::Fail("The connection no longer exists.".into(), None))?;
    let (token, hash) = credentials(ctx, &connection)
        .await
        .map_err(|m| Stop::Fail(m, None))?;
    let client = ctx.bigcommerce.store(&hash, &token);
    let po = PurchaseOrder::from_stored(&row.body).map_err(|e| {
        Stop::Fail(
            format!("The stored purchase order cannot be read ({e})."),
            None,
        )
    })?;

    // Once marked `sending`, an order may exist: look it up before sending again.
    if row.status == "sending" || row.order_body.is_some() {
        match lookup(&client, &row.po_number).await {
            Ok(Some(order_id)) => {
                tracing::info!(po = row.id, order_id, "adopted the order found by lookup");
                return sent(ctx, row, attempt, order_id, "adopted").await;
            }
            Ok(None) => {}
            Err(e) => return Err(stop_of(e, "Looking the order up before sending again")),
        }
    }

    let (lines, products) = resolve_lines(ctx, &client, row, &po, settings).await?;
    let customer_id = resolve_customer(&client, &po, settings).await?;
    let body = order_body(&po, settings, customer_id, products)?;
    let body_text = body.to_string();
    pos::mark_sending(
        &ctx.db,
        tenant_id,
        row.id,
        &Resolved {
            lines: &lines,
            customer_id,
            order_body: &body_text,
        },
    )
    .await?;
    match client.post_json::<_, OrderId>("/v2/orders", &body).await {
        Ok(order) => sent(ctx, row, attempt, order.id, "created").await,
        Err(e) if e.is_outcome_unknown() => {
            let message = e.to_string();
            pos::attempt_unknown(&ctx.db, tenant_id, attempt, &message).await?;
            // The next attempt looks the order up first.
            Err(Stop::Retry(message))
        }
        Err(BigCommerceError::Status { status, message }) => Err(Stop::Fail(
            format!("BigCommerce refused the order ({status}): {message}"),
            Some(i32::from(status)),
        )),
        Err(e) if e.is_retryable() => Err(Stop::Retry(e.to_string())),
        Err(e) => Err(Stop::Fail(
            format!("BigCommerce refused the order: {e}"),
            None,
        )),
    }
}

/// Each line's (line_no, product id, variant id) and its `products[]` entry.
async fn resolve_lines(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    row: &PoRow,
    po: &PurchaseOrder,
    settings: &SendOrdersSettings,
) -> Result<(Vec<(i32, i64, i64)>, Vec<Value>), Stop> {
    let mut resolved = Vec::new();
    let mut products = Vec::new();
    for (i, line) in po.lines.iter().enumerate() {
        let line_no = i32::try_from(i).unwrap_or(i32::MAX);
        let known =
            pos::snapshot_variant(&ctx.db, row.tenant_id, row.connection_id, &line.sku).await?;
        let (product_id, variant_id, stock) = match known {
            Some(hit) => hit,
            None => {
                let path = format!(
                    "/v3/catalog/variants?sku={}&limit=5",
                    query_value(&line.sku)
                );
                let hits: V3List<VariantHit> = client.get_json(&path).await.map_err(|e| {
                    stop_of(e, &format!("Looking up SKU {} (line {})", line.sku, i + 1))
                })?;
                match hits.data.into_iter().find(|v| v.sku == line.sku) {
                    Some(v) => (v.product_id, v.id, None),
                    None => {
                        return Err(Stop::Fail(
                            format!(
                                "Line {} (lines[{i}]): unknown SKU {}: no product or variant with this SKU in the store.",
                                i + 1,
                                line.sku
                            ),
                            None,
                        ));
                    }
                }
            }
        };
        if settings.refuse_over_stock
            && let Some(stock) = stock
            && line.quantity > stock
        {
            return Err(Stop::Fail(
                format!(
                    "Line {} (lines[{i}]): SKU {} asks for {} but only {stock} are in stock.",
                    i + 1,
                    line.sku,
                    line.quantity
                ),
                None,
            ));
        }
        resolved.push((line_no, product_id, variant_id));
        let mut p =
            json!({"product_id": product_id, "variant_id": variant_id, "quantity": line.quantity});
        if let Some(price) = line.price.as_deref().and_then(Money::parse) {
            p["price_inc_tax"] = price.to_json();
            p["price_ex_tax"] = price.to_json();
        }
        products.push(p);
    }
    Ok((resolved, products))
}

/// The `customer_id` per the mode: 0 (guest), found, or created.
async fn resolve_customer(
    client: &StoreClient<'_>,
    po: &PurchaseOrder,
    settings: &SendOrdersSettings,
) -> Result<i64, Stop> {
    let email = &po.customer.email;
    if settings.customer_mode == "guest" {
        return Ok(0);
    }
    let path = format!("/v3/customers?email:in={}", query_value(email));
    let found: V3List<CustomerHit> = client
        .get_json(&path)
        .await
        .map_err(|e| stop_of(e, "Looking the customer up"))?;
    if let Some(c) = found
        .data
        .iter()
        .find(|c| c.email.eq_ignore_ascii_case(email))
    {
        return Ok(c.id);
    }
    if settings.customer_mode != "create" {
        return Err(Stop::Fail(
            format!(
                "No customer with email {email} in the store (customer mode: use an existing customer)."
            ),
            None,
        ));
    }
    let c = &po.customer;
    let body = json!([{
        "email": email, "first_name": c.first_name, "last_name": c.last_name,
        "company": c.company, "phone": c.phone,
    }]);
    let created: V3List<CustomerHit> = client
        .post_json("/v3/customers", &body)
        .await
        .map_err(|e| stop_of(e, "Creating the customer"))?;
    created
        .data
        .first()
        .map(|c| c.id)
        .ok_or_else(|| Stop::Retry("BigCommerce created no customer".into()))
}

fn address_json(a: &Address, fallback_email: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("first_name", &a.first_name),
        ("last_name", &a.last_name),
        ("company", &a.company),
        ("street_1", &a.street_1),
        ("street_2", &a.street_2),
        ("city", &a.city),
        ("state", &a.state),
        ("zip", &a.zip),
        ("country_iso2", &a.country_iso2),
        ("phone", &a.phone),
    ] {
        m.insert(k.into(), Value::from(v.as_str()));
    }
    let email = if a.email.is_empty() {
        fallback_email
    } else {
        &a.email
    };
    m.insert("email".into(), Value::from(email));
    m
}

/// The missing required address fields, by name.
fn missing(a: &Address, prefix: &str) -> Vec<String> {
    [
        ("first_name", &a.first_name),
        ("last_name", &a.last_name),
        ("street_1", &a.street_1),
        ("city", &a.city),
        ("zip", &a.zip),
        ("country_iso2", &a.country_iso2),
    ]
    .into_iter()
    .filter(|(_, v)| v.trim().is_empty())
    .map(|(k, _)| format!("{prefix}.{k}"))
    .collect()
}

/// The exact `POST /v2/orders` body of a PO.
fn order_body(
    po: &PurchaseOrder,
    settings: &SendOrdersSettings,
    customer_id: i64,
    products: Vec<Value>,
) -> Result<Value, Stop> {
    let mut gaps = missing(&po.billing_address, "billing_address");
    if let Some(s) = &po.shipping_address {
        gaps.extend(missing(s, "shipping_address"));
    }
    if !gaps.is_empty() {
        return Err(Stop::Fail(
            format!("Missing address fields: {}.", gaps.join(", ")),
            None,
        ));
    }
    let email = &po.customer.email;
    let ship_to = po.ship_to();
    let mut shipping = address_json(ship_to, email);
    if !ship_to.shipping_method.is_empty() {
        shipping.insert(
            "shipping_method".into(),
            Value::from(ship_to.shipping_method.as_str()),
        );
    }
    let mut body = json!({
        "customer_id": customer_id,
        "status_id": settings.status_id(),
        "external_source": settings.external_source,
        "external_order_id": po.po_number,
        "billing_address": address_json(&po.billing_address, email),
        "shipping_addresses": [shipping],
        "products": products,
        "staff_notes": format!("Purchase order {}", po.po_number),
    });
    if !po.notes.is_empty() {
        body["customer_message"] = Value::from(po.notes.as_str());
    }
    if let Some(cost) = po.shipping_cost.as_deref().and_then(Money::parse) {
        body["shipping_cost_ex_tax"] = cost.to_json();
        body["shipping_cost_inc_tax"] = cost.to_json();
    }
    Ok(body)
}

fn event_data(row: &PoRow, extra: Value) -> Value {
    let mut data = json!({
        "connection_id": row.connection_id,
        "purchase_order_id": row.id,
        "po_number": row.po_number,
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    data
}

async fn sent(
    ctx: &AppContext,
    row: &PoRow,
    attempt: i64,
    order_id: i64,
    outcome: &str,
) -> Result<(), Stop> {
    let data = event_data(
        row,
        json!({"status": "sent", "order_id": order_id, "adopted": outcome == "adopted"}),
    );
    let id = message_id();
    let body = envelope("order.created", data);
    let key = format!("order.created:po:{}", row.id);
    let event = NewEvent {
        event_type: "order.created",
        message_id: &id,
        dedupe_key: &key,
        payload: &body,
    };
    let deliveries = pos::mark_sent(
        &ctx.db,
        row.tenant_id,
        row.id,
        attempt,
        order_id,
        outcome,
        &event,
    )
    .await?;
    crate::partner_api::webhooks::enqueue_all(ctx, row.tenant_id, &deliveries).await;
    Ok(())
}

async fn fail(
    ctx: &AppContext,
    row: &PoRow,
    attempt: i64,
    reason: &str,
    http_status: Option<i32>,
) -> Result<(), JobFailure> {
    let data = event_data(row, json!({"status": "failed", "reason": reason}));
    let id = message_id();
    let body = envelope("order.failed", data);
    let key = format!("order.failed:po:{}:attempt:{attempt}", row.id);
    let event = NewEvent {
        event_type: "order.failed",
        message_id: &id,
        dedupe_key: &key,
        payload: &body,
    };
    let deliveries = pos::mark_failed(
        &ctx.db,
        row.tenant_id,
        row.id,
        attempt,
        reason,
        http_status,
        &event,
    )
    .await
    .map_err(retry_db)?;
    crate::partner_api::webhooks::enqueue_all(ctx, row.tenant_id, &deliveries).await;
    tracing::info!(po = row.id, kind = KIND, "purchase order failed");
    Ok(())
}

/// What a Preview shows: the body that would be sent, with the resolved ids and the
/// customer decision, without sending anything (a customer to be created is shown as
/// such, not created).
pub async fn preview(ctx: &AppContext, row: &PoRow) -> Result<Value, String> {
    let settings = settings(ctx, row.tenant_id, row.connection_id)
        .await
        .map_err(|e| e.to_string())?;
    let connection = db::connections::find(&ctx.db, row.tenant_id, row.connection_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "The connection no longer exists.".to_owned())?;
    let (token, hash) = credentials(ctx, &connection).await?;
    let client = ctx.bigcommerce.store(&hash, &token);
    let po = PurchaseOrder::from_stored(&row.body).map_err(|e| e.to_string())?;
    let text = |s: Stop| match s {
        Stop::Fail(m, _) | Stop::Retry(m) => m,
    };
    let (_, products) = resolve_lines(ctx, &client, row, &po, &settings)
        .await
        .map_err(text)?;
    let (customer_id, decision) = match settings.customer_mode.as_str() {
        "guest" => (0, "guest (customer_id 0)".to_owned()),
        mode => {
            let path = format!("/v3/customers?email:in={}", query_value(&po.customer.email));
            let found: V3List<CustomerHit> =
                client.get_json(&path).await.map_err(|e| e.to_string())?;
            match found.data.first() {
                Some(c) => (c.id, format!("existing customer {}", c.id)),
                None if mode == "create" => (
                    0,
                    format!("a new customer {} would be created", po.customer.email),
                ),
                None => {
                    return Err(format!(
                        "No customer with email {} in the store: this PO would fail.",
                        po.customer.email
                    ));
                }
            }
        }
    };
    let body = order_body(&po, &settings, customer_id, products).map_err(text)?;
    Ok(json!({"customer_decision": decision, "body": body}))
}
