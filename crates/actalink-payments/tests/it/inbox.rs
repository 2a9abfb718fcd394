//! The webhook inbox: stored once, acknowledged when stored, never paid on
//! the event alone.

use std::time::Duration;

use actalink_payments::{PaymentStatus, Source};
use actalink_webhooks::Event;

use crate::support::{Remote, StatusServer, connect, event, on_each_backend, open_payment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_deliveries_of_one_event_make_one_transition() {
    on_each_backend("inbox_64", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-64").await;
        server.set_status(id.as_str(), "success");
        let event = event("evt_64", id.as_str());
        let mut deliveries = Vec::new();
        for _ in 0..64 {
            let (payments, event) = (payments.clone(), event.clone());
            deliveries.push(tokio::spawn(async move {
                payments.handle_event(&event).await.unwrap()
            }));
        }
        let mut fresh = 0;
        for delivery in deliveries {
            let outcome = delivery.await.unwrap();
            fresh += usize::from(!outcome.duplicate);
        }
        assert_eq!(
            fresh, 1,
            "one delivery stores the event; the rest are duplicates"
        );
        assert_eq!(payments.inbox_len().await.unwrap(), 1);
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 1);
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Paid
        );
        assert_eq!(server.calls(), 1, "duplicates do not fetch the status");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_alone_never_pays() {
    on_each_backend("event_alone", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-E").await;
        // The event claims a payment; the provider says the session is open.
        let outcome = payments
            .handle_event(&event("evt_open", id.as_str()))
            .await
            .unwrap();
        assert!(!outcome.duplicate);
        assert_eq!(outcome.payment.as_ref(), Some(&id));
        assert_eq!(outcome.label(), "not confirmed yet");
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Open
        );
        // An event for a session nobody recorded is stored, and changes nothing.
        let stray = payments
            .handle_event(&event("evt_stray", "checkout_unknown"))
            .await
            .unwrap();
        assert_eq!(stray.payment, None);
        assert_eq!(payments.inbox_len().await.unwrap(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_provider_down_events_are_stored_and_confirmed_later() {
    on_each_backend("provider_down", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-DOWN").await;
        // Push the record's first check far out, so only the event's prompt makes it due.
        sqlx::query("UPDATE actalink_payments SET next_check_at_ms = next_check_at_ms + 3600000")
            .execute(payments.pool())
            .await
            .unwrap();
        server.set_status(id.as_str(), "success");
        server.set_down(true);
        let outcome = payments
            .handle_event(&event("evt_down", id.as_str()))
            .await
            .unwrap();
        assert!(
            matches!(outcome.confirmation, Some(Err(ref e)) if e.is_retryable()),
            "{outcome:?}"
        );
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Open
        );
        assert_eq!(
            payments.due_count().await.unwrap(),
            1,
            "the event made the payment due"
        );
        // While the provider is down, the reconciler backs off and nothing is paid.
        let report = payments.reconcile_due().await.unwrap();
        assert_eq!((report.checked, report.errors), (1, 1));
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Open
        );
        let error = payments
            .payment(&id)
            .await
            .unwrap()
            .unwrap()
            .last_check_error
            .unwrap();
        assert!(error.contains("503"), "{error}");
        // The provider comes back: the reconciler confirms it.
        server.set_down(false);
        let reconciler = payments.reconciler().spawn();
        for _ in 0..200 {
            if payments.payment(&id).await.unwrap().unwrap().status == PaymentStatus::Paid {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reconciler.stop();
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Paid
        );
        let history = payments.transitions(&id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].source, Source::Reconciler);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_without_a_session_names_its_payment_by_reference() {
    on_each_backend("event_by_reference", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-REF").await;
        server.set_status(id.as_str(), "success");
        let by_reference = |event_id: &str| {
            let body = serde_json::json!({
                "id": event_id,
                "eventType": "onetime.executed",
                "eventData": {"data": {"id": "txn_1", "metadata": {"note": "x", "internal_order_id": "ORD-REF"}}}
            });
            Event::parse_unverified(body.to_string().as_bytes()).unwrap()
        };
        let outcome = payments.handle_event(&by_reference("evt_ref")).await.unwrap();
        assert_eq!(outcome.payment.as_ref(), Some(&id));
        assert_eq!(outcome.label(), "paid");
        let again = payments.handle_event(&by_reference("evt_ref")).await.unwrap();
        assert!(again.duplicate);
        // A later event for the paid payment finds it (no longer open) and changes nothing.
        let late = payments.handle_event(&by_reference("evt_ref_late")).await.unwrap();
        assert_eq!(late.payment.as_ref(), Some(&id));
        assert_eq!(late.label(), "already final");
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 1);
        assert_eq!(payments.inbox_len().await.unwrap(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_cut_off_midway_leave_no_transaction_open_and_lose_nothing() {
    on_each_backend("event_cut_off", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        for i in 0..100u64 {
            let id = open_payment(&payments, &server, &format!("ORD-CUT-{i}")).await;
            server.set_status(id.as_str(), "success");
            // Dropped before, during or after its writes.
            let event = event(&format!("evt_cut_{i}"), id.as_str());
            let _ =
                tokio::time::timeout(Duration::from_micros(15 * i), payments.handle_event(&event))
                    .await;
        }
        // Every pooled connection still commits what it writes: a second
        // handle sees each record at once, and no write lock is held.
        let other = connect(&url, &server).await;
        for i in 0..20 {
            let reference = format!("ORD-AFTER-{i}");
            open_payment(&payments, &server, &reference).await;
            assert!(
                other
                    .payment_by_reference(&reference)
                    .await
                    .unwrap()
                    .is_some(),
                "{reference} is not committed"
            );
        }
        // Whatever a cut-off handler left undone, the reconciler finishes:
        // every payment paid, once, with its one job.
        for _ in 0..50 {
            if payments.reconcile_due().await.unwrap().checked == 0 {
                break;
            }
        }
        for i in 0..100u64 {
            let id =
                actalink_checkout::CheckoutSessionId::new(format!("checkout_ORD-CUT-{i}")).unwrap();
            let history = payments.transitions(&id).await.unwrap();
            assert_eq!(history.len(), 1, "{i}: {history:?}");
            assert_eq!(history[0].to, PaymentStatus::Paid, "{i}: {history:?}");
            assert!(payments.job_state(&id).await.unwrap().is_some(), "{i}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_event_is_acknowledged_even_when_its_payment_cannot_be_read() {
    on_each_backend("event_unreadable", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-UNREADABLE").await;
        server.set_status(id.as_str(), "success");
        // A row this crate cannot read (an amount written by hand).
        sqlx::query("UPDATE actalink_payments SET amount = 'sixteen cents' WHERE session_id = $1")
            .bind(id.as_str())
            .execute(payments.pool())
            .await
            .unwrap();
        let outcome = payments
            .handle_event(&event("evt_unreadable", id.as_str()))
            .await
            .expect("a stored event is acknowledged");
        assert!(!outcome.duplicate);
        assert!(
            matches!(
                outcome.confirmation,
                Some(Err(actalink_payments::Error::Corrupt(_)))
            ),
            "{outcome:?}"
        );
        assert_eq!(payments.inbox_len().await.unwrap(), 1);
        // Delivered again, it is a duplicate: stored once.
        let again = payments
            .handle_event(&event("evt_unreadable", id.as_str()))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(payments.inbox_len().await.unwrap(), 1);
    })
    .await;
}

/// A webhook's check judges the session it fetches in full: an equal amount
/// written differently, or a metadata entry the payment did not expect, still
/// pays; a short amount is flagged; a failure fails. One transition each,
/// from the webhook, and a job only for the paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_check_judges_the_whole_session() {
    on_each_backend("inbox_terms", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        type Change = fn(&mut Remote);
        let cases: [(&str, Change, PaymentStatus); 5] = [
            ("exact", |r| r.status = "success", PaymentStatus::Paid),
            (
                "padded",
                |r| {
                    r.status = "success";
                    r.price_hex = "0x302e313630"; // "0.160"
                },
                PaymentStatus::Paid,
            ),
            (
                "extra-key",
                |r| {
                    r.status = "success";
                    r.extra_metadata = Some(("campaign", "winter"));
                },
                PaymentStatus::Paid,
            ),
            (
                "underpaid",
                |r| {
                    r.status = "success";
                    r.price_hex = "0x302e3135"; // "0.15"
                },
                PaymentStatus::Flagged,
            ),
            ("failed", |r| r.status = "failure", PaymentStatus::Failed),
        ];
        for (name, change, expected) in cases {
            let id = open_payment(&payments, &server, &format!("ORD-T-{name}")).await;
            server.update(id.as_str(), change);
            let outcome = payments
                .handle_event(&event(&format!("evt_{name}"), id.as_str()))
                .await
                .unwrap();
            assert_eq!(
                outcome.confirmation.unwrap().unwrap().status(),
                Some(expected),
                "{name}"
            );
            let history = payments.transitions(&id).await.unwrap();
            assert_eq!(history.len(), 1, "{name}: {history:?}");
            assert_eq!(
                (history[0].from, history[0].to, history[0].source),
                (PaymentStatus::Open, expected, Source::Webhook),
                "{name}"
            );
            let job = payments.job_state(&id).await.unwrap();
            assert_eq!(
                job.is_some(),
                expected == PaymentStatus::Paid,
                "{name}: {job:?}"
            );
        }
    })
    .await;
}
