//! The connection wizard and pages: list, create (and Create & Test), detail with the last
//! test's findings, edit (secrets re-entered, never shown), test, delete.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    connections::{
        oauth_clients::{self, ClientId, OAuthClientRow},
        store::{self, Capability, ConnectionError, ConnectionInput},
    },
    context::AppContext,
    db::connections::ConnectionRow,
    domain::{AuthType, ConnectionName, Scopes, Secret, StoreHash, connection::KNOWN_SCOPES},
    error::AppError,
};

impl From<ConnectionError> for AppError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::NotFound => Self::NotFound,
            ConnectionError::NotAllowed(msg) => Self::Forbidden(msg),
            ConnectionError::NameTaken | ConnectionError::OAuthClientNotFound => {
                Self::BadRequest(e.to_string())
            }
            ConnectionError::Vault(v) => Self::internal(v),
            ConnectionError::Db(d) => d.into(),
        }
    }
}

/// The wizard's fields as typed (secrets are never kept for redisplay).
#[derive(Default)]
struct Draft {
    name: String,
    auth_type: String,
    store: String,
    oauth_client_id: String,
    api_client_id: String,
    scopes: Vec<String>,
    parsed_hash: Option<String>,
}

/// One scope checkbox.
struct ScopeOption {
    name: &'static str,
    permission: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "connections/form.html")]
struct FormPage {
    layout: Layout,
    base: String,
    /// `None` for a new connection.
    editing: Option<ConnectionRow>,
    draft: Draft,
    oauth_clients: Vec<OAuthClientRow>,
    scopes: Vec<ScopeOption>,
    redirect_url: String,
    errors: FormErrors,
}

impl FormPage {
    fn is_auth(&self, kind: &str) -> bool {
        self.draft.auth_type == kind
    }

    fn is_client(&self, id: &i64) -> bool {
        self.draft.oauth_client_id == id.to_string()
    }
}

async fn form_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    editing: Option<ConnectionRow>,
    draft: Draft,
    errors: FormErrors,
) -> Result<FormPage, AppError> {
    let scopes = KNOWN_SCOPES
        .iter()
        .map(|s| ScopeOption {
            name: s.name,
            permission: s.permission,
            checked: draft.scopes.iter().any(|c| c == s.name),
        })
        .collect();
    let title = if editing.is_some() {
        "Edit connection"
    } else {
        "Create connection"
    };
    Ok(FormPage {
        layout: tenant.layout(title),
        base: tenant.path(""),
        editing,
        draft,
        oauth_clients: oauth_clients::list(ctx, tenant.id()).await?,
        scopes,
        redirect_url: ctx
            .public_url
            .join("/oauth/callback")
            .map(|u| u.to_string())
            .unwrap_or_default(),
        errors,
    })
}

/// Reads an urlencoded body, keeping repeated keys (the scope checkboxes).
fn parse_body(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The longest access token accepted (BigCommerce's are about 30 characters; this leaves
/// room for other formats without letting a form store megabytes).
pub const MAX_TOKEN_CHARS: usize = 1000;

/// An access token as typed: surrounding whitespace trimmed, `None` if empty. The error
/// never repeats the value.
fn parse_access_token(raw: &str) -> Result<Option<Secret>, crate::domain::DomainError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_TOKEN_CHARS {
        return Err(crate::domain::DomainError::new(format!(
            "The access token is at most {MAX_TOKEN_CHARS} characters: paste only the token BigCommerce showed you."
        )));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(crate::domain::DomainError::new(
            "The access token cannot contain spaces or line breaks: paste only the token.",
        ));
    }
    Ok(Some(Secret::new(value.to_owned())))
}

/// Parses the wizard. `require_token`: a new Token/Basic connection needs its token; on edit
/// an empty token field keeps the stored one.
fn parse_input(
    fields: &[(String, String)],
    require_token: bool,
) -> (Draft, Result<ConnectionInput, FormErrors>) {
    let mut errors = FormErrors::default();
    let draft_scopes: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| v.clone())
        .collect();
    let mut draft = Draft {
        name: field(fields, "name").trim().to_owned(),
        auth_type: field(fields, "auth_type").to_owned(),
        store: field(fields, "store").trim().to_owned(),
        oauth_client_id: field(fields, "oauth_client_id").to_owned(),
        api_client_id: field(fields, "api_client_id").trim().to_owned(),
        scopes: draft_scopes.clone(),
        parsed_hash: None,
    };
    let name = errors.check("name", ConnectionName::parse(&draft.name));
    let auth_type = errors.check("auth_type", AuthType::parse(&draft.auth_type));
    let store_hash = errors.check("store", StoreHash::parse(&draft.store));
    draft.parsed_hash = store_hash.as_ref().map(|h| h.as_str().to_owned());
    let scopes = errors.check(
        "scopes",
        Scopes::parse(draft_scopes.iter().map(String::as_str)),
    );
    let token = errors
        .check(
            "access_token",
            parse_access_token(field(fields, "access_token")),
        )
        .flatten();
    let (mut oauth_client_id, mut api_client_id) = (None, None);
    match auth_type {
        Some(AuthType::OAuth) => {
            oauth_client_id = draft.oauth_client_id.parse::<i64>().ok();
            if oauth_client_id.is_none() {
                errors.add("oauth_client_id", "Choose the OAuth client this connection signs in with (create one first if the list is empty).");
            }
            if scopes.as_ref().is_some_and(Scopes::is_empty) {
                errors.add("scopes", "Choose at least one scope.");
            }
        }
        Some(AuthType::Token | AuthType::Basic) => {
            if let Some(id) = errors.check("api_client_id", ClientId::parse(&draft.api_client_id)) {
                api_client_id = Some(id.as_str().to_owned());
            }
            if require_token && token.is_none() {
                errors.add("access_token", "Enter the API account's access token.");
            }
        }
        None => {}
    }
    let input = match (name, auth_type, store_hash, scopes) {
        (Some(name), Some(auth_type), Some(store_hash), Some(scopes)) if errors.is_empty() => {
            Ok(ConnectionInput {
                token: if auth_type == AuthType::OAuth {
                    None
                } else {
                    token
                },
                name,
                auth_type,
                store_hash,
                oauth_client_id,
                api_client_id,
                // A store-level token's scopes are fixed in BigCommerce; only OAuth asks.
                scopes: if auth_type == AuthType::OAuth {
                    scopes
                } else {
                    Scopes::default()
                },
            })
        }
        _ => Err(errors),
    };
    (draft, input)
}

#[derive(Template)]
#[template(path = "connections/index.html")]
struct IndexPage {
    layout: Layout,
    base: String,
    connections: Vec<ConnectionRow>,
    can_manage: bool,
}

pub async fn list_connections(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&IndexPage {
        layout: tenant.layout("Connections"),
        base: tenant.path(""),
        connections: store::list(&ctx, tenant.id()).await?,
        can_manage: tenant.actor.role.can_manage_members(),
    })
}

pub async fn new_connection(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let draft = Draft {
        auth_type: "token".into(),
        scopes: Scopes::defaults()
            .names()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ..Draft::default()
    };
    render(&form_page(&tenant, &ctx, None, draft, FormErrors::default()).await?)
}

pub async fn create_connection(
    tenant: CurrentTenant,
    body: web::Bytes,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let fields = parse_body(&body);
    let (draft, input) = parse_input(&fields, true);
    let failed = |draft: Draft, errors: FormErrors| async {
        let page = form_page(&tenant, &ctx, None, draft, errors).await?;
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let input = match input {
        Ok(input) => input,
        Err(errors) => return failed(draft, errors).await,
    };
    let id = match store::create(&ctx, &tenant.actor, &input).await {
        Ok(id) => id,
        Err(e @ ConnectionError::NameTaken) => {
            let mut errors = FormErrors::default();
            errors.add("name", e.to_string());
            return failed(draft, errors).await;
        }
        Err(e @ ConnectionError::OAuthClientNotFound) => {
            let mut errors = FormErrors::default();
            errors.add("oauth_client_id", e.to_string());
            return failed(draft, errors).await;
        }
        Err(e) => return Err(e.into()),
    };
    flash(
        &tenant.viewer.session,
        "success",
        format!("Connection “{}” created.", input.name),
    );
    if field(&fields, "then") == "test" {
        report_test(&tenant, &ctx, id).await?;
    }
    Ok(see_other(&tenant.path(&format!("/connections/{id}"))))
}

async fn report_test(tenant: &CurrentTenant, ctx: &AppContext, id: i64) -> Result<(), AppError> {
    let report = store::test(ctx, tenant.id(), id).await?;
    match (&report.store, &report.problem) {
        (Some(info), _) => flash(
            &tenant.viewer.session,
            "success",
            format!("Connected to {} ({}).", info.name, info.domain),
        ),
        (None, Some(problem)) => flash(&tenant.viewer.session, "error", problem.clone()),
        (None, None) => {}
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "connections/show.html")]
struct ShowPage {
    layout: Layout,
    base: String,
    c: ConnectionRow,
    auth_label: &'static str,
    capabilities: Vec<Capability>,
    can_manage: bool,
    flows: super::flows::FlowsSummary,
}

fn connection_id(path: &web::Path<(i64, i64)>) -> i64 {
    path.1
}

pub async fn show_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let c = store::load(&ctx, tenant.id(), connection_id(&path)).await?;
    let capabilities = serde_json::from_str(&c.capabilities).unwrap_or_default();
    let auth_label = AuthType::parse(&c.auth_type)
        .map(AuthType::label)
        .unwrap_or("");
    render(&ShowPage {
        layout: tenant.layout(&c.name),
        base: tenant.path(""),
        auth_label,
        capabilities,
        can_manage: tenant.actor.role.can_manage_members(),
        flows: super::flows::FlowsSummary::load(&ctx, tenant.id(), c.id).await?,
        c,
    })
}

pub async fn edit_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    store::require_manager(&tenant.actor)?;
    let c = store::load(&ctx, tenant.id(), connection_id(&path)).await?;
    if c.installed_by_app {
        return Err(AppError::Forbidden(store::MANAGED_BY_APP.into()));
    }
    let draft = Draft {
        name: c.name.clone(),
        auth_type: c.auth_type.clone(),
        store: c.store_hash.clone(),
        oauth_client_id: c.oauth_client_id.map(|i| i.to_string()).unwrap_or_default(),
        api_client_id: c.api_client_id.clone().unwrap_or_default(),
        scopes: c
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        parsed_hash: Some(c.store_hash.clone()),
    };
    render(&form_page(&tenant, &ctx, Some(c), draft, FormErrors::default()).await?)
}

pub async fn update_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let id = connection_id(&path);
    let existing = store::load(&ctx, tenant.id(), id).await?;
    let fields = parse_body(&body);
    // The stored token is kept only while it still belongs (same auth type, store and OAuth
    // client); a Token/Basic connection without one needs a new token typed in.
    let same_store =
        StoreHash::parse(field(&fields, "store")).is_ok_and(|h| h.as_str() == existing.store_hash);
    let keeps_token = existing.has_token
        && same_store
        && field(&fields, "auth_type") == existing.auth_type
        && (field(&fields, "auth_type") != "oauth"
            || field(&fields, "oauth_client_id").parse::<i64>().ok() == existing.oauth_client_id);
    let needs_token = !keeps_token && field(&fields, "auth_type") != "oauth";
    let (draft, input) = parse_input(&fields, needs_token);
    let errors = match input {
        Err(errors) => errors,
        Ok(input) => match store::update(&ctx, &tenant.actor, id, &input).await {
            Ok(()) => {
                flash(
                    &tenant.viewer.session,
                    "success",
                    "Connection saved. Test it to check the store again.",
                );
                if field(&fields, "then") == "test" {
                    report_test(&tenant, &ctx, id).await?;
                }
                return Ok(see_other(&tenant.path(&format!("/connections/{id}"))));
            }
            Err(e @ ConnectionError::NameTaken) => {
                let mut errors = FormErrors::default();
                errors.add("name", e.to_string());
                errors
            }
            Err(e) => return Err(e.into()),
        },
    };
    render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(&tenant, &ctx, Some(existing), draft, errors).await?,
    )
}

pub async fn test_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let id = connection_id(&path);
    // Testing rewrites the connection's status and capabilities: owners and admins only.
    store::require_manager(&tenant.actor)?;
    report_test(&tenant, &ctx, id).await?;
    Ok(see_other(&tenant.path(&format!("/connections/{id}"))))
}

pub async fn delete_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let name = store::delete(&ctx, &tenant.actor, connection_id(&path)).await?;
    flash(
        &tenant.viewer.session,
        "success",
        format!("Connection “{name}” deleted, with its stored token."),
    );
    Ok(see_other(&tenant.path("/connections")))
}
