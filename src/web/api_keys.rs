//! The API keys page (`/t/{tenant_id}/api-keys`): everyone in the tenant sees the list
//! (prefix, access, connections, last used); owners and admins create and revoke. A new key
//! is shown once, in the answer to the POST that made it: it goes through no session, flash
//! or redirect, so reloading the page cannot show it again.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    extract::CurrentTenant,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    context::AppContext,
    db::{self, api_keys::ApiKeyRow, connections::ConnectionRow},
    error::AppError,
    partner_api::keys::{self, Access, KeyError, NewKey},
};

impl From<KeyError> for AppError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound => Self::NotFound,
            KeyError::NotAllowed(m) => Self::Forbidden(m),
            KeyError::Invalid(m) => Self::BadRequest(m),
            KeyError::Db(e) => Self::internal(e),
        }
    }
}

/// A key as listed, with the names of the connections it is limited to.
struct KeyView {
    row: ApiKeyRow,
    connections: String,
}

#[derive(Template)]
#[template(path = "api_keys/index.html")]
struct ApiKeysPage {
    layout: Layout,
    base: String,
    can_manage: bool,
    keys: Vec<KeyView>,
    connections: Vec<ConnectionRow>,
    /// The key just created: shown once.
    new_key: Option<String>,
    error: Option<String>,
}

async fn page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    new_key: Option<String>,
    error: Option<String>,
) -> Result<ApiKeysPage, AppError> {
    let connections = db::connections::list(&ctx.db, tenant.id()).await?;
    let mut views = Vec::new();
    for row in keys::list(ctx, tenant.id()).await? {
        let ids = db::api_keys::connection_ids(&ctx.db, tenant.id(), row.id).await?;
        let names: Vec<&str> = connections
            .iter()
            .filter(|c| ids.contains(&c.id))
            .map(|c| c.name.as_str())
            .collect();
        views.push(KeyView {
            connections: if ids.is_empty() {
                "all".into()
            } else {
                names.join(", ")
            },
            row,
        });
    }
    Ok(ApiKeysPage {
        layout: tenant.layout("API keys"),
        base: tenant.path("/api-keys"),
        can_manage: keys::can_manage(&tenant.actor),
        keys: views,
        connections,
        new_key,
        error,
    })
}

pub async fn list_api_keys(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&page(&tenant, &ctx, None, None).await?)
}

/// Creates a key and shows it once (a 200 page, never a redirect).
pub async fn create_api_key(
    tenant: CurrentTenant,
    form: web::Form<Vec<(String, String)>>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let connection_ids: Vec<i64> = form
        .iter()
        .filter(|(k, _)| k == "connection_ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let Some(access) = Access::parse(field("access")) else {
        let page = page(
            &tenant,
            &ctx,
            None,
            Some("Choose read or read_write access.".into()),
        );
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page.await?);
    };
    let new = NewKey {
        name: field("name"),
        access,
        connection_ids: &connection_ids,
    };
    match keys::create(&ctx, &tenant.actor, &new).await {
        Ok((_, key)) => render(&page(&tenant, &ctx, Some(key.expose().to_owned()), None).await?),
        Err(KeyError::Invalid(message)) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&tenant, &ctx, None, Some(message)).await?,
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_api_key(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let name = keys::revoke(&ctx, &tenant.actor, path.1).await?;
    flash(
        &tenant.viewer.session,
        "success",
        format!("API key {name} revoked."),
    );
    Ok(see_other(&tenant.path("/api-keys")))
}
