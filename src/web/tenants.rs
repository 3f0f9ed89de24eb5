//! A tenant's pages: the dashboard, members and invitations. Every route here is under
//! `/t/{tenant_id}` and goes through `CurrentTenant`, so non-members get 404.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::{CurrentTenant, Viewer},
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    accounts::{AccountError, members},
    context::AppContext,
    db::{
        self,
        audit::AuditRow,
        tenants::{InvitationRow, MemberRow},
    },
    domain::{Email, Role},
    error::AppError,
};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    signed_in: bool,
}

/// `/`: the landing page, or where a signed-in user belongs.
pub async fn home(viewer: Viewer) -> Result<HttpResponse, AppError> {
    match &viewer.user {
        Some(u) if u.is_staff => Ok(see_other("/admin")),
        Some(_) => match viewer.tenants.first() {
            Some(t) => Ok(see_other(&format!("/t/{}", t.tenant_id))),
            None => render(&HomePage {
                layout: viewer.layout("cartbridge"),
                signed_in: true,
            }),
        },
        None => render(&HomePage {
            layout: viewer.layout("cartbridge"),
            signed_in: false,
        }),
    }
}

#[derive(Template)]
#[template(path = "tenants/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    tenant_name: String,
    role: Role,
    member_count: usize,
    activity: Vec<AuditRow>,
    members_path: String,
}

pub async fn dashboard(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let member_count = db::tenants::members(&ctx.db, tenant.id()).await?.len();
    let activity = db::audit::recent_for_tenant(&ctx.db, tenant.id(), 10).await?;
    render(&DashboardPage {
        layout: tenant.layout(&tenant.actor.tenant_name),
        tenant_name: tenant.actor.tenant_name.clone(),
        role: tenant.actor.role,
        member_count,
        activity,
        members_path: tenant.path("/members"),
    })
}

#[derive(Template)]
#[template(path = "tenants/members.html")]
struct MembersPage {
    layout: Layout,
    base: String,
    me: i64,
    can_manage: bool,
    is_owner: bool,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    invite_email: String,
    invite_role: String,
    grantable: Vec<Role>,
    errors: FormErrors,
}

async fn members_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    invite_email: String,
    invite_role: String,
    errors: FormErrors,
) -> Result<MembersPage, AppError> {
    let role = tenant.actor.role;
    Ok(MembersPage {
        layout: tenant.layout("Members"),
        base: tenant.path(""),
        me: tenant.actor.user_id,
        can_manage: role.can_manage_members(),
        is_owner: role == Role::Owner,
        members: db::tenants::members(&ctx.db, tenant.id()).await?,
        invitations: db::tenants::pending_invitations(&ctx.db, tenant.id()).await?,
        invite_email,
        invite_role,
        grantable: Role::ALL
            .into_iter()
            .filter(|r| role.can_grant(*r))
            .collect(),
        errors,
    })
}

pub async fn list_members(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(
        &members_page(
            &tenant,
            &ctx,
            String::new(),
            "member".into(),
            FormErrors::default(),
        )
        .await?,
    )
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

pub async fn create_invitation(
    tenant: CurrentTenant,
    form: web::Form<InviteForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FormErrors::default();
    let email = errors.check("email", Email::parse(&form.email));
    let role = errors.check("role", Role::parse(&form.role));
    if let (Some(email), Some(role)) = (email, role) {
        match members::invite(&ctx, &tenant.actor, &email, role).await {
            Ok(_) => {
                flash(
                    &tenant.viewer.session,
                    "success",
                    format!("Invitation sent to {email}."),
                );
                return Ok(see_other(&tenant.path("/members")));
            }
            Err(AccountError::NotAllowed(msg)) => errors.general = Some(msg),
            Err(e) => return Err(e.into()),
        }
    }
    let page = members_page(
        &tenant,
        &ctx,
        form.email.trim().to_owned(),
        form.role.clone(),
        errors,
    )
    .await?;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn revoke_invitation(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, invitation_id) = path.into_inner();
    if !members::revoke(&ctx, &tenant.actor, invitation_id).await? {
        return Err(AppError::NotFound);
    }
    flash(&tenant.viewer.session, "success", "Invitation withdrawn.");
    Ok(see_other(&tenant.path("/members")))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<RoleForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id) = path.into_inner();
    let role = Role::parse(&form.role).map_err(|e| AppError::BadRequest(e.to_string()))?;
    members::change_member(&ctx, &tenant.actor, user_id, Some(role)).await?;
    flash(
        &tenant.viewer.session,
        "success",
        format!("Role changed to {role}."),
    );
    Ok(see_other(&tenant.path("/members")))
}

pub async fn remove_member(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id) = path.into_inner();
    members::change_member(&ctx, &tenant.actor, user_id, None).await?;
    flash(&tenant.viewer.session, "success", "Member removed.");
    if user_id == tenant.actor.user_id {
        return Ok(see_other("/"));
    }
    Ok(see_other(&tenant.path("/members")))
}
