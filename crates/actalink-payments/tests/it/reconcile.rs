//! The reconciler: due records only, backoff per record, one checker per record.

use std::time::Duration;

use actalink_payments::PaymentStatus;

use crate::support::{StatusServer, on_each_backend, open_payment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_backs_off_and_claims_each_record_once() {
    on_each_backend("reconcile_claims", |url| async move {
        let server = StatusServer::start().await;
        // A second between checks: longer than the scans below take.
        let payments = actalink_payments::Payments::builder(url.as_str(), server.client())
            .reconcile(
                crate::support::reconcile_settings()
                    .with_min_interval(Duration::from_secs(1))
                    .with_max_interval(Duration::from_secs(1)),
            )
            .connect()
            .await
            .unwrap();
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(open_payment(&payments, &server, &format!("ORD-R{n}")).await);
        }
        // Slow status calls, two scans at once (as two instances would):
        // every due record is checked exactly once between them.
        server.set_delay(Duration::from_millis(30));
        let (a, b) = tokio::join!(payments.reconcile_due(), payments.reconcile_due());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.checked + b.checked, 10, "{a:?} {b:?}");
        assert_eq!(server.calls(), 10);
        // Rescheduled with backoff: nothing is due right away.
        assert_eq!(payments.due_count().await.unwrap(), 0);
        assert_eq!(payments.reconcile_due().await.unwrap().checked, 0);
        let stored = payments.payment(&ids[0]).await.unwrap().unwrap();
        assert_eq!(stored.check_attempts, 1);
        assert!(stored.next_check_at_ms.is_some());

        // A payment paid meanwhile leaves the index once checked.
        server.set_delay(Duration::ZERO);
        server.set_status(ids[3].as_str(), "success");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let report = payments.reconcile_due().await.unwrap();
        assert_eq!((report.checked, report.changed), (10, 1), "{report:?}");
        assert_eq!(
            payments.payment(&ids[3]).await.unwrap().unwrap().status,
            PaymentStatus::Paid
        );
        let attempts = payments
            .payment(&ids[0])
            .await
            .unwrap()
            .unwrap()
            .check_attempts;
        assert_eq!(attempts, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_checks_its_batch_only_while_the_claim_lasts() {
    on_each_backend("reconcile_lease", |url| async move {
        let server = StatusServer::start().await;
        let lease = Duration::from_millis(400);
        let payments = actalink_payments::Payments::builder(url.as_str(), server.client())
            .reconcile(
                crate::support::reconcile_settings()
                    .with_claim_lease(lease)
                    // A checked record is not due again during this test.
                    .with_min_interval(Duration::from_secs(10))
                    .with_max_interval(Duration::from_secs(10)),
            )
            .connect()
            .await
            .unwrap();
        for n in 0..4 {
            open_payment(&payments, &server, &format!("ORD-L{n}")).await;
        }
        // Four checks of 300 ms each would outlast the 400 ms lease, after
        // which another instance may claim the same records.
        server.set_delay(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let report = payments.reconcile_due().await.unwrap();
        assert_eq!(report.checked + report.unfinished, 4, "{report:?}");
        assert_eq!(report.checked, 1, "{report:?}");
        assert!(
            started.elapsed() < lease + Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
        // At most two status calls began, both inside the lease.
        assert!(server.calls() <= 2, "{}", server.calls());
        // The rest are claimed again once the lease has ended.
        tokio::time::sleep(lease).await;
        server.set_delay(Duration::ZERO);
        let again = payments.reconcile_due().await.unwrap();
        assert_eq!(again.checked, 3, "{again:?}");
    })
    .await;
}
