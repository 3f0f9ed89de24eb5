//! Pagination: `page`/`limit` parameters, v3 `meta.pagination`, v2 bare arrays (204 when
//! a page is empty).

use super::query::Query;
use super::reply::{ApiErr, HResult, Reply, invalid_filter};
use serde_json::{Map, Value, json};

/// `page` (1-based, default 1) and `limit` (default `default_limit`, 1..=250; above → 413).
pub(super) fn paging(q: &Query, default_limit: usize) -> Result<(usize, usize), ApiErr> {
    let page = match q.get("page").map(str::trim) {
        None | Some("") => 1,
        Some(p) => p.parse::<i64>().map_err(|_| invalid_filter("page"))?.max(1) as usize,
    };
    let limit = match q.get("limit").map(str::trim) {
        None | Some("") => default_limit,
        Some(l) => {
            let l = l.parse::<i64>().map_err(|_| invalid_filter("limit"))?;
            if l < 1 {
                return Err(invalid_filter("limit"));
            }
            if l as usize > MAX_LIMIT {
                return Err(ApiErr::new(
                    413,
                    format!(
                        "The limit parameter is too large. The maximum allowed is {MAX_LIMIT}."
                    ),
                ));
            }
            l as usize
        }
    };
    Ok((page, limit))
}

pub(super) fn pagination_meta(total: usize, count: usize, page: usize, limit: usize) -> Value {
    let total_pages = total.div_ceil(limit);
    let mut links = Map::new();
    if page > 1 {
        links.insert(
            "previous".into(),
            json!(format!("?page={}&limit={limit}", page - 1)),
        );
    }
    links.insert(
        "current".into(),
        json!(format!("?page={page}&limit={limit}")),
    );
    if page < total_pages {
        links.insert(
            "next".into(),
            json!(format!("?page={}&limit={limit}", page + 1)),
        );
    }
    json!({
        "pagination": {
            "total": total,
            "count": count,
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
    })
}

pub(super) fn v3_list(data: Vec<Value>, total: usize, page: usize, limit: usize) -> Reply {
    let count = data.len();
    Reply::ok(json!({ "data": data, "meta": pagination_meta(total, count, page, limit) }))
}

/// v2 collections: a bare array, or 204 with no body when the page is empty.
pub(super) fn v2_page(q: &Query, items: &[Map<String, Value>]) -> HResult {
    let (page, limit) =
        paging(q, 50).map_err(|e| ApiErr::new(if e.status == 413 { 413 } else { 400 }, e.title))?;
    let out: Vec<Value> = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .cloned()
        .map(Value::Object)
        .collect();
    if out.is_empty() {
        Ok(Reply::no_content())
    } else {
        Ok(Reply::ok(Value::Array(out)))
    }
}

/// Applies a page to an iterator, counting the total.
pub(super) fn page_of<'a, T: 'a>(
    iter: impl Iterator<Item = &'a T>,
    page: usize,
    limit: usize,
) -> (Vec<&'a T>, usize) {
    let start = (page - 1) * limit;
    let mut total = 0;
    let mut out = Vec::new();
    for x in iter {
        if total >= start && total < start + limit {
            out.push(x);
        }
        total += 1;
    }
    (out, total)
}

/// Largest `limit` accepted by paginated endpoints (catalog spec: maximum 250).
pub const MAX_LIMIT: usize = 250;
