//! The emails cartbridge sends, rendered from `templates/email/<name>.{txt,html}`.

use askama::Template;

use super::OutgoingEmail;
use crate::domain::Email;

#[derive(Template)]
#[template(path = "email/verify_email.txt")]
struct VerifyText<'a> {
    link: &'a str,
    company: &'a str,
}

#[derive(Template)]
#[template(path = "email/verify_email.html")]
struct VerifyHtml<'a> {
    link: &'a str,
    company: &'a str,
}

#[derive(Template)]
#[template(path = "email/reset_password.txt")]
struct ResetText<'a> {
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/reset_password.html")]
struct ResetHtml<'a> {
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InviteText<'a> {
    link: &'a str,
    company: &'a str,
    inviter: &'a str,
    role: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InviteHtml<'a> {
    link: &'a str,
    company: &'a str,
    inviter: &'a str,
    role: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "email/webhook_disabled.txt")]
struct WebhookDisabledText<'a> {
    url: &'a str,
    reason: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "email/webhook_disabled.html")]
struct WebhookDisabledHtml<'a> {
    url: &'a str,
    reason: &'a str,
    link: &'a str,
}

fn build(
    to: &Email,
    subject: String,
    text: askama::Result<String>,
    html: askama::Result<String>,
) -> OutgoingEmail {
    // Templates are compiled in; rendering them cannot fail at run time with these inputs.
    OutgoingEmail {
        to: to.clone(),
        subject,
        text: text.unwrap_or_default(),
        html: html.unwrap_or_default(),
    }
}

pub fn verify_email(to: &Email, link: &str, company: &str) -> OutgoingEmail {
    build(
        to,
        "Confirm your email for cartbridge".into(),
        VerifyText { link, company }.render(),
        VerifyHtml { link, company }.render(),
    )
}

pub fn reset_password(to: &Email, link: &str, minutes: i64) -> OutgoingEmail {
    build(
        to,
        "Reset your cartbridge password".into(),
        ResetText { link, minutes }.render(),
        ResetHtml { link, minutes }.render(),
    )
}

pub fn invitation(
    to: &Email,
    link: &str,
    company: &str,
    inviter: &str,
    role: &str,
    days: i64,
) -> OutgoingEmail {
    build(
        to,
        format!("You're invited to join {company} on cartbridge"),
        InviteText {
            link,
            company,
            inviter,
            role,
            days,
        }
        .render(),
        InviteHtml {
            link,
            company,
            inviter,
            role,
            days,
        }
        .render(),
    )
}

#[derive(Template)]
#[template(path = "email/link_app_user.txt")]
struct LinkText<'a> {
    link: &'a str,
    store_hash: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "email/link_app_user.html")]
struct LinkHtml<'a> {
    link: &'a str,
    store_hash: &'a str,
    hours: i64,
}

/// Asks the owner of an existing account to confirm that a BigCommerce user may sign in as
/// them (to that store's tenant only).
pub fn confirm_app_link(to: &Email, link: &str, store_hash: &str, hours: i64) -> OutgoingEmail {
    build(
        to,
        "Confirm signing in to cartbridge from BigCommerce".into(),
        LinkText {
            link,
            store_hash,
            hours,
        }
        .render(),
        LinkHtml {
            link,
            store_hash,
            hours,
        }
        .render(),
    )
}

/// To the tenant's owners when cartbridge disabled a webhook endpoint.
pub fn webhook_disabled(to: &Email, url: &str, reason: &str, link: &str) -> OutgoingEmail {
    build(
        to,
        "A cartbridge webhook endpoint was disabled".into(),
        WebhookDisabledText { url, reason, link }.render(),
        WebhookDisabledHtml { url, reason, link }.render(),
    )
}
