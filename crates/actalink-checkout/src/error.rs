//! The client's error type.

use std::time::Duration;

use actalink_types::{CheckoutSessionId, SessionStatus};
use http::StatusCode;

/// What the server said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The request id, when a response header carried one.
    pub request_id: Option<String>,
    /// The message picked from the body (`message`, `error`, `error.message`
    /// or `errors[0].message`), when it had one.
    pub message: Option<String>,
    /// The start of the body (at most 512 bytes), for diagnosis.
    pub body_snippet: String,
    /// How many attempts were made.
    pub attempts: u32,
}

impl ApiError {
    fn describe(&self) -> String {
        let mut text = format!("HTTP {}", self.status.as_u16());
        if let Some(message) = &self.message {
            text.push_str(": ");
            text.push_str(message);
        }
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" (request id {id})"));
        }
        text
    }
}

/// Everything that can go wrong with a call. Each variant says in one
/// sentence what happened; server errors keep the status, request id, message
/// and a body snippet; transport errors keep their source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was invalid and was not sent. `?` on a builder's
    /// `build()` converts into this variant.
    #[error("invalid request, not sent: {0}")]
    InvalidRequest(#[from] actalink_types::Error),
    /// The request could not be encoded as JSON, and was not sent.
    #[error("could not encode the request as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The client is misconfigured (a missing API key, a bad base URL).
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// 401 or 403: the API key is missing, wrong or not allowed to do this.
    #[error("the API refused the API key, {}", .0.describe())]
    Unauthorized(ApiError),
    /// 404: the paylink or session does not exist.
    #[error("not found, {}", .0.describe())]
    NotFound(ApiError),
    /// 429: too many requests, still refused after retrying.
    #[error("rate limited, {}", .error.describe())]
    RateLimited {
        /// The server's answer.
        error: ApiError,
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// 5xx: the server failed.
    #[error("the server failed, {}", .0.describe())]
    Server(ApiError),
    /// Any other non-2xx status.
    #[error("the API returned an error, {}", .0.describe())]
    Api(ApiError),
    /// The request could not be exchanged (connection refused or dropped, body too large).
    #[error("the request failed after {attempts} attempt(s): {source}")]
    Transport {
        /// The transport's error.
        #[source]
        source: actalink_transport::Error,
        /// How many attempts were made.
        attempts: u32,
    },
    /// An attempt or the whole call ran out of time.
    #[error("the request timed out after {attempts} attempt(s)")]
    Timeout {
        /// The transport's error.
        #[source]
        source: actalink_transport::Error,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A 2xx response whose body is not the expected JSON.
    #[error("could not decode the response at `{path}` (HTTP {}): {source}", .status.as_u16())]
    Decode {
        /// The JSON path that failed, such as `data.products[0].priceDetails`.
        path: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
        /// The HTTP status.
        status: StatusCode,
        /// The request id, when a response header carried one.
        request_id: Option<String>,
        /// The start of the body (at most 512 bytes).
        body_snippet: String,
    },
    /// A create failed after its request may have reached the server (a
    /// timeout, a dropped connection, a 5xx, an unreadable 2xx), so a
    /// session may exist although none was returned. It is not retried: the
    /// API has no idempotency key. Look for the session by the metadata you sent.
    #[error(
        "{source}; the create may have reached the server, so a checkout session may exist: find it by the metadata you sent{hint}"
    )]
    MaybeCreated {
        /// What went wrong.
        #[source]
        source: Box<Error>,
        /// The request's first metadata pairs, as ` (key=value, …)`, or empty.
        hint: String,
    },
    /// [`Client::wait_for_completion`](crate::Client::wait_for_completion) reached its deadline.
    #[error(
        "session {session_id} was {} when the wait timed out{}",
        .last_status.as_ref().map_or_else(|| "never fetched".to_owned(), |s| format!("still {s}")),
        .last_error.as_ref().map_or_else(String::new, |e| format!("; the last poll failed: {e}"))
    )]
    WaitTimedOut {
        /// The session waited for.
        session_id: CheckoutSessionId,
        /// The last status seen, if any poll succeeded.
        last_status: Option<SessionStatus>,
        /// The error of the last poll, when it failed (a 5xx, a timeout). A
        /// last poll cut short by the wait's deadline, after an earlier one
        /// failed, leaves that earlier failure here: it says more.
        last_error: Option<Box<Error>>,
    },
}

impl Error {
    /// The server's answer, for errors that carry one.
    #[must_use]
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::MaybeCreated { source, .. } => source.api_error(),
            Self::Unauthorized(e) | Self::NotFound(e) | Self::Server(e) | Self::Api(e) => Some(e),
            Self::RateLimited { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status, when a response arrived.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Decode { status, .. } => Some(*status),
            Self::MaybeCreated { source, .. } => source.status(),
            other => other.api_error().map(|e| e.status),
        }
    }

    /// The request id, when a response header carried one.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Decode { request_id, .. } => request_id.as_deref(),
            Self::MaybeCreated { source, .. } => source.request_id(),
            other => other.api_error()?.request_id.as_deref(),
        }
    }

    /// The server's message, when the body had one.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.api_error()?.message.as_deref()
    }

    /// True for timeouts, of an attempt, of the call, or of a wait.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::MaybeCreated { source, .. } => source.is_timeout(),
            other => matches!(other, Self::Timeout { .. } | Self::WaitTimedOut { .. }),
        }
    }

    /// True when a create failed in a way that may have left a session on the
    /// server ([`Error::MaybeCreated`]).
    #[must_use]
    pub fn session_may_exist(&self) -> bool {
        matches!(self, Self::MaybeCreated { .. })
    }

    /// True when trying again later may succeed: rate limiting, server
    /// errors, timeouts and transport failures. False for
    /// [`Error::MaybeCreated`]: check that no session was made before trying
    /// a create again.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Server(_) | Self::Timeout { .. } => true,
            Self::Transport { source, .. } => !matches!(
                source.kind(),
                actalink_transport::ErrorKind::BodyTooLarge { .. }
            ),
            _ => false,
        }
    }
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
