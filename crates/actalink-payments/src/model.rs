//! The records: a payment, its status and history, and what a confirmation did.

use std::collections::BTreeMap;
use std::fmt;

use actalink_checkout::types::{Decimal, OffsetDateTime};
use actalink_checkout::{CheckoutSession, CheckoutSessionId, CreateCheckoutSession};

use crate::Error;

/// Where a payment stands. `Open` is the only state that changes by itself;
/// the others are final: nothing the provider says later moves a `Paid`
/// record, and a `Flagged` one waits for a person. The one automatic move
/// out of a final state is `Failed` or `Expired` to `Flagged`, when the
/// provider later reports the session paid: money arrived for a closed
/// order, and a person must refund or fulfil it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Waiting for the customer; the reconciler checks it.
    Open,
    /// The provider confirmed the payment and it matched what was expected.
    Paid,
    /// The provider reported the payment failed or timed out.
    Failed,
    /// The session stayed open past its expiry.
    Expired,
    /// Something did not match (amount, currency, session, metadata), or a
    /// payment arrived for a closed record: a person must look. Never
    /// becomes paid automatically.
    Flagged,
}

impl PaymentStatus {
    /// The name stored in the database.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Flagged => "flagged",
        }
    }

    /// True for every status but `Open`.
    #[must_use]
    pub fn is_final(self) -> bool {
        self != Self::Open
    }

    pub(crate) fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "open" => Self::Open,
            "paid" => Self::Paid,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "flagged" => Self::Flagged,
            other => {
                return Err(Error::Corrupt(format!(
                    "unknown payment status {other:?} in the database"
                )));
            }
        })
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What prompted a check, recorded with every transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A verified webhook event.
    Webhook,
    /// The customer's return (success or cancel) page.
    ReturnPage,
    /// The background reconciler.
    Reconciler,
    /// A person, through an operator command.
    Operator,
}

impl Source {
    /// The name stored in the database.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::ReturnPage => "return_page",
            Self::Reconciler => "reconciler",
            Self::Operator => "operator",
        }
    }

    pub(crate) fn parse(name: &str) -> Self {
        match name {
            "webhook" => Self::Webhook,
            "return_page" => Self::ReturnPage,
            "reconciler" => Self::Reconciler,
            // Set by hand (an operator's SQL), or by a later version.
            _ => Self::Operator,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment record, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Payment {
    /// The checkout session this record is for (one record per session).
    pub session_id: CheckoutSessionId,
    /// The merchant's reference (an order id), unique among the records.
    pub reference: String,
    /// The paylink the session was created for.
    pub paylink_id: String,
    /// The amount expected, as a decimal (`0.16`).
    pub amount: Decimal,
    /// The currency expected (`USDC`).
    pub currency: String,
    /// Metadata the session must carry, key by key, to count as this payment's.
    pub expected_metadata: BTreeMap<String, String>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Why it failed, expired or was flagged.
    pub reason: Option<String>,
    /// The session's expiry, in Unix milliseconds, as the provider said.
    pub expires_at_ms: Option<i64>,
    /// When the record was made, in Unix milliseconds (database clock).
    pub created_at_ms: i64,
    /// When the record last changed (database clock).
    pub updated_at_ms: i64,
    /// When the reconciler checks it next (database clock); `None` once final.
    pub next_check_at_ms: Option<i64>,
    /// How many times the reconciler has checked it.
    pub check_attempts: i64,
    /// What the last failed check said.
    pub last_check_error: Option<String>,
}

/// One recorded change of a payment's status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The status before.
    pub from: PaymentStatus,
    /// The status after.
    pub to: PaymentStatus,
    /// What made the change.
    pub source: Source,
    /// Why, for a failure, an expiry or a flag.
    pub reason: Option<String>,
    /// When, in Unix milliseconds (database clock).
    pub at_ms: i64,
}

/// A checkout session to remember: what the merchant expects it to pay.
///
/// Build it from the request you sent and the session the API returned, so
/// that the metadata you sent is what a later status must carry:
///
/// ```
/// use actalink_checkout::types::Decimal;
/// use actalink_checkout::{CheckoutSession, CreateCheckoutSession};
/// use actalink_payments::NewPayment;
///
/// let request = CreateCheckoutSession::builder("paylink_1")
///     .metadata("internal_order_id", "ORD-1")
///     .build()?;
/// let session: CheckoutSession = serde_json::from_str(
///     r#"{"id": "checkout_1", "status": "open", "metadata": {"internal_order_id": "ORD-1"}}"#,
/// )?;
/// let new = NewPayment::new(&request, &session, "ORD-1", Decimal::new(16, 2), "USDC")?;
/// assert_eq!(new.reference(), "ORD-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub(crate) session_id: CheckoutSessionId,
    pub(crate) reference: String,
    pub(crate) paylink_id: String,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    pub(crate) expected_metadata: BTreeMap<String, String>,
    pub(crate) expires_at_ms: Option<i64>,
}

impl NewPayment {
    /// The record of `session`, created by `request`, for the merchant's
    /// `reference`, expecting `amount` of `currency`. Every metadata entry
    /// of the request becomes something the session must carry.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the reference or currency is empty, the
    /// amount is not positive, or the request's metadata does not carry the
    /// reference (under any key): a status could then never be matched to it.
    pub fn new(
        request: &CreateCheckoutSession,
        session: &CheckoutSession,
        reference: impl Into<String>,
        amount: Decimal,
        currency: impl Into<String>,
    ) -> Result<Self, Error> {
        let reference = reference.into();
        let currency = currency.into();
        let expected_metadata: BTreeMap<String, String> = request
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if reference.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the payment's reference is empty".into(),
            ));
        }
        if currency.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the payment's currency is empty".into(),
            ));
        }
        if amount <= Decimal::ZERO {
            return Err(Error::InvalidInput(format!(
                "the payment's amount must be positive, not {amount}"
            )));
        }
        if !expected_metadata.values().any(|v| *v == reference) {
            return Err(Error::InvalidInput(format!(
                "the request's metadata does not carry the reference {reference:?}; \
                 add it (for example as internal_order_id) so that the payment can be matched"
            )));
        }
        Ok(Self {
            session_id: session.id.clone(),
            reference,
            paylink_id: request.paylink_id().as_str().to_owned(),
            amount,
            currency,
            expected_metadata,
            expires_at_ms: session.expires_at.map(unix_ms),
        })
    }

    /// The merchant's reference.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The checkout session.
    #[must_use]
    pub fn session_id(&self) -> &CheckoutSessionId {
        &self.session_id
    }
}

pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// What a confirmation did. Says honestly whether this call changed anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// This call moved the payment to `to` (and, for `Paid`, queued its one
    /// fulfilment job, in the same statement).
    Changed {
        /// The new status.
        to: PaymentStatus,
        /// Why, for anything but `Paid`.
        reason: Option<String>,
    },
    /// The payment was already final in this status; nothing changed.
    Unchanged(PaymentStatus),
    /// The session does not confirm anything yet; the payment stays open.
    NotYet {
        /// What the provider said, in words.
        reason: String,
    },
    /// No payment record for this session.
    UnknownPayment,
}

impl Outcome {
    /// True when this call changed the payment.
    #[must_use]
    pub fn changed(&self) -> bool {
        matches!(self, Self::Changed { .. })
    }

    /// The status the payment has after this call, when known.
    #[must_use]
    pub fn status(&self) -> Option<PaymentStatus> {
        match self {
            Self::Changed { to, .. } => Some(*to),
            Self::Unchanged(status) => Some(*status),
            Self::NotYet { .. } => Some(PaymentStatus::Open),
            Self::UnknownPayment => None,
        }
    }

    /// A short label for logs and responses.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Changed { to, .. } => match to {
                PaymentStatus::Open => "reopened",
                PaymentStatus::Paid => "paid",
                PaymentStatus::Failed => "failed",
                PaymentStatus::Expired => "expired",
                PaymentStatus::Flagged => "flagged for review",
            },
            Self::Unchanged(_) => "already final",
            Self::NotYet { .. } => "not confirmed yet",
            Self::UnknownPayment => "unknown payment",
        }
    }
}
