//! The webhook inbox: verified events stored raw, once per dedup key, and
//! turned into a prompt to check the payment they name.

use actalink_checkout::CheckoutSessionId;
use actalink_webhooks::Event;
use sqlx::Row;
use sqlx::any::AnyArguments;

use crate::db::Backend;
use crate::store::{CHECK_COLUMNS, Checked, bind, checked_from_row};
use crate::{Error, Outcome, Payments, Source};

/// What [`Payments::handle_event`] did with an event. Whatever it says, the
/// event is stored: answer the provider 2xx.
#[derive(Debug)]
#[non_exhaustive]
pub struct EventOutcome {
    /// The event's dedup key (its id, or a hash of its signed content).
    pub dedup_key: String,
    /// True when the inbox already held this event: nothing more was done.
    pub duplicate: bool,
    /// The payment it names, when one is recorded (open or not).
    pub payment: Option<CheckoutSessionId>,
    /// The check it prompted, when it made one: its outcome, or why it could
    /// not be made (the reconciler then retries with backoff).
    pub confirmation: Option<Result<Outcome, Error>>,
}

impl EventOutcome {
    /// A short label for logs and the response body.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match (&self.payment, &self.confirmation) {
            _ if self.duplicate => "duplicate",
            (None, _) => "no matching payment",
            (Some(_), None) => "stored",
            (Some(_), Some(Ok(outcome))) => outcome.label(),
            (Some(_), Some(Err(_))) => "stored; the check will be retried",
        }
    }
}

impl Payments {
    /// Takes a verified event: stores it raw in the inbox (a repeat of its
    /// dedup key is recognised and stored once) and commits; then checks the
    /// payment it names with [`confirm`](Self::confirm). When that check
    /// cannot be made, the payment is made due at once, so that the
    /// reconciler retries it with backoff.
    ///
    /// The event's content decides nothing: it only names the payment, by
    /// its `checkoutSessionId` or, failing that, by a metadata value equal
    /// to a recorded reference. Only the status fetched from the provider
    /// can mark the payment paid.
    ///
    /// Answer the provider 2xx when this returns `Ok`: the event is stored
    /// whatever the check said, and a check that could not be made (the
    /// provider down, say) is retried by the reconciler with backoff.
    ///
    /// # Errors
    ///
    /// Only when the event could not be stored: answer 5xx, so that the
    /// provider delivers it again.
    pub async fn handle_event(&self, event: &Event) -> Result<EventOutcome, Error> {
        let dedup_key = event.dedup_key();
        let session = event
            .data
            .checkout_session_id
            .as_ref()
            .map(CheckoutSessionId::as_str);
        let reference = self.reference_in(event).await?;
        let Some(prompted) = self
            .store_event(&dedup_key, event, session, reference.as_deref())
            .await?
        else {
            return Ok(EventOutcome {
                dedup_key,
                duplicate: true,
                payment: None,
                confirmation: None,
            });
        };
        // The event is stored: from here on a failure is the check's, and
        // the call still returns Ok (the provider must not deliver again).
        let (payment, confirmation) = match prompted {
            // The payment, read with the store: checked without reading it
            // again (a paid or flagged one is not fetched at all).
            Ok(Some(payment)) => (
                Some(payment.session_id.clone()),
                Some(self.check(payment, Source::Webhook).await),
            ),
            Ok(None) => (None, None),
            Err(error) => (event.data.checkout_session_id.clone(), Some(Err(error))),
        };
        if let (Some(id), Some(Err(error))) = (&payment, &confirmation) {
            tracing::warn!(event = %dedup_key, %error, "the event's payment could not be checked now; the reconciler retries");
            // The prompt: due now, so that the reconciler checks it with its
            // backoff. Should this fail too, it still checks it on schedule.
            if let Err(error) = self.prompt(id).await {
                tracing::warn!(event = %dedup_key, %error, "could not make the payment due now");
            }
        }
        Ok(EventOutcome {
            dedup_key,
            duplicate: false,
            payment,
            confirmation,
        })
    }

    /// Stores the event in the inbox and, when it is new, reads the payment
    /// it names (in any status), in one round trip: one statement on
    /// PostgreSQL (data-modifying `WITH`), two in one call to the writer on
    /// SQLite. Returns `None` for a duplicate, else the named payment, if
    /// there is one, or why it could not be read (the event is stored all
    /// the same).
    async fn store_event(
        &self,
        dedup_key: &str,
        event: &Event,
        session: Option<&str>,
        reference: Option<&str>,
    ) -> Result<Option<Result<Option<Checked>, Error>>, Error> {
        let now = self.sql().now;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, dedup_key.to_owned())?;
        bind(
            &mut arguments,
            event.event_type.as_ref().map(|t| t.as_str().to_owned()),
        )?;
        bind(&mut arguments, session.map(str::to_owned))?;
        bind(&mut arguments, reference.map(str::to_owned))?;
        bind(&mut arguments, event.raw_json().to_owned())?;
        let store = format!(
            "INSERT INTO actalink_webhook_inbox \
             (dedup_key, event_type, session_id, reference, body, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, {now}) ON CONFLICT (dedup_key) DO NOTHING"
        );
        // The payment the event names; no write to it here. If the
        // check that follows cannot be made, the payment is made due at once
        // (`prompt`); if this process dies before the check, the reconciler
        // finds it at its next scheduled check. One column is compared, so
        // that the read is one index lookup.
        let named = match (session, reference) {
            (Some(_), _) => "p.session_id = $3",
            (None, Some(_)) => "p.reference = $4",
            // Nothing to read: the payment is looked up no further.
            (None, None) => "FALSE",
        };
        match self.backend() {
            Backend::Postgres => {
                // No row for a duplicate; else one row, the payment's
                // columns (NULL when no payment is named).
                let row = sqlx::query_with(
                    &format!(
                        "WITH stored AS ({store} RETURNING 1) \
                         SELECT {CHECK_COLUMNS} FROM stored \
                         LEFT JOIN actalink_payments AS p ON {named}"
                    ),
                    arguments,
                )
                .fetch_optional(self.pool())
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let prompted: Option<String> = row.try_get(0)?;
                Ok(Some(match prompted {
                    Some(_) => checked_from_row(&row).map(Some),
                    None => Ok(None),
                }))
            }
            Backend::Sqlite => {
                // Two statements in one call, each committing on its own;
                // changes() is the insert's row count, so the payment is
                // read only when the event was stored now.
                let read = format!(
                    "SELECT {CHECK_COLUMNS} FROM actalink_payments AS p \
                     WHERE {named} AND changes() = 1"
                );
                match self
                    .write(format!("{store} RETURNING 1; {read};"), arguments)
                    .await
                {
                    Ok(rows) => {
                        let mut rows = rows.iter();
                        if rows.next().is_none() {
                            return Ok(None);
                        }
                        Ok(Some(rows.next().map(checked_from_row).transpose()))
                    }
                    // The insert may have committed before the read failed:
                    // then the event is stored, and only the read failed.
                    Err(error) => match self.in_inbox(dedup_key).await {
                        Ok(true) => Ok(Some(Err(error))),
                        _ => Err(error),
                    },
                }
            }
        }
    }

    /// Whether the inbox holds the event with `dedup_key`.
    async fn in_inbox(&self, dedup_key: &str) -> Result<bool, Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM actalink_webhook_inbox WHERE dedup_key = $1")
                .bind(dedup_key)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Makes an open payment due now.
    async fn prompt(&self, id: &CheckoutSessionId) -> Result<(), Error> {
        let now = self.sql().now;
        let mut arguments = AnyArguments::default();
        bind(&mut arguments, id.as_str().to_owned())?;
        self.write_affected(
            &format!(
                "UPDATE actalink_payments SET next_check_at_ms = {now} \
                 WHERE session_id = $1 AND status = 'open'"
            ),
            arguments,
        )
        .await?;
        Ok(())
    }

    /// The recorded reference among the event's metadata values, looked up
    /// only when the event names no checkout session: one query, for at
    /// most the 50 values the provider allows.
    async fn reference_in(&self, event: &Event) -> Result<Option<String>, Error> {
        if event.data.checkout_session_id.is_some() {
            return Ok(None);
        }
        let Some(metadata) = event.data.metadata.as_ref().filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        let values: Vec<&str> = metadata.iter().take(50).map(|(_, v)| v).collect();
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT reference FROM actalink_payments WHERE reference IN ({}) LIMIT 1",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_scalar(&sql);
        for value in values {
            query = query.bind(value);
        }
        Ok(query.fetch_optional(self.pool()).await?)
    }

    /// How many events the inbox holds.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn inbox_len(&self) -> Result<i64, Error> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM actalink_webhook_inbox")
                .fetch_one(self.pool())
                .await?,
        )
    }
}
