//! The two documented endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use actalink_types::{CreateCheckoutSession, Metadata};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State as AxumState};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::ids;
use crate::state::State;
use crate::store::SessionRecord;
use crate::wire::{self, Shape};

/// An error response: `{"message": …, "statusCode": …}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        Json(json!({ "message": message, "statusCode": status.as_u16() })),
    )
        .into_response()
}

/// A refused request: a status and a message, rendered by [`error`].
pub(crate) struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

fn authorise(state: &State, headers: &HeaderMap) -> Result<(), Refusal> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    match key {
        Some(key) if state.api_keys.iter().any(|k| k == key) => Ok(()),
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

/// Checks a create body field by field, as a strict server would, and names the field at fault.
fn validate(
    state: &State,
    body: &Value,
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
        Some(Value::Object(map)) => {
            if map.len() > Metadata::MAX_KEYS {
                return Err(bad(format!(
                    "metadata may hold at most {} keys, not {}",
                    Metadata::MAX_KEYS,
                    map.len()
                )));
            }
            for (key, value) in map {
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
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refusal) = authorise(&state, &headers) {
        return refusal.into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, state.max_body_bytes).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", state.max_body_bytes),
        );
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {e}"),
            );
        }
    };
    let (paylink, request) = match validate(&state, &value) {
        Ok(ok) => ok,
        Err(refusal) => return refusal.into_response(),
    };
    let now = OffsetDateTime::now_utc();
    let ttl = time::Duration::try_from(state.session_ttl).unwrap_or(time::Duration::HOUR);
    let mut record = SessionRecord {
        id: ids::new_id("checkout"),
        order_id: ids::new_id("ord"),
        status: "open".into(),
        order_status: "PENDING".into(),
        paylink,
        metadata: request.metadata().cloned(),
        success_url: request.success_url().map(|u| u.to_string()),
        cancel_url: request.cancel_url().map(|u| u.to_string()),
        failure_url: request.failure_url().map(|u| u.to_string()),
        created_at: now,
        // As in every documented example: one hour and two milliseconds.
        expires_at: now + ttl + time::Duration::milliseconds(2),
        started_at: None,
        end_at: None,
        sender_address: None,
        hash: None,
    };
    while !state.store.insert(record.clone()) {
        record.id = ids::new_id("checkout");
    }
    let data = wire::session(&record, &state.base_url, Shape::Create);
    (StatusCode::CREATED, Json(json!({ "data": data }))).into_response()
}

/// `GET /billing/api/v1/paysession/status?checkoutSessionId=…`.
pub(crate) async fn status(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = authorise(&state, &headers) {
        return refusal.into_response();
    }
    let Some(id) = query.get("checkoutSessionId").filter(|id| !id.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the checkoutSessionId query parameter is required",
        );
    };
    match state.session(id) {
        Some(record) => {
            Json(json!({ "data": wire::session(&record, &state.base_url, Shape::Status) }))
                .into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!("checkout session {id:?} was not found"),
        ),
    }
}
