//! Customers v3: list with filters and batch create with per-field validation errors.

use super::FakeBigCommerce;
use super::json::customer_json;
use super::models::FakeCustomer;
use super::order_create::COUNTRIES;
use super::paging::{page_of, paging, v3_list};
use super::query::{Query, q_date, q_i64_list};
use super::reply::{ApiErr, HResult, Reply, invalid_filter, parse_body};
use super::routes::R;
use super::server::Incoming;
use super::state::StoreState;
use super::values::str_of;
use serde_json::{Value, json};
use std::collections::HashSet;

impl FakeBigCommerce {
    /// Adds a customer directly (no validation). Returns its id.
    pub fn add_customer(&self, store_hash: &str, c: FakeCustomer) -> i64 {
        self.with_store(store_hash, |s| s.insert_customer(c))
    }

    /// All customers as `GET /v3/customers?include=addresses` renders them.
    pub fn customers(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.customers
                .values()
                .map(|c| customer_json(c, true, false))
                .collect()
        })
    }
}

/// Answers the customers routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Customers) => list_customers(s, q),
        ("POST", R::Customers) => create_customers(s, &parse_body(inc)?),
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

impl StoreState {
    pub(super) fn insert_customer(&mut self, mut c: FakeCustomer) -> i64 {
        if c.id <= 0 {
            c.id = self.next_customer_id;
        }
        self.next_customer_id = self.next_customer_id.max(c.id + 1);
        for a in &mut c.addresses {
            if let Some(m) = a.as_object_mut() {
                if m.get("id").and_then(Value::as_i64).unwrap_or(0) <= 0 {
                    m.insert("id".into(), json!(self.next_customer_address_id));
                    self.next_customer_address_id += 1;
                }
                m.insert("customer_id".into(), json!(c.id));
            }
        }
        let id = c.id;
        self.customers.insert(id, c);
        id
    }
}

pub(super) fn list_customers(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let id_in = q_i64_list(q, "id:in")?;
    let email_in: Option<Vec<String>> = q
        .list("email:in")
        .map(|l| l.iter().map(|e| e.to_lowercase()).collect());
    let name_in = q.list("name:in");
    let name_like: Option<Vec<String>> = q
        .list("name:like")
        .map(|l| l.iter().map(|e| e.to_lowercase()).collect());
    let company_in = q.list("company:in");
    let group_in = q_i64_list(q, "customer_group_id:in")?;
    let phone_in = q.list("phone:in");
    let dc = |k| q_date(q, k).map(|d| d.map(|d| d.timestamp()));
    let (dc_min, dc_max, dm_min, dm_max) = (
        dc("date_created:min")?,
        dc("date_created:max")?,
        dc("date_modified:min")?,
        dc("date_modified:max")?,
    );
    let includes = q.list("include").unwrap_or_default();
    let inc_addr = includes.iter().any(|x| x == "addresses");
    let inc_credit = includes.iter().any(|x| x == "storecredit");
    let mut all: Vec<&FakeCustomer> = s
        .customers
        .values()
        .filter(|c| {
            let full = format!("{} {}", c.first_name, c.last_name);
            id_in.as_ref().is_none_or(|s| s.contains(&c.id))
                && email_in
                    .as_ref()
                    .is_none_or(|l| l.contains(&c.email.to_lowercase()))
                && name_in.as_ref().is_none_or(|l| l.contains(&full))
                && name_like
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|n| full.to_lowercase().contains(n)))
                && company_in.as_ref().is_none_or(|l| l.contains(&c.company))
                && group_in
                    .as_ref()
                    .is_none_or(|s| s.contains(&c.customer_group_id))
                && phone_in.as_ref().is_none_or(|l| l.contains(&c.phone))
                && dc_min.is_none_or(|m| c.date_created.timestamp() >= m)
                && dc_max.is_none_or(|m| c.date_created.timestamp() <= m)
                && dm_min.is_none_or(|m| c.date_modified.timestamp() >= m)
                && dm_max.is_none_or(|m| c.date_modified.timestamp() <= m)
        })
        .collect();
    match q.get("sort") {
        None => {}
        Some("date_created:asc") => all.sort_by_key(|c| (c.date_created, c.id)),
        Some("date_created:desc") => all.sort_by_key(|c| std::cmp::Reverse((c.date_created, c.id))),
        Some("last_name:asc") => {
            all.sort_by(|a, b| a.last_name.cmp(&b.last_name).then(a.id.cmp(&b.id)))
        }
        Some("last_name:desc") => {
            all.sort_by(|a, b| b.last_name.cmp(&a.last_name).then(b.id.cmp(&a.id)))
        }
        Some("date_modified:asc") => all.sort_by_key(|c| (c.date_modified, c.id)),
        Some("date_modified:desc") => {
            all.sort_by_key(|c| std::cmp::Reverse((c.date_modified, c.id)))
        }
        Some(_) => return Err(invalid_filter("sort")),
    }
    let (items, total) = page_of(all.into_iter(), page, limit);
    let data = items
        .into_iter()
        .map(|c| customer_json(c, inc_addr, inc_credit))
        .collect();
    Ok(v3_list(data, total, page, limit))
}

pub(super) fn create_customers(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body.as_array().ok_or_else(|| {
        ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "The request body must be an array of customers.")
    })?;
    if arr.len() > 10 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 10.",
        ));
    }
    if arr.is_empty() {
        return Err(ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "At least one customer is required."));
    }
    let mut errors = ApiErr::new(422, "JSON data is missing or invalid");
    let mut new_customers = Vec::new();
    let mut seen: HashSet<String> = s
        .customers
        .values()
        .map(|c| c.email.to_lowercase())
        .collect();
    let mut duplicate: Option<String> = None;
    for (i, item) in arr.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errors = errors.with(&i.to_string(), "error.type.object");
            continue;
        };
        let text = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        for k in ["email", "first_name", "last_name"] {
            match obj.get(k) {
                None | Some(Value::Null) => {
                    errors = errors.with(&format!("{i}.{k}"), "error.path.missing")
                }
                Some(Value::String(v)) if v.trim().is_empty() => {
                    errors = errors.with(&format!("{i}.{k}"), "error.minLength")
                }
                Some(Value::String(_)) => {}
                Some(_) => errors = errors.with(&format!("{i}.{k}"), "error.type.string"),
            }
        }
        let email = text("email");
        if !email.is_empty() {
            let valid = email.split_once('@').is_some_and(|(a, b)| {
                !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.')
            });
            if !valid {
                errors = errors.with(&format!("{i}.email"), "error.format");
            } else if !seen.insert(email.to_lowercase()) && duplicate.is_none() {
                duplicate = Some(email.clone());
            }
        }
        let channel_ids = match obj.get("channel_ids") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) if !a.is_empty() => {
                let ids: Option<Vec<i64>> = a.iter().map(Value::as_i64).collect();
                match ids {
                    Some(ids) if ids.iter().all(|id| s.channels.contains_key(id)) => Some(ids),
                    _ => {
                        errors = errors.with(&format!("{i}.channel_ids"), "Invalid channel id(s).");
                        None
                    }
                }
            }
            Some(_) => {
                errors = errors.with(&format!("{i}.channel_ids"), "error.minItems");
                None
            }
        };
        let mut addresses = Vec::new();
        match obj.get("addresses") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.len() <= 10 => {
                for (j, addr) in a.iter().enumerate() {
                    let Some(am) = addr.as_object() else {
                        errors = errors.with(&format!("{i}.addresses.{j}"), "error.type.object");
                        continue;
                    };
                    for k in [
                        "first_name",
                        "last_name",
                        "address1",
                        "city",
                        "country_code",
                    ] {
                        if str_of(am, k).trim().is_empty() {
                            errors = errors
                                .with(&format!("{i}.addresses.{j}.{k}"), "error.path.missing");
                        }
                    }
                    let cc = str_of(am, "country_code");
                    if !cc.is_empty() && cc.len() != 2 {
                        errors =
                            errors.with(&format!("{i}.addresses.{j}.country_code"), "error.length");
                    }
                    let country = COUNTRIES
                        .iter()
                        .find(|(c, _)| *c == cc)
                        .map_or(cc.clone(), |(_, n)| n.to_string());
                    let address_type = {
                        let t = str_of(am, "address_type");
                        if t.is_empty() {
                            "residential".to_string()
                        } else {
                            t
                        }
                    };
                    addresses.push(json!({
                        "id": 0,
                        "customer_id": 0,
                        "first_name": str_of(am, "first_name"),
                        "last_name": str_of(am, "last_name"),
                        "company": str_of(am, "company"),
                        "address1": str_of(am, "address1"),
                        "address2": str_of(am, "address2"),
                        "city": str_of(am, "city"),
                        "state_or_province": str_of(am, "state_or_province"),
                        "postal_code": str_of(am, "postal_code"),
                        "country_code": cc,
                        "country": country,
                        "phone": str_of(am, "phone"),
                        "address_type": address_type,
                    }));
                }
            }
            Some(_) => errors = errors.with(&format!("{i}.addresses"), "error.maxItems"),
        }
        let mut c = FakeCustomer::new(&email, &text("first_name"), &text("last_name"));
        c.company = text("company");
        c.phone = text("phone");
        c.notes = text("notes");
        c.tax_exempt_category = text("tax_exempt_category");
        c.customer_group_id = obj
            .get("customer_group_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        c.accepts_product_review_abandoned_cart_emails = obj
            .get("accepts_product_review_abandoned_cart_emails")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.origin_channel_id = obj
            .get("origin_channel_id")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        c.channel_ids = channel_ids;
        c.addresses = addresses;
        c.force_password_reset = obj
            .get("authentication")
            .and_then(|a| a.get("force_password_reset"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.store_credit = obj
            .get("store_credit_amounts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("amount").and_then(Value::as_f64))
                    .sum()
            })
            .unwrap_or(0.0);
        new_customers.push(c);
    }
    if !errors.errors.is_empty() {
        return Err(errors);
    }
    if let Some(email) = duplicate {
        return Err(ApiErr::new(422, "Create customers failed.").with(
            ".customer_create",
            format!("Error creating customers: the email address {email} is already in use by another customer."),
        ));
    }
    let mut data = Vec::new();
    for c in new_customers {
        let id = s.insert_customer(c);
        if let Some(c) = s.customers.get(&id) {
            data.push(customer_json(c, true, false));
        }
    }
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}
