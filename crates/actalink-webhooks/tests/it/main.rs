//! Integration tests of `actalink-webhooks`.

#![allow(clippy::unwrap_used, missing_docs)]

#[cfg(feature = "axum")]
mod axum_extractor;
mod bounded;
mod differential;
mod drift;
mod fixtures;
mod props;
mod verifier;

use std::time::{Duration, UNIX_EPOCH};

use actalink_webhooks::Verifier;

pub(crate) fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A verifier whose clock reads `now_ms`.
pub(crate) fn verifier_at(secret: &str, now_ms: i64) -> Verifier {
    Verifier::new(secret).with_clock(move || UNIX_EPOCH + Duration::from_millis(now_ms as u64))
}
