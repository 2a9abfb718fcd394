//! Confirmation: fetch the session's status, judge it, apply at most one
//! transition.

use actalink_checkout::CheckoutSessionId;
use sqlx::any::AnyArguments;

use crate::db::millis;
use crate::model::unix_ms;
use crate::store::{Checked, bind};
use crate::verdict::{Verdict, evaluate};
use crate::{Error, Outcome, PaymentStatus, Payments, Source};

use PaymentStatus::{Expired, Failed, Flagged, Open, Paid};

impl Payments {
    /// Checks a payment against the provider and applies what its session
    /// status says, at most once however many callers race.
    ///
    /// A paid or flagged payment is not fetched again. Otherwise the session
    /// is fetched (no database lock is held meanwhile) and judged:
    ///
    /// - `success`, matching the amount, currency, session and metadata:
    ///   open becomes paid and its fulfilment job is queued in the same
    ///   statement. A success for a failed or expired record flags it:
    ///   money arrived for a closed order.
    /// - `success` that does not match: flagged, never paid.
    /// - `failure` or `timeout`: open becomes failed.
    /// - `open`: expired once `expiresAt` plus the expiry grace has passed
    ///   by the database's clock; otherwise nothing changes.
    /// - a status this crate does not know: flagged past the expiry, else
    ///   nothing changes.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] when the status could not be fetched and
    /// [`Error::Database`] when the database failed: nothing changed, and
    /// the check can be tried again.
    pub async fn confirm(
        &self,
        session_id: &CheckoutSessionId,
        source: Source,
    ) -> Result<Outcome, Error> {
        let Some(payment) = self.checked(session_id).await? else {
            return Ok(Outcome::UnknownPayment);
        };
        self.check(payment, source).await
    }

    /// [`confirm`](Self::confirm) for a payment just read.
    pub(crate) async fn check(&self, payment: Checked, source: Source) -> Result<Outcome, Error> {
        if matches!(payment.status, Paid | Flagged) {
            return Ok(Outcome::Unchanged(payment.status));
        }
        let session_id = &payment.session_id;
        let session = self
            .client()
            .get_session(session_id)
            .await
            .map_err(Error::Provider)?;
        let verdict = evaluate(&payment, &session);
        tracing::debug!(session = session_id.as_str(), ?verdict, %source, "session checked");
        if let Some(expires_at) = session.expires_at.map(unix_ms)
            && payment.expires_at_ms != Some(expires_at)
            && payment.status == Open
        {
            let mut arguments = AnyArguments::default();
            bind(&mut arguments, expires_at)?;
            bind(&mut arguments, session_id.as_str().to_owned())?;
            self.write_affected(
                "UPDATE actalink_payments SET expires_at_ms = $1 \
                 WHERE session_id = $2 AND status = 'open'",
                arguments,
            )
            .await?;
        }
        match verdict {
            Verdict::Paid => {
                let paid = self.apply(session_id, &[Open], Paid, source, None).await?;
                if paid.changed() {
                    return Ok(paid);
                }
                let reason = "the provider confirms a payment for a payment record closed unpaid; \
                              refund or fulfil it";
                self.flag(session_id, &[Failed, Expired], source, reason)
                    .await
            }
            Verdict::Flag(reason) => {
                self.flag(session_id, &[Open, Failed, Expired], source, &reason)
                    .await
            }
            Verdict::Failed(reason) => {
                self.apply(session_id, &[Open], Failed, source, Some(reason))
                    .await
            }
            Verdict::Open(reason) => match self.standing(session_id).await? {
                Some((Open, true)) => {
                    let why = "the session stayed open past its expiry".to_owned();
                    self.apply(session_id, &[Open], Expired, source, Some(why))
                        .await
                }
                standing => Ok(not_yet(standing, reason)),
            },
            Verdict::Unknown(reason) => match self.standing(session_id).await? {
                Some((Open, true)) => {
                    let why = format!("{reason}, past the session's expiry");
                    self.flag(session_id, &[Open], source, &why).await
                }
                standing => Ok(not_yet(standing, reason)),
            },
        }
    }

    /// Moves the payment to `to` from the first of `from` it is in: the
    /// change, or, when another caller changed it first, where it stands.
    async fn apply(
        &self,
        session_id: &CheckoutSessionId,
        from: &[PaymentStatus],
        to: PaymentStatus,
        source: Source,
        reason: Option<String>,
    ) -> Result<Outcome, Error> {
        if self
            .transition(session_id, from, to, source, reason.as_deref())
            .await?
            .is_some()
        {
            return Ok(Outcome::Changed { to, reason });
        }
        self.unchanged(session_id).await
    }

    async fn flag(
        &self,
        session_id: &CheckoutSessionId,
        from: &[PaymentStatus],
        source: Source,
        reason: &str,
    ) -> Result<Outcome, Error> {
        let flagged = self
            .apply(session_id, from, Flagged, source, Some(reason.to_owned()))
            .await?;
        if flagged.changed() {
            tracing::warn!(
                session = session_id.as_str(),
                reason,
                "payment flagged for review; it is not paid"
            );
        }
        Ok(flagged)
    }

    /// The outcome when another caller changed the payment first.
    async fn unchanged(&self, session_id: &CheckoutSessionId) -> Result<Outcome, Error> {
        let reason = "the payment changed during the check".to_owned();
        Ok(not_yet(self.standing(session_id).await?, reason))
    }

    /// Where the payment stands now, in one read: its status, and whether its
    /// session expired more than the grace ago by the database's clock
    /// (never without a known expiry). `None` when none is recorded.
    async fn standing(
        &self,
        session_id: &CheckoutSessionId,
    ) -> Result<Option<(PaymentStatus, bool)>, Error> {
        let now = self.sql().now;
        let row: Option<(String, i64)> = sqlx::query_as(&format!(
            "SELECT status, CAST(CASE WHEN expires_at_ms IS NOT NULL \
             AND expires_at_ms + $2 <= {now} THEN 1 ELSE 0 END AS BIGINT) \
             FROM actalink_payments WHERE session_id = $1"
        ))
        .bind(session_id.as_str())
        .bind(millis(self.inner.reconcile.expiry_grace))
        .fetch_optional(self.pool())
        .await?;
        row.map(|(status, past)| Ok((PaymentStatus::parse(&status)?, past == 1)))
            .transpose()
    }
}

/// The outcome of a check that leaves the payment as it stands: not yet
/// final while open, else the status another caller gave it.
fn not_yet(standing: Option<(PaymentStatus, bool)>, reason: String) -> Outcome {
    match standing {
        None => Outcome::UnknownPayment,
        Some((Open, _)) => Outcome::NotYet { reason },
        Some((status, _)) => Outcome::Unchanged(status),
    }
}
