//! Durable Actalink payment records in your own database, shared safely by
//! any number of instances: the part of taking payments that every merchant
//! otherwise writes by hand.
//!
//! The principal type is [`Payments`], a cheap-to-clone handle on a database
//! (SQLite by default, PostgreSQL with the `postgres` feature) and an
//! [`actalink_checkout::Client`]. Around it:
//!
//! - a [`NewPayment`] is what you expect a checkout session to pay (amount,
//!   currency, the metadata you sent). [`Payments::record`] stores it, or
//!   [`Payments::record_in`] inside your own transaction, so that your order
//!   row and the [`Payment`] record commit together;
//! - [`Payments::handle_event`] takes a verified webhook
//!   ([`actalink_webhooks::Event`]): it stores the raw event in the inbox
//!   (deduplicated by its dedup key) and commits before you answer 2xx, then
//!   prompts a status check. An event alone never marks anything paid;
//! - [`Payments::confirm`] fetches the session's status and applies what it
//!   says as at most one transition ([`Outcome`]), recorded with its
//!   [`Source`] and the database's time. The return page calls it too;
//! - the [`Reconciler`] checks open records when they are due (found through
//!   an index, each with its own backoff), expires them, and never checks one
//!   record from two instances at once (a scan checks its claimed batch only
//!   while the claim's lease lasts);
//! - every payment that becomes paid gets exactly one fulfilment job, queued
//!   inside the statement that makes it paid. A [`FulfilmentWorker`] claims a job with a lease
//!   ([`ClaimedJob`], `FOR NO KEY UPDATE SKIP LOCKED` on PostgreSQL), runs your
//!   handler and completes it; a job whose worker died is taken over when its
//!   lease ends, and the old worker's completion is then refused by the
//!   lease token ([`Error::LeaseLost`]). A job that keeps failing ends as a
//!   [`DeadJob`] that an operator can list and retry.
//!
//! # What is exactly once, and what is at least once
//!
//! - **Transitions** happen once: each is a conditional update on the
//!   record's status, so a webhook, a return page and the reconciler racing
//!   on one payment across instances produce one transition and one job.
//!   Final states never move: a late `failure`, an older event or an
//!   expiry fetched after `paid` leaves the record paid.
//! - **An effect in the same database** (say, marking your order shipped)
//!   is exactly once when you make it in the transaction that completes the
//!   job: [`Payments::complete_job_in`].
//! - **An external effect** (an HTTP call, an e-mail) is delivered **at
//!   least once**: a worker can die after the effect and before its
//!   completion commits, and the job then runs again. Every run of one
//!   payment's job carries the same [`ClaimedJob::idempotency_key`]; send it
//!   along (as an `Idempotency-Key` header, say) so that the receiver can
//!   drop the repeat.
//!
//! Every lease and due time is computed by the database's clock, so
//! instances whose clocks disagree neither take over early nor leave records
//! stuck. Migrations are embedded and run once, under a lock, however many
//! instances start at once on an empty database. Every status change is
//! recorded, and a paid payment's job queued, inside the statement that
//! makes it: the crate's own statement does it on PostgreSQL, a trigger in
//! the schema on SQLite, and on both a trigger does it for a status changed
//! by hand in SQL, so that change too is recorded and fulfilled.
//!
//! On SQLite, a handle runs the writes it makes on its own connections on a
//! thread of its own (`actalink-sqlite-writer`; `ps` shows the first 15
//! characters), one after another, so that they never wait on one another
//! in SQLite's busy handler; the thread ends when the last clone of the
//! handle is dropped.
//!
//! ```no_run
//! use actalink_checkout::types::Decimal;
//! use actalink_checkout::{Client, CreateCheckoutSession};
//! use actalink_payments::{NewPayment, Payments, sqlx};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_env()?;
//! let payments = Payments::connect("sqlite:shop.db", client.clone()).await?;
//! let _reconciler = payments.reconciler().spawn();
//! let _worker = payments
//!     .fulfilment_worker(|job| async move {
//!         println!("ship order {} (key {})", job.reference(), job.idempotency_key());
//!         Ok::<(), std::io::Error>(())
//!     })
//!     .spawn();
//!
//! // At checkout:
//! let request = CreateCheckoutSession::builder("paylink_1")
//!     .metadata("internal_order_id", "ORD-1")
//!     .build()?;
//! let session = client.create_session(&request).await?;
//! let new = NewPayment::new(&request, &session, "ORD-1", Decimal::new(16, 2), "USDC")?;
//! let mut tx = payments.begin().await?;
//! sqlx::query("INSERT INTO orders (id) VALUES ($1)").bind("ORD-1").execute(&mut *tx).await?;
//! payments.record_in(&mut tx, &new).await?;
//! tx.commit().await?;
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod confirm;
mod db;
mod error;
mod fulfil;
mod inbox;
mod migrate;
mod model;
mod reconcile;
mod settings;
mod store;
mod task;
mod verdict;

use std::sync::Arc;

use actalink_checkout::Client;
use sqlx::{Any, AnyPool, Transaction};

pub use db::Backend;
pub use error::Error;
pub use fulfil::{ClaimedJob, DeadJob, FulfilmentWorker, JobState, RetryDecision};
pub use inbox::EventOutcome;
pub use model::{NewPayment, Outcome, Payment, PaymentStatus, Source, Transition};
pub use reconcile::{ReconcileReport, Reconciler};
pub use settings::{FulfilSettings, PaymentsBuilder, ReconcileSettings};
/// The `sqlx` this crate uses, for queries in your own transactions.
pub use sqlx;

/// A handle on the payment records: cheap to clone (an `Arc` inside), `Send`
/// and `Sync`. See the [crate docs](crate) for how its parts connect.
#[derive(Clone)]
pub struct Payments {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    sql: db::Sql,
    client: Client,
    reconcile: ReconcileSettings,
    fulfil: FulfilSettings,
    /// SQLite's writer thread; `None` on PostgreSQL.
    writer: Option<db::SqliteWriter>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is not kept, so it cannot show.
        f.debug_struct("Payments")
            .field("backend", &self.inner.backend)
            .field("client", &self.inner.client)
            .field("reconcile", &self.inner.reconcile)
            .field("fulfil", &self.inner.fulfil)
            .finish_non_exhaustive()
    }
}

/// One migration of your own tables, run by [`Payments::migrate`] under the
/// same cross-instance lock as this crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

impl Migration {
    /// Migration `version` (above 0, increasing), named `name`, running `sql`
    /// (one or more statements).
    #[must_use]
    pub const fn new(version: i64, name: &'static str, sql: &'static str) -> Self {
        Self { version, name, sql }
    }
}

impl Payments {
    /// Configures a handle on the database at `url` (`sqlite:PATH` or
    /// `postgres://…`), checking statuses with `client`.
    pub fn builder(url: impl Into<String>, client: Client) -> PaymentsBuilder {
        PaymentsBuilder::new(url.into(), client)
    }

    /// Connects with the default settings and runs the embedded migrations.
    ///
    /// # Errors
    ///
    /// When the URL names no compiled-in backend, the database cannot be
    /// reached, or a migration fails.
    pub async fn connect(url: &str, client: Client) -> Result<Self, Error> {
        Self::builder(url, client).connect().await
    }

    /// The backend in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The connection pool, for your own queries.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// The status client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Starts a transaction of your own, for [`record_in`](Self::record_in)
    /// and [`complete_job_in`](Self::complete_job_in).
    ///
    /// On SQLite, make a write your transaction's first statement: a
    /// transaction that reads first and writes later can be refused with
    /// "database is locked" when another process wrote in between.
    ///
    /// # Errors
    ///
    /// When no connection can be had.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        Ok(self.inner.pool.begin().await?)
    }

    /// Runs your own migrations under `component` (a name of your choice,
    /// such as your app's), with the same guarantees as this crate's: each
    /// runs once, in a transaction, however many instances start at once.
    /// Returns how many ran now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the versions do not increase;
    /// [`Error::Migration`] when one fails: every migration this call applied
    /// is rolled back; those applied by earlier calls stay.
    pub async fn migrate(&self, component: &str, migrations: &[Migration]) -> Result<usize, Error> {
        migrate::run(
            &self.inner.pool,
            self.inner.backend,
            self.inner.sql.now,
            component,
            migrations,
        )
        .await
    }

    /// The database's clock now, in Unix milliseconds: the clock every lease
    /// and due time is measured by.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn database_now_ms(&self) -> Result<i64, Error> {
        Ok(
            sqlx::query_scalar(&format!("SELECT {}", self.inner.sql.now))
                .fetch_one(&self.inner.pool)
                .await?,
        )
    }

    pub(crate) fn sql(&self) -> db::Sql {
        self.inner.sql
    }

    /// Runs a write that changes something: on SQLite through the writer's
    /// thread (see [`db::SqliteWriter`]), on PostgreSQL as it is.
    pub(crate) async fn write(
        &self,
        sql: String,
        arguments: sqlx::any::AnyArguments<'static>,
    ) -> Result<Vec<sqlx::any::AnyRow>, Error> {
        self.write_as(sql, arguments, db::WriteKind::Change).await
    }

    /// Runs a claim, a write that leases something to its caller: as
    /// [`write`](Self::write), except that on SQLite it is not made when its
    /// caller has gone before its turn.
    pub(crate) async fn claim(
        &self,
        sql: String,
        arguments: sqlx::any::AnyArguments<'static>,
    ) -> Result<Vec<sqlx::any::AnyRow>, Error> {
        self.write_as(sql, arguments, db::WriteKind::Claim).await
    }

    async fn write_as(
        &self,
        sql: String,
        arguments: sqlx::any::AnyArguments<'static>,
        kind: db::WriteKind,
    ) -> Result<Vec<sqlx::any::AnyRow>, Error> {
        match &self.inner.writer {
            Some(writer) => writer.write(sql, arguments, kind).await,
            None => Ok(sqlx::query_with(&sql, arguments)
                .fetch_all(&self.inner.pool)
                .await?),
        }
    }

    /// Runs one `UPDATE` or `INSERT` (without `RETURNING`) as
    /// [`write`](Self::write) does, and returns how many rows it changed
    /// (on PostgreSQL, of a statement with a data-modifying `WITH`: how many
    /// its last part changed). On SQLite the writer's thread counts the
    /// rows of a `RETURNING 1` added here; on PostgreSQL the statement's
    /// own count is read, and no row is sent.
    pub(crate) async fn write_affected(
        &self,
        sql: &str,
        arguments: sqlx::any::AnyArguments<'static>,
    ) -> Result<u64, Error> {
        match &self.inner.writer {
            Some(writer) => {
                let rows = writer
                    .write(
                        format!("{sql} RETURNING 1"),
                        arguments,
                        db::WriteKind::Change,
                    )
                    .await?;
                Ok(rows.len() as u64)
            }
            None => Ok(sqlx::query_with(sql, arguments)
                .execute(&self.inner.pool)
                .await?
                .rows_affected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Every future a user might spawn is `Send`.
    #[test]
    fn futures_are_send() {
        let client = Client::builder()
            .api_key("sk_test")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let connect = Payments::connect("sqlite:unused.db", client);
        assert_send(&connect);
    }
}
