//! Deciding whether an order is paid.
//!
//! Nothing the customer's browser or a webhook says marks an order paid by
//! itself: both only prompt [`check_order`], which fetches the checkout
//! session from Actalink and marks the order paid only when [`evaluate`]
//! finds that the session is `success`, is the order's own session, carries
//! the order's id in its metadata, and charged exactly the price and currency
//! the shop expects. Anything that does not match leaves the order unpaid and
//! flags it for a person to review.

use std::fmt;
use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::{Decimal, OffsetDateTime};
use actalink_checkout::{CheckoutSession, SessionStatus};

use crate::AppState;
use crate::db::Order;

/// The metadata key that carries the shop's order id.
pub const ORDER_ID_KEY: &str = "internal_order_id";
/// The metadata key that carries the customer's id.
pub const USER_ID_KEY: &str = "user_uuid";

/// Why an order was closed unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// Actalink reported the payment failed.
    Failure,
    /// Actalink reported the session timed out.
    Timeout,
    /// The session stayed open past its expiry and the grace period.
    Expired,
}

impl FailReason {
    /// The name stored in `orders.closed_reason`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failure => "failure",
            Self::Timeout => "timeout",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check of an order did: says honestly whether anything changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// This check marked the order paid.
    Paid,
    /// The order was already paid; nothing changed.
    AlreadyPaid,
    /// This check marked the order failed.
    Failed {
        /// Why.
        reason: FailReason,
    },
    /// The order had already failed; nothing changed.
    AlreadyFailed,
    /// Nothing changed: the session does not (yet) confirm a payment.
    NotConfirmed {
        /// Why not, in words.
        reason: String,
    },
    /// Actalink reports a payment that does not match the order (or arrives
    /// for a closed order): the order was not marked paid and is flagged for
    /// a person to review.
    Flagged {
        /// What did not match.
        reason: String,
    },
    /// No such order; nothing changed.
    UnknownOrder,
}

impl Transition {
    /// True when this check changed the order's status.
    #[must_use]
    pub fn changed(&self) -> bool {
        matches!(self, Self::Paid | Self::Failed { .. })
    }

    /// True when there is nothing left to check automatically: the order is
    /// paid, failed, flagged for review, or does not exist.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        !matches!(self, Self::NotConfirmed { .. })
    }

    /// A short label, as stored with webhook events and sent in webhook responses.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::AlreadyPaid => "already paid",
            Self::Failed { .. } => "failed",
            Self::AlreadyFailed => "already failed",
            Self::NotConfirmed { .. } => "not confirmed",
            Self::Flagged { .. } => "flagged for review",
            Self::UnknownOrder => "unknown order",
        }
    }
}

/// What made a check happen, recorded with each transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A verified webhook event.
    Webhook,
    /// The customer's success (or cancel) page.
    SuccessPage,
    /// The background reconciler.
    Reconciler,
}

impl Source {
    /// The name stored in `order_transitions.source`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::SuccessPage => "success_page",
            Self::Reconciler => "reconciler",
        }
    }
}

/// A check that could not be completed; trying again later may succeed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckError {
    /// The status call to Actalink failed.
    Status(actalink_checkout::Error),
    /// The database failed.
    Database(rusqlite::Error),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(e) => write!(f, "the session status could not be fetched: {e}"),
            Self::Database(e) => write!(f, "the database failed: {e}"),
        }
    }
}

impl std::error::Error for CheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Status(e) => Some(e),
            Self::Database(e) => Some(e),
        }
    }
}

impl From<rusqlite::Error> for CheckError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e)
    }
}

/// What a fetched session says about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Paid, and everything matches.
    Paid,
    /// Not paid yet; the customer may still pay.
    Open(String),
    /// Closed unpaid.
    Closed(FailReason),
    /// Something does not match, or the status cannot be read past expiry:
    /// a person must look.
    Review(String),
}

/// Judges a session fetched for `order`, at `now`. Pure: no I/O.
///
/// Paid only when all hold: status `success`; the session id is the order's
/// recorded session; the metadata carries the order's id (and its customer's
/// id); the session has exactly one product whose price decodes (with
/// [`Price::decimal`](actalink_checkout::types::Price::decimal)) to exactly the amount the order expects, in the
/// expected currency. A missing or unreadable price is never a match.
///
/// `failure` and `timeout` close the order. A session still `open` (or in a
/// status this code does not know) past its `expiresAt` plus `grace` closes
/// the order as expired (or, for an unknown status, flags it).
#[must_use]
pub fn evaluate(
    order: &Order,
    session: &CheckoutSession,
    now: OffsetDateTime,
    grace: Duration,
) -> Verdict {
    let past_expiry = || {
        let expires_at = session.expires_at.or_else(|| {
            order
                .session_expires_at
                .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        });
        expires_at.is_some_and(|at| now > at + grace)
    };
    match &session.status {
        SessionStatus::Success => match mismatch(order, session) {
            None => Verdict::Paid,
            Some(reason) => Verdict::Review(reason),
        },
        SessionStatus::Failure => Verdict::Closed(FailReason::Failure),
        SessionStatus::Timeout => Verdict::Closed(FailReason::Timeout),
        SessionStatus::Open if past_expiry() => Verdict::Closed(FailReason::Expired),
        SessionStatus::Open => Verdict::Open("the checkout session is still open".into()),
        other if past_expiry() => Verdict::Review(format!(
            "the checkout session is {:?} past its expiry; its outcome is unknown",
            other.as_str()
        )),
        other => Verdict::Open(format!(
            "the checkout session is {:?}, which is not a final status",
            other.as_str()
        )),
    }
}

/// Why a `success` session does not pay `order`, or `None` when it does.
fn mismatch(order: &Order, session: &CheckoutSession) -> Option<String> {
    if order.checkout_session_id.as_deref() != Some(session.id.as_str()) {
        return Some(format!(
            "the status call returned session {:?}, not the order's session {:?}",
            session.id.as_str(),
            order.checkout_session_id.as_deref().unwrap_or("(none)")
        ));
    }
    match session.metadata_value(ORDER_ID_KEY) {
        Some(id) if id == order.id => {}
        other => {
            return Some(format!(
                "the session's {ORDER_ID_KEY} is {other:?}, not {:?}",
                order.id
            ));
        }
    }
    match session.metadata_value(USER_ID_KEY) {
        Some(id) if id == order.user_id => {}
        other => {
            return Some(format!(
                "the session's {USER_ID_KEY} is {other:?}, not {:?}",
                order.user_id
            ));
        }
    }
    let [product] = session.products.as_slice() else {
        return Some(format!(
            "the session has {} products; exactly one was expected",
            session.products.len()
        ));
    };
    let Some(details) = product.price_details.as_ref() else {
        return Some("the session's product has no priceDetails".into());
    };
    let Some(price) = details.price.as_ref() else {
        return Some("the session's product has no price".into());
    };
    let paid = match price.decimal() {
        Ok(paid) => paid,
        Err(e) => {
            return Some(format!(
                "the session's price {:?} is unreadable: {e}",
                price.raw()
            ));
        }
    };
    let Some(expected) = order
        .amount
        .as_deref()
        .and_then(|a| Decimal::from_str_exact(a).ok())
    else {
        return Some(format!(
            "the order records no readable expected amount ({:?})",
            order.amount
        ));
    };
    if paid != expected {
        return Some(format!(
            "the session's price is {paid}, the order expects {expected}"
        ));
    }
    let currency = details.currency.as_ref().map(|c| c.as_str());
    if currency.is_none() || currency != order.currency.as_deref() {
        return Some(format!(
            "the session's currency is {currency:?}, the order expects {:?}",
            order.currency
        ));
    }
    None
}

/// Checks one order against Actalink and applies the result, exactly once.
///
/// A paid order is not fetched again. For any other order, the session is
/// fetched and judged by [`evaluate`]; the order is then changed with a
/// conditional update, so that concurrent checks (a webhook, the success
/// page, the reconciler) give at most one transition, and the returned
/// [`Transition`] says whether this call made it.
///
/// # Errors
///
/// [`CheckError`] when the status call or the database failed: nothing was
/// changed and the check should be tried again later.
pub async fn check_order(
    state: &AppState,
    order_id: &str,
    source: Source,
) -> Result<Transition, CheckError> {
    let Some(order) = state.db.order(order_id)? else {
        return Ok(Transition::UnknownOrder);
    };
    if order.status == "paid" {
        return Ok(Transition::AlreadyPaid);
    }
    let Some(session_id) = order.checkout_session_id.clone() else {
        return Ok(if order.status == "failed" {
            Transition::AlreadyFailed
        } else {
            Transition::NotConfirmed {
                reason: "the order has no checkout session yet".into(),
            }
        });
    };
    let id = match CheckoutSessionId::new(session_id.as_str()) {
        Ok(id) => id,
        Err(e) => {
            return flag(
                state,
                &order,
                format!("the stored session id is unusable: {e}"),
            );
        }
    };
    let session = state
        .client
        .get_session(&id)
        .await
        .map_err(CheckError::Status)?;
    let verdict = evaluate(
        &order,
        &session,
        OffsetDateTime::now_utc(),
        state.config.reconciler.expiry_grace,
    );
    tracing::debug!(order = %order.id, status = %session.status.as_str(), ?verdict, "session checked");
    match verdict {
        Verdict::Paid if order.status == "failed" => flag(
            state,
            &order,
            format!(
                "Actalink confirms a payment for an order closed as {}; refund or fulfil it",
                order.closed_reason.as_deref().unwrap_or("failed")
            ),
        ),
        Verdict::Paid => {
            if state
                .db
                .mark_paid(&order.id, &session_id, source.as_str())?
            {
                tracing::info!(order = %order.id, source = source.as_str(), "order paid");
                return Ok(Transition::Paid);
            }
            // Someone else changed the order between our read and our update.
            match state.db.order(&order.id)? {
                Some(now) if now.status == "paid" => Ok(Transition::AlreadyPaid),
                Some(now) if now.status == "failed" => flag(
                    state,
                    &now,
                    "Actalink confirms a payment for an order that was closed meanwhile".into(),
                ),
                _ => Ok(Transition::NotConfirmed {
                    reason: "the order changed during the check".into(),
                }),
            }
        }
        Verdict::Review(reason) => flag(state, &order, reason),
        _ if order.status == "failed" => Ok(Transition::AlreadyFailed),
        Verdict::Closed(reason) => {
            if state
                .db
                .mark_failed(&order.id, reason.as_str(), source.as_str())?
            {
                tracing::info!(order = %order.id, %reason, source = source.as_str(), "order closed unpaid");
                return Ok(Transition::Failed { reason });
            }
            match state.db.order(&order.id)? {
                Some(now) if now.status == "paid" => Ok(Transition::AlreadyPaid),
                _ => Ok(Transition::AlreadyFailed),
            }
        }
        Verdict::Open(reason) => Ok(Transition::NotConfirmed { reason }),
    }
}

fn flag(state: &AppState, order: &Order, reason: String) -> Result<Transition, CheckError> {
    if state.db.flag_for_review(&order.id, &reason)? {
        tracing::warn!(order = %order.id, %reason, "order flagged for review; it is not marked paid");
    }
    Ok(Transition::Flagged { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            id: "ORD-1".into(),
            user_id: "user_1".into(),
            paylink_id: "paylink_x".into(),
            product: "Recipe Pro".into(),
            status: "pending".into(),
            checkout_session_id: Some("checkout_abc".into()),
            amount: Some("0.16".into()),
            currency: Some("USDC".into()),
            session_expires_at: None,
            closed_reason: None,
            review_reason: None,
            paid_at: None,
        }
    }

    /// A session like the sandbox's, with `change` applied to its JSON.
    fn session(change: impl FnOnce(&mut serde_json::Value)) -> CheckoutSession {
        let mut json = serde_json::json!({
            "id": "checkout_abc",
            "status": "success",
            "url": "http://127.0.0.1:4010/payment-link/checkout_abc",
            "expiresAt": "2030-01-01T01:00:00.000Z",
            "metadata": {"internal_order_id": "ORD-1", "user_uuid": "user_1"},
            "products": [{"id": "prod_1", "priceDetails": {"price": "0x302e3136", "currency": "USDC"}}]
        });
        change(&mut json);
        serde_json::from_value(json).unwrap()
    }

    /// 2030-01-01T00:00:00Z plus `secs`; the sessions above expire at `at(3600)`.
    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_893_456_000 + secs).unwrap()
    }

    fn judge(session: &CheckoutSession) -> Verdict {
        evaluate(&order(), session, at(0), Duration::from_secs(600))
    }

    fn review(change: impl FnOnce(&mut serde_json::Value)) -> String {
        match judge(&session(change)) {
            Verdict::Review(reason) => reason,
            other => panic!("expected a review, got {other:?}"),
        }
    }

    #[test]
    fn a_matching_success_is_paid() {
        assert_eq!(judge(&session(|_| {})), Verdict::Paid);
        // 0.160 is the same amount as 0.16.
        let padded = session(|j| j["products"][0]["priceDetails"]["price"] = "0x302e313630".into());
        assert_eq!(judge(&padded), Verdict::Paid);
    }

    #[test]
    fn only_success_pays() {
        for status in ["open", "processing"] {
            let verdict = judge(&session(|j| j["status"] = status.into()));
            assert!(matches!(verdict, Verdict::Open(_)), "{status}: {verdict:?}");
        }
        assert_eq!(
            judge(&session(|j| j["status"] = "failure".into())),
            Verdict::Closed(FailReason::Failure)
        );
        assert_eq!(
            judge(&session(|j| j["status"] = "timeout".into())),
            Verdict::Closed(FailReason::Timeout)
        );
    }

    #[test]
    fn a_session_open_past_expiry_and_grace_is_expired() {
        let open = session(|j| j["status"] = "open".into());
        let grace = Duration::from_secs(600);
        let within = evaluate(&order(), &open, at(3900), grace);
        assert!(matches!(within, Verdict::Open(_)), "{within:?}");
        let past = evaluate(&order(), &open, at(4260), grace);
        assert_eq!(past, Verdict::Closed(FailReason::Expired));
        let unknown = session(|j| j["status"] = "processing".into());
        let past = evaluate(&order(), &unknown, at(4260), grace);
        assert!(
            matches!(past, Verdict::Review(_)),
            "an unknown status is never failed: {past:?}"
        );
        // Without expiresAt in the response, the expiry stored at checkout counts.
        let no_expiry = session(|j| {
            j["status"] = "open".into();
            j.as_object_mut().unwrap().remove("expiresAt");
        });
        let mut stored = order();
        stored.session_expires_at = Some(at(3600).unix_timestamp());
        let past = evaluate(&stored, &no_expiry, at(4260), grace);
        assert_eq!(past, Verdict::Closed(FailReason::Expired));
        let never = evaluate(&order(), &no_expiry, at(40_000_000), grace);
        assert!(matches!(never, Verdict::Open(_)), "{never:?}");
    }

    #[test]
    fn a_success_that_does_not_match_is_never_paid() {
        type Change = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "not the order's session",
                Box::new(|j| j["id"] = "checkout_other".into()),
            ),
            (
                "not \"ORD-1\"",
                Box::new(|j| j["metadata"]["internal_order_id"] = "ORD-2".into()),
            ),
            (
                "None",
                Box::new(|j| {
                    j.as_object_mut().unwrap().remove("metadata");
                }),
            ),
            (
                "user_uuid",
                Box::new(|j| j["metadata"]["user_uuid"] = "user_2".into()),
            ),
            (
                "0 products",
                Box::new(|j| j["products"] = serde_json::json!([])),
            ),
            (
                "2 products",
                Box::new(|j| {
                    let first = j["products"][0].clone();
                    j["products"].as_array_mut().unwrap().push(first);
                }),
            ),
            (
                "no priceDetails",
                Box::new(|j| {
                    j["products"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("priceDetails");
                }),
            ),
            (
                "price is 0.15",
                Box::new(|j| j["products"][0]["priceDetails"]["price"] = "0x302e3135".into()),
            ),
            (
                "unreadable",
                Box::new(|j| j["products"][0]["priceDetails"]["price"] = "0xzz".into()),
            ),
            (
                "unreadable",
                Box::new(|j| j["products"][0]["priceDetails"]["price"] = "0x2d31".into()),
            ),
            (
                "currency is Some(\"USDT\")",
                Box::new(|j| j["products"][0]["priceDetails"]["currency"] = "USDT".into()),
            ),
            (
                "currency is None",
                Box::new(|j| {
                    j["products"][0]["priceDetails"]
                        .as_object_mut()
                        .unwrap()
                        .remove("currency");
                }),
            ),
        ];
        for (expected, change) in cases {
            let reason = review(change);
            assert!(reason.contains(expected), "{expected:?} not in {reason:?}");
        }
    }

    #[test]
    fn an_order_without_an_expected_amount_is_never_paid() {
        let mut legacy = order();
        legacy.amount = None;
        let verdict = evaluate(&legacy, &session(|_| {}), at(0), Duration::ZERO);
        assert!(matches!(verdict, Verdict::Review(_)), "{verdict:?}");
    }

    #[test]
    fn transitions_say_whether_anything_changed() {
        assert!(Transition::Paid.changed());
        assert!(!Transition::AlreadyPaid.changed());
        assert!(
            !Transition::NotConfirmed {
                reason: String::new()
            }
            .is_settled()
        );
        assert!(
            Transition::Flagged {
                reason: String::new()
            }
            .is_settled()
        );
    }
}
