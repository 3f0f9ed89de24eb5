//! JSON rendering of products, variants, customers, channels and the store, as the
//! OpenAPI files describe them.

use super::models::{FakeChannel, FakeCustomer, FakeProduct, FakeStore, FakeVariant};
use super::values::{iso_offset, iso_z, obj};
use serde_json::{Value, json};

pub(super) fn opt_num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

pub fn variant_json(p: &FakeProduct, v: &FakeVariant) -> Value {
    let base_price = v.price.unwrap_or(p.price);
    let sale = v.sale_price.unwrap_or(p.sale_price);
    let calculated = if sale > 0.0 && sale < base_price {
        sale
    } else {
        base_price
    };
    let weight = v.weight.unwrap_or(p.weight);
    let options: Vec<Value> = v
        .option_values
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "label": o.label,
                "option_id": o.option_id,
                "option_display_name": o.option_display_name,
            })
        })
        .collect();
    json!({
        "id": v.id,
        "product_id": p.id,
        "sku": v.sku,
        "sku_id": v.sku_id,
        "price": opt_num(v.price),
        "calculated_price": calculated,
        "sale_price": opt_num(v.sale_price),
        "retail_price": opt_num(v.retail_price),
        "map_price": Value::Null,
        "weight": opt_num(v.weight),
        "calculated_weight": weight,
        "width": Value::Null,
        "height": Value::Null,
        "depth": Value::Null,
        "is_free_shipping": false,
        "fixed_cost_shipping_price": Value::Null,
        "purchasing_disabled": v.purchasing_disabled,
        "purchasing_disabled_message": "",
        "image_url": "",
        "cost_price": opt_num(v.cost_price),
        "upc": v.upc,
        "mpn": v.mpn,
        "gtin": v.gtin,
        "inventory_level": v.inventory_level,
        "inventory_warning_level": v.inventory_warning_level,
        "bin_picking_number": "",
        "option_values": options,
    })
}

/// Sub-resources requested with `include=`.
#[derive(Debug, Clone, Default)]
pub struct Includes {
    pub variants: bool,
    pub images: bool,
    pub primary_image: bool,
    pub custom_fields: bool,
    pub bulk_pricing_rules: bool,
    pub options: bool,
    pub modifiers: bool,
    pub videos: bool,
    pub channels: bool,
}

impl Includes {
    pub fn parse(list: &[String]) -> Includes {
        let has = |s: &str| list.iter().any(|x| x == s);
        Includes {
            variants: has("variants"),
            images: has("images"),
            primary_image: has("primary_image"),
            custom_fields: has("custom_fields"),
            bulk_pricing_rules: has("bulk_pricing_rules"),
            options: has("options"),
            modifiers: has("modifiers"),
            videos: has("videos"),
            channels: has("channels"),
        }
    }
}

pub fn product_json(p: &FakeProduct, inc: &Includes) -> Value {
    let mut v = obj([
        ("id", json!(p.id)),
        ("name", json!(p.name)),
        ("type", json!(p.product_type)),
        ("sku", json!(p.sku)),
        ("description", json!(p.description)),
        ("weight", json!(p.weight)),
        ("width", json!(0)),
        ("depth", json!(0)),
        ("height", json!(0)),
        ("price", json!(p.price)),
        ("cost_price", json!(p.cost_price)),
        ("retail_price", json!(p.retail_price)),
        ("sale_price", json!(p.sale_price)),
        ("map_price", json!(0)),
        ("tax_class_id", json!(0)),
        ("product_tax_code", json!("")),
        ("calculated_price", json!(p.calculated_price())),
        ("categories", json!(p.categories)),
        ("brand_id", json!(p.brand_id)),
        ("option_set_id", json!(Value::Null)),
        ("option_set_display", json!("right")),
        ("inventory_level", json!(p.effective_inventory())),
        ("inventory_warning_level", json!(p.inventory_warning_level)),
        ("inventory_tracking", json!(p.inventory_tracking)),
        ("reviews_rating_sum", json!(0)),
        ("reviews_count", json!(0)),
        ("total_sold", json!(p.total_sold)),
        ("fixed_cost_shipping_price", json!(0)),
        ("is_free_shipping", json!(false)),
        ("is_visible", json!(p.is_visible)),
        ("is_featured", json!(false)),
        ("related_products", json!([-1])),
        ("warranty", json!("")),
        ("bin_picking_number", json!("")),
        ("layout_file", json!("product.html")),
        ("upc", json!(p.upc)),
        ("mpn", json!(p.mpn)),
        ("gtin", json!(p.gtin)),
        ("date_last_imported", json!(Value::Null)),
        ("search_keywords", json!("")),
        ("availability", json!(p.availability)),
        ("availability_description", json!("")),
        ("gift_wrapping_options_type", json!("any")),
        ("gift_wrapping_options_list", json!([])),
        ("sort_order", json!(0)),
        ("condition", json!("New")),
        ("is_condition_shown", json!(false)),
        ("order_quantity_minimum", json!(0)),
        ("order_quantity_maximum", json!(0)),
        ("page_title", json!("")),
        ("meta_keywords", json!([])),
        ("meta_description", json!("")),
        ("date_created", json!(iso_offset(&p.date_created))),
        ("date_modified", json!(iso_offset(&p.date_modified))),
        ("view_count", json!(0)),
        ("preorder_release_date", json!(Value::Null)),
        ("preorder_message", json!("")),
        ("is_preorder_only", json!(false)),
        ("is_price_hidden", json!(false)),
        ("price_hidden_label", json!("")),
        (
            "custom_url",
            json!({ "url": p.custom_url, "is_customized": false }),
        ),
        ("base_variant_id", json!(p.base_variant_id())),
        ("open_graph_type", json!("product")),
        ("open_graph_title", json!("")),
        ("open_graph_description", json!("")),
        ("open_graph_use_meta_description", json!(true)),
        ("open_graph_use_product_name", json!(true)),
        ("open_graph_use_image", json!(true)),
    ]);
    if let Some(m) = v.as_object_mut() {
        if inc.variants {
            let vs: Vec<Value> = p.variants.iter().map(|x| variant_json(p, x)).collect();
            m.insert("variants".into(), Value::Array(vs));
        }
        for (on, key) in [
            (inc.images, "images"),
            (inc.custom_fields, "custom_fields"),
            (inc.bulk_pricing_rules, "bulk_pricing_rules"),
            (inc.options, "options"),
            (inc.modifiers, "modifiers"),
            (inc.videos, "videos"),
        ] {
            if on {
                m.insert(key.into(), Value::Array(Vec::new()));
            }
        }
        if inc.primary_image {
            m.insert("primary_image".into(), Value::Null);
        }
        if inc.channels {
            m.insert("channels".into(), json!([1]));
        }
    }
    v
}

/// Applies `include_fields` / `exclude_fields` (`id` is always kept; sub-resources asked
/// for with `include=` are kept too).
pub fn trim_fields(v: &mut Value, include: Option<&[String]>, exclude: Option<&[String]>) {
    const SUBRESOURCES: [&str; 9] = [
        "variants",
        "images",
        "primary_image",
        "custom_fields",
        "bulk_pricing_rules",
        "options",
        "modifiers",
        "videos",
        "channels",
    ];
    let Some(m) = v.as_object_mut() else { return };
    if let Some(inc) = include {
        m.retain(|k, _| {
            k == "id" || SUBRESOURCES.contains(&k.as_str()) || inc.iter().any(|f| f == k)
        });
    }
    if let Some(exc) = exclude {
        m.retain(|k, _| k == "id" || !exc.iter().any(|f| f == k));
    }
}

pub fn customer_json(
    c: &FakeCustomer,
    include_addresses: bool,
    include_storecredit: bool,
) -> Value {
    let mut v = json!({
        "id": c.id,
        "authentication": { "force_password_reset": c.force_password_reset },
        "company": c.company,
        "customer_group_id": c.customer_group_id,
        "email": c.email,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "notes": c.notes,
        "phone": c.phone,
        "registration_ip_address": c.registration_ip_address,
        "tax_exempt_category": c.tax_exempt_category,
        "date_created": iso_z(&c.date_created),
        "date_modified": iso_z(&c.date_modified),
        "accepts_product_review_abandoned_cart_emails": c.accepts_product_review_abandoned_cart_emails,
        "origin_channel_id": c.origin_channel_id,
        "channel_ids": c.channel_ids,
        "address_count": c.addresses.len(),
        "attribute_count": 0,
    });
    if let Some(m) = v.as_object_mut() {
        if include_addresses {
            m.insert("addresses".into(), Value::Array(c.addresses.clone()));
        }
        if include_storecredit {
            m.insert(
                "store_credit_amounts".into(),
                json!([{ "amount": c.store_credit }]),
            );
        }
    }
    v
}

pub fn channel_json(c: &FakeChannel) -> Value {
    json!({
        "id": c.id,
        "icon_url": c.icon_url,
        "is_listable_from_ui": c.is_listable_from_ui,
        "is_visible": c.is_visible,
        "is_enabled": c.is_enabled(),
        "date_created": iso_z(&c.date_created),
        "external_id": c.external_id,
        "type": c.channel_type,
        "platform": c.platform,
        "date_modified": iso_z(&c.date_modified),
        "name": c.name,
        "status": c.status,
    })
}

pub fn store_json(s: &FakeStore) -> Value {
    let timezone = json!({
        "name": s.timezone,
        "raw_offset": s.timezone_raw_offset,
        "dst_offset": s.timezone_raw_offset + 3600,
        "dst_correction": true,
        "date_format": {
            "display": "M jS Y",
            "export": "M jS Y",
            "extended_display": "M jS Y @ g:i A",
        },
    });
    let features = json!({
        "stencil_enabled": true,
        "sitewidehttps_enabled": true,
        "facebook_catalog_id": "",
        "checkout_type": "optimized",
        "wishlists_enabled": true,
        "graphql_storefront_api_enabled": true,
        "shopper_consent_tracking_enabled": true,
        "multi_storefront_enabled": false,
        "storefront_limits": { "active": 1, "total_including_inactive": 1 },
    });
    obj([
        ("id", json!(s.hash)),
        ("account_uuid", json!(s.account_uuid)),
        ("domain", json!(s.domain)),
        ("secure_url", json!(format!("https://{}", s.domain))),
        (
            "control_panel_base_url",
            json!(format!("https://store-{}.mybigcommerce.com", s.hash)),
        ),
        ("status", json!(s.status)),
        ("name", json!(s.name)),
        ("first_name", json!("Jane")),
        ("last_name", json!("Doe")),
        ("address", json!(s.name)),
        ("country", json!(s.country)),
        ("country_code", json!(s.country_code)),
        ("infrastructure_region", json!("us-central1")),
        ("phone", json!("555-123-4567")),
        ("admin_email", json!(s.admin_email)),
        ("order_email", json!(format!("orders@{}", s.domain))),
        (
            "favicon_url",
            json!("https://cdn11.bigcommerce.com/r-fake/img/bc_favicon.ico"),
        ),
        ("timezone", timezone),
        ("language", json!(s.language)),
        ("currency", json!(s.currency)),
        ("currency_symbol", json!(s.currency_symbol)),
        ("decimal_separator", json!(".")),
        ("thousands_separator", json!(",")),
        ("decimal_places", json!(2)),
        ("currency_symbol_location", json!("left")),
        ("weight_units", json!("Ounces")),
        ("dimension_units", json!("Inches")),
        ("dimension_decimal_places", json!(2)),
        ("dimension_decimal_token", json!(".")),
        ("dimension_thousands_token", json!(",")),
        ("plan_name", json!(s.plan_name)),
        ("plan_level", json!(s.plan_level)),
        ("plan_is_trial", json!(false)),
        ("industry", json!("Technology")),
        ("logo", json!([])),
        ("is_price_entered_with_tax", json!(false)),
        ("store_id", json!(s.store_id)),
        ("default_channel_id", json!(s.default_channel_id)),
        ("default_site_id", json!(1000)),
        ("active_comparison_modules", json!([])),
        ("features", features),
    ])
}
