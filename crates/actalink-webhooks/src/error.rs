//! The crate's error type.

use std::time::Duration;

use crate::SyntaxError;

/// Why a webhook was rejected. Each variant says what was wrong in one sentence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required header is absent.
    #[error("the {name} header is missing")]
    MissingHeader {
        /// The header's name.
        name: &'static str,
    },
    /// The timestamp header is not a whole number of milliseconds.
    #[error("the timestamp header {value:?} is not Unix time in milliseconds")]
    MalformedTimestamp {
        /// The header as received (truncated to 64 characters).
        value: String,
    },
    /// The timestamp is too far from now.
    #[error(
        "the timestamp is {} ms in the {}, beyond the {} ms tolerance",
        .skew_ms.unsigned_abs(),
        if *.skew_ms >= 0 { "past" } else { "future" },
        .tolerance.as_millis()
    )]
    TimestampOutsideTolerance {
        /// Now minus the timestamp, in milliseconds (positive: in the past).
        skew_ms: i64,
        /// The tolerance in force.
        tolerance: Duration,
    },
    /// The signature header is not 64 hex digits.
    #[error("the signature header is not a hex HMAC-SHA256 (64 hex digits)")]
    MalformedSignature,
    /// No configured secret produces this signature for this body and timestamp.
    #[error(
        "the signature does not match the body and timestamp under any configured secret; \
         pass the raw request body exactly as received"
    )]
    SignatureMismatch,
    /// The body is larger than the verifier accepts.
    #[error("the body is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON (so the provider cannot have signed it).
    #[error("the body is not JSON: {0}")]
    BodyNotJson(#[source] SyntaxError),
    /// The body verified but is not a webhook event (no `id`, say).
    #[error("the body verified but is not an Actalink event: {0}")]
    NotAnEvent(#[source] serde_json::Error),
}

impl Error {
    /// True when the request should be treated as forged or replayed (every
    /// variant but [`Error::NotAnEvent`], which only happens after the
    /// signature verified).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        !matches!(self, Self::NotAnEvent(_))
    }
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
