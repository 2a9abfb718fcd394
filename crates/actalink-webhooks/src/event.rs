//! Typed webhook events.

use actalink_types::{Metadata, TokenAmount};
use serde::Deserialize;

use crate::Error;

actalink_types::__open_enum! {
    /// The kind of event. Only three names are documented; every other one
    /// decodes as `Unknown` with its name.
    pub enum EventType {
        /// A subscription charge is due.
        SubscriptionBillingDue => "subscription.billing.due",
        /// Subscription charges have been scheduled.
        SubscriptionBillingScheduled => "subscription.billing.scheduled",
        /// A one-time payment was executed.
        OnetimeExecuted => "onetime.executed",
    }
}

/// A verified webhook event.
///
/// Only `id` and `eventType` are required. Everything in `eventData` is
/// optional and unknown fields are ignored, so a new event shape never fails
/// to decode; [`Event::raw_json`] keeps the whole payload.
///
/// `Serialize` writes the payload as it was signed, and `Deserialize` reads
/// one back, so events can be stored or queued and decoded again later.
/// Deserialising does not verify: only deserialise what you stored yourself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The event id: use it to drop redeliveries.
    pub id: String,
    /// The kind of event.
    pub event_type: EventType,
    /// What the event is about.
    pub data: EventData,
    raw: String,
}

/// What an event is about (`eventData.data`, and `eventData.metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventData {
    /// The subject's id: `sub_…` for a subscription, `txn_…` for a transaction.
    pub id: Option<String>,
    /// The token paid and its amount.
    pub token: Option<Token>,
    /// The checkout session's metadata, from `eventData.data.metadata` or else
    /// `eventData.metadata` (where the provider puts it is undocumented).
    pub metadata: Option<Metadata>,
    /// The checkout session id, when the sender includes one as
    /// `eventData.data.checkoutSessionId` (the sandbox does).
    pub checkout_session_id: Option<String>,
}

/// A token and an amount of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Token {
    /// Its name (`USD Coin`).
    #[serde(default)]
    pub name: Option<String>,
    /// Its symbol (`USDC`).
    #[serde(default)]
    pub symbol: Option<String>,
    /// Its contract address (compare case-insensitively).
    #[serde(default)]
    pub address: Option<String>,
    /// The amount in base units, hex-encoded.
    #[serde(default)]
    pub amount: Option<TokenAmount>,
    /// Its decimals, when the payload says.
    #[serde(default)]
    pub decimals: Option<u32>,
}

impl Token {
    /// The amount in whole tokens, using the payload's decimals or else
    /// `default_decimals` (6 for USDC).
    ///
    /// # Errors
    ///
    /// `None` when there is no amount; a decode error when it is malformed.
    pub fn amount_decimal(
        &self,
        default_decimals: u32,
    ) -> Option<Result<actalink_types::Decimal, actalink_types::Error>> {
        let amount = self.amount.as_ref()?;
        Some(amount.to_decimal(self.decimals.unwrap_or(default_decimals)))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    id: String,
    event_type: EventType,
    #[serde(default)]
    event_data: Option<WireEventData>,
}

#[derive(Deserialize)]
struct WireEventData {
    #[serde(default)]
    data: Option<WireSubject>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSubject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    token: Option<Token>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    checkout_session_id: Option<String>,
}

impl Event {
    /// Decodes the canonical JSON that was verified.
    pub(crate) fn from_canonical(raw: String) -> Result<Self, Error> {
        let wire: Wire = serde_json::from_str(&raw).map_err(Error::NotAnEvent)?;
        let (subject, outer_metadata) = match wire.event_data {
            Some(data) => (data.data, data.metadata),
            None => (None, None),
        };
        let data = match subject {
            Some(s) => EventData {
                id: s.id,
                token: s.token,
                metadata: s.metadata.or(outer_metadata),
                checkout_session_id: s.checkout_session_id,
            },
            None => EventData {
                metadata: outer_metadata,
                ..EventData::default()
            },
        };
        Ok(Self {
            id: wire.id,
            event_type: wire.event_type,
            data,
            raw,
        })
    }

    /// Decodes an event without verifying it. Only for payloads whose origin
    /// you have checked some other way (for example, read back from your own
    /// database); use a [`Verifier`](crate::Verifier) for anything from the network.
    ///
    /// # Errors
    ///
    /// [`Error::BodyNotJson`] or [`Error::NotAnEvent`].
    pub fn parse_unverified(body: &[u8]) -> Result<Self, Error> {
        let canonical = crate::canonicalize(body).map_err(Error::BodyNotJson)?;
        Self::from_canonical(canonical)
    }

    /// The whole payload as the JSON text that was signed (the JavaScript
    /// re-serialisation of the body).
    #[must_use]
    pub fn raw_json(&self) -> &str {
        &self.raw
    }

    /// The whole payload as a `serde_json::Value`, for fields this crate does not model.
    ///
    /// # Errors
    ///
    /// Only for payloads with lone surrogates, which `serde_json` rejects.
    pub fn raw(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.raw)
    }

    /// A metadata value, wherever the payload carried the metadata.
    #[must_use]
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.data.metadata.as_ref()?.get(key)
    }
}

impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Verbatim, so that key order and number spelling stay as signed.
        let raw = serde_json::value::RawValue::from_string(self.raw.clone())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Self::parse_unverified(raw.get().as_bytes()).map_err(serde::de::Error::custom)
    }
}
