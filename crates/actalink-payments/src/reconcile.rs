//! The reconciler: no payment is lost, even when the customer closes the tab
//! and every webhook goes astray.
//!
//! Each open payment carries its due time (`next_check_at_ms`), found
//! through a partial index, so that a scan's work grows with the payments
//! that are due, not with all the open ones. A scan claims a batch of due
//! payments in one statement that moves their due time past a lease
//! (`FOR NO KEY UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer makes the
//! statement atomic), and checks them only while that lease lasts, so no two
//! instances check one payment at once. Each
//! checked payment is then rescheduled with its own doubling backoff, or
//! leaves the index when it reaches a final status.

use std::time::{Duration, Instant};

use actalink_checkout::CheckoutSessionId;
use sqlx::any::AnyArguments;
use tokio::sync::watch;

use crate::db::millis;
use crate::store::{CHECK_COLUMNS, Checked, bind, checked_from_row};
use crate::task::{Background, idle};
use crate::{Error, Outcome, Payments, Source};

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Payments claimed and checked.
    pub checked: usize,
    /// Of those, the ones this scan moved to a final status.
    pub changed: usize,
    /// Of those, the ones whose check failed (to be retried with backoff).
    pub errors: usize,
    /// Payments claimed but not checked (or not to the end) before the
    /// claim's lease ran out: another instance may claim them now, so this
    /// scan leaves them to whichever scan claims them next.
    pub unfinished: usize,
}

/// The reconciler's task. [`shutdown`](Self::shutdown) stops it after the
/// scan in hand; dropping the handle (or [`stop`](Self::stop)) stops it at
/// once, and a scan stopped midway leaves its claimed payments to be
/// checked again when their lease ends.
#[derive(Debug)]
pub struct Reconciler {
    task: Background,
    payments: Payments,
}

impl Reconciler {
    /// Starts the task on the current Tokio runtime.
    #[must_use = "dropping the handle stops the reconciler"]
    pub fn spawn(mut self) -> Self {
        let payments = self.payments.clone();
        self.task = Background::start(move |stopped| run(payments, stopped));
        self
    }

    /// Stops the task at once.
    pub fn stop(self) {
        // Drop does it.
    }

    /// Stops the task gracefully: it starts no more scans, and this waits
    /// for the scan in hand to finish. Wrap it in `tokio::time::timeout` to
    /// bound the wait; dropping this future stops the task at once.
    pub async fn shutdown(mut self) {
        self.task.shutdown().await;
    }
}

async fn run(payments: Payments, mut stopped: watch::Receiver<bool>) {
    let settings = payments.inner.reconcile.clone();
    tracing::info!(?settings, "reconciler started");
    while !*stopped.borrow() {
        let nothing_due = match payments.reconcile_due().await {
            Ok(report) => report.checked == 0 && report.unfinished == 0,
            Err(error) => {
                tracing::warn!(%error, "reconciler scan failed; trying again");
                true
            }
        };
        if nothing_due && !idle(&mut stopped, settings.idle_poll).await {
            break;
        }
    }
    tracing::debug!("reconciler stopped");
}

impl Payments {
    /// The reconciler of this handle; [`Reconciler::spawn`] starts it.
    pub fn reconciler(&self) -> Reconciler {
        Reconciler {
            task: Background::default(),
            payments: self.clone(),
        }
    }

    /// One scan: claims up to `batch` due open payments and checks each.
    /// The background task runs this in a loop; tests and operators may
    /// call it directly.
    ///
    /// # Errors
    ///
    /// When the claim itself failed; a failed check of one payment is
    /// counted in the report and rescheduled instead.
    pub async fn reconcile_due(&self) -> Result<ReconcileReport, Error> {
        // Taken before the claim, so that it ends no later than the lease
        // the database gives: no check of this scan runs past it, and so no
        // record is checked by two instances at once, however long the
        // checks of a batch take together.
        let lease_ends = Instant::now() + self.inner.reconcile.claim_lease;
        let claimed = self.claim_due().await?;
        let mut report = ReconcileReport::default();
        for payment in claimed {
            let left = lease_ends.saturating_duration_since(Instant::now());
            let (id, attempts) = (payment.session_id.clone(), payment.check_attempts);
            // The claim returned what a check needs: checked without reading it again.
            let checked = if left.is_zero() {
                None
            } else {
                tokio::time::timeout(left, self.check(payment, Source::Reconciler))
                    .await
                    .ok()
            };
            let Some(checked) = checked else {
                report.unfinished += 1;
                continue;
            };
            report.checked += 1;
            match checked {
                Ok(outcome) if outcome.changed() => report.changed += 1,
                Ok(Outcome::NotYet { reason }) => {
                    self.reschedule(&id, attempts, Some(&reason)).await?;
                }
                Ok(_) => {}
                Err(error) => {
                    report.errors += 1;
                    tracing::warn!(session = id.as_str(), %error, "reconciler check failed; backing off");
                    self.reschedule(&id, attempts, Some(&error_chain(&error)))
                        .await?;
                }
            }
        }
        Ok(report)
    }

    /// Claims the due open payments: one statement that moves each one's due
    /// time past the claim lease, counts the attempt and returns the rows.
    /// A row this crate cannot read is skipped with a warning (it stays
    /// claimed until its lease ends), so that it cannot stop the others.
    async fn claim_due(&self) -> Result<Vec<Checked>, Error> {
        let sql = self.sql();
        let now = sql.now;
        let settings = &self.inner.reconcile;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, millis(settings.claim_lease))?;
        bind(&mut arguments, i64::from(settings.batch))?;
        let rows = self
            .claim(
                format!(
                    "UPDATE actalink_payments SET next_check_at_ms = {now} + $1, \
                     check_attempts = check_attempts + 1 \
                     WHERE session_id IN (SELECT session_id FROM actalink_payments \
                         WHERE next_check_at_ms IS NOT NULL AND next_check_at_ms <= {now} \
                         AND status = 'open' ORDER BY next_check_at_ms LIMIT $2 {skip}) \
                     RETURNING {CHECK_COLUMNS}",
                    skip = sql.skip_locked,
                ),
                arguments,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| match checked_from_row(row) {
                Ok(payment) => Some(payment),
                Err(error) => {
                    tracing::warn!(%error, "the reconciler skips a payment row it cannot read");
                    None
                }
            })
            .collect())
    }

    async fn reschedule(
        &self,
        id: &CheckoutSessionId,
        attempts: i64,
        note: Option<&str>,
    ) -> Result<(), Error> {
        let wait = self.inner.reconcile.backoff(attempts);
        // A little jitter keeps payments recorded together from being checked together forever.
        let jitter =
            Duration::from_millis(fastrand::u64(0..=wait.as_millis().min(1000) as u64 / 10));
        let now = self.sql().now;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, millis(wait + jitter))?;
        bind(&mut arguments, note.map(str::to_owned))?;
        bind(&mut arguments, id.as_str().to_owned())?;
        self.write_affected(
            &format!(
                "UPDATE actalink_payments SET next_check_at_ms = {now} + $1, \
                 last_check_error = $2 WHERE session_id = $3 AND status = 'open'"
            ),
            arguments,
        )
        .await?;
        Ok(())
    }

    /// How many open payments are due now (by the database's clock).
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn due_count(&self) -> Result<i64, Error> {
        let now = self.sql().now;
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM actalink_payments WHERE next_check_at_ms IS NOT NULL \
             AND next_check_at_ms <= {now} AND status = 'open'"
        ))
        .fetch_one(self.pool())
        .await?)
    }
}

/// An error and its sources, in one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
