//! Webhook delivery: signed exactly as the provider signs, retried with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actalink_transport::{
    Error as TransportError, ErrorKind, Idempotency, Request, Response, RetryPolicy, Transport,
};
use actalink_types::{CheckoutSessionId, Metadata, OrderId, PaylinkId, SessionStatus, TokenAmount};
use actalink_webhooks::{EventType, WebhookSecret};
use http::{HeaderValue, Method, header};
use serde::Serialize;

use crate::state::State;
use crate::store::{DeliveryRecord, SessionRecord};
use crate::{Activity, DeliveryAttempt, GaveUp, WebhookEndpoint, ids, wire};

/// The payment event, serialised straight from these structs (never through
/// `serde_json::Value`, which sorts keys), so the merchant's metadata keeps
/// its order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent<'a> {
    id: String,
    event_type: EventType,
    event_data: WireEventData<'a>,
}

#[derive(Serialize)]
struct WireEventData<'a> {
    data: WireSubject<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSubject<'a> {
    id: String,
    checkout_session_id: &'a CheckoutSessionId,
    order_id: &'a OrderId,
    paylink_id: &'a PaylinkId,
    status: &'a SessionStatus,
    metadata: Option<&'a Metadata>,
    token: WireToken,
}

#[derive(Serialize)]
struct WireToken {
    name: &'static str,
    amount: String,
    symbol: &'static str,
    address: &'static str,
    decimals: u8,
}

/// The event a payment produces.
///
/// Assumption: a paid subscription sends `subscription.billing.scheduled` and
/// a paid one-time checkout `onetime.executed` (the names of the documented
/// examples), one event per payment, and nothing is sent on cancel, failure or
/// expiry; undocumented by the provider, whose event-type table is not
/// visible. Assumption: `eventData.data` also carries `checkoutSessionId`,
/// `orderId`, `paylinkId`, `status` and the session's `metadata`, and `token`
/// carries `decimals`; undocumented by the provider, whose examples end after
/// `token.address` and say only that metadata comes back in webhooks.
fn payment_event(session: &SessionRecord) -> WireEvent<'_> {
    let subscription = session.paylink.is_subscription();
    WireEvent {
        // Assumption: event ids are `event_…` (the Actapay example's form; the
        // Billing examples show UUIDs); undocumented by the provider.
        id: ids::new_id("event"),
        event_type: if subscription {
            EventType::SubscriptionBillingScheduled
        } else {
            EventType::OnetimeExecuted
        },
        event_data: WireEventData {
            data: WireSubject {
                id: ids::new_id(if subscription { "sub" } else { "txn" }),
                checkout_session_id: &session.id,
                order_id: &session.order_id,
                paylink_id: session.paylink.id(),
                status: &session.status,
                metadata: session.metadata.as_ref(),
                token: WireToken {
                    name: "USD Coin",
                    amount: TokenAmount::from_base_units(session.paylink.base_units())
                        .raw()
                        .to_owned(),
                    symbol: "USDC",
                    address: wire::USDC_ADDRESS,
                    decimals: 6,
                },
            },
        },
    }
}

/// Releases a slot of `State::pending_deliveries` when dropped, even if the
/// delivery task panics or is cancelled.
struct PendingSlot(Arc<State>);

impl Drop for PendingSlot {
    fn drop(&mut self) {
        self.0.pending_deliveries.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes a delivery slot, or `None` when `MAX_PENDING_DELIVERIES` are in flight.
fn take_slot(state: &Arc<State>) -> Option<PendingSlot> {
    let max = crate::limits::MAX_PENDING_DELIVERIES;
    state
        .pending_deliveries
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| PendingSlot(Arc::clone(state)))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The retry policy of webhook delivery: `attempts` in all, the wait before
/// retry n (from 0) drawn from `[0, backoff × 2^n]` (at most 16 doublings),
/// as the SDK's own [`RetryPolicy`] waits.
pub(crate) fn policy(attempts: u32, backoff: Duration) -> RetryPolicy {
    let cap = backoff.saturating_mul(1 << 16);
    RetryPolicy::default()
        .with_max_retries(attempts.saturating_sub(1))
        .with_initial_backoff(backoff)
        .with_max_backoff(cap)
        .with_max_retry_after(cap)
}

/// One endpoint's delivery of one event, as a [`Transport`] for
/// [`RetryPolicy::send_with`]: each attempt goes out through the sandbox's
/// transport, is recorded in the delivery log and reported to the observer,
/// and any answer but a 2xx comes back as an error, so that the policy
/// retries it as a failed delivery.
#[derive(Debug)]
struct Attempts<'a> {
    state: &'a State,
    event: &'a EventInfo,
    /// The endpoint's URL without credentials: the only form recorded or shown.
    shown_url: String,
    made: AtomicU32,
}

/// What identifies an event in the delivery log and the observer's reports.
#[derive(Debug)]
struct EventInfo {
    id: String,
    event_type: EventType,
    session_id: CheckoutSessionId,
}

#[async_trait::async_trait]
impl Transport for Attempts<'_> {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let attempt = self.made.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        let started = Instant::now();
        let result = self.state.transport.send(request).await;
        let duration = started.elapsed();
        let (status, error) = match &result {
            Ok(r) if r.status.is_success() => (Some(r.status.as_u16()), None),
            Ok(r) => (
                Some(r.status.as_u16()),
                Some(format!("HTTP {}", r.status.as_u16())),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        let delivered = error.is_none();
        self.record(attempt, status, error.clone(), delivered);
        self.state.notify(|| {
            Activity::Attempt(DeliveryAttempt {
                event_id: self.event.id.clone(),
                event_type: self.event.event_type.clone(),
                session_id: self.event.session_id.clone(),
                url: self.shown_url.clone(),
                attempt,
                max_attempts: self.state.delivery_attempts,
                status,
                error: error.clone(),
                delivered,
                duration,
            })
        });
        // Every failed attempt is retried, as a failed delivery: the policy
        // would give up at once on an unusable URL or an oversized answer.
        let error = error.unwrap_or_default();
        match result {
            Ok(response) if delivered => Ok(response),
            Ok(_) => Err(TransportError::new(ErrorKind::Io, error, None)),
            Err(e) => Err(TransportError::new(ErrorKind::Io, error, Some(Box::new(e)))),
        }
    }
}

impl<'a> Attempts<'a> {
    fn new(state: &'a State, event: &'a EventInfo, endpoint: &WebhookEndpoint) -> Self {
        Self {
            state,
            event,
            shown_url: endpoint.redacted_url(),
            made: AtomicU32::new(0),
        }
    }

    fn record(&self, attempt: u32, status: Option<u16>, error: Option<String>, delivered: bool) {
        self.state.store.record_delivery(DeliveryRecord {
            event_id: self.event.id.clone(),
            session_id: self.event.session_id.clone(),
            url: self.shown_url.clone(),
            attempt,
            status,
            error,
            delivered,
        });
    }

    /// Logs and reports that this endpoint will get no more attempts.
    fn give_up(&self, attempts: u32, error: Option<String>) {
        tracing::warn!(
            event = %self.event.id,
            url = %self.shown_url,
            attempts,
            "webhook delivery gave up"
        );
        self.state.notify(|| {
            Activity::GaveUp(GaveUp {
                event_id: self.event.id.clone(),
                event_type: self.event.event_type.clone(),
                session_id: self.event.session_id.clone(),
                url: self.shown_url.clone(),
                attempts,
                error,
            })
        });
    }
}

/// One signed POST of `body` to `url`, signed anew with the current time.
fn signed_request(url: &str, secret: &WebhookSecret, body: &str) -> Request {
    let mut request = Request::new(Method::POST, url.to_owned())
        .with_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .with_header(
            header::USER_AGENT,
            HeaderValue::from_static("actalink-sandbox"),
        )
        .with_body(body.to_owned())
        .with_timeout(Duration::from_secs(10));
    // `body` is the canonicaliser's own output, which it always reads back,
    // so signing it cannot fail (the only error `sign` has is the
    // canonicaliser's); a request is never sent unsigned in practice.
    if let Ok(signed) = actalink_webhooks::sign(body.as_bytes(), secret, now_ms()) {
        for (name, value) in &signed.to_header_map() {
            request.headers.insert(name.clone(), value.clone());
        }
    }
    request
}

/// Starts delivering the payment event to every endpoint, in the background.
///
/// Assumption: every event goes to every endpoint, concurrently, each with its
/// own retries, so that one endpoint that is down or slow delays no other;
/// credentials in an endpoint's URL are sent as Basic authentication;
/// undocumented by the provider, where endpoints are set up in Acta Hub.
/// Assumption: each endpoint gets up to `delivery_attempts` POSTs (default 5),
/// any 2xx counts as delivered, each attempt times out after 10 s, and the
/// wait before attempt n+1 is drawn at random up to `delivery_backoff` ×
/// 2^(n-1) (default 500 ms, doubling), the SDK's own full-jitter backoff;
/// undocumented by the provider, which states no retry policy.
/// Assumption: the body is compact `JSON.stringify` output (the signature is
/// documented over a re-serialisation, not over the body's bytes), sent with
/// `User-Agent: actalink-sandbox`, each attempt signed anew with the current
/// time in milliseconds; undocumented by the provider beyond the signature.
pub(crate) fn deliver_payment(state: &Arc<State>, session: &SessionRecord) {
    let event = payment_event(session);
    // Send what `JSON.stringify` would: the provider is a Node.js service.
    let Ok(json) = serde_json::to_string(&event) else {
        return;
    };
    let Ok(body) = actalink_webhooks::canonicalize(json.as_bytes()) else {
        return;
    };
    let info = Arc::new(EventInfo {
        id: event.id,
        event_type: event.event_type,
        session_id: session.id.clone(),
    });
    let endpoints = state
        .webhooks
        .read()
        .map(|w| w.clone())
        .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
    // One task per endpoint, each with its own retries: an endpoint that is
    // down or slow delays no other.
    for endpoint in endpoints {
        let Some(slot) = take_slot(state) else {
            tracing::warn!(event = %info.id, "webhook delivery dropped: too many in flight");
            let why = format!(
                "not attempted: {} deliveries were already in flight",
                crate::limits::MAX_PENDING_DELIVERIES
            );
            let attempts = Attempts::new(state, &info, &endpoint);
            attempts.record(0, None, Some(why.clone()), false);
            attempts.give_up(0, Some(why));
            continue;
        };
        let state = Arc::clone(state);
        let body = body.clone();
        let info = Arc::clone(&info);
        tokio::spawn(async move {
            let _slot = slot;
            let attempts = Attempts::new(&state, &info, &endpoint);
            let make = || signed_request(&endpoint.url, &endpoint.secret, &body);
            let outcome = state
                .delivery
                .send_with(&attempts, make, Idempotency::Idempotent, None)
                .await;
            if let Err(e) = outcome.result {
                attempts.give_up(outcome.attempts, Some(e.to_string()));
            }
        });
    }
}
