//! The BigCommerce client against the fake: pagination, rate-limit pacing, 429s, retries
//! of transient failures, and responses it must refuse.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartbridge::bigcommerce::models::{Product, V3List};
use cartbridge::bigcommerce::{BigCommerce, BigCommerceError, Paginator, RetryPolicy};
use cartbridge::domain::{Secret, StoreHash};
use serde_json::{Value, json};
use url::Url;

use crate::helpers::fake_bigcommerce::{FakeBigCommerce, FakeStore, Fault, RecordedRequest};

const STORE: &str = "pag123";
const TOKEN: &str = "tok-client-8d41";
const PRODUCTS: &str = "/v3/catalog/products";

struct Env {
    fake: FakeBigCommerce,
    bc: BigCommerce,
    hash: StoreHash,
    token: Secret,
}

async fn env(products: usize) -> Env {
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(STORE));
    fake.add_token(
        STORE,
        TOKEN,
        &[
            "store_v2_products_read_only",
            "store_v2_information_read_only",
        ],
    );
    fake.generate_catalog(STORE, products, 2);
    let bc = BigCommerce::new(Url::parse(&fake.api_url()).unwrap(), Duration::from_secs(5))
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(50),
        });
    Env {
        fake,
        bc,
        hash: StoreHash::parse(STORE).unwrap(),
        token: Secret::new(TOKEN.to_string()),
    }
}

fn products_walk() -> Paginator {
    let include = vec![("include".to_string(), "variants".to_string())];
    Paginator::new(PRODUCTS, include, 250)
}

/// Walks the whole catalog, returning every product received.
async fn walk_all(env: &Env) -> Result<Vec<Product>, BigCommerceError> {
    let client = env.bc.store(&env.hash, &env.token);
    let mut walk = products_walk();
    let mut all = Vec::new();
    while let Some(page) = walk.next_page::<Product>(&client).await? {
        all.extend(page.data);
    }
    Ok(all)
}

fn product_requests(fake: &FakeBigCommerce) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.ends_with(PRODUCTS))
        .collect()
}

fn statuses(requests: &[RecordedRequest]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn paging_1234_products_by_250_sends_five_requests_and_yields_each_product_once() {
    let env = env(1234).await;

    let products = walk_all(&env).await.unwrap();

    let requests = product_requests(&env.fake);
    let pages: Vec<String> = requests
        .iter()
        .map(|r| r.query_param("page").unwrap_or_default())
        .collect();
    assert_eq!(pages, ["1", "2", "3", "4", "5"]);
    assert!(requests.iter().all(|r| {
        r.query_param("limit").as_deref() == Some("250")
            && r.query_param("include").as_deref() == Some("variants")
    }));
    assert_eq!(env.bc.requests_sent(), 5);
    assert_eq!(products.len(), 1234);
    let ids: HashSet<i64> = products.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 1234, "no product twice");
    for product in &products {
        assert_eq!(product.variants.len(), 2, "product {}", product.id);
        assert!(product.variants.iter().all(|v| v.product_id == product.id));
        assert!(product.variants[0].option_label().starts_with("Size: "));
        assert!(product.date_modified_unix().is_some());
    }
}

#[tokio::test]
async fn a_walk_can_resume_from_a_checkpoint_page() {
    let env = env(600).await;
    let client = env.bc.store(&env.hash, &env.token);
    let mut walk = products_walk().starting_at(2);

    let page: V3List<Value> = walk.next_page(&client).await.unwrap().unwrap();
    assert_eq!(page.meta.pagination.current_page, 2);
    assert_eq!(walk.page(), 3);
    let last: V3List<Value> = walk.next_page(&client).await.unwrap().unwrap();
    assert_eq!(last.data.len(), 100);
    assert!(walk.next_page::<Value>(&client).await.unwrap().is_none());
    assert_eq!(env.bc.requests_sent(), 2, "no request after the last page");
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_reset_time_and_the_walk_completes() {
    let env = env(600).await;
    env.fake.inject_when(
        Fault::RateLimited {
            reset_ms: 300,
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=2",
    );

    let started = Instant::now();
    let products = walk_all(&env).await.unwrap();

    assert_eq!(products.len(), 600);
    assert_eq!(statuses(&product_requests(&env.fake)), [200, 429, 200, 200]);
    // Resending at once would have succeeded too, so only the wait makes this hold.
    assert!(started.elapsed() >= Duration::from_millis(300));
    let state = env.bc.rate_limit_state(&env.hash).unwrap();
    assert_eq!(state.pauses, 1, "{state:?}");
}

#[tokio::test]
async fn the_limiter_pauses_before_the_quota_runs_out() {
    let env = env(1).await;
    env.fake.set_rate_limit(STORE, 5, 1000);
    let client = env.bc.store(&env.hash, &env.token);

    for _ in 0..12 {
        client.store_time().await.unwrap();
    }

    let requests = env.fake.requests();
    assert_eq!(requests.len(), 12);
    assert!(
        requests.iter().all(|r| r.status == 200),
        "{:?}",
        statuses(&requests)
    );
    assert_eq!(env.bc.requests_sent(), 12);
    let state = env.bc.rate_limit_state(&env.hash).unwrap();
    assert_eq!(state.pauses, 2, "5 + 5 + 2 requests: {state:?}");
    assert_eq!(state.quota, Some(5));
}

#[tokio::test]
async fn a_server_error_on_one_page_is_retried_and_the_walk_completes() {
    let env = env(600).await;
    env.fake.inject_when(
        Fault::Status {
            status: 500,
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=3",
    );

    let products = walk_all(&env).await.unwrap();

    assert_eq!(products.len(), 600);
    let requests = product_requests(&env.fake);
    assert_eq!(statuses(&requests), [200, 200, 500, 200]);
    assert_eq!(requests[3].query_param("page").as_deref(), Some("3"));
    assert_eq!(env.bc.requests_sent(), 4);
}

#[tokio::test]
async fn a_persistent_server_error_gives_up_after_the_retries() {
    let env = env(10).await;
    env.fake.inject(Fault::Status {
        status: 503,
        path_prefix: PRODUCTS.into(),
        times: 100,
    });

    let error = walk_all(&env).await.unwrap_err();

    assert_eq!(
        error,
        BigCommerceError::Status {
            status: 503,
            message: "Service Unavailable".into()
        }
    );
    assert!(error.is_retryable(), "the job may try again later");
    assert_eq!(env.bc.requests_sent(), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn a_malformed_body_is_an_error_without_retry() {
    let env = env(10).await;
    env.fake.inject(Fault::Malformed {
        path_prefix: PRODUCTS.into(),
        times: 1,
    });

    let error = walk_all(&env).await.unwrap_err();

    assert!(matches!(error, BigCommerceError::Malformed(_)), "{error:?}");
    assert!(!error.is_retryable());
    assert_eq!(env.bc.requests_sent(), 1);
}

#[tokio::test]
async fn a_page_answered_twice_stops_the_walk_with_a_pagination_error() {
    let env = env(600).await;
    env.fake.inject_when(
        Fault::RepeatFirstPage {
            path_prefix: PRODUCTS.into(),
            times: 1,
        },
        "page=2",
    );

    let error = walk_all(&env).await.unwrap_err();

    assert_eq!(
        error,
        BigCommerceError::Pagination(
            "BigCommerce returned page 1 again when page 2 was asked; stopping".into()
        )
    );
    assert!(!error.is_retryable());
    assert_eq!(env.bc.requests_sent(), 2);
}

#[tokio::test]
async fn an_error_never_shows_the_token() {
    let env = env(1).await;
    let wrong = Secret::new("tok-wrong-0000".to_string());
    let client = env.bc.store(&env.hash, &wrong);

    let error = client.store_time().await.unwrap_err();

    assert_eq!(error, BigCommerceError::Unauthorized);
    assert!(!format!("{error} {error:?}").contains("tok-wrong"));
    assert_eq!(env.bc.requests_sent(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_client_without_retries_reports_the_first_server_error() {
    let env = env(1).await;
    env.fake.inject(Fault::Status {
        status: 502,
        path_prefix: "/v2/time".into(),
        times: 1,
    });
    let client = env
        .bc
        .store(&env.hash, &env.token)
        .with_retry_policy(RetryPolicy::no_retries());

    let error = client.store_time().await.unwrap_err();

    assert!(matches!(
        error,
        BigCommerceError::Status { status: 502, .. }
    ));
    assert_eq!(env.bc.requests_sent(), 1);
}

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

const ORDERS: &str = "/v2/orders";

/// A store whose token may write orders and customers (hooks need no scope).
async fn write_env() -> Env {
    let fake = FakeBigCommerce::start().await;
    fake.add_store(FakeStore::new(STORE));
    fake.add_token(
        STORE,
        TOKEN,
        &[
            "store_v2_orders",
            "store_v2_customers",
            "store_v2_information_read_only",
        ],
    );
    let bc = client_for(&fake.api_url(), Duration::from_secs(5));
    Env {
        fake,
        bc,
        hash: StoreHash::parse(STORE).unwrap(),
        token: Secret::new(TOKEN.to_string()),
    }
}

fn client_for(api_url: &str, timeout: Duration) -> BigCommerce {
    BigCommerce::new(Url::parse(api_url).unwrap(), timeout)
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(50),
        })
}

/// The minimal order of BigCommerce's docs: a billing address and one custom line.
fn new_order(zip: &str) -> Value {
    json!({
        "billing_address": {
            "first_name": "Jane", "last_name": "Doe", "street_1": "123 Main Street",
            "city": "Austin", "state": "Texas", "zip": zip, "country": "United States",
            "country_iso2": "US", "email": "janedoe@example.com"
        },
        "products": [
            {"name": "Custom item", "quantity": 1, "price_inc_tax": 50, "price_ex_tax": 45}
        ],
        "external_order_id": "PO-1001"
    })
}

fn posts(fake: &FakeBigCommerce, path: &str) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(path))
        .collect()
}

#[tokio::test]
async fn a_429_on_a_post_is_waited_out_and_retried_and_the_order_exists_once() {
    let env = write_env().await;
    env.fake.inject(Fault::RateLimited {
        reset_ms: 300,
        path_prefix: ORDERS.into(),
        times: 1,
    });
    let client = env.bc.store(&env.hash, &env.token);

    let started = Instant::now();
    let order: Value = client.post_json(ORDERS, &new_order("78751")).await.unwrap();

    assert_eq!(order["id"], 100);
    assert_eq!(order["external_order_id"], "PO-1001");
    assert_eq!(statuses(&posts(&env.fake, ORDERS)), [429, 200]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(env.fake.orders(STORE).len(), 1);
    let state = env.bc.rate_limit_state(&env.hash).unwrap();
    assert_eq!(state.pauses, 1, "the limiter held the resend: {state:?}");
}

#[tokio::test]
async fn a_connection_dropped_after_the_store_created_the_order_is_outcome_unknown_and_not_resent()
{
    let env = write_env().await;
    env.fake.inject(Fault::DropAfterWrite {
        path_prefix: ORDERS.into(),
        times: 1,
    });
    let client = env.bc.store(&env.hash, &env.token);

    let error = client
        .post_json::<_, Value>(ORDERS, &new_order("78751"))
        .await
        .unwrap_err();

    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(!error.is_retryable(), "the job must not re-run it blindly");
    let message = error.to_string();
    assert!(
        message.contains("may or may not have performed POST /v2/orders (the answer was cut short"),
        "{message}"
    );
    assert_eq!(posts(&env.fake, ORDERS).len(), 1, "not resent");
    assert_eq!(env.bc.requests_sent(), 1);
    assert_eq!(env.fake.orders(STORE).len(), 1, "the store did create it");
}

#[tokio::test]
async fn a_server_error_after_a_post_is_outcome_unknown() {
    let env = write_env().await;
    env.fake.inject(Fault::Status {
        status: 500,
        path_prefix: ORDERS.into(),
        times: 1,
    });
    let client = env.bc.store(&env.hash, &env.token);

    let error = client
        .post_json::<_, Value>(ORDERS, &new_order("78751"))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        BigCommerceError::OutcomeUnknown {
            method: "POST".into(),
            path: ORDERS.into(),
            reason: "BigCommerce answered 500: Internal Server Error".into(),
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(statuses(&posts(&env.fake, ORDERS)), [500], "not retried");
}

#[tokio::test]
async fn a_post_that_times_out_is_outcome_unknown_and_not_resent() {
    let env = write_env().await;
    env.fake.inject(Fault::Slow {
        delay: Duration::from_millis(1500),
        path_prefix: ORDERS.into(),
        times: 1,
    });
    let bc = client_for(&env.fake.api_url(), Duration::from_millis(500));
    let client = bc.store(&env.hash, &env.token);

    let error = client
        .post_json::<_, Value>(ORDERS, &new_order("78751"))
        .await
        .unwrap_err();

    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(
        error.to_string().contains("no answer within 1 s"),
        "{error}"
    );
    assert_eq!(bc.requests_sent(), 1);
    assert_eq!(posts(&env.fake, ORDERS).len(), 1);
}

#[tokio::test]
async fn a_post_that_cannot_connect_is_retried_like_a_get() {
    // A port nobody listens on any more: the connection is refused, nothing is sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let bc = client_for(&url, Duration::from_secs(2));
    let (hash, token) = (StoreHash::parse(STORE).unwrap(), Secret::new(TOKEN.into()));

    let error = bc
        .store(&hash, &token)
        .post_json::<_, Value>(ORDERS, &new_order("78751"))
        .await
        .unwrap_err();

    assert!(
        matches!(error, BigCommerceError::Unreachable(_)),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(bc.requests_sent(), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn a_400_carries_bigcommerce_s_own_message() {
    let env = write_env().await;
    let client = env.bc.store(&env.hash, &env.token);

    let error = client
        .post_json::<_, Value>(ORDERS, &new_order("7"))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        BigCommerceError::Status {
            status: 400,
            message: "The field 'billing_address.zip' is invalid.".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "BigCommerce answered 400: The field 'billing_address.zip' is invalid."
    );
    assert!(!error.is_retryable());
    assert_eq!(posts(&env.fake, ORDERS).len(), 1);
    assert!(env.fake.orders(STORE).is_empty());

    // v3: the title and each field's message.
    let customers = json!([{"email": "not-an-email", "first_name": "Jane"}]);
    let error = client
        .post_json::<_, Value>("/v3/customers", &customers)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        BigCommerceError::Status {
            status: 422,
            message: "JSON data is missing or invalid (0.email: error.format; 0.last_name: \
                      error.path.missing)"
                .into()
        }
    );
}

#[tokio::test]
async fn an_order_is_updated_with_put_and_archived_with_delete() {
    let env = write_env().await;
    let client = env.bc.store(&env.hash, &env.token);
    let order: Value = client.post_json(ORDERS, &new_order("78751")).await.unwrap();
    let path = format!("{ORDERS}/{}", order["id"]);

    let updated: Value = client
        .put_json(&path, &json!({"status_id": 11}))
        .await
        .unwrap();
    client.delete(&path).await.unwrap();

    assert_eq!(updated["status_id"], 11);
    assert_eq!(updated["status"], "Awaiting Fulfillment");
    let orders = env.fake.orders(STORE);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["is_deleted"], true, "DELETE archives (204)");
    let methods: Vec<String> = env.fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "PUT", "DELETE"]);
    assert!(
        env.fake
            .requests()
            .iter()
            .skip(1)
            .all(|r| r.status == 200 || r.status == 204)
    );
    assert_eq!(
        client.delete("/v2/orders/999").await,
        Err(BigCommerceError::NotFound)
    );
}

#[tokio::test]
async fn a_hook_is_created_updated_and_deleted() {
    let env = write_env().await;
    let client = env.bc.store(&env.hash, &env.token);
    let hook = json!({
        "scope": "store/order/created",
        "destination": "https://cartbridge.example.com/bigcommerce/webhooks/7",
        "is_active": true,
        "headers": {"X-Cartbridge-Secret": "s3cret"}
    });

    let created: Value = client.post_json("/v3/hooks", &hook).await.unwrap();
    let path = format!("/v3/hooks/{}", created["data"]["id"]);
    let updated: Value = client
        .put_json(&path, &json!({"is_active": false}))
        .await
        .unwrap();
    assert_eq!(updated["data"]["is_active"], false);
    assert_eq!(env.fake.hooks(STORE)[0]["is_active"], false);
    client.delete(&path).await.unwrap();

    assert!(env.fake.hooks(STORE).is_empty());
    // Creating the same hook twice is refused with BigCommerce's reason.
    client
        .post_json::<_, Value>("/v3/hooks", &hook)
        .await
        .unwrap();
    let error = client
        .post_json::<_, Value>("/v3/hooks", &hook)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BigCommerceError::Status { status: 422, message }
            if message.starts_with("Webhook already exists for this scope and destination.")),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_fake_s_latency_delays_every_answer_and_concurrent_requests_overlap() {
    let env = write_env().await;
    env.fake.set_latency(Duration::from_millis(250));
    let client = env.bc.store(&env.hash, &env.token);

    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        client.store_time(),
        client.store_time(),
        client.store_time()
    );
    let took = started.elapsed();

    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(
        took < Duration::from_millis(750),
        "not one after another: {took:?}"
    );
    assert_eq!(env.fake.max_in_flight(), 3);
    assert_eq!(env.bc.requests_sent(), 3);
}

#[tokio::test]
async fn an_empty_answer_to_a_write_decodes_as_unit() {
    let env = write_env().await;
    env.fake.inject(Fault::Status {
        status: 204,
        path_prefix: "/v2/orders/100".into(),
        times: 1,
    });
    let client = env.bc.store(&env.hash, &env.token);

    client
        .put_json::<_, ()>("/v2/orders/100", &json!({"status_id": 2}))
        .await
        .unwrap();

    assert_eq!(statuses(&env.fake.requests()), [204]);
}
