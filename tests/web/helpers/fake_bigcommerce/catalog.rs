//! Catalog v3: products and variants (lists with filters, single reads, updates and batch
//! updates), and the helpers that seed a catalog.

use super::FakeBigCommerce;
use super::json::{Includes, product_json, trim_fields, variant_json};
use super::models::{FakeProduct, FakeVariant};
use super::paging::{page_of, paging, v3_list};
use super::query::{Query, q_bool, q_date, q_f64, q_i64, q_i64_list};
use super::reply::{ApiErr, HResult, Reply, invalid_filter, parse_body};
use super::routes::R;
use super::server::Incoming;
use super::state::StoreState;
use super::values::{now_secs, parse_v3_date, slug};
use chrono::{TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

impl FakeBigCommerce {
    /// Adds a product (ids 0 are assigned; a product without variants gets a base
    /// variant). Returns the product id.
    pub fn add_product(&self, store_hash: &str, p: FakeProduct) -> i64 {
        self.with_store(store_hash, |s| s.insert_product(p))
    }

    /// Adds `products` deterministic products. With `variants_per_product` ≤ 1 they are
    /// simple products (inventory tracked by product, one base variant); otherwise each
    /// has that many `Size` variants and inventory tracked by variant. Every 10th product
    /// is invisible; `date_modified` is 2024-01-01T00:00:00Z plus the product's index in
    /// seconds. Names/SKUs: `Generated Product 000001` / `GEN-000001[-N]`.
    pub fn generate_catalog(&self, store_hash: &str, products: usize, variants_per_product: usize) {
        const SIZES: [&str; 6] = [
            "Small",
            "Medium",
            "Large",
            "X-Large",
            "XX-Large",
            "XXX-Large",
        ];
        let base = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        self.with_store(store_hash, |s| {
            for _ in 0..products {
                s.generated += 1;
                let k = s.generated;
                let ki = k as i64;
                let price = 5.0 + ((ki * 37) % 9000) as f64 / 100.0;
                let at = base + chrono::Duration::seconds(ki);
                let mut p = FakeProduct::new(
                    &format!("Generated Product {k:06}"),
                    &format!("GEN-{k:06}"),
                    price,
                )
                .inventory((ki * 7) % 100)
                .visible(k % 10 != 0);
                p.cost_price = (price * 50.0).round() / 100.0;
                p.weight = 1.0 + (ki % 5) as f64;
                p.upc = format!("{:012}", 400_000_000_000i64 + ki);
                p.date_created = at;
                p.date_modified = at;
                if variants_per_product > 1 {
                    p.inventory_tracking = "variant".to_string();
                    p.inventory_level = 0;
                    for j in 0..variants_per_product {
                        let label = SIZES
                            .get(j)
                            .map_or_else(|| format!("Size {}", j + 1), |s| s.to_string());
                        let mut v = FakeVariant::new(
                            &format!("GEN-{k:06}-{}", j + 1),
                            (ki * 7 + j as i64 * 3) % 100,
                        )
                        .option("Size", &label);
                        if j % 2 == 1 {
                            v.price = Some(price + 2.0);
                        }
                        p.variants.push(v);
                    }
                }
                s.insert_product(p);
            }
        });
    }

    /// Applies `f` to a product and bumps `date_modified` to now (unless `f` set it).
    /// Variants added with id 0 get ids. Panics if the product doesn't exist.
    pub fn update_product(&self, store_hash: &str, id: i64, f: impl FnOnce(&mut FakeProduct)) {
        self.with_store(store_hash, |s| {
            let Some(mut p) = s.products.get(&id).cloned() else {
                panic!("fake BigCommerce: no product {id} in store {store_hash:?}");
            };
            let before = p.date_modified;
            f(&mut p);
            p.id = id;
            if p.date_modified == before {
                p.date_modified = now_secs();
            }
            s.insert_product(p);
        });
    }

    /// Deletes a product and its variants. Returns whether it existed.
    pub fn delete_product(&self, store_hash: &str, id: i64) -> bool {
        self.with_store(store_hash, |s| s.remove_product(id))
    }

    pub fn product(&self, store_hash: &str, id: i64) -> Option<FakeProduct> {
        self.with_store(store_hash, |s| s.products.get(&id).cloned())
    }

    pub fn product_count(&self, store_hash: &str) -> usize {
        self.with_store(store_hash, |s| s.products.len())
    }
}

/// Answers the catalog routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Products) => list_products(s, q),
        ("PUT", R::Products) => batch_update_products(s, &parse_body(inc)?),
        ("GET", R::Product(id)) => {
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let inc_list = q.list("include").unwrap_or_default();
            let mut v = product_json(p, &Includes::parse(&inc_list));
            trim_fields(
                &mut v,
                q.list("include_fields").as_deref(),
                q.list("exclude_fields").as_deref(),
            );
            Ok(Reply::data(v))
        }
        ("PUT", R::Product(id)) => {
            let body = parse_body(inc)?;
            let obj = body
                .as_object()
                .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
            let mut p = s.products.get(&id).cloned().ok_or_else(product_not_found)?;
            apply_product_update(&mut p, obj)?;
            p.date_modified = now_secs();
            s.insert_product(p);
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let mut v = product_json(p, &Includes::default());
            trim_fields(&mut v, q.list("include_fields").as_deref(), None);
            Ok(Reply::data(v))
        }
        ("GET", R::ProductVariants(id)) => {
            let p = s.products.get(&id).ok_or_else(product_not_found)?;
            let (page, limit) = paging(q, 50)?;
            let total = p.variants.len();
            let data: Vec<Value> = p
                .variants
                .iter()
                .skip((page - 1) * limit)
                .take(limit)
                .map(|v| {
                    let mut j = variant_json(p, v);
                    trim_fields(
                        &mut j,
                        q.list("include_fields").as_deref(),
                        q.list("exclude_fields").as_deref(),
                    );
                    j
                })
                .collect();
            Ok(v3_list(data, total, page, limit))
        }
        ("GET", R::ProductVariant(pid, vid)) => {
            let p = s.products.get(&pid).ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            let mut j = variant_json(p, v);
            trim_fields(
                &mut j,
                q.list("include_fields").as_deref(),
                q.list("exclude_fields").as_deref(),
            );
            Ok(Reply::data(j))
        }
        ("PUT", R::ProductVariant(pid, vid)) => {
            let body = parse_body(inc)?;
            let obj = body
                .as_object()
                .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
            let mut p = s
                .products
                .get(&pid)
                .cloned()
                .ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter_mut()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            apply_variant_update(v, obj)?;
            p.date_modified = now_secs();
            s.insert_product(p);
            let p = s.products.get(&pid).ok_or_else(product_not_found)?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(variant_not_found)?;
            Ok(Reply::data(variant_json(p, v)))
        }
        ("GET", R::Variants) => list_variants(s, q),
        ("PUT", R::Variants) => batch_update_variants(s, &parse_body(inc)?),
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

impl StoreState {
    pub(super) fn insert_product(&mut self, mut p: FakeProduct) -> i64 {
        if p.id <= 0 {
            p.id = self.next_product_id;
        }
        self.next_product_id = self.next_product_id.max(p.id + 1);
        if p.custom_url.is_empty() {
            p.custom_url = format!("/{}/", slug(&p.name));
        }
        if p.variants.is_empty() {
            let mut v = FakeVariant::new(&p.sku, p.inventory_level);
            v.upc = p.upc.clone();
            v.mpn = p.mpn.clone();
            v.gtin = p.gtin.clone();
            p.variants.push(v);
        }
        let mut option_ids: Vec<(String, i64)> = Vec::new();
        let mut value_ids: Vec<(i64, String, i64)> = Vec::new();
        for v in &p.variants {
            for o in &v.option_values {
                if o.option_id > 0 && !option_ids.iter().any(|(n, _)| *n == o.option_display_name) {
                    option_ids.push((o.option_display_name.clone(), o.option_id));
                }
            }
        }
        for v in &mut p.variants {
            if v.id <= 0 {
                v.id = self.next_variant_id;
            }
            self.next_variant_id = self.next_variant_id.max(v.id + 1);
            v.product_id = p.id;
            if !v.option_values.is_empty() && v.sku_id.is_none() {
                v.sku_id = Some(self.next_sku_id);
                self.next_sku_id += 1;
            }
            v.inventory_level = v.inventory_level.min(MAX_STOCK);
            for o in &mut v.option_values {
                if o.option_id <= 0 {
                    o.option_id = match option_ids.iter().find(|(n, _)| *n == o.option_display_name)
                    {
                        Some((_, id)) => *id,
                        None => {
                            let id = self.next_option_id;
                            self.next_option_id += 1;
                            option_ids.push((o.option_display_name.clone(), id));
                            id
                        }
                    };
                }
                if o.id <= 0 {
                    o.id = match value_ids
                        .iter()
                        .find(|(oid, l, _)| *oid == o.option_id && *l == o.label)
                    {
                        Some((_, _, id)) => *id,
                        None => {
                            let id = self.next_option_value_id;
                            self.next_option_value_id += 1;
                            value_ids.push((o.option_id, o.label.clone(), id));
                            id
                        }
                    };
                }
            }
        }
        p.inventory_level = p.inventory_level.min(MAX_STOCK);
        let id = p.id;
        for v in &p.variants {
            self.variant_index.insert(v.id, id);
        }
        if let Some(old) = self.products.insert(id, p) {
            let keep: HashSet<i64> = self
                .products
                .get(&id)
                .map(|p| p.variants.iter().map(|v| v.id).collect())
                .unwrap_or_default();
            for v in old.variants {
                if !keep.contains(&v.id) {
                    self.variant_index.remove(&v.id);
                }
            }
        }
        id
    }

    pub(super) fn remove_product(&mut self, id: i64) -> bool {
        match self.products.remove(&id) {
            Some(p) => {
                for v in p.variants {
                    self.variant_index.remove(&v.id);
                }
                true
            }
            None => false,
        }
    }
}

pub(super) fn product_not_found() -> ApiErr {
    ApiErr::new(404, "The requested product was not found.")
}

pub(super) fn variant_not_found() -> ApiErr {
    ApiErr::new(404, "The requested variant was not found.")
}

#[derive(Default)]
pub(super) struct ProductFilter {
    pub(super) id: Option<i64>,
    pub(super) id_in: Option<HashSet<i64>>,
    pub(super) id_not_in: Option<HashSet<i64>>,
    pub(super) id_min: Option<i64>,
    pub(super) id_max: Option<i64>,
    pub(super) id_greater: Option<i64>,
    pub(super) id_less: Option<i64>,
    pub(super) sku: Option<String>,
    pub(super) sku_in: Option<Vec<String>>,
    pub(super) name: Option<String>,
    pub(super) upc: Option<String>,
    pub(super) mpn: Option<String>,
    pub(super) price: Option<f64>,
    pub(super) keyword: Option<String>,
    pub(super) is_visible: Option<bool>,
    pub(super) availability: Option<String>,
    pub(super) product_type: Option<String>,
    pub(super) brand_id: Option<i64>,
    pub(super) categories_in: Option<HashSet<i64>>,
    pub(super) inv: Option<i64>,
    pub(super) inv_in: Option<HashSet<i64>>,
    pub(super) inv_min: Option<i64>,
    pub(super) inv_max: Option<i64>,
    pub(super) inv_greater: Option<i64>,
    pub(super) inv_less: Option<i64>,
    pub(super) inventory_low: bool,
    pub(super) out_of_stock: bool,
    pub(super) dm: Option<(i64, bool)>,
    pub(super) dm_min: Option<i64>,
    pub(super) dm_max: Option<i64>,
}

impl ProductFilter {
    pub(super) fn from_query(q: &Query) -> Result<ProductFilter, ApiErr> {
        let dm = match q.get("date_modified") {
            None => None,
            Some(v) => {
                let d = parse_v3_date(v).ok_or_else(|| invalid_filter("date_modified"))?;
                Some((d.timestamp(), v.trim().len() == 10))
            }
        };
        Ok(ProductFilter {
            id: q_i64(q, "id")?,
            id_in: q_i64_list(q, "id:in")?,
            id_not_in: q_i64_list(q, "id:not_in")?,
            id_min: q_i64(q, "id:min")?,
            id_max: q_i64(q, "id:max")?,
            id_greater: q_i64(q, "id:greater")?,
            id_less: q_i64(q, "id:less")?,
            sku: q.get("sku").map(str::to_string),
            sku_in: q.list("sku:in"),
            name: q.get("name").map(str::to_string),
            upc: q.get("upc").map(str::to_string),
            mpn: q.get("mpn").map(str::to_string),
            price: q_f64(q, "price")?,
            keyword: q.get("keyword").map(str::to_lowercase),
            is_visible: q_bool(q, "is_visible")?,
            availability: q.get("availability").map(str::to_string),
            product_type: q.get("type").map(str::to_string),
            brand_id: q_i64(q, "brand_id")?,
            categories_in: q_i64_list(q, "categories:in")?,
            inv: q_i64(q, "inventory_level")?,
            inv_in: q_i64_list(q, "inventory_level:in")?,
            inv_min: q_i64(q, "inventory_level:min")?,
            inv_max: q_i64(q, "inventory_level:max")?,
            inv_greater: q_i64(q, "inventory_level:greater")?,
            inv_less: q_i64(q, "inventory_level:less")?,
            inventory_low: q_bool(q, "inventory_low")?.unwrap_or(false),
            out_of_stock: q_bool(q, "out_of_stock")?.unwrap_or(false),
            dm,
            dm_min: q_date(q, "date_modified:min")?.map(|d| d.timestamp()),
            dm_max: q_date(q, "date_modified:max")?.map(|d| d.timestamp()),
        })
    }

    pub(super) fn matches(&self, p: &FakeProduct) -> bool {
        fn opt<T: PartialEq>(f: &Option<T>, v: &T) -> bool {
            f.as_ref().is_none_or(|x| x == v)
        }
        let id = p.id;
        let inv = p.effective_inventory();
        let dm = p.date_modified.timestamp();
        opt(&self.id, &id)
            && self.id_in.as_ref().is_none_or(|s| s.contains(&id))
            && self.id_not_in.as_ref().is_none_or(|s| !s.contains(&id))
            && self.id_min.is_none_or(|m| id >= m)
            && self.id_max.is_none_or(|m| id <= m)
            && self.id_greater.is_none_or(|m| id > m)
            && self.id_less.is_none_or(|m| id < m)
            && opt(&self.sku, &p.sku)
            && self.sku_in.as_ref().is_none_or(|l| l.contains(&p.sku))
            && opt(&self.name, &p.name)
            && opt(&self.upc, &p.upc)
            && opt(&self.mpn, &p.mpn)
            && self.price.is_none_or(|x| (x - p.price).abs() < 1e-9)
            && self.keyword.as_ref().is_none_or(|k| {
                p.name.to_lowercase().contains(k) || p.sku.to_lowercase().contains(k)
            })
            && opt(&self.is_visible, &p.is_visible)
            && opt(&self.availability, &p.availability)
            && opt(&self.product_type, &p.product_type)
            && opt(&self.brand_id, &p.brand_id)
            && self
                .categories_in
                .as_ref()
                .is_none_or(|s| p.categories.iter().any(|c| s.contains(c)))
            && opt(&self.inv, &inv)
            && self.inv_in.as_ref().is_none_or(|s| s.contains(&inv))
            && self.inv_min.is_none_or(|m| inv >= m)
            && self.inv_max.is_none_or(|m| inv <= m)
            && self.inv_greater.is_none_or(|m| inv > m)
            && self.inv_less.is_none_or(|m| inv < m)
            && (!self.inventory_low
                || (p.inventory_tracking != "none" && inv <= p.inventory_warning_level))
            && (!self.out_of_stock || (p.inventory_tracking != "none" && inv <= 0))
            && self.dm.is_none_or(|(t, day_only)| {
                if day_only {
                    let day = |x: i64| Utc.timestamp_opt(x, 0).single().map(|d| d.date_naive());
                    day(t) == day(dm)
                } else {
                    t == dm
                }
            })
            && self.dm_min.is_none_or(|m| dm >= m)
            && self.dm_max.is_none_or(|m| dm <= m)
    }
}

pub(super) fn list_products(s: &StoreState, q: &Query) -> HResult {
    let includes = Includes::parse(&q.list("include").unwrap_or_default());
    let (page, mut limit) = paging(q, 50)?;
    if includes.options || includes.modifiers {
        limit = limit.min(10);
    }
    let filter = ProductFilter::from_query(q)?;
    let sort = q.get("sort").unwrap_or("id");
    let desc = match q.get("direction") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(invalid_filter("direction")),
    };
    let (items, total) = if sort == "id" {
        let matching = s.products.values().filter(|p| filter.matches(p));
        if desc {
            let all: Vec<&FakeProduct> = matching.collect();
            page_of(all.into_iter().rev(), page, limit)
        } else {
            page_of(matching, page, limit)
        }
    } else {
        let mut all: Vec<&FakeProduct> =
            s.products.values().filter(|p| filter.matches(p)).collect();
        let cmp_f = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
        match sort {
            "name" => all.sort_by(|a, b| a.name.cmp(&b.name)),
            "sku" => all.sort_by(|a, b| a.sku.cmp(&b.sku)),
            "price" => all.sort_by(|a, b| cmp_f(a.price, b.price)),
            "calculated_price" => {
                all.sort_by(|a, b| cmp_f(a.calculated_price(), b.calculated_price()))
            }
            "date_modified" => all.sort_by_key(|p| p.date_modified),
            "date_last_imported" => {}
            "inventory_level" => all.sort_by_key(|p| p.effective_inventory()),
            "is_visible" => all.sort_by_key(|p| p.is_visible),
            "total_sold" => all.sort_by_key(|p| p.total_sold),
            _ => return Err(invalid_filter("sort")),
        }
        if desc {
            all.reverse();
        }
        page_of(all.into_iter(), page, limit)
    };
    let inc_f = q.list("include_fields");
    let exc_f = q.list("exclude_fields");
    let data: Vec<Value> = items
        .into_iter()
        .map(|p| {
            let mut v = product_json(p, &includes);
            trim_fields(&mut v, inc_f.as_deref(), exc_f.as_deref());
            v
        })
        .collect();
    Ok(v3_list(data, total, page, limit))
}

pub(super) fn list_variants(s: &StoreState, q: &Query) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let id = q_i64(q, "id")?;
    let product_in = q_i64_list(q, "product_id:in")?;
    let sku = q.get("sku");
    let upc = q.get("upc");
    let iter = s
        .products
        .values()
        .filter(|p| product_in.as_ref().is_none_or(|set| set.contains(&p.id)))
        .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
        .filter(|(_, v)| {
            id.is_none_or(|i| v.id == i)
                && sku.is_none_or(|x| v.sku == x)
                && upc.is_none_or(|x| v.upc == x)
        });
    let start = (page - 1) * limit;
    let mut total = 0;
    let mut data = Vec::new();
    let inc_f = q.list("include_fields");
    let exc_f = q.list("exclude_fields");
    for (p, v) in iter {
        if total >= start && total < start + limit {
            let mut j = variant_json(p, v);
            trim_fields(&mut j, inc_f.as_deref(), exc_f.as_deref());
            data.push(j);
        }
        total += 1;
    }
    Ok(v3_list(data, total, page, limit))
}

pub(super) fn field_err(field: &str, msg: &str) -> ApiErr {
    ApiErr::new(422, "JSON data is missing or invalid").with(field, msg)
}

pub(super) fn get_num(obj: &Map<String, Value>, k: &str) -> Result<Option<f64>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x >= 0.0 => Ok(Some(x)),
            _ => Err(field_err(k, "error.minimum")),
        },
        Some(_) => Err(field_err(k, "error.type.number")),
    }
}

pub(super) fn get_int(obj: &Map<String, Value>, k: &str) -> Result<Option<i64>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
            .map(Some)
            .ok_or_else(|| field_err(k, "error.type.integer")),
    }
}

pub(super) fn get_str(obj: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(field_err(k, "error.type.string")),
    }
}

pub(super) fn get_bool(obj: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiErr> {
    match obj.get(k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(field_err(k, "error.type.boolean")),
    }
}

pub(super) fn apply_product_update(
    p: &mut FakeProduct,
    obj: &Map<String, Value>,
) -> Result<(), ApiErr> {
    if let Some(t) = get_str(obj, "inventory_tracking")? {
        if !matches!(t.as_str(), "none" | "product" | "variant") {
            return Err(field_err("inventory_tracking", "error.enum"));
        }
        p.inventory_tracking = t;
    }
    if let Some(n) = get_str(obj, "name")? {
        if n.is_empty() || n.len() > 250 {
            return Err(field_err("name", "error.length"));
        }
        p.name = n;
    }
    if let Some(t) = get_str(obj, "type")? {
        if !matches!(t.as_str(), "physical" | "digital") {
            return Err(field_err("type", "error.enum"));
        }
        p.product_type = t;
    }
    if let Some(x) = get_str(obj, "sku")? {
        p.sku = x;
    }
    if let Some(x) = get_num(obj, "price")? {
        p.price = x;
    }
    if let Some(x) = get_num(obj, "sale_price")? {
        p.sale_price = x;
    }
    if let Some(x) = get_num(obj, "cost_price")? {
        p.cost_price = x;
    }
    if let Some(x) = get_num(obj, "retail_price")? {
        p.retail_price = x;
    }
    if let Some(x) = get_num(obj, "weight")? {
        p.weight = x;
    }
    if let Some(x) = get_bool(obj, "is_visible")? {
        p.is_visible = x;
    }
    if let Some(a) = get_str(obj, "availability")? {
        if !matches!(a.as_str(), "available" | "disabled" | "preorder") {
            return Err(field_err("availability", "error.enum"));
        }
        p.availability = a;
    }
    if let Some(x) = get_int(obj, "inventory_level")? {
        if x < 0 {
            return Err(field_err("inventory_level", "error.minimum"));
        }
        // Only meaningful when the product itself tracks stock.
        if p.inventory_tracking == "product" {
            p.inventory_level = x.min(MAX_STOCK);
            if let [only] = p.variants.as_mut_slice() {
                only.inventory_level = p.inventory_level;
            }
        }
    }
    if let Some(x) = get_int(obj, "inventory_warning_level")? {
        p.inventory_warning_level = x;
    }
    for (k, slot) in [
        ("upc", &mut p.upc),
        ("mpn", &mut p.mpn),
        ("gtin", &mut p.gtin),
    ] {
        if let Some(x) = get_str(obj, k)? {
            *slot = x;
        }
    }
    Ok(())
}

pub(super) fn apply_variant_update(
    v: &mut FakeVariant,
    obj: &Map<String, Value>,
) -> Result<(), ApiErr> {
    fn nullable(obj: &Map<String, Value>, k: &str, slot: &mut Option<f64>) -> Result<(), ApiErr> {
        match obj.get(k) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(_) => *slot = get_num(obj, k)?,
        }
        Ok(())
    }
    nullable(obj, "price", &mut v.price)?;
    nullable(obj, "sale_price", &mut v.sale_price)?;
    nullable(obj, "cost_price", &mut v.cost_price)?;
    nullable(obj, "retail_price", &mut v.retail_price)?;
    nullable(obj, "weight", &mut v.weight)?;
    if let Some(x) = get_int(obj, "inventory_level")? {
        if x < 0 {
            return Err(field_err("inventory_level", "error.minimum"));
        }
        v.inventory_level = x.min(MAX_STOCK);
    }
    if let Some(x) = get_int(obj, "inventory_warning_level")? {
        v.inventory_warning_level = x;
    }
    if let Some(x) = get_bool(obj, "purchasing_disabled")? {
        v.purchasing_disabled = x;
    }
    for (k, slot) in [
        ("sku", &mut v.sku),
        ("upc", &mut v.upc),
        ("mpn", &mut v.mpn),
        ("gtin", &mut v.gtin),
    ] {
        if let Some(x) = get_str(obj, k)? {
            *slot = x;
        }
    }
    Ok(())
}

pub(super) fn batch_update_products(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body
        .as_array()
        .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
    if arr.len() > 10 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 10.",
        ));
    }
    let mut updated = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| field_err(&i.to_string(), "error.type.object"))?;
        let id = get_int(obj, "id")?
            .ok_or_else(|| field_err(&format!("{i}.id"), "error.path.missing"))?;
        let mut p = s.products.get(&id).cloned().ok_or_else(product_not_found)?;
        apply_product_update(&mut p, obj)?;
        p.date_modified = now_secs();
        updated.push(p);
    }
    let mut data = Vec::new();
    for p in updated {
        let id = s.insert_product(p);
        if let Some(p) = s.products.get(&id) {
            data.push(product_json(p, &Includes::default()));
        }
    }
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}

pub(super) fn batch_update_variants(s: &mut StoreState, body: &Value) -> HResult {
    let arr = body
        .as_array()
        .ok_or_else(|| ApiErr::new(422, "JSON data is missing or invalid"))?;
    if arr.len() > 50 {
        return Err(ApiErr::new(
            413,
            "The request payload is too large. The maximum items allowed in the array is 50",
        ));
    }
    let mut touched: BTreeMap<i64, FakeProduct> = BTreeMap::new();
    let mut order = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| field_err(&i.to_string(), "error.type.object"))?;
        let vid = get_int(obj, "id")?.ok_or_else(|| {
            field_err(
                &format!("{i}.id"),
                "creating variants through this endpoint is not supported by the fake",
            )
        })?;
        let pid = *s.variant_index.get(&vid).ok_or_else(variant_not_found)?;
        let p = match touched.entry(pid) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(
                s.products
                    .get(&pid)
                    .cloned()
                    .ok_or_else(product_not_found)?,
            ),
        };
        let v = p
            .variants
            .iter_mut()
            .find(|v| v.id == vid)
            .ok_or_else(variant_not_found)?;
        apply_variant_update(v, obj)?;
        p.date_modified = now_secs();
        order.push((pid, vid));
    }
    for (_, p) in touched {
        s.insert_product(p);
    }
    let data: Vec<Value> = order
        .iter()
        .filter_map(|(pid, vid)| {
            let p = s.products.get(pid)?;
            let v = p.variants.iter().find(|v| v.id == *vid)?;
            Some(variant_json(p, v))
        })
        .collect();
    Ok(Reply::ok(json!({ "data": data, "meta": {} })))
}

/// Largest stock value the Catalog API stores; bigger values are clamped.
pub const MAX_STOCK: i64 = 2_147_483_647;
