//! The sandbox's shared state and the session transitions.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockWriteGuard};

use actalink_transport::{ReqwestTransport, RetryPolicy};
use actalink_types::{OrderStatus, SessionStatus};
use actalink_webhooks::WebhookSecret;
use time::OffsetDateTime;

use crate::activity::Observer;
use crate::faults::Fault;
use crate::store::{MemoryStore, SessionRecord};
use crate::{Catalogue, ids};

/// A webhook endpoint the sandbox delivers to.
///
/// A sandbox delivers each event to every endpoint, each with its own
/// retries. The URL may carry credentials (`http://user:password@host/hook`),
/// which are sent as Basic authentication; wherever the sandbox shows the URL
/// (its `Debug` output, logs, the delivery log, [`Activity`](crate::Activity))
/// it shows [`redacted_url`](Self::redacted_url) instead.
#[derive(Clone)]
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

    /// The URL as the sandbox shows it: credentials replaced by `***`
    /// (`http://***@127.0.0.1:3000/hook`), the rest as given.
    #[must_use]
    pub fn redacted_url(&self) -> String {
        crate::activity::redact_url(&self.url).into_owned()
    }
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("url", &crate::activity::redact_url(&self.url))
            .field("secret", &self.secret)
            .finish()
    }
}

pub(crate) struct State {
    pub(crate) base_url: String,
    /// `scheme://host[:port]` of `base_url`, lowercase: the sandbox's own origin.
    pub(crate) origin: String,
    /// Host names (lowercase, without port) the sandbox answers besides
    /// loopback names: the bound address, the public URL's host and the
    /// names of `SandboxBuilder::allow_host` (see `host`).
    pub(crate) hosts: Vec<String>,
    /// True when bound to a loopback address: then every route, not only
    /// the control API, refuses another `Host`.
    pub(crate) loopback_only: bool,
    pub(crate) api_keys: Vec<String>,
    pub(crate) catalogue: Catalogue,
    /// Validated at start: at most `MAX_SESSION_TTL`.
    pub(crate) session_ttl: time::Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) store: MemoryStore,
    pub(crate) webhooks: RwLock<Vec<WebhookEndpoint>>,
    /// Webhook delivery's attempts and backoff (`SandboxBuilder::delivery`).
    pub(crate) delivery: RetryPolicy,
    /// The most attempts per endpoint and event, as `delivery` makes them.
    pub(crate) delivery_attempts: u32,
    /// Told of each request and delivery attempt (`SandboxBuilder::on_activity`).
    pub(crate) observer: Option<Observer>,
    pub(crate) transport: ReqwestTransport,
    pub(crate) faults: Mutex<VecDeque<(Fault, u32)>>,
    pub(crate) api_requests: AtomicU64,
    pub(crate) pending_deliveries: AtomicUsize,
    /// Woken whenever a delivery attempt is recorded, for those who wait
    /// for one (`Sandbox::first_deliveries`).
    pub(crate) delivered: tokio::sync::Notify,
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
        /// True when this action paid the session (false for a repeated payment).
        paid_now: bool,
        /// The event the action sent, if any.
        event: Option<crate::SentEvent>,
    },
    /// The session is in a state the action cannot apply to.
    Conflict(SessionRecord),
    NotFound,
    /// The change could not be computed (a time out of range); nothing changed.
    Invalid(String),
}

/// Turns an open session past its expiry into `timeout`.
///
/// Assumption: an open session past `expiresAt` reads as `timeout` (the value
/// the provider's demo stores), turned lazily when it is next read;
/// undocumented by the provider, which shows neither the status after expiry
/// nor when it changes.
pub(crate) fn expire_if_due(session: &mut SessionRecord, now: OffsetDateTime) {
    if session.status == SessionStatus::Open && now >= session.expires_at {
        session.status = SessionStatus::Timeout;
    }
}

/// What an action does to a session, computed on a copy: the caller commits
/// the whole result or nothing. `Ok(None)` means "no such transition".
pub(crate) fn transition(
    current: &SessionRecord,
    action: Action,
    now: OffsetDateTime,
) -> Result<Option<(SessionRecord, bool)>, String> {
    let mut s = current.clone();
    expire_if_due(&mut s, now);
    let mut paid_now = false;
    match (action, &s.status) {
        (Action::Pay, SessionStatus::Open) => {
            // Computed first: the only step that can fail.
            let end_at = match s.paylink.period() {
                Some(period) => Some(now.checked_add(period).ok_or_else(|| {
                    format!(
                        "the paid period of paylink {:?} ends beyond the representable dates",
                        s.paylink.id().as_str()
                    )
                })?),
                None => None,
            };
            s.status = SessionStatus::Success;
            // Assumption: a paid one-time order is `COMPLETED`; undocumented by
            // the provider, whose examples show only `PENDING` (open) and
            // `ONGOING` (a paid subscription), so `OrderStatus` has no variant for it.
            s.order_status = if s.paylink.is_subscription() {
                OrderStatus::Ongoing
            } else {
                OrderStatus::from_wire("COMPLETED")
            };
            s.started_at = Some(now);
            // Assumption: `endAt` is `startedAt` plus one billing period, and
            // null for a one-time payment; the provider documents only the
            // subscription example, and nothing happens when the period ends.
            s.end_at = end_at;
            s.sender_address = Some(ids::address());
            // Assumption: like the documented subscription example, a
            // subscription has no `payment.hash`; a one-time payment gets a
            // random one. Undocumented by the provider.
            s.hash = (!s.paylink.is_subscription()).then(ids::tx_hash);
            paid_now = true;
        }
        // Assumption: paying twice is harmless (the same redirect, no second
        // charge or webhook), and cancelling leaves the session `open` so the
        // customer may come back and pay; undocumented by the provider.
        (Action::Pay, SessionStatus::Success) | (Action::Cancel, SessionStatus::Open) => {}
        // Assumption: a failed payment ends the session as `failure` (a value
        // from the provider's demo schema); undocumented by the provider.
        (Action::Fail, SessionStatus::Open) => s.status = SessionStatus::Failure,
        (Action::Expire, SessionStatus::Open) => {
            s.expires_at = now;
            s.status = SessionStatus::Timeout;
        }
        _ => return Ok(None),
    }
    Ok(Some((s, paid_now)))
}

impl State {
    /// The fault queue, locked (a panic elsewhere while it was held leaves it usable).
    pub(crate) fn fault_queue(&self) -> MutexGuard<'_, VecDeque<(Fault, u32)>> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The webhook endpoints as they are now.
    pub(crate) fn endpoints(&self) -> Vec<WebhookEndpoint> {
        self.webhooks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The webhook endpoints, locked for a change (a panic elsewhere while
    /// the lock was held leaves them usable).
    pub(crate) fn webhooks_mut(&self) -> RwLockWriteGuard<'_, Vec<WebhookEndpoint>> {
        self.webhooks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn next_fault(&self) -> Option<Fault> {
        let mut faults = self.fault_queue();
        let (fault, remaining) = faults.front_mut()?;
        let fault = fault.clone();
        *remaining = remaining.saturating_sub(1);
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
        if session.status == SessionStatus::Open && now >= session.expires_at {
            return self.store.update(id, &mut |s| expire_if_due(s, now));
        }
        Some(session)
    }

    /// Applies an action atomically; a payment also starts webhook delivery.
    ///
    /// The new state is computed whole on a copy and then committed, so that a
    /// failure (or a panic) leaves the session as it was, never half paid.
    pub(crate) fn apply(self: &Arc<Self>, id: &str, action: Action) -> Outcome {
        let now = OffsetDateTime::now_utc();
        let mut conflict = false;
        let mut invalid = None;
        let mut paid_now = false;
        let updated = self.store.update(id, &mut |s| {
            match transition(s, action, now) {
                Ok(Some((next, paid))) => {
                    *s = next;
                    paid_now = paid;
                }
                Ok(None) => {
                    // Still record an expiry that fell due.
                    expire_if_due(s, now);
                    conflict = true;
                }
                Err(why) => invalid = Some(why),
            }
        });
        match (updated, invalid) {
            (None, _) => Outcome::NotFound,
            (Some(_), Some(why)) => Outcome::Invalid(why),
            (Some(session), None) if conflict => Outcome::Conflict(session),
            (Some(session), None) => {
                let event = paid_now.then(|| crate::delivery::deliver_payment(self, &session));
                Outcome::Done {
                    session,
                    paid_now,
                    event,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Paylink;

    fn session(paylink: Paylink) -> SessionRecord {
        SessionRecord::open_for_test("checkout_1", paylink)
    }

    fn store() -> MemoryStore {
        MemoryStore::with_limits(10, 1 << 20, 10)
    }

    #[test]
    fn a_period_past_the_last_date_is_an_error_and_changes_nothing() {
        let decade = Paylink::subscription("paylink_x", "prod_x", "X", "1", 10, "year").unwrap();
        let mut open = session(decade);
        open.expires_at = time::PrimitiveDateTime::MAX.assume_utc();
        let late = open.expires_at - time::Duration::days(1);
        let err = transition(&open, Action::Pay, late).unwrap_err();
        assert!(err.contains("beyond the representable dates"), "{err}");
        let store = store();
        assert!(store.insert(open.clone()));
        let mut failed = None;
        store.update("checkout_1", &mut |s| {
            if let Err(e) = transition(s, Action::Pay, late) {
                failed = Some(e);
            }
        });
        assert!(failed.is_some());
        assert_eq!(store.get("checkout_1").unwrap(), open, "still open, unpaid");
    }

    #[test]
    fn a_panicking_change_leaves_the_stored_session_whole() {
        let store = store();
        let open = session(Paylink::onetime("paylink_y", "prod_y", "Y", "1").unwrap());
        assert!(store.insert(open.clone()));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.update("checkout_1", &mut |s| {
                s.status = SessionStatus::Success;
                panic!("half way through a change");
            });
        }));
        assert!(result.is_err());
        // The lock was poisoned, yet the data behind it is the old session, whole.
        assert_eq!(store.get("checkout_1").unwrap(), open);
        let paid = store
            .update("checkout_1", &mut |s| {
                if let Ok(Some((next, _))) = transition(s, Action::Pay, OffsetDateTime::now_utc()) {
                    *s = next;
                }
            })
            .unwrap();
        assert_eq!(paid.status, SessionStatus::Success);
        assert_eq!(paid.order_status.as_str(), "COMPLETED");
        assert!(paid.started_at.is_some() && paid.end_at.is_none());
    }

    #[test]
    fn a_subscription_payment_sets_every_field_at_once() {
        let now = OffsetDateTime::now_utc();
        let open =
            session(Paylink::subscription("paylink_z", "prod_z", "Z", "1", 3, "5mins").unwrap());
        let (paid, paid_now) = transition(&open, Action::Pay, now).unwrap().unwrap();
        assert!(paid_now);
        assert_eq!(paid.status, SessionStatus::Success);
        assert_eq!(paid.order_status, OrderStatus::Ongoing);
        assert_eq!(paid.started_at, Some(now));
        assert_eq!(paid.end_at, Some(now + time::Duration::minutes(15)));
        assert!(paid.sender_address.is_some() && paid.hash.is_none());
        assert_eq!(transition(&paid, Action::Fail, now).unwrap(), None);
        let (again, paid_again) = transition(&paid, Action::Pay, now).unwrap().unwrap();
        assert!(!paid_again);
        assert_eq!(again, paid);
    }
}
