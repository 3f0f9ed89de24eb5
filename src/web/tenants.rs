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
    connections::overview::{self, Attention, ConnectionOverview},
    context::AppContext,
    db::{
        self,
        audit::AuditRow,
        runs::RunRow,
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
                layout: viewer.layout("Welcome"),
                signed_in: true,
            }),
        },
        None => render(&HomePage {
            layout: viewer.layout("Connect your BigCommerce stores"),
            signed_in: false,
        }),
    }
}

#[derive(Template)]
#[template(path = "tenants/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    base: String,
    tenant_name: String,
    role: Role,
    can_manage: bool,
    member_count: usize,
    connections: Vec<ConnectionOverview>,
    attention: Vec<Attention>,
    activity: Vec<AuditRow>,
    now: i64,
}

impl DashboardPage {
    fn relative(&self, at: &i64) -> String {
        super::words::relative(*at, self.now)
    }

    fn every(&self, secs: &i64) -> String {
        super::words::every(*secs)
    }

    fn action(&self, key: &str) -> String {
        action_label(key)
    }

    fn last_run_label(&self, r: &RunRow) -> String {
        super::runs::status_label(r)
    }
}

/// An audit action as people read it (`connection.created` → "Connection created").
pub fn action_label(action: &str) -> String {
    let known = match action {
        "connection.created" => "Connection created",
        "connection.updated" => "Connection changed",
        "connection.deleted" => "Connection deleted",
        "connection.connected" => "Connection connected to BigCommerce",
        "invitation.sent" => "Invitation sent",
        "invitation.revoked" => "Invitation withdrawn",
        "invitation.accepted" => "Invitation accepted",
        "member.role_changed" => "Role changed",
        "member.removed" => "Member removed",
        "oauth_client.created" => "OAuth client added",
        "oauth_client.updated" => "OAuth client changed",
        "oauth_client.deleted" => "OAuth client deleted",
        "tenant.created" => "Company created",
        "user.password_reset" => "Password reset",
        "flow.settings_saved" => "Flow settings saved",
        "flow.run_requested" => "Run started by hand",
        "tenant.settings_saved" => "Company settings saved",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    // Unknown keys: "app.installed" → "App installed".
    let words = action.replace(['.', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub async fn dashboard(
    tenant: CurrentTenant,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let member_count = db::tenants::members(&ctx.db, tenant.id()).await?.len();
    let activity = db::audit::recent_for_tenant(&ctx.db, tenant.id(), 10).await?;
    let (connections, attention) = overview::load(&ctx, tenant.id()).await?;
    render(&DashboardPage {
        layout: tenant.layout(&tenant.actor.tenant_name),
        base: tenant.path(""),
        tenant_name: tenant.actor.tenant_name.clone(),
        role: tenant.actor.role,
        can_manage: tenant.actor.role.can_manage_members(),
        member_count,
        connections,
        attention,
        activity,
        now: db::now(),
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
    /// A pending invitation the form would replace: asked about before sending.
    reinvite: Option<Reinvite>,
}

/// "They already have an invitation": the pending one, and the role the new one would give.
struct Reinvite {
    email: String,
    old_role: String,
    new_role: String,
    sent_at: i64,
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
        reinvite: None,
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
    /// `yes` once the person has seen that a pending invitation will be replaced.
    #[serde(default)]
    replace: String,
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
        if form.replace != "yes"
            && let Some(pending) = db::tenants::pending_invitations(&ctx.db, tenant.id())
                .await?
                .into_iter()
                .find(|i| i.email == email.as_str())
        {
            let mut page = members_page(
                &tenant,
                &ctx,
                email.as_str().to_owned(),
                role.as_str().to_owned(),
                FormErrors::default(),
            )
            .await?;
            page.reinvite = Some(Reinvite {
                email: pending.email,
                old_role: pending.role,
                new_role: role.as_str().to_owned(),
                sent_at: pending.created_at,
            });
            return render_with(StatusCode::CONFLICT, &page);
        }
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
