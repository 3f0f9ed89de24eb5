//! API keys: `cbk_` + 256 random bits (base64url), shown once; only the hex SHA-256 is
//! stored (a 256-bit random key needs no slow hash), with a short visible prefix. A key is
//! `read` or `read_write`, optionally limited to some connections, and can be revoked.
//! Must not log, store or return a key after `create` hands it out.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    accounts::{members::Actor, tokens},
    context::AppContext,
    db::{self, DbError, api_keys::ApiKeyRow},
    domain::Secret,
};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "cbk_";
/// Characters of the key that stay visible (`cbk_` and 8 more).
const VISIBLE: usize = 12;
/// Length of the random part: 32 bytes in unpadded base64url.
const RANDOM_LEN: usize = 43;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

impl Access {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "read" => Some(Self::Read),
            "read_write" => Some(Self::ReadWrite),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read_write",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for KeyError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

/// A fresh key (to show once) and its stored hash and visible prefix.
pub fn generate() -> (Secret, String, String) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = tokens::hash(&key);
    let prefix = key[..VISIBLE].to_owned();
    (Secret::new(key), hash, prefix)
}

/// Whether `raw` has the shape of one of our keys (checked before any lookup).
pub fn is_well_formed(raw: &str) -> bool {
    raw.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn require_manager(actor: &Actor) -> Result<(), KeyError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(KeyError::NotAllowed(
            "Only owners and admins can create or revoke API keys.".into(),
        ))
    }
}

/// Whether the actor may create and revoke keys (the pages hide the forms otherwise).
pub fn can_manage(actor: &Actor) -> bool {
    require_manager(actor).is_ok()
}

/// A key to create, as typed.
pub struct NewKey<'a> {
    pub name: &'a str,
    pub access: Access,
    /// Empty: every connection.
    pub connection_ids: &'a [i64],
}

/// Creates a key (owners and admins) and returns its id and the key, which is shown once.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id))]
pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    new: &NewKey<'_>,
) -> Result<(i64, Secret), KeyError> {
    require_manager(actor)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(KeyError::Invalid(
            "Give the key a name of 1 to 100 characters (who or what uses it).".into(),
        ));
    }
    let (key, hash, prefix) = generate();
    let row = db::api_keys::NewApiKey {
        name,
        prefix: &prefix,
        key_hash: &hash,
        access: new.access.as_str(),
        created_by: actor.user_id,
        connection_ids: new.connection_ids,
    };
    let id = db::api_keys::insert(&ctx.db, actor.tenant_id, &row)
        .await
        .map_err(|e| match e {
            DbError::NotFound => {
                KeyError::Invalid("Choose connections of this company only.".into())
            }
            other => other.into(),
        })?;
    let detail = format!("{name} ({prefix}…, {})", new.access.as_str());
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        "api_key.created",
        &detail,
    )
    .await?;
    tracing::info!(key = id, "API key created");
    Ok((id, key))
}

/// Revokes a key (owners and admins); requests with it get 401 from now on.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id))]
pub async fn revoke(ctx: &AppContext, actor: &Actor, key_id: i64) -> Result<String, KeyError> {
    require_manager(actor)?;
    let key = list(ctx, actor.tenant_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or(KeyError::NotFound)?;
    if db::api_keys::revoke(&ctx.db, actor.tenant_id, key_id).await? {
        let detail = format!("{} ({}…)", key.name, key.prefix);
        db::audit::record(
            &ctx.db,
            Some(actor.tenant_id),
            Some(actor.user_id),
            "api_key.revoked",
            &detail,
        )
        .await?;
    }
    Ok(key.name)
}

pub async fn list(ctx: &AppContext, tenant_id: i64) -> Result<Vec<ApiKeyRow>, KeyError> {
    Ok(db::api_keys::list(&ctx.db, tenant_id).await?)
}

/// Who is calling the API: a live key of one tenant.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    pub key_id: i64,
    pub tenant_id: i64,
    pub access: Access,
    /// `None`: every connection of the tenant.
    pub connections: Option<Vec<i64>>,
    /// Who created the key (runs it starts are theirs in the audit trail).
    pub created_by: Option<i64>,
    pub prefix: String,
}

impl ApiPrincipal {
    /// Whether the key may see connection `id` (another tenant's id is filtered by queries).
    pub fn sees(&self, connection_id: i64) -> bool {
        self.connections
            .as_ref()
            .is_none_or(|ids| ids.contains(&connection_id))
    }
}

/// Why a bearer key was refused (all answered 401, with a different detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Unknown,
    Revoked,
}

/// Finds the live key `raw` names, or why not. Notes its use (at most once a minute).
pub async fn authenticate(ctx: &AppContext, raw: &Secret) -> Result<ApiPrincipal, AuthRefusal> {
    if !is_well_formed(raw.expose()) {
        return Err(AuthRefusal::Failure(AuthFailure::Malformed));
    }
    let hash = tokens::hash(raw.expose());
    let row = db::api_keys::find_by_hash(&ctx.db, &hash)
        .await?
        .ok_or(AuthRefusal::Failure(AuthFailure::Unknown))?;
    if row.revoked_at.is_some() {
        return Err(AuthRefusal::Failure(AuthFailure::Revoked));
    }
    let access = Access::parse(&row.access).unwrap_or(Access::Read);
    let ids = db::api_keys::connection_ids(&ctx.db, row.tenant_id, row.id).await?;
    db::api_keys::touch(&ctx.db, row.tenant_id, row.id).await?;
    Ok(ApiPrincipal {
        key_id: row.id,
        tenant_id: row.tenant_id,
        access,
        connections: (!ids.is_empty()).then_some(ids),
        created_by: row.created_by,
        prefix: row.prefix,
    })
}

/// A refused key, or the database failing while checking it.
#[derive(Debug, thiserror::Error)]
pub enum AuthRefusal {
    #[error("the API key was refused")]
    Failure(AuthFailure),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_hash_to_the_stored_form() {
        let (key, hash, prefix) = generate();
        let raw = key.expose();
        assert!(
            raw.starts_with("cbk_") && raw.len() == 4 + 43,
            "{}",
            raw.len()
        );
        assert!(is_well_formed(raw));
        assert_eq!(prefix, &raw[..12]);
        assert_eq!(tokens::hash(raw), hash);
        assert_ne!(generate().0.expose(), raw);
    }

    #[test]
    fn malformed_keys_are_recognised_without_a_lookup() {
        for bad in [
            "",
            "cbk_",
            "cbk_short",
            "sk_live_0123456789012345678901234567890123456789012",
            "cbk_+++++++++++++++++++++++++++++++++++++++++++",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }
}
