//! The webhook endpoint: a verified event is stored, then prompts a check.

use actalink_webhooks::VerifiedEvent;
use axum::Router;
use axum::extract::State;
use axum::routing::post;

use crate::{AppError, AppState};

/// The webhook route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/actalink", post(webhook))
}

/// The webhook endpoint. The extractor verifies the signature (a forged
/// event gets 400, before anything is stored). A verified event goes to
/// [`Payments::handle_event`](actalink_payments::Payments::handle_event):
/// it is stored in the inbox (once per dedup key) and committed, and only
/// then prompts a status check; the event alone never marks anything paid.
///
/// `Ok` answers 200 with what happened (`paid`, `duplicate`, `no matching
/// payment`, `stored; the check will be retried`, …): the event is stored,
/// and a check that could not be made is retried by the reconciler. `Err`
/// (the event could not be stored) answers 503, so that the provider
/// delivers it again.
async fn webhook(
    State(state): State<AppState>,
    VerifiedEvent(event): VerifiedEvent,
) -> Result<String, AppError> {
    let outcome = state
        .payments
        .handle_event(&event)
        .await
        .map_err(AppError::EventNotStored)?;
    tracing::info!(
        event = %outcome.dedup_key,
        event_type = event.event_type.as_ref().map_or("(none)", |t| t.as_str()),
        payment = ?outcome.payment.as_ref().map(|id| id.as_str()),
        outcome = outcome.label(),
        "webhook handled"
    );
    Ok(format!("{}\n", outcome.label()))
}
