//! The one error type of this crate.

/// Why a value was rejected: an invalid id, metadata over its limits, a bad
/// redirect URL, or a money encoding that does not decode.
///
/// Every variant says in one sentence what was wrong and, where it helps, which
/// value or limit was involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An id was empty.
    #[error("{kind} must not be empty")]
    EmptyId {
        /// Which id type, for example `paylink id`.
        kind: &'static str,
    },
    /// An id contained whitespace or a control character.
    #[error("{kind} {value:?} contains whitespace or a control character at byte {index}")]
    InvalidId {
        /// Which id type.
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// Byte offset of the first offending character.
        index: usize,
    },
    /// Metadata would hold more keys than the API allows.
    #[error("metadata may hold at most {limit} keys; adding {key:?} would exceed it")]
    TooManyMetadataKeys {
        /// The limit (50).
        limit: usize,
        /// The key that did not fit.
        key: String,
    },
    /// A metadata key was empty.
    #[error("metadata keys must not be empty")]
    EmptyMetadataKey,
    /// A redirect URL contained whitespace or a control character, which
    /// would be sent as is.
    #[error("{field} {value:?} contains whitespace or a control character")]
    UrlWhitespace {
        /// The request field, for example `successUrl`.
        field: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A redirect URL did not parse as an absolute URL.
    #[error("{field} {value:?} is not an absolute URL: {reason}")]
    InvalidUrl {
        /// The request field, for example `successUrl`.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// Why it did not parse.
        reason: String,
    },
    /// A redirect URL used a scheme other than http or https.
    #[error("{field} must be an http or https URL, not {scheme:?}")]
    UnsupportedUrlScheme {
        /// The request field.
        field: &'static str,
        /// The scheme found.
        scheme: String,
    },
    /// A hex-encoded money value was not valid hex.
    #[error("{what} {raw:?} is not valid hex: {reason}")]
    InvalidHex {
        /// Which value, for example `price`.
        what: &'static str,
        /// The raw string as received.
        raw: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A price decoded to bytes that are not a plain decimal number.
    #[error("price {raw:?} does not decode to a decimal number like \"0.16\"")]
    InvalidPrice {
        /// The raw string as received.
        raw: String,
    },
    /// A price was needed but the API sent none that could be read.
    #[error("the price is missing or in an unreadable shape")]
    MissingPrice,
    /// A decimal string could not be encoded as a price.
    #[error("{value:?} is not a non-negative decimal number like \"0.16\"")]
    InvalidDecimal {
        /// The rejected value.
        value: String,
    },
    /// A number is too large for the exact decimal type.
    #[error("{what} {raw:?} is too large to represent exactly")]
    Overflow {
        /// Which value.
        what: &'static str,
        /// The raw string as received.
        raw: String,
    },
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
