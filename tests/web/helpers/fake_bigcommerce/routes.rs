//! Which paths and methods exist, the OAuth scope each needs, and which resource module
//! answers.

use super::reply::{ApiErr, HResult};
use super::server::Incoming;
use super::state::StoreState;
use super::{catalog, channels, customers, hooks, orders, shipments, store};

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum R {
    Store,
    Time,
    Orders,
    OrdersCount,
    Order(i64),
    OrderProducts(i64),
    OrderAddresses(i64),
    Shipments(i64),
    ShipmentsCount(i64),
    Shipment(i64, i64),
    OrderStatuses,
    Products,
    Product(i64),
    ProductVariants(i64),
    ProductVariant(i64, i64),
    Variants,
    Customers,
    Hooks,
    Hook(i64),
    Channels,
    Channel(i64),
}

pub(super) const GET: &[&str] = &["GET"];

pub(super) fn route(method: &str, segs: &[String]) -> Result<(R, Option<&'static str>), ApiErr> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let id = |x: &str| {
        x.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(ApiErr::not_found)
    };
    let (r, allowed): (R, &[&str]) = match s.as_slice() {
        ["v2", "store"] => (R::Store, GET),
        ["v2", "time"] => (R::Time, GET),
        ["v2", "order_statuses"] => (R::OrderStatuses, GET),
        ["v2", "orders"] => (R::Orders, &["GET", "POST"]),
        ["v2", "orders", "count"] => (R::OrdersCount, GET),
        ["v2", "orders", o] => (R::Order(id(o)?), &["GET", "PUT", "DELETE"]),
        ["v2", "orders", o, "products"] => (R::OrderProducts(id(o)?), GET),
        [
            "v2",
            "orders",
            o,
            "shipping_addresses" | "shippingaddresses",
        ] => (R::OrderAddresses(id(o)?), GET),
        ["v2", "orders", o, "shipments"] => (R::Shipments(id(o)?), &["GET", "POST"]),
        ["v2", "orders", o, "shipments", "count"] => (R::ShipmentsCount(id(o)?), GET),
        ["v2", "orders", o, "shipments", sh] => (R::Shipment(id(o)?, id(sh)?), GET),
        ["v3", "catalog", "products"] => (R::Products, &["GET", "PUT"]),
        ["v3", "catalog", "products", p] => (R::Product(id(p)?), &["GET", "PUT"]),
        ["v3", "catalog", "products", p, "variants"] => (R::ProductVariants(id(p)?), GET),
        ["v3", "catalog", "products", p, "variants", v] => {
            (R::ProductVariant(id(p)?, id(v)?), &["GET", "PUT"])
        }
        ["v3", "catalog", "variants"] => (R::Variants, &["GET", "PUT"]),
        ["v3", "customers"] => (R::Customers, &["GET", "POST"]),
        ["v3", "hooks"] => (R::Hooks, &["GET", "POST"]),
        ["v3", "hooks", h] => (R::Hook(id(h)?), &["GET", "PUT", "DELETE"]),
        ["v3", "channels"] => (R::Channels, GET),
        ["v3", "channels", c] => (R::Channel(id(c)?), GET),
        _ => return Err(ApiErr::not_found()),
    };
    if !allowed.contains(&method) {
        return Err(ApiErr::new(405, "Method Not Allowed"));
    }
    let read = method == "GET";
    let scope = match r {
        R::Store | R::Time => Some("store_v2_information_read_only"),
        R::Orders
        | R::OrdersCount
        | R::Order(_)
        | R::OrderProducts(_)
        | R::OrderAddresses(_)
        | R::Shipments(_)
        | R::ShipmentsCount(_)
        | R::Shipment(..)
        | R::OrderStatuses => Some(if read {
            "store_v2_orders_read_only"
        } else {
            "store_v2_orders"
        }),
        R::Products
        | R::Product(_)
        | R::ProductVariants(_)
        | R::ProductVariant(..)
        | R::Variants => Some(if read {
            "store_v2_products_read_only"
        } else {
            "store_v2_products"
        }),
        R::Customers => Some(if read {
            "store_v2_customers_read_only"
        } else {
            "store_v2_customers"
        }),
        R::Hooks | R::Hook(_) => None,
        R::Channels | R::Channel(_) => Some("store_channel_settings_read_only"),
    };
    Ok((r, scope))
}

pub(super) fn has_scope(scopes: &[String], need: &str) -> bool {
    scopes.iter().any(|s| {
        s == need
            || need
                .strip_suffix("_read_only")
                .is_some_and(|modify| s == modify)
    })
}

pub(super) struct Ctx<'a> {
    pub(super) hash: &'a str,
    pub(super) base: &'a str,
    pub(super) client_id: &'a str,
}

/// Hands a routed, authorized request to the resource that answers it.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R, ctx: &Ctx<'_>) -> HResult {
    match r {
        R::Store | R::Time => store::handle(s, inc, r),
        R::OrderStatuses
        | R::Orders
        | R::OrdersCount
        | R::Order(_)
        | R::OrderProducts(_)
        | R::OrderAddresses(_) => orders::handle(s, inc, r, ctx),
        R::Shipments(_) | R::ShipmentsCount(_) | R::Shipment(..) => shipments::handle(s, inc, r),
        R::Products
        | R::Product(_)
        | R::ProductVariants(_)
        | R::ProductVariant(..)
        | R::Variants => catalog::handle(s, inc, r),
        R::Customers => customers::handle(s, inc, r),
        R::Hooks | R::Hook(_) => hooks::handle(s, inc, r, ctx),
        R::Channels | R::Channel(_) => channels::handle(s, inc, r),
    }
}
