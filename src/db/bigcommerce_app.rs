//! The single-click BigCommerce app's records: the connection it installed for a store
//! (`connections.installed_by_app`) and `bigcommerce_app_users` (BigCommerce user id →
//! cartbridge user, per store). The store hash is the lookup key only after the caller has
//! verified BigCommerce's signature or exchanged its code; every write then carries the
//! tenant id it found.

use super::{BeginWrite, Db, DbError, now, on_pool};

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

/// The cartbridge user behind a BigCommerce user, and whether the account was just created.
#[derive(Debug, Clone, Copy)]
pub struct Linked {
    pub user_id: i64,
    pub created: bool,
}

/// Inside a transaction `$tx`: finds the user by email or creates one (verified, no
/// password), adds the membership if missing, and records the BigCommerce user id.
macro_rules! link_user {
    ($tx:expr, $tenant_id:expr, $store_hash:expr, $user:expr, $at:expr) => {{
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind($user.email)
            .fetch_optional(&mut *$tx)
            .await?;
        let linked = match existing {
            Some(user_id) => {
                sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
                    .bind($at).bind(user_id).execute(&mut *$tx).await?;
                Linked { user_id, created: false }
            }
            None => Linked {
                user_id: sqlx::query_scalar(
                    "INSERT INTO users (email, email_verified_at, is_staff, created_at) VALUES ($1, $2, $3, $2) RETURNING id",
                )
                .bind($user.email).bind($at).bind(false).fetch_one(&mut *$tx).await?,
                created: true,
            },
        };
        let added = sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (tenant_id, user_id) DO NOTHING")
            .bind($tenant_id).bind(linked.user_id).bind($user.role).bind($at)
            .execute(&mut *$tx).await?.rows_affected();
        sqlx::query("INSERT INTO bigcommerce_app_users (tenant_id, store_hash, bc_user_id, user_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store_hash, bc_user_id) \
                     DO UPDATE SET tenant_id = $1, user_id = $4")
            .bind($tenant_id).bind($store_hash).bind($user.bc_user_id).bind(linked.user_id).bind($at)
            .execute(&mut *$tx).await?;
        if added == 1 {
            sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.user_added', $3, $4)")
                .bind($tenant_id).bind(linked.user_id).bind($user.role).bind($at).execute(&mut *$tx).await?;
        }
        linked
    }};
}

/// A first install: the tenant, its owner (linked by email or created), the app connection
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
        let owner = link_user!(tx, tenant_id, new.store_hash, new.installer, at);
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
            .bind(tenant_id).bind(owner.user_id).bind(new.store_hash).bind(at).execute(&mut *tx).await?;
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
        let installer = link_user!(tx, tenant_id, new.store_hash, new.installer, at);
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'app.reinstalled', $3, $4)")
            .bind(tenant_id).bind(installer.user_id).bind(new.scopes).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(installer)
    })
}

/// The member of this tenant behind a BigCommerce user: by the recorded user id, else by
/// email (then recorded). `None` if neither is a member.
pub async fn find_member(
    db: &Db,
    tenant_id: i64,
    store_hash: &str,
    bc_user_id: i64,
    email: &str,
) -> Result<Option<i64>, DbError> {
    let sql = "SELECT a.user_id FROM bigcommerce_app_users a \
               JOIN memberships m ON m.tenant_id = a.tenant_id AND m.user_id = a.user_id \
               WHERE a.tenant_id = $1 AND a.store_hash = $2 AND a.bc_user_id = $3";
    let by_id: Option<i64> = on_pool!(db, p => sqlx::query_scalar(sql).bind(tenant_id).bind(store_hash).bind(bc_user_id).fetch_optional(p).await)?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    let sql = "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id \
               WHERE m.tenant_id = $1 AND u.email = $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar(sql).bind(tenant_id).bind(email).fetch_optional(p).await)?,
    )
}

/// Links a BigCommerce user to this tenant (creating the account or membership if needed).
pub async fn link(
    db: &Db,
    tenant_id: i64,
    store_hash: &str,
    user: &AppUser<'_>,
) -> Result<Linked, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let linked = link_user!(tx, tenant_id, store_hash, user, at);
        tx.commit().await?;
        Ok(linked)
    })
}

/// Disables the app connection and destroys its token; writes `app.uninstalled`.
pub async fn uninstall(db: &Db, tenant_id: i64, connection_id: i64) -> Result<bool, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let done = sqlx::query(
            "UPDATE connections SET status = 'disabled', access_token_ct = NULL, updated_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND installed_by_app",
        ).bind(at).bind(tenant_id).bind(connection_id).execute(&mut *tx).await?.rows_affected();
        if done == 1 {
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
