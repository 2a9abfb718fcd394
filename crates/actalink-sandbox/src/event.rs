//! The payment event: what the sandbox sends when a session is paid, and
//! what `actalink webhook trigger --session` sends for a live session. One
//! builder for both, so that the two can never drift apart.

use actalink_types::{
    CheckoutSession, CheckoutSessionId, Decimal, Metadata, OrderId, PaylinkId, PaylinkType, Price,
    SessionStatus, TokenAmount,
};
use actalink_webhooks::EventType;
use serde::Serialize;

use crate::{Error, ids, wire};

/// USDC's decimals: prices are whole base units.
pub(crate) const USDC_DECIMALS: u32 = 6;

/// 150000 base units, 0.15 USDC: the amount of the provider's subscription
/// examples, for an event about no session.
const SAMPLE_BASE_UNITS: u128 = 150_000;

/// A payment event, ready to sign and send: the body the sandbox POSTs to
/// each webhook endpoint when a session is paid.
///
/// [`PaymentEvent::for_session`] builds it from a session as the status call
/// returns it, so that a test (or `actalink webhook trigger --session`) can
/// send exactly what the sandbox would send for that session; the sandbox
/// builds its own deliveries with the same code.
///
/// ```
/// use actalink_sandbox::PaymentEvent;
/// use actalink_types::CheckoutSession;
///
/// let session: CheckoutSession = serde_json::from_str(
///     r#"{"id":"checkout_1","status":"success","orderId":"ord_1","paylinkType":"onetime",
///         "paymentLink":"http://127.0.0.1:4010/payment-link/paylink_book",
///         "metadata":{"internal_order_id":"ORD-1"},
///         "products":[{"priceDetails":{"price":"0x302e3135","currency":"USDC"}}]}"#,
/// )?;
/// let event = PaymentEvent::for_session(&session)?;
/// assert_eq!(event.event_type().as_str(), "onetime.executed");
/// let body = event.to_json();
/// assert!(body.contains(r#""amount":"0x249f0""#));          // 0.15 USDC in base units
/// assert!(body.contains(r#""paylinkId":"paylink_book""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEvent {
    id: String,
    event_type: EventType,
    event_data: EventData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct EventData {
    data: Subject,
}

/// The event's subject, serialised straight from this struct (never through
/// `serde_json::Value`, which sorts keys), so the merchant's metadata keeps
/// its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkout_session_id: Option<CheckoutSessionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<OrderId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paylink_id: Option<PaylinkId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<SessionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    token: Token,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Token {
    name: &'static str,
    amount: TokenAmount,
    symbol: &'static str,
    address: &'static str,
    decimals: u32,
}

/// What an event says about its session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub(crate) subscription: bool,
    pub(crate) session_id: Option<CheckoutSessionId>,
    pub(crate) order_id: Option<OrderId>,
    pub(crate) paylink_id: Option<PaylinkId>,
    pub(crate) status: Option<SessionStatus>,
    pub(crate) metadata: Option<Metadata>,
    pub(crate) base_units: Option<u128>,
}

/// A price in USDC base units, decoded by `actalink-types`; `None` when it
/// is not a whole number of base units (more than 6 decimals) or too large.
pub(crate) fn base_units(price: &Price) -> Option<u128> {
    units_of(price.decimal().ok()?)
}

/// An exact decimal amount of USDC in base units.
pub(crate) fn units_of(amount: Decimal) -> Option<u128> {
    if amount.is_sign_negative() {
        return None;
    }
    let amount = amount.normalize();
    let scale = amount.scale();
    if scale > USDC_DECIMALS {
        return None;
    }
    let mantissa = u128::try_from(amount.mantissa()).ok()?;
    mantissa.checked_mul(10u128.checked_pow(USDC_DECIMALS - scale)?)
}

impl PaymentEvent {
    /// The event the sandbox sends when `session` is paid: a fresh event id
    /// (`event_…`) and subject id (`sub_…` or `txn_…`), the type the
    /// sandbox uses (`subscription.billing.scheduled` for a subscription,
    /// `onetime.executed` otherwise), and from the session its id, `orderId`,
    /// paylink id (the last segment of `paymentLink`), `status`, metadata
    /// (`{}` when it has none) and price, as `token.amount` in USDC base
    /// units.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] when the session has no price the sandbox can turn
    /// into base units (no product, or a price with more than 6 decimals).
    pub fn for_session(session: &CheckoutSession) -> Result<Self, Error> {
        let price = session
            .products
            .first()
            .and_then(|p| p.price_details.as_ref())
            .and_then(|d| d.price.as_ref())
            .ok_or_else(|| {
                Error::Refused(format!(
                    "session {} has no product price to make an event amount from",
                    session.id
                ))
            })?;
        let units = base_units(price).ok_or_else(|| {
            Error::Refused(format!(
                "session {}'s price {:?} is no whole number of USDC base units",
                session.id,
                price.raw()
            ))
        })?;
        let paylink_id = session
            .payment_link
            .as_deref()
            .and_then(|link| link.trim_end_matches('/').rsplit('/').next())
            .and_then(|last| PaylinkId::new(last).ok());
        let facts = Facts {
            subscription: session.paylink_type == Some(PaylinkType::Subscription),
            session_id: Some(session.id.clone()),
            order_id: session.order_id.clone(),
            paylink_id,
            status: Some(session.status.clone()),
            metadata: Some(session.metadata.clone().unwrap_or_default()),
            base_units: Some(units),
        };
        Ok(Self::from_facts(facts, None))
    }

    /// An event about no session in particular, of `event_type`: a fresh id,
    /// 0.15 USDC, and `metadata` when given.
    #[must_use]
    pub fn sample(event_type: EventType, metadata: Option<Metadata>) -> Self {
        let facts = Facts {
            subscription: event_type.as_str().starts_with("subscription."),
            metadata,
            ..Facts::default()
        };
        Self::from_facts(facts, Some(event_type))
    }

    /// The same event with another type (as `webhook trigger` sends the type
    /// it is given).
    #[must_use]
    pub fn with_event_type(mut self, event_type: EventType) -> Self {
        self.event_type = event_type;
        self
    }

    /// The same event with `key` set to `value` in its metadata (replacing a
    /// value already there, in its place).
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] for an empty key, or a 51st key.
    pub fn with_metadata(mut self, key: &str, value: &str) -> Result<Self, Error> {
        let metadata = self
            .event_data
            .data
            .metadata
            .get_or_insert_with(Metadata::new);
        metadata
            .insert(key, value)
            .map_err(|e| Error::Refused(e.to_string()))?;
        Ok(self)
    }

    /// The one builder of every event the sandbox sends. Assumptions are
    /// listed where the sandbox delivers (`delivery::deliver_payment`).
    pub(crate) fn from_facts(facts: Facts, event_type: Option<EventType>) -> Self {
        let event_type = event_type.unwrap_or(if facts.subscription {
            EventType::SubscriptionBillingScheduled
        } else {
            EventType::OnetimeExecuted
        });
        Self {
            // Assumption: event ids are `event_…` (the Actapay example's
            // form; the Billing examples show UUIDs); undocumented by the
            // provider.
            id: ids::new_id("event"),
            event_type,
            event_data: EventData {
                data: Subject {
                    id: ids::new_id(if facts.subscription { "sub" } else { "txn" }),
                    checkout_session_id: facts.session_id,
                    order_id: facts.order_id,
                    paylink_id: facts.paylink_id,
                    status: facts.status,
                    metadata: facts.metadata,
                    token: Token {
                        name: "USD Coin",
                        amount: TokenAmount::from_base_units(
                            facts.base_units.unwrap_or(SAMPLE_BASE_UNITS),
                        ),
                        symbol: "USDC",
                        address: wire::USDC_ADDRESS,
                        decimals: USDC_DECIMALS,
                    },
                },
            },
        }
    }

    /// The event id (`event_…`).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type.
    #[must_use]
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The session the event is about, if any.
    #[must_use]
    pub fn session_id(&self) -> Option<&CheckoutSessionId> {
        self.event_data.data.checkout_session_id.as_ref()
    }

    /// The body as the sandbox sends it: what `JSON.stringify` writes (the
    /// provider is a Node.js service), fields in this order, metadata in the
    /// merchant's.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serialising strings, numbers and ordered maps cannot fail, and the
        // text is its own canonical form but for what `canonicalize` makes
        // of integer-like metadata keys, which it orders as JavaScript does.
        let json = serde_json::to_string(self).unwrap_or_default();
        actalink_webhooks::canonicalize(json.as_bytes()).unwrap_or(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_become_base_units_through_the_types_crate() {
        for (decimal, units) in [
            ("0.15", Some(150_000)),
            ("0.16", Some(160_000)),
            ("4.50", Some(4_500_000)),
            ("10", Some(10_000_000)),
            ("0.000001", Some(1)),
            ("0.0000010", Some(1)),
            ("0.0000001", None),
            ("0", Some(0)),
        ] {
            let price = Price::from_decimal_str(decimal).unwrap();
            assert_eq!(base_units(&price), units, "{decimal}");
        }
        assert_eq!(base_units(&Price::from_raw("0xzz")), None);
    }
}
