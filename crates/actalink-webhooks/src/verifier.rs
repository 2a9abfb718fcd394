//! The verifier.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;

use crate::signature::{
    HmacSha256, SIGNATURE_HEADER, TIMESTAMP_HEADER, decode_signature, final_mac, keyed,
};
use crate::{Error, Event, WebhookSecret, canonical};

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Verifies webhook requests against one or more secrets.
///
/// Build it once (it is cheap to clone) and call [`Verifier::verify`] with the
/// **raw** body bytes and the request headers. The checks, in order: both
/// headers present, body size, timestamp format, timestamp within the
/// tolerance (both directions, 5 minutes by default), then the signature in
/// constant time against every configured secret (so that an event signed
/// with the old secret still verifies while you rotate).
///
/// The signature is checked against the raw bytes (the provider sends
/// `JSON.stringify` output, which is already canonical) and against the body
/// re-serialised the JavaScript way ([`canonicalize`](crate::canonicalize)),
/// raw bytes first unless the body has line breaks or tabs, which the
/// provider's compact `JSON.stringify` output never has. Re-serialising is the only work done
/// before the signature is known to be genuine.
/// It is bounded: linear time, memory a small multiple of the body (capped by
/// [`Verifier::with_max_body_bytes`]), and at most [`Verifier::MAX_DEPTH`] levels of
/// nesting.
///
/// Whether the signed body is an event is a separate verdict: every genuine
/// signature gives an [`Event`], whatever the body's shape (see
/// [`Event::is_recognised`]).
///
/// Cloning is cheap (an `Arc` inside), so a `Verifier` can sit in an axum
/// state that is cloned for every request.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    secrets: Vec<WebhookSecret>,
    /// One keyed HMAC per secret, in the same order.
    keys: Vec<HmacSha256>,
    tolerance: Option<Duration>,
    max_body_bytes: usize,
    clock: Clock,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.inner.secrets)
            .field("tolerance", &self.inner.tolerance)
            .field("max_body_bytes", &self.inner.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// The default timestamp tolerance: 5 minutes, as the provider's docs suggest.
    pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
    /// The default body cap: 1 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    /// How deeply arrays and objects may nest in a body that has to be
    /// re-serialised to check its signature: 256 levels (real events nest 4
    /// or 5). A body received byte for byte as the provider signed it is not
    /// re-serialised, and verifies at any depth; a deeper body that was
    /// reformatted on the way is rejected with [`Error::TooDeep`].
    pub const MAX_DEPTH: usize = canonical::MAX_DEPTH;

    /// A verifier for one secret, with the default tolerance and body cap.
    pub fn new(secret: impl Into<WebhookSecret>) -> Self {
        let secret = secret.into();
        Self {
            inner: Arc::new(Inner {
                keys: vec![keyed(&secret)],
                secrets: vec![secret],
                tolerance: Some(Self::DEFAULT_TOLERANCE),
                max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
                clock: Arc::new(SystemTime::now),
            }),
        }
    }

    /// Also accepts signatures made with `secret` (for rotation).
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        let secret = secret.into();
        let inner = Arc::make_mut(&mut self.inner);
        inner.keys.push(keyed(&secret));
        inner.secrets.push(secret);
        self
    }

    /// Sets how far the timestamp may be from now, in either direction.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        Arc::make_mut(&mut self.inner).tolerance = Some(tolerance);
        self
    }

    /// Turns the timestamp check off (for replaying stored events). The
    /// signature still covers the timestamp.
    #[must_use]
    pub fn without_tolerance(mut self) -> Self {
        Arc::make_mut(&mut self.inner).tolerance = None;
        self
    }

    /// Sets the largest body accepted (default 1 MiB).
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.inner).max_body_bytes = bytes;
        self
    }

    /// Replaces the clock used for the tolerance check: in tests, or to check
    /// events taken from a queue against the time they were received.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.inner).clock = Arc::new(clock);
        self
    }

    /// The body cap in force.
    #[cfg(feature = "axum")]
    pub(crate) fn body_limit(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// Verifies a request and decodes its event.
    ///
    /// `headers` are looked up case-insensitively (`x-actalink-timestamp`,
    /// `x-actalink-signature`). A genuine signature always gives an
    /// [`Event`], whatever the body's shape; check [`Event::is_recognised`]
    /// before acting on it.
    ///
    /// # Errors
    ///
    /// The first failed check, as an [`Error`]: a missing or malformed header,
    /// a timestamp outside the tolerance, a body over the size cap, not JSON,
    /// or too deep to re-serialise, or a signature that does not match.
    pub fn verify(&self, body: &[u8], headers: &http::HeaderMap) -> Result<Event, Error> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .map(|value| value.to_str().unwrap_or("\u{fffd}"))
                .ok_or(Error::MissingHeader { name })
        };
        self.verify_parts(body, header(TIMESTAMP_HEADER)?, header(SIGNATURE_HEADER)?)
    }

    /// Verifies a body against the two header values and decodes its event.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn verify_parts(
        &self,
        body: &[u8],
        timestamp: &str,
        signature: &str,
    ) -> Result<Event, Error> {
        let canonical = self.check(body, timestamp, signature, true)?;
        Ok(Event::from_canonical(canonical.into_owned()))
    }

    /// Verifies the signature only, without decoding an event.
    ///
    /// This answers only whether the body is signed: bytes signed exactly as
    /// they are pass even if they are not JSON, which only a holder of the
    /// secret can arrange (the provider signs `JSON.stringify` output).
    /// [`Verifier::verify`] also requires the body to be JSON.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn verify_signature(
        &self,
        body: &[u8],
        timestamp: &str,
        signature: &str,
    ) -> Result<(), Error> {
        self.check(body, timestamp, signature, false).map(drop)
    }

    /// Runs every check and returns the text that was signed; with
    /// `json_required`, only ever JSON.
    fn check<'b>(
        &self,
        body: &'b [u8],
        timestamp: &str,
        signature: &str,
        json_required: bool,
    ) -> Result<Cow<'b, str>, Error> {
        if body.len() > self.inner.max_body_bytes {
            return Err(Error::BodyTooLarge {
                limit: self.inner.max_body_bytes,
            });
        }
        let sent_ms = parse_timestamp(timestamp)?;
        if let Some(tolerance) = self.inner.tolerance {
            let now_ms = match (self.inner.clock)().duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
                Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
            };
            let skew_ms = now_ms.saturating_sub(sent_ms);
            if u128::from(skew_ms.unsigned_abs()) > tolerance.as_millis() {
                return Err(Error::TimestampOutsideTolerance { skew_ms, tolerance });
            }
        }
        let received = decode_signature(signature)?;
        // Two candidates are accepted, both needing the secret: the raw
        // bytes, and the body re-serialised the JavaScript way
        // (`canonicalize`). The provider sends the output of
        // `JSON.stringify`, which is already canonical, so the raw bytes
        // are tried first and a compact body is never re-serialised. A body
        // with a tab, CR or LF byte is not `JSON.stringify` output (JSON
        // strings cannot hold those bytes raw, so they are whitespace
        // between tokens): there the re-serialised text is tried first, and
        // the raw bytes only after it fails. Either order accepts the same
        // bodies; this one hashes a pretty-printed body once, not twice.
        let pretty = memchr::memchr3(b'\n', b'\r', b'\t', body).is_some();
        let canonical = if pretty {
            match canonical::canonicalize(body) {
                Ok(text) if self.matches(&text, timestamp, &received) => {
                    return Ok(Cow::Owned(text));
                }
                other => Some(other),
            }
        } else {
            None
        };
        // For an event the bytes must still be JSON, as the provider's are;
        // that check is linear, allocates one byte per level of nesting, and
        // runs only once the signature matched (a body that fails it goes on
        // to the re-serialising path and its error).
        if let Ok(text) = std::str::from_utf8(body)
            && self.matches(text, timestamp, &received)
            && (!json_required || serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
        {
            return Ok(Cow::Borrowed(text));
        }
        match canonical {
            // Tried above, and it did not match.
            Some(Ok(_)) => Err(Error::SignatureMismatch),
            Some(Err(error)) => Err(error),
            None => {
                let text = canonical::canonicalize(body)?;
                if self.matches(&text, timestamp, &received) {
                    Ok(Cow::Owned(text))
                } else {
                    Err(Error::SignatureMismatch)
                }
            }
        }
    }

    /// Whether any secret signs `json` with `timestamp` as `received`; every
    /// secret is tried, each compared in constant time.
    fn matches(&self, json: &str, timestamp: &str, received: &[u8; 32]) -> bool {
        self.inner.keys.iter().fold(false, |ok, key| {
            final_mac(key, json, timestamp)
                .verify_slice(received)
                .is_ok()
                | ok
        })
    }
}

/// Parses the timestamp header: ASCII digits only, at most 18 of them.
fn parse_timestamp(value: &str) -> Result<i64, Error> {
    let malformed = || Error::MalformedTimestamp {
        value: value.chars().take(64).collect(),
    };
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    value.parse().map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_their_keys_and_configuring_one_leaves_the_other_alone() {
        let verifier = Verifier::new("whsec_a");
        let clone = verifier.clone();
        assert!(
            Arc::ptr_eq(&verifier.inner, &clone.inner),
            "a clone is a pointer copy"
        );
        let rotated = clone.with_secret("whsec_b").with_max_body_bytes(10);
        assert_eq!(verifier.inner.keys.len(), 1);
        assert_eq!(
            verifier.inner.max_body_bytes,
            Verifier::DEFAULT_MAX_BODY_BYTES
        );
        assert_eq!(rotated.inner.keys.len(), 2);
        assert_eq!(rotated.inner.max_body_bytes, 10);
    }
}
