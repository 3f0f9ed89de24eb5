//! The connection wizard and pages: list, create (and Create & Test), detail with the last
//! test's findings, edit (secrets re-entered, never shown), test, delete.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    extract::CurrentTenant,
    forms::FormErrors,
    render::{Layout, flash_on, render, render_with, see_other},
};
use crate::{
    connections::{
        health::Health,
        oauth_clients::{self, ClientId, OAuthClientRow},
        store::{self, Capability, ConnectionError, ConnectionInput},
    },
    context::AppContext,
    db::{self, DbError, connections::ConnectionRow, form_submissions::Claim},
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
    /// The wizard's one-time token: the first POST with it creates, a second is sent to
    /// what the first made.
    form_token: String,
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
    /// Create & Test found a problem: offer to save the connection as it is.
    save_anyway: bool,
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
        save_anyway: false,
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
        form_token: field(fields, "form_token").to_owned(),
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

impl IndexPage {
    fn health(&self, c: &ConnectionRow) -> Health {
        Health::of(c)
    }
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

/// Refuses the wizard to a role that could not submit it, before anything is typed.
fn require_manager(tenant: &CurrentTenant) -> Result<(), AppError> {
    if tenant.actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only owners and admins can add or change connections.".into(),
        ))
    }
}

pub async fn new_connection(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    require_manager(&tenant)?;
    let draft = Draft {
        form_token: uuid::Uuid::new_v4().simple().to_string(),
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
    let token = draft.form_token.clone();
    if !token.is_empty()
        && let Claim::Taken { .. } =
            db::form_submissions::claim(&ctx.db, tenant.id(), &token).await?
    {
        return Ok(see_other(
            &first_submission_result(&tenant, &ctx, &token).await?,
        ));
    }
    let then_test = field(&fields, "then") == "test";
    // Create & Test checks the store first: a failure goes back to the form, everything
    // typed kept but the secret, with "Save anyway" offered instead of saving silently.
    let checked = match then_test {
        true => store::check_input(&ctx, &input).await,
        false => None,
    };
    if let Some(report) = checked.as_ref().filter(|r| !r.healthy) {
        if !token.is_empty() {
            db::form_submissions::release(&ctx.db, tenant.id(), &token).await?;
        }
        let mut errors = FormErrors::default();
        errors.general = Some(
            report
                .problem
                .clone()
                .unwrap_or_else(|| "The store check failed.".into()),
        );
        let mut page = form_page(&tenant, &ctx, None, draft, errors).await?;
        page.save_anyway = true;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let created = store::create(&ctx, &tenant.actor, &input).await;
    if created.is_err() && !token.is_empty() {
        db::form_submissions::release(&ctx.db, tenant.id(), &token).await?;
    }
    let id = match created {
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
    if !token.is_empty() {
        db::form_submissions::set_record(&ctx.db, tenant.id(), &token, id).await?;
    }
    let show = tenant.path(&format!("/connections/{id}"));
    let session = &tenant.viewer.session;
    flash_on(
        session,
        &show,
        "success",
        format!("Connection “{}” created.", input.name),
    );
    if let Some(other) = same_store(&ctx, &tenant, id, &input.store_hash).await? {
        flash_on(
            session,
            &show,
            "info",
            format!("The connection “{other}” already links this store: both will work on it."),
        );
    }
    if then_test && input.auth_type == AuthType::OAuth {
        // "Create & Connect": an OAuth connection is tested by connecting it.
        if !token.is_empty() {
            db::form_submissions::finish(&ctx.db, tenant.id(), &token).await?;
        }
        return Ok(see_other(&format!("{show}/connect")));
    }
    let result = if let Some(report) = &checked {
        store::record(&ctx, tenant.id(), id, report, true)
            .await
            .map(|()| flash_report(&tenant, &show, report))
            .map_err(AppError::from)
    } else if then_test {
        report_test(&tenant, &ctx, id, &show).await
    } else {
        Ok(())
    };
    if !token.is_empty() {
        db::form_submissions::finish(&ctx.db, tenant.id(), &token).await?;
    }
    result?;
    Ok(see_other(&show))
}

/// Another connection of this tenant on the same store, by name.
async fn same_store(
    ctx: &AppContext,
    tenant: &CurrentTenant,
    id: i64,
    hash: &StoreHash,
) -> Result<Option<String>, AppError> {
    Ok(store::list(ctx, tenant.id())
        .await?
        .into_iter()
        .find(|c| c.id != id && c.store_hash == hash.as_str())
        .map(|c| c.name))
}

/// Where a repeated submission goes: the connection the first one created, once that one
/// has finished (its test included), so the person sees one complete answer.
async fn first_submission_result(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    token: &str,
) -> Result<String, AppError> {
    // The first request may still be talking to BigCommerce; its client gives up well
    // within this bound, so this waits for the answer rather than racing it.
    for _ in 0..600 {
        match db::form_submissions::find(&ctx.db, tenant.id(), token).await {
            Ok(Claim::Taken {
                record_id: Some(id),
                finished: true,
            }) => return Ok(tenant.path(&format!("/connections/{id}"))),
            // The first was sent back (a failed check): the form again.
            Err(DbError::NotFound) => return Ok(tenant.path("/connections/new")),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    match db::form_submissions::find(&ctx.db, tenant.id(), token).await {
        Ok(Claim::Taken {
            record_id: Some(id),
            ..
        }) => Ok(tenant.path(&format!("/connections/{id}"))),
        _ => Ok(tenant.path("/connections")),
    }
}

/// Tests the connection and leaves the finding for the page at `show`.
async fn report_test(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    id: i64,
    show: &str,
) -> Result<(), AppError> {
    let report = store::test(ctx, tenant.id(), id).await?;
    flash_report(tenant, show, &report);
    Ok(())
}

/// Leaves a test's finding for the page at `show`.
fn flash_report(tenant: &CurrentTenant, show: &str, report: &store::TestReport) {
    let session = &tenant.viewer.session;
    match (&report.store, &report.problem) {
        (Some(info), _) => flash_on(
            session,
            show,
            "success",
            format!("Connected to {} ({}).", info.name, info.domain),
        ),
        (None, Some(problem)) => flash_on(session, show, "error", problem.clone()),
        (None, None) => {}
    }
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
    health: Health,
    nav: super::flows::ConnectionNav,
    /// The BigCommerce webhooks flows registered on the connection, with what the last
    /// check found.
    hooks: Vec<crate::db::inbound::HookRow>,
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
        health: Health::of(&c),
        nav: super::flows::ConnectionNav::load(&tenant, &ctx, c.id, "connection").await?,
        hooks: crate::db::inbound::hooks(&ctx.db, tenant.id(), c.id, None).await?,
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
        form_token: String::new(),
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
                let show = tenant.path(&format!("/connections/{id}"));
                let session = &tenant.viewer.session;
                if field(&fields, "then") == "test" {
                    flash_on(session, &show, "success", "Connection saved.");
                    report_test(&tenant, &ctx, id, &show).await?;
                } else {
                    flash_on(
                        session,
                        &show,
                        "success",
                        "Connection saved. Test it to check the store again.",
                    );
                }
                return Ok(see_other(&show));
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
    let show = tenant.path(&format!("/connections/{id}"));
    report_test(&tenant, &ctx, id, &show).await?;
    Ok(see_other(&show))
}

pub async fn delete_connection(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let deleted = store::delete(&ctx, &tenant.actor, connection_id(&path)).await?;
    let name = &deleted.name;
    let (kind, message) = match (&deleted.hooks_left, deleted.hooks_deleted) {
        (None, 0) => (
            "success",
            format!("Connection “{name}” deleted, with its stored token."),
        ),
        (None, n) => (
            "success",
            format!(
                "Connection “{name}” deleted, with its stored token and its {n} webhook{} on the store.",
                if n == 1 { "" } else { "s" }
            ),
        ),
        (Some(why), _) => (
            "info",
            format!(
                "Connection “{name}” deleted, with its stored token. Its webhooks could not be deleted on the store ({why}), so they may remain there: cartbridge refuses their deliveries, and BigCommerce deactivates them once its retries fail."
            ),
        ),
    };
    flash_on(
        &tenant.viewer.session,
        &tenant.path("/connections"),
        kind,
        message,
    );
    Ok(see_other(&tenant.path("/connections")))
}
