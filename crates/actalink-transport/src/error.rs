//! The transport's error type.

use std::error::Error as StdError;
use std::fmt;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of failure a [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection could not be made: the request never left this machine.
    Connect,
    /// The attempt took longer than its timeout. The server may have received it.
    Timeout,
    /// The response body was larger than the cap.
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The request could not be built (a bad URL or header): it was not sent.
    InvalidRequest,
    /// The transport itself could not be set up (for example its TLS
    /// backend or a custom root certificate): nothing was sent.
    Config,
    /// Anything else after the request may have been sent: a dropped
    /// connection, a malformed response.
    Io,
}

/// A failure to exchange one request and response.
///
/// [`Error::was_sent`] says whether the server may have seen the request;
/// retry rules for non-idempotent requests depend on it.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<BoxError>,
}

impl Error {
    /// Makes an error of a kind, with a one-sentence message and an optional source.
    pub fn new(kind: ErrorKind, message: impl Into<String>, source: Option<BoxError>) -> Self {
        Self {
            kind,
            message: message.into(),
            source,
        }
    }

    /// A connect failure (the request was not sent).
    pub fn connect(source: impl Into<BoxError>) -> Self {
        Self::new(
            ErrorKind::Connect,
            "could not connect to the server",
            Some(source.into()),
        )
    }

    /// A connect failure naming where the connection went, such as
    /// `api.acta.link:443` (never the path or any credentials).
    pub fn connect_to(target: &str, source: impl Into<BoxError>) -> Self {
        Self::new(
            ErrorKind::Connect,
            format!("could not connect to {target}"),
            Some(source.into()),
        )
    }

    /// A timeout.
    pub fn timeout() -> Self {
        Self::new(ErrorKind::Timeout, "the request timed out", None)
    }

    /// An I/O failure after the request may have been sent.
    pub fn io(source: impl Into<BoxError>) -> Self {
        Self::new(
            ErrorKind::Io,
            "the connection failed during the exchange",
            Some(source.into()),
        )
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True for a connect failure.
    #[must_use]
    pub fn is_connect(&self) -> bool {
        self.kind == ErrorKind::Connect
    }

    /// True for a timeout.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// False only when the request provably never reached the server
    /// (connect failure, or a request that could not be built).
    #[must_use]
    pub fn was_sent(&self) -> bool {
        !matches!(
            self.kind,
            ErrorKind::Connect | ErrorKind::InvalidRequest | ErrorKind::Config
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
