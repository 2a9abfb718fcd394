//! The webhook endpoint: a verified event prompts a check of its order.

use actalink_webhooks::{Event, VerifiedEvent};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use crate::{AppState, Order, Source, Transition, check_within_budget, payment};

/// The webhook route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/actalink", post(webhook))
}

/// The order an event is about: by the order id in its metadata, or else by
/// the checkout session it names.
fn order_of(state: &AppState, event: &Event) -> rusqlite::Result<Option<Order>> {
    if let Some(id) = event.metadata_value(payment::ORDER_ID_KEY)
        && let Some(order) = state.db.order(id)?
    {
        return Ok(Some(order));
    }
    match &event.data.checkout_session_id {
        Some(session_id) => state.db.order_by_session(session_id.as_str()),
        None => Ok(None),
    }
}

/// The webhook endpoint. The extractor verifies the signature (a forged
/// event gets 400); a verified event only prompts a check of its order with
/// Actalink. Answers 200 for every event handled or deliberately ignored, and
/// 503 when the check could not be made, so that the provider retries.
async fn webhook(
    State(state): State<AppState>,
    VerifiedEvent(event): VerifiedEvent,
) -> (StatusCode, String) {
    // The event id, or a hash of the signed content when it has none.
    let key = event.dedup_key();
    let event_type = event
        .event_type
        .as_ref()
        .map_or("(none)", |t| t.as_str())
        .to_owned();
    let failed = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, event = %key, "could not process the webhook; the provider will retry");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "could not process the event now; please retry\n".to_owned(),
        )
    };
    match state.db.event_seen(&key) {
        Ok(true) => return (StatusCode::OK, "duplicate\n".into()),
        Ok(false) => {}
        Err(e) => return failed(&e),
    }
    let order = match order_of(&state, &event) {
        Ok(order) => order,
        Err(e) => return failed(&e),
    };
    let transition = match &order {
        None => Transition::UnknownOrder,
        Some(order) => match check_within_budget(&state, &order.id, Source::Webhook).await {
            Ok(transition) => transition,
            Err(e) => return failed(&e),
        },
    };
    tracing::info!(
        event = %key,
        event_type = %event_type,
        order = ?order.as_ref().map(|o| o.id.as_str()),
        outcome = transition.label(),
        "webhook handled"
    );
    if let Err(e) = state.db.record_event(
        &key,
        &event_type,
        order.as_ref().map(|o| o.id.as_str()),
        transition.label(),
    ) {
        // The check itself is idempotent, so a retry is harmless.
        return failed(&e);
    }
    (StatusCode::OK, format!("{}\n", transition.label()))
}
