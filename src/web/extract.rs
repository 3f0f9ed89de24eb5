//! Extractors: who is asking (`Viewer`, `CurrentUser`), in which tenant (`CurrentTenant`:
//! the tenant id comes from the path and is honoured only for members — anyone else gets
//! 404), and `StaffUser` for `/admin` (404 to everyone else).

use std::{future::Future, pin::Pin, rc::Rc};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::{
    render::{Layout, take_flashes},
    session::{app_tenant, csrf_token, signed_in_user},
};
use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{self, tenants::MembershipRow, users::UserRow},
    domain::{Role, TimeZone},
    error::AppError,
};

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// The person behind the request, if signed in, with their tenants. Loaded once per request.
#[derive(Clone)]
pub struct Viewer {
    pub user: Option<UserRow>,
    pub tenants: Rc<Vec<MembershipRow>>,
    pub session: Session,
    /// The request's path (flash messages and the navigation depend on it).
    pub path: String,
}

impl Viewer {
    /// The page layout: navigation for this viewer, pending flash messages, CSRF token.
    pub fn layout(&self, title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            csrf: csrf_token(&self.session),
            flashes: take_flashes(&self.session, &self.path),
            user_email: self.user.as_ref().map(|u| u.email.clone()),
            is_staff: self.user.as_ref().is_some_and(|u| u.is_staff),
            tenants: self.tenants.as_ref().clone(),
            current_tenant: None,
            path: self.path.clone(),
            back: None,
            zone: self.zone(None),
            zone_unset: self
                .user
                .as_ref()
                .is_some_and(|u| u.time_zone.is_none() && !u.is_staff),
        }
    }

    /// The zone this viewer's times are shown in: their own choice, else the tenant's
    /// (`tenant`, or their first), else UTC.
    pub fn zone(&self, tenant: Option<i64>) -> TimeZone {
        let own = self
            .user
            .as_ref()
            .and_then(|u| TimeZone::from_stored(u.time_zone.as_deref()));
        let of_tenant = || {
            let membership = match tenant {
                Some(id) => self.tenants.iter().find(|m| m.tenant_id == id),
                None => self.tenants.first(),
            };
            membership.and_then(|m| TimeZone::from_stored(Some(&m.tenant_time_zone)))
        };
        own.or_else(of_tenant).unwrap_or_default()
    }

    /// The viewer of this request (loaded once, then kept in the request's extensions).
    pub async fn load(req: &HttpRequest) -> Result<Self, AppError> {
        if let Some(viewer) = req.extensions().get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let ctx = context(req)?;
        let session = req.get_session();
        let user = match signed_in_user(&session) {
            Some(id) => db::users::find(&ctx.db, id).await?,
            None => None,
        };
        let mut tenants = match &user {
            Some(u) => db::tenants::memberships_of(&ctx.db, u.id).await?,
            None => Vec::new(),
        };
        // Signed in from the BigCommerce control panel: only the store's tenant, no staff area.
        let mut user = user;
        if let Some(only) = app_tenant(&session) {
            tenants.retain(|m| m.tenant_id == only);
            if let Some(u) = user.as_mut() {
                u.is_staff = false;
            }
        }
        if let Some(u) = &user {
            tracing::Span::current().record("user", u.id);
        }
        let viewer = Viewer {
            user,
            tenants: Rc::new(tenants),
            session,
            path: req.path().to_owned(),
        };
        req.extensions_mut().insert(viewer.clone());
        Ok(viewer)
    }
}

/// The client's address, as the limits and the login throttle count it: the peer of the
/// connection, or, when the peer is one of `CARTBRIDGE_TRUSTED_PROXIES`, the client its
/// `X-Forwarded-For` names (`web::trusted_proxy`).
pub fn client_address(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let Some(ctx) = req.app_data::<web::Data<AppContext>>() else {
        return peer.to_string();
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    ctx.trusted_proxies.client(peer, &forwarded).to_string()
}

fn context(req: &HttpRequest) -> Result<web::Data<AppContext>, AppError> {
    req.app_data::<web::Data<AppContext>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppContext is not registered")))
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Viewer::load(&req).await })
    }
}

/// A signed-in user; anonymous requests are sent to the login page and back.
pub struct CurrentUser {
    pub user: UserRow,
    pub viewer: Viewer,
}

fn login_required(req: &HttpRequest) -> AppError {
    let next = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    AppError::LoginRequired { next }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = Viewer::load(&req).await?;
            match viewer.user.clone() {
                Some(user) => Ok(CurrentUser { user, viewer }),
                None => Err(login_required(&req)),
            }
        })
    }
}

/// A member acting in the tenant named by the `{tenant_id}` path segment.
pub struct CurrentTenant {
    pub actor: Actor,
    pub viewer: Viewer,
}

impl CurrentTenant {
    pub fn id(&self) -> i64 {
        self.actor.tenant_id
    }

    /// The layout with this tenant selected in the navigation.
    pub fn layout(&self, title: &str) -> Layout {
        let mut layout = self.viewer.layout(title);
        layout.current_tenant = Some(self.actor.tenant_id);
        layout.zone = self.viewer.zone(Some(self.actor.tenant_id));
        layout
    }

    /// Path under this tenant, e.g. `path("/members")` → `/t/7/members`.
    pub fn path(&self, rest: &str) -> String {
        format!("/t/{}{rest}", self.actor.tenant_id)
    }
}

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = Viewer::load(&req).await?;
            let Some(user) = viewer.user.clone() else {
                return Err(login_required(&req));
            };
            let tenant_id: i64 = req
                .match_info()
                .get("tenant_id")
                .and_then(|v| v.parse().ok())
                .ok_or(AppError::NotFound)?;
            let membership = viewer
                .tenants
                .iter()
                .find(|m| m.tenant_id == tenant_id)
                .ok_or(AppError::NotFound)?;
            let role = Role::parse(&membership.role).map_err(AppError::internal)?;
            tracing::Span::current().record("tenant", tenant_id);
            let actor = Actor {
                tenant_id,
                tenant_name: membership.tenant_name.clone(),
                user_id: user.id,
                email: user.email.clone(),
                role,
            };
            Ok(CurrentTenant { actor, viewer })
        })
    }
}

/// A support-staff user. Everyone else, signed in or not, gets 404: the admin area does not
/// announce itself.
pub struct StaffUser {
    pub user: UserRow,
    pub viewer: Viewer,
}

impl FromRequest for StaffUser {
    type Error = AppError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = Viewer::load(&req).await?;
            match viewer.user.clone() {
                Some(user) if user.is_staff => Ok(StaffUser { user, viewer }),
                _ => Err(AppError::NotFound),
            }
        })
    }
}
