//! Waiting for a session to reach a final status.

use std::time::Duration;

use actalink_checkout::transport::{ReplayTransport, Response};
use actalink_checkout::{
    CheckoutSession, CheckoutSessionId, Error, Poll, SessionStatus, WaitOptions,
};
use tokio::time::Instant;

use crate::{client, paid, status, with_status};

fn id() -> CheckoutSessionId {
    CheckoutSessionId::new("checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX").unwrap()
}

/// A transport that gives `response()` `times` times.
fn repeating(times: usize, response: impl Fn() -> Response) -> ReplayTransport {
    (0..times).fold(ReplayTransport::new(), |t, _| t.respond(response()))
}

/// A transport that gives the session in these statuses, then paid.
fn polls_then_paid(statuses: &[&str]) -> ReplayTransport {
    statuses
        .iter()
        .fold(ReplayTransport::new(), |t, status| {
            t.respond(with_status(status))
        })
        .respond(paid())
}

/// A wait of up to 60 s at the default interval, reporting each poll.
async fn wait_a_minute(
    t: &ReplayTransport,
    on_poll: impl FnMut(Poll<'_>) + Send,
) -> Result<CheckoutSession, Error> {
    client(t)
        .wait_for_completion_with_progress(
            &id(),
            WaitOptions::new().with_timeout(Duration::from_secs(60)),
            on_poll,
        )
        .await
}

/// A wait of 5 s, polling every 2 s, that must time out.
async fn wait_five_seconds_in_vain(t: &ReplayTransport) -> Error {
    let options = WaitOptions::new()
        .with_interval(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(5));
    client(t)
        .wait_for_completion(&id(), options)
        .await
        .unwrap_err()
}

#[tokio::test(start_paused = true)]
async fn open_open_success_returns_the_paid_session() {
    let t = polls_then_paid(&["open", "open"]);
    let start = Instant::now();
    let mut seen = Vec::new();
    let session = wait_a_minute(&t, |poll| {
        if let Poll::Session(s) = poll {
            seen.push(s.status.clone());
        }
    })
    .await
    .unwrap();
    assert!(session.is_paid());
    assert_eq!(
        seen,
        [
            SessionStatus::Open,
            SessionStatus::Open,
            SessionStatus::Success
        ]
    );
    assert_eq!(t.requests().len(), 3);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(10),
        "two 5 s intervals"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_session_is_returned_unpaid() {
    let t = ReplayTransport::new().respond(with_status("failure"));
    let session = client(&t)
        .wait_for_completion(&id(), WaitOptions::new())
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Failure);
    assert!(!session.is_paid());
}

#[tokio::test(start_paused = true)]
async fn the_deadline_gives_a_timeout_naming_the_last_status() {
    let t = repeating(10, || with_status("open"));
    let e = wait_five_seconds_in_vain(&t).await;
    assert_eq!(
        e.to_string(),
        "session checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX was still open when the wait timed out"
    );
    assert!(e.is_timeout());
    // Polls at 0, 2, 4 and a last one at the 5 s deadline.
    assert_eq!(t.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn the_default_deadline_is_the_sessions_expiry() {
    // The fixture expired in 2025, so the first poll is also the last.
    let t = repeating(2, || with_status("open"));
    let e = client(&t)
        .wait_for_completion(&id(), WaitOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::WaitTimedOut {
                last_status: Some(SessionStatus::Open),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn transient_errors_do_not_end_the_wait_but_a_404_does() {
    let t = repeating(3, || status(503, "")).respond(paid());
    let mut failed = Vec::new();
    let session = wait_a_minute(&t, |poll| {
        if let Poll::Failed(error) = poll {
            failed.push(error.status());
        }
    })
    .await
    .unwrap();
    assert!(session.is_paid());
    // Each 503 (after the client's own retries) is reported, and polling went on.
    assert!(!failed.is_empty(), "failed polls are reported");
    assert!(
        failed
            .iter()
            .all(|s| *s == Some(http::StatusCode::SERVICE_UNAVAILABLE))
    );

    let t = ReplayTransport::new().respond(status(404, r#"{"message":"no such session"}"#));
    let e = wait_a_minute(&t, |_| {}).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_status_is_not_final_and_polling_goes_on() {
    let t = polls_then_paid(&["processing", "confirming"]);
    let session = wait_a_minute(&t, |_| {}).await.unwrap();
    assert!(
        session.is_paid(),
        "the customer paid after two unknown statuses"
    );
    assert_eq!(t.requests().len(), 3);

    let t = repeating(10, || with_status("processing"));
    let e = wait_five_seconds_in_vain(&t).await;
    assert!(
        matches!(&e, Error::WaitTimedOut { last_status: Some(SessionStatus::Unknown(s)), .. } if s == "processing"),
        "{e:?}"
    );
    assert_eq!(t.requests().len(), 4, "polled until the deadline");
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_ends_in_errors_carries_the_last_one() {
    let t = repeating(40, || status(503, r#"{"message":"maintenance"}"#));
    let e = wait_five_seconds_in_vain(&t).await;
    let Error::WaitTimedOut {
        last_status,
        last_error,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*last_status, None);
    assert!(
        matches!(last_error.as_deref(), Some(Error::Server(_))),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("never fetched") && text.contains("maintenance"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_beyond_the_clock_does_not_panic() {
    let t = ReplayTransport::new().respond(paid());
    let session = client(&t)
        .wait_for_completion(&id(), WaitOptions::new().with_timeout(Duration::MAX))
        .await
        .unwrap();
    assert!(session.is_paid());
}
