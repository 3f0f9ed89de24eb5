//! The support-staff area. For now a placeholder that only staff can see; everyone else
//! gets 404.

use actix_web::HttpResponse;
use askama::Template;

use super::{
    extract::StaffUser,
    render::{Layout, render},
};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminPage {
    layout: Layout,
    email: String,
}

pub async fn index(staff: StaffUser) -> Result<HttpResponse, AppError> {
    render(&AdminPage {
        layout: staff.viewer.layout("Support dashboard"),
        email: staff.user.email.clone(),
    })
}
