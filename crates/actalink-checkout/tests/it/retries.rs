//! The retry rules, counted through the replay transport.

use std::time::Duration;

use actalink_checkout::transport::{Error as TransportError, ReplayTransport};
use actalink_checkout::{CheckoutSessionId, Error};
use http::HeaderValue;
use tokio::time::Instant;

use crate::{client, create_request, created, paid, status};

fn id() -> CheckoutSessionId {
    CheckoutSessionId::new("checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L").unwrap()
}

#[tokio::test(start_paused = true)]
async fn get_503_twice_then_200_makes_three_attempts() {
    let t = ReplayTransport::new()
        .respond(status(503, ""))
        .respond(status(503, ""))
        .respond(paid());
    let session = client(&t).get_session(&id()).await.unwrap();
    assert!(session.is_paid());
    assert_eq!(t.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn get_is_retried_on_timeouts_and_io_failures() {
    let t = ReplayTransport::new()
        .fail(TransportError::timeout())
        .fail(TransportError::io("connection reset"))
        .respond(paid());
    client(&t).get_session(&id()).await.unwrap();
    assert_eq!(t.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn get_gives_up_after_two_retries() {
    let t = ReplayTransport::new()
        .respond(status(500, ""))
        .respond(status(500, ""))
        .respond(status(500, "last"))
        .respond(paid());
    let e = client(&t).get_session(&id()).await.unwrap_err();
    let Error::Server(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.attempts, 3);
    assert_eq!(api.body_snippet, "last");
    assert_eq!(t.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn get_is_not_retried_on_4xx() {
    let t = ReplayTransport::new()
        .respond(status(404, ""))
        .respond(paid());
    assert!(matches!(
        client(&t).get_session(&id()).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn create_500_is_sent_once() {
    let t = ReplayTransport::new()
        .respond(status(500, ""))
        .respond(created());
    let e = client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::MaybeCreated { source, .. } if matches!(**source, Error::Server(_))),
        "{e:?}"
    );
    assert!(
        !e.is_retryable(),
        "a create that may have happened is not blindly retried"
    );
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn create_timeout_is_sent_once() {
    let t = ReplayTransport::new()
        .fail(TransportError::timeout())
        .respond(created());
    let e = client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn create_connect_failure_is_retried() {
    let t = ReplayTransport::new()
        .fail(TransportError::connect("refused"))
        .respond(created());
    client(&t).create_session(&create_request()).await.unwrap();
    assert_eq!(t.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn create_429_with_retry_after_retries_after_the_wait() {
    let limited =
        status(429, "").with_header(http::header::RETRY_AFTER, HeaderValue::from_static("2"));
    let t = ReplayTransport::new().respond(limited).respond(created());
    let start = Instant::now();
    client(&t).create_session(&create_request()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let sent = t.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, sent[1].body, "the same request is repeated");
}
