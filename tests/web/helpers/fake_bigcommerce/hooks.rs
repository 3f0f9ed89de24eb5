//! Webhooks v3: create, read, update, delete and list, visible per client id, with
//! BigCommerce's destination and uniqueness rules.

use super::FakeBigCommerce;
use super::paging::{page_of, paging, v3_list};
use super::query::{Query, q_bool};
use super::reply::{ApiErr, HResult, Reply, parse_body};
use super::routes::{Ctx, R};
use super::server::Incoming;
use super::state::StoreState;
use super::values::str_of;
use chrono::Utc;
use serde_json::{Map, Value, json};

impl FakeBigCommerce {
    /// All webhooks of the store (every client id).
    pub fn hooks(&self, store_hash: &str) -> Vec<Value> {
        self.with_store(store_hash, |s| {
            s.hooks.values().map(|h| h.json(store_hash)).collect()
        })
    }

    /// Activates/deactivates a hook, as BigCommerce does after failed deliveries.
    pub fn set_hook_active(&self, store_hash: &str, hook_id: i64, active: bool) {
        self.with_store(store_hash, |s| {
            if let Some(h) = s.hooks.get_mut(&hook_id) {
                h.is_active = active;
                h.updated_at = Utc::now().timestamp();
            }
        });
    }
}

/// Answers the hooks routes.
pub(super) fn handle(s: &mut StoreState, inc: &Incoming, r: R, ctx: &Ctx<'_>) -> HResult {
    let q = &inc.query;
    match (inc.method.as_str(), r) {
        ("GET", R::Hooks) => list_hooks(s, q, ctx),
        ("POST", R::Hooks) => create_hook(s, &parse_body(inc)?, ctx),
        ("GET", R::Hook(id)) => {
            let h = s
                .hooks
                .get(&id)
                .filter(|h| h.client_id == ctx.client_id)
                .ok_or_else(|| hook_not_found(id))?;
            Ok(Reply::data(h.json(ctx.hash)))
        }
        ("PUT", R::Hook(id)) => update_hook(s, id, &parse_body(inc)?, ctx),
        ("DELETE", R::Hook(id)) => {
            if s.hooks
                .get(&id)
                .is_none_or(|h| h.client_id != ctx.client_id)
            {
                return Err(hook_not_found(id));
            }
            let h = s.hooks.remove(&id).ok_or_else(|| hook_not_found(id))?;
            Ok(Reply::data(h.json(ctx.hash)))
        }
        _ => Err(ApiErr::new(405, "Method Not Allowed")),
    }
}

pub(super) struct HookRec {
    pub(super) id: i64,
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) destination: String,
    pub(super) is_active: bool,
    pub(super) headers: Value,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl HookRec {
    pub(super) fn json(&self, store_hash: &str) -> Value {
        json!({
            "id": self.id,
            "client_id": self.client_id,
            "store_hash": store_hash,
            "scope": self.scope,
            "destination": self.destination,
            "is_active": self.is_active,
            "headers": self.headers,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

pub(super) fn hook_not_found(id: i64) -> ApiErr {
    ApiErr::new(404, format!("Webhook with id [{id}] not found"))
}

pub(super) fn check_destination(d: &str, strict: bool) -> Result<(), &'static str> {
    let rest = match (d.strip_prefix("https://"), d.strip_prefix("http://")) {
        (Some(r), _) => r,
        (None, Some(r)) if !strict => r,
        _ => return Err("The destination must be an HTTPS URL."),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("The destination must be a valid URL.");
    }
    if strict
        && let Some((_, port)) = host.rsplit_once(':')
        && port != "443"
    {
        return Err("The destination must be served on port 443; custom ports are not supported.");
    }
    Ok(())
}

pub(super) fn validate_hook_fields(
    obj: &Map<String, Value>,
    strict: bool,
    require: bool,
) -> Result<(), ApiErr> {
    let mut e = ApiErr::new(422, "JSON data is missing or invalid");
    for k in ["scope", "destination"] {
        match obj.get(k) {
            None | Some(Value::Null) if require => e = e.with(k, "error.path.missing."),
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if v.is_empty() => e = e.with(k, "error.minLength"),
            Some(Value::String(_)) => {}
            Some(_) => e = e.with(k, "error.type.string"),
        }
    }
    if let Some(scope) = obj.get("scope").and_then(Value::as_str)
        && !scope.is_empty()
        && !scope.starts_with("store/")
    {
        e = e.with("scope", "The scope is not a valid webhook scope.");
    }
    if let Some(d) = obj.get("destination").and_then(Value::as_str)
        && !d.is_empty()
        && let Err(msg) = check_destination(d, strict)
    {
        e = e.with("destination", msg);
    }
    if let Some(v) = obj.get("is_active")
        && !v.is_boolean()
    {
        e = e.with("is_active", "error.type.boolean");
    }
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if m.values().any(|v| !v.is_string()) {
                e = e.with("headers", "Header values must be strings.");
            }
        }
        Some(_) => e = e.with("headers", "error.type.object"),
    }
    if e.errors.is_empty() { Ok(()) } else { Err(e) }
}

pub(super) fn create_hook(s: &mut StoreState, body: &Value, ctx: &Ctx<'_>) -> HResult {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "Input is invalid."))?;
    validate_hook_fields(obj, s.info.require_https_hooks, true)?;
    let scope = str_of(obj, "scope");
    let destination = str_of(obj, "destination");
    let mine = s
        .hooks
        .values()
        .filter(|h| h.client_id == ctx.client_id && h.scope == scope);
    if mine.clone().any(|h| h.destination == destination) {
        return Err(ApiErr::new(
            422,
            "Webhook already exists for this scope and destination.",
        )
        .with(
            "destination",
            "A webhook with the same scope and destination already exists.",
        ));
    }
    if mine.count() >= 10 {
        return Err(ApiErr::new(422, "Webhook limit reached for this scope.")
            .with("scope", "At most 10 webhooks per scope are allowed."));
    }
    let now = Utc::now().timestamp();
    let id = s.next_hook_id;
    s.next_hook_id += 1;
    let h = HookRec {
        id,
        client_id: ctx.client_id.to_string(),
        scope,
        destination,
        is_active: obj
            .get("is_active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        headers: obj.get("headers").cloned().unwrap_or(Value::Null),
        created_at: now,
        updated_at: now,
    };
    let out = h.json(ctx.hash);
    s.hooks.insert(id, h);
    Ok(Reply::data(out))
}

pub(super) fn update_hook(s: &mut StoreState, id: i64, body: &Value, ctx: &Ctx<'_>) -> HResult {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiErr::new(400, "Input is invalid."))?;
    if s.hooks
        .get(&id)
        .is_none_or(|h| h.client_id != ctx.client_id)
    {
        return Err(hook_not_found(id));
    }
    if !["scope", "destination", "is_active", "headers"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Err(ApiErr::new(422, "JSON data is missing or invalid")
            .with("", "At least one field is required."));
    }
    validate_hook_fields(obj, s.info.require_https_hooks, false)?;
    let h = s.hooks.get(&id).ok_or_else(|| hook_not_found(id))?;
    let scope = obj
        .get("scope")
        .and_then(Value::as_str)
        .map_or(h.scope.clone(), str::to_string);
    let destination = obj
        .get("destination")
        .and_then(Value::as_str)
        .map_or(h.destination.clone(), str::to_string);
    if s.hooks.values().any(|o| {
        o.id != id
            && o.client_id == ctx.client_id
            && o.scope == scope
            && o.destination == destination
    }) {
        return Err(ApiErr::new(
            422,
            "Webhook already exists for this scope and destination.",
        )
        .with(
            "destination",
            "A webhook with the same scope and destination already exists.",
        ));
    }
    let h = s.hooks.get_mut(&id).ok_or_else(|| hook_not_found(id))?;
    h.scope = scope;
    h.destination = destination;
    if let Some(a) = obj.get("is_active").and_then(Value::as_bool) {
        h.is_active = a;
    }
    if let Some(hd) = obj.get("headers") {
        h.headers = hd.clone();
    }
    h.updated_at = Utc::now().timestamp();
    Ok(Reply::data(h.json(ctx.hash)))
}

pub(super) fn list_hooks(s: &StoreState, q: &Query, ctx: &Ctx<'_>) -> HResult {
    let (page, limit) = paging(q, 50)?;
    let active = q_bool(q, "is_active")?;
    let scope = q.get("scope");
    let destination = q.get("destination");
    let iter = s.hooks.values().filter(|h| {
        h.client_id == ctx.client_id
            && active.is_none_or(|a| h.is_active == a)
            && scope.is_none_or(|x| h.scope == x)
            && destination.is_none_or(|x| h.destination == x)
    });
    let (items, total) = page_of(iter, page, limit);
    Ok(v3_list(
        items.into_iter().map(|h| h.json(ctx.hash)).collect(),
        total,
        page,
        limit,
    ))
}
