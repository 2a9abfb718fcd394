//! Settings: the connection, the reconciler and the fulfilment worker.

use std::sync::Arc;
use std::time::Duration;

use actalink_checkout::Client;

use crate::db::{self, Backend, Sql};
use crate::{Error, Inner, Payments, migrate};

/// Configures a [`Payments`] handle; [`connect`](Self::connect) opens it.
#[must_use]
pub struct PaymentsBuilder {
    url: String,
    client: Client,
    max_connections: u32,
    busy_timeout: Duration,
    reconcile: ReconcileSettings,
    fulfil: FulfilSettings,
}

impl std::fmt::Debug for PaymentsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("PaymentsBuilder")
            .field("url", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .field("busy_timeout", &self.busy_timeout)
            .field("reconcile", &self.reconcile)
            .field("fulfil", &self.fulfil)
            .finish_non_exhaustive()
    }
}

impl PaymentsBuilder {
    pub(crate) fn new(url: String, client: Client) -> Self {
        Self {
            url,
            client,
            max_connections: 10,
            busy_timeout: Duration::from_secs(30),
            reconcile: ReconcileSettings::default(),
            fulfil: FulfilSettings::default(),
        }
    }

    /// The most connections this handle opens (default 10).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// On SQLite, how long a statement waits for another process's write
    /// lock before failing (default 30 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The reconciler's settings.
    pub fn reconcile(mut self, settings: ReconcileSettings) -> Self {
        self.reconcile = settings;
        self
    }

    /// The fulfilment worker's settings.
    pub fn fulfil(mut self, settings: FulfilSettings) -> Self {
        self.fulfil = settings;
        self
    }

    /// Opens the pool and runs the embedded migrations.
    ///
    /// # Errors
    ///
    /// When the URL names no compiled-in backend, the database cannot be
    /// reached, or a migration fails.
    pub async fn connect(self) -> Result<Payments, Error> {
        let backend = Backend::of_url(&self.url)?;
        let pool = db::connect(&self.url, backend, self.max_connections, self.busy_timeout).await?;
        let sql = Sql::of(backend);
        migrate::run(
            &pool,
            backend,
            sql.now,
            migrate::COMPONENT,
            migrate::own(backend),
        )
        .await?;
        let writer = match backend {
            Backend::Sqlite => {
                Some(db::SqliteWriter::start(pool.clone(), self.busy_timeout).await?)
            }
            Backend::Postgres => None,
        };
        Ok(Payments {
            inner: Arc::new(Inner {
                pool,
                backend,
                sql,
                client: self.client,
                reconcile: self.reconcile,
                fulfil: self.fulfil,
                writer,
            }),
        })
    }
}

/// How the [`Reconciler`](crate::Reconciler) checks open payments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileSettings {
    /// How long after recording a payment is first checked (default 10 s).
    pub first_check_after: Duration,
    /// The wait after the first check that left a payment open (default
    /// 10 s); it doubles with each further check, up to `max_interval`.
    pub min_interval: Duration,
    /// The longest wait between two checks of one payment (default 5 min).
    pub max_interval: Duration,
    /// How long a claimed payment is held by one instance's check before
    /// another may check it (default 60 s). A scan checks its batch only
    /// until the lease ends and leaves the rest (and a check still running
    /// then) to a later scan; keep it above the client's total timeout, so
    /// that one check can finish inside it.
    pub claim_lease: Duration,
    /// How long past its `expiresAt` an open session is given before the
    /// payment expires (default 10 min): the provider may still settle it.
    pub expiry_grace: Duration,
    /// How many due payments one scan claims (default 32).
    pub batch: u32,
    /// How long an idle reconciler sleeps between scans (default 1 s).
    pub idle_poll: Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            first_check_after: Duration::from_secs(10),
            min_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(300),
            claim_lease: Duration::from_secs(60),
            expiry_grace: Duration::from_secs(600),
            batch: 32,
            idle_poll: Duration::from_secs(1),
        }
    }
}

impl ReconcileSettings {
    /// With `first_check_after`.
    #[must_use]
    pub fn with_first_check_after(mut self, wait: Duration) -> Self {
        self.first_check_after = wait;
        self
    }

    /// With `min_interval`.
    #[must_use]
    pub fn with_min_interval(mut self, wait: Duration) -> Self {
        self.min_interval = wait;
        self
    }

    /// With `max_interval`.
    #[must_use]
    pub fn with_max_interval(mut self, wait: Duration) -> Self {
        self.max_interval = wait;
        self
    }

    /// With `claim_lease`.
    #[must_use]
    pub fn with_claim_lease(mut self, lease: Duration) -> Self {
        self.claim_lease = lease;
        self
    }

    /// With `expiry_grace`.
    #[must_use]
    pub fn with_expiry_grace(mut self, grace: Duration) -> Self {
        self.expiry_grace = grace;
        self
    }

    /// With `batch` (at least 1).
    #[must_use]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// With `idle_poll`.
    #[must_use]
    pub fn with_idle_poll(mut self, poll: Duration) -> Self {
        self.idle_poll = poll;
        self
    }

    /// The wait after the `attempts`-th check left a payment open: doubling
    /// from `min_interval`, capped at `max_interval`.
    pub(crate) fn backoff(&self, attempts: i64) -> Duration {
        doubling(self.min_interval, self.max_interval, attempts)
    }
}

/// How the [`FulfilmentWorker`](crate::FulfilmentWorker) runs jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FulfilSettings {
    /// How long a claimed job is held (default 30 s). A worker that has not
    /// completed it by then may lose it to another; its completion is then
    /// refused.
    pub lease: Duration,
    /// The wait before the first retry of a failed job (default 5 s); it
    /// doubles with each failure, up to `max_retry_interval`.
    pub retry_after: Duration,
    /// The longest wait between retries (default 1 h).
    pub max_retry_interval: Duration,
    /// After this many failed runs the job is dead: it stays, with its last
    /// error, until an operator retries it (default 25, about a day with
    /// the defaults above).
    pub max_attempts: u32,
    /// How long an idle worker sleeps between claims (default 1 s).
    pub idle_poll: Duration,
    /// How many jobs one worker runs at once (default 4).
    pub concurrency: usize,
}

impl Default for FulfilSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            retry_after: Duration::from_secs(5),
            max_retry_interval: Duration::from_secs(3600),
            max_attempts: 25,
            idle_poll: Duration::from_secs(1),
            concurrency: 4,
        }
    }
}

impl FulfilSettings {
    /// With `lease`.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// With `retry_after`.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// With `max_retry_interval`.
    #[must_use]
    pub fn with_max_retry_interval(mut self, wait: Duration) -> Self {
        self.max_retry_interval = wait;
        self
    }

    /// With `max_attempts` (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// With `idle_poll`.
    #[must_use]
    pub fn with_idle_poll(mut self, poll: Duration) -> Self {
        self.idle_poll = poll;
        self
    }

    /// With `concurrency` (at least 1).
    #[must_use]
    pub fn with_concurrency(mut self, jobs: usize) -> Self {
        self.concurrency = jobs.max(1);
        self
    }

    /// The wait after the `attempts`-th failed run.
    pub(crate) fn backoff(&self, attempts: i64) -> Duration {
        doubling(self.retry_after, self.max_retry_interval, attempts)
    }
}

/// `first`, doubled `attempts - 1` times, capped at `max`.
fn doubling(first: Duration, max: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 31)).unwrap_or(31);
    first.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = ReconcileSettings::default()
            .with_min_interval(Duration::from_secs(5))
            .with_max_interval(Duration::from_secs(60));
        let waits: Vec<u64> = (0..8).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(s.backoff(i64::MAX), Duration::from_secs(60));
        let f = FulfilSettings::default();
        assert_eq!(f.backoff(1), Duration::from_secs(5));
        assert_eq!(f.backoff(2), Duration::from_secs(10));
        assert_eq!(f.backoff(100), Duration::from_secs(3600));
    }
}
