//! Webhook delivery: signed exactly as the provider signs, each attempt's
//! result classified (delivered, retry, give up), retried with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actalink_transport::{
    Error as TransportError, ErrorKind, Request, Response, RetryPolicy, Transport,
};
use actalink_webhooks::WebhookSecret;
use http::{HeaderValue, Method, header};

use crate::event::{Facts, PaymentEvent};
use crate::state::State;
use crate::store::{DeliveryRecord, SessionRecord, StoredEvent};
use crate::{Activity, DeliveryAttempt, EndpointDelivery, GaveUp, SentEvent, WebhookEndpoint};

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

/// The backoff of webhook delivery: the wait before retry n (from 0) drawn
/// from `[0, backoff × 2^n]` (at most 16 doublings), and `Retry-After`
/// honoured up to the same cap, as the SDK's own [`RetryPolicy`] waits.
pub(crate) fn policy(attempts: u32, backoff: Duration) -> RetryPolicy {
    let cap = backoff.saturating_mul(1 << 16);
    RetryPolicy::default()
        .with_max_retries(attempts.saturating_sub(1))
        .with_initial_backoff(backoff)
        .with_max_backoff(cap)
        .with_max_retry_after(cap)
}

/// What one attempt's result means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A 2xx: delivered.
    Delivered,
    /// Worth another attempt, after the endpoint's `Retry-After` if it sent one.
    Retry(Option<Duration>),
    /// No attempt can succeed (the request itself is unusable).
    GiveUp,
}

/// The retry classifier of webhook delivery.
///
/// Assumption: any 2xx counts as delivered; every other answer (4xx
/// included, since a handler that answers 400 may be fixed and redeployed)
/// and every failure to exchange (no connection, a timeout, a dropped or
/// oversized answer) is retried, after `Retry-After` when the endpoint sent
/// one; only a request that cannot be sent at all (an unusable URL) is given
/// up at once. Undocumented by the provider, which states no retry policy.
pub(crate) fn classify(policy: &RetryPolicy, result: &Result<Response, TransportError>) -> Verdict {
    match result {
        Ok(response) if response.status.is_success() => Verdict::Delivered,
        Ok(response) => Verdict::Retry(policy.retry_after(&response.headers)),
        Err(e) if matches!(e.kind(), ErrorKind::InvalidRequest | ErrorKind::Config) => {
            Verdict::GiveUp
        }
        Err(_) => Verdict::Retry(None),
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

/// One endpoint's delivery of one event: records and reports each attempt.
struct Attempts<'a> {
    state: &'a State,
    event: &'a StoredEvent,
    /// The endpoint's URL without credentials: the only form recorded or shown.
    shown_url: String,
}

impl<'a> Attempts<'a> {
    fn new(state: &'a State, event: &'a StoredEvent, endpoint: &WebhookEndpoint) -> Self {
        Self {
            state,
            event,
            shown_url: endpoint.redacted_url(),
        }
    }

    /// Sends attempt number `attempt` (of at most `max`), then records and
    /// reports it: its status and error.
    async fn attempt(
        &self,
        endpoint: &WebhookEndpoint,
        attempt: u32,
        max: u32,
    ) -> (
        Result<Response, TransportError>,
        Option<u16>,
        Option<String>,
    ) {
        let started = Instant::now();
        let request = signed_request(&endpoint.url, &endpoint.secret, &self.event.body);
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
                max_attempts: max,
                status,
                error: error.clone(),
                delivered,
                duration,
            })
        });
        (result, status, error)
    }

    fn record(&self, attempt: u32, status: Option<u16>, error: Option<String>, delivered: bool) {
        self.state.store.record_delivery(DeliveryRecord {
            event_id: self.event.id.clone(),
            event_type: self.event.event_type.clone(),
            session_id: self.event.session_id.clone(),
            url: self.shown_url.clone(),
            attempt,
            status,
            error,
            delivered,
        });
        self.state.delivered.notify_waiters();
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

    /// Up to `max` attempts, as [`classify`] and the backoff decide.
    async fn deliver(&self, endpoint: &WebhookEndpoint, max: u32) {
        let policy = &self.state.delivery;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, _, error) = self.attempt(endpoint, attempt, max).await;
            let wait = match classify(policy, &result) {
                Verdict::Delivered => return,
                Verdict::GiveUp => None,
                Verdict::Retry(after) => {
                    (attempt < max).then(|| after.unwrap_or_else(|| policy.backoff(attempt - 1)))
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => {
                    self.give_up(attempt, error);
                    return;
                }
            }
        }
    }
}

/// Starts delivering the payment event of `session` to every endpoint, in
/// the background; the event sent.
///
/// Assumption: a paid subscription sends `subscription.billing.scheduled` and
/// a paid one-time checkout `onetime.executed` (the names of the documented
/// examples), one event per payment, and nothing is sent on cancel, failure or
/// expiry; undocumented by the provider, whose event-type table is not
/// visible. Assumption: `eventData.data` also carries `checkoutSessionId`,
/// `orderId`, `paylinkId`, `status` and the session's `metadata` (`{}` when
/// it has none, as the status call shows it), and `token` carries
/// `decimals`; undocumented by the provider, whose examples end after
/// `token.address` and say only that metadata comes back in webhooks.
///
/// Assumption: every event goes to every endpoint, concurrently, each with its
/// own retries, so that one endpoint that is down or slow delays no other;
/// credentials in an endpoint's URL are sent as Basic authentication;
/// undocumented by the provider, where endpoints are set up in Acta Hub.
/// Assumption: each endpoint gets up to `delivery_attempts` POSTs (default 5),
/// each attempt times out after 10 s, a result is retried as [`classify`]
/// says, and the wait before attempt n+1 is drawn at random up to
/// `delivery_backoff` × 2^(n-1) (default 500 ms, doubling), the SDK's own
/// full-jitter backoff; undocumented by the provider, which states no retry
/// policy.
/// Assumption: the body is compact `JSON.stringify` output (the signature is
/// documented over a re-serialisation, not over the body's bytes), sent with
/// `User-Agent: actalink-sandbox`, each attempt signed anew with the current
/// time in milliseconds; undocumented by the provider beyond the signature.
pub(crate) fn deliver_payment(state: &Arc<State>, session: &SessionRecord) -> SentEvent {
    let facts = Facts {
        subscription: session.paylink.is_subscription(),
        session_id: Some(session.id.clone()),
        order_id: Some(session.order_id.clone()),
        paylink_id: Some(session.paylink.id().clone()),
        status: Some(session.status.clone()),
        metadata: Some(session.metadata.clone().unwrap_or_default()),
        base_units: Some(session.paylink.base_units()),
    };
    let event = PaymentEvent::from_facts(facts, None);
    let endpoints = state.endpoints();
    let stored = Arc::new(StoredEvent {
        id: event.id().to_owned(),
        event_type: event.event_type().clone(),
        session_id: session.id.clone(),
        body: event.to_json().into(),
        endpoints: endpoints
            .iter()
            .map(WebhookEndpoint::redacted_url)
            .collect(),
    });
    state.store.record_event(Arc::clone(&stored));
    // One task per endpoint, each with its own retries: an endpoint that is
    // down or slow delays no other.
    for endpoint in endpoints {
        let Some(slot) = take_slot(state) else {
            tracing::warn!(event = %stored.id, "webhook delivery dropped: too many in flight");
            let why = format!(
                "not attempted: {} deliveries were already in flight",
                crate::limits::MAX_PENDING_DELIVERIES
            );
            let attempts = Attempts::new(state, &stored, &endpoint);
            attempts.record(0, None, Some(why.clone()), false);
            attempts.give_up(0, Some(why));
            continue;
        };
        let state = Arc::clone(state);
        let stored = Arc::clone(&stored);
        tokio::spawn(async move {
            let _slot = slot;
            let max = state.delivery_attempts;
            Attempts::new(&state, &stored, &endpoint)
                .deliver(&endpoint, max)
                .await;
        });
    }
    SentEvent::of(&stored)
}

/// Sends a past event once more to each of `endpoints`, its body unchanged
/// and freshly signed, one attempt each, concurrently; what each answered.
///
/// Assumption: a resend is one attempt per endpoint, numbered after the
/// event's earlier attempts there, recorded and reported like any other;
/// undocumented by the provider, whose Acta Hub resend (if any) is not
/// documented.
pub(crate) async fn resend(
    state: &Arc<State>,
    event: &StoredEvent,
    endpoints: &[WebhookEndpoint],
) -> Vec<EndpointDelivery> {
    let sends = endpoints.iter().map(|endpoint| async move {
        let attempts = Attempts::new(state, event, endpoint);
        let before = state
            .store
            .deliveries_of(&event.id)
            .iter()
            .filter(|d| d.url == attempts.shown_url)
            .count();
        let number = u32::try_from(before).unwrap_or(u32::MAX).saturating_add(1);
        let (_, status, error) = attempts.attempt(endpoint, number, number).await;
        EndpointDelivery {
            url: attempts.shown_url.clone(),
            delivered: error.is_none(),
            status,
            attempts: number,
            error,
        }
    });
    futures_util::future::join_all(sends).await
}

/// True for a status the classifier counts as delivered (for the tests).
#[cfg(test)]
fn is_delivered(status: http::StatusCode) -> bool {
    let policy = policy(5, Duration::from_millis(1));
    classify(&policy, &Ok(Response::new(status, Vec::new()))) == Verdict::Delivered
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    #[test]
    fn the_classifier_delivers_on_2xx_retries_the_rest_and_honours_retry_after() {
        assert!(is_delivered(StatusCode::OK));
        assert!(is_delivered(StatusCode::NO_CONTENT));
        assert!(!is_delivered(StatusCode::BAD_REQUEST));
        let policy = policy(5, Duration::from_millis(100));
        let busy = Response::new(StatusCode::SERVICE_UNAVAILABLE, Vec::new())
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(
            classify(&policy, &Ok(busy)),
            Verdict::Retry(Some(Duration::from_secs(2)))
        );
        let refused = Response::new(StatusCode::UNAUTHORIZED, Vec::new());
        assert_eq!(classify(&policy, &Ok(refused)), Verdict::Retry(None));
        let io = TransportError::new(ErrorKind::Io, "reset", None);
        assert_eq!(classify(&policy, &Err(io)), Verdict::Retry(None));
        let unusable = TransportError::new(ErrorKind::InvalidRequest, "bad URL", None);
        assert_eq!(classify(&policy, &Err(unusable)), Verdict::GiveUp);
    }
}
