//! Deciding whether an order is paid.
//!
//! Nothing the customer's browser or a webhook says marks an order paid by
//! itself: both only prompt [`check_order`], which fetches the checkout
//! session from Actalink and marks the order paid only when [`evaluate`]
//! finds that the session is `success`, is the order's own session, carries
//! the order's id in its metadata, and charged exactly the price and currency
//! the shop expects. Anything that does not match leaves the order unpaid and
//! flags it for a person to review.

mod verdict;

use std::fmt;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::OffsetDateTime;

use crate::AppState;
use crate::db::Order;

pub use verdict::{Verdict, evaluate};

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
