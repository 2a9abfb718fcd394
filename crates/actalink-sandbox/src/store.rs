//! Where the sandbox keeps its sessions and delivery log.

use std::collections::HashMap;
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
    /// 1 for the first attempt.
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
/// concurrently.
pub trait Store: Send + Sync + Debug + 'static {
    /// Saves a new session; returns false (and saves nothing) when the id is taken.
    fn insert(&self, session: SessionRecord) -> bool;
    /// A session by id.
    fn get(&self, id: &str) -> Option<SessionRecord>;
    /// Applies `change` to a session atomically and returns the result.
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

/// A [`Store`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: RwLock<HashMap<String, SessionRecord>>,
    deliveries: Mutex<Vec<DeliveryRecord>>,
}

impl Store for MemoryStore {
    fn insert(&self, session: SessionRecord) -> bool {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if sessions.contains_key(&session.id) {
            return false;
        }
        sessions.insert(session.id.clone(), session);
        true
    }

    fn get(&self, id: &str) -> Option<SessionRecord> {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
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
        let session = sessions.get_mut(id)?;
        change(session);
        Some(session.clone())
    }

    fn count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn record_delivery(&self, record: DeliveryRecord) {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn delivery_count(&self) -> usize {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
