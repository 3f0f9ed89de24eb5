//! Creating an order (`POST /v2/orders`, and `FakeBigCommerce::add_order`) with
//! BigCommerce's validation: the billing and shipping addresses, each line (a catalog
//! product or variant, or a custom product), money pairs, customer, status and channel.

use super::models::{FakeChannel, FakeOptionValue};
use super::orders::{OrderRec, status_name};
use super::reply::{ApiErr, v2_bad, v2_missing};
use super::state::StoreState;
use super::values::{money, now_secs, num_of, obj as object, parse_v2_date, rfc2822, str_of};
use serde_json::{Map, Value, json};

pub(super) const COUNTRIES: [(&str, &str); 10] = [
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("IE", "Ireland"),
    ("MX", "Mexico"),
];

pub(super) fn country_pair(m: &Map<String, Value>) -> (String, String) {
    let country = str_of(m, "country");
    let iso = str_of(m, "country_iso2");
    match (country.is_empty(), iso.is_empty()) {
        (false, false) => (country, iso),
        (true, false) => {
            let name = COUNTRIES
                .iter()
                .find(|(c, _)| *c == iso)
                .map_or(iso.clone(), |(_, n)| n.to_string());
            (name, iso)
        }
        (false, true) => {
            let code = COUNTRIES
                .iter()
                .find(|(_, n)| *n == country)
                .map_or(String::new(), |(c, _)| c.to_string());
            (country, code)
        }
        (true, true) => (String::new(), String::new()),
    }
}

pub(super) fn address_fields(m: &Map<String, Value>) -> Map<String, Value> {
    let (country, iso) = country_pair(m);
    let mut out = Map::new();
    for k in [
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
    ] {
        out.insert(k.into(), json!(str_of(m, k)));
    }
    out.insert("country".into(), json!(country));
    out.insert("country_iso2".into(), json!(iso));
    out.insert("phone".into(), json!(str_of(m, "phone")));
    out.insert("email".into(), json!(str_of(m, "email")));
    out
}

pub(super) fn check_address(m: &Map<String, Value>, prefix: &str) -> Result<(), ApiErr> {
    if str_of(m, "zip").trim().len() < 2 {
        return Err(v2_bad(&format!("{prefix}.zip")));
    }
    if str_of(m, "country").is_empty() && str_of(m, "country_iso2").is_empty() {
        return Err(v2_missing(&format!("{prefix}.country")));
    }
    Ok(())
}

/// Reads an `_ex_tax`/`_inc_tax` pair: both or neither.
pub(super) fn money_pair(
    obj: &Map<String, Value>,
    ex: &str,
    inc: &str,
) -> Result<Option<(f64, f64)>, ApiErr> {
    match (obj.get(ex), obj.get(inc)) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => {
            let a = num_of(a).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(ex))?;
            let b = num_of(b).filter(|x| *x >= 0.0).ok_or_else(|| v2_bad(inc))?;
            Ok(Some((a, b)))
        }
        (Some(_), None) => Err(ApiErr::new(
            400,
            format!("The field '{inc}' is required when '{ex}' is supplied."),
        )),
        (None, Some(_)) => Err(ApiErr::new(
            400,
            format!("The field '{ex}' is required when '{inc}' is supplied."),
        )),
    }
}

pub(super) struct Line {
    pub(super) product_id: i64,
    pub(super) variant_id: Option<i64>,
    pub(super) name: String,
    pub(super) sku: String,
    pub(super) upc: String,
    pub(super) qty: i64,
    pub(super) ex: f64,
    pub(super) inc: f64,
    pub(super) cost: f64,
    pub(super) weight: f64,
    pub(super) ptype: String,
    pub(super) options: Vec<FakeOptionValue>,
}

pub(super) fn resolve_line(s: &StoreState, i: usize, item: &Value) -> Result<Line, ApiErr> {
    let it = item
        .as_object()
        .ok_or_else(|| v2_bad(&format!("products[{i}]")))?;
    let qty = match it.get("quantity") {
        None => return Err(v2_missing(&format!("products[{i}].quantity"))),
        Some(v) => v
            .as_i64()
            .filter(|q| *q >= 1)
            .ok_or_else(|| v2_bad(&format!("products[{i}].quantity")))?,
    };
    let price = money_pair(it, "price_ex_tax", "price_inc_tax")?;
    let name_given = ["name", "name_customer", "name_merchant"]
        .iter()
        .map(|k| str_of(it, k))
        .find(|n| !n.is_empty());
    let product_id = match it.get("product_id") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_id")))?,
    };
    if product_id <= 0 {
        // Custom product.
        if it.get("variant_id").is_some_and(|v| !v.is_null()) {
            return Err(v2_bad(&format!("products[{i}].variant_id")));
        }
        let name = name_given.ok_or_else(|| v2_missing(&format!("products[{i}].name")))?;
        let (ex, inc) = price.ok_or_else(|| v2_missing(&format!("products[{i}].price_inc_tax")))?;
        return Ok(Line {
            product_id: 0,
            variant_id: None,
            name,
            sku: str_of(it, "sku"),
            upc: str_of(it, "upc"),
            qty,
            ex,
            inc,
            cost: 0.0,
            weight: 0.0,
            ptype: "physical".into(),
            options: Vec::new(),
        });
    }
    let p = s
        .products
        .get(&product_id)
        .ok_or_else(|| ApiErr::new(400, format!("The field 'products[{i}].product_id' is invalid. Product {product_id} was not found.")))?;
    let variant = if let Some(vid) = it.get("variant_id").filter(|v| !v.is_null()) {
        let vid = vid
            .as_i64()
            .ok_or_else(|| v2_bad(&format!("products[{i}].variant_id")))?;
        p.variants.iter().find(|v| v.id == vid).ok_or_else(|| {
            ApiErr::new(400, format!("The field 'products[{i}].variant_id' is invalid. Variant {vid} does not belong to product {product_id}."))
        })?
    } else if let Some(opts) = it
        .get("product_options")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let mut wanted: Vec<(i64, i64)> = Vec::new();
        for o in opts {
            let oid = o.get("id").and_then(Value::as_i64);
            let val = o.get("value").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
            match (oid, val) {
                (Some(a), Some(b)) => wanted.push((a, b)),
                _ => return Err(v2_bad(&format!("products[{i}].product_options"))),
            }
        }
        p.variants
            .iter()
            .find(|v| {
                v.option_values.len() == wanted.len()
                    && v.option_values
                        .iter()
                        .all(|ov| wanted.contains(&(ov.option_id, ov.id)))
            })
            .ok_or_else(|| v2_bad(&format!("products[{i}].product_options")))?
    } else if p.variants.len() == 1 && p.variants[0].option_values.is_empty() {
        &p.variants[0]
    } else {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'products[{i}].product_options' is required: product {product_id} has options."
            ),
        ));
    };
    let unit = {
        let base = variant.price.unwrap_or(p.price);
        let sale = variant.sale_price.unwrap_or(p.sale_price);
        if sale > 0.0 && sale < base {
            sale
        } else {
            base
        }
    };
    let (ex, inc) = price.unwrap_or((unit, unit));
    Ok(Line {
        product_id,
        variant_id: Some(variant.id),
        name: name_given.unwrap_or_else(|| p.name.clone()),
        sku: variant.sku.clone(),
        upc: if variant.upc.is_empty() {
            p.upc.clone()
        } else {
            variant.upc.clone()
        },
        qty,
        ex,
        inc,
        cost: variant.cost_price.unwrap_or(p.cost_price),
        weight: variant.weight.unwrap_or(p.weight),
        ptype: p.product_type.clone(),
        options: variant.option_values.clone(),
    })
}

pub(super) fn create_order(
    s: &mut StoreState,
    body: &Value,
    base: &str,
    hash: &str,
    source: &str,
) -> Result<i64, ApiErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "The request body must be a JSON object."))?;
    let billing = match obj.get("billing_address") {
        Some(Value::Object(b)) => b,
        None | Some(Value::Null) => return Err(v2_missing("billing_address")),
        Some(_) => return Err(v2_bad("billing_address")),
    };
    check_address(billing, "billing_address")?;
    if obj.get("consignments").is_some() {
        return Err(ApiErr::new(
            400,
            "Orders with 'consignments' are not supported by the fake.",
        ));
    }
    let items = match obj.get("products") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None | Some(Value::Null) => return Err(v2_missing("products")),
        Some(_) => return Err(v2_bad("products")),
    };
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, it)| resolve_line(s, i, it))
        .collect::<Result<_, _>>()?;
    let customer_id = match obj.get("customer_id") {
        None | Some(Value::Null) => 0,
        Some(v) => num_of(v)
            .map(|x| x as i64)
            .ok_or_else(|| v2_bad("customer_id"))?,
    };
    if customer_id != 0 && !s.customers.contains_key(&customer_id) {
        return Err(ApiErr::new(
            400,
            format!("The field 'customer_id' is invalid. Customer {customer_id} does not exist."),
        ));
    }
    let status_id = match obj.get("status_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_i64()
            .filter(|x| status_name(*x).is_some())
            .ok_or_else(|| v2_bad("status_id"))?,
    };
    let channel_id = match obj.get("channel_id") {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_i64().ok_or_else(|| v2_bad("channel_id"))?,
    };
    if !s
        .channels
        .get(&channel_id)
        .is_some_and(FakeChannel::is_enabled)
    {
        return Err(ApiErr::new(
            400,
            format!(
                "The field 'channel_id' is invalid. Channel {channel_id} does not exist or is not enabled."
            ),
        ));
    }
    let date_created = match obj.get("date_created") {
        None | Some(Value::Null) => now_secs(),
        Some(Value::String(d)) => parse_v2_date(d).ok_or_else(|| v2_bad("date_created"))?,
        Some(_) => return Err(v2_bad("date_created")),
    };
    let ship =
        money_pair(obj, "shipping_cost_ex_tax", "shipping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let handling =
        money_pair(obj, "handling_cost_ex_tax", "handling_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let wrapping =
        money_pair(obj, "wrapping_cost_ex_tax", "wrapping_cost_inc_tax")?.unwrap_or((0.0, 0.0));
    let discount = match obj.get("discount_amount") {
        None | Some(Value::Null) => 0.0,
        Some(v) => num_of(v)
            .filter(|x| *x >= 0.0)
            .ok_or_else(|| v2_bad("discount_amount"))?,
    };
    let subtotal = money_pair(obj, "subtotal_ex_tax", "subtotal_inc_tax")?.unwrap_or_else(|| {
        (
            lines.iter().map(|l| l.ex * l.qty as f64).sum(),
            lines.iter().map(|l| l.inc * l.qty as f64).sum(),
        )
    });
    let total = money_pair(obj, "total_ex_tax", "total_inc_tax")?.unwrap_or((
        (subtotal.0 + ship.0 + handling.0 + wrapping.0 - discount).max(0.0),
        (subtotal.1 + ship.1 + handling.1 + wrapping.1 - discount).max(0.0),
    ));
    let ship_addrs_in: Vec<Map<String, Value>> = match obj.get("shipping_addresses") {
        None | Some(Value::Null) => vec![billing.clone()],
        Some(Value::Array(a)) if a.is_empty() => vec![billing.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let m = x
                    .as_object()
                    .cloned()
                    .ok_or_else(|| v2_bad(&format!("shipping_addresses[{i}]")))?;
                check_address(&m, &format!("shipping_addresses[{i}]"))?;
                Ok(m)
            })
            .collect::<Result<_, ApiErr>>()?,
        Some(_) => return Err(v2_bad("shipping_addresses")),
    };

    // All checks passed: commit.
    let id = s.next_order_id;
    s.next_order_id += 1;
    let items_total: i64 = lines.iter().map(|l| l.qty).sum();
    let res = |kind: &str, path: &str| json!({ "url": format!("{base}/stores/{hash}/v2/orders/{id}/{path}"), "resource": format!("/orders/{id}/{kind}") });
    let n_addr = ship_addrs_in.len() as f64;
    let mut addresses = Vec::new();
    for (i, a) in ship_addrs_in.iter().enumerate() {
        let aid = s.next_order_address_id;
        s.next_order_address_id += 1;
        let mut m = Map::new();
        m.insert("id".into(), json!(aid));
        m.insert("order_id".into(), json!(id));
        for (k, v) in address_fields(a) {
            m.insert(k, v);
        }
        m.insert(
            "items_total".into(),
            json!(if i == 0 { items_total } else { 0 }),
        );
        m.insert("items_shipped".into(), json!(0));
        let method = str_of(a, "shipping_method");
        m.insert(
            "shipping_method".into(),
            json!(if method.is_empty() {
                "None".to_string()
            } else {
                method
            }),
        );
        let (ex, inc) = (ship.0 / n_addr, ship.1 / n_addr);
        m.insert("base_cost".into(), json!(money(inc)));
        m.insert("cost_ex_tax".into(), json!(money(ex)));
        m.insert("cost_inc_tax".into(), json!(money(inc)));
        m.insert("cost_tax".into(), json!(money(inc - ex)));
        m.insert("cost_tax_class_id".into(), json!(0));
        m.insert("base_handling_cost".into(), json!(money(0.0)));
        m.insert("handling_cost_ex_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_inc_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax".into(), json!(money(0.0)));
        m.insert("handling_cost_tax_class_id".into(), json!(0));
        m.insert("shipping_zone_id".into(), json!(1));
        m.insert("shipping_zone_name".into(), json!("United States"));
        m.insert(
            "shipping_quotes".into(),
            json!({
                "url": format!("{base}/stores/{hash}/v2/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
                "resource": format!("/orders/{id}/shippingaddresses/{aid}/shippingquotes"),
            }),
        );
        m.insert("form_fields".into(), json!([]));
        addresses.push(m);
    }
    let first_address_id = addresses
        .first()
        .and_then(|a| a.get("id"))
        .cloned()
        .unwrap_or(json!(0));
    let mut products = Vec::new();
    for l in &lines {
        let opid = s.next_order_product_id;
        s.next_order_product_id += 1;
        let options: Vec<Value> = l
            .options
            .iter()
            .map(|ov| {
                let oid = s.next_order_option_id;
                s.next_order_option_id += 1;
                json!({
                    "id": oid,
                    "option_id": ov.option_id,
                    "order_product_id": opid,
                    "product_option_id": ov.option_id,
                    "display_name": ov.option_display_name,
                    "display_name_customer": ov.option_display_name,
                    "display_name_merchant": ov.option_display_name,
                    "display_value": ov.label,
                    "display_value_customer": ov.label,
                    "display_value_merchant": ov.label,
                    "value": ov.id.to_string(),
                    "type": "Multiple choice",
                    "name": ov.option_display_name,
                    "display_style": "Rectangle",
                })
            })
            .collect();
        let q = l.qty as f64;
        let m = object([
            ("id", json!(opid)),
            ("order_id", json!(id)),
            ("product_id", json!(l.product_id)),
            ("variant_id", json!(l.variant_id)),
            ("order_pickup_method_id", json!(0)),
            ("order_address_id", json!(first_address_id)),
            ("name", json!(l.name)),
            ("name_customer", json!(l.name)),
            ("name_merchant", json!(l.name)),
            ("sku", json!(l.sku)),
            ("upc", json!(l.upc)),
            ("type", json!(l.ptype)),
            ("base_price", json!(money(l.ex))),
            ("price_ex_tax", json!(money(l.ex))),
            ("price_inc_tax", json!(money(l.inc))),
            ("price_tax", json!(money(l.inc - l.ex))),
            ("base_total", json!(money(l.ex * q))),
            ("total_ex_tax", json!(money(l.ex * q))),
            ("total_inc_tax", json!(money(l.inc * q))),
            ("total_tax", json!(money((l.inc - l.ex) * q))),
            ("weight", json!(money(l.weight))),
            ("width", json!(money(0.0))),
            ("height", json!(money(0.0))),
            ("depth", json!(money(0.0))),
            ("quantity", json!(l.qty)),
            ("base_cost_price", json!(money(l.cost))),
            ("cost_price_inc_tax", json!(money(l.cost))),
            ("cost_price_ex_tax", json!(money(l.cost))),
            ("cost_price_tax", json!(money(0.0))),
            ("is_refunded", json!(false)),
            ("quantity_refunded", json!(0)),
            ("refund_amount", json!(money(0.0))),
            ("return_id", json!(0)),
            ("wrapping_id", json!(0)),
            ("wrapping_name", json!("")),
            ("base_wrapping_cost", json!(money(0.0))),
            ("wrapping_cost_ex_tax", json!(money(0.0))),
            ("wrapping_cost_inc_tax", json!(money(0.0))),
            ("wrapping_cost_tax", json!(money(0.0))),
            ("wrapping_message", json!("")),
            ("quantity_shipped", json!(0)),
            ("event_name", json!(Value::Null)),
            ("event_date", json!(Value::Null)),
            ("fixed_shipping_cost", json!(money(0.0))),
            ("ebay_item_id", json!("")),
            ("ebay_transaction_id", json!("")),
            ("option_set_id", json!(Value::Null)),
            ("parent_order_product_id", json!(Value::Null)),
            ("is_bundled_product", json!(false)),
            ("bin_picking_number", json!("")),
            ("external_id", json!(Value::Null)),
            ("brand", json!("")),
            ("applied_discounts", json!([])),
            ("product_options", json!(options)),
            ("configurable_fields", json!([])),
            ("gift_certificate_id", json!(Value::Null)),
            ("discounted_total_inc_tax", json!(money(l.inc * q))),
        ]);
        if let Value::Object(m) = m {
            products.push(m);
        }
    }
    // Stock is decremented like the default "on order placement" setting; the
    // product's date_modified is NOT bumped by this (as on BigCommerce).
    for l in &lines {
        if let Some(p) = s.products.get_mut(&l.product_id) {
            p.total_sold += l.qty;
            match p.inventory_tracking.as_str() {
                "product" => {
                    p.inventory_level = (p.inventory_level - l.qty).max(0);
                    if let [only] = p.variants.as_mut_slice() {
                        only.inventory_level = p.inventory_level;
                    }
                }
                "variant" => {
                    if let Some(v) = p.variants.iter_mut().find(|v| Some(v.id) == l.variant_id) {
                        v.inventory_level = (v.inventory_level - l.qty).max(0);
                    }
                }
                _ => {}
            }
        }
    }
    let mut billing_out = address_fields(billing);
    billing_out.insert("form_fields".into(), json!([]));
    let now = now_secs();
    let opt_str = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => json!(s),
        _ => Value::Null,
    };
    let text = |k: &str| str_of(obj, k);
    let currency = {
        let c = text("default_currency_code");
        if c.is_empty() {
            s.info.currency.clone()
        } else {
            c
        }
    };
    let locale = {
        let l = text("customer_locale");
        if l.is_empty() { "en".to_string() } else { l }
    };
    let order = object([
        ("id", json!(id)),
        ("customer_id", json!(customer_id)),
        ("date_created", json!(rfc2822(&date_created))),
        ("date_modified", json!(rfc2822(&now))),
        ("date_shipped", json!("")),
        ("status_id", json!(status_id)),
        ("status", json!(status_name(status_id).unwrap_or(""))),
        ("subtotal_ex_tax", json!(money(subtotal.0))),
        ("subtotal_inc_tax", json!(money(subtotal.1))),
        ("subtotal_tax", json!(money(subtotal.1 - subtotal.0))),
        ("base_shipping_cost", json!(money(ship.1))),
        ("shipping_cost_ex_tax", json!(money(ship.0))),
        ("shipping_cost_inc_tax", json!(money(ship.1))),
        ("shipping_cost_tax", json!(money(ship.1 - ship.0))),
        ("shipping_cost_tax_class_id", json!(0)),
        ("base_handling_cost", json!(money(handling.1))),
        ("handling_cost_ex_tax", json!(money(handling.0))),
        ("handling_cost_inc_tax", json!(money(handling.1))),
        ("handling_cost_tax", json!(money(handling.1 - handling.0))),
        ("handling_cost_tax_class_id", json!(0)),
        ("base_wrapping_cost", json!(money(wrapping.1))),
        ("wrapping_cost_ex_tax", json!(money(wrapping.0))),
        ("wrapping_cost_inc_tax", json!(money(wrapping.1))),
        ("wrapping_cost_tax", json!(money(wrapping.1 - wrapping.0))),
        ("wrapping_cost_tax_class_id", json!(0)),
        ("total_ex_tax", json!(money(total.0))),
        ("total_inc_tax", json!(money(total.1))),
        ("total_tax", json!(money(total.1 - total.0))),
        ("is_tax_inclusive_pricing", json!(false)),
        ("items_total", json!(items_total)),
        ("items_shipped", json!(0)),
        ("payment_method", json!(text("payment_method"))),
        ("payment_provider_id", json!("")),
        ("payment_status", json!("")),
        ("refunded_amount", json!(money(0.0))),
        (
            "order_is_digital",
            json!(lines.iter().all(|l| l.ptype == "digital")),
        ),
        ("store_credit_amount", json!(money(0.0))),
        ("gift_certificate_amount", json!(money(0.0))),
        ("ip_address", json!(text("ip_address"))),
        ("ip_address_v6", json!("")),
        ("geoip_country", json!("")),
        ("geoip_country_iso2", json!("")),
        ("currency_id", json!(1)),
        ("currency_code", json!(currency)),
        ("currency_exchange_rate", json!("1.0000000000")),
        ("default_currency_id", json!(1)),
        ("default_currency_code", json!(currency)),
        ("staff_notes", json!(text("staff_notes"))),
        ("customer_message", json!(text("customer_message"))),
        ("discount_amount", json!(money(discount))),
        ("coupon_discount", json!(money(0.0))),
        ("shipping_address_count", json!(addresses.len())),
        ("is_deleted", json!(false)),
        ("ebay_order_id", json!("0")),
        ("cart_id", json!("")),
        ("billing_address", json!(billing_out)),
        ("is_email_opt_in", json!(false)),
        ("credit_card_type", json!(Value::Null)),
        ("order_source", json!(source)),
        ("channel_id", json!(channel_id)),
        ("external_source", json!(opt_str("external_source"))),
        ("products", json!(res("products", "products"))),
        (
            "shipping_addresses",
            json!(res("shippingaddresses", "shippingaddresses")),
        ),
        ("coupons", json!(res("coupons", "coupons"))),
        ("external_id", json!(Value::Null)),
        (
            "external_merchant_id",
            json!(opt_str("external_merchant_id")),
        ),
        ("tax_provider_id", json!("")),
        ("store_default_currency_code", json!(s.info.currency)),
        (
            "store_default_to_transactional_exchange_rate",
            json!("1.0000000000"),
        ),
        ("custom_status", json!(status_name(status_id).unwrap_or(""))),
        ("customer_locale", json!(locale)),
        ("external_order_id", json!(opt_str("external_order_id"))),
        ("fees", json!([])),
    ]);
    let Value::Object(json) = order else {
        return Err(ApiErr::new(500, "internal error"));
    };
    s.orders.insert(
        id,
        OrderRec {
            id,
            json,
            date_created,
            date_modified: now,
            products,
            addresses,
            shipments: Vec::new(),
        },
    );
    Ok(id)
}
