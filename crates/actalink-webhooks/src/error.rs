//! The crate's error type.

use std::time::Duration;

use crate::SyntaxError;

/// Why a webhook was rejected. Each variant says what was wrong in one sentence.
///
/// Every variant means the request is not proven genuine: a body whose
/// signature verifies is never refused for its shape (see
/// [`Event::is_recognised`](crate::Event::is_recognised)).
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
    /// The body nests arrays and objects deeper than the verifier re-serialises.
    ///
    /// Re-serialising is needed only when the body is not byte for byte what
    /// the provider signed (it was pretty-printed on the way, say); a body
    /// received as signed verifies at any depth. See
    /// [`Verifier::MAX_DEPTH`](crate::Verifier::MAX_DEPTH).
    #[error(
        "the body nests deeper than {limit} levels, too deep to re-serialise and check; \
         pass the raw request body exactly as received"
    )]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
