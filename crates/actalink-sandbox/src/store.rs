//! Where the sandbox keeps its sessions and delivery log.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::{Mutex, PoisonError, RwLock};

use actalink_types::Metadata;
use serde::Serialize;
use time::OffsetDateTime;

use crate::Paylink;

/// The state of one checkout session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// `checkout_…`.
    pub id: String,
    /// `ord_…`.
    pub order_id: String,
    /// `open`, `success`, `failure` or `timeout`.
    pub status: String,
    /// `PENDING`, `ONGOING` or `COMPLETED`.
    pub order_status: String,
    /// The paylink bought.
    pub paylink: Paylink,
    /// The merchant's metadata.
    pub metadata: Option<Metadata>,
    /// Redirect after payment.
    pub success_url: Option<String>,
    /// Redirect after cancelling.
    pub cancel_url: Option<String>,
    /// Redirect after a failed payment.
    pub failure_url: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry time.
    pub expires_at: OffsetDateTime,
    /// When the paid period started.
    pub started_at: Option<OffsetDateTime>,
    /// When the paid period ends.
    pub end_at: Option<OffsetDateTime>,
    /// The payer's wallet, once paid.
    pub sender_address: Option<String>,
    /// The transaction hash, once paid.
    pub hash: Option<String>,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The event delivered.
    pub event_id: String,
    /// The session it is about.
    pub session_id: String,
    /// The endpoint.
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

/// Storage for the sandbox. The in-memory [`MemoryStore`] is the default;
/// implement this to keep state elsewhere. Every method must be safe to call
/// concurrently, and an implementation should bound what it keeps, as
/// [`MemoryStore`] does.
pub trait Store: Send + Sync + Debug + 'static {
    /// Saves a new session; returns false (and saves nothing) when the id is taken.
    fn insert(&self, session: SessionRecord) -> bool;
    /// A session by id.
    fn get(&self, id: &str) -> Option<SessionRecord>;
    /// Applies `change` to a session atomically and returns the result. If
    /// `change` panics, the stored session must stay as it was (change a copy,
    /// then commit it).
    fn update(&self, id: &str, change: &mut dyn FnMut(&mut SessionRecord))
    -> Option<SessionRecord>;
    /// How many sessions exist.
    fn count(&self) -> usize;
    /// Appends a delivery attempt to the log.
    fn record_delivery(&self, record: DeliveryRecord);
    /// The delivery log, oldest first.
    fn deliveries(&self) -> Vec<DeliveryRecord>;
    /// How many delivery attempts are logged. Override it when the log is large.
    fn delivery_count(&self) -> usize {
        self.deliveries().len()
    }
}

/// A [`Store`] in memory, bounded: beyond its limits the oldest sessions and
/// the oldest delivery records are evicted (see [`crate::limits`]).
pub struct MemoryStore {
    max_sessions: usize,
    max_session_bytes: usize,
    max_deliveries: usize,
    sessions: RwLock<Sessions>,
    deliveries: Mutex<VecDeque<DeliveryRecord>>,
}

/// The sessions, their insertion order (for eviction) and their approximate size.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, (SessionRecord, usize)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_limits(
            crate::limits::DEFAULT_MAX_SESSIONS,
            crate::limits::DEFAULT_MAX_SESSION_BYTES,
            crate::limits::DEFAULT_MAX_DELIVERIES,
        )
    }
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
        s.id.len(),
        s.order_id.len(),
        s.status.len(),
        s.order_status.len(),
        paylink.id.len(),
        paylink.product_id.len(),
        paylink.name.len(),
        paylink.description.len(),
        paylink.price.len(),
        text(&paylink.interval_unit),
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
    /// A store in memory with the default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that keeps at most `max_sessions` sessions taking about
    /// `max_session_bytes` of memory, and at most `max_deliveries` delivery
    /// records; beyond them the oldest are evicted. Each limit is at least 1.
    #[must_use]
    pub fn with_limits(
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
        }
    }
}

// Every lock below recovers from poisoning: a panic can only happen before a
// change is committed (each change is computed on a copy first), so the data
// behind a poisoned lock is whole.
impl Store for MemoryStore {
    fn insert(&self, session: SessionRecord) -> bool {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if sessions.by_id.contains_key(&session.id) {
            return false;
        }
        let size = approximate_size(&session);
        sessions.order.push_back(session.id.clone());
        sessions.by_id.insert(session.id.clone(), (session, size));
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

    fn get(&self, id: &str) -> Option<SessionRecord> {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .get(id)
            .map(|(session, _)| session.clone())
    }

    fn update(
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

    fn count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }

    fn record_delivery(&self, record: DeliveryRecord) {
        let mut deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while deliveries.len() >= self.max_deliveries {
            deliveries.pop_front();
        }
        deliveries.push_back(record);
    }

    fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    fn delivery_count(&self) -> usize {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
