//! The retry loop: counts, waits, `Retry-After` and the total deadline, on a
//! paused clock so that waits cost no real time.

use std::time::Duration;

use actalink_transport::{
    Error, Idempotency, MockTransport, Outcome, ReplayTransport, Request, Response, RetryPolicy,
};
use http::{HeaderValue, Method, StatusCode};
use tokio::time::Instant;

fn status(code: u16) -> Response {
    Response::new(StatusCode::from_u16(code).unwrap(), "")
}

fn get() -> Request {
    Request::new(Method::GET, "http://stub.invalid/x")
}

fn post() -> Request {
    Request::new(Method::POST, "http://stub.invalid/x")
}

/// A transport that answers with these statuses, in order.
fn replay(codes: &[u16]) -> ReplayTransport {
    codes
        .iter()
        .fold(ReplayTransport::new(), |t, &code| t.respond(status(code)))
}

/// An idempotent GET through the default policy, without a deadline.
async fn send_get(t: &ReplayTransport) -> Outcome {
    RetryPolicy::default()
        .send(t, get(), Idempotency::Idempotent, None)
        .await
}

/// A non-idempotent POST through the default policy, without a deadline.
async fn send_post(t: &ReplayTransport) -> Outcome {
    RetryPolicy::default()
        .send(t, post(), Idempotency::NotIdempotent, None)
        .await
}

/// Asserts that the loop made `attempts` attempts and ended with a response of `status`.
fn assert_answered(outcome: Outcome, attempts: u32, status: StatusCode) {
    assert_eq!(outcome.attempts, attempts);
    assert_eq!(outcome.result.unwrap().status, status);
}

#[tokio::test(start_paused = true)]
async fn idempotent_503_twice_then_200_makes_three_attempts() {
    let t = replay(&[503, 503, 200]);
    let outcome = send_get(&t).await;
    assert_answered(outcome, 3, StatusCode::OK);
    assert_eq!(t.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_limit_and_return_the_last_response() {
    let t = replay(&[500, 502, 504, 200]);
    let outcome = send_get(&t).await;
    assert_answered(outcome, 3, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(t.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_500_is_sent_once() {
    let t = replay(&[500, 200]);
    let outcome = send_post(&t).await;
    assert_answered(outcome, 1, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_timeout_or_io_error_is_not_retried() {
    for error in [Error::timeout(), Error::io("reset by peer")] {
        let t = ReplayTransport::new().fail(error).respond(status(201));
        let outcome = send_post(&t).await;
        assert_eq!(outcome.attempts, 1);
        assert!(outcome.result.is_err());
    }
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_connect_failure_is_retried() {
    let t = ReplayTransport::new()
        .fail(Error::connect("refused"))
        .respond(status(201));
    let outcome = send_post(&t).await;
    assert_answered(outcome, 2, StatusCode::CREATED);
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_exactly_its_retry_after() {
    let limited = status(429).with_header(http::header::RETRY_AFTER, HeaderValue::from_static("3"));
    let t = ReplayTransport::new().respond(limited).respond(status(201));
    let start = Instant::now();
    let outcome = send_post(&t).await;
    assert_answered(outcome, 2, StatusCode::CREATED);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn backoff_waits_stay_under_the_doubling_ceiling() {
    let policy = RetryPolicy::default()
        .with_max_retries(3)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(10));
    let t = replay(&[503, 503, 503, 200]);
    let start = Instant::now();
    let outcome = policy.send(&t, get(), Idempotency::Idempotent, None).await;
    assert_eq!(outcome.attempts, 4);
    assert!(start.elapsed() <= Duration::from_millis(100 + 200 + 400));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_shortens_attempts_and_stops_retries() {
    // Each attempt would take 10 s; the deadline allows 3 s in all.
    let t = ReplayTransport::new()
        .respond_after(Duration::from_secs(10), status(200))
        .respond_after(Duration::from_secs(10), status(200));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(3);
    let outcome = RetryPolicy::default()
        .send(&t, get(), Idempotency::Idempotent, Some(deadline))
        .await;
    let err = outcome.result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(t.requests()[0].timeout, Some(Duration::from_secs(3)));
    assert!(start.elapsed() <= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_deadline_returns_the_429() {
    let limited =
        status(429).with_header(http::header::RETRY_AFTER, HeaderValue::from_static("20"));
    let t = ReplayTransport::new().respond(limited).respond(status(200));
    let deadline = Instant::now() + Duration::from_secs(5);
    let outcome = RetryPolicy::default()
        .send(&t, get(), Idempotency::Idempotent, Some(deadline))
        .await;
    assert_answered(outcome, 1, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn an_unbounded_retry_after_cap_with_a_huge_header_does_not_panic() {
    // max_retry_after(Duration::MAX) and a Retry-After of u64::MAX seconds:
    // the wait ends past any representable instant, which must not panic.
    let limited = status(429).with_header(
        http::header::RETRY_AFTER,
        HeaderValue::from_static("18446744073709551615"),
    );
    let t = ReplayTransport::new().respond(limited).respond(status(200));
    let deadline = Instant::now() + Duration::from_secs(5);
    let outcome = RetryPolicy::default()
        .with_max_retry_after(Duration::MAX)
        .send(&t, get(), Idempotency::Idempotent, Some(deadline))
        .await;
    // A wait past the deadline returns the 429.
    assert_answered(outcome, 1, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn each_attempt_is_built_afresh_and_a_later_one_gets_only_the_time_left() {
    // The request allows 10 s per attempt and the deadline 12 s in all. The
    // first answer, a 503, asks for 4 s; the second attempt then has 8 s.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let mut mock = MockTransport::new();
    mock.expect_send().times(2).returning(move |request| {
        let mut seen = record.lock().unwrap();
        seen.push((request.timeout, request.headers.get("x-attempt").cloned()));
        Ok(if seen.len() == 1 {
            status(503).with_header(http::header::RETRY_AFTER, HeaderValue::from_static("4"))
        } else {
            status(200)
        })
    });
    let built = std::sync::atomic::AtomicU32::new(0);
    let make = || {
        let n = built.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        get().with_timeout(Duration::from_secs(10)).with_header(
            http::HeaderName::from_static("x-attempt"),
            HeaderValue::from(n),
        )
    };
    let start = Instant::now();
    let outcome = RetryPolicy::default()
        .send_with(
            &mock,
            make,
            Idempotency::Idempotent,
            Some(start + Duration::from_secs(12)),
        )
        .await;
    assert_answered(outcome, 2, StatusCode::OK);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(4),
        "waited the Retry-After"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Some(Duration::from_secs(10)), Some(HeaderValue::from(1))),
            (Some(Duration::from_secs(8)), Some(HeaderValue::from(2))),
        ]
    );
}
