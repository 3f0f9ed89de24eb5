//! `ApiCaller`: the extractor every `/api/v1` handler takes. Reads `Authorization: Bearer
//! <key>`, checks its shape before any lookup, and finds the live key (401 problem+json
//! otherwise). Never reads a session or cookie, and never logs the key.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use super::problem::ApiError;
use crate::{
    context::AppContext,
    domain::Secret,
    partner_api::keys::{self, Access, ApiPrincipal, AuthFailure, AuthRefusal},
};

/// The partner behind a request.
pub struct ApiCaller(pub ApiPrincipal);

impl ApiCaller {
    /// 404 unless the key may see the connection (the query still filters by tenant).
    pub fn check_connection(&self, connection_id: i64) -> Result<(), ApiError> {
        if self.0.sees(connection_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// 403 unless the key is `read_write`.
    pub fn require_write(&self) -> Result<(), ApiError> {
        match self.0.access {
            Access::ReadWrite => Ok(()),
            Access::Read => Err(ApiError::Forbidden(
                "This API key is read-only; this request needs a read_write key.".into(),
            )),
        }
    }
}

/// The key in the Authorization header, or why there is none.
fn bearer(req: &HttpRequest) -> Result<Secret, AuthFailure> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AuthFailure::Missing)?
        .to_str()
        .map_err(|_| AuthFailure::Malformed)?;
    let (scheme, key) = value.trim().split_once(' ').ok_or(AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Malformed);
    }
    Ok(Secret::new(key.trim().to_owned()))
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = bearer(req);
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        Box::pin(async move {
            let key = key.map_err(ApiError::Unauthorized)?;
            let ctx = ctx.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no AppContext")))?;
            match keys::authenticate(&ctx, &key).await {
                Ok(principal) => {
                    tracing::Span::current().record("tenant", principal.tenant_id);
                    Ok(ApiCaller(principal))
                }
                Err(AuthRefusal::Failure(why)) => {
                    tracing::info!(reason = ?why, "API key refused");
                    Err(ApiError::Unauthorized(why))
                }
                Err(AuthRefusal::Db(e)) => Err(e.into()),
            }
        })
    }
}
