//! The two documented endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use actalink_types::{
    CheckoutSessionId, CreateCheckoutSession, OrderId, OrderStatus, SessionStatus,
};
use axum::body::Body;
use axum::extract::{FromRequestParts, Query, State as AxumState};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ids;
use crate::reply::{self, Refusal, bad_request, error};
use crate::state::State;
use crate::store::SessionRecord;
use crate::wire::{self, Shape};

/// The request's `x-api-key`, one the sandbox accepts: extracting it is
/// the API's authorisation, done before the body is read.
///
/// Assumption: a missing or unknown `x-api-key` is a 401 (not a 403);
/// undocumented by the provider.
pub(crate) struct ApiKey;

impl FromRequestParts<Arc<State>> for ApiKey {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Refusal> {
        let key = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
        match key {
            Some(key) if state.api_keys.iter().any(|k| k == key) => Ok(Self),
            Some(_) => Err(Refusal(
                StatusCode::UNAUTHORIZED,
                "the API key is not valid".into(),
            )),
            None => Err(Refusal(
                StatusCode::UNAUTHORIZED,
                "the x-api-key header is missing".into(),
            )),
        }
    }
}

/// A JSON object's members in document order. `serde_json::Value` would sort
/// them (its map is a `BTreeMap`), and the merchant's metadata must keep the
/// order it was sent in. A repeated key keeps its first position and takes the
/// last value, as `JSON.parse` does.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Ordered, A::Error> {
                let mut members: Vec<(String, Value)> = Vec::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    match members.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => members.push((key, value)),
                    }
                }
                Ok(Ordered(members))
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

/// The body's `metadata`, read a second time in document order.
#[derive(Deserialize)]
struct MetadataInOrder {
    metadata: Ordered,
}

/// Checks a create body field by field, as a strict server would, and names the field at fault.
///
/// Assumption: every refusal here is a 400 naming the field (404 for an
/// unknown paylink), `mode` must be `"paylink"`, metadata values must be
/// strings and URLs absolute http(s); undocumented by the provider, which
/// documents only the field list and the 50-key metadata limit.
fn validate(
    state: &State,
    body: &Value,
    raw: &[u8],
) -> Result<(crate::Paylink, CreateCheckoutSession), Refusal> {
    let bad = |m: String| Refusal(StatusCode::BAD_REQUEST, m);
    let Some(object) = body.as_object() else {
        return Err(bad("the body must be a JSON object".into()));
    };
    let paylink_id = match object.get("paylinkId") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(bad("paylinkId must not be empty".into())),
        Some(_) => return Err(bad("paylinkId must be a string".into())),
        None => return Err(bad("paylinkId is required".into())),
    };
    match object.get("mode") {
        Some(Value::String(m)) if m == "paylink" => {}
        Some(Value::String(m)) => {
            return Err(bad(format!("mode {m:?} is not supported; use \"paylink\"")));
        }
        Some(_) => return Err(bad("mode must be a string".into())),
        None => return Err(bad("mode is required".into())),
    }
    let mut builder = CreateCheckoutSession::builder(paylink_id.clone());
    match object.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(_)) => {
            // `body` holds the metadata sorted; read it again in its order.
            // Its limits (50 keys, none empty) are the builder's to check.
            let Ok(MetadataInOrder {
                metadata: Ordered(members),
            }) = serde_json::from_slice(raw)
            else {
                return Err(bad("the body must hold one metadata object".into()));
            };
            for (key, value) in members {
                let Value::String(value) = value else {
                    return Err(bad(format!("metadata value for {key:?} must be a string")));
                };
                builder = builder.metadata(key, value);
            }
        }
        Some(_) => return Err(bad("metadata must be an object of strings".into())),
    }
    for field in ["successUrl", "cancelUrl", "failureUrl"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(url)) => {
                builder = match field {
                    "successUrl" => builder.success_url(url),
                    "cancelUrl" => builder.cancel_url(url),
                    _ => builder.failure_url(url),
                };
            }
            Some(_) => return Err(bad(format!("{field} must be a string"))),
        }
    }
    let request = builder.build().map_err(|e| bad(e.to_string()))?;
    let paylink = state.catalogue.get(&paylink_id).cloned().ok_or_else(|| {
        Refusal(
            StatusCode::NOT_FOUND,
            format!("paylink {paylink_id:?} was not found"),
        )
    })?;
    Ok((paylink, request))
}

/// `POST /billing/api/v1/paysession/create`.
pub(crate) async fn create(
    ApiKey: ApiKey,
    AxumState(state): AxumState<Arc<State>>,
    body: Body,
) -> Response {
    // Assumption: a body above 64 KiB (configurable) is a 413; undocumented
    // by the provider, which states no size limit.
    let Ok(bytes) = axum::body::to_bytes(body, state.max_body_bytes).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", state.max_body_bytes),
        );
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => return bad_request(format!("the body is not valid JSON: {e}")),
    };
    let (paylink, request) = match validate(&state, &value, &bytes) {
        Ok(ok) => ok,
        Err(refusal) => return refusal.into_response(),
    };
    let now = OffsetDateTime::now_utc();
    // Assumption: a session lives one hour and two milliseconds, as in both
    // documented examples (configurable with `session_ttl`); the provider
    // states no lifetime. The TTL is bounded at start, so this cannot overflow
    // before the year 9998; checked all the same.
    let Some(expires_at) = now
        .checked_add(state.session_ttl)
        .and_then(|t| t.checked_add(time::Duration::milliseconds(2)))
    else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session lifetime reaches past the representable dates",
        );
    };
    let (Some(id), Some(order_id)) = (
        ids::typed::<CheckoutSessionId>("checkout"),
        ids::typed::<OrderId>("ord"),
    ) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "could not make an id");
    };
    let mut record = SessionRecord {
        id,
        order_id,
        status: SessionStatus::Open,
        order_status: OrderStatus::Pending,
        paylink,
        metadata: request.metadata().cloned(),
        success_url: request.success_url().map(|u| u.to_string()),
        cancel_url: request.cancel_url().map(|u| u.to_string()),
        failure_url: request.failure_url().map(|u| u.to_string()),
        created_at: now,
        expires_at,
        started_at: None,
        end_at: None,
        sender_address: None,
        hash: None,
    };
    while !state.store.insert(record.clone()) {
        let Some(id) = ids::typed("checkout") else {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "could not make an id");
        };
        record.id = id;
    }
    // Assumption: create answers 201, the only success code the provider's
    // demo accepts; the documented page does not show the code.
    reply::data(
        StatusCode::CREATED,
        wire::session(&record, &state.base_url, Shape::Create),
    )
}

/// `GET /billing/api/v1/paysession/status?checkoutSessionId=…`.
///
/// Assumption: a missing `checkoutSessionId` is a 400 and an unknown one a
/// 404, and the answer is 200 (the code the provider's demo expects);
/// undocumented by the provider.
pub(crate) async fn status(
    ApiKey: ApiKey,
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = query.get("checkoutSessionId").filter(|id| !id.is_empty()) else {
        return bad_request("the checkoutSessionId query parameter is required");
    };
    match state.session(id) {
        Some(record) => reply::data(
            StatusCode::OK,
            wire::session(&record, &state.base_url, Shape::Status),
        ),
        None => reply::not_found(format!("checkout session {id:?} was not found")),
    }
}
