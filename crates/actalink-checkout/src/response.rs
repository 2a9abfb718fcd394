//! Turning responses into sessions or errors.

use actalink_transport::Response;
use actalink_types::CheckoutSession;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::{ApiError, Error, Result};

const SNIPPET_BYTES: usize = 512;

#[derive(Deserialize)]
struct Envelope {
    data: CheckoutSession,
}

/// Decodes a 2xx body: `{"data": session}` as documented, or a bare session
/// object. The session decodes tolerantly (see `actalink_types`), so this
/// fails only when the body is not JSON, or the session lacks an `id` or a
/// `status`.
pub(crate) fn decode(response: &Response) -> Result<CheckoutSession> {
    // The plain decoder is about twice as fast as the path-tracking one,
    // which runs only to explain a failure.
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(&response.body) {
        return Ok(envelope.data);
    }
    if let Ok(session) = serde_json::from_slice::<CheckoutSession>(&response.body) {
        return Ok(session);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&response.body);
    match serde_path_to_error::deserialize::<_, Envelope>(&mut deserializer) {
        Ok(envelope) => Ok(envelope.data),
        Err(e) => Err(Error::Decode {
            path: e.path().to_string(),
            source: e.into_inner(),
            status: response.status,
            request_id: request_id(&response.headers),
            body_snippet: snippet(&response.body),
        }),
    }
}

/// The typed error for a non-2xx response.
pub(crate) fn api_error(
    response: &Response,
    attempts: u32,
    retry_after: impl FnOnce(&HeaderMap) -> Option<std::time::Duration>,
) -> Error {
    let error = ApiError {
        status: response.status,
        request_id: request_id(&response.headers),
        message: pick_message(&response.body),
        body_snippet: snippet(&response.body),
        attempts,
    };
    match response.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized(error),
        StatusCode::NOT_FOUND => Error::NotFound(error),
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
            retry_after: retry_after(&response.headers),
            error,
        },
        status if status.is_server_error() => Error::Server(error),
        _ => Error::Api(error),
    }
}

/// The first request-id header present, among those that proxies and APIs commonly set.
fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "x-correlation-id",
    ]
    .iter()
    .find_map(|name| headers.get(*name)?.to_str().ok())
    .map(str::to_owned)
}

/// At most [`SNIPPET_BYTES`] of the body, cut on a character boundary.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    text.trim_end_matches('\u{fffd}').to_owned()
}

/// The server's message: `message`, `error` (a string), `error.message`, or `errors[0].message`.
fn pick_message(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let candidates = [
        json.get("message"),
        json.get("error"),
        json.get("error").and_then(|e| e.get("message")),
        json.get("errors")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("message")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_picked_from_common_shapes() {
        assert_eq!(
            pick_message(br#"{"message":"bad key"}"#).as_deref(),
            Some("bad key")
        );
        assert_eq!(
            pick_message(br#"{"error":"nope"}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(
            pick_message(br#"{"error":{"message":"deep"}}"#).as_deref(),
            Some("deep")
        );
        assert_eq!(
            pick_message(br#"{"errors":[{"message":"first"}]}"#).as_deref(),
            Some("first")
        );
        assert_eq!(pick_message(b"<html>502</html>"), None);
        assert_eq!(pick_message(br#"{"message":""}"#), None);
    }

    #[test]
    fn snippets_are_bounded_and_cut_on_characters() {
        let body = "é".repeat(400);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_BYTES);
        assert!(s.chars().all(|c| c == 'é'));
    }

    fn ok(body: &str) -> Response {
        Response::new(StatusCode::OK, body.as_bytes().to_vec())
    }

    #[test]
    fn wrapped_and_bare_sessions_decode_and_the_rest_names_its_path() {
        let wrapped = decode(&ok(r#"{"data":{"id":"checkout_1","status":"success"}}"#)).unwrap();
        assert!(wrapped.is_paid());
        let bare = decode(&ok(r#"{"id":"checkout_1","status":"success"}"#)).unwrap();
        assert_eq!(bare, wrapped);
        let err = decode(&ok(r#"{"data":{"id":"checkout_1"}}"#)).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { path, .. } if path == "data"),
            "{err:?}"
        );
        assert!(err.to_string().contains("status"), "{err}");
    }
}
