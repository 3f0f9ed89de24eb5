//! HTTP layer: routes, extractors, middleware, rendering. Only this module knows actix.
//! Handlers extract, parse, call the area's service and render.

use actix_web::{HttpRequest, web};

use crate::error::AppError;

pub mod account;
pub mod admin;
pub mod api;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bigcommerce_app;
pub mod bigcommerce_link;
pub mod connections;
pub mod error_page;
pub mod extract;
pub mod flows;
pub mod forms;
pub mod health;
pub mod inbound;
pub mod invitations;
pub mod middleware;
pub mod oauth;
pub mod oauth_clients;
pub mod pages;
pub mod placed_orders;
pub mod products;
pub mod purchase_orders;
pub mod render;
pub mod runs;
pub mod session;
pub mod shipments;
pub mod tenant_settings;
pub mod tenants;
pub mod trusted_proxy;
pub mod webhook_endpoints;
pub mod words;

/// Declares the tenant-scoped routes (under `/t/{tenant_id}`) once: registers them and
/// exports the list as `TENANT_ROUTES`, which the tenant-isolation sweep in the test suite
/// walks — a route added here is swept automatically.
macro_rules! tenant_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every tenant-scoped route: (HTTP method, path under `/t/{tenant_id}`).
        pub const TENANT_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn tenant_scope() -> actix_web::Scope {
            web::scope("/t/{tenant_id}")$(.route($path, web::$method().to($handler)))*
        }
    };
}

tenant_routes! {
    get "" => tenants::dashboard,
    get "/members" => tenants::list_members,
    get "/audit" => audit::tenant_log,
    get "/notifications" => audit::notifications_page,
    post "/notifications" => audit::save_notifications,
    post "/invitations" => tenants::create_invitation,
    post "/invitations/{invitation_id}/revoke" => tenants::revoke_invitation,
    post "/members/{user_id}/role" => tenants::change_role,
    post "/members/{user_id}/remove" => tenants::remove_member,
    get "/connections" => connections::list_connections,
    get "/connections/new" => connections::new_connection,
    post "/connections" => connections::create_connection,
    get "/connections/{connection_id}" => connections::show_connection,
    get "/connections/{connection_id}/edit" => connections::edit_connection,
    post "/connections/{connection_id}" => connections::update_connection,
    post "/connections/{connection_id}/test" => connections::test_connection,
    post "/connections/{connection_id}/delete" => connections::delete_connection,
    get "/connections/{connection_id}/connect" => oauth::connect,
    get "/connections/{connection_id}/flows/{flow}" => flows::flow_settings,
    post "/connections/{connection_id}/flows/{flow}" => flows::save_flow_settings,
    post "/connections/{connection_id}/flows/{flow}/run" => flows::run_flow,
    get "/connections/{connection_id}/runs" => runs::list_runs,
    get "/connections/{connection_id}/runs/{run_id}" => runs::show_run,
    get "/connections/{connection_id}/runs/{run_id}/progress" => runs::run_progress,
    get "/connections/{connection_id}/products" => products::list_products,
    get "/connections/{connection_id}/products.csv" => products::export_products,
    get "/connections/{connection_id}/shipments" => shipments::list_shipments,
    get "/connections/{connection_id}/shipments.csv" => shipments::export_shipments,
    get "/connections/{connection_id}/events" => placed_orders::list_events,
    get "/connections/{connection_id}/sales-channels" => placed_orders::sales_channels,
    post "/connections/{connection_id}/sales-channels" => placed_orders::save_sales_channels,
    get "/connections/{connection_id}/purchase-orders" => purchase_orders::list,
    post "/connections/{connection_id}/purchase-orders" => purchase_orders::create,
    get "/connections/{connection_id}/purchase-orders/new" => purchase_orders::new_form,
    get "/connections/{connection_id}/purchase-orders/template.csv" => purchase_orders::template_csv,
    post "/connections/{connection_id}/purchase-orders/upload" => purchase_orders::upload,
    get "/connections/{connection_id}/purchase-orders/{po_id}" => purchase_orders::show,
    get "/connections/{connection_id}/purchase-orders/{po_id}/preview" => purchase_orders::preview,
    post "/connections/{connection_id}/purchase-orders/{po_id}/retry" => purchase_orders::retry,
    post "/connections/{connection_id}/purchase-orders/{po_id}/cancel" => purchase_orders::cancel,
    get "/api-keys" => api_keys::list_api_keys,
    post "/api-keys" => api_keys::create_api_key,
    post "/api-keys/{api_key_id}/revoke" => api_keys::revoke_api_key,
    get "/webhooks" => webhook_endpoints::list_endpoints,
    post "/webhooks" => webhook_endpoints::create_endpoint,
    get "/webhooks/{endpoint_id}" => webhook_endpoints::show_endpoint,
    post "/webhooks/{endpoint_id}/test" => webhook_endpoints::send_test_event,
    post "/webhooks/{endpoint_id}/rotate-secret" => webhook_endpoints::rotate_secret,
    post "/webhooks/{endpoint_id}/enable" => webhook_endpoints::enable_endpoint,
    post "/webhooks/{endpoint_id}/disable" => webhook_endpoints::disable_endpoint,
    post "/webhooks/{endpoint_id}/delete" => webhook_endpoints::delete_endpoint,
    post "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver" => webhook_endpoints::redeliver,
    get "/oauth-clients" => oauth_clients::list_oauth_clients,
    get "/oauth-clients/new" => oauth_clients::new_oauth_client,
    post "/oauth-clients" => oauth_clients::create_oauth_client,
    get "/oauth-clients/{oauth_client_id}/edit" => oauth_clients::edit_oauth_client,
    post "/oauth-clients/{oauth_client_id}" => oauth_clients::update_oauth_client,
    post "/oauth-clients/{oauth_client_id}/delete" => oauth_clients::delete_oauth_client,
    get "/settings" => tenant_settings::settings_page,
    post "/settings" => tenant_settings::save_settings,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(256 * 1024)
            .error_handler(|err, _| {
                AppError::BadRequest(format!("The form could not be read: {err}.")).into()
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        AppError::BadRequest(format!("The address is not valid: {err}.")).into()
    }))
    .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/", web::get().to(tenants::home))
    .route("/signup", web::get().to(auth::signup_page))
    .route("/signup", web::post().to(auth::signup))
    .route("/signup/check-email", web::get().to(auth::check_email))
    .route("/verify-email", web::get().to(auth::verify_page))
    .route("/verify-email", web::post().to(auth::verify))
    .route(
        "/verify-email/resend",
        web::post().to(auth::resend_verification),
    )
    .route("/login", web::get().to(auth::login_page))
    .route("/login", web::post().to(auth::login))
    .route("/logout", web::post().to(auth::logout))
    .route("/password/forgot", web::get().to(auth::forgot_page))
    .route("/password/forgot", web::post().to(auth::forgot))
    .route("/password/reset", web::get().to(auth::reset_page))
    .route("/password/reset", web::post().to(auth::reset))
    .route(
        "/invitations/accept",
        web::get().to(invitations::accept_page),
    )
    .route("/invitations/accept", web::post().to(invitations::accept))
    .route("/account", web::get().to(account::profile_page))
    .route("/account/name", web::post().to(account::save_name))
    .route(
        "/account/password",
        web::post().to(account::change_password),
    )
    .route(
        "/account/time-zone",
        web::post().to(account::save_time_zone),
    )
    .route(
        "/account/time-zone/detected",
        web::post().to(account::browser_time_zone),
    )
    .route(
        "/account/sessions/revoke-all",
        web::post().to(account::revoke_all_sessions),
    )
    .route(
        "/account/sessions/{handle}/revoke",
        web::post().to(account::revoke_session),
    )
    .configure(admin::configure)
    .route(
        "/bigcommerce/auth",
        web::get().to(bigcommerce_app::auth_callback),
    )
    .route(
        "/bigcommerce/load",
        web::get().to(bigcommerce_app::load_callback),
    )
    .route(
        "/bigcommerce/uninstall",
        web::get().to(bigcommerce_app::uninstall_callback),
    )
    .route(
        "/bigcommerce/remove_user",
        web::get().to(bigcommerce_app::remove_user_callback),
    )
    .route(
        "/bigcommerce/link",
        web::post().to(bigcommerce_link::link_by_login),
    )
    .route(
        "/bigcommerce/link/email",
        web::post().to(bigcommerce_link::link_by_email),
    )
    .route(
        "/bigcommerce/link/confirm",
        web::get().to(bigcommerce_link::confirm_page),
    )
    .route(
        "/bigcommerce/link/confirm",
        web::post().to(bigcommerce_link::confirm),
    )
    .route("/oauth/callback", web::get().to(oauth::callback))
    .route(
        "/webhooks/bigcommerce/{public_id}",
        web::post().to(inbound::receive),
    )
    .configure(api::configure)
    .service(tenant_scope())
    .route("/static/{name}", web::get().to(assets::asset))
    .default_service(web::to(not_found));
}

async fn not_found(_: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
