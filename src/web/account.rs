//! The profile page (`/account`): the signed-in user's name, password, time zone and
//! sessions. Every form is CSRF-checked by the middleware; a refused form is shown again
//! with its errors and changes nothing.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::{CurrentUser, client_address},
    forms::FormErrors,
    render::{Layout, flash_on, render_with, see_other},
    session::{self, sign_out_keeping_session},
};
use crate::{
    accounts::{
        AccountError,
        profile::{self, PasswordChangeError},
    },
    context::AppContext,
    db::{self, profiles::SessionRow},
    domain::{Password, Secret, TimeZone, names},
    error::AppError,
};

const PATH: &str = "/account";

/// A session as the page lists it.
pub struct SessionView {
    pub handle: Option<String>,
    pub created_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub client: String,
    pub this: bool,
}

#[derive(Template)]
#[template(path = "account/profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    name: String,
    /// What the zone field holds (the choice, or what was typed).
    zone: String,
    /// The zone times are shown in now, and why.
    zone_in_use: String,
    zone_chosen: bool,
    zone_names: Vec<&'static str>,
    sessions: Vec<SessionView>,
    errors: FormErrors,
}

/// A browser's User-Agent in words: "Firefox on Linux"; the raw text if unrecognised.
pub fn client_label(agent: Option<&str>) -> String {
    let Some(ua) = agent.filter(|a| !a.trim().is_empty()) else {
        return "Unknown browser".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("reqwest", "a program (reqwest)"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        _ => ua.chars().take(60).collect(),
    }
}

fn views(rows: Vec<SessionRow>, this: Option<&str>) -> Vec<SessionView> {
    rows.into_iter()
        .map(|r| SessionView {
            this: r.handle.is_some() && r.handle.as_deref() == this,
            client: client_label(r.user_agent.as_deref()),
            handle: r.handle,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
        })
        .collect()
}

/// What the page shows, with the form values to put back (`None`: the stored ones).
struct Refill {
    name: Option<String>,
    zone: Option<String>,
}

async fn page(
    ctx: &AppContext,
    me: &CurrentUser,
    refill: Refill,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = &me.user;
    let layout = me.viewer.layout("Your account");
    let chosen = TimeZone::from_stored(user.time_zone.as_deref());
    let zone_in_use = match chosen {
        Some(z) => format!("Times are shown in {z}."),
        None => format!(
            "You have not chosen a time zone yet: times are shown in {}, your company's.",
            layout.zone
        ),
    };
    let rows = db::profiles::sessions_of(&ctx.db, user.id).await?;
    let this = session::handle(&me.viewer.session);
    render_with(
        status,
        &ProfilePage {
            email: user.email.clone(),
            name: refill
                .name
                .unwrap_or_else(|| user.name.clone().unwrap_or_default()),
            zone: refill
                .zone
                .unwrap_or_else(|| chosen.map(|z| z.name().to_owned()).unwrap_or_default()),
            zone_in_use,
            zone_chosen: chosen.is_some(),
            zone_names: TimeZone::all_names(),
            sessions: views(rows, this.as_deref()),
            errors,
            layout,
        },
    )
}

fn stored() -> Refill {
    Refill {
        name: None,
        zone: None,
    }
}

pub async fn profile_page(
    me: CurrentUser,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    page(&ctx, &me, stored(), FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

pub async fn save_name(
    me: CurrentUser,
    form: web::Form<NameForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let name = if form.name.trim().is_empty() {
        Ok(None)
    } else {
        names::display_name(&form.name, "Enter your name.").map(Some)
    };
    match name {
        Ok(name) => {
            db::profiles::set_name(&ctx.db, me.user.id, name.as_deref()).await?;
            flash_on(&me.viewer.session, PATH, "success", "Your name is saved.");
            Ok(see_other(PATH))
        }
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("name", e.to_string());
            let refill = Refill {
                name: Some(form.name.trim().to_owned()),
                zone: None,
            };
            page(&ctx, &me, refill, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize)]
pub struct ZoneForm {
    #[serde(default)]
    time_zone: String,
}

pub async fn save_time_zone(
    me: CurrentUser,
    form: web::Form<ZoneForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    match TimeZone::parse(&form.time_zone) {
        Ok(zone) => {
            db::profiles::set_time_zone(&ctx.db, me.user.id, zone.name()).await?;
            flash_on(
                &me.viewer.session,
                PATH,
                "success",
                format!("Times are now shown in {zone}."),
            );
            Ok(see_other(PATH))
        }
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("time_zone", e.to_string());
            let refill = Refill {
                name: None,
                zone: Some(form.time_zone.trim().chars().take(100).collect()),
            };
            page(&ctx, &me, refill, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The script's report of the browser's zone: kept only if the user has chosen none.
/// 204 either way; 422 for a name that is not a zone.
pub async fn browser_time_zone(
    me: CurrentUser,
    form: web::Form<ZoneForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let zone = TimeZone::parse(&form.time_zone).map_err(|e| AppError::BadRequest(e.to_string()));
    match zone {
        Ok(zone) => {
            profile::adopt_browser_zone(&ctx, me.user.id, zone).await?;
            Ok(HttpResponse::NoContent().finish())
        }
        Err(AppError::BadRequest(message)) => Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/plain; charset=utf-8")
            .body(message)),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: Secret,
    new_password: Secret,
}

pub async fn change_password(
    me: CurrentUser,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FormErrors::default();
    if form.current_password.is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    let new = errors.check(
        "new_password",
        Password::parse(form.new_password.clone(), &me.user.email.to_lowercase()),
    );
    let (Some(new), true) = (new, errors.is_empty()) else {
        return page(
            &ctx,
            &me,
            stored(),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some(keep) = session::handle(&me.viewer.session) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "a signed-in session without a handle"
        )));
    };
    let outcome = profile::change_password(
        &ctx,
        &me.user,
        &form.current_password,
        &new,
        &keep,
        &client_address(&req),
    )
    .await;
    match outcome {
        Ok(ended) => {
            // A new key for this session too (the one it had was used with the old password).
            me.viewer.session.renew();
            let others = match ended {
                0 => String::new(),
                1 => " Your other session was logged out.".into(),
                n => format!(" Your {n} other sessions were logged out."),
            };
            flash_on(
                &me.viewer.session,
                PATH,
                "success",
                format!("Your password is changed.{others}"),
            );
            Ok(see_other(PATH))
        }
        Err(e @ PasswordChangeError::WrongCurrent) => {
            errors.add("current_password", e.to_string());
            page(
                &ctx,
                &me,
                stored(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ PasswordChangeError::Unchanged) => {
            errors.add("new_password", e.to_string());
            page(
                &ctx,
                &me,
                stored(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(PasswordChangeError::Account(e @ AccountError::Throttled { .. })) => {
            errors.add("current_password", e.to_string());
            page(&ctx, &me, stored(), errors, StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(PasswordChangeError::Account(e)) => Err(e.into()),
    }
}

pub async fn revoke_session(
    me: CurrentUser,
    handle: web::Path<String>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let this = session::handle(&me.viewer.session);
    if !db::profiles::end_session(&ctx.db, me.user.id, &handle).await? {
        return Err(AppError::NotFound);
    }
    if this.as_deref() == Some(handle.as_str()) {
        sign_out_keeping_session(&me.viewer.session);
        flash_on(
            &me.viewer.session,
            "/login",
            "success",
            "You ended this session: you are logged out here.",
        );
        return Ok(see_other("/login"));
    }
    flash_on(
        &me.viewer.session,
        PATH,
        "success",
        "That session is logged out.",
    );
    Ok(see_other(PATH))
}

/// Logs out everywhere, this browser included: after a lost laptop or a shared computer,
/// every cookie the user ever had stops working at once (the password form already ends
/// the *other* sessions, and each can be ended alone).
pub async fn revoke_all_sessions(
    me: CurrentUser,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    profile::end_all_sessions(&ctx, me.user.id).await?;
    sign_out_keeping_session(&me.viewer.session);
    flash_on(
        &me.viewer.session,
        "/login",
        "success",
        "You are logged out on every device, this one included.",
    );
    Ok(see_other("/login"))
}

#[cfg(test)]
mod tests {
    use super::client_label;

    #[test]
    fn browsers_read_as_words() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(client_label(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(client_label(Some(chrome)), "Chrome on Windows");
        assert_eq!(client_label(None), "Unknown browser");
        assert_eq!(client_label(Some("thing/1")), "thing/1");
    }
}
