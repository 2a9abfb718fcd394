//! A small load run in CI: 2,000 sessions at concurrency 64 against an
//! in-process sandbox, every webhook delivered exactly once; and a receiver
//! that fails the first two attempts of every event still gets them all.

use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, Sandbox, WebhookEndpoint};
use actalink_testkit::load as harness;

async fn sandbox_for(receiver: &harness::Receiver) -> Sandbox {
    Sandbox::builder()
        .webhook(WebhookEndpoint::new(receiver.url.clone(), harness::SECRET))
        .delivery(5, Duration::from_millis(20))
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_sessions_at_64_concurrent_with_no_loss() {
    let receiver = harness::receiver(0).await;
    let sandbox = sandbox_for(&receiver).await;
    let report = harness::run(sandbox.url(), DEFAULT_API_KEY, &receiver, 2_000, 64, 2_000).await;
    assert!(
        report.errors.is_empty(),
        "{:?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert_eq!(report.distinct_ids, 2_000, "no lost or duplicated session");
    assert_eq!(
        report.sandbox_sessions, 2_000,
        "the sandbox holds exactly as many"
    );
    assert_eq!(report.calls, 6_000);
    assert_eq!(report.webhooks_exactly_once, 2_000, "{report:?}");
    assert_eq!(
        (report.webhooks_missing, report.webhooks_duplicated),
        (0, 0)
    );
    let deliveries = sandbox.deliveries();
    assert_eq!(
        deliveries.len(),
        2_000,
        "one attempt each to a receiver that answers 2xx"
    );
    eprintln!("load (CI size): {report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_failing_the_first_two_attempts_loses_nothing() {
    let receiver = harness::receiver(2).await;
    let sandbox = sandbox_for(&receiver).await;
    let report = harness::run(sandbox.url(), DEFAULT_API_KEY, &receiver, 200, 64, 200).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.webhooks_exactly_once, 200, "{report:?}");
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 600, "three attempts each");
    assert!(
        deliveries
            .iter()
            .filter(|d| d.delivered)
            .all(|d| d.attempt == 3)
    );
}
