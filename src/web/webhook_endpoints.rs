//! Webhook endpoint pages (`/t/{tenant_id}/webhooks`): the list and the form to add one,
//! and per endpoint its details and delivery log (event, attempt, status code, time taken,
//! first 1 KiB of the answer) with redeliver, "Send test event", rotate secret, enable,
//! disable and delete. Members see the pages; owners and admins act. A signing secret is
//! shown once, in the answer to the POST that made it.

use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    extract::CurrentTenant,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    context::AppContext,
    db::{
        self,
        webhooks::{AttemptRow, DeliveryRow, EndpointRow},
    },
    error::AppError,
    partner_api::{
        EVENT_TYPES,
        webhooks::{self, NewEndpoint, WebhookError},
    },
};

/// Deliveries shown in the log.
const LOG_SIZE: i64 = 50;

impl From<WebhookError> for AppError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotFound => Self::NotFound,
            WebhookError::NotAllowed(m) => Self::Forbidden(m),
            WebhookError::Invalid(m) => Self::BadRequest(m),
            e @ (WebhookError::Vault(_) | WebhookError::Db(_)) => Self::internal(e),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks/index.html")]
struct EndpointsPage {
    layout: Layout,
    base: String,
    can_manage: bool,
    endpoints: Vec<EndpointRow>,
    event_types: &'static [&'static str],
    url: String,
    error: Option<String>,
}

async fn index_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    url: String,
    error: Option<String>,
) -> Result<EndpointsPage, AppError> {
    Ok(EndpointsPage {
        layout: tenant.layout("Webhooks"),
        base: tenant.path("/webhooks"),
        can_manage: webhooks::can_manage(&tenant.actor),
        endpoints: webhooks::list_endpoints(ctx, tenant.id()).await?,
        event_types: EVENT_TYPES,
        url,
        error,
    })
}

pub async fn list_endpoints(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&index_page(&tenant, &ctx, String::new(), None).await?)
}

/// A delivery with its attempts, as the log shows it.
struct DeliveryView {
    d: DeliveryRow,
    attempts: Vec<AttemptRow>,
}

#[derive(Template)]
#[template(path = "webhooks/show.html")]
struct EndpointPage {
    layout: Layout,
    base: String,
    can_manage: bool,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryView>,
    /// A secret just made (endpoint created or secret rotated): shown once.
    new_secret: Option<String>,
}

async fn endpoint_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    id: i64,
    new_secret: Option<String>,
) -> Result<EndpointPage, AppError> {
    let endpoint = webhooks::load_endpoint(ctx, tenant.id(), id).await?;
    let rows = db::webhooks::deliveries_of(&ctx.db, tenant.id(), id, LOG_SIZE).await?;
    let mut attempts: HashMap<i64, Vec<AttemptRow>> = HashMap::new();
    for a in db::webhooks::attempts_of_endpoint(&ctx.db, tenant.id(), id, LOG_SIZE).await? {
        attempts.entry(a.delivery_id).or_default().push(a);
    }
    Ok(EndpointPage {
        layout: tenant.layout("Webhook endpoint"),
        base: tenant.path(&format!("/webhooks/{id}")),
        can_manage: webhooks::can_manage(&tenant.actor),
        deliveries: rows
            .into_iter()
            .map(|d| DeliveryView {
                attempts: attempts.remove(&d.id).unwrap_or_default(),
                d,
            })
            .collect(),
        endpoint,
        new_secret,
    })
}

pub async fn show_endpoint(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&endpoint_page(&tenant, &ctx, path.1, None).await?)
}

/// Registers an endpoint and shows its secret once (a 200 page, never a redirect).
pub async fn create_endpoint(
    tenant: CurrentTenant,
    form: web::Form<Vec<(String, String)>>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let types: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "event_types")
        .map(|(_, v)| v.clone())
        .collect();
    let url = field("url");
    let description = field("description");
    let new = NewEndpoint {
        url: &url,
        description: &description,
        event_types: &types,
    };
    match webhooks::create_endpoint(&ctx, &tenant.actor, &new).await {
        Ok((id, secret)) => {
            let secret = Some(secret.expose().to_owned());
            render(&endpoint_page(&tenant, &ctx, id, secret).await?)
        }
        Err(WebhookError::Invalid(message)) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &index_page(&tenant, &ctx, url, Some(message)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn rotate_secret(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let secret = webhooks::rotate_secret(&ctx, &tenant.actor, path.1).await?;
    let secret = Some(secret.expose().to_owned());
    render(&endpoint_page(&tenant, &ctx, path.1, secret).await?)
}

fn back(tenant: &CurrentTenant, id: i64) -> HttpResponse {
    see_other(&tenant.path(&format!("/webhooks/{id}")))
}

pub async fn send_test_event(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    webhooks::send_test_event(&ctx, &tenant.actor, path.1).await?;
    flash(&tenant.viewer.session, "success", "Test event queued.");
    Ok(back(&tenant, path.1))
}

pub async fn enable_endpoint(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    webhooks::set_enabled(&ctx, &tenant.actor, path.1, true).await?;
    flash(&tenant.viewer.session, "success", "Endpoint enabled.");
    Ok(back(&tenant, path.1))
}

pub async fn disable_endpoint(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    webhooks::set_enabled(&ctx, &tenant.actor, path.1, false).await?;
    flash(&tenant.viewer.session, "success", "Endpoint disabled.");
    Ok(back(&tenant, path.1))
}

pub async fn delete_endpoint(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    webhooks::delete_endpoint(&ctx, &tenant.actor, path.1).await?;
    flash(&tenant.viewer.session, "success", "Endpoint deleted.");
    Ok(see_other(&tenant.path("/webhooks")))
}

pub async fn redeliver(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, endpoint_id, delivery_id) = path.into_inner();
    webhooks::redeliver(&ctx, &tenant.actor, endpoint_id, delivery_id).await?;
    flash(&tenant.viewer.session, "success", "Redelivery queued.");
    Ok(back(&tenant, endpoint_id))
}
