//! Webhook delivery: signed exactly as the provider signs, retried with backoff.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actalink_transport::{Request, Transport};
use actalink_types::TokenAmount;
use http::{HeaderValue, Method, header};
use serde_json::json;

use crate::state::State;
use crate::store::{DeliveryRecord, SessionRecord};
use crate::{ids, wire};

/// The event a payment produces. Which event the provider sends for a paid
/// checkout is undocumented: a subscription gets `subscription.billing.scheduled`,
/// a one-time payment `onetime.executed`, the names of the documented examples.
/// The session's metadata and id ride along in `eventData.data`.
fn payment_event(session: &SessionRecord) -> serde_json::Value {
    let subscription = session.paylink.is_subscription();
    json!({
        "id": ids::new_id("event"),
        "eventType": if subscription { "subscription.billing.scheduled" } else { "onetime.executed" },
        "eventData": {
            "data": {
                "id": ids::new_id(if subscription { "sub" } else { "txn" }),
                "checkoutSessionId": session.id,
                "orderId": session.order_id,
                "paylinkId": session.paylink.id,
                "status": session.status,
                "metadata": session.metadata,
                "token": {
                    "name": "USD Coin",
                    "amount": TokenAmount::from_base_units(session.paylink.base_units()).raw(),
                    "symbol": "USDC",
                    "address": wire::USDC_ADDRESS,
                    "decimals": 6,
                },
            },
        },
    })
}

/// Starts delivering the payment event to every endpoint, in the background.
pub(crate) fn deliver_payment(state: &Arc<State>, session: &SessionRecord) {
    let event = payment_event(session);
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    // Send what `JSON.stringify` would: the provider is a Node.js service.
    let Ok(body) = actalink_webhooks::canonicalize(event.to_string().as_bytes()) else {
        return;
    };
    let endpoints = state.webhooks.read().map(|w| w.clone()).unwrap_or_default();
    for endpoint in endpoints {
        let state = Arc::clone(state);
        let body = body.clone();
        let event_id = event_id.clone();
        let session_id = session.id.clone();
        tokio::spawn(async move {
            for attempt in 1..=state.delivery_attempts {
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let Ok(signed) = actalink_webhooks::sign(body.as_bytes(), &endpoint.secret, now_ms)
                else {
                    return;
                };
                let mut request = Request::new(Method::POST, endpoint.url.clone())
                    .with_header(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )
                    .with_header(
                        header::USER_AGENT,
                        HeaderValue::from_static("actalink-sandbox"),
                    )
                    .with_body(body.clone())
                    .with_timeout(Duration::from_secs(10));
                for (name, value) in &signed.to_header_map() {
                    request.headers.insert(name.clone(), value.clone());
                }
                let result = state.transport.send(request).await;
                let (status, error, delivered) = match &result {
                    Ok(r) if r.status.is_success() => (Some(r.status.as_u16()), None, true),
                    Ok(r) => (
                        Some(r.status.as_u16()),
                        Some(format!("HTTP {}", r.status.as_u16())),
                        false,
                    ),
                    Err(e) => (None, Some(e.to_string()), false),
                };
                state.store.record_delivery(DeliveryRecord {
                    event_id: event_id.clone(),
                    session_id: session_id.clone(),
                    url: endpoint.url.clone(),
                    attempt,
                    status,
                    error,
                    delivered,
                });
                if delivered {
                    return;
                }
                let backoff = state
                    .delivery_backoff
                    .saturating_mul(1 << (attempt - 1).min(16));
                tokio::time::sleep(backoff).await;
            }
            tracing::warn!(event = %event_id, url = %endpoint.url, "webhook delivery gave up");
        });
    }
}
