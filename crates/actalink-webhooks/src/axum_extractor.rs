//! The axum extractor (feature `axum`).

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::{Error, Event, Verifier};

/// An extractor that verifies the request with the [`Verifier`] in your state
/// and hands your handler the decoded [`Event`].
///
/// It reads the raw body itself, so put it last among your extractors and do
/// not add a JSON extractor. A request that fails verification (forged,
/// replayed outside the tolerance, missing headers, over the size cap, not
/// JSON) is answered `400 Bad Request` with the reason as plain text, and a
/// `tracing` warning (without the secret or the body) is logged.
///
/// A genuinely signed body always reaches your handler, whatever its shape:
/// decide there what to do with an event that is not
/// [`recognised`](Event::is_recognised), and answer it 2xx so the provider
/// does not retry it.
///
/// ```
/// use actalink_webhooks::{VerifiedEvent, Verifier};
/// use axum::{Router, routing::post};
///
/// async fn webhook(VerifiedEvent(event): VerifiedEvent) -> &'static str {
///     if !event.is_recognised() {
///         eprintln!("unrecognised webhook: {}", event.raw_json());
///         return "ignored";
///     }
///     println!("{} {:?}", event.dedup_key(), event.metadata_value("internal_order_id"));
///     "ok"
/// }
///
/// let app: Router = Router::new()
///     .route("/webhooks/actalink", post(webhook))
///     .with_state(Verifier::new("whsec_from_acta_hub"));
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedEvent(pub Event);

/// The response sent when [`VerifiedEvent`] rejects a request.
#[derive(Debug)]
pub struct WebhookRejection {
    error: Error,
}

impl WebhookRejection {
    /// Why the request was rejected.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            format!("webhook rejected: {}\n", self.error),
        )
            .into_response()
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let (parts, body) = request.into_parts();
        let limit = verifier.body_limit();
        let reject = |error: Error| {
            tracing::warn!(error = %error, "actalink webhook rejected");
            WebhookRejection { error }
        };
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| reject(Error::BodyTooLarge { limit }))?;
        verifier
            .verify(&bytes, &parts.headers)
            .map(VerifiedEvent)
            .map_err(reject)
    }
}
