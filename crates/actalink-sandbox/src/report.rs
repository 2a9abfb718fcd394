//! What a test reads back from a sandbox about the webhooks it sent: the
//! event an action caused ([`SessionChange`], [`SentEvent`]), how each
//! endpoint answered ([`EndpointDelivery`]), and every event's fate per
//! endpoint ([`Delivery`]). The control API sends the same shapes as JSON
//! (camelCase).

use actalink_types::{CheckoutSessionId, SessionStatus};
use actalink_webhooks::EventType;
use serde::{Deserialize, Serialize};

use crate::DeliveryRecord;
use crate::store::StoredEvent;

/// What [`Sandbox::pay`](crate::Sandbox::pay) (and `cancel`, `fail`,
/// `expire`) did to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionChange {
    /// The session's status after the action.
    pub status: SessionStatus,
    /// The event the action sent, if any: a payment sends one; cancel, fail
    /// and expire send none (see the book's *What the sandbox assumes*).
    pub event: Option<SentEvent>,
}

/// An event the sandbox sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SentEvent {
    /// The event id (`event_…`).
    pub id: String,
    /// Its type, such as `onetime.executed`.
    pub event_type: EventType,
    /// The endpoints it went to, without credentials.
    pub endpoints: Vec<String>,
}

impl SentEvent {
    pub(crate) fn of(event: &StoredEvent) -> Self {
        Self {
            id: event.id.clone(),
            event_type: event.event_type.clone(),
            endpoints: event.endpoints.clone(),
        }
    }
}

/// How one endpoint answered an event: the first attempt (after
/// [`Sandbox::first_deliveries`](crate::Sandbox::first_deliveries)) or a
/// resend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EndpointDelivery {
    /// The endpoint, without credentials.
    pub url: String,
    /// True when it answered 2xx.
    pub delivered: bool,
    /// Its status, when it answered.
    pub status: Option<u16>,
    /// The attempts made so far (0 when none was made in time).
    pub attempts: u32,
    /// Why it was not delivered: `HTTP 500`, the transport's sentence, or
    /// that no attempt was made in time.
    pub error: Option<String>,
}

/// One event's deliveries to one endpoint, summed up from the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delivery {
    /// The event id.
    pub event_id: String,
    /// Its type.
    pub event_type: EventType,
    /// The session it is about.
    pub session_id: CheckoutSessionId,
    /// The endpoint, without credentials.
    pub url: String,
    /// The attempts made (0 when none could be made).
    pub attempts: u32,
    /// True once an attempt was answered 2xx.
    pub delivered: bool,
    /// The status of the last attempt answered, if any.
    pub last_status: Option<u16>,
    /// The last attempt's failure, if it failed.
    pub last_error: Option<String>,
}

impl Delivery {
    /// The delivery log summed up per event and endpoint, in the order each
    /// pair was first attempted.
    #[must_use]
    pub fn summarise(records: &[DeliveryRecord]) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        for record in records {
            let found = out
                .iter()
                .rposition(|d| d.event_id == record.event_id && d.url == record.url);
            let index = found.unwrap_or_else(|| {
                out.push(Self {
                    event_id: record.event_id.clone(),
                    event_type: record.event_type.clone(),
                    session_id: record.session_id.clone(),
                    url: record.url.clone(),
                    attempts: 0,
                    delivered: false,
                    last_status: None,
                    last_error: None,
                });
                out.len() - 1
            });
            let Some(summary) = out.get_mut(index) else {
                continue;
            };
            summary.attempts = summary.attempts.max(record.attempt);
            summary.delivered |= record.delivered;
            if record.status.is_some() {
                summary.last_status = record.status;
            }
            summary.last_error.clone_from(&record.error);
        }
        out
    }
}
