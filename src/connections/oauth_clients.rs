//! OAuth client records (a BigCommerce app's client id and secret), one tenant's, always:
//! parse, seal the secret with the vault, store. The secret goes in once and only comes back
//! out through [`open_secret`], for the code that talks OAuth; nothing here returns it to a
//! page, a log or an audit entry. Knows nothing of HTTP.

use std::fmt;

use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{self, DbError, oauth_clients::Deleted},
    domain::{DomainError, Secret},
    vault::{Aad, VaultServiceError},
};

pub use crate::db::oauth_clients::OAuthClientRow;

/// What a user calls an OAuth client: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientName(String);

impl OAuthClientName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::domain::names::display_name(raw, "Enter a name for this OAuth client.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OAuthClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public client id issued by BigCommerce: 1–200 characters, no whitespace (surrounding
/// whitespace from copy and paste is trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(DomainError::new("Enter the client ID."));
        }
        if value.chars().count() > 200 {
            return Err(DomainError::new("The client ID is at most 200 characters."));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::new("The client ID cannot contain spaces."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client secret as typed: surrounding whitespace trimmed; `None` if nothing was typed
/// (on edit: keep the stored secret). Errors never repeat the value.
pub fn parse_secret(raw: Option<&Secret>) -> Result<Option<Secret>, DomainError> {
    let Some(value) = raw.map(|s| s.expose().trim()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > 1000 {
        return Err(DomainError::new(
            "The client secret is at most 1000 characters.",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::new(
            "The client secret cannot contain control characters.",
        ));
    }
    Ok(Some(Secret::new(value.to_owned())))
}

/// What went wrong; `Display` is what the user is told (never a secret).
#[derive(Debug, thiserror::Error)]
pub enum OAuthClientError {
    #[error("You already have an OAuth client with this name.")]
    NameTaken,
    #[error("{0}")]
    NotAllowed(String),
    #[error(
        "{name} is used by {} connection(s): {}. Change or delete those connections first.",
        connections.len(),
        connections.join(", ")
    )]
    InUse {
        name: String,
        connections: Vec<String>,
    },
    #[error("OAuth client not found.")]
    NotFound,
    #[error("This OAuth client has no secret stored. Edit it and enter the client secret.")]
    NoSecret,
    #[error("cannot seal or open the client secret")]
    Vault(#[from] VaultServiceError),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for OAuthClientError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict => Self::NameTaken,
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

/// Where a client's secret is sealed: binds the ciphertext to this tenant, row and field.
fn aad(tenant_id: i64, id: i64) -> Aad {
    Aad::new(tenant_id, "oauth_clients", id, "client_secret")
}

/// Owners and admins manage OAuth clients; members may only see the list.
pub fn require_manager(actor: &Actor) -> Result<(), OAuthClientError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(OAuthClientError::NotAllowed(
            "Only owners and admins can add, change or delete OAuth clients.".into(),
        ))
    }
}

/// The tenant's OAuth clients by name (no secrets), e.g. for a connection's dropdown.
pub async fn list(
    ctx: &AppContext,
    tenant_id: i64,
) -> Result<Vec<OAuthClientRow>, OAuthClientError> {
    Ok(db::oauth_clients::list(&ctx.db, tenant_id).await?)
}

/// One of the tenant's OAuth clients (no secret); `NotFound` for anyone else's.
pub async fn load(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<OAuthClientRow, OAuthClientError> {
    db::oauth_clients::find(&ctx.db, tenant_id, id)
        .await?
        .ok_or(OAuthClientError::NotFound)
}

/// The client secret, opened from the vault: for the OAuth code that sends it to BigCommerce.
/// Fails if the stored ciphertext does not belong to this tenant's row `id`.
#[tracing::instrument(skip_all, fields(tenant = tenant_id, oauth_client = id))]
pub async fn open_secret(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<Secret, OAuthClientError> {
    let ct = db::oauth_clients::find_secret_ct(&ctx.db, tenant_id, id)
        .await?
        .ok_or(OAuthClientError::NotFound)?
        .ok_or(OAuthClientError::NoSecret)?;
    Ok(ctx.vault.open(&aad(tenant_id, id), &ct).await?)
}

/// Stores a new client with its secret sealed to the new row; returns its id.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id))]
pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    name: &OAuthClientName,
    client_id: &ClientId,
    secret: &Secret,
) -> Result<i64, OAuthClientError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    let id = db::oauth_clients::create(
        &ctx.db,
        tenant_id,
        name.as_str(),
        client_id.as_str(),
        |id| async move {
            Ok::<_, OAuthClientError>(ctx.vault.seal(&aad(tenant_id, id), secret).await?)
        },
    )
    .await?;
    let detail = format!("{name} (client ID {})", client_id.as_str());
    db::audit::record(
        &ctx.db,
        Some(tenant_id),
        Some(actor.user_id),
        "oauth_client.created",
        &detail,
    )
    .await?;
    Ok(id)
}

/// Changes name and client id; the secret is replaced (sealed again) only if one is given.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id, oauth_client = id))]
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: i64,
    name: &OAuthClientName,
    client_id: &ClientId,
    secret: Option<&Secret>,
) -> Result<(), OAuthClientError> {
    require_manager(actor)?;
    let tenant_id = actor.tenant_id;
    load(ctx, tenant_id, id).await?;
    let secret_ct = match secret {
        Some(secret) => Some(ctx.vault.seal(&aad(tenant_id, id), secret).await?),
        None => None,
    };
    let updated = db::oauth_clients::update(
        &ctx.db,
        tenant_id,
        id,
        name.as_str(),
        client_id.as_str(),
        secret_ct.as_deref(),
    )
    .await?;
    if !updated {
        return Err(OAuthClientError::NotFound);
    }
    let detail = format!(
        "{name} (client ID {}{})",
        client_id.as_str(),
        if secret.is_some() {
            ", secret replaced"
        } else {
            ""
        }
    );
    db::audit::record(
        &ctx.db,
        Some(tenant_id),
        Some(actor.user_id),
        "oauth_client.updated",
        &detail,
    )
    .await?;
    Ok(())
}

/// Deletes a client and its sealed secret; refused while a connection uses it.
/// Returns the deleted client's name.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id, oauth_client = id))]
pub async fn delete(ctx: &AppContext, actor: &Actor, id: i64) -> Result<String, OAuthClientError> {
    require_manager(actor)?;
    let row = load(ctx, actor.tenant_id, id).await?;
    match db::oauth_clients::delete(&ctx.db, actor.tenant_id, id).await? {
        Deleted::Done => {}
        Deleted::NotFound => return Err(OAuthClientError::NotFound),
        Deleted::InUse(connections) => {
            return Err(OAuthClientError::InUse {
                name: row.name,
                connections,
            });
        }
    }
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        "oauth_client.deleted",
        &row.name,
    )
    .await?;
    Ok(row.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            OAuthClientName::parse("  Main app ").map(|n| n.0),
            Ok("Main app".into())
        );
        assert!(OAuthClientName::parse(" \t ").is_err());
        assert!(OAuthClientName::parse(&"x".repeat(100)).is_ok());
        assert!(OAuthClientName::parse(&"x".repeat(101)).is_err());
        assert!(OAuthClientName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn client_ids_have_no_whitespace() {
        assert_eq!(
            ClientId::parse(" abc123 \n").map(|c| c.0),
            Ok("abc123".into())
        );
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("abc 123").is_err());
        assert!(ClientId::parse(&"a".repeat(200)).is_ok());
        assert!(ClientId::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn secrets_are_trimmed_and_empty_means_none() {
        let typed = |s: &str| Secret::new(s.to_owned());
        assert!(parse_secret(None).unwrap().is_none());
        assert!(parse_secret(Some(&typed("  "))).unwrap().is_none());
        let parsed = parse_secret(Some(&typed(" s3cret\n"))).unwrap().unwrap();
        assert_eq!(parsed.expose(), "s3cret");
        let err = parse_secret(Some(&typed(&format!("SENTINEL{}", "x".repeat(1000)))));
        assert!(!err.unwrap_err().to_string().contains("SENTINEL"));
    }

    #[test]
    fn in_use_names_the_connections() {
        let e = OAuthClientError::InUse {
            name: "Main app".into(),
            connections: vec!["Shop A".into(), "Shop B".into()],
        };
        assert_eq!(
            e.to_string(),
            "Main app is used by 2 connection(s): Shop A, Shop B. Change or delete those connections first."
        );
    }
}
