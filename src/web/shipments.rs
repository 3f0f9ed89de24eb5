//! The Shipments page: a connection's recorded shipments, newest first, searchable by PO
//! number, order id or tracking number, 50 a page, with a CSV download; `?po=<id>` shows
//! one purchase order's shipments (the list itself is `templates/shipments/_list.html`, a
//! partial the PO detail page includes). Read-only.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    flows::{ConnectionNav, parse_page},
    render::{Layout, csv_attachment, render},
};
use crate::{
    context::AppContext,
    db::{
        self,
        shipments::{Filter, PoRef, ShipmentView},
    },
    error::AppError,
    partner_api::shipments_export,
};

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ShipmentsQuery {
    q: Option<String>,
    page: Option<String>,
    po: Option<String>,
}

#[derive(Template)]
#[template(path = "shipments/index.html")]
struct IndexPage {
    layout: Layout,
    nav: ConnectionNav,
    q: String,
    po: Option<PoRef>,
    shipments: Vec<ShipmentView>,
    count: i64,
    prev: Option<String>,
    next: Option<String>,
}

fn href(base: &str, q: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    query.append_pair("page", &page.to_string());
    format!("{base}/shipments?{}", query.finish())
}

pub async fn list_shipments(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    query: web::Query<ShipmentsQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let page = parse_page(query.page.as_deref())?;
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "shipments").await?;
    let (t, c) = (tenant.id(), path.1);
    if let Some(raw) = query.po.as_deref() {
        let po_id = raw.trim().parse::<i64>().map_err(|_| AppError::NotFound)?;
        let po = db::shipments::find_po(&ctx.db, t, po_id)
            .await?
            .filter(|po| po.connection_id == c)
            .ok_or(AppError::NotFound)?;
        let shipments = db::shipments::for_purchase_order(&ctx.db, t, po.id).await?;
        return render(&IndexPage {
            layout: tenant.layout(&format!("Shipments of {} · {}", po.po_number, nav.name)),
            nav,
            q: String::new(),
            count: i64::try_from(shipments.len()).unwrap_or(i64::MAX),
            po: Some(po),
            shipments,
            prev: None,
            next: None,
        });
    }
    let q: String = query
        .q
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect();
    let filter = Filter {
        connection_id: Some(c),
        connections: None,
        search: Some(q.as_str()).filter(|s| !s.is_empty()),
    };
    let offset = (page - 1) * PER_PAGE;
    let shipments = db::shipments::newest(&ctx.db, t, &filter, PER_PAGE, offset).await?;
    let count = db::shipments::count(&ctx.db, t, &filter).await?;
    render(&IndexPage {
        layout: tenant.layout(&format!("Shipments · {}", nav.name)),
        prev: (page > 1).then(|| href(&nav.base, &q, page - 1)),
        next: (offset + PER_PAGE < count).then(|| href(&nav.base, &q, page + 1)),
        nav,
        q,
        po: None,
        shipments,
        count,
    })
}

/// Downloads every shipment of the connection as CSV (streamed).
pub async fn export_shipments(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let connection = db::connections::find(&ctx.db, tenant.id(), path.1)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(csv_attachment(
        &format!("shipments-{}.csv", connection.id),
        shipments_export::shipments_csv(ctx.db.clone(), tenant.id(), connection.id),
    ))
}
