//! The single-click BigCommerce app's records: the connection it installed for a store
//! (`connections.installed_by_app`) and `bigcommerce_app_users` (BigCommerce user id →
//! cartbridge user, per store). The store hash is the lookup key only after the caller has
//! verified BigCommerce's signature or exchanged its code; every write then carries the
//! tenant id it found.

use super::{
    BeginWrite, Db, DbError,
    jobs::{QueueInTx, TxJob},
    now, on_pool,
};

/// The app-installed connection of a store, and its tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstallRow {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub status: String,
}

/// The store's app-installed connection, if the app was ever installed there.
pub async fn find_install(db: &Db, store_hash: &str) -> Result<Option<InstallRow>, DbError> {
    let sql = "SELECT tenant_id, id AS connection_id, status FROM connections \
               WHERE store_hash = $1 AND installed_by_app";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InstallRow>(sql).bind(store_hash).fetch_optional(p).await)?,
    )
}

/// A BigCommerce user to link to a cartbridge user in the store's tenant.
pub struct AppUser<'a> {
    pub bc_user_id: i64,
    pub email: &'a str,
    /// The role given if they are not a member yet.
    pub role: &'a str,
}

/// What a new install stores.
pub struct NewInstall<'a> {
    pub store_hash: &'a str,
    pub tenant_name: &'a str,
    pub connection_name: &'a str,
    pub scopes: &'a str,
    pub account_uuid: Option<&'a str>,
    pub installer: AppUser<'a>,
}

/// Who a BigCommerce identity (store + BigCommerce user id) signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The identity is linked to this user, a member of the store's tenant; `created` if the
    /// account was made just now (no password, email not verified).
    Member { user_id: i64, created: bool },
    /// The email belongs to an existing account that this identity is not linked to: its
    /// owner must prove it (log in from the app, or follow an emailed link) first. Nothing
    /// was written for the identity.
    NeedsProof { user_id: i64 },
}

/// Inside a transaction `$tx`: the user behind the BigCommerce identity (`store_hash`,
/// `$user.bc_user_id`) if it was linked before (re-adding the membership if it was lost);
/// else, when no account has the email, a new account (unverified, no password) linked to
/// the identity with `$user.role`; else `NeedsProof`. Never links by email, never marks an
/// email verified.
macro_rules! link_identity {
    ($tx:expr, $tenant_id:expr, $store_hash:expr, $user:expr, $at:expr) => {{
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM bigcommerce_app_users WHERE store_hash = $1 AND bc_user_id = $2 AND tenant_id = $3",
        )
        .bind($store_hash).bind($user.bc_user_id).bind($tenant_id)
        .fetch_optional(&mut *$tx).await?;
        let existing: Option<i64> = match known {
            Some(_) => None,
            None => sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind($user.email).fetch_optional(&mut *$tx).await?,
        };
        match (known, existing) {
            (None, Some(user_id)) => Linked::NeedsProof { user_id },
            (known, _) => {
                let (user_id, created) = match known {
                    Some(user_id) => (user_id, false),
                    None => (
                        sqlx::query_scalar::<_, i64>(
                            "INSERT INTO users (email, is_staff, created_at) VALUES ($1, $2, $3) RETURNING id",
                        )
                        .bind($user.email).bind(false).bind($at).fetch_one(&mut *$tx).await?,
                        true,
                    ),
                };
                link_member!($tx, $tenant_id, $store_hash, $user.bc_user_id, user_id, $user.role, $at);
                Linked::Member { user_id, created }
            }
        }
    }};
}

/// Inside `$tx`: the membership (if missing) and the identity row of a proven link.
macro_rules! link_member {
    ($tx:expr, $tenant_id:expr, $store_hash:expr, $bc_user_id:expr, $user_id:expr, $role:expr, $at:expr) => {{
        let added = sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (tenant_id, user_id) DO NOTHING")
            .bind($tenant_id).bind($user_id).bind($role).bind($at)
            .execute(&mut *$tx).await?.rows_affected();
        sqlx::query("INSERT INTO bigcommerce_app_users (tenant_id, store_hash, bc_user_id, user_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store_hash, bc_user_id) \
                     DO UPDATE SET tenant_id = $1, user_id = $4")
            .bind($tenant_id).bind($store_hash).bind($bc_user_id).bind($user_id).bind($at)
            .execute(&mut *$tx).await?;
        if added == 1 {
            sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.user_added', $3, $4)")
                .bind($tenant_id).bind($user_id).bind($role).bind($at).execute(&mut *$tx).await?;
        }
    }};
}

/// A first install: the tenant, its owner (by BigCommerce identity, or created; an existing
/// account with the email is `NeedsProof` and the tenant waits for it), the app connection
/// and its token sealed by `seal(tenant_id, connection_id)`, in one transaction.
/// Returns (tenant id, connection id, owner).
pub async fn create_install<F, Fut, E>(
    db: &Db,
    new: &NewInstall<'_>,
    seal: F,
) -> Result<(i64, i64, Linked), E>
where
    F: FnOnce(i64, i64) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
    E: From<DbError>,
{
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await.map_err(DbError::from)?;
        // Database steps run in blocks typed `DbError`; sealing keeps the caller's error type.
        let (tenant_id, owner, connection_id) = async {
        let tenant_id: i64 = sqlx::query_scalar("INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(new.tenant_name).bind(at).fetch_one(&mut *tx).await?;
        let owner = link_identity!(tx, tenant_id, new.store_hash, new.installer, at);
        let connection_id: i64 = sqlx::query_scalar(
            "INSERT INTO connections (tenant_id, name, auth_type, store_hash, scopes, installed_by_app, account_uuid, created_at, updated_at) \
             VALUES ($1, $2, 'oauth', $3, $4, $5, $6, $7, $7) RETURNING id",
        ).bind(tenant_id).bind(new.connection_name).bind(new.store_hash).bind(new.scopes).bind(true)
        .bind(new.account_uuid).bind(at).fetch_one(&mut *tx).await?;
        Ok::<_, DbError>((tenant_id, owner, connection_id))
        }.await?;
        let ct = seal(tenant_id, connection_id).await?;
        async {
        sqlx::query("UPDATE connections SET access_token_ct = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(ct).bind(tenant_id).bind(connection_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.installed', $3, $4)")
            .bind(tenant_id).bind(owner.member()).bind(new.store_hash).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, DbError>(())
        }.await?;
        Ok((tenant_id, connection_id, owner))
    })
}

/// A re-install: new token (sealed to the same row) and scopes, the connection back in
/// service (untested), the installer linked. Returns the installer.
pub async fn reinstall(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    token_ct: &[u8],
    new: &NewInstall<'_>,
) -> Result<Linked, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let done = sqlx::query(
            "UPDATE connections SET access_token_ct = $1, scopes = $2, account_uuid = COALESCE($3, account_uuid), \
             status = 'untested', last_error = NULL, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND installed_by_app",
        ).bind(token_ct).bind(new.scopes).bind(new.account_uuid).bind(at).bind(tenant_id).bind(connection_id)
        .execute(&mut *tx).await?.rows_affected();
        if done != 1 {
            return Err(DbError::NotFound);
        }
        let installer = link_identity!(tx, tenant_id, new.store_hash, new.installer, at);
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.reinstalled', $3, $4)")
            .bind(tenant_id).bind(installer.member()).bind(new.scopes).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(installer)
    })
}

/// The member of this tenant behind a BigCommerce identity (store + BigCommerce user id).
/// Only the identity counts: an email in a payload proves nothing.
pub async fn find_member(
    db: &Db,
    tenant_id: i64,
    store_hash: &str,
    bc_user_id: i64,
) -> Result<Option<i64>, DbError> {
    let sql = "SELECT a.user_id FROM bigcommerce_app_users a \
               JOIN memberships m ON m.tenant_id = a.tenant_id AND m.user_id = a.user_id \
               WHERE a.tenant_id = $1 AND a.store_hash = $2 AND a.bc_user_id = $3";
    Ok(
        on_pool!(db, p => sqlx::query_scalar(sql).bind(tenant_id).bind(store_hash).bind(bc_user_id).fetch_optional(p).await)?,
    )
}

/// Links a BigCommerce identity to this tenant: its known user, a new account, or
/// `NeedsProof` when the email is an existing account's.
pub async fn link(
    db: &Db,
    tenant_id: i64,
    store_hash: &str,
    user: &AppUser<'_>,
) -> Result<Linked, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let linked = link_identity!(tx, tenant_id, store_hash, user, at);
        tx.commit().await?;
        Ok(linked)
    })
}

/// A BigCommerce identity waiting for the owner of account `user_id` to prove it is theirs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct PendingLink {
    pub user_id: i64,
    pub tenant_id: i64,
    pub store_hash: String,
    pub bc_user_id: i64,
    pub role: String,
}

/// The owner of `pending.user_id` proved it: links the identity to them (membership with
/// the pending role if missing). Writes `app.user_linked`.
pub async fn link_proven(db: &Db, pending: &PendingLink) -> Result<(), DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        link_member!(tx, pending.tenant_id, &pending.store_hash, pending.bc_user_id, pending.user_id, &pending.role, at);
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.user_linked', $3, $4)")
            .bind(pending.tenant_id).bind(pending.user_id).bind(pending.bc_user_id.to_string()).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// Stores an emailed link request (only the token's hash) and queues `email`, which
/// carries the link (filed under the pending link's tenant), in one transaction.
pub async fn insert_link_request(
    db: &Db,
    token_hash: &str,
    pending: &PendingLink,
    expires_at: i64,
    email: &dyn TxJob,
) -> Result<(), DbError> {
    let sql = "INSERT INTO bigcommerce_link_requests \
               (token_hash, user_id, tenant_id, store_hash, bc_user_id, role, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(sql).bind(token_hash).bind(pending.user_id).bind(pending.tenant_id)
            .bind(&pending.store_hash).bind(pending.bc_user_id).bind(&pending.role).bind(now())
            .bind(expires_at).execute(&mut *tx).await?;
        tx.queue(pending.tenant_id, email).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// An unused, unexpired link request.
pub async fn find_link_request(db: &Db, token_hash: &str) -> Result<Option<PendingLink>, DbError> {
    let sql = "SELECT user_id, tenant_id, store_hash, bc_user_id, role FROM bigcommerce_link_requests \
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, PendingLink>(sql).bind(token_hash).bind(now()).fetch_optional(p).await)?,
    )
}

/// Uses a link request (one conditional UPDATE, so it works once) and links the identity,
/// in one transaction. `None` if it is unknown, used or expired.
pub async fn confirm_link_request(
    db: &Db,
    token_hash: &str,
) -> Result<Option<PendingLink>, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let pending: Option<PendingLink> = sqlx::query_as(
            "UPDATE bigcommerce_link_requests SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id, tenant_id, store_hash, bc_user_id, role",
        ).bind(at).bind(token_hash).fetch_optional(&mut *tx).await?;
        let Some(pending) = pending else {
            tx.rollback().await?;
            return Ok(None);
        };
        link_member!(tx, pending.tenant_id, &pending.store_hash, pending.bc_user_id, pending.user_id, &pending.role, at);
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.user_linked', $3, $4)")
            .bind(pending.tenant_id).bind(pending.user_id).bind(pending.bc_user_id.to_string()).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(pending))
    })
}

/// Disables the app connection, destroys its token and drops its webhook registrations
/// (BigCommerce deleted the hooks themselves with the app, so deliveries of their scopes get
/// 410 from now on; a re-install's first Placed Orders run registers them again); writes
/// `app.uninstalled`.
pub async fn uninstall(db: &Db, tenant_id: i64, connection_id: i64) -> Result<bool, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let done = sqlx::query(
            "UPDATE connections SET status = 'disabled', access_token_ct = NULL, updated_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND installed_by_app",
        ).bind(at).bind(tenant_id).bind(connection_id).execute(&mut *tx).await?.rows_affected();
        if done == 1 {
            sqlx::query("DELETE FROM bigcommerce_hooks WHERE tenant_id = $1 AND connection_id = $2")
                .bind(tenant_id).bind(connection_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, NULL, 'app.uninstalled', '', $2)")
                .bind(tenant_id).bind(at).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(done == 1)
    })
}

/// What `remove_user` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotAMember,
    LastOwner,
}

/// Removes the user's membership of this tenant and their BigCommerce link, unless they are
/// its last owner (then nothing changes). Writes `app.user_removed`.
pub async fn remove_member(
    db: &Db,
    tenant_id: i64,
    store_hash: &str,
    user_id: i64,
) -> Result<Removal, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id).bind(user_id).fetch_optional(&mut *tx).await?;
        let Some(role) = role else {
            tx.rollback().await?;
            return Ok(Removal::NotAMember);
        };
        if role == "owner" {
            let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'")
                .bind(tenant_id).fetch_one(&mut *tx).await?;
            if owners <= 1 {
                tx.rollback().await?;
                return Ok(Removal::LastOwner);
            }
        }
        sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id).bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM bigcommerce_app_users WHERE tenant_id = $1 AND store_hash = $2 AND user_id = $3")
            .bind(tenant_id).bind(store_hash).bind(user_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.user_removed', $3, $4)")
            .bind(tenant_id).bind(user_id).bind(&role).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Removal::Removed)
    })
}

impl Linked {
    /// The member signed in, if the identity is linked.
    pub fn member(&self) -> Option<i64> {
        match self {
            Self::Member { user_id, .. } => Some(*user_id),
            Self::NeedsProof { .. } => None,
        }
    }
}

/// Forgets emailed link requests that expired more than a day ago.
pub async fn prune_link_requests(db: &Db) -> Result<u64, DbError> {
    let sql = "DELETE FROM bigcommerce_link_requests WHERE expires_at < $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(now() - 86_400).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// Records a signed payload's `jti`; `DbError::Conflict` if it was seen before (a replay).
pub async fn record_jwt_id(db: &Db, jti: &str, expires_at: i64) -> Result<(), DbError> {
    let sql = "INSERT INTO bigcommerce_jwt_ids (jti, expires_at) VALUES ($1, $2)";
    on_pool!(db, p => sqlx::query(sql).bind(jti).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets payload ids whose payloads have expired (they can no longer verify anyway).
pub async fn prune_jwt_ids(db: &Db) -> Result<u64, DbError> {
    let sql = "DELETE FROM bigcommerce_jwt_ids WHERE expires_at < $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(super::now() - 3600).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
