//! Each injected fault, as the SDK observes it over loopback.

use std::time::{Duration, Instant};

use actalink_checkout::{Client, Error, RetryPolicy};
use actalink_sandbox::{DEFAULT_API_KEY, Fault, PRO_PAYLINK, RunningSandbox, Sandbox};
use http::Method;

use crate::{client, http, request};

async fn sandbox() -> RunningSandbox {
    Sandbox::builder().start("127.0.0.1:0").await.unwrap()
}

fn status(status: u16, retry_after: Option<&str>) -> Fault {
    serde_json::from_value(
        serde_json::json!({"kind": "status", "status": status, "retryAfter": retry_after}),
    )
    .unwrap()
}

#[tokio::test]
async fn a_503_on_get_is_retried_and_on_create_is_not() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let s = client
        .create_session(&request(PRO_PAYLINK, "F1"))
        .await
        .unwrap();
    sandbox.inject(status(503, None), 2);
    assert!(client.get_session(&s.id).await.unwrap().is_open());
    sandbox.inject(status(503, None), 1);
    let err = client
        .create_session(&request(PRO_PAYLINK, "F1"))
        .await
        .unwrap_err();
    // A 5xx may come after the server acted, so the SDK says a session may exist.
    assert!(
        matches!(&err, Error::MaybeCreated { source, .. } if matches!(**source, Error::Server(_))),
        "{err:?}"
    );
    assert_eq!(
        sandbox.store().count(),
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
    client
        .create_session(&request(PRO_PAYLINK, "F2"))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sandbox.store().count(), 1);
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
    let client = client(&sandbox);
    sandbox.inject(Fault::Drop, 1);
    let err = client
        .create_session(&request(PRO_PAYLINK, "F4"))
        .await
        .unwrap_err();
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
    assert_eq!(sandbox.store().count(), 1);
}

#[tokio::test]
async fn a_truncated_or_non_json_body_is_a_decode_error() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.inject(Fault::Truncate, 1);
    let err = client
        .create_session(&request(PRO_PAYLINK, "F5"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MaybeCreated { source, .. } if matches!(**source, Error::Decode { .. })),
        "{err:?}"
    );
    sandbox.inject(Fault::NonJson, 1);
    let err = client
        .create_session(&request(PRO_PAYLINK, "F6"))
        .await
        .unwrap_err();
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
    let queued = http(
        Method::POST,
        &format!("{}/__sandbox/faults", sandbox.url()),
        Some((
            "application/json",
            r#"{"kind":"status","status":500,"count":3}"#,
        )),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&queued.body), r#"{"queued":3}"#);
    let bad = http(
        Method::POST,
        &format!("{}/__sandbox/faults", sandbox.url()),
        Some(("application/json", r#"{"kind":"meteor"}"#)),
    )
    .await;
    assert_eq!(bad.status, http::StatusCode::BAD_REQUEST);
    http(
        Method::DELETE,
        &format!("{}/__sandbox/faults", sandbox.url()),
        None,
    )
    .await;
    client
        .create_session(&request(PRO_PAYLINK, "F7"))
        .await
        .unwrap();
    let stats = http(
        Method::GET,
        &format!("{}/__sandbox/stats", sandbox.url()),
        None,
    )
    .await;
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    assert_eq!(stats["sessions"], 1);
    assert_eq!(stats["apiRequests"], 1);
}
