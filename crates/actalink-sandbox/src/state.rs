//! The sandbox's shared state and the session transitions.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use actalink_transport::ReqwestTransport;
use actalink_webhooks::WebhookSecret;
use time::OffsetDateTime;

use crate::faults::Fault;
use crate::store::{SessionRecord, Store};
use crate::{Catalogue, ids};

/// A webhook endpoint the sandbox delivers to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookEndpoint {
    /// Where to POST events.
    pub url: String,
    /// The signing secret.
    pub secret: WebhookSecret,
}

impl WebhookEndpoint {
    /// An endpoint.
    pub fn new(url: impl Into<String>, secret: impl Into<WebhookSecret>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
        }
    }
}

pub(crate) struct State {
    pub(crate) base_url: String,
    pub(crate) api_keys: Vec<String>,
    pub(crate) catalogue: Catalogue,
    pub(crate) session_ttl: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) webhooks: RwLock<Vec<WebhookEndpoint>>,
    pub(crate) delivery_attempts: u32,
    pub(crate) delivery_backoff: Duration,
    pub(crate) transport: ReqwestTransport,
    pub(crate) faults: Mutex<VecDeque<(Fault, u32)>>,
    pub(crate) api_requests: AtomicU64,
}

/// What a customer or the control API does to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Pay,
    Cancel,
    Fail,
    Expire,
}

impl Action {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "pay" => Some(Self::Pay),
            "cancel" => Some(Self::Cancel),
            "fail" => Some(Self::Fail),
            "expire" => Some(Self::Expire),
            _ => None,
        }
    }
}

/// The result of applying an [`Action`].
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The session changed (or, for cancel or a repeated payment, stayed as it was).
    Done {
        session: SessionRecord,
    },
    /// The session is in a state the action cannot apply to.
    Conflict(SessionRecord),
    NotFound,
}

/// Turns an open session past its expiry into `timeout`.
pub(crate) fn expire_if_due(session: &mut SessionRecord, now: OffsetDateTime) {
    if session.status == "open" && now >= session.expires_at {
        session.status = "timeout".into();
    }
}

impl State {
    pub(crate) fn next_fault(&self) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let (fault, remaining) = faults.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            faults.pop_front();
        }
        Some(fault)
    }

    pub(crate) fn count_request(&self) {
        self.api_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A session as it stands now (expired if due).
    pub(crate) fn session(&self, id: &str) -> Option<SessionRecord> {
        let now = OffsetDateTime::now_utc();
        let session = self.store.get(id)?;
        // Take the store's write path only when there is something to change.
        if session.status == "open" && now >= session.expires_at {
            return self.store.update(id, &mut |s| expire_if_due(s, now));
        }
        Some(session)
    }

    /// Applies an action atomically; a payment also starts webhook delivery.
    pub(crate) fn apply(self: &Arc<Self>, id: &str, action: Action) -> Outcome {
        let now = OffsetDateTime::now_utc();
        let mut conflict = false;
        let mut paid_now = false;
        let updated = self.store.update(id, &mut |s| {
            expire_if_due(s, now);
            match (action, s.status.as_str()) {
                (Action::Pay, "open") => {
                    s.status = "success".into();
                    s.order_status = if s.paylink.is_subscription() {
                        "ONGOING"
                    } else {
                        "COMPLETED"
                    }
                    .into();
                    s.started_at = Some(now);
                    s.end_at = s.paylink.period().map(|p| now + p);
                    s.sender_address = Some(ids::address());
                    // Like the documented subscription example, a subscription has no hash.
                    s.hash = (!s.paylink.is_subscription()).then(ids::tx_hash);
                    paid_now = true;
                }
                // Paying twice is harmless: the same redirect, no second charge or webhook.
                (Action::Pay, "success") | (Action::Cancel, "open") => {}
                (Action::Fail, "open") => s.status = "failure".into(),
                (Action::Expire, "open") => {
                    s.expires_at = now;
                    s.status = "timeout".into();
                }
                _ => conflict = true,
            }
        });
        match updated {
            None => Outcome::NotFound,
            Some(session) if conflict => Outcome::Conflict(session),
            Some(session) => {
                if paid_now {
                    crate::delivery::deliver_payment(self, &session);
                }
                Outcome::Done { session }
            }
        }
    }
}
