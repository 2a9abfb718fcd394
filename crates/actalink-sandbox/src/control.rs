//! The control API under `/__sandbox/`, for tests and scripts.
//!
//! It is a local tool's remote control, so a web page must not be able to
//! drive it: [`guard`] refuses a foreign `Origin` (or a cross-site fetch), a
//! `Host` that is neither a loopback name nor the sandbox's own address (DNS
//! rebinding), and a POST body that is not JSON (a cross-site form).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxumState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::faults::FaultRequest;
use crate::host;
use crate::reply::{self, Refusal, bad_request, error};
use crate::state::{Action, State, WebhookEndpoint};
use crate::wire::{self, Shape};
use crate::{Delivery, EndpointDelivery, Error, SentEvent, actions};

/// Why a request may not reach the control API, if it may not.
pub(crate) fn check_request(
    state: &State,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let forbidden = |m: String| Refusal(StatusCode::FORBIDDEN, m);
    // Host: only loopback names, the sandbox's own address and allowed
    // names, wherever it is bound (see `host`).
    host::check(state, headers)?;
    let host_header = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Origin: a browser names the page that sent the request; only the
    // sandbox's own pages may.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin
            .to_str()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let same_host = format!("http://{}", host_header.trim().to_ascii_lowercase());
        if origin != state.origin && origin != same_host {
            return Err(forbidden(format!(
                "the control API refuses requests from web pages of other origins ({origin:?}); call it from a script or a test"
            )));
        }
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && (site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
    {
        return Err(forbidden(
            "the control API refuses requests a browser marks as cross-site".into(),
        ));
    }
    // A body must be JSON: a cross-site HTML form can send only form
    // encodings and text/plain.
    if method == Method::POST {
        let content_type = headers.get(header::CONTENT_TYPE);
        let has_body = headers.contains_key(header::TRANSFER_ENCODING)
            || headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|n| n.trim() != "0");
        let json = content_type
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if (content_type.is_some() || has_body) && !json {
            return Err(Refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the control API takes application/json bodies only".into(),
            ));
        }
    }
    Ok(())
}

/// The middleware on every `/__sandbox/` route: see [`check_request`].
pub(crate) async fn guard(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    match check_request(&state, request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(
                status = refusal.0.as_u16(),
                path = %request.uri().path(),
                "control API request refused"
            );
            refusal.into_response()
        }
    }
}

/// A control request's optional JSON body; an empty body is `{}`.
fn body_of<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Refusal(
            StatusCode::BAD_REQUEST,
            format!("the body is not what this route takes: {e}"),
        )
    })
}

/// The HTTP answer to an [`Error`] of the shared actions.
fn refusal(error: &Error) -> Response {
    let status = match error {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Refused(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match error {
        Error::NotFound(m) | Error::Conflict(m) | Error::Refused(m) => m.clone(),
        other => other.to_string(),
    };
    reply::error(status, message)
}

/// The body of an action: how long to wait for the first delivery at each
/// endpoint, if at all.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActBody {
    /// Milliseconds, at most [`MAX_WAIT`].
    wait_ms: Option<u64>,
}

/// The longest a control request waits for deliveries.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// `POST /__sandbox/sessions/{id}/{pay|cancel|fail|expire}`, body `{}` or
/// `{"waitMs": 10000}`: `{"data": session, "event": {"id", "eventType",
/// "endpoints"} | null}`, and with `waitMs` also `"deliveries": [{"url",
/// "delivered", "status", "attempts", "error"}]` once every endpoint had its
/// first attempt or the wait is over. 404 (no such session), 409 (the action
/// does not apply to its status, or it is already paid).
pub(crate) async fn act(
    AxumState(state): AxumState<Arc<State>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown action {action:?}; use pay, cancel, fail or expire"),
        );
    };
    let body: ActBody = match body_of(&body) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    // A script that pays a paid session has lost track of it: a conflict
    // (the hosted page, where a customer may click twice, just redirects).
    let (session, event) = match actions::act(&state, &id, action) {
        Ok(done) => done,
        Err(e) => return refusal(&e),
    };
    let deliveries = match (body.wait_ms, &event) {
        (Some(ms), Some(event)) => {
            let within = Duration::from_millis(ms).min(MAX_WAIT);
            Some(actions::first_deliveries(&state, event, within).await)
        }
        (Some(_), None) => Some(Vec::new()),
        (None, _) => None,
    };
    // Serialised from a struct, not a `Value`, which would sort the
    // session's fields and the merchant's metadata.
    Json(Acted {
        data: wire::session(&session, &state.base_url, Shape::Status),
        event,
        deliveries,
    })
    .into_response()
}

/// The answer to an action.
#[derive(Serialize)]
struct Acted<'a> {
    data: wire::WireSession<'a>,
    event: Option<SentEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deliveries: Option<Vec<EndpointDelivery>>,
}

/// `GET /__sandbox/deliveries`: the delivery log, one record per attempt;
/// `?per=endpoint`: one entry per event and endpoint
/// ([`Delivery`](crate::Delivery)).
pub(crate) async fn deliveries(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let records = state.store.deliveries();
    match query.get("per").map(String::as_str) {
        None => Json(json!({ "data": records })).into_response(),
        Some("endpoint") => Json(json!({ "data": Delivery::summarise(&records) })).into_response(),
        Some(other) => bad_request(format!("per={other:?}: the only grouping is per=endpoint")),
    }
}

/// The body of a resend.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    /// Where to send it instead of every endpoint.
    to: Option<String>,
}

/// `POST /__sandbox/events/{id}/resend`, body `{}` or `{"to": URL}`: the
/// event's body again, freshly signed, one attempt to every endpoint or to
/// the URL (signed with the secret of the endpoint with that URL, else the
/// first endpoint's): `{"event": {…}, "deliveries": [{"url", "delivered",
/// "status", "attempts", "error"}]}`. 404 (no such event), 409 (no endpoint).
pub(crate) async fn resend(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: ResendBody = match body_of(&body) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let to = match body
        .to
        .as_deref()
        .map(|url| actions::endpoint_for(&state, url))
    {
        None => None,
        Some(Ok(endpoint)) => Some(endpoint),
        Some(Err(e)) => return refusal(&e),
    };
    match actions::resend(&state, &id, to).await {
        Ok((event, deliveries)) => {
            Json(json!({ "event": event, "deliveries": deliveries })).into_response()
        }
        Err(e) => refusal(&e),
    }
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
        Err(e) => return bad_request(format!("not a fault: {e}")),
    };
    match crate::faults::enqueue(&state, request.fault, request.count) {
        Ok(queued) => Json(json!({ "queued": queued })).into_response(),
        Err(why) => bad_request(why),
    }
}

/// `DELETE /__sandbox/faults`.
pub(crate) async fn clear_faults(AxumState(state): AxumState<Arc<State>>) -> Response {
    state.fault_queue().clear();
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
        Err(e) => return bad_request(format!("expected {{\"url\", \"secret\"}}: {e}")),
    };
    let limit = crate::limits::MAX_WEBHOOK_SECRET_BYTES;
    if endpoint.secret.is_empty() || endpoint.secret.len() > limit {
        return bad_request(format!("secret must be 1 to {limit} bytes"));
    }
    match add_endpoint(&state, WebhookEndpoint::new(endpoint.url, endpoint.secret)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => bad_request(why),
    }
}

/// Checks an endpoint's URL against [`crate::limits`].
pub(crate) fn check_endpoint(endpoint: &WebhookEndpoint) -> Result<(), String> {
    use crate::limits::MAX_WEBHOOK_URL_BYTES;
    let url = &endpoint.url;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("url must be an http or https URL".into());
    }
    if url.len() > MAX_WEBHOOK_URL_BYTES {
        return Err(format!("url must be at most {MAX_WEBHOOK_URL_BYTES} bytes"));
    }
    Ok(())
}

/// Adds an endpoint, refusing beyond [`crate::limits::MAX_WEBHOOKS`].
pub(crate) fn add_endpoint(state: &State, endpoint: WebhookEndpoint) -> Result<(), String> {
    check_endpoint(&endpoint)?;
    let mut hooks = state.webhooks_mut();
    if hooks.len() >= crate::limits::MAX_WEBHOOKS {
        return Err(format!(
            "{} webhook endpoints are already registered, the most a sandbox delivers to",
            hooks.len()
        ));
    }
    hooks.push(endpoint);
    Ok(())
}
