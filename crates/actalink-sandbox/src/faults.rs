//! Fault injection for the API routes: the next N requests fail as told.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::state::State;

/// A fault to inject, as posted to `POST /__sandbox/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status (and body and `Retry-After`) without processing the request.
    #[serde(rename_all = "camelCase")]
    Status {
        /// The status code.
        status: u16,
        /// The body (default: a JSON message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// A `Retry-After` value, as sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
    },
    /// Wait this long, then process the request normally.
    #[serde(rename_all = "camelCase")]
    Delay {
        /// The delay in milliseconds.
        delay_ms: u64,
    },
    /// Process the request, then drop the connection after the headers.
    Drop,
    /// Process the request, then send only the first half of the body.
    Truncate,
    /// Process the request, then answer 200 with an HTML page instead of JSON.
    NonJson,
}

/// `POST /__sandbox/faults` body: a fault and how many requests it applies to.
#[derive(Debug, Deserialize)]
pub(crate) struct FaultRequest {
    #[serde(default = "one")]
    pub(crate) count: u32,
    #[serde(flatten)]
    pub(crate) fault: Fault,
}

fn one() -> u32 {
    1
}

/// Checks a fault and its count against [`crate::limits`] before it is queued.
pub(crate) fn check(fault: &Fault, count: u32) -> Result<(), String> {
    use crate::limits::{MAX_FAULT_BODY_BYTES, MAX_FAULT_COUNT, MAX_FAULT_DELAY};
    if count == 0 || count > MAX_FAULT_COUNT {
        return Err(format!(
            "count must be between 1 and {MAX_FAULT_COUNT}, not {count}"
        ));
    }
    match fault {
        Fault::Status {
            status,
            body,
            retry_after,
        } => {
            if !(200..=599).contains(status) {
                return Err(format!("status must be between 200 and 599, not {status}"));
            }
            if body
                .as_ref()
                .is_some_and(|b| b.len() > MAX_FAULT_BODY_BYTES)
            {
                return Err(format!("body must be at most {MAX_FAULT_BODY_BYTES} bytes"));
            }
            if let Some(value) = retry_after
                && (value.len() > 256 || HeaderValue::from_str(value).is_err())
            {
                return Err(
                    "retryAfter must be a header value of at most 256 visible characters".into(),
                );
            }
        }
        Fault::Delay { delay_ms } => {
            let max = MAX_FAULT_DELAY.as_millis();
            if u128::from(*delay_ms) > max {
                return Err(format!(
                    "delayMs must be at most {max} ({} s), not {delay_ms}",
                    MAX_FAULT_DELAY.as_secs()
                ));
            }
        }
        Fault::Drop | Fault::Truncate | Fault::NonJson => {}
    }
    Ok(())
}

/// Queues a checked fault, refusing beyond [`crate::limits::MAX_QUEUED_FAULTS`];
/// returns how many requests the queue now covers.
pub(crate) fn enqueue(state: &State, fault: Fault, count: u32) -> Result<u64, String> {
    check(&fault, count)?;
    let mut faults = state.fault_queue();
    if faults.len() >= crate::limits::MAX_QUEUED_FAULTS {
        return Err(format!(
            "{} faults are already queued, the most a sandbox holds; DELETE /__sandbox/faults to clear them",
            faults.len()
        ));
    }
    faults.push_back((fault, count));
    Ok(faults.iter().map(|(_, n)| u64::from(*n)).sum())
}

/// The middleware on the API routes.
pub(crate) async fn inject(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    state.count_request();
    let Some(fault) = state.next_fault() else {
        return next.run(request).await;
    };
    tracing::debug!(?fault, "injecting a fault");
    match fault {
        Fault::Status {
            status,
            body,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.unwrap_or_else(|| {
                format!(
                    r#"{{"message":"injected fault: HTTP {}"}}"#,
                    status.as_u16()
                )
            });
            let mut response = (status, body).into_response();
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Fault::Delay { delay_ms } => {
            // Capped when queued; capped again here for a fault built in Rust.
            tokio::time::sleep(Duration::from_millis(delay_ms).min(crate::limits::MAX_FAULT_DELAY))
                .await;
            next.run(request).await
        }
        Fault::Drop => {
            let processed = next.run(request).await;
            let stream = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                    "connection dropped by fault injection",
                ))
            });
            let mut response = Response::new(Body::from_stream(stream));
            *response.status_mut() = processed.status();
            response
        }
        Fault::Truncate => {
            let (mut parts, body) = next.run(request).await.into_parts();
            // The sandbox's own response, bounded by what it writes.
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        Fault::NonJson => {
            let _ = next.run(request).await;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Service temporarily unavailable</body></html>",
            )
                .into_response()
        }
    }
}
