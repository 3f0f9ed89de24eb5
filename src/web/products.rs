//! The Products page: a connection's Get Inventory snapshot, searchable by SKU or name
//! (variant SKUs included), 50 products a page, each with its variants. Read-only.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    extract::CurrentTenant,
    flows::{ConnectionNav, parse_page},
    render::{Layout, render},
};
use crate::{
    context::AppContext,
    db::{
        self,
        inventory::{EventRow, ProductRow, VariantRow},
    },
    error::AppError,
};

const PRODUCTS_PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ProductsQuery {
    q: Option<String>,
    page: Option<String>,
}

/// A product and its variants, as listed.
struct ProductView {
    p: ProductRow,
    variants: Vec<VariantRow>,
}

/// How many stock changes each variant shows.
const HISTORY_PER_VARIANT: usize = 5;

#[derive(Template)]
#[template(path = "products/index.html")]
struct IndexPage {
    layout: Layout,
    nav: ConnectionNav,
    q: String,
    products: Vec<ProductView>,
    /// Each variant's newest stock changes, newest first.
    history: HashMap<i64, Vec<EventRow>>,
    count: i64,
    /// Whether the snapshot is empty (no run has imported anything yet).
    empty_snapshot: bool,
    first: i64,
    prev: Option<String>,
    next: Option<String>,
    /// The store's currency code (from the last connection test), if known.
    currency: Option<String>,
    now: i64,
}

/// An amount with the store's currency: `$12.50`, `€12.50`, `12.50 CHF`.
pub fn with_currency(amount: f64, currency: Option<&str>) -> String {
    match currency.map(str::trim).filter(|c| !c.is_empty()) {
        Some("USD") => format!("${amount:.2}"),
        Some("EUR") => format!("€{amount:.2}"),
        Some("GBP") => format!("£{amount:.2}"),
        Some(code) => format!("{amount:.2} {code}"),
        None => format!("{amount:.2}"),
    }
}

impl IndexPage {
    fn money(&self, v: &f64) -> String {
        with_currency(*v, self.currency.as_deref())
    }

    fn variant_price(&self, v: &Option<f64>) -> String {
        v.map(|p| self.money(&p)).unwrap_or_else(|| "—".into())
    }

    /// Whether the search names this variant's SKU (its row is opened and marked).
    fn variant_matches(&self, sku: &str) -> bool {
        !self.q.is_empty() && sku.to_lowercase().contains(&self.q.to_lowercase())
    }

    fn any_variant_matches(&self, v: &ProductView) -> bool {
        v.variants.iter().any(|x| self.variant_matches(&x.sku))
    }

    fn history_of(&self, variant_id: &i64) -> &[EventRow] {
        self.history
            .get(variant_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn change(&self, e: &EventRow) -> String {
        let level = |s: Option<i64>| s.map_or("not tracked".to_owned(), |v| v.to_string());
        match e.kind.as_str() {
            "added" => format!("added with {}", level(e.new_stock)),
            "removed" => "removed".to_owned(),
            _ => format!("{} → {}", level(e.old_stock), level(e.new_stock)),
        }
    }

    fn synced(&self, at: &i64) -> String {
        super::words::relative(*at, self.now)
    }

    fn stock(&self, s: &Option<i64>) -> String {
        s.map(|v| v.to_string())
            .unwrap_or_else(|| "not tracked".into())
    }

    fn last(&self) -> i64 {
        self.first + self.products.len() as i64 - 1
    }
}

fn href(base: &str, q: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    query.append_pair("page", &page.to_string());
    format!("{base}/products?{}", query.finish())
}

pub async fn list_products(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    query: web::Query<ProductsQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let page = parse_page(query.page.as_deref())?;
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "products").await?;
    let q = query.q.as_deref().unwrap_or("").trim().to_owned();
    let search = Some(q.as_str()).filter(|s| !s.is_empty());
    let (db, t, c) = (&ctx.db, tenant.id(), path.1);
    let offset = (page - 1) * PRODUCTS_PER_PAGE;
    let rows = db::inventory::list_products(db, t, c, search, PRODUCTS_PER_PAGE, offset).await?;
    let count = db::inventory::count_products(db, t, c, search).await?;
    let empty_snapshot = match (count, search) {
        (0, Some(_)) => db::inventory::count_products(db, t, c, None).await? == 0,
        (n, _) => n == 0,
    };
    let ids: Vec<i64> = rows.iter().map(|p| p.product_id).collect();
    let mut variants: HashMap<i64, Vec<VariantRow>> = HashMap::new();
    if !ids.is_empty() {
        for v in db::inventory::variants_of(db, t, c, &ids).await? {
            variants.entry(v.product_id).or_default().push(v);
        }
    }
    let mut history: HashMap<i64, Vec<EventRow>> = HashMap::new();
    for e in db::inventory::recent_events_of_products(db, t, c, &ids, 1000).await? {
        let list = history.entry(e.variant_id).or_default();
        if list.len() < HISTORY_PER_VARIANT {
            list.push(e);
        }
    }
    let products = rows
        .into_iter()
        .map(|p| ProductView {
            variants: variants.remove(&p.product_id).unwrap_or_default(),
            p,
        })
        .collect();
    let currency = crate::connections::store::load(&ctx, t, c)
        .await?
        .store_currency;
    render(&IndexPage {
        layout: tenant.layout(&format!("Products · {}", nav.name)),
        currency,
        now: db::now(),
        prev: (page > 1).then(|| href(&nav.base, &q, page - 1)),
        next: (offset + PRODUCTS_PER_PAGE < count).then(|| href(&nav.base, &q, page + 1)),
        first: offset + 1,
        nav,
        q,
        products,
        history,
        count,
        empty_snapshot,
    })
}

/// Downloads every variant of the connection's snapshot as CSV (streamed).
pub async fn export_products(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let connection = db::connections::find(&ctx.db, tenant.id(), path.1)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(super::api::inventory::csv_response(
        &ctx,
        tenant.id(),
        connection.id,
    ))
}

#[cfg(test)]
mod tests {
    use super::{href, with_currency};

    #[test]
    fn prices_carry_the_store_currency() {
        assert_eq!(with_currency(12.5, Some("USD")), "$12.50");
        assert_eq!(with_currency(12.5, Some("EUR")), "€12.50");
        assert_eq!(with_currency(3.0, Some("CHF")), "3.00 CHF");
        assert_eq!(with_currency(3.0, None), "3.00");
    }

    #[test]
    fn page_links_keep_the_search() {
        assert_eq!(
            href("/t/1/connections/2", "gen 1&x", 3),
            "/t/1/connections/2/products?q=gen+1%26x&page=3"
        );
        assert_eq!(
            href("/t/1/connections/2", "", 2),
            "/t/1/connections/2/products?page=2"
        );
    }
}
