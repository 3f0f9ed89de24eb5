//! Placed Orders pages: the Events page (the orders sent as `order.placed`, with mapped
//! sales channel, storefront and origin) and the sales-channel mapping page (the default
//! table, and the connection's overrides of single entries).

use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    extract::CurrentTenant,
    flows::ConnectionNav,
    forms::FormErrors,
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    context::AppContext,
    db::{self, inbound::PlacedOrderRow},
    error::AppError,
    flows::placed_orders::mapping::{self, DEFAULTS, FALLBACK, SALES_CHANNELS},
};

const EVENTS_SHOWN: i64 = 200;

#[derive(Template)]
#[template(path = "placed_orders/events.html")]
struct EventsPage {
    layout: Layout,
    nav: ConnectionNav,
    orders: Vec<PlacedOrderRow>,
}

pub async fn list_events(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "placed_orders").await?;
    let orders =
        db::inbound::recent_placed_orders(&ctx.db, tenant.id(), path.1, EVENTS_SHOWN).await?;
    render(&EventsPage {
        layout: tenant.layout("Placed orders"),
        nav,
        orders,
    })
}

#[derive(Template)]
#[template(path = "placed_orders/sales_channels.html")]
struct ChannelsPage {
    layout: Layout,
    nav: ConnectionNav,
    defaults: &'static [(&'static str, &'static str)],
    fallback: &'static str,
    channels: String,
    overrides: String,
    errors: FormErrors,
    can_manage: bool,
}

fn overrides_text(rows: &[(String, String)]) -> String {
    rows.iter()
        .map(|(s, c)| format!("{s} = {c}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn sales_channels(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "placed_orders").await?;
    let rows = db::inbound::overrides(&ctx.db, tenant.id(), path.1).await?;
    render(&ChannelsPage {
        layout: tenant.layout("Sales channels"),
        nav,
        defaults: DEFAULTS,
        fallback: FALLBACK,
        channels: SALES_CHANNELS.join(", "),
        overrides: overrides_text(&rows),
        errors: FormErrors::default(),
        can_manage: tenant.actor.role.can_manage_members(),
    })
}

pub async fn save_sales_channels(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<HashMap<String, String>>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    if !tenant.actor.role.can_manage_members() {
        return Err(AppError::Forbidden(
            "Only owners and admins can change the sales-channel mapping.".into(),
        ));
    }
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "placed_orders").await?;
    let text = form.get("overrides").cloned().unwrap_or_default();
    match mapping::parse_overrides(&text) {
        Ok(rows) => {
            db::inbound::replace_overrides(&ctx.db, tenant.id(), path.1, &rows).await?;
            flash(
                &tenant.viewer.session,
                "success",
                "Sales-channel mapping saved.",
            );
            Ok(see_other(&format!("{}/sales-channels", nav.base)))
        }
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("overrides", message);
            errors.general = Some("Nothing was saved: correct the mapping below.".into());
            render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ChannelsPage {
                    layout: tenant.layout("Sales channels"),
                    nav,
                    defaults: DEFAULTS,
                    fallback: FALLBACK,
                    channels: SALES_CHANNELS.join(", "),
                    overrides: text,
                    errors,
                    can_manage: true,
                },
            )
        }
    }
}
