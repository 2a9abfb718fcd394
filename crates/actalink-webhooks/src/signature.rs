//! The signing scheme: two HMAC-SHA256s over the JavaScript re-serialisation.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, WebhookSecret, canonical};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-actalink-signature";
/// The header carrying the timestamp (Unix milliseconds).
pub const TIMESTAMP_HEADER: &str = "x-actalink-timestamp";

/// An HMAC keyed with the secret, ready to be cloned for each use (keying
/// costs two SHA-256 blocks, a large share of verifying a small event).
pub(crate) fn keyed(secret: &WebhookSecret) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(secret.key())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// The final signature MAC for a canonical body and a timestamp string:
/// `HMAC(secret, timestamp + "." + hex(HMAC(secret, '{"payload":' + canonical + '}')))`.
pub(crate) fn final_mac(key: &HmacSha256, canonical: &str, timestamp: &str) -> HmacSha256 {
    let mut inner = key.clone();
    inner.update(b"{\"payload\":");
    inner.update(canonical.as_bytes());
    inner.update(b"}");
    let mut inner_hex = [0u8; 64];
    // The buffer is exactly twice the digest length, so this cannot fail.
    let _ = hex::encode_to_slice(inner.finalize().into_bytes(), &mut inner_hex);
    let mut outer = key.clone();
    outer.update(timestamp.as_bytes());
    outer.update(b".");
    outer.update(&inner_hex);
    outer
}

/// The two headers a signed webhook carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// `x-actalink-timestamp`: Unix milliseconds as a decimal string.
    pub timestamp: String,
    /// `x-actalink-signature`: lowercase hex.
    pub signature: String,
}

impl SignedHeaders {
    /// The headers as an `http::HeaderMap`.
    #[must_use]
    pub fn to_header_map(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            (TIMESTAMP_HEADER, &self.timestamp),
            (SIGNATURE_HEADER, &self.signature),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        headers
    }
}

/// Signs a body exactly as Actalink does, for tests and for the sandbox.
///
/// # Errors
///
/// As [`canonicalize`](crate::canonicalize): [`Error::BodyNotJson`] when the
/// body is not JSON (the provider's algorithm parses it first), and
/// [`Error::TooDeep`] when it nests deeper than the verifier re-serialises.
pub fn sign(
    body: &[u8],
    secret: &WebhookSecret,
    timestamp_ms: i64,
) -> Result<SignedHeaders, Error> {
    let canonical = canonical::canonicalize(body)?;
    let timestamp = timestamp_ms.to_string();
    let signature = hex::encode(
        final_mac(&keyed(secret), &canonical, &timestamp)
            .finalize()
            .into_bytes(),
    );
    Ok(SignedHeaders {
        timestamp,
        signature,
    })
}

/// Decodes a received signature: optional `sha256=` or `v1=` prefix, 64 hex
/// digits of either case, surrounding whitespace ignored.
pub(crate) fn decode_signature(header: &str) -> Result<[u8; 32], Error> {
    let trimmed = header.trim();
    let digits = trimmed
        .strip_prefix("sha256=")
        .or_else(|| trimmed.strip_prefix("v1="))
        .unwrap_or(trimmed);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| Error::MalformedSignature)?;
    Ok(bytes)
}
