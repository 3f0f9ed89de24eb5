//! Send Orders' pages: the PO list (status filter, search), CSV upload with a template,
//! the "New purchase order" form, a PO's detail (lines, addresses, attempts, the exact
//! BigCommerce body, the order linked in the control panel), its Preview, and Retry /
//! Cancel. The service decides; these only parse and render.

use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    extract::CurrentTenant,
    flows::{ConnectionNav, parse_page},
    render::{Layout, flash, render, render_with, see_other},
};
use crate::{
    connections::store,
    context::AppContext,
    db::purchase_orders::{self as pos, PoRow},
    error::AppError,
    flows::send_orders::{
        self, Intake, Submitter, csv_import,
        po::{self, PurchaseOrder},
        view::{self, PurchaseOrderView},
    },
    web::api::purchase_orders::STATUSES,
};

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "purchase_orders/index.html")]
struct IndexPage {
    layout: Layout,
    nav: ConnectionNav,
    status: String,
    q: String,
    statuses: &'static [&'static str],
    rows: Vec<PoRow>,
    next: Option<String>,
    prev: Option<String>,
    /// Bad CSV lines of the last upload (line, reason).
    bad_lines: Vec<(u64, String)>,
    csv: String,
    enabled: bool,
}

impl IndexPage {
    fn status_label(&self, s: &str) -> String {
        status_label(s)
    }
}

pub fn status_label(s: &str) -> String {
    match s {
        "partially_shipped" => "partially shipped".into(),
        other => other.into(),
    }
}

fn list_href(base: &str, status: &str, q: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !status.is_empty() {
        query.append_pair("status", status);
    }
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    query.append_pair("page", &page.to_string());
    format!("{base}/purchase-orders?{}", query.finish())
}

async fn index_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    connection_id: i64,
    query: &ListQuery,
    bad_lines: Vec<(u64, String)>,
    csv: String,
) -> Result<IndexPage, AppError> {
    let page = parse_page(query.page.as_deref())?;
    let nav = ConnectionNav::load(tenant, ctx, connection_id, "purchase-orders").await?;
    let status = query.status.as_deref().unwrap_or("").trim().to_owned();
    if !status.is_empty() && !STATUSES.contains(&status.as_str()) {
        return Err(AppError::BadRequest(format!(
            "Unknown status; choose one of {}.",
            STATUSES.join(", ")
        )));
    }
    let q = query.q.as_deref().unwrap_or("").trim().to_owned();
    // Pages by offset over the newest-first list (keyset inside the repository).
    let mut rows = pos::list(
        &ctx.db,
        tenant.id(),
        connection_id,
        Some(status.as_str()).filter(|s| !s.is_empty()),
        Some(q.as_str()).filter(|s| !s.is_empty()),
        None,
        page * PER_PAGE + 1,
    )
    .await?;
    let more = rows.len() as i64 > page * PER_PAGE;
    let rows: Vec<PoRow> = rows
        .drain(..)
        .skip(usize::try_from((page - 1) * PER_PAGE).unwrap_or(usize::MAX))
        .take(usize::try_from(PER_PAGE).unwrap_or(50))
        .collect();
    let enabled = send_orders::settings(ctx, tenant.id(), connection_id)
        .await?
        .enabled;
    Ok(IndexPage {
        layout: tenant.layout(&format!("Purchase orders · {}", nav.name)),
        next: more.then(|| list_href(&nav.base, &status, &q, page + 1)),
        prev: (page > 1).then(|| list_href(&nav.base, &status, &q, page - 1)),
        nav,
        status,
        q,
        statuses: STATUSES,
        rows,
        bad_lines,
        csv,
        enabled,
    })
}

pub async fn list(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    query: web::Query<ListQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let page = index_page(&tenant, &ctx, path.1, &query, Vec::new(), String::new()).await?;
    render(&page)
}

pub async fn template_csv(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    store::load(&ctx, tenant.id(), path.1).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"purchase-orders-template.csv\"",
        ))
        .body(csv_import::template()))
}

#[derive(Deserialize)]
pub struct UploadForm {
    #[serde(default)]
    csv: String,
}

pub async fn upload(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<UploadForm>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let connection = store::load(&ctx, tenant.id(), path.1).await?;
    let text = form.into_inner().csv;
    let bad = if text.trim().is_empty() {
        vec![(
            1,
            "The file is empty: choose a CSV file (download the template).".to_owned(),
        )]
    } else {
        match send_orders::import_csv(&ctx, &connection, &text, tenant.actor.user_id).await? {
            Ok(report) => {
                flash(
                    &tenant.viewer.session,
                    "success",
                    format!(
                        "Imported {} new purchase order{}{}.",
                        report.created,
                        if report.created == 1 { "" } else { "s" },
                        if report.unchanged > 0 {
                            format!(
                                "; {} already received (unchanged, not imported again)",
                                report.unchanged
                            )
                        } else {
                            String::new()
                        }
                    ),
                );
                return Ok(see_other(
                    &tenant.path(&format!("/connections/{}/purchase-orders", connection.id)),
                ));
            }
            Err(bad) => bad.into_iter().map(|b| (b.line, b.reason)).collect(),
        }
    };
    let query = ListQuery {
        status: None,
        q: None,
        page: None,
    };
    let page = index_page(&tenant, &ctx, connection.id, &query, bad, text).await?;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The "New purchase order" form's fields.
const FORM_FIELDS: &[(&str, &str)] = &[
    ("po_number", "PO number"),
    ("customer.email", "Customer email"),
    ("customer.first_name", "Customer first name"),
    ("customer.last_name", "Customer last name"),
    ("customer.company", "Customer company"),
    ("customer.phone", "Customer phone"),
    ("billing_address.first_name", "Billing first name"),
    ("billing_address.last_name", "Billing last name"),
    ("billing_address.company", "Billing company"),
    ("billing_address.street_1", "Billing street"),
    ("billing_address.street_2", "Billing street (line 2)"),
    ("billing_address.city", "Billing city"),
    ("billing_address.state", "Billing state"),
    ("billing_address.zip", "Billing ZIP / postcode"),
    (
        "billing_address.country_iso2",
        "Billing country (2 letters, US)",
    ),
    ("billing_address.phone", "Billing phone"),
    ("billing_address.email", "Billing email"),
    ("shipping_address.shipping_method", "Shipping method"),
    ("shipping_cost", "Shipping cost"),
    ("notes", "Notes"),
];

#[derive(Template)]
#[template(path = "purchase_orders/new.html")]
struct NewPage {
    layout: Layout,
    nav: ConnectionNav,
    fields: Vec<(String, String, String, Option<String>)>,
    lines: String,
    lines_error: Option<String>,
    general: Option<String>,
}

fn new_page(
    tenant: &CurrentTenant,
    nav: ConnectionNav,
    form: &HashMap<String, String>,
    errors: &po::FieldErrors,
) -> NewPage {
    let fields = FORM_FIELDS
        .iter()
        .map(|(name, label)| {
            (
                (*name).to_owned(),
                (*label).to_owned(),
                form.get(*name).cloned().unwrap_or_default(),
                errors.get(*name).map(|m| m.join(" ")),
            )
        })
        .collect();
    let line_errors: Vec<String> = errors
        .iter()
        .filter(|(k, _)| k.starts_with("lines"))
        .map(|(k, m)| format!("{k}: {}", m.join(" ")))
        .collect();
    NewPage {
        layout: tenant.layout(&format!("New purchase order · {}", nav.name)),
        nav,
        fields,
        lines: form.get("lines").cloned().unwrap_or_default(),
        lines_error: (!line_errors.is_empty()).then(|| line_errors.join(" ")),
        general: (!errors.is_empty())
            .then(|| "Nothing was saved: correct the fields below.".to_owned()),
    }
}

pub async fn new_form(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "purchase-orders").await?;
    render(&new_page(
        &tenant,
        nav,
        &HashMap::new(),
        &po::FieldErrors::new(),
    ))
}

/// The form as the contract's JSON; lines are `SKU, quantity[, price]`, one per line.
fn form_json(form: &HashMap<String, String>) -> Value {
    let get = |k: &str| form.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut value = json!({"customer": {}, "billing_address": {}, "lines": []});
    for (name, _) in FORM_FIELDS {
        let v = get(name);
        match name.split_once('.') {
            Some(("shipping_address", _)) => {}
            Some((group, key)) => value[group][key] = json!(v),
            None if v.is_empty() && *name != "po_number" => {}
            None => value[*name] = json!(v),
        }
    }
    let method = get("shipping_address.shipping_method");
    if !method.is_empty() {
        let mut ship = value["billing_address"].clone();
        ship["shipping_method"] = json!(method);
        value["shipping_address"] = ship;
    }
    let lines: Vec<Value> = get("lines")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split(',').map(str::trim).collect();
            let quantity = parts
                .get(1)
                .and_then(|q| q.parse::<i64>().ok())
                .map_or_else(|| json!(parts.get(1).copied().unwrap_or("")), |q| json!(q));
            let mut line = json!({"sku": parts[0], "quantity": quantity});
            if let Some(p) = parts.get(2).filter(|p| !p.is_empty()) {
                line["price"] = json!(p);
            }
            line
        })
        .collect();
    value["lines"] = Value::Array(lines);
    value
}

pub async fn create(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    form: web::Form<HashMap<String, String>>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let connection = store::load(&ctx, tenant.id(), path.1).await?;
    let form = form.into_inner();
    let parsed = po::parse(&form_json(&form));
    let po = match parsed {
        Ok(po) => po,
        Err(errors) => {
            let nav = ConnectionNav::load(&tenant, &ctx, path.1, "purchase-orders").await?;
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &new_page(&tenant, nav, &form, &errors),
            );
        }
    };
    let by = Submitter {
        source: "form",
        api_key_id: None,
        user_id: Some(tenant.actor.user_id),
    };
    let row = match send_orders::submit(&ctx, &connection, &po, by).await? {
        Intake::Created(row) | Intake::Same(row) => row,
        Intake::Changed(_) => {
            let mut errors = po::FieldErrors::new();
            errors.insert(
                "po_number".into(),
                vec![format!(
                    "PO {} was already received with different contents; use a new PO number.",
                    po.po_number
                )],
            );
            let nav = ConnectionNav::load(&tenant, &ctx, path.1, "purchase-orders").await?;
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &new_page(&tenant, nav, &form, &errors),
            );
        }
    };
    flash(
        &tenant.viewer.session,
        "success",
        format!("Purchase order {} received.", row.po_number),
    );
    Ok(see_other(&tenant.path(&format!(
        "/connections/{}/purchase-orders/{}",
        connection.id, row.id
    ))))
}

#[derive(Template)]
#[template(path = "purchase_orders/show.html")]
struct ShowPage {
    layout: Layout,
    nav: ConnectionNav,
    po: PurchaseOrderView,
    parsed: Option<PurchaseOrder>,
    order_body: Option<String>,
    order_url: Option<String>,
    preview: Option<Result<String, String>>,
    can_retry: bool,
    can_cancel: bool,
}

impl ShowPage {
    fn status_label(&self, s: &str) -> String {
        status_label(s)
    }
}

async fn show_page(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    connection_id: i64,
    po_id: i64,
    with_preview: bool,
) -> Result<ShowPage, AppError> {
    let nav = ConnectionNav::load(tenant, ctx, connection_id, "purchase-orders").await?;
    let connection = store::load(ctx, tenant.id(), connection_id).await?;
    let row = pos::find(&ctx.db, tenant.id(), po_id)
        .await?
        .filter(|r| r.connection_id == connection_id)
        .ok_or(AppError::NotFound)?;
    let parsed = PurchaseOrder::from_stored(&row.body).ok();
    let order_body = row.order_body.as_deref().map(|b| {
        serde_json::from_str::<Value>(b)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| b.to_owned())
    });
    let order_url = row.bc_order_id.map(|id| {
        format!(
            "https://store-{}.mybigcommerce.com/manage/orders/{id}",
            connection.store_hash
        )
    });
    let preview = if with_preview {
        Some(
            send_orders::job::preview(ctx, &row)
                .await
                .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default()),
        )
    } else {
        None
    };
    let can_retry = row.status == "failed";
    let can_cancel = matches!(row.status.as_str(), "held" | "failed");
    Ok(ShowPage {
        layout: tenant.layout(&format!("{} · {}", row.po_number, nav.name)),
        nav,
        po: view::load(ctx, row).await?,
        parsed,
        order_body,
        order_url,
        preview,
        can_retry,
        can_cancel,
    })
}

pub async fn show(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&show_page(&tenant, &ctx, path.1, path.2, false).await?)
}

pub async fn preview(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    render(&show_page(&tenant, &ctx, path.1, path.2, true).await?)
}

async fn owned_po(
    tenant: &CurrentTenant,
    ctx: &AppContext,
    connection_id: i64,
    po_id: i64,
) -> Result<PoRow, AppError> {
    pos::find(&ctx.db, tenant.id(), po_id)
        .await?
        .filter(|r| r.connection_id == connection_id)
        .ok_or(AppError::NotFound)
}

pub async fn retry(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let row = owned_po(&tenant, &ctx, path.1, path.2).await?;
    let done = send_orders::retry(&ctx, tenant.id(), row.id).await?;
    flash(
        &tenant.viewer.session,
        if done { "success" } else { "info" },
        if done {
            format!("Purchase order {} will be sent again.", row.po_number)
        } else {
            format!(
                "Purchase order {} is not failed, so there is nothing to retry.",
                row.po_number
            )
        },
    );
    Ok(see_other(&tenant.path(&format!(
        "/connections/{}/purchase-orders/{}",
        path.1, row.id
    ))))
}

pub async fn cancel(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let row = owned_po(&tenant, &ctx, path.1, path.2).await?;
    let done = send_orders::cancel(&ctx, tenant.id(), row.id).await?;
    flash(
        &tenant.viewer.session,
        if done { "success" } else { "info" },
        if done {
            format!("Purchase order {} cancelled.", row.po_number)
        } else {
            format!(
                "Purchase order {} is {}: only held or failed ones can be cancelled.",
                row.po_number,
                status_label(&row.status)
            )
        },
    );
    Ok(see_other(&tenant.path(&format!(
        "/connections/{}/purchase-orders/{}",
        path.1, row.id
    ))))
}
