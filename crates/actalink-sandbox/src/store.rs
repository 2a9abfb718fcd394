//! Where the sandbox keeps its sessions and delivery log.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use actalink_types::{CheckoutSessionId, Metadata, OrderId, OrderStatus, SessionStatus};
use actalink_webhooks::EventType;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Paylink;

/// The state of one checkout session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionRecord {
    pub(crate) id: CheckoutSessionId,
    pub(crate) order_id: OrderId,
    pub(crate) status: SessionStatus,
    pub(crate) order_status: OrderStatus,
    /// The paylink bought.
    pub(crate) paylink: Paylink,
    /// The merchant's metadata, in the order it was sent.
    pub(crate) metadata: Option<Metadata>,
    /// Redirect after payment, cancelling, a failed payment.
    pub(crate) success_url: Option<String>,
    pub(crate) cancel_url: Option<String>,
    pub(crate) failure_url: Option<String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) expires_at: OffsetDateTime,
    /// When the paid period started and ends.
    pub(crate) started_at: Option<OffsetDateTime>,
    pub(crate) end_at: Option<OffsetDateTime>,
    /// The payer's wallet and the transaction hash, once paid.
    pub(crate) sender_address: Option<String>,
    pub(crate) hash: Option<String>,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The event delivered.
    pub event_id: String,
    /// Its type, such as `onetime.executed`.
    pub event_type: EventType,
    /// The session it is about.
    pub session_id: CheckoutSessionId,
    /// The endpoint, without credentials (see
    /// [`WebhookEndpoint::redacted_url`](crate::WebhookEndpoint::redacted_url)).
    pub url: String,
    /// 1 for the first attempt; 0 when the delivery was not attempted
    /// because [`MAX_PENDING_DELIVERIES`](crate::limits::MAX_PENDING_DELIVERIES)
    /// deliveries were already in flight.
    pub attempt: u32,
    /// The endpoint's status, when it answered.
    pub status: Option<u16>,
    /// The failure, when it did not answer 2xx.
    pub error: Option<String>,
    /// True when the endpoint answered 2xx.
    pub delivered: bool,
}

/// The sessions and the delivery log, in memory and bounded: beyond its
/// limits the oldest sessions and the oldest delivery records are evicted
/// (see [`crate::limits`]). Every method is safe to call concurrently.
pub(crate) struct MemoryStore {
    max_sessions: usize,
    max_session_bytes: usize,
    max_deliveries: usize,
    sessions: RwLock<Sessions>,
    deliveries: Mutex<VecDeque<DeliveryRecord>>,
    events: Mutex<Events>,
}

/// An event the sandbox sent, kept so that it can be sent again (resend):
/// its body exactly, and where it went.
#[derive(Debug)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    pub(crate) event_type: EventType,
    pub(crate) session_id: CheckoutSessionId,
    /// The body as signed and sent.
    pub(crate) body: Arc<str>,
    /// The endpoints it went to, without credentials.
    pub(crate) endpoints: Vec<String>,
}

/// The events sent, oldest first, and the bytes their bodies take.
#[derive(Default)]
struct Events {
    list: VecDeque<Arc<StoredEvent>>,
    bytes: usize,
}

/// The sessions, their insertion order (for eviction) and their approximate size.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, (SessionRecord, usize)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.count())
            .field("deliveries", &self.delivery_count())
            .field("max_sessions", &self.max_sessions)
            .field("max_session_bytes", &self.max_session_bytes)
            .field("max_deliveries", &self.max_deliveries)
            .finish()
    }
}

/// Roughly what a session costs in memory: its text plus a fixed overhead.
fn approximate_size(s: &SessionRecord) -> usize {
    let text = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    let paylink = &s.paylink;
    let metadata = s
        .metadata
        .as_ref()
        .map_or(0, |m| m.iter().map(|(k, v)| k.len() + v.len() + 48).sum());
    [
        512,
        s.id.as_str().len(),
        s.order_id.as_str().len(),
        s.status.as_str().len(),
        s.order_status.as_str().len(),
        paylink.id().as_str().len(),
        paylink.product_id().as_str().len(),
        paylink.name().len(),
        paylink.description().len(),
        paylink.price().raw().len(),
        paylink.price_decimal().len(),
        paylink.interval_unit().map_or(0, |u| u.as_str().len()),
        metadata,
        text(&s.success_url),
        text(&s.cancel_url),
        text(&s.failure_url),
        text(&s.sender_address),
        text(&s.hash),
    ]
    .iter()
    .fold(0usize, |sum, n| sum.saturating_add(*n))
}

impl MemoryStore {
    /// A store that keeps at most `max_sessions` sessions taking about
    /// `max_session_bytes` of memory, and at most `max_deliveries` delivery
    /// records; beyond them the oldest are evicted. Each limit is at least 1.
    #[must_use]
    pub(crate) fn with_limits(
        max_sessions: usize,
        max_session_bytes: usize,
        max_deliveries: usize,
    ) -> Self {
        Self {
            max_sessions: max_sessions.max(1),
            max_session_bytes: max_session_bytes.max(1),
            max_deliveries: max_deliveries.max(1),
            sessions: RwLock::default(),
            deliveries: Mutex::default(),
            events: Mutex::default(),
        }
    }

    // Every lock below recovers from poisoning: a panic can only happen before
    // a change is committed (each change is computed on a copy first), so the
    // data behind a poisoned lock is whole.

    /// Saves a new session; false (and nothing saved) when the id is taken.
    pub(crate) fn insert(&self, session: SessionRecord) -> bool {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if sessions.by_id.contains_key(session.id.as_str()) {
            return false;
        }
        let size = approximate_size(&session);
        let id = session.id.as_str().to_owned();
        sessions.order.push_back(id.clone());
        sessions.by_id.insert(id, (session, size));
        sessions.bytes = sessions.bytes.saturating_add(size);
        // Evict the oldest, but never the session just inserted.
        while sessions.by_id.len() > 1
            && (sessions.by_id.len() > self.max_sessions || sessions.bytes > self.max_session_bytes)
        {
            let Some(oldest) = sessions.order.pop_front() else {
                break;
            };
            if let Some((_, size)) = sessions.by_id.remove(&oldest) {
                sessions.bytes = sessions.bytes.saturating_sub(size);
            }
        }
        true
    }

    /// A session by id.
    pub(crate) fn get(&self, id: &str) -> Option<SessionRecord> {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .get(id)
            .map(|(session, _)| session.clone())
    }

    /// Applies `change` to a session atomically and returns the result. If
    /// `change` panics, the stored session stays as it was: a copy is changed,
    /// then committed.
    pub(crate) fn update(
        &self,
        id: &str,
        change: &mut dyn FnMut(&mut SessionRecord),
    ) -> Option<SessionRecord> {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let sessions = &mut *sessions;
        let (stored, size) = sessions.by_id.get_mut(id)?;
        // Change a copy and commit it whole: if `change` panics, the stored
        // session is untouched.
        let mut next = stored.clone();
        change(&mut next);
        let new_size = approximate_size(&next);
        sessions.bytes = sessions
            .bytes
            .saturating_sub(*size)
            .saturating_add(new_size);
        *size = new_size;
        *stored = next;
        Some(stored.clone())
    }

    /// How many sessions are kept.
    pub(crate) fn count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }

    /// Appends a delivery attempt to the log.
    pub(crate) fn record_delivery(&self, record: DeliveryRecord) {
        let mut deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while deliveries.len() >= self.max_deliveries {
            deliveries.pop_front();
        }
        deliveries.push_back(record);
    }

    /// The delivery log, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The attempts at delivering one event, oldest first: filtered under
    /// the lock, so that a caller waiting on one event copies only its own.
    pub(crate) fn deliveries_of(&self, event_id: &str) -> Vec<DeliveryRecord> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| d.event_id == event_id)
            .cloned()
            .collect()
    }

    /// Keeps an event sent, evicting the oldest beyond
    /// [`MAX_EVENTS`](crate::limits::MAX_EVENTS) events or
    /// [`MAX_EVENT_BYTES`](crate::limits::MAX_EVENT_BYTES) of bodies.
    pub(crate) fn record_event(&self, event: Arc<StoredEvent>) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.bytes = events.bytes.saturating_add(event.body.len());
        events.list.push_back(event);
        while events.list.len() > 1
            && (events.list.len() > crate::limits::MAX_EVENTS
                || events.bytes > crate::limits::MAX_EVENT_BYTES)
        {
            if let Some(oldest) = events.list.pop_front() {
                events.bytes = events.bytes.saturating_sub(oldest.body.len());
            }
        }
    }

    /// An event sent, by id (`None` when unknown or evicted).
    pub(crate) fn event(&self, id: &str) -> Option<Arc<StoredEvent>> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .list
            .iter()
            .rev()
            .find(|e| e.id == id)
            .cloned()
    }

    /// How many delivery attempts are logged.
    pub(crate) fn delivery_count(&self) -> usize {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
impl SessionRecord {
    /// An open session of `paylink`, created now, for the unit tests.
    pub(crate) fn open_for_test(id: &str, paylink: Paylink) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            id: CheckoutSessionId::new(id).unwrap(),
            order_id: OrderId::new("ord_1").unwrap(),
            status: SessionStatus::Open,
            order_status: OrderStatus::Pending,
            paylink,
            metadata: None,
            success_url: None,
            cancel_url: None,
            failure_url: None,
            created_at: now,
            expires_at: now + time::Duration::HOUR,
            started_at: None,
            end_at: None,
            sender_address: None,
            hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_with_large_metadata_are_evicted_by_size() {
        let store = MemoryStore::with_limits(1_000, 40_000, 10);
        let paylink = Paylink::onetime("paylink_b", "prod_b", "B", "1").unwrap();
        let big = "x".repeat(10_000);
        for i in 0..10 {
            let mut session =
                SessionRecord::open_for_test(&format!("checkout_{i}"), paylink.clone());
            let mut metadata = Metadata::new();
            metadata.insert("blob", &big).unwrap();
            metadata.insert("n", i.to_string()).unwrap();
            session.metadata = Some(metadata);
            assert!(store.insert(session));
        }
        let kept = store.count();
        assert!(
            (2..=4).contains(&kept),
            "about 40 kB of 10 kB sessions: {kept}"
        );
        assert!(store.get("checkout_9").is_some(), "the newest is kept");
        assert!(store.get("checkout_0").is_none(), "the oldest is evicted");
    }
}
