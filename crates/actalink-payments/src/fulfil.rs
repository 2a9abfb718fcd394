//! The fulfilment outbox: one job per paid payment, kept on the payment's
//! own row (its `job_` columns, queued in the statement that makes it
//! paid), claimed with a lease, completed under a fencing token.
//!
//! A job is `pending` until completed (`done`) or until it has failed
//! `max_attempts` times (`dead`). A claim moves the job's due time to the
//! end of its lease and gives it a fresh random lease token; when the lease
//! ends with the job still pending, any worker may claim it again, with a
//! new token. Completion and failure are conditional on the token, so a
//! worker that was paused or cut off past its lease cannot complete a job
//! another worker took over: [`Error::LeaseLost`].

use std::future::Future;
use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::Decimal;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::db::millis;
use crate::reconcile::error_chain;
use crate::store::bind;
use crate::task::{Background, idle};
use crate::{Error, Payments};

/// A job this worker holds under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    session_id: CheckoutSessionId,
    reference: String,
    amount: Decimal,
    currency: String,
    attempt: i64,
    lease_token: String,
    lease_until_ms: i64,
}

impl ClaimedJob {
    /// The paid payment's checkout session.
    #[must_use]
    pub fn session_id(&self) -> &CheckoutSessionId {
        &self.session_id
    }

    /// Your reference (the order id).
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The amount paid, as expected and confirmed.
    #[must_use]
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency paid.
    #[must_use]
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Which run of this job this is: 1 for the first.
    #[must_use]
    pub fn attempt(&self) -> i64 {
        self.attempt
    }

    /// When the lease ends, in Unix milliseconds by the database's clock.
    #[must_use]
    pub fn lease_until_ms(&self) -> i64 {
        self.lease_until_ms
    }

    /// The same for every run of this payment's job, whichever worker runs
    /// it: send it with an external effect so that the receiver can drop a
    /// repeat (an external effect is delivered at least once).
    #[must_use]
    pub fn idempotency_key(&self) -> String {
        format!("actalink-fulfil-{}", self.session_id.as_str())
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting to run, running, or waiting for a retry.
    Pending,
    /// Completed.
    Done,
    /// Failed `max_attempts` times; waits for an operator.
    Dead,
}

impl JobState {
    fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "pending" => Ok(Self::Pending),
            "done" => Ok(Self::Done),
            "dead" => Ok(Self::Dead),
            other => Err(Error::Corrupt(format!("unknown job state {other:?}"))),
        }
    }
}

/// What a failed run led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// The job runs again after this wait.
    RetryIn(Duration),
    /// The job is dead: it has failed `max_attempts` times.
    Dead,
}

/// A dead job, for an operator to look at and retry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadJob {
    /// The payment's checkout session.
    pub session_id: String,
    /// Your reference.
    pub reference: String,
    /// How many runs failed.
    pub attempts: i64,
    /// What the last run said.
    pub last_error: Option<String>,
}

/// A claimed job's columns, on its payment's row.
const JOB_COLUMNS: &str =
    "session_id, reference, amount, currency, job_attempts, job_lease_token, job_lease_until_ms";

fn job_from_row(row: &AnyRow) -> Result<ClaimedJob, Error> {
    let session_id: String = row.try_get(0)?;
    let amount: String = row.try_get(2)?;
    Ok(ClaimedJob {
        session_id: CheckoutSessionId::new(session_id.as_str())
            .map_err(|e| Error::Corrupt(format!("session id {session_id:?}: {e}")))?,
        reference: row.try_get(1)?,
        amount: Decimal::from_str_exact(&amount)
            .map_err(|e| Error::Corrupt(format!("amount {amount:?}: {e}")))?,
        currency: row.try_get(3)?,
        attempt: row.try_get(4)?,
        lease_token: row.try_get(5)?,
        lease_until_ms: row.try_get(6)?,
    })
}

fn new_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// A claimed job's session and lease token, as `$1` and `$2`.
fn lease_arguments(job: &ClaimedJob) -> Result<AnyArguments<'static>, Error> {
    let mut arguments = AnyArguments::default();
    bind(&mut arguments, job.session_id.as_str().to_owned())?;
    bind(&mut arguments, job.lease_token.clone())?;
    Ok(arguments)
}

impl Payments {
    /// Claims the next due job, holding it for `lease` (by the database's
    /// clock): due jobs are those never run, waiting for a retry, or whose
    /// last worker's lease ended. Returns `None` when none is due.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn claim_job(&self, lease: Duration) -> Result<Option<ClaimedJob>, Error> {
        let sql = self.sql();
        let now = sql.now;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, new_token())?;
        bind(&mut arguments, millis(lease))?;
        let rows = self
            .claim(
                format!(
                    "UPDATE actalink_payments SET job_attempts = job_attempts + 1, \
                     job_lease_token = $1, job_lease_until_ms = {now} + $2, \
                     job_run_at_ms = {now} + $2 \
                     WHERE session_id = (SELECT session_id FROM actalink_payments \
                         WHERE job_state = 'pending' AND job_run_at_ms <= {now} \
                         ORDER BY job_run_at_ms LIMIT 1 {skip}) \
                     AND job_state = 'pending' \
                     RETURNING {JOB_COLUMNS}",
                    skip = sql.skip_locked,
                ),
                arguments,
            )
            .await?;
        rows.first().map(job_from_row).transpose()
    }

    /// Completes a claimed job.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] when another worker took the job over (or it is
    /// no longer pending); on a database failure.
    pub async fn complete_job(&self, job: &ClaimedJob) -> Result<(), Error> {
        let done = self
            .write_affected(&self.complete_sql(), lease_arguments(job)?)
            .await?;
        if done == 1 {
            return Ok(());
        }
        self.completed_by(&mut *self.pool().acquire().await?, job)
            .await
    }

    /// Completes a claimed job inside your transaction (`&mut *tx`): an
    /// effect you make in that transaction then happens exactly once. On
    /// [`Error::LeaseLost`], roll your transaction back: another worker
    /// holds the job.
    ///
    /// Completing a job again under the same lease is harmless: a
    /// [`FulfilmentWorker`] handler may complete its job in its own
    /// transaction with this method and return `Ok`, and the worker's own
    /// completion then finds the job done by this very lease.
    ///
    /// # Errors
    ///
    /// As [`complete_job`](Self::complete_job).
    pub async fn complete_job_in(
        &self,
        conn: &mut AnyConnection,
        job: &ClaimedJob,
    ) -> Result<(), Error> {
        let done = sqlx::query_with(&self.complete_sql(), lease_arguments(job)?)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if done == 1 {
            return Ok(());
        }
        self.completed_by(conn, job).await
    }

    /// The completion: conditional on the lease token. The token stays on
    /// the done job: it tells a repeat of this lease's completion (accepted)
    /// from another worker's (refused).
    fn complete_sql(&self) -> String {
        let now = self.sql().now;
        format!(
            "UPDATE actalink_payments SET job_state = 'done', job_completed_at_ms = {now}, \
             job_lease_until_ms = NULL, job_last_error = NULL \
             WHERE session_id = $1 AND job_lease_token = $2 AND job_state = 'pending'"
        )
    }

    /// After a completion changed nothing: `Ok` when this very lease
    /// completed the job already, else [`Error::LeaseLost`].
    async fn completed_by(&self, conn: &mut AnyConnection, job: &ClaimedJob) -> Result<(), Error> {
        let already: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM actalink_payments \
             WHERE session_id = $1 AND job_lease_token = $2 AND job_state = 'done'",
        )
        .bind(job.session_id.as_str())
        .bind(job.lease_token.as_str())
        .fetch_optional(conn)
        .await?;
        match already {
            Some(_) => Ok(()),
            None => Err(Error::LeaseLost),
        }
    }

    /// Records a failed run: the job runs again after a doubling wait, or
    /// is dead after `max_attempts` runs.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] when another worker took the job over; on a
    /// database failure.
    pub async fn fail_job(&self, job: &ClaimedJob, error: &str) -> Result<RetryDecision, Error> {
        let settings = &self.inner.fulfil;
        let dead = job.attempt >= i64::from(settings.max_attempts);
        let wait = settings.backoff(job.attempt);
        let now = self.sql().now;
        let error: String = error.chars().take(2000).collect();
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, if dead { "dead" } else { "pending" })?;
        bind(&mut arguments, millis(wait))?;
        bind(&mut arguments, error.clone())?;
        bind(&mut arguments, job.session_id.as_str().to_owned())?;
        bind(&mut arguments, job.lease_token.clone())?;
        let changed = self
            .write_affected(
                &format!(
                    "UPDATE actalink_payments SET job_state = $1, job_run_at_ms = {now} + $2, \
                     job_last_error = $3, job_lease_token = NULL, job_lease_until_ms = NULL \
                     WHERE session_id = $4 AND job_lease_token = $5 AND job_state = 'pending'"
                ),
                arguments,
            )
            .await?;
        match (changed, dead) {
            (0, _) => Err(Error::LeaseLost),
            (_, true) => {
                tracing::error!(session = job.session_id.as_str(), reference = job.reference.as_str(), %error, "fulfilment job is dead; an operator must retry it");
                Ok(RetryDecision::Dead)
            }
            (_, false) => Ok(RetryDecision::RetryIn(wait)),
        }
    }

    /// The dead jobs, oldest first, at most `limit`.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn dead_jobs(&self, limit: u32) -> Result<Vec<DeadJob>, Error> {
        let rows = sqlx::query(
            "SELECT session_id, reference, job_attempts, job_last_error FROM actalink_payments \
             WHERE job_state = 'dead' ORDER BY job_created_at_ms, session_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadJob {
                    session_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    attempts: row.try_get(2)?,
                    last_error: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// Puts a dead job back to run now, with its attempts counted from zero.
    /// Returns false when the job is not dead.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn retry_dead_job(&self, session_id: &CheckoutSessionId) -> Result<bool, Error> {
        let now = self.sql().now;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, session_id.as_str().to_owned())?;
        let changed = self
            .write_affected(
                &format!(
                    "UPDATE actalink_payments SET job_state = 'pending', job_attempts = 0, \
                     job_run_at_ms = {now} WHERE session_id = $1 AND job_state = 'dead'"
                ),
                arguments,
            )
            .await?;
        Ok(changed == 1)
    }

    /// The state of a payment's fulfilment job and its run count, if it has one.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn job_state(
        &self,
        session_id: &CheckoutSessionId,
    ) -> Result<Option<(JobState, i64)>, Error> {
        let row = sqlx::query(
            "SELECT job_state, job_attempts FROM actalink_payments \
             WHERE session_id = $1 AND job_state IS NOT NULL",
        )
        .bind(session_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let state: String = row.try_get(0)?;
            Ok((JobState::parse(&state)?, row.try_get(1)?))
        })
        .transpose()
    }

    /// A worker that runs `handler` for each due job; [`FulfilmentWorker::spawn`]
    /// starts it. The handler's `Ok` completes the job and its `Err` schedules
    /// a retry (or, after `max_attempts`, makes it dead).
    pub fn fulfilment_worker<F, Fut, E>(&self, handler: F) -> FulfilmentWorker<F>
    where
        F: Fn(ClaimedJob) -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::error::Error + Send + 'static,
    {
        FulfilmentWorker {
            payments: self.clone(),
            handler,
            task: Background::default(),
        }
    }
}

/// Runs a handler for each due fulfilment job, `concurrency` at a time.
/// [`shutdown`](Self::shutdown) stops it after the jobs in hand; dropping
/// the handle stops it at once, and a job cut off midway runs again after
/// its lease ends.
pub struct FulfilmentWorker<F> {
    payments: Payments,
    handler: F,
    task: Background,
}

impl<F> std::fmt::Debug for FulfilmentWorker<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FulfilmentWorker")
            .field("settings", &self.payments.inner.fulfil)
            .field("running", &self.task.is_running())
            .finish_non_exhaustive()
    }
}

impl<F, Fut, E> FulfilmentWorker<F>
where
    F: Fn(ClaimedJob) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    /// Starts the worker on the current Tokio runtime.
    #[must_use = "dropping the handle stops the worker"]
    pub fn spawn(mut self) -> Self {
        let settings = self.payments.inner.fulfil.clone();
        let (payments, handler) = (self.payments.clone(), self.handler.clone());
        self.task = Background::start(move |stopped| {
            let mut lanes = JoinSet::new();
            for _ in 0..settings.concurrency {
                lanes.spawn(lane(payments.clone(), handler.clone(), stopped.clone()));
            }
            async move {
                // Owning the set here means dropping (aborting) this task aborts the lanes.
                while lanes.join_next().await.is_some() {}
            }
        });
        self
    }

    /// Stops the worker at once: a job in hand is cut off and runs again
    /// after its lease ends.
    pub fn stop(self) {
        // Drop does it.
    }

    /// Stops the worker gracefully: it claims no more jobs, and this waits
    /// until the jobs in hand have run and their results are recorded. To
    /// bound the wait, wrap it in `tokio::time::timeout`: dropping this
    /// future stops the worker at once, as [`stop`](Self::stop) does.
    pub async fn shutdown(mut self) {
        self.task.shutdown().await;
    }
}

async fn lane<F, Fut, E>(payments: Payments, handler: F, mut stopped: watch::Receiver<bool>)
where
    F: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    let settings = payments.inner.fulfil.clone();
    while !*stopped.borrow() {
        let job = match payments.claim_job(settings.lease).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                idle(&mut stopped, settings.idle_poll).await;
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "could not claim a fulfilment job; trying again");
                idle(&mut stopped, settings.idle_poll).await;
                continue;
            }
        };
        let result = handler(job.clone()).await;
        let recorded = match result {
            Ok(()) => payments.complete_job(&job).await.map(|()| None),
            Err(error) => {
                let text = error_chain(&error);
                tracing::warn!(session = job.session_id().as_str(), attempt = job.attempt(), error = %text, "fulfilment failed");
                payments.fail_job(&job, &text).await.map(Some)
            }
        };
        match recorded {
            Ok(None) => tracing::info!(
                session = job.session_id().as_str(),
                reference = job.reference(),
                "fulfilled"
            ),
            Ok(Some(decision)) => tracing::debug!(
                session = job.session_id().as_str(),
                ?decision,
                "fulfilment rescheduled"
            ),
            Err(Error::LeaseLost) => tracing::warn!(
                session = job.session_id().as_str(),
                "fulfilment lease lost: another worker took the job over"
            ),
            Err(error) => {
                tracing::warn!(session = job.session_id().as_str(), %error, "could not record the fulfilment's result; the job runs again after its lease")
            }
        }
    }
}
