//! Each injected fault, as the SDK observes it over loopback.

use std::time::{Duration, Instant};

use actalink_checkout::{Client, Error, RetryPolicy};
use actalink_sandbox::{DEFAULT_API_KEY, Fault, PRO_PAYLINK, Sandbox};
use actalink_testkit::SandboxControl;

use crate::{client, create, request, sandbox};

fn status(status: u16, retry_after: Option<&str>) -> Fault {
    serde_json::from_value(
        serde_json::json!({"kind": "status", "status": status, "retryAfter": retry_after}),
    )
    .unwrap()
}

/// What a create of [`PRO_PAYLINK`] for `order` meets with `fault` queued for it.
async fn create_err(sandbox: &Sandbox, fault: Fault, order: &str) -> Error {
    sandbox.inject(fault, 1);
    client(sandbox)
        .create_session(&request(PRO_PAYLINK, order))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_503_on_get_is_retried_and_on_create_is_not() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let s = create(&client, PRO_PAYLINK, "F1").await;
    sandbox.inject(status(503, None), 2);
    assert!(client.get_session(&s.id).await.unwrap().is_open());
    let err = create_err(&sandbox, status(503, None), "F1").await;
    // A 5xx may come after the server acted, so the SDK says a session may exist.
    assert!(
        matches!(&err, Error::MaybeCreated { source, .. } if matches!(**source, Error::Server(_))),
        "{err:?}"
    );
    assert_eq!(
        sandbox.session_count(),
        1,
        "the refused create made nothing and was not repeated"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_even_for_create() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.inject(status(429, Some("1")), 1);
    let start = Instant::now();
    create(&client, PRO_PAYLINK, "F2").await;
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sandbox.session_count(), 1);
}

#[tokio::test]
async fn a_delay_beyond_the_attempt_timeout_is_a_timeout() {
    let sandbox = sandbox().await;
    let client = Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "delay", "delayMs": 2000})).unwrap(),
        1,
    );
    let err = client
        .create_session(&request(PRO_PAYLINK, "F3"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_dropped_connection_after_processing_is_not_retried_for_create() {
    let sandbox = sandbox().await;
    let err = create_err(&sandbox, Fault::Drop, "F4").await;
    assert!(err.session_may_exist(), "{err:?}");
    let Error::MaybeCreated { source, .. } = &err else {
        panic!("{err:?}")
    };
    let Error::Transport { source, attempts } = source.as_ref() else {
        panic!("{err:?}")
    };
    assert!(source.was_sent());
    assert_eq!(*attempts, 1);
    // The server did create it: this is why the order id goes in the metadata.
    assert_eq!(sandbox.session_count(), 1);
}

#[tokio::test]
async fn a_truncated_or_non_json_body_is_a_decode_error() {
    let sandbox = sandbox().await;
    let err = create_err(&sandbox, Fault::Truncate, "F5").await;
    assert!(
        matches!(&err, Error::MaybeCreated { source, .. } if matches!(**source, Error::Decode { .. })),
        "{err:?}"
    );
    let err = create_err(&sandbox, Fault::NonJson, "F6").await;
    let Error::MaybeCreated { source, .. } = &err else {
        panic!("{err:?}")
    };
    let Error::Decode { body_snippet, .. } = source.as_ref() else {
        panic!("{err:?}")
    };
    assert!(body_snippet.contains("<html>"));
}

#[tokio::test]
async fn faults_can_be_queued_and_cleared_through_the_control_api() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let control = SandboxControl::of(&sandbox);
    let queued = control.post_json("faults", r#"{"kind":"status","status":500,"count":3}"#);
    assert_eq!(queued.await.unwrap(), (200, r#"{"queued":3}"#.to_owned()));
    let (status, _) = control
        .post_json("faults", r#"{"kind":"meteor"}"#)
        .await
        .unwrap();
    assert_eq!(status, 400);
    control.clear_faults().await.unwrap();
    create(&client, PRO_PAYLINK, "F7").await;
    let stats = control.stats().await.unwrap();
    assert_eq!((stats.sessions, stats.api_requests), (1, 1));
}
