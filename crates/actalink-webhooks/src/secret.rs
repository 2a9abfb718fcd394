//! The webhook secret, kept secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A webhook signing secret, exactly as copied from Acta Hub.
///
/// Its UTF-8 bytes are the HMAC key; it is not hex- or base64-decoded.
/// `Debug` prints `WebhookSecret([REDACTED])`; there is no `Display`; the
/// secret is zeroed when dropped.
#[derive(Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(SecretString::from(secret.into()))
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

impl From<String> for WebhookSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for WebhookSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}
