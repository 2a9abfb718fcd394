//! Waiting for a session to reach a final status.

use std::time::Duration;

use actalink_checkout::transport::{ReplayTransport, Response};
use actalink_checkout::{
    CheckoutSession, CheckoutSessionId, Error, MAX_DEFAULT_WAIT, Poll, SessionStatus, WaitOptions,
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
    // Polls at 0, 2 and 4 s; at the 5 s deadline a poll would have no time left.
    assert_eq!(t.requests().len(), 3);
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
    assert_eq!(t.requests().len(), 3, "polled until the deadline");
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
async fn a_last_poll_cut_at_the_deadline_keeps_the_failure_before_it() {
    // Polls that get 503 (each with its retries), then one the server is
    // too slow to answer before the deadline.
    let t = repeating(6, || status(503, r#"{"message":"maintenance"}"#))
        .respond_after(Duration::from_secs(25), paid());
    let e = client(&t)
        .wait_for_completion(
            &id(),
            WaitOptions::new()
                .with_interval(Duration::from_secs(1))
                .with_timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    let Error::WaitTimedOut { last_error, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(last_error.as_deref(), Some(Error::Server(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("maintenance"), "{e}");
    assert_eq!(t.requests().len(), 7, "the slow poll was made");
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

#[tokio::test(start_paused = true)]
async fn with_no_timeout_a_far_expiry_is_capped_at_a_day() {
    // The server says the session expires in the year 9999.
    let far = || {
        let Response { status, body, .. } = with_status("open");
        let text = String::from_utf8(body.to_vec())
            .unwrap()
            .replace("2025-08-29T16:36:36.348Z", "9999-12-31T23:59:59.999Z");
        Response::json(status, text)
    };
    let t = repeating(30, far);
    let start = Instant::now();
    let e = client(&t)
        .wait_for_completion(
            &id(),
            WaitOptions::new().with_interval(Duration::from_secs(3600)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimedOut { .. }), "{e:?}");
    assert_eq!(start.elapsed(), MAX_DEFAULT_WAIT);
    assert_eq!(MAX_DEFAULT_WAIT, Duration::from_secs(24 * 3600));
    // Polls on the hour until the cap.
    assert_eq!(t.requests().len(), 24);
}

#[tokio::test(start_paused = true)]
async fn a_slow_poll_is_cut_at_the_deadline() {
    // The replay transport honours each request's timeout, as reqwest does.
    let t = ReplayTransport::new()
        .respond(with_status("open"))
        .respond_after(Duration::from_secs(25), paid());
    let start = Instant::now();
    let e = client(&t)
        .wait_for_completion(
            &id(),
            WaitOptions::new()
                .with_interval(Duration::from_secs(1))
                .with_timeout(Duration::from_secs(3)),
        )
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(3), "not 26 s");
    let Error::WaitTimedOut {
        last_status,
        last_error,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*last_status, Some(SessionStatus::Open));
    assert!(
        last_error.as_deref().is_some_and(Error::is_timeout),
        "{e:?}"
    );
}

mod over_loopback {
    //! The deadline against a real socket and a server that is slow to answer.
    //! Time bounds are generous: the machine running the tests may be busy.

    use std::time::Duration;

    use actalink_checkout::{Client, Error, SessionStatus, WaitOptions};
    use actalink_testkit::{StubReply, StubServer};
    use tokio::time::Instant;

    use super::id;
    use crate::{KEY, fixture};

    fn client_of(stub: &StubServer) -> Client {
        Client::builder()
            .api_key(KEY)
            .base_url(stub.url())
            .build()
            .unwrap()
    }

    fn slow(reply: StubReply) -> StubReply {
        StubReply::Delay(Duration::from_secs(20), Box::new(reply))
    }

    #[tokio::test]
    async fn a_one_second_wait_on_a_twenty_second_answer_ends_in_time() {
        let paid = || StubReply::json(200, fixture("session-status-success.200.json"));
        let stub = StubServer::start(vec![slow(paid()), slow(paid())]).await;
        let start = Instant::now();
        let e = client_of(&stub)
            .wait_for_completion(
                &id(),
                WaitOptions::new().with_timeout(Duration::from_secs(1)),
            )
            .await
            .unwrap_err();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(e.is_timeout(), "{e:?}");
        assert!(
            matches!(
                &e,
                Error::WaitTimedOut {
                    last_status: None,
                    last_error: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_slow_poll_after_a_quick_one_keeps_the_last_status() {
        let open = StubReply::json(200, fixture("create-session.201.json"));
        let paid = StubReply::json(200, fixture("session-status-success.200.json"));
        let stub = StubServer::start(vec![open, slow(paid.clone()), slow(paid)]).await;
        let start = Instant::now();
        let e = client_of(&stub)
            .wait_for_completion(
                &id(),
                WaitOptions::new()
                    .with_interval(Duration::from_millis(100))
                    .with_timeout(Duration::from_secs(2)),
            )
            .await
            .unwrap_err();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(7), "took {took:?}");
        assert!(
            matches!(
                &e,
                Error::WaitTimedOut {
                    last_status: Some(SessionStatus::Open),
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn failed_first_polls_wait_an_hour_and_then_the_expiry_applies() {
    // Never fetched: the wait ends an hour on.
    let t = repeating(400, || status(503, ""));
    let start = Instant::now();
    let e = client(&t)
        .wait_for_completion(
            &id(),
            WaitOptions::new().with_interval(Duration::from_secs(60)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::WaitTimedOut {
                last_status: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3600));

    // Failed polls, then one that tells an expiry long past: that expiry ends the wait.
    let t = repeating(4, || status(503, "")).respond(with_status("open"));
    let start = Instant::now();
    let e = client(&t)
        .wait_for_completion(
            &id(),
            WaitOptions::new().with_interval(Duration::from_secs(1)),
        )
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
    // The fixture expired in 2025: the wait ended at the first successful poll.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}
