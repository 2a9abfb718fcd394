//! Reading and writing payment records, and the one place a status changes.

use std::collections::BTreeMap;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::Decimal;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyConnection, Arguments, Row};

use crate::db::{Backend, millis, pg_now, queue_job, sqlite_now};
use crate::{Error, NewPayment, Payment, PaymentStatus, Payments, Source, Transition};

/// What a refused insert names: the session and the reference.
fn recorded(new: &NewPayment) -> String {
    format!(
        "session {} or reference {:?}",
        new.session_id.as_str(),
        new.reference
    )
}

/// What a check needs of a payment, read in [`CHECK_COLUMNS`] order: less
/// than a whole [`Payment`], as every webhook, return page and reconciler
/// scan reads it.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) session_id: CheckoutSessionId,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    pub(crate) expected_metadata: BTreeMap<String, String>,
    pub(crate) status: PaymentStatus,
    pub(crate) expires_at_ms: Option<i64>,
    pub(crate) check_attempts: i64,
}

/// The columns of a [`Checked`].
macro_rules! check_columns {
    () => {
        "session_id, amount, currency, expected_metadata, status, expires_at_ms, check_attempts"
    };
}
pub(crate) const CHECK_COLUMNS: &str = check_columns!();

/// The columns of a [`Payment`]: a [`Checked`]'s, then the rest.
pub(crate) const PAYMENT_COLUMNS: &str = concat!(
    check_columns!(),
    ", reference, paylink_id, reason, created_at_ms, updated_at_ms, next_check_at_ms, \
     last_check_error"
);

/// A [`Checked`] read in [`CHECK_COLUMNS`] order (also the first columns
/// of [`PAYMENT_COLUMNS`]).
pub(crate) fn checked_from_row(row: &AnyRow) -> Result<Checked, Error> {
    let session_id: String = row.try_get(0)?;
    let amount: String = row.try_get(1)?;
    let metadata: String = row.try_get(3)?;
    let status: String = row.try_get(4)?;
    Ok(Checked {
        session_id: CheckoutSessionId::new(session_id.as_str())
            .map_err(|e| Error::Corrupt(format!("session id {session_id:?}: {e}")))?,
        amount: Decimal::from_str_exact(&amount)
            .map_err(|e| Error::Corrupt(format!("amount {amount:?}: {e}")))?,
        currency: row.try_get(2)?,
        expected_metadata: serde_json::from_str::<BTreeMap<String, String>>(&metadata)
            .map_err(|e| Error::Corrupt(format!("expected metadata: {e}")))?,
        status: PaymentStatus::parse(&status)?,
        expires_at_ms: row.try_get(5)?,
        check_attempts: row.try_get(6)?,
    })
}

/// A [`Payment`] read in [`PAYMENT_COLUMNS`] order.
pub(crate) fn payment_from_row(row: &AnyRow) -> Result<Payment, Error> {
    let checked = checked_from_row(row)?;
    Ok(Payment {
        session_id: checked.session_id,
        reference: row.try_get(7)?,
        paylink_id: row.try_get(8)?,
        amount: checked.amount,
        currency: checked.currency,
        expected_metadata: checked.expected_metadata,
        status: checked.status,
        reason: row.try_get(9)?,
        expires_at_ms: checked.expires_at_ms,
        created_at_ms: row.try_get(10)?,
        updated_at_ms: row.try_get(11)?,
        next_check_at_ms: row.try_get(12)?,
        check_attempts: checked.check_attempts,
        last_check_error: row.try_get(13)?,
    })
}

impl Payments {
    /// Records a created session as an open payment, first checked by the
    /// reconciler after `first_check_after`.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRecorded`] when the session or the reference is
    /// recorded already; [`Error::Database`] otherwise. Nothing is written.
    pub async fn record(&self, new: &NewPayment) -> Result<(), Error> {
        let (sql, arguments) = self.record_statement(new)?;
        match self.write_affected(&sql, arguments).await {
            Err(Error::Database(error)) => Err(Error::from_insert(error, &recorded(new))),
            other => other.map(|_| ()),
        }
    }

    /// As [`record`](Self::record), on your connection or inside your
    /// transaction (`&mut *tx`), so that your order row and the payment
    /// record commit together, or neither does.
    ///
    /// # Errors
    ///
    /// As [`record`](Self::record). Inside a PostgreSQL transaction, a
    /// refused insert aborts the transaction: roll it back.
    pub async fn record_in(&self, conn: &mut AnyConnection, new: &NewPayment) -> Result<(), Error> {
        let (sql, arguments) = self.record_statement(new)?;
        sqlx::query_with(&sql, arguments)
            .execute(conn)
            .await
            .map_err(|e| Error::from_insert(e, &recorded(new)))?;
        Ok(())
    }

    /// The insert of a new open payment, first checked by the reconciler
    /// after `first_check_after`.
    fn record_statement(&self, new: &NewPayment) -> Result<(String, AnyArguments<'static>), Error> {
        let metadata = serde_json::to_string(&new.expected_metadata)
            .map_err(|e| Error::InvalidInput(format!("metadata: {e}")))?;
        let now = self.sql().now;
        let sql = format!(
            "INSERT INTO actalink_payments (session_id, reference, paylink_id, amount, currency, \
             expected_metadata, status, expires_at_ms, created_at_ms, updated_at_ms, next_check_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, {now}, {now}, {now} + $8)"
        );
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, new.session_id.as_str().to_owned())?;
        bind(&mut arguments, new.reference.clone())?;
        bind(&mut arguments, new.paylink_id.clone())?;
        bind(&mut arguments, new.amount.normalize().to_string())?;
        bind(&mut arguments, new.currency.clone())?;
        bind(&mut arguments, metadata)?;
        bind(&mut arguments, new.expires_at_ms)?;
        bind(
            &mut arguments,
            millis(self.inner.reconcile.first_check_after),
        )?;
        Ok((sql, arguments))
    }

    /// The payment of a checkout session.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn payment(&self, session_id: &CheckoutSessionId) -> Result<Option<Payment>, Error> {
        self.payment_where("session_id", session_id.as_str()).await
    }

    /// The payment recorded for your reference.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn payment_by_reference(&self, reference: &str) -> Result<Option<Payment>, Error> {
        self.payment_where("reference", reference).await
    }

    /// What a check needs of the payment of a checkout session.
    pub(crate) async fn checked(
        &self,
        session_id: &CheckoutSessionId,
    ) -> Result<Option<Checked>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {CHECK_COLUMNS} FROM actalink_payments WHERE session_id = $1"
        ))
        .bind(session_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(checked_from_row).transpose()
    }

    async fn payment_where(&self, column: &str, value: &str) -> Result<Option<Payment>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM actalink_payments WHERE {column} = $1"
        ))
        .bind(value)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(payment_from_row).transpose()
    }

    /// The payments in `status`, oldest first, at most `limit`: for example
    /// the flagged ones a person must review.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn payments_in(
        &self,
        status: PaymentStatus,
        limit: u32,
    ) -> Result<Vec<Payment>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM actalink_payments WHERE status = $1 \
             ORDER BY created_at_ms, session_id LIMIT $2"
        ))
        .bind(status.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(payment_from_row).collect()
    }

    /// A payment's recorded transitions, oldest first.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn transitions(
        &self,
        session_id: &CheckoutSessionId,
    ) -> Result<Vec<Transition>, Error> {
        let rows = sqlx::query(
            "SELECT from_status, to_status, source, reason, at_ms \
             FROM actalink_payment_transitions WHERE session_id = $1 ORDER BY id",
        )
        .bind(session_id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let from: String = row.try_get(0)?;
                let to: String = row.try_get(1)?;
                let source: String = row.try_get(2)?;
                Ok(Transition {
                    from: PaymentStatus::parse(&from)?,
                    to: PaymentStatus::parse(&to)?,
                    source: Source::parse(&source),
                    reason: row.try_get(3)?,
                    at_ms: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Marks a flagged payment paid or failed after a person's review, as a
    /// transition from [`Source::Operator`]; paid queues its fulfilment job.
    /// Returns false when the payment is not flagged (nothing changed).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a status other than paid or failed; on a
    /// database failure.
    pub async fn resolve_flagged(
        &self,
        session_id: &CheckoutSessionId,
        to: PaymentStatus,
        note: &str,
    ) -> Result<bool, Error> {
        if !matches!(to, PaymentStatus::Paid | PaymentStatus::Failed) {
            return Err(Error::InvalidInput(format!(
                "a flagged payment is resolved as paid or failed, not {to}"
            )));
        }
        self.transition(
            session_id,
            &[PaymentStatus::Flagged],
            to,
            Source::Operator,
            Some(note),
        )
        .await
        .map(|from| from.is_some())
    }

    /// Moves the payment to `to` from the first of `from` it is in, records
    /// the transition, and (for paid) queues its one fulfilment job, all
    /// atomically. Returns the status it moved from, or `None` when it was
    /// in none of them.
    pub(crate) async fn transition(
        &self,
        session_id: &CheckoutSessionId,
        from: &[PaymentStatus],
        to: PaymentStatus,
        source: Source,
        reason: Option<&str>,
    ) -> Result<Option<PaymentStatus>, Error> {
        for &moved_from in from {
            if self
                .transition_from(session_id, moved_from, to, source, reason)
                .await?
            {
                tracing::info!(
                    session = session_id.as_str(),
                    from = moved_from.as_str(),
                    to = to.as_str(),
                    source = source.as_str(),
                    "payment transition"
                );
                return Ok(Some(moved_from));
            }
        }
        Ok(None)
    }

    /// One conditional transition from `from`, in one statement, so that
    /// the change, its record and (for paid) the payment's one fulfilment
    /// job (the `job_` columns of its own row) commit together or not at
    /// all. On SQLite the `actalink_payment_moved` trigger writes the record
    /// and queues the job inside the `UPDATE`. On PostgreSQL the statement
    /// queues the job in its own `SET` and writes the record in a
    /// data-modifying `WITH`, and bumps `status_version` so that the trigger
    /// (kept for changes made by hand) stays out of it: a PL/pgSQL call per
    /// transition cost more than the work it does. Returns whether the
    /// payment moved.
    async fn transition_from(
        &self,
        session_id: &CheckoutSessionId,
        from: PaymentStatus,
        to: PaymentStatus,
        source: Source,
        reason: Option<&str>,
    ) -> Result<bool, Error> {
        let sql = match self.backend() {
            Backend::Sqlite => SQLITE_TRANSITION,
            Backend::Postgres => PG_TRANSITION,
        };
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, to.as_str())?;
        bind(&mut arguments, reason.map(str::to_owned))?;
        bind(&mut arguments, source.as_str())?;
        bind(&mut arguments, session_id.as_str().to_owned())?;
        bind(&mut arguments, from.as_str())?;
        // The payment's row, or on PostgreSQL its transition record: one
        // when it moved.
        Ok(self.write_affected(sql, arguments).await? == 1)
    }
}

/// The transition on SQLite (see `transition_from`): the status `UPDATE`,
/// whose trigger records it and queues the job; the same parameters as
/// [`PG_TRANSITION`].
const SQLITE_TRANSITION: &str = concat!(
    "UPDATE actalink_payments SET status = $1, reason = $2, status_source = $3, \
     next_check_at_ms = NULL, updated_at_ms = ",
    sqlite_now!(),
    " WHERE session_id = $4 AND status = $5"
);

/// The transition on PostgreSQL (see `transition_from`): the status
/// `UPDATE`, which for paid also queues the payment's one job
/// ([`queue_job!`]); then the record's `INSERT`, whose row count says
/// whether the payment moved. `$1` the new status, `$2` the reason, `$3`
/// the source, `$4` the session, `$5` the status it moves from.
const PG_TRANSITION: &str = concat!(
    "WITH moved AS (UPDATE actalink_payments SET status = $1, reason = $2, \
     status_version = status_version + 1, next_check_at_ms = NULL, updated_at_ms = ",
    pg_now!(),
    ", ",
    queue_job!("$1", pg_now),
    " WHERE session_id = $4 AND status = $5 \
     RETURNING session_id, reason, updated_at_ms) \
     INSERT INTO actalink_payment_transitions \
     (session_id, from_status, to_status, source, reason, at_ms) \
     SELECT session_id, $5, $1, $3, reason, updated_at_ms FROM moved"
);

/// Adds an argument to a list built ahead of its query.
pub(crate) fn bind<T>(arguments: &mut AnyArguments<'static>, value: T) -> Result<(), Error>
where
    T: 'static + sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    arguments
        .add(value)
        .map_err(|e| Error::Database(sqlx::Error::Encode(e)))
}
