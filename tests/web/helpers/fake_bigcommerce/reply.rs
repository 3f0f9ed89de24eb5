//! Answers and errors in BigCommerce's shapes: v2 errors are `[{"status","message"}]`
//! arrays, v3 errors `{"status","title","type","errors"}` objects.

use super::server::Incoming;
use serde_json::{Map, Value, json};

pub(super) struct ApiErr {
    pub(super) status: u16,
    pub(super) title: String,
    pub(super) errors: Map<String, Value>,
}

impl ApiErr {
    pub(super) fn new(status: u16, title: impl Into<String>) -> ApiErr {
        ApiErr {
            status,
            title: title.into(),
            errors: Map::new(),
        }
    }
    pub(super) fn with(mut self, key: &str, msg: impl Into<String>) -> ApiErr {
        self.errors
            .insert(key.to_string(), Value::String(msg.into()));
        self
    }
    pub(super) fn not_found() -> ApiErr {
        ApiErr::new(404, "The requested resource was not found.")
    }
    pub(super) fn body(&self, v2: bool) -> Value {
        if v2 {
            let mut e = json!({ "status": self.status, "message": self.title });
            if !self.errors.is_empty()
                && let Some(m) = e.as_object_mut()
            {
                m.insert("details".into(), Value::Object(self.errors.clone()));
            }
            json!([e])
        } else {
            json!({
                "status": self.status,
                "title": self.title,
                "type": ERROR_TYPE,
                "errors": self.errors,
            })
        }
    }
}

pub(super) fn invalid_filter(name: &str) -> ApiErr {
    ApiErr::new(422, format!("The filter(s): {name} are not valid.")).with(name, "is not valid")
}

pub(super) fn v2_bad(field: &str) -> ApiErr {
    ApiErr::new(400, format!("The field '{field}' is invalid."))
}

pub(super) fn v2_missing(field: &str) -> ApiErr {
    ApiErr::new(
        400,
        format!("The required field '{field}' was not supplied."),
    )
}

pub(super) enum Body {
    Json(Value),
    Raw(String),
    Empty,
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Body,
}

impl Reply {
    pub(super) fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(v),
        }
    }
    pub(super) fn ok(v: Value) -> Reply {
        Reply::json(200, v)
    }
    pub(super) fn data(v: Value) -> Reply {
        Reply::json(200, json!({ "data": v, "meta": {} }))
    }
    pub(super) fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Body::Empty,
        }
    }
}

pub(super) type HResult = Result<Reply, ApiErr>;

pub(super) fn parse_body(inc: &Incoming) -> Result<Value, ApiErr> {
    serde_json::from_str(&inc.body).map_err(|_| {
        if inc.v2 {
            ApiErr::new(400, "The request body is not valid JSON.")
        } else {
            ApiErr::new(400, "Input is invalid.")
        }
    })
}

/// Documentation link BigCommerce puts in the `type` of v3 errors.
pub const ERROR_TYPE: &str =
    "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

/// Wording real BigCommerce uses when a token lacks the endpoint's scope.
pub const MISSING_SCOPE: &str = "You don't have a required scope to access the endpoint";
