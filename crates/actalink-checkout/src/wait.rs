//! Waiting for a session to reach a final status.

use std::time::Duration;

use actalink_types::{CheckoutSession, CheckoutSessionId, SessionStatus};
use tokio::time::Instant;

use crate::{Client, Error, Result};

/// How long a wait lasts when neither a timeout nor the session's `expiresAt` says.
const DEFAULT_WAIT: Duration = Duration::from_secs(3600);

/// How [`Client::wait_for_completion`] polls.
#[derive(Debug, Clone)]
#[must_use]
pub struct WaitOptions {
    interval: Duration,
    timeout: Option<Duration>,
}

impl Default for WaitOptions {
    /// Every 5 seconds, until the session's `expiresAt`.
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
    /// hour when the session has none), with a last poll at the deadline.
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
        // `None` inside: no representable deadline, so wait until the status is final.
        let mut deadline: Option<Option<Instant>> =
            options.timeout.map(|t| deadline_after(start, t));
        let mut last_status: Option<SessionStatus> = None;
        let mut last_error: Option<Box<Error>>;
        loop {
            match self.get_session(id).await {
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
                        deadline = Some(deadline_after(Instant::now(), left));
                    }
                    last_status = Some(session.status);
                    last_error = None;
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(error = %error, "polling the session failed; polling on");
                    on_poll(Poll::Failed(&error));
                    last_error = Some(Box::new(error));
                }
                Err(error) => return Err(error),
            }
            let deadline = *deadline.get_or_insert_with(|| deadline_after(start, DEFAULT_WAIT));
            let now = Instant::now();
            let pause = match deadline {
                Some(deadline) if now >= deadline => {
                    return Err(Error::WaitTimedOut {
                        session_id: id.clone(),
                        last_status,
                        last_error,
                    });
                }
                Some(deadline) => options.interval.min(deadline - now),
                None => options.interval,
            };
            tokio::time::sleep(pause).await;
        }
    }
}
