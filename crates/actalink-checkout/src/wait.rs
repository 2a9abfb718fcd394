//! Waiting for a session to reach a final status.

use std::time::Duration;

use actalink_types::{CheckoutSession, CheckoutSessionId, SessionStatus};
use tokio::time::Instant;

use crate::{Client, Error, Result};

/// How long a wait lasts when neither a timeout nor the session's `expiresAt` says.
const DEFAULT_WAIT: Duration = Duration::from_secs(3600);

/// The longest a wait without an explicit timeout lasts, whatever the
/// session's `expiresAt` says (a server may send the year 9999).
pub const MAX_DEFAULT_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How [`Client::wait_for_completion`] polls.
#[derive(Debug, Clone)]
#[must_use]
pub struct WaitOptions {
    interval: Duration,
    timeout: Option<Duration>,
}

impl Default for WaitOptions {
    /// Every 5 seconds, until the session's `expiresAt` (at most
    /// [`MAX_DEFAULT_WAIT`]).
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            timeout: None,
        }
    }
}

impl WaitOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time between polls (default 5 s, the official demo's interval).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Give up after this long instead of at the session's `expiresAt`.
    ///
    /// The deadline holds while a request is in flight: a poll still running
    /// at the deadline is abandoned. An explicit timeout is not capped by
    /// [`MAX_DEFAULT_WAIT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// What one poll of a wait gave, for
/// [`Client::wait_for_completion_with_progress`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Poll<'a> {
    /// The session as fetched.
    Session(&'a CheckoutSession),
    /// A failure the wait goes on after (a 5xx, a timeout, a dropped connection).
    Failed(&'a Error),
}

/// `start + span`, or `None` when that is beyond what the clock can represent
/// (which is no deadline at all).
fn deadline_after(start: Instant, span: Duration) -> Option<Instant> {
    start.checked_add(span)
}

impl Client {
    /// Polls a session until its status is final and returns it, paid or not:
    /// check [`CheckoutSession::is_paid`].
    ///
    /// Final means `success`, `failure` or `timeout`. An unknown status is not
    /// final: it may be a step on the way to `success`, so polling goes on
    /// until the status changes or the deadline passes. Polls every `interval`
    /// until the timeout, or by default until the session's `expiresAt` (one
    /// hour when the session has none, and never more than
    /// [`MAX_DEFAULT_WAIT`] from the start). The wait ends at the deadline,
    /// without a poll that would have no time left to answer.
    ///
    /// Each poll, with the client's retries, is bounded by the time left: a
    /// server that is slow to answer cannot stretch the wait past its
    /// deadline.
    ///
    /// Errors that may pass (5xx, timeouts, connection failures) are logged
    /// and polling goes on; others (401, 404) end the wait at once.
    ///
    /// # Errors
    ///
    /// [`Error::WaitTimedOut`] naming the last status seen and the last error,
    /// or the error that ended the wait.
    pub async fn wait_for_completion(
        &self,
        id: &CheckoutSessionId,
        options: WaitOptions,
    ) -> Result<CheckoutSession> {
        self.wait_for_completion_with_progress(id, options, |_| {})
            .await
    }

    /// As [`Client::wait_for_completion`], calling `on_poll` with every poll:
    /// each session fetched, and each failure the wait goes on after (a 5xx,
    /// a timeout, a dropped connection).
    ///
    /// # Errors
    ///
    /// As [`Client::wait_for_completion`].
    pub async fn wait_for_completion_with_progress(
        &self,
        id: &CheckoutSessionId,
        options: WaitOptions,
        mut on_poll: impl FnMut(Poll<'_>) + Send,
    ) -> Result<CheckoutSession> {
        let start = Instant::now();
        // Without an explicit timeout, `expiresAt` sets the deadline once a
        // poll has succeeded, never beyond the cap.
        let cap = deadline_after(start, MAX_DEFAULT_WAIT);
        // Until a poll has told the session's `expiresAt`: one hour.
        let until_known = deadline_after(start, DEFAULT_WAIT.min(MAX_DEFAULT_WAIT));
        // `None` inside: no representable deadline, so wait until the status is final.
        let mut deadline: Option<Option<Instant>> =
            options.timeout.map(|t| deadline_after(start, t));
        let mut last_status: Option<SessionStatus> = None;
        let mut last_error: Option<Box<Error>> = None;
        loop {
            let poll_deadline = deadline.unwrap_or(until_known);
            match self.get_session_before(id, poll_deadline).await {
                Ok(session) => {
                    on_poll(Poll::Session(&session));
                    if session.is_terminal() {
                        return Ok(session);
                    }
                    if let SessionStatus::Unknown(status) = &session.status {
                        tracing::debug!(status = %status, "unknown session status; polling on");
                    }
                    if deadline.is_none() {
                        let left = session.expires_at.map_or(DEFAULT_WAIT, |at| {
                            let left = at - time::OffsetDateTime::now_utc();
                            left.try_into().unwrap_or(Duration::ZERO)
                        });
                        let by_expiry = deadline_after(Instant::now(), left);
                        deadline = Some(match (by_expiry, cap) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        });
                    }
                    last_status = Some(session.status);
                    last_error = None;
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(error = %error, "polling the session failed; polling on");
                    on_poll(Poll::Failed(&error));
                    // A poll cut short by the wait's own deadline says only
                    // that time ran out: a failure the server or the network
                    // gave before it says more, and is kept.
                    let cut_short =
                        error.is_timeout() && poll_deadline.is_some_and(|at| Instant::now() >= at);
                    if !(cut_short && last_error.is_some()) {
                        last_error = Some(Box::new(error));
                    }
                }
                Err(error) => return Err(error),
            }
            let Some(deadline) = deadline.unwrap_or(until_known) else {
                tokio::time::sleep(options.interval).await;
                continue;
            };
            let now = Instant::now();
            if now < deadline {
                tokio::time::sleep(options.interval.min(deadline - now)).await;
            }
            // A poll at the deadline would have no time left to answer.
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(Error::WaitTimedOut {
            session_id: id.clone(),
            last_status,
            last_error,
        })
    }

    /// One poll of a wait: [`Client::get_session`] with its retries and
    /// attempts cut short at `deadline`. The deadline is also enforced around
    /// the whole call, so that a transport which ignores its timeout cannot
    /// stretch the wait.
    async fn get_session_before(
        &self,
        id: &CheckoutSessionId,
        deadline: Option<Instant>,
    ) -> Result<CheckoutSession> {
        let Some(deadline) = deadline else {
            return self.get_session(id).await;
        };
        match tokio::time::timeout_at(deadline, self.get_session_until(id, Some(deadline))).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::Timeout {
                source: actalink_transport::Error::new(
                    actalink_transport::ErrorKind::Timeout,
                    "the wait's deadline passed while the session was being fetched",
                    None,
                ),
                attempts: 1,
            }),
        }
    }
}
