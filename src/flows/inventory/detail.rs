//! What a Get Inventory run's detail page shows beyond the generic counts: the stock
//! changes it recorded (`templates/flows/inventory/run_detail.html`).

use askama::Template;

use crate::{
    context::AppContext,
    db::{self, DbError, inventory::EventRow, runs::RunRow},
};

/// Stock changes shown on one page; the count says how many there are in all.
const EVENTS_SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "flows/inventory/run_detail.html")]
struct RunDetail {
    events: Vec<EventRow>,
    event_count: i64,
}

impl RunDetail {
    fn stock(&self, s: &Option<i64>) -> String {
        s.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
    }
}

pub(super) async fn render(ctx: &AppContext, run: &RunRow) -> Result<Option<String>, DbError> {
    let events =
        db::inventory::events_of_run(&ctx.db, run.tenant_id, run.id, EVENTS_SHOWN, 0).await?;
    let event_count = db::inventory::count_events_of_run(&ctx.db, run.tenant_id, run.id).await?;
    let page = RunDetail {
        events,
        event_count,
    };
    match page.render() {
        Ok(html) => Ok(Some(html)),
        Err(e) => {
            tracing::error!(error = %e, "the stock changes of a run could not be rendered");
            Ok(None)
        }
    }
}
