//! Judging a fetched checkout session against the payment it should be:
//! [`evaluate`], pure and without I/O.

use actalink_checkout::{CheckoutSession, SessionStatus};

use crate::store::Checked;

/// What a fetched session says about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Paid, and everything matches.
    Paid,
    /// Not final; the customer may still pay. Past its expiry (by the
    /// database clock) an open session expires the payment.
    Open(String),
    /// A status this crate does not know: never failed, never paid. Past its
    /// expiry the payment is flagged for a person.
    Unknown(String),
    /// The provider closed the session unpaid.
    Failed(String),
    /// Something does not match: a person must look.
    Flag(String),
}

/// Judges `session`, fetched for `payment`. Paid only when all hold: status
/// `success`; the session is the payment's own; every expected metadata
/// entry is there with its value; exactly one product whose price decodes
/// (exactly, as a decimal) to the expected amount, in the expected currency.
/// A missing or unreadable price is never a match.
pub(crate) fn evaluate(payment: &Checked, session: &CheckoutSession) -> Verdict {
    match &session.status {
        SessionStatus::Success => match mismatch(payment, session) {
            None => Verdict::Paid,
            Some(reason) => Verdict::Flag(reason),
        },
        SessionStatus::Failure => Verdict::Failed("the provider reports the payment failed".into()),
        SessionStatus::Timeout => {
            Verdict::Failed("the provider reports the session timed out".into())
        }
        SessionStatus::Open => Verdict::Open("the checkout session is still open".into()),
        other => Verdict::Unknown(format!(
            "the checkout session is {:?}, a status this version does not know",
            other.as_str()
        )),
    }
}

/// Why a `success` session does not pay `payment`, or `None` when it does.
fn mismatch(payment: &Checked, session: &CheckoutSession) -> Option<String> {
    if session.id != payment.session_id {
        return Some(format!(
            "the status call returned session {:?}, not {:?}",
            session.id.as_str(),
            payment.session_id.as_str()
        ));
    }
    for (key, expected) in &payment.expected_metadata {
        let found = session.metadata_value(key);
        if found != Some(expected.as_str()) {
            return Some(format!(
                "the session's metadata {key:?} is {found:?}, not {expected:?}"
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
    if paid != payment.amount {
        return Some(format!(
            "the session's price is {paid}, the payment expects {}",
            payment.amount
        ));
    }
    let currency = details.currency.as_ref().map(|c| c.as_str());
    if currency != Some(payment.currency.as_str()) {
        return Some(format!(
            "the session's currency is {currency:?}, the payment expects {:?}",
            payment.currency
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use actalink_checkout::CheckoutSessionId;
    use actalink_checkout::types::Decimal;

    use super::*;
    use crate::PaymentStatus;

    fn payment() -> Checked {
        Checked {
            session_id: CheckoutSessionId::new("checkout_abc").unwrap(),
            amount: Decimal::new(16, 2),
            currency: "USDC".into(),
            expected_metadata: BTreeMap::from([
                ("internal_order_id".into(), "ORD-1".into()),
                ("user_uuid".into(), "user_1".into()),
            ]),
            status: PaymentStatus::Open,
            expires_at_ms: None,
            check_attempts: 0,
        }
    }

    fn session(change: impl FnOnce(&mut serde_json::Value)) -> CheckoutSession {
        let mut json = serde_json::json!({
            "id": "checkout_abc",
            "status": "success",
            "metadata": {"internal_order_id": "ORD-1", "user_uuid": "user_1"},
            "products": [{"id": "prod_1", "priceDetails": {"price": "0x302e3136", "currency": "USDC"}}]
        });
        change(&mut json);
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_matching_success_is_paid_and_only_success_pays() {
        assert_eq!(evaluate(&payment(), &session(|_| {})), Verdict::Paid);
        let padded = session(|j| j["products"][0]["priceDetails"]["price"] = "0x302e313630".into());
        assert_eq!(
            evaluate(&payment(), &padded),
            Verdict::Paid,
            "0.160 is 0.16"
        );
        for (status, open) in [("open", true), ("processing", false)] {
            let verdict = evaluate(&payment(), &session(|j| j["status"] = status.into()));
            assert_eq!(matches!(verdict, Verdict::Open(_)), open, "{verdict:?}");
            assert_eq!(matches!(verdict, Verdict::Unknown(_)), !open, "{verdict:?}");
        }
        for status in ["failure", "timeout"] {
            let verdict = evaluate(&payment(), &session(|j| j["status"] = status.into()));
            assert!(matches!(verdict, Verdict::Failed(_)), "{verdict:?}");
        }
    }

    #[test]
    fn a_success_that_does_not_match_is_flagged() {
        type Change = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "not \"checkout_abc\"",
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
            match evaluate(&payment(), &session(change)) {
                Verdict::Flag(reason) => {
                    assert!(reason.contains(expected), "{expected:?} not in {reason:?}")
                }
                other => panic!("{expected}: expected a flag, got {other:?}"),
            }
        }
    }
}
