//! The support-staff area: only staff can see it; everyone else gets 404. The dashboard
//! shows the job queue across tenants: how many jobs are in each state and the latest dead
//! jobs with their last error (errors are our own short messages, never payloads).

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{
    extract::StaffUser,
    render::{Layout, render},
};
use crate::{
    context::AppContext,
    db::{
        self,
        jobs::{DeadJobRow, JobCounts},
    },
    error::AppError,
};

/// Dead jobs listed on the dashboard.
const DEAD_JOBS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminPage {
    layout: Layout,
    email: String,
    jobs: JobCounts,
    dead_jobs: Vec<DeadJobRow>,
}

pub async fn index(staff: StaffUser, ctx: web::Data<AppContext>) -> Result<HttpResponse, AppError> {
    let jobs = db::jobs::counts(&ctx.db).await?;
    let dead_jobs = db::jobs::latest_dead(&ctx.db, DEAD_JOBS_SHOWN).await?;
    render(&AdminPage {
        layout: staff.viewer.layout("Support dashboard"),
        email: staff.user.email.clone(),
        jobs,
        dead_jobs,
    })
}
