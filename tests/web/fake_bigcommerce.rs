//! The fake BigCommerce itself, checked against the spec: auth and scopes, pagination,
//! filters, rate limits, faults, orders, shipments, customers and hooks.

use crate::helpers::fake_bigcommerce::{
    FakeBigCommerce, FakeChannel, FakeCustomer, FakeProduct, FakeStore, FakeVariant, Fault,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const STORE: &str = "abc123";
const TOKEN: &str = "tok-all";
const ALL_SCOPES: &[&str] = &[
    "store_v2_products",
    "store_v2_orders",
    "store_v2_customers",
    "store_v2_information_read_only",
    "store_channel_settings_read_only",
];

async fn setup() -> (FakeBigCommerce, reqwest::Client) {
    let bc = FakeBigCommerce::start().await;
    bc.add_store(FakeStore::new(STORE).name("Acme Goods"));
    bc.add_token(STORE, TOKEN, ALL_SCOPES);
    (bc, reqwest::Client::new())
}

fn url(bc: &FakeBigCommerce, rest: &str) -> String {
    format!("{}/stores/{STORE}{rest}", bc.api_url())
}

async fn get(c: &reqwest::Client, u: &str, token: &str) -> reqwest::Response {
    c.get(u)
        .header("X-Auth-Token", token)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("send")
}

async fn get_json(c: &reqwest::Client, u: &str) -> (u16, Value) {
    let r = get(c, u, TOKEN).await;
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    };
    (status, v)
}

async fn send_json(
    c: &reqwest::Client,
    method: reqwest::Method,
    u: &str,
    body: &Value,
) -> (u16, Value) {
    let r = c
        .request(method, u)
        .header("X-Auth-Token", TOKEN)
        .json(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    };
    (status, v)
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn is_money(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let (a, b) = s.split_once('.').unwrap_or(("", ""));
        !a.is_empty() && b.len() == 4 && s.parse::<f64>().is_ok()
    })
}

fn is_rfc2822(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc2822(s).is_ok() && s.ends_with("+0000"))
}

#[tokio::test]
async fn auth_errors_have_the_right_shapes() {
    let (bc, c) = setup().await;
    bc.add_store(FakeStore::new("other9"));
    bc.add_token("other9", "tok-other", ALL_SCOPES);
    bc.add_token(STORE, "tok-orders-only", &["store_v2_orders_read_only"]);
    bc.add_token(STORE, "tok-products-modify", &["store_v2_products"]);

    // No token: 401, v3 shape on v3, v2 shape on v2.
    let r = c
        .get(url(&bc, "/v3/catalog/products"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(header(&r, "x-rate-limit-requests-quota"), "150");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], 401);
    assert!(v["title"].is_string() && v["type"].is_string());
    let r = c.get(url(&bc, "/v2/orders")).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v[0]["status"], 401);
    assert!(v[0]["message"].is_string());

    // Unknown token, and a token of another store: 401.
    assert_eq!(
        get(&c, &url(&bc, "/v2/store"), "nope")
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        get(&c, &url(&bc, "/v2/store"), "tok-other")
            .await
            .status()
            .as_u16(),
        401
    );
    // Header name is case-insensitive.
    let r = c
        .get(url(&bc, "/v2/time"))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);

    // Missing scope: 403 with BigCommerce's wording.
    let r = get(&c, &url(&bc, "/v3/catalog/products"), "tok-orders-only").await;
    assert_eq!(r.status().as_u16(), 403);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["title"],
        "You don't have a required scope to access the endpoint"
    );
    let r = get(&c, &url(&bc, "/v2/store"), "tok-orders-only").await;
    assert_eq!(r.status().as_u16(), 403);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v[0]["message"],
        "You don't have a required scope to access the endpoint"
    );
    // Read-only scope does not allow writes; modify scope grants read.
    let r = c
        .post(url(&bc, "/v2/orders"))
        .header("X-Auth-Token", "tok-orders-only")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        get(&c, &url(&bc, "/v2/orders"), "tok-orders-only")
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        get(&c, &url(&bc, "/v3/catalog/products"), "tok-products-modify")
            .await
            .status()
            .as_u16(),
        200
    );
    // Hooks need no scope.
    assert_eq!(
        get(&c, &url(&bc, "/v3/hooks"), "tok-orders-only")
            .await
            .status()
            .as_u16(),
        200
    );

    // Unknown store: 404 in both shapes.
    let r = get(
        &c,
        &format!("{}/stores/zzz999/v3/catalog/products", bc.api_url()),
        TOKEN,
    )
    .await;
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], 404);
    let r = get(
        &c,
        &format!("{}/stores/zzz999/v2/orders", bc.api_url()),
        TOKEN,
    )
    .await;
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v[0]["status"], 404);

    // Everything was recorded, with its status.
    let reqs = bc.requests();
    assert!(reqs.len() >= 13);
    assert_eq!(reqs[0].status, 401);
    assert_eq!(reqs[0].path, "/stores/abc123/v3/catalog/products");
    assert!(
        reqs.iter()
            .any(|r| r.header("x-auth-token") == Some("tok-orders-only") && r.status == 403)
    );
    bc.clear_requests();
    assert!(bc.requests().is_empty());
    bc.stop().await;
}

#[tokio::test]
async fn store_time_and_channels() {
    let (bc, c) = setup().await;
    let (s, v) = get_json(&c, &url(&bc, "/v2/store")).await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], STORE);
    assert!(v["store_id"].is_i64());
    assert_eq!(v["name"], "Acme Goods");
    assert_eq!(
        v["control_panel_base_url"],
        "https://store-abc123.mybigcommerce.com"
    );
    assert_eq!(v["default_channel_id"], 1);
    assert_eq!(v["currency"], "USD");
    assert!(v["timezone"]["name"].is_string());
    assert!(v["account_uuid"].as_str().is_some_and(|u| u.len() == 36));
    let (s, v) = get_json(&c, &url(&bc, "/v2/time")).await;
    assert_eq!(s, 200);
    assert!(v["time"].as_i64().is_some_and(|t| t > 1_700_000_000));

    bc.add_channel(
        STORE,
        FakeChannel::new("Amazon", "marketplace", "amazon").status("connected"),
    );
    let (s, v) = get_json(&c, &url(&bc, "/v3/channels")).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["data"][0]["id"], 1);
    assert_eq!(v["data"][0]["type"], "storefront");
    assert_eq!(v["meta"]["pagination"]["total"], 2);
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?type:in=marketplace")).await;
    assert_eq!(v["data"][0]["platform"], "amazon");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let (_, v) = get_json(&c, &url(&bc, "/v2/order_statuses")).await;
    assert_eq!(v.as_array().map(Vec::len), Some(15));
    assert_eq!(v[11]["name"], "Awaiting Fulfillment");
    bc.stop().await;
}

#[tokio::test]
async fn channels_are_listed_field_for_field_with_include_filters_and_pages() {
    let (bc, c) = setup().await;
    let amazon = bc.add_channel(
        STORE,
        FakeChannel::new("Amazon", "marketplace", "amazon").status("connected"),
    );
    let archived = bc.add_channel(
        STORE,
        FakeChannel::new("Old shop", "storefront", "custom").status("archived"),
    );
    let (s, v) = get_json(&c, &url(&bc, "/v3/channels")).await;
    assert_eq!(s, 200);
    let mut keys: Vec<&str> = v["data"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "date_created",
            "date_modified",
            "external_id",
            "icon_url",
            "id",
            "is_enabled",
            "is_listable_from_ui",
            "is_visible",
            "name",
            "platform",
            "status",
            "type"
        ],
        "ChannelWithoutCurrencies"
    );
    let first = &v["data"][0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["name"], "Acme Goods");
    assert_eq!(first["platform"], "bigcommerce");
    assert!(
        first["date_created"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );
    assert_eq!(v["data"][1]["is_enabled"], true, "connected is enabled");
    assert_eq!(v["data"][2]["is_enabled"], false, "archived is not");
    let mut meta: Vec<&str> = v["meta"]["pagination"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    meta.sort_unstable();
    assert_eq!(
        meta,
        [
            "count",
            "current_page",
            "links",
            "per_page",
            "total",
            "total_pages"
        ]
    );

    // include=currencies adds each channel's currencies.
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?include=currencies")).await;
    assert_eq!(
        v["data"][1]["currencies"],
        json!({"channel_id": amazon, "enabled_currencies": ["USD"], "default_currency": "USD"})
    );
    let (_, v) = get_json(
        &c,
        &url(&bc, &format!("/v3/channels/{amazon}?include=currencies")),
    )
    .await;
    assert_eq!(v["data"]["currencies"]["channel_id"], amazon);

    // available: prelaunch, active, inactive and connected; the rest otherwise.
    let ids = |v: &Value| -> Vec<i64> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?available=true")).await;
    assert_eq!(ids(&v), [1, amazon]);
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?available=false")).await;
    assert_eq!(ids(&v), [archived]);
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?status:in=archived,connected")).await;
    assert_eq!(ids(&v), [amazon, archived]);
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?date_created:min=2000-01-01")).await;
    assert_eq!(ids(&v).len(), 3);
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?date_created:max=2000-01-01")).await;
    assert_eq!(ids(&v).len(), 0);
    for bad in [
        "type:in=shop",
        "status:in=open",
        "include=listings",
        "available=maybe",
        "date_modified:min=yesterday",
    ] {
        let (s, v) = get_json(&c, &url(&bc, &format!("/v3/channels?{bad}"))).await;
        assert_eq!(s, 422, "{bad}");
        assert_eq!(v["status"], 422, "{bad}");
    }

    // Pages.
    let (_, v) = get_json(&c, &url(&bc, "/v3/channels?limit=2&page=2")).await;
    assert_eq!(ids(&v), [archived]);
    let p = &v["meta"]["pagination"];
    assert_eq!(
        (p["total"].as_i64(), p["count"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        (p["current_page"].as_i64(), p["total_pages"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(p["links"]["previous"], "?page=1&limit=2");
    assert!(p["links"].get("next").is_none());
    bc.stop().await;
}

#[tokio::test]
async fn product_pagination_meta_and_links() {
    let (bc, c) = setup().await;
    bc.generate_catalog(STORE, 120, 1);
    assert_eq!(bc.product_count(STORE), 120);

    let (s, v) = get_json(&c, &url(&bc, "/v3/catalog/products")).await;
    assert_eq!(s, 200);
    let p = &v["meta"]["pagination"];
    assert_eq!(p["total"], 120);
    assert_eq!(p["count"], 50);
    assert_eq!(p["per_page"], 50);
    assert_eq!(p["current_page"], 1);
    assert_eq!(p["total_pages"], 3);
    assert_eq!(p["links"]["current"], "?page=1&limit=50");
    assert_eq!(p["links"]["next"], "?page=2&limit=50");
    assert!(p["links"].get("previous").is_none());

    // Field types on a product.
    let prod = &v["data"][0];
    assert!(prod["id"].is_i64());
    assert!(prod["price"].is_f64() || prod["price"].is_i64());
    assert_eq!(prod["type"], "physical");
    assert_eq!(prod["inventory_tracking"], "product");
    assert!(prod["base_variant_id"].is_i64());
    assert_eq!(prod["date_modified"], "2024-01-01T00:00:01+00:00");
    assert!(prod["custom_url"]["url"].is_string());
    assert!(prod.get("variants").is_none());

    // Walk with limit=50 following links.next.
    let mut seen = Vec::new();
    let mut next = Some("?page=1&limit=50".to_string());
    let mut pages = 0;
    while let Some(qs) = next {
        let (s, v) = get_json(&c, &format!("{}{qs}", url(&bc, "/v3/catalog/products"))).await;
        assert_eq!(s, 200);
        pages += 1;
        for d in v["data"].as_array().expect("data") {
            seen.push(d["id"].as_i64().expect("id"));
        }
        next = v["meta"]["pagination"]["links"]["next"]
            .as_str()
            .map(str::to_string);
        if pages == 3 {
            assert_eq!(v["meta"]["pagination"]["count"], 20);
            assert_eq!(
                v["meta"]["pagination"]["links"]["previous"],
                "?page=2&limit=50"
            );
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    // Other limits, filters, sort.
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?limit=7&page=2")).await;
    assert_eq!(v["meta"]["pagination"]["total_pages"], 18);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(7));
    let (s, v) = get_json(&c, &url(&bc, "/v3/catalog/products?limit=251")).await;
    assert_eq!(s, 413);
    assert_eq!(v["status"], 413);
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?is_visible=false")).await;
    assert_eq!(v["meta"]["pagination"]["total"], 12);
    let ids = format!("{},{}", seen[3], seen[5]);
    let (_, v) = get_json(&c, &url(&bc, &format!("/v3/catalog/products?id:in={ids}"))).await;
    assert_eq!(v["meta"]["pagination"]["total"], 2);
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?id%3Ain=999999")).await;
    assert_eq!(v["meta"]["pagination"]["total"], 0);
    assert_eq!(v["meta"]["pagination"]["total_pages"], 0);
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?sku=GEN-000042")).await;
    assert_eq!(v["data"][0]["name"], "Generated Product 000042");
    let (_, v) = get_json(
        &c,
        &url(&bc, "/v3/catalog/products?sort=id&direction=desc&limit=1"),
    )
    .await;
    assert_eq!(v["data"][0]["id"].as_i64(), seen.last().copied());
    let (s, _) = get_json(&c, &url(&bc, "/v3/catalog/products?id:in=abc")).await;
    assert_eq!(s, 422);
    let (_, v) = get_json(
        &c,
        &url(&bc, "/v3/catalog/products?include_fields=sku&limit=1"),
    )
    .await;
    let keys: Vec<&String> = v["data"][0].as_object().expect("obj").keys().collect();
    assert_eq!(keys.len(), 2);

    // Single product and 404.
    let (s, v) = get_json(&c, &url(&bc, &format!("/v3/catalog/products/{}", seen[0]))).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["id"].as_i64(), Some(seen[0]));
    assert_eq!(v["meta"], json!({}));
    let (s, v) = get_json(&c, &url(&bc, "/v3/catalog/products/5")).await;
    assert_eq!(s, 404);
    assert_eq!(v["status"], 404);
    bc.stop().await;
}

#[tokio::test]
async fn include_variants_and_variant_endpoints() {
    let (bc, c) = setup().await;
    bc.generate_catalog(STORE, 5, 3);
    let id = bc.add_product(
        STORE,
        FakeProduct::new("Tee", "TEE", 20.0)
            .variant(FakeVariant::new("TEE-S", 4).option("Size", "S"))
            .variant(FakeVariant::new("TEE-M", 6).option("Size", "M").price(22.5)),
    );

    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products")).await;
    assert!(
        v["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|p| p.get("variants").is_none())
    );

    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?include=variants")).await;
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 6);
    for p in &data[..5] {
        assert_eq!(p["inventory_tracking"], "variant");
        assert!(p["base_variant_id"].is_null());
        let vs = p["variants"].as_array().expect("variants");
        assert_eq!(vs.len(), 3);
        let sum: i64 = vs
            .iter()
            .map(|x| x["inventory_level"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(p["inventory_level"].as_i64(), Some(sum));
        for x in vs {
            assert_eq!(x["product_id"], p["id"]);
            assert_eq!(x["option_values"][0]["option_display_name"], "Size");
            assert!(
                x["option_values"][0]["id"].is_i64() && x["option_values"][0]["option_id"].is_i64()
            );
            assert!(x["sku_id"].is_i64());
            assert!(x["calculated_price"].is_number());
            for k in [
                "upc",
                "mpn",
                "gtin",
                "purchasing_disabled",
                "cost_price",
                "sale_price",
                "inventory_warning_level",
            ] {
                assert!(x.get(k).is_some(), "variant field {k}");
            }
        }
    }
    let tee = &data[5];
    assert_eq!(tee["id"].as_i64(), Some(id));
    assert_eq!(tee["inventory_level"], 10);
    assert!(tee["variants"][0]["price"].is_null());
    assert_eq!(tee["variants"][0]["calculated_price"], 20.0);
    assert_eq!(tee["variants"][1]["price"], 22.5);

    // Simple product: one base variant, empty option values, sku_id null.
    let simple = bc.add_product(STORE, FakeProduct::new("Mug", "MUG", 9.5).inventory(12));
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            &format!("/v3/catalog/products/{simple}?include=variants"),
        ),
    )
    .await;
    assert_eq!(v["data"]["variants"][0]["sku"], "MUG");
    assert_eq!(v["data"]["variants"][0]["option_values"], json!([]));
    assert!(v["data"]["variants"][0]["sku_id"].is_null());
    assert_eq!(v["data"]["base_variant_id"], v["data"]["variants"][0]["id"]);

    // Store-wide variants by SKU, and per-product variants.
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/variants?sku=TEE-M")).await;
    assert_eq!(v["data"][0]["product_id"].as_i64(), Some(id));
    assert_eq!(v["meta"]["pagination"]["total"], 1);
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/variants?limit=5")).await;
    assert_eq!(v["meta"]["pagination"]["total"], 18);
    let (_, v) = get_json(
        &c,
        &url(&bc, &format!("/v3/catalog/products/{id}/variants")),
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    let vid = v["data"][1]["id"].as_i64().expect("vid");

    // Updating stock through the catalog bumps date_modified.
    let (s, v) = send_json(
        &c,
        reqwest::Method::PUT,
        &url(&bc, &format!("/v3/catalog/products/{id}/variants/{vid}")),
        &json!({ "inventory_level": 40 }),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["inventory_level"], 40);
    let p = bc.product(STORE, id).expect("product");
    assert_eq!(p.effective_inventory(), 44);
    let (s, v) = send_json(
        &c,
        reqwest::Method::PUT,
        &url(&bc, "/v3/catalog/products"),
        &json!([{ "id": simple, "inventory_level": 3, "price": 11.0 }]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["inventory_level"], 3);
    assert_eq!(v["data"][0]["price"], 11.0);
    // Content-Type is required on writes.
    let r = c
        .put(url(&bc, "/v3/catalog/products"))
        .header("X-Auth-Token", TOKEN)
        .body("[]")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 415);
    bc.stop().await;
}

#[tokio::test]
async fn date_modified_min_filter() {
    let (bc, c) = setup().await;
    bc.generate_catalog(STORE, 30, 1);
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/products?limit=1&sku=GEN-000010")).await;
    let id = v["data"][0]["id"].as_i64().expect("id");
    bc.update_product(STORE, id, |p| p.inventory_level = 77);
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?date_modified:min=2025-01-01T00:00:00Z",
        ),
    )
    .await;
    assert_eq!(v["meta"]["pagination"]["total"], 1);
    assert_eq!(v["data"][0]["id"].as_i64(), Some(id));
    assert_eq!(v["data"][0]["inventory_level"], 77);
    // Generated dates: 2024-01-01T00:00:kk. Inclusive lower bound.
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?date_modified:min=2024-01-01T00:00:25Z",
        ),
    )
    .await;
    assert_eq!(v["meta"]["pagination"]["total"], 7); // #25..=#30, plus #10 whose date_modified is now
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?date_modified:min=2024-01-01T00%3A00%3A25%2B00%3A00",
        ),
    )
    .await;
    assert_eq!(v["meta"]["pagination"]["total"], 7);
    // An unencoded '+' is a space: invalid date, 422.
    let (s, _) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?date_modified:min=2024-01-01T00:00:25+00:00",
        ),
    )
    .await;
    assert_eq!(s, 422);
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?date_modified:max=2024-01-01T00:00:05Z&sort=date_modified",
        ),
    )
    .await;
    assert_eq!(v["meta"]["pagination"]["total"], 5);
    // Deleted products disappear.
    assert!(bc.delete_product(STORE, id));
    let (_, v) = get_json(
        &c,
        &url(&bc, "/v3/catalog/products?date_modified:min=2025-01-01"),
    )
    .await;
    assert_eq!(v["meta"]["pagination"]["total"], 0);
    bc.stop().await;
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let (bc, c) = setup().await;
    let u = url(&bc, "/v2/time");
    let r = get(&c, &u, TOKEN).await;
    assert_eq!(header(&r, "x-rate-limit-requests-quota"), "150");
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "149");
    assert_eq!(header(&r, "x-rate-limit-time-window-ms"), "30000");

    bc.set_rate_limit(STORE, 3, 60_000);
    let mut lefts = Vec::new();
    for _ in 0..3 {
        let r = get(&c, &u, TOKEN).await;
        assert_eq!(r.status().as_u16(), 200);
        lefts.push(header(&r, "x-rate-limit-requests-left"));
        let reset: u64 = header(&r, "x-rate-limit-time-reset-ms")
            .parse()
            .expect("reset");
        assert!(reset <= 60_000 && reset > 50_000);
    }
    assert_eq!(lefts, ["2", "1", "0"]);
    let r = get(&c, &url(&bc, "/v3/catalog/products"), TOKEN).await;
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "0");
    assert_eq!(header(&r, "x-rate-limit-requests-quota"), "3");
    assert_eq!(header(&r, "x-rate-limit-time-window-ms"), "60000");
    assert!(
        header(&r, "x-rate-limit-time-reset-ms")
            .parse::<u64>()
            .is_ok()
    );
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], 429);
    let r = get(&c, &url(&bc, "/v2/orders"), TOKEN).await;
    assert_eq!(r.status().as_u16(), 429);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v[0]["status"], 429);

    // A short window refills.
    bc.set_rate_limit(STORE, 2, 150);
    assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 200);
    assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 200);
    assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 429);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = get(&c, &u, TOKEN).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "1");
    assert_eq!(bc.count_answered(429), 3, "429s are recorded as such");
    bc.stop().await;
}

#[tokio::test]
async fn a_429_beyond_the_quota_says_when_the_window_refills() {
    let (bc, c) = setup().await;
    let u = url(&bc, "/v2/time");
    bc.set_rate_limit(STORE, 2, 1_000);
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 200);
    }

    let r = get(&c, &u, TOKEN).await;

    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "0");
    assert_eq!(header(&r, "x-rate-limit-requests-quota"), "2");
    assert_eq!(header(&r, "x-rate-limit-time-window-ms"), "1000");
    let reset: u64 = header(&r, "x-rate-limit-time-reset-ms")
        .parse()
        .expect("reset");
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap();
    assert!(
        reset > 0 && reset <= 1_000 - elapsed.min(1_000) + 5,
        "the reset counts down to the end of the window: {reset} ms after {elapsed} ms"
    );
    // A refused request does not use the quota: after the reset the whole quota is back.
    tokio::time::sleep(Duration::from_millis(reset + 20)).await;
    let r = get(&c, &u, TOKEN).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "1");
    assert_eq!(bc.count_answered(429), 1);
    bc.stop().await;
}

#[tokio::test]
async fn drop_after_write_performs_the_write_then_cuts_the_announced_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (bc, c) = setup().await;
    bc.inject(Fault::DropAfterWrite {
        path_prefix: "/v2/orders".into(),
        times: 1,
    });
    let order = json!({
        "billing_address": {"first_name": "Jane", "last_name": "Doe", "street_1": "1 Main St",
            "city": "Austin", "state": "Texas", "zip": "78751", "country_iso2": "US",
            "email": "jane@example.com"},
        "products": [{"name": "Custom item", "quantity": 1, "price_inc_tax": 50, "price_ex_tax": 45}],
    })
    .to_string();
    let addr = bc.api_url().trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let request = format!(
        "POST /stores/{STORE}/v2/orders HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{order}",
        order.len()
    );
    socket.write_all(request.as_bytes()).await.expect("write");

    // Read until the fake closes the connection (a reset counts as closed).
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let read_all = async {
        while let Ok(n @ 1..) = socket.read(&mut chunk).await {
            received.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read_all)
        .await
        .expect("the fake closes the connection");

    let text = String::from_utf8_lossy(&received);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("x-rate-limit-requests-left"), "{head}");
    let announced: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().expect("length"))
        })
        .expect("a Content-Length");
    assert!(announced > 100, "the whole order is announced: {announced}");
    assert_eq!(body.len(), announced / 2, "half the body, then the end");
    assert_eq!(bc.orders(STORE).len(), 1, "the write was performed");
    assert_eq!(bc.requests()[0].status, 200);

    // Used up: the next POST is answered whole.
    let order: Value = serde_json::from_str(&order).expect("json");
    let (status, v) = send_json(&c, reqwest::Method::POST, &url(&bc, "/v2/orders"), &order).await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], 101);
    assert_eq!(bc.orders(STORE).len(), 2);
    bc.stop().await;
}

#[tokio::test]
async fn latency_delays_every_answer_and_overlapping_requests_are_served_together() {
    let (bc, c) = setup().await;
    let u = url(&bc, "/v2/time");
    bc.set_latency(Duration::from_millis(300));

    let started = Instant::now();
    let (a, b, d, e) = tokio::join!(
        get(&c, &u, TOKEN),
        get(&c, &u, TOKEN),
        get(&c, &u, TOKEN),
        get(&c, &u, TOKEN)
    );
    let took = started.elapsed();

    for r in [a, b, d, e] {
        assert_eq!(r.status().as_u16(), 200);
    }
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_millis(900),
        "served together: {took:?}"
    );
    assert_eq!(bc.max_in_flight(), 4);

    bc.set_latency(Duration::ZERO);
    bc.clear_requests();
    let started = Instant::now();
    assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(
        bc.max_in_flight(),
        1,
        "the peak restarts with the request log"
    );
    bc.stop().await;
}

#[tokio::test]
async fn injected_faults() {
    let (bc, c) = setup().await;
    bc.generate_catalog(STORE, 3, 1);
    let products = url(&bc, "/v3/catalog/products");

    // Status: the next 2 matching requests, then used up; other paths untouched.
    bc.inject(Fault::Status {
        status: 500,
        path_prefix: "/v3/catalog/products".into(),
        times: 2,
    });
    assert_eq!(
        get(&c, &url(&bc, "/v2/time"), TOKEN)
            .await
            .status()
            .as_u16(),
        200
    );
    let r = get(&c, &products, TOKEN).await;
    assert_eq!(r.status().as_u16(), 500);
    assert!(!header(&r, "x-rate-limit-requests-left").is_empty());
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], 500);
    assert_eq!(
        get(&c, &format!("{products}/101"), TOKEN)
            .await
            .status()
            .as_u16(),
        500
    );
    assert_eq!(get(&c, &products, TOKEN).await.status().as_u16(), 200);

    // v2 shape for a v2 path; empty prefix matches everything.
    bc.inject(Fault::Status {
        status: 503,
        path_prefix: String::new(),
        times: 1,
    });
    let r = get(&c, &url(&bc, "/v2/orders"), TOKEN).await;
    assert_eq!(r.status().as_u16(), 503);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v[0]["status"], 503);

    // RateLimited.
    bc.inject(Fault::RateLimited {
        reset_ms: 1234,
        path_prefix: "/v3".into(),
        times: 1,
    });
    let r = get(&c, &products, TOKEN).await;
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(header(&r, "x-rate-limit-time-reset-ms"), "1234");
    assert_eq!(header(&r, "x-rate-limit-requests-left"), "0");
    assert_eq!(get(&c, &products, TOKEN).await.status().as_u16(), 200);

    // Slow.
    bc.inject(Fault::Slow {
        delay: Duration::from_millis(300),
        path_prefix: "/v3/catalog".into(),
        times: 1,
    });
    let t = Instant::now();
    let r = get(&c, &products, TOKEN).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    get(&c, &products, TOKEN).await;
    assert!(t.elapsed() < Duration::from_millis(300));

    // Malformed.
    bc.inject(Fault::Malformed {
        path_prefix: "/v3/catalog/products".into(),
        times: 1,
    });
    let r = get(&c, &products, TOKEN).await;
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(get(&c, &products, TOKEN).await.status().as_u16(), 200);

    // Faults apply before auth, and are recorded with the status answered.
    bc.inject(Fault::Status {
        status: 502,
        path_prefix: String::new(),
        times: 1,
    });
    assert_eq!(
        c.get(&products)
            .send()
            .await
            .expect("send")
            .status()
            .as_u16(),
        502
    );
    let statuses: Vec<u16> = bc.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 500, 500, 200, 503, 429, 200, 200, 200, 200, 200, 502]
    );
    bc.stop().await;
}

#[tokio::test]
async fn orders_and_shipments() {
    let (bc, c) = setup().await;
    let pid = bc.add_product(
        STORE,
        FakeProduct::new("Tee", "TEE", 20.0)
            .variant(FakeVariant::new("TEE-S", 4).option("Size", "S"))
            .variant(FakeVariant::new("TEE-M", 6).option("Size", "M")),
    );
    let p = bc.product(STORE, pid).expect("product");
    let vid = p.variants[1].id;
    let cust = bc.add_customer(STORE, FakeCustomer::new("jane@example.com", "Jane", "Doe"));
    let billing = json!({
        "first_name": "Jane", "last_name": "Doe", "street_1": "123 Main Street", "city": "Austin",
        "state": "Texas", "zip": "78751", "country_iso2": "US", "email": "janedoe@email.com"
    });

    // Validation: v2 error arrays.
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, "/v2/orders"),
        &json!({ "products": [] }),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v[0]["status"], 400);
    assert!(
        v[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("billing_address"))
    );
    let (s, _) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, "/v2/orders"),
        &json!({ "billing_address": billing }),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, "/v2/orders"),
        &json!({ "billing_address": billing, "customer_id": 999,
                 "products": [{ "name": "X", "quantity": 1, "price_inc_tax": 1, "price_ex_tax": 1 }] }),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, "/v2/orders"),
        &json!({ "billing_address": billing, "products": [{ "product_id": pid, "quantity": 1 }] }),
    )
    .await;
    assert_eq!(
        s, 400,
        "a product with options needs variant_id or product_options"
    );

    // No orders yet: 204.
    let r = get(&c, &url(&bc, "/v2/orders"), TOKEN).await;
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.text().await.expect("text").is_empty());

    let body = json!({
        "customer_id": cust,
        "status_id": 11,
        "billing_address": billing,
        "shipping_addresses": [ { "first_name": "Jane", "last_name": "Doe", "street_1": "1 Ship St", "city": "Austin",
                                   "state": "Texas", "zip": "78751", "country": "United States", "email": "j@e.com",
                                   "shipping_method": "Ground" } ],
        "products": [
            { "product_id": pid, "variant_id": vid, "quantity": 2 },
            { "name": "Custom item", "quantity": 1, "price_inc_tax": 50, "price_ex_tax": 45, "sku": "CUST-1" }
        ],
        "shipping_cost_ex_tax": 10, "shipping_cost_inc_tax": "10.5",
        "external_source": "cartbridge",
        "external_order_id": "PO-77",
    });
    let (s, o) = send_json(&c, reqwest::Method::POST, &url(&bc, "/v2/orders"), &body).await;
    assert_eq!(s, 200);
    let oid = o["id"].as_i64().expect("order id");
    assert_eq!(o["status_id"], 11);
    assert_eq!(o["status"], "Awaiting Fulfillment");
    assert_eq!(o["customer_id"], cust);
    assert_eq!(o["order_source"], "external");
    assert_eq!(o["external_source"], "cartbridge");
    assert_eq!(o["external_order_id"], "PO-77");
    assert_eq!(o["channel_id"], 1);
    assert_eq!(o["subtotal_ex_tax"], "85.0000");
    assert_eq!(o["subtotal_inc_tax"], "90.0000");
    assert_eq!(o["total_inc_tax"], "100.5000");
    assert_eq!(o["items_total"], 3);
    assert_eq!(o["billing_address"]["country"], "United States");
    for k in [
        "total_ex_tax",
        "total_tax",
        "shipping_cost_inc_tax",
        "discount_amount",
        "refunded_amount",
    ] {
        assert!(is_money(&o[k]), "{k} = {}", o[k]);
    }
    assert!(is_rfc2822(&o["date_created"]) && is_rfc2822(&o["date_modified"]));
    assert!(
        o["products"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/v2/orders/{oid}/products")))
    );
    // Stock decremented for the variant.
    assert_eq!(
        bc.product(STORE, pid).expect("product").variants[1].inventory_level,
        4
    );

    // Guest order (customer_id 0) via add_order.
    let guest = bc.add_order(
        STORE,
        json!({ "customer_id": 0, "billing_address": billing,
                "products": [{ "name": "Gift", "quantity": 1, "price_inc_tax": 5, "price_ex_tax": 5 }] }),
    );
    assert_eq!(bc.orders(STORE).len(), 2);

    // List: bare array, filters, sort.
    let (s, v) = get_json(&c, &url(&bc, "/v2/orders")).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let (_, v) = get_json(&c, &url(&bc, "/v2/orders?external_order_id=PO-77")).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let (_, v) = get_json(&c, &url(&bc, "/v2/orders?sort=id:desc&limit=1")).await;
    assert_eq!(v[0]["id"], guest);
    let (s, _) = get_json(&c, &url(&bc, "/v2/orders?status_id=5")).await;
    assert_eq!(s, 204);
    let (_, v) = get_json(
        &c,
        &url(&bc, "/v2/orders?min_date_modified=2020-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let (_, v) = get_json(
        &c,
        &url(
            &bc,
            "/v2/orders?min_date_modified=Thu,%2001%20Jan%202099%2000:00:00%20%2B0000",
        ),
    )
    .await;
    assert!(v.is_null());

    // Lines and addresses.
    let (_, lines) = get_json(&c, &url(&bc, &format!("/v2/orders/{oid}/products"))).await;
    assert_eq!(lines.as_array().map(Vec::len), Some(2));
    assert_eq!(lines[0]["variant_id"], vid);
    assert_eq!(lines[0]["sku"], "TEE-M");
    assert_eq!(lines[0]["price_inc_tax"], "20.0000");
    assert_eq!(lines[0]["product_options"][0]["display_value"], "M");
    assert_eq!(lines[1]["product_id"], 0);
    let (_, addrs) = get_json(
        &c,
        &url(&bc, &format!("/v2/orders/{oid}/shipping_addresses")),
    )
    .await;
    let address_id = addrs[0]["id"].as_i64().expect("address id");
    assert_eq!(addrs[0]["shipping_method"], "Ground");
    assert_eq!(addrs[0]["country_iso2"], "US");

    // Shipments: 204 when none, 201 on create, then listed.
    let r = get(&c, &url(&bc, &format!("/v2/orders/{oid}/shipments")), TOKEN).await;
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.text().await.expect("text").is_empty());
    let (s, sh) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, &format!("/v2/orders/{oid}/shipments")),
        &json!({ "order_address_id": address_id, "tracking_number": "1Z999", "shipping_provider": "ups",
                 "items": [{ "order_product_id": lines[0]["id"], "quantity": 2 }] }),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(sh["order_id"], oid);
    assert_eq!(sh["shipping_provider_display_name"], "UPS");
    assert!(is_rfc2822(&sh["date_created"]));
    assert_eq!(sh["items"][0]["product_id"], pid);
    let (_, o) = get_json(&c, &url(&bc, &format!("/v2/orders/{oid}"))).await;
    assert_eq!(o["status_id"], 3);
    // Over-shipping is refused.
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &url(&bc, &format!("/v2/orders/{oid}/shipments")),
        &json!({ "order_address_id": address_id, "items": [{ "order_product_id": lines[0]["id"], "quantity": 1 }] }),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v[0]["status"], 400);
    let sid = bc.add_shipment(STORE, oid, "TRK2", "usps");
    let (s, v) = get_json(&c, &url(&bc, &format!("/v2/orders/{oid}/shipments"))).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert_eq!(v[1]["id"], sid);
    let (_, o) = get_json(&c, &url(&bc, &format!("/v2/orders/{oid}"))).await;
    assert_eq!(o["status_id"], 2);
    assert_eq!(o["items_shipped"], 3);

    // PUT status, 404s.
    let (s, o) = send_json(
        &c,
        reqwest::Method::PUT,
        &url(&bc, &format!("/v2/orders/{guest}")),
        &json!({ "status_id": 10 }),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(o["status"], "Completed");
    let (s, v) = get_json(&c, &url(&bc, "/v2/orders/99999")).await;
    assert_eq!(s, 404);
    assert_eq!(v[0]["status"], 404);
    bc.stop().await;
}

#[tokio::test]
async fn customers_create_duplicate_search() {
    let (bc, c) = setup().await;
    let u = url(&bc, "/v3/customers");
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &u,
        &json!([{ "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "phone": "555",
                  "addresses": [{ "first_name": "Jane", "last_name": "Doe", "address1": "1 Main", "city": "Austin",
                                  "country_code": "US", "postal_code": "78751" }] }]),
    )
    .await;
    assert_eq!(s, 200);
    let id = v["data"][0]["id"].as_i64().expect("id");
    assert_eq!(v["data"][0]["address_count"], 1);
    assert_eq!(v["data"][0]["addresses"][0]["customer_id"], id);
    assert!(
        v["data"][0]["date_created"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );

    // Duplicate email (case-insensitive): 422.
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &u,
        &json!([{ "email": "JANE@example.com", "first_name": "J", "last_name": "D" }]),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["status"], 422);
    assert!(v["errors"].is_object());
    // Missing required field: 422.
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &u,
        &json!([{ "email": "x@example.com", "first_name": "X" }]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(v["errors"]["0.last_name"].is_string());
    // More than 10: 413.
    let many: Vec<Value> = (0..11)
        .map(|i| json!({ "email": format!("u{i}@example.com"), "first_name": "U", "last_name": "V" }))
        .collect();
    let (s, _) = send_json(&c, reqwest::Method::POST, &u, &Value::Array(many)).await;
    assert_eq!(s, 413);
    assert_eq!(bc.customers(STORE).len(), 1);

    // Search.
    let (s, v) = get_json(&c, &format!("{u}?email:in=jane@example.com")).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["id"], id);
    assert!(v["data"][0].get("addresses").is_none());
    assert_eq!(v["meta"]["pagination"]["total"], 1);
    let (_, v) = get_json(&c, &format!("{u}?email%3Ain=nobody%40example.com")).await;
    assert_eq!(v["data"], json!([]));
    let (_, v) = get_json(&c, &format!("{u}?id:in={id}&include=addresses")).await;
    assert_eq!(v["data"][0]["addresses"][0]["city"], "Austin");
    for i in 0..4 {
        bc.add_customer(
            STORE,
            FakeCustomer::new(&format!("c{i}@example.com"), "C", "X"),
        );
    }
    let (_, v) = get_json(&c, &format!("{u}?limit=2&page=2")).await;
    assert_eq!(v["meta"]["pagination"]["total"], 5);
    assert_eq!(v["meta"]["pagination"]["links"]["next"], "?page=3&limit=2");
    bc.stop().await;
}

#[tokio::test]
async fn hooks_create_list_duplicate() {
    let (bc, c) = setup().await;
    bc.add_token(STORE, "tok-second-app", &[]);
    let u = url(&bc, "/v3/hooks");
    let hook = json!({
        "scope": "store/order/created",
        "destination": "https://cartbridge.example.com/bigcommerce/webhooks/1",
        "is_active": true,
        "headers": { "X-Cartbridge-Secret": "s3cret" }
    });
    let (s, v) = send_json(&c, reqwest::Method::POST, &u, &hook).await;
    assert_eq!(s, 200);
    let d = &v["data"];
    let id = d["id"].as_i64().expect("id");
    assert_eq!(d["store_hash"], STORE);
    assert_eq!(d["scope"], "store/order/created");
    assert_eq!(d["headers"]["X-Cartbridge-Secret"], "s3cret");
    assert!(d["client_id"].is_string() && d["created_at"].is_i64() && d["updated_at"].is_i64());
    assert_eq!(v["meta"], json!({}));

    // Duplicate: 422.
    let (s, v) = send_json(&c, reqwest::Method::POST, &u, &hook).await;
    assert_eq!(s, 422);
    assert_eq!(v["status"], 422);
    // Missing destination, plain http, custom port: 422.
    let (s, v) = send_json(
        &c,
        reqwest::Method::POST,
        &u,
        &json!({ "scope": "store/order/updated" }),
    )
    .await;
    assert_eq!(s, 422);
    assert!(v["errors"]["destination"].is_string());
    for d in [
        "http://cartbridge.example.com/h",
        "https://cartbridge.example.com:8443/h",
    ] {
        let (s, _) = send_json(
            &c,
            reqwest::Method::POST,
            &u,
            &json!({ "scope": "store/order/updated", "destination": d }),
        )
        .await;
        assert_eq!(s, 422, "{d}");
    }
    let (s, _) = send_json(
        &c,
        reqwest::Method::POST,
        &u,
        &json!({ "scope": "store/shipment/created", "destination": "https://cartbridge.example.com/bigcommerce/webhooks/1" }),
    )
    .await;
    assert_eq!(s, 200);

    // List (only this client's hooks) and filters.
    let (s, v) = get_json(&c, &u).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["meta"]["pagination"]["total"], 2);
    let (_, v) = get_json(&c, &format!("{u}?scope=store/shipment/created")).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let r = get(&c, &u, "tok-second-app").await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["data"], json!([]));
    assert_eq!(
        get(&c, &format!("{u}/{id}"), "tok-second-app")
            .await
            .status()
            .as_u16(),
        404
    );

    // Get, deactivate (as BigCommerce would), re-enable with PUT, delete.
    bc.set_hook_active(STORE, id, false);
    let (_, v) = get_json(&c, &format!("{u}/{id}")).await;
    assert_eq!(v["data"]["is_active"], false);
    let (s, v) = send_json(
        &c,
        reqwest::Method::PUT,
        &format!("{u}/{id}"),
        &json!({ "is_active": true }),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["is_active"], true);
    let r = c
        .delete(format!("{u}/{id}"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let (s, v) = get_json(&c, &format!("{u}/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(v["title"], format!("Webhook with id [{id}] not found"));
    assert_eq!(bc.hooks(STORE).len(), 1);

    // Deleting the API account deletes its hooks and kills the token.
    bc.remove_token(TOKEN);
    assert!(bc.hooks(STORE).is_empty());
    assert_eq!(get(&c, &u, TOKEN).await.status().as_u16(), 401);
    bc.stop().await;
}

#[tokio::test]
async fn large_catalog_pages_on_demand() {
    let (bc, c) = setup().await;
    let t = Instant::now();
    bc.generate_catalog(STORE, 100_000, 3);
    let built = t.elapsed();
    assert_eq!(bc.product_count(STORE), 100_000);
    let t = Instant::now();
    let (s, v) = get_json(
        &c,
        &url(
            &bc,
            "/v3/catalog/products?include=variants&limit=250&page=400",
        ),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["meta"]["pagination"]["total"], 100_000);
    assert_eq!(v["meta"]["pagination"]["total_pages"], 400);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(250));
    assert_eq!(v["data"][249]["variants"].as_array().map(Vec::len), Some(3));
    assert!(v["meta"]["pagination"]["links"].get("next").is_none());
    let (_, v) = get_json(&c, &url(&bc, "/v3/catalog/variants?sku=GEN-099999-2")).await;
    assert_eq!(v["meta"]["pagination"]["total"], 1);
    eprintln!(
        "generate 100k x3: {built:?}; last page + variant lookup: {:?}",
        t.elapsed()
    );
    bc.stop().await;
}
