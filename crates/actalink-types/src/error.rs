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
    /// A redirect URL was a relative reference (`/orders/1`, `orders/1`,
    /// `//shop.example/x`): the API takes absolute URIs only.
    #[error(
        "{field} {value:?} is a relative reference; give an absolute URI, such as \
         https://shop.example/orders/1 or an app link such as myapp://orders/1"
    )]
    RelativeUrl {
        /// The request field, for example `successUrl`.
        field: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A redirect URL did not parse as an absolute URI.
    #[error("{field} {value:?} is not an absolute URI: {reason}")]
    InvalidUrl {
        /// The request field, for example `successUrl`.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// Why it did not parse.
        reason: String,
    },
    /// A redirect URL used a scheme that runs script or opens local files
    /// where the customer lands: `javascript:`, `data:`, `vbscript:` or
    /// `file:` (in any case). Any other absolute URI is accepted.
    #[error(
        "{field} must not use the {scheme:?} scheme, which could run script or open local files \
         in the customer's browser; use an http or https URL, or an app link"
    )]
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
