//! The control API under `/__sandbox/`, for tests and scripts.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::api::error;
use crate::faults::FaultRequest;
use crate::state::{Action, Outcome, State, WebhookEndpoint};
use crate::wire::{self, Shape};

/// `POST /__sandbox/sessions/{id}/{pay|cancel|fail|expire}`.
pub(crate) async fn act(
    AxumState(state): AxumState<Arc<State>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown action {action:?}; use pay, cancel, fail or expire"),
        );
    };
    match state.apply(&id, action) {
        Outcome::NotFound => error(
            StatusCode::NOT_FOUND,
            format!("checkout session {id:?} was not found"),
        ),
        Outcome::Conflict(session) => error(
            StatusCode::CONFLICT,
            format!(
                "checkout session {id:?} is {} and cannot be changed that way",
                session.status
            ),
        ),
        Outcome::Done { session } => {
            Json(json!({ "data": wire::session(&session, &state.base_url, Shape::Status) }))
                .into_response()
        }
    }
}

/// `GET /__sandbox/deliveries`.
pub(crate) async fn deliveries(AxumState(state): AxumState<Arc<State>>) -> Response {
    Json(json!({ "data": state.store.deliveries() })).into_response()
}

/// `GET /__sandbox/stats`.
pub(crate) async fn stats(AxumState(state): AxumState<Arc<State>>) -> Response {
    Json(json!({
        "sessions": state.store.count(),
        "apiRequests": state.api_requests.load(Ordering::Relaxed),
        "deliveryAttempts": state.store.delivery_count(),
    }))
    .into_response()
}

/// `POST /__sandbox/faults`: `{"kind": "status", "status": 503, "retryAfter": "1", "count": 2}`, etc.
pub(crate) async fn add_fault(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> Response {
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a fault: {e}")),
    };
    if request.count == 0 {
        return error(StatusCode::BAD_REQUEST, "count must be at least 1");
    }
    let mut faults = state
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    faults.push_back((request.fault, request.count));
    Json(json!({ "queued": faults.iter().map(|(_, n)| n).sum::<u32>() })).into_response()
}

/// `DELETE /__sandbox/faults`.
pub(crate) async fn clear_faults(AxumState(state): AxumState<Arc<State>>) -> Response {
    state
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct NewEndpoint {
    url: String,
    secret: String,
}

/// `POST /__sandbox/webhooks`: `{"url": …, "secret": …}` adds an endpoint.
pub(crate) async fn add_webhook(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> Response {
    let endpoint: NewEndpoint = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"url\", \"secret\"}}: {e}"),
            );
        }
    };
    if !(endpoint.url.starts_with("http://") || endpoint.url.starts_with("https://")) {
        return error(StatusCode::BAD_REQUEST, "url must be an http or https URL");
    }
    if let Ok(mut hooks) = state.webhooks.write() {
        hooks.push(WebhookEndpoint::new(endpoint.url, endpoint.secret));
    }
    StatusCode::NO_CONTENT.into_response()
}
