//! Fulfilment: one job per paid payment, fenced leases, dead letters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actalink_payments::{Error, JobState, RetryDecision};

use crate::support::{
    StatusServer, connect, count, on_each_backend, paid_payment, ship, shipments_table,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_over_refuses_the_old_workers_completion() {
    on_each_backend("fencing", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = paid_payment(&payments, &server, "ORD-F").await;
        let slow = payments
            .claim_job(Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(slow.session_id(), &id);
        assert_eq!(slow.attempt(), 1);
        assert!(
            payments
                .claim_job(Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "held by its lease"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let other = payments
            .claim_job(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.attempt(), 2);
        assert_eq!(
            other.idempotency_key(),
            slow.idempotency_key(),
            "one key per payment"
        );
        assert!(matches!(
            payments.complete_job(&slow).await,
            Err(Error::LeaseLost)
        ));
        assert!(matches!(
            payments.fail_job(&slow, "late").await,
            Err(Error::LeaseLost)
        ));
        payments.complete_job(&other).await.unwrap();
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 2))
        );
        assert!(payments.claim_job(Duration::ZERO).await.unwrap().is_none());
    })
    .await;
}

/// A merchant's row that references the payment (an order's foreign key)
/// takes a key lock on the payment's row; the claim's row lock leaves it
/// alone, so that an open transaction holding one neither hides the job
/// from the workers nor waits for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_row_referencing_the_payment_does_not_hold_its_job_back() {
    on_each_backend("claim_key_lock", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        if payments.backend() != actalink_payments::Backend::Postgres {
            return; // SQLite has no row locks: its writer runs claims one at a time.
        }
        sqlx::query(
            "CREATE TABLE receipts (id TEXT PRIMARY KEY, \
             session_id TEXT NOT NULL REFERENCES actalink_payments (session_id))",
        )
        .execute(payments.pool())
        .await
        .unwrap();
        let id = paid_payment(&payments, &server, "ORD-KEY").await;
        let mut tx = payments.pool().begin().await.unwrap();
        sqlx::query("INSERT INTO receipts (id, session_id) VALUES ('r1', $1)")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        let job = tokio::time::timeout(
            Duration::from_secs(5),
            payments.claim_job(Duration::from_secs(30)),
        )
        .await
        .expect("the claim does not wait for the merchant's transaction")
        .unwrap()
        .expect("the job is claimed while the merchant's transaction is open");
        assert_eq!(job.session_id(), &id);
        payments.complete_job(&job).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 1))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_completed_in_the_merchants_transaction_is_exactly_once() {
    on_each_backend("complete_in", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        shipments_table(&payments).await;
        paid_payment(&payments, &server, "ORD-TX").await;
        let stale = payments
            .claim_job(Duration::from_millis(50))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        let fresh = payments
            .claim_job(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        for job in [&stale, &fresh] {
            match ship(&payments, job).await {
                Ok(()) | Err(Error::LeaseLost) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(count(&payments, "shipments").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_failing_is_dead_until_an_operator_retries_it() {
    on_each_backend("dead_letters", |url| async move {
        let server = StatusServer::start().await;
        let payments = actalink_payments::Payments::builder(url.as_str(), server.client())
            .reconcile(crate::support::reconcile_settings())
            .fulfil(crate::support::fulfil_settings().with_max_attempts(3))
            .connect()
            .await
            .unwrap();
        let id = paid_payment(&payments, &server, "ORD-D").await;
        let mut decisions = Vec::new();
        for _ in 0..3 {
            let job = loop {
                if let Some(job) = payments.claim_job(Duration::from_secs(30)).await.unwrap() {
                    break job;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            decisions.push(payments.fail_job(&job, "receiver said 500").await.unwrap());
        }
        assert!(matches!(decisions[0], RetryDecision::RetryIn(_)));
        assert_eq!(decisions[2], RetryDecision::Dead);
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Dead, 3))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            payments
                .claim_job(Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "dead jobs do not run"
        );
        let dead = payments.dead_jobs(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("receiver said 500"));
        assert!(payments.retry_dead_job(&id).await.unwrap());
        assert!(!payments.retry_dead_job(&id).await.unwrap());

        // The worker runs it now, with the same key as every earlier run.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let worker = payments
            .fulfilment_worker(move |job| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(job.idempotency_key());
                    Ok::<(), std::io::Error>(())
                }
            })
            .spawn();
        for _ in 0..100 {
            if payments.job_state(&id).await.unwrap().map(|s| s.0) == Some(JobState::Done) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.stop();
        assert_eq!(
            payments.job_state(&id).await.unwrap().map(|s| s.0),
            Some(JobState::Done)
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [format!("actalink-fulfil-{}", id.as_str())]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_may_complete_its_job_in_its_own_transaction() {
    on_each_backend("handler_completes", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        shipments_table(&payments).await;
        let id = paid_payment(&payments, &server, "ORD-OWN-TX").await;

        // The same lease completing twice is accepted; another lease is refused.
        let job = payments
            .claim_job(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        let mut tx = payments.begin().await.unwrap();
        payments.complete_job_in(&mut tx, &job).await.unwrap();
        tx.commit().await.unwrap();
        payments.complete_job(&job).await.unwrap();
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 1))
        );

        // Through the worker: the handler completes in its transaction and returns Ok.
        let second = paid_payment(&payments, &server, "ORD-OWN-TX-2").await;
        let handle = payments.clone();
        let worker = payments
            .fulfilment_worker(move |job| {
                let payments = handle.clone();
                async move { ship(&payments, &job).await }
            })
            .spawn();
        for _ in 0..200 {
            if payments.job_state(&second).await.unwrap().map(|s| s.0) == Some(JobState::Done) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.shutdown().await;
        assert_eq!(
            payments.job_state(&second).await.unwrap(),
            Some((JobState::Done, 1)),
            "completed once, by its first run"
        );
        assert_eq!(count(&payments, "shipments").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_job_in_hand_finish_and_claims_no_more() {
    on_each_backend("worker_shutdown", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = paid_payment(&payments, &server, "ORD-STOP").await;
        let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        let worker = payments
            .fulfilment_worker(move |job| {
                let started = started.clone();
                async move {
                    let _ = started.send(job.reference().to_owned());
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<(), std::io::Error>(())
                }
            })
            .spawn();
        assert_eq!(started_rx.recv().await.as_deref(), Some("ORD-STOP"));
        tokio::time::timeout(Duration::from_secs(10), worker.shutdown())
            .await
            .expect("the worker stops once its job is done");
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 1)),
            "the job in hand ran to its end and was recorded"
        );
        let later = paid_payment(&payments, &server, "ORD-AFTER-STOP").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            payments.job_state(&later).await.unwrap(),
            Some((JobState::Pending, 0)),
            "a stopped worker claims nothing"
        );
        assert!(started_rx.try_recv().is_err());

        let reconciler = payments.reconciler().spawn();
        tokio::time::timeout(Duration::from_secs(10), reconciler.shutdown())
            .await
            .expect("the reconciler stops");
    })
    .await;
}
