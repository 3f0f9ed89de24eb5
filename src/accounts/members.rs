//! Tenant members: invitations by email, accepting them, role changes and removal.
//! Permission rules live in `Role`; the last owner can never be removed or demoted.

use super::{AccountError, tokens};
use crate::{
    context::AppContext,
    db::{
        self,
        tenants::{InvitationRow, Invitee, MembershipChange, NewInvitation},
        users::UserRow,
    },
    domain::{Email, Password, Role},
    mailer::messages,
};

pub const INVITATION_TTL_DAYS: i64 = 7;

/// The member acting on a tenant (from the session and the membership check).
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub user_id: i64,
    pub email: String,
    pub role: Role,
}

fn require_grant(actor: &Actor, role: Role) -> Result<(), AccountError> {
    if actor.role.can_grant(role) {
        Ok(())
    } else if actor.role.can_manage_members() {
        Err(AccountError::NotAllowed(format!(
            "Only owners can give the {role} role."
        )))
    } else {
        Err(AccountError::NotAllowed(
            "Only owners and admins can manage members.".into(),
        ))
    }
}

/// Invites `email` with `role` (or renews a pending invitation) and emails the link.
#[tracing::instrument(skip_all, fields(tenant_id = actor.tenant_id))]
pub async fn invite(
    ctx: &AppContext,
    actor: &Actor,
    email: &Email,
    role: Role,
) -> Result<i64, AccountError> {
    require_grant(actor, role)?;
    let members = db::tenants::members(&ctx.db, actor.tenant_id).await?;
    if members.iter().any(|m| m.email == email.as_str()) {
        return Err(AccountError::NotAllowed(format!(
            "{email} is already a member."
        )));
    }
    let (token, token_hash) = tokens::generate();
    let expires = db::now() + INVITATION_TTL_DAYS * 86_400;
    let link = ctx.link("/invitations/accept", &token);
    let message = messages::invitation(
        email,
        &link,
        &actor.tenant_name,
        &actor.email,
        role.as_str(),
        INVITATION_TTL_DAYS,
    );
    let job = crate::mailer::prepare(ctx, message).await?;
    let invitation = NewInvitation {
        email: email.as_str(),
        role: role.as_str(),
        token_hash: &token_hash,
        invited_by: actor.user_id,
        expires_at: expires,
    };
    let id = db::tenants::upsert_invitation(&ctx.db, actor.tenant_id, &invitation, &job).await?;
    crate::jobs::wake();
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        "invitation.sent",
        email.as_str(),
    )
    .await?;
    Ok(id)
}

pub async fn revoke(
    ctx: &AppContext,
    actor: &Actor,
    invitation_id: i64,
) -> Result<bool, AccountError> {
    require_grant(actor, Role::Member)?;
    let revoked = db::tenants::revoke_invitation(&ctx.db, actor.tenant_id, invitation_id).await?;
    if revoked {
        db::audit::record(
            &ctx.db,
            Some(actor.tenant_id),
            Some(actor.user_id),
            "invitation.revoked",
            &invitation_id.to_string(),
        )
        .await?;
    }
    Ok(revoked)
}

/// A pending invitation found by its token, or why it cannot be used.
pub async fn find_invitation(ctx: &AppContext, token: &str) -> Result<InvitationRow, AccountError> {
    let row = db::tenants::find_invitation_by_token(&ctx.db, &tokens::hash(token))
        .await?
        .ok_or(AccountError::TokenInvalid)?;
    if row.accepted_at.is_some() {
        Err(AccountError::TokenUsed)
    } else if row.revoked_at.is_some() {
        Err(AccountError::NotAllowed(
            "This invitation was withdrawn. Ask for a new one.".into(),
        ))
    } else if row.expires_at <= db::now() {
        Err(AccountError::TokenExpired)
    } else {
        Ok(row)
    }
}

/// Accepts an invitation as the signed-in user (whose email must be the invited one).
pub async fn accept_as(ctx: &AppContext, token: &str, user: &UserRow) -> Result<i64, AccountError> {
    let invitation = find_invitation(ctx, token).await?;
    if invitation.email != user.email {
        return Err(AccountError::NotAllowed(format!(
            "This invitation is for {}, but you are signed in as {}. Log out and open the link again.",
            invitation.email, user.email
        )));
    }
    accept(ctx, token, Invitee::Existing(user.id)).await
}

/// Accepts an invitation by creating the invited person's account with `password`.
pub async fn accept_new(
    ctx: &AppContext,
    token: &str,
    password: &Password,
) -> Result<i64, AccountError> {
    let invitation = find_invitation(ctx, token).await?;
    if db::users::find_by_email(&ctx.db, &invitation.email)
        .await?
        .is_some()
    {
        return Err(AccountError::NotAllowed(format!(
            "{} already has an account: log in first, then open the link again.",
            invitation.email
        )));
    }
    let hash = ctx.hasher.hash(password).await??;
    let invitee = Invitee::New {
        email: &invitation.email,
        password_hash: &hash,
    };
    accept(ctx, token, invitee).await
}

async fn accept(ctx: &AppContext, token: &str, invitee: Invitee<'_>) -> Result<i64, AccountError> {
    match db::tenants::accept_invitation(&ctx.db, &tokens::hash(token), invitee).await {
        Ok(Some((tenant_id, user_id))) => {
            tracing::info!(tenant_id, user_id, "invitation accepted");
            Ok(user_id)
        }
        Ok(None) => Err(find_invitation(ctx, token)
            .await
            .err()
            .unwrap_or(AccountError::TokenInvalid)),
        Err(db::DbError::Conflict) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Changes a member's role (`Some`) or removes the member (`None`).
pub async fn change_member(
    ctx: &AppContext,
    actor: &Actor,
    user_id: i64,
    role: Option<Role>,
) -> Result<(), AccountError> {
    if actor.role != Role::Owner {
        return Err(AccountError::NotAllowed(
            "Only owners can change or remove members.".into(),
        ));
    }
    match db::tenants::change_member(&ctx.db, actor.tenant_id, user_id, role.map(Role::as_str))
        .await
    {
        Ok(()) => {}
        Err(MembershipChange::NotFound) => return Err(AccountError::Db(db::DbError::NotFound)),
        Err(MembershipChange::LastOwner) => {
            return Err(AccountError::NotAllowed(
                "A company needs at least one owner: make someone else owner first.".into(),
            ));
        }
        Err(MembershipChange::Db(e)) => return Err(e.into()),
    }
    let action = if role.is_some() {
        "member.role_changed"
    } else {
        "member.removed"
    };
    let detail = format!(
        "user {user_id} {}",
        role.map(Role::as_str).unwrap_or("removed")
    );
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        action,
        &detail,
    )
    .await?;
    Ok(())
}
