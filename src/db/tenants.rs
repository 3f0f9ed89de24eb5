//! `tenants`, `memberships` and `invitations`. Every function on a tenant's data takes the
//! tenant id first and filters on it: another tenant's row is simply not found.

use super::{
    BeginWrite, Db, DbError,
    jobs::{QueueInTx, TxJob},
    now, on_pool,
};

/// What signup stores, all in one transaction.
pub struct NewOwner<'a> {
    pub company: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub verify_token_hash: &'a str,
    pub verify_expires_at: i64,
}

/// Creates a tenant, its owner (unverified) and the owner's verification token.
/// `DbError::Conflict` if the email is taken.
pub async fn create_with_owner(db: &Db, new: &NewOwner<'_>) -> Result<(i64, i64), DbError> {
    create_owner(db, new, None).await
}

/// [`create_with_owner`], queueing the email with the verification link (filed under the
/// new tenant) in the same transaction.
pub async fn create_with_owner_and_email(
    db: &Db,
    new: &NewOwner<'_>,
    email: &dyn TxJob,
) -> Result<(i64, i64), DbError> {
    create_owner(db, new, Some(email)).await
}

async fn create_owner(
    db: &Db,
    new: &NewOwner<'_>,
    email: Option<&dyn TxJob>,
) -> Result<(i64, i64), DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, is_staff, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        ).bind(new.email).bind(new.password_hash).bind(false).bind(at).fetch_one(&mut *tx).await?;
        let tenant_id: i64 = sqlx::query_scalar("INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(new.company).bind(at).fetch_one(&mut *tx).await?;
        sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
            .bind(tenant_id).bind(user_id).bind(at).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO user_tokens (user_id, purpose, token_hash, created_at, expires_at) VALUES ($1, 'verify_email', $2, $3, $4)")
            .bind(user_id).bind(new.verify_token_hash).bind(at).bind(new.verify_expires_at).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'tenant.created', $3, $4)")
            .bind(tenant_id).bind(user_id).bind(new.company).bind(at).execute(&mut *tx).await?;
        if let Some(email) = email {
            tx.queue(tenant_id, email).await?;
        }
        tx.commit().await?;
        Ok((tenant_id, user_id))
    })
}

/// A tenant as seen by one of its members.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub role: String,
    /// The tenant's time zone (IANA name), the fallback for members who chose none.
    pub tenant_time_zone: String,
}

/// The user's membership in this tenant, if any.
pub async fn membership(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
) -> Result<Option<MembershipRow>, DbError> {
    let sql = "SELECT t.id AS tenant_id, t.name AS tenant_name, m.role, t.time_zone AS tenant_time_zone FROM memberships m \
               JOIN tenants t ON t.id = m.tenant_id WHERE m.tenant_id = $1 AND m.user_id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, MembershipRow>(sql).bind(tenant_id).bind(user_id).fetch_optional(p).await)?,
    )
}

/// Every tenant the user belongs to, by name.
pub async fn memberships_of(db: &Db, user_id: i64) -> Result<Vec<MembershipRow>, DbError> {
    let sql = "SELECT t.id AS tenant_id, t.name AS tenant_name, m.role, t.time_zone AS tenant_time_zone FROM memberships m \
               JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1 ORDER BY t.name, t.id";
    Ok(on_pool!(db, p => sqlx::query_as::<_, MembershipRow>(sql).bind(user_id).fetch_all(p).await)?)
}

/// A member as listed on the tenant's members page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    /// The member's name from their profile, if they gave one.
    pub name: Option<String>,
}

pub async fn members(db: &Db, tenant_id: i64) -> Result<Vec<MemberRow>, DbError> {
    let sql = "SELECT u.id AS user_id, u.email, m.role, u.email_verified_at, m.created_at, u.name \
               FROM memberships m JOIN users u ON u.id = m.user_id \
               WHERE m.tenant_id = $1 ORDER BY m.created_at, u.email";
    Ok(on_pool!(db, p => sqlx::query_as::<_, MemberRow>(sql).bind(tenant_id).fetch_all(p).await)?)
}

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MembershipChange {
    #[error("not a member")]
    NotFound,
    #[error("would leave the tenant without an owner")]
    LastOwner,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for MembershipChange {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Sets a member's role (`Some`) or removes them (`None`), never leaving no owner.
pub async fn change_member(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    new_role: Option<&str>,
) -> Result<(), MembershipChange> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let current: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id).bind(user_id).fetch_optional(&mut *tx).await?;
        let current = current.ok_or(MembershipChange::NotFound)?;
        if current == "owner" && new_role != Some("owner") {
            let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'")
                .bind(tenant_id).fetch_one(&mut *tx).await?;
            if owners <= 1 {
                return Err(MembershipChange::LastOwner);
            }
        }
        match new_role {
            Some(role) => sqlx::query("UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND user_id = $3")
                .bind(role).bind(tenant_id).bind(user_id).execute(&mut *tx).await?,
            None => sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant_id).bind(user_id).execute(&mut *tx).await?,
        };
        tx.commit().await?;
        Ok(())
    })
}

/// A pending or past invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub email: String,
    pub role: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

const INVITATION_COLUMNS: &str = "i.id, i.tenant_id, t.name AS tenant_name, i.email, i.role, \
    i.expires_at, i.accepted_at, i.revoked_at, i.created_at";

/// An invitation to store.
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: i64,
    pub expires_at: i64,
}

/// Creates an invitation, or renews the pending one for the same email (new token, role and
/// expiry), so inviting twice resends rather than fails; queues `mail`, the email with its
/// link, in the same transaction.
pub async fn upsert_invitation(
    db: &Db,
    tenant_id: i64,
    invitation: &NewInvitation<'_>,
    mail: &dyn TxJob,
) -> Result<i64, DbError> {
    let NewInvitation {
        email,
        role,
        token_hash,
        invited_by,
        expires_at,
    } = *invitation;
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let renewed: Option<i64> = sqlx::query_scalar(
            "UPDATE invitations SET role = $1, token_hash = $2, invited_by = $3, expires_at = $4, created_at = $5 \
             WHERE tenant_id = $6 AND email = $7 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id",
        ).bind(role).bind(token_hash).bind(invited_by).bind(expires_at).bind(at).bind(tenant_id).bind(email)
        .fetch_optional(&mut *tx).await?;
        let id = match renewed {
            Some(id) => id,
            None => sqlx::query_scalar(
                "INSERT INTO invitations (tenant_id, email, role, token_hash, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            ).bind(tenant_id).bind(email).bind(role).bind(token_hash).bind(invited_by).bind(at).bind(expires_at)
            .fetch_one(&mut *tx).await?,
        };
        tx.queue(tenant_id, mail).await?;
        tx.commit().await?;
        Ok(id)
    })
}

pub async fn pending_invitations(db: &Db, tenant_id: i64) -> Result<Vec<InvitationRow>, DbError> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN tenants t ON t.id = i.tenant_id \
         WHERE i.tenant_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.created_at DESC"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InvitationRow>(&sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

/// Revokes a pending invitation of this tenant; `false` if there is none with that id.
pub async fn revoke_invitation(
    db: &Db,
    tenant_id: i64,
    invitation_id: i64,
) -> Result<bool, DbError> {
    let sql = "UPDATE invitations SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 \
               AND accepted_at IS NULL AND revoked_at IS NULL";
    let done = on_pool!(db, p => sqlx::query(sql).bind(now()).bind(tenant_id).bind(invitation_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Looks an invitation up by its token hash (the token is the capability; no tenant is known yet).
pub async fn find_invitation_by_token(
    db: &Db,
    token_hash: &str,
) -> Result<Option<InvitationRow>, DbError> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = $1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InvitationRow>(&sql).bind(token_hash).fetch_optional(p).await)?,
    )
}

/// Who accepts an invitation: an existing user, or a new account created on the spot.
pub enum Invitee<'a> {
    Existing(i64),
    New {
        email: &'a str,
        password_hash: &'a str,
    },
}

/// Accepts a still-pending invitation: marks it accepted and adds the membership (an existing
/// member keeps their role). Returns the user id, or `None` if the invitation was no longer
/// pending (used, revoked or expired) by the time we got there.
pub async fn accept_invitation(
    db: &Db,
    token_hash: &str,
    invitee: Invitee<'_>,
) -> Result<Option<(i64, i64)>, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let claimed: Option<(i64, String)> = sqlx::query_as(
            "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1 RETURNING tenant_id, role",
        ).bind(at).bind(token_hash).fetch_optional(&mut *tx).await?;
        let Some((tenant_id, role)) = claimed else {
            tx.rollback().await?;
            return Ok(None);
        };
        let user_id: i64 = match invitee {
            Invitee::Existing(id) => id,
            Invitee::New { email, password_hash } => sqlx::query_scalar(
                "INSERT INTO users (email, password_hash, email_verified_at, is_staff, created_at) VALUES ($1, $2, $3, $4, $3) RETURNING id",
            ).bind(email).bind(password_hash).bind(at).bind(false).fetch_one(&mut *tx).await?,
        };
        sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id) DO NOTHING")
            .bind(tenant_id).bind(user_id).bind(&role).bind(at).execute(&mut *tx).await?;
        sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
            .bind(at).bind(user_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, 'member.joined', $3, $4)")
            .bind(tenant_id).bind(user_id).bind(&role).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some((tenant_id, user_id)))
    })
}
