//! Every JSON reply the sandbox sends, success or refusal, in one place.
//!
//! Successes are the documented envelope `{"data": …}` ([`Data`], [`data`]);
//! refusals are `{"message", "statusCode"}` ([`error`], [`Refusal`]), for
//! the API and the control API alike.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;
use serde_json::json;

/// The documented envelope of every success response: `{"data": …}`.
#[derive(Serialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

/// `status` with `{"data": value}`.
pub(crate) fn data(status: StatusCode, value: impl Serialize) -> Response {
    (status, Json(Data { data: value })).into_response()
}

/// An error response: `{"message": …, "statusCode": …}`.
///
/// Assumption: error bodies are `{"message", "statusCode"}` (the NestJS
/// default shape) with the status codes chosen by the API and the control
/// API; undocumented by the provider, whose archived pages show no error
/// response.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        Json(json!({ "message": message, "statusCode": status.as_u16() })),
    )
        .into_response()
}

/// A 400 [`error`] with `message`.
pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

/// A 404 [`error`] with `message`.
pub(crate) fn not_found(message: impl Into<String>) -> Response {
    error(StatusCode::NOT_FOUND, message)
}

/// A refused request: a status and a message, rendered by [`error`].
#[derive(Debug)]
pub(crate) struct Refusal(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}
