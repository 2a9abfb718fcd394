//! The retry policy: which failures are retried, and how long to wait.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::{Error, Request, Response, Transport};

/// Whether repeating a request is harmless; decides which failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idempotency {
    /// Repeating it changes nothing (a GET): retried on connect failures,
    /// timeouts, other I/O failures, 429 and 5xx.
    Idempotent,
    /// Repeating it may act twice (a POST that creates something, with no
    /// idempotency key): retried only when it provably did not take effect,
    /// that is a connect failure, or a 429 (the server refused it unprocessed).
    NotIdempotent,
}

/// Full-jitter exponential backoff with a cap, a retry count, and
/// `Retry-After` honoured up to a maximum.
///
/// The wait before retry `n` (from 0) is a uniformly random duration in
/// `[0, min(max_backoff, initial_backoff * 2^n)]`, unless the response carried
/// `Retry-After` (seconds or an HTTP date), which is used instead, clamped to
/// `max_retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, 500 ms initial backoff, 8 s cap, `Retry-After` up to 30 s.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// The result of sending a request under a [`RetryPolicy`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The last attempt's result: a response of any status, or an error.
    pub result: Result<Response, Error>,
    /// How many attempts were made (at least 1).
    pub attempts: u32,
}

impl RetryPolicy {
    /// A policy that never retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries after the first attempt.
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the backoff before the first retry (doubled for each later one).
    #[must_use]
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the cap on any one backoff.
    #[must_use]
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets the longest `Retry-After` that is honoured as given; longer ones are clamped.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The configured number of retries.
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The jittered backoff before retry `retry` (0 for the first retry).
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }

    /// The server's `Retry-After`, clamped to the policy's maximum; `None`
    /// when absent or unreadable.
    #[must_use]
    pub fn retry_after(&self, headers: &HeaderMap) -> Option<Duration> {
        parse_retry_after(headers, SystemTime::now()).map(|d| d.min(self.max_retry_after))
    }

    /// Whether an attempt's result should be retried for a request of this idempotency.
    #[must_use]
    pub fn should_retry(idempotency: Idempotency, result: &Result<Response, Error>) -> bool {
        match (idempotency, result) {
            (_, Ok(response)) if response.status == StatusCode::TOO_MANY_REQUESTS => true,
            (Idempotency::Idempotent, Ok(response)) => response.status.is_server_error(),
            (Idempotency::NotIdempotent, Ok(_)) => false,
            (Idempotency::Idempotent, Err(error)) => !matches!(
                error.kind(),
                crate::ErrorKind::InvalidRequest | crate::ErrorKind::BodyTooLarge { .. }
            ),
            (Idempotency::NotIdempotent, Err(error)) => error.is_connect(),
        }
    }

    /// Sends `request`, retrying under this policy, and stops early rather
    /// than run past `deadline`.
    ///
    /// Each attempt's timeout is the request's own, shortened to what is left
    /// before the deadline. When the next wait would end past the deadline, the
    /// last attempt's result is returned as it is. A deadline that has passed
    /// before an attempt gives a timeout error.
    pub async fn send(
        &self,
        transport: &dyn Transport,
        request: Request,
        idempotency: Idempotency,
        deadline: Option<Instant>,
    ) -> Outcome {
        self.send_with(transport, || request.clone(), idempotency, deadline)
            .await
    }

    /// As [`RetryPolicy::send`], building each attempt's request with `make`,
    /// so that a caller holding the parts builds it once per attempt rather
    /// than building it and then cloning it.
    pub async fn send_with(
        &self,
        transport: &dyn Transport,
        make: impl Fn() -> Request + Send + Sync,
        idempotency: Idempotency,
        deadline: Option<Instant>,
    ) -> Outcome {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut this_attempt = make();
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Outcome {
                        result: Err(Error::new(
                            crate::ErrorKind::Timeout,
                            "the total deadline passed before the request could be sent",
                            None,
                        )),
                        attempts: attempt - 1,
                    };
                }
                this_attempt.timeout = Some(this_attempt.timeout.map_or(left, |t| t.min(left)));
            }
            let span = tracing::debug_span!(
                "attempt",
                attempt,
                method = %this_attempt.method,
                // Found only if the span is recorded: with tracing's `log`
                // feature (which sqlx turns on) a span's fields are visited
                // even when nothing listens.
                path = %PathOf(&this_attempt),
                status = tracing::field::Empty,
            );
            // A disabled span would only add an enter and an exit to every poll.
            let result = if span.is_disabled() {
                transport.send(this_attempt).await
            } else {
                transport.send(this_attempt).instrument(span.clone()).await
            };
            match &result {
                Ok(response) => {
                    span.record("status", response.status.as_u16());
                    tracing::debug!(parent: &span, status = response.status.as_u16(), "response received");
                }
                Err(error) => {
                    tracing::debug!(parent: &span, kind = ?error.kind(), "attempt failed");
                }
            }
            let retry_index = attempt - 1;
            if retry_index >= self.max_retries || !Self::should_retry(idempotency, &result) {
                return Outcome {
                    result,
                    attempts: attempt,
                };
            }
            let wait = result
                .as_ref()
                .ok()
                .and_then(|response| self.retry_after(&response.headers))
                .unwrap_or_else(|| self.backoff(retry_index));
            // A wait beyond what the clock can represent ends past any deadline.
            if let Some(deadline) = deadline
                && Instant::now()
                    .checked_add(wait)
                    .is_none_or(|resume| resume >= deadline)
            {
                return Outcome {
                    result,
                    attempts: attempt,
                };
            }
            tracing::debug!(parent: &span, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// Reads `Retry-After` as whole seconds or an HTTP date relative to `now`.
fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A request's path, written only when it is displayed.
struct PathOf<'a>(&'a Request);

impl std::fmt::Display for PathOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(&headers("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(&headers(" 0 "), now),
            Some(Duration::ZERO)
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(&headers(&date), now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(&headers(&past), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&headers("soon"), now), None);
        assert_eq!(parse_retry_after(&headers("-1"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_is_clamped() {
        let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
        assert_eq!(
            policy.retry_after(&headers("3600")),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_cap() {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(1000));
        for retry in 0..40 {
            let ceiling = Duration::from_millis((100u64 << retry.min(20)).min(1000));
            for _ in 0..50 {
                assert!(policy.backoff(retry) <= ceiling, "retry {retry}");
            }
        }
        // Jitter: the samples are not all equal.
        let samples: std::collections::HashSet<_> = (0..50).map(|_| policy.backoff(3)).collect();
        assert!(samples.len() > 1);
    }

    #[test]
    fn which_results_are_retried() {
        use Idempotency::*;
        let status = |code: u16| Ok(Response::new(StatusCode::from_u16(code).unwrap(), ""));
        for code in [500, 502, 503, 504, 429] {
            assert!(
                RetryPolicy::should_retry(Idempotent, &status(code)),
                "{code}"
            );
        }
        for code in [200, 201, 400, 401, 404, 409] {
            assert!(
                !RetryPolicy::should_retry(Idempotent, &status(code)),
                "{code}"
            );
        }
        assert!(RetryPolicy::should_retry(NotIdempotent, &status(429)));
        for code in [500, 502, 503, 504, 400] {
            assert!(
                !RetryPolicy::should_retry(NotIdempotent, &status(code)),
                "{code}"
            );
        }
        let connect = Err(Error::connect("refused"));
        let timeout = Err(Error::timeout());
        let io = Err(Error::io("reset"));
        assert!(RetryPolicy::should_retry(Idempotent, &connect));
        assert!(RetryPolicy::should_retry(Idempotent, &timeout));
        assert!(RetryPolicy::should_retry(Idempotent, &io));
        assert!(RetryPolicy::should_retry(NotIdempotent, &connect));
        assert!(!RetryPolicy::should_retry(NotIdempotent, &timeout));
        assert!(!RetryPolicy::should_retry(NotIdempotent, &io));
    }
}
