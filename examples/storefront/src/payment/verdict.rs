//! Judging a fetched checkout session against the order it should pay:
//! [`evaluate`], pure and without I/O.

use std::time::Duration;

use actalink_checkout::types::{Decimal, OffsetDateTime};
use actalink_checkout::{CheckoutSession, SessionStatus};

use super::{FailReason, ORDER_ID_KEY, USER_ID_KEY};
use crate::db::Order;

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
    for (key, expected) in [(ORDER_ID_KEY, &order.id), (USER_ID_KEY, &order.user_id)] {
        let found = session.metadata_value(key);
        if found != Some(expected.as_str()) {
            return Some(format!(
                "the session's {key} is {found:?}, not {expected:?}"
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
}
