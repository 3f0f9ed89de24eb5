//! A tenant's OAuth clients: list, add, edit, delete. Every route is under `/t/{tenant_id}`
//! and goes through `CurrentTenant`, so non-members get 404. The client secret is write-only:
//! no page here ever receives it, not even the edit form.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    connections::oauth_clients::{
        self, ClientId, OAuthClientError, OAuthClientName, OAuthClientRow,
    },
    context::AppContext,
    domain::Secret,
    error::AppError,
};

impl From<OAuthClientError> for AppError {
    fn from(e: OAuthClientError) -> Self {
        match e {
            OAuthClientError::NotFound => Self::NotFound,
            OAuthClientError::NotAllowed(msg) => Self::Forbidden(msg),
            e @ (OAuthClientError::NameTaken
            | OAuthClientError::InUse { .. }
            | OAuthClientError::NoSecret) => Self::BadRequest(e.to_string()),
            e @ (OAuthClientError::Vault(_) | OAuthClientError::Db(_)) => Self::internal(e),
        }
    }
}

#[derive(Template)]
#[template(path = "oauth_clients/index.html")]
struct OAuthClientsPage {
    layout: Layout,
    base: String,
    can_manage: bool,
    clients: Vec<OAuthClientRow>,
    error: Option<String>,
}

async fn index_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    error: Option<String>,
) -> Result<OAuthClientsPage, AppError> {
    Ok(OAuthClientsPage {
        layout: tenant.layout("OAuth clients"),
        base: tenant.path("/oauth-clients"),
        can_manage: oauth_clients::require_manager(&tenant.actor).is_ok(),
        clients: oauth_clients::list(ctx, tenant.id()).await?,
        error,
    })
}

pub async fn list_oauth_clients(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&index_page(&tenant, &ctx, None).await?)
}

/// The add/edit form. Holds no secret: the secret input is always rendered empty.
#[derive(Template)]
#[template(path = "oauth_clients/form.html")]
struct OAuthClientFormPage {
    layout: Layout,
    back: String,
    action: String,
    editing: bool,
    name: String,
    client_id: String,
    errors: FormErrors,
}

fn form_page(
    tenant: &CurrentTenant,
    editing: Option<i64>,
    name: String,
    client_id: String,
    errors: FormErrors,
) -> OAuthClientFormPage {
    let (title, action) = match editing {
        Some(id) => (
            "Edit OAuth client",
            tenant.path(&format!("/oauth-clients/{id}")),
        ),
        None => ("New OAuth client", tenant.path("/oauth-clients")),
    };
    OAuthClientFormPage {
        layout: tenant.layout(title),
        back: tenant.path("/oauth-clients"),
        action,
        editing: editing.is_some(),
        name,
        client_id,
        errors,
    }
}

/// Every field defaults to empty, so a form missing fields is answered with messages (or,
/// for another tenant's URL, 404) rather than a parse failure.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OAuthClientForm {
    name: String,
    client_id: String,
    client_secret: Option<Secret>,
}

/// Each field parsed (or `None`), with the messages for those that did not parse. The
/// secret is `None` when left empty.
fn parse(
    form: &OAuthClientForm,
) -> (
    Option<OAuthClientName>,
    Option<ClientId>,
    Option<Secret>,
    FormErrors,
) {
    let mut errors = FormErrors::default();
    let name = errors.check("name", OAuthClientName::parse(&form.name));
    let client_id = errors.check("client_id", ClientId::parse(&form.client_id));
    let secret = errors.check(
        "client_secret",
        oauth_clients::parse_secret(form.client_secret.as_ref()),
    );
    (name, client_id, secret.flatten(), errors)
}

/// The form again, with the values typed (never the secret) and the messages: 422.
fn rejected(
    tenant: &CurrentTenant,
    editing: Option<i64>,
    form: &OAuthClientForm,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let page = form_page(
        tenant,
        editing,
        form.name.trim().to_owned(),
        form.client_id.trim().to_owned(),
        errors,
    );
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

fn name_taken() -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add("name", OAuthClientError::NameTaken.to_string());
    errors
}

pub async fn new_oauth_client(tenant: CurrentTenant) -> Result<HttpResponse, AppError> {
    oauth_clients::require_manager(&tenant.actor)?;
    let page = form_page(
        &tenant,
        None,
        String::new(),
        String::new(),
        FormErrors::default(),
    );
    render(&page)
}

pub async fn create_oauth_client(
    tenant: CurrentTenant,
    form: web::Form<OAuthClientForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    oauth_clients::require_manager(&tenant.actor)?;
    let (name, client_id, secret, mut errors) = parse(&form);
    if secret.is_none() && errors.get("client_secret").is_none() {
        errors.add("client_secret", "Enter the client secret.");
    }
    let (Some(name), Some(client_id), Some(secret), true) =
        (name, client_id, secret, errors.is_empty())
    else {
        return rejected(&tenant, None, &form, errors);
    };
    match oauth_clients::create(&ctx, &tenant.actor, &name, &client_id, &secret).await {
        Ok(_) => {
            let text = format!("OAuth client {name} added.");
            flash(&tenant.viewer.session, "success", text);
            Ok(see_other(&tenant.path("/oauth-clients")))
        }
        Err(OAuthClientError::NameTaken) => rejected(&tenant, None, &form, name_taken()),
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_oauth_client(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let row = oauth_clients::load(&ctx, tenant.id(), id).await?;
    oauth_clients::require_manager(&tenant.actor)?;
    let page = form_page(
        &tenant,
        Some(id),
        row.name,
        row.client_id,
        FormErrors::default(),
    );
    render(&page)
}

pub async fn update_oauth_client(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<OAuthClientForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    oauth_clients::load(&ctx, tenant.id(), id).await?;
    oauth_clients::require_manager(&tenant.actor)?;
    let (name, client_id, secret, errors) = parse(&form);
    let (Some(name), Some(client_id), true) = (name, client_id, errors.is_empty()) else {
        return rejected(&tenant, Some(id), &form, errors);
    };
    let secret = secret.as_ref();
    match oauth_clients::update(&ctx, &tenant.actor, id, &name, &client_id, secret).await {
        Ok(()) => {
            let text = format!("OAuth client {name} saved.");
            flash(&tenant.viewer.session, "success", text);
            Ok(see_other(&tenant.path("/oauth-clients")))
        }
        Err(OAuthClientError::NameTaken) => rejected(&tenant, Some(id), &form, name_taken()),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_oauth_client(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    match oauth_clients::delete(&ctx, &tenant.actor, id).await {
        Ok(name) => {
            let text = format!("OAuth client {name} deleted.");
            flash(&tenant.viewer.session, "success", text);
            Ok(see_other(&tenant.path("/oauth-clients")))
        }
        Err(e @ OAuthClientError::InUse { .. }) => {
            let page = index_page(&tenant, &ctx, Some(e.to_string())).await?;
            render_with(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}
