//! Confirmation: one transition per payment, final states that never move.

use actalink_payments::{JobState, Outcome, PaymentStatus, Source};

use crate::support::{
    StatusServer, connect, on_each_backend, open_payment, paid_payment, shop_table,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_success_pays_once_and_queues_one_job() {
    on_each_backend("pays_once", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-1").await;

        let outcome = payments.confirm(&id, Source::ReturnPage).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::NotYet {
                reason: "the checkout session is still open".into()
            }
        );

        server.set_status(id.as_str(), "success");
        // Many callers at once (webhook, return page, reconciler): one change.
        let mut calls = Vec::new();
        for source in [Source::Webhook, Source::ReturnPage, Source::Reconciler].repeat(8) {
            let (payments, id) = (payments.clone(), id.clone());
            calls.push(tokio::spawn(async move {
                payments.confirm(&id, source).await.unwrap()
            }));
        }
        let mut changed = 0;
        for call in calls {
            let outcome = call.await.unwrap();
            assert_eq!(outcome.status(), Some(PaymentStatus::Paid), "{outcome:?}");
            changed += usize::from(outcome.changed());
        }
        assert_eq!(changed, 1);
        let history = payments.transitions(&id).await.unwrap();
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(
            (history[0].from, history[0].to),
            (PaymentStatus::Open, PaymentStatus::Paid)
        );
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Pending, 0))
        );
        let stored = payments.payment(&id).await.unwrap().unwrap();
        assert_eq!(stored.status, PaymentStatus::Paid);
        assert_eq!(
            stored.next_check_at_ms, None,
            "a paid record leaves the reconciler's index"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_changed_by_hand_is_recorded_and_a_paid_one_gets_its_job() {
    on_each_backend("by_hand", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-HAND").await;
        let other = open_payment(&payments, &server, "ORD-UNTOUCHED").await;
        // A change that leaves the status alone records nothing.
        sqlx::query("UPDATE actalink_payments SET last_check_error = 'x' WHERE session_id = $1")
            .bind(other.as_str())
            .execute(payments.pool())
            .await
            .unwrap();
        assert!(payments.transitions(&other).await.unwrap().is_empty());
        // An operator's SQL, not the crate: the trigger still records the
        // transition and queues the one job, in the same statement.
        sqlx::query(
            "UPDATE actalink_payments SET status = 'paid', status_source = 'operator', \
             reason = 'paid by bank transfer', updated_at_ms = 42 WHERE session_id = $1",
        )
        .bind(id.as_str())
        .execute(payments.pool())
        .await
        .unwrap();
        let history = payments.transitions(&id).await.unwrap();
        assert_eq!(history.len(), 1, "{history:?}");
        let change = &history[0];
        assert_eq!(
            (change.from, change.to, change.source),
            (PaymentStatus::Open, PaymentStatus::Paid, Source::Operator)
        );
        assert_eq!(change.reason.as_deref(), Some("paid by bank transfer"));
        // The database's clock, whatever the statement said of the time.
        assert!(change.at_ms > 1_600_000_000_000, "{change:?}");
        // A source only passes through: a later change that names none (a
        // webhook's transition first, then an operator's bare UPDATE) is not
        // recorded under the earlier one's.
        let third = open_payment(&payments, &server, "ORD-HAND-3").await;
        server.set_status(third.as_str(), "failure");
        payments.confirm(&third, Source::Webhook).await.unwrap();
        sqlx::query("UPDATE actalink_payments SET status = 'flagged' WHERE session_id = $1")
            .bind(third.as_str())
            .execute(payments.pool())
            .await
            .unwrap();
        let sources: Vec<_> = payments
            .transitions(&third)
            .await
            .unwrap()
            .iter()
            .map(|t| (t.to, t.source))
            .collect();
        assert_eq!(
            sources,
            [
                (PaymentStatus::Failed, Source::Webhook),
                (PaymentStatus::Flagged, Source::Operator)
            ]
        );
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Pending, 0))
        );
        assert!(payments.transitions(&other).await.unwrap().is_empty());
        assert_eq!(payments.job_state(&other).await.unwrap(), None);
        // One job per payment, ever: paid again by hand after its job was
        // done (reopened first), it is recorded and its job stays done.
        for sql in [
            "UPDATE actalink_payments SET job_state = 'done' WHERE session_id = $1",
            "UPDATE actalink_payments SET status = 'open' WHERE session_id = $1",
            "UPDATE actalink_payments SET status = 'paid' WHERE session_id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(payments.pool())
                .await
                .unwrap();
        }
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 3);
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 0))
        );
        // The same through the crate's own statement: flagged by hand, then
        // resolved as paid by a person, it keeps its done job.
        sqlx::query("UPDATE actalink_payments SET status = 'flagged' WHERE session_id = $1")
            .bind(id.as_str())
            .execute(payments.pool())
            .await
            .unwrap();
        assert!(
            payments
                .resolve_flagged(&id, PaymentStatus::Paid, "checked by hand")
                .await
                .unwrap()
        );
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 5);
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 0))
        );
        assert!(
            payments
                .claim_job(std::time::Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "no job to run again"
        );
        // What the schema refuses, on both backends: a status the crate does
        // not know, and deleting a payment that has a history or a job.
        let bogus =
            sqlx::query("UPDATE actalink_payments SET status = 'refunded' WHERE session_id = $1")
                .bind(other.as_str())
                .execute(payments.pool())
                .await;
        assert!(bogus.is_err(), "{bogus:?}");
        let delete = |id: &str| {
            sqlx::query("DELETE FROM actalink_payments WHERE session_id = $1")
                .bind(id.to_owned())
                .execute(payments.pool())
        };
        let kept = delete(id.as_str()).await;
        assert!(kept.is_err(), "{kept:?}");
        assert!(payments.payment(&id).await.unwrap().is_some());
        let all = sqlx::query("DELETE FROM actalink_payments")
            .execute(payments.pool())
            .await;
        assert!(all.is_err(), "{all:?}");
        if payments.backend() == actalink_payments::Backend::Postgres {
            let truncated = sqlx::query("TRUNCATE actalink_payments")
                .execute(payments.pool())
                .await;
            assert!(truncated.is_err(), "{truncated:?}");
        }
        assert!(payments.payment(&id).await.unwrap().is_some());
        // A job alone keeps a payment too (one given by hand here: the crate
        // queues a job only with the paid transition).
        let set_job = |state: Option<&'static str>| {
            sqlx::query("UPDATE actalink_payments SET job_state = $1 WHERE session_id = $2")
                .bind(state)
                .bind(other.as_str())
                .execute(payments.pool())
        };
        set_job(Some("done")).await.unwrap();
        let kept = delete(other.as_str()).await;
        assert!(kept.is_err(), "{kept:?}");
        set_job(None).await.unwrap();
        // One without either may go.
        assert_eq!(delete(other.as_str()).await.unwrap().rows_affected(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_states_never_move() {
    on_each_backend("final_states", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = paid_payment(&payments, &server, "ORD-2").await;
        let calls = server.calls();
        // A late failure, a timeout, an expired-looking open status: the record stays paid.
        for late in ["failure", "timeout", "open"] {
            server.set_status(id.as_str(), late);
            server.update(id.as_str(), |r| r.expires_at = "2000-01-01T00:00:00.000Z");
            let outcome = payments.confirm(&id, Source::Reconciler).await.unwrap();
            assert_eq!(outcome, Outcome::Unchanged(PaymentStatus::Paid), "{late}");
        }
        assert_eq!(server.calls(), calls, "a paid record is not fetched again");
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 1);

        // A failed record that the provider later calls paid is flagged, never paid.
        let failed = open_payment(&payments, &server, "ORD-3").await;
        server.set_status(failed.as_str(), "failure");
        let outcome = payments.confirm(&failed, Source::Reconciler).await.unwrap();
        assert_eq!(outcome.status(), Some(PaymentStatus::Failed));
        server.set_status(failed.as_str(), "success");
        let outcome = payments.confirm(&failed, Source::Webhook).await.unwrap();
        assert_eq!(
            outcome.status(),
            Some(PaymentStatus::Flagged),
            "{outcome:?}"
        );
        assert_eq!(
            payments.job_state(&failed).await.unwrap(),
            None,
            "no job for a flagged record"
        );
        // And a flagged record never becomes paid automatically.
        let outcome = payments.confirm(&failed, Source::Reconciler).await.unwrap();
        assert_eq!(outcome, Outcome::Unchanged(PaymentStatus::Flagged));
        // Only a person does that, and it then gets its one job.
        assert!(
            payments
                .resolve_flagged(&failed, PaymentStatus::Paid, "refund declined; ship it")
                .await
                .unwrap()
        );
        assert_eq!(
            payments.job_state(&failed).await.unwrap(),
            Some((JobState::Pending, 0))
        );
        let sources: Vec<Source> = payments
            .transitions(&failed)
            .await
            .unwrap()
            .iter()
            .map(|t| t.source)
            .collect();
        assert_eq!(
            sources,
            [Source::Reconciler, Source::Webhook, Source::Operator]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_success_is_flagged_not_paid() {
    on_each_backend("mismatch", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        for (reference, change) in [
            (
                "ORD-PRICE",
                Box::new(|r: &mut crate::support::Remote| r.price_hex = "0x302e3135")
                    as Box<dyn FnOnce(&mut _)>,
            ),
            (
                "ORD-CUR",
                Box::new(|r: &mut crate::support::Remote| r.currency = "USDT"),
            ),
            (
                "ORD-META",
                Box::new(|r: &mut crate::support::Remote| r.reference = "ORD-OTHER".into()),
            ),
        ] {
            let id = open_payment(&payments, &server, reference).await;
            server.set_status(id.as_str(), "success");
            server.update(id.as_str(), change);
            let outcome = payments.confirm(&id, Source::Webhook).await.unwrap();
            assert_eq!(
                outcome.status(),
                Some(PaymentStatus::Flagged),
                "{reference}: {outcome:?}"
            );
            assert_eq!(payments.job_state(&id).await.unwrap(), None);
        }
        let flagged = payments
            .payments_in(PaymentStatus::Flagged, 10)
            .await
            .unwrap();
        assert_eq!(flagged.len(), 3);
        assert!(flagged.iter().all(|p| p.reason.is_some()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_session_expires_by_the_database_clock() {
    on_each_backend("expiry", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-EXP").await;
        // Still open and far from expiry: nothing changes.
        assert!(
            !payments
                .confirm(&id, Source::Reconciler)
                .await
                .unwrap()
                .changed()
        );
        // The provider reports an expiry in the past (grace is zero in these tests).
        server.update(id.as_str(), |r| r.expires_at = "2001-01-01T00:00:00.000Z");
        let outcome = payments.confirm(&id, Source::Reconciler).await.unwrap();
        assert_eq!(
            outcome.status(),
            Some(PaymentStatus::Expired),
            "{outcome:?}"
        );
        // An unknown status past expiry is flagged, never failed.
        let odd = open_payment(&payments, &server, "ORD-ODD").await;
        server.set_status(odd.as_str(), "processing");
        assert!(
            !payments
                .confirm(&odd, Source::Reconciler)
                .await
                .unwrap()
                .changed()
        );
        server.update(odd.as_str(), |r| r.expires_at = "2001-01-01T00:00:00.000Z");
        let outcome = payments.confirm(&odd, Source::Reconciler).await.unwrap();
        assert_eq!(
            outcome.status(),
            Some(PaymentStatus::Flagged),
            "{outcome:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_recorded_in_a_rolled_back_transaction_is_not_there() {
    on_each_backend("record_in", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        shop_table(
            &payments,
            "orders",
            "CREATE TABLE orders (id TEXT PRIMARY KEY)",
        )
        .await;
        let request = actalink_checkout::CreateCheckoutSession::builder("paylink_1")
            .metadata("internal_order_id", "ORD-TX")
            .build()
            .unwrap();
        let session: actalink_checkout::CheckoutSession =
            serde_json::from_str(r#"{"id": "checkout_tx", "status": "open"}"#).unwrap();
        let new = actalink_payments::NewPayment::new(
            &request,
            &session,
            "ORD-TX",
            actalink_checkout::types::Decimal::new(16, 2),
            "USDC",
        )
        .unwrap();
        for commit in [false, true] {
            let mut tx = payments.begin().await.unwrap();
            sqlx::query("INSERT INTO orders (id) VALUES ($1)")
                .bind("ORD-TX")
                .execute(&mut *tx)
                .await
                .unwrap();
            payments.record_in(&mut tx, &new).await.unwrap();
            if commit {
                tx.commit().await.unwrap();
            } else {
                tx.rollback().await.unwrap();
                assert!(
                    payments
                        .payment_by_reference("ORD-TX")
                        .await
                        .unwrap()
                        .is_none()
                );
            }
        }
        assert!(
            payments
                .payment_by_reference("ORD-TX")
                .await
                .unwrap()
                .is_some()
        );
        let again = payments.record(&new).await.unwrap_err();
        assert!(
            matches!(again, actalink_payments::Error::AlreadyRecorded(_)),
            "{again:?}"
        );
    })
    .await;
}

#[test]
fn a_payment_without_its_reference_in_the_metadata_is_refused() {
    let request = actalink_checkout::CreateCheckoutSession::builder("paylink_1")
        .metadata("note", "hello")
        .build()
        .unwrap();
    let session: actalink_checkout::CheckoutSession =
        serde_json::from_str(r#"{"id": "checkout_1", "status": "open"}"#).unwrap();
    let amount = actalink_checkout::types::Decimal::new(16, 2);
    let error = actalink_payments::NewPayment::new(&request, &session, "ORD-1", amount, "USDC")
        .unwrap_err();
    assert!(
        error.to_string().contains("does not carry the reference"),
        "{error}"
    );
    let zero = actalink_checkout::types::Decimal::ZERO;
    assert!(actalink_payments::NewPayment::new(&request, &session, "hello", zero, "USDC").is_err());
    assert!(actalink_payments::NewPayment::new(&request, &session, "hello", amount, " ").is_err());
}
