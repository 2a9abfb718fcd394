//! Verify Actalink webhooks exactly as the provider signs them, and decode
//! typed events.
//!
//! Actalink signs `JSON.stringify({payload: JSON.parse(rawBody)})` with
//! HMAC-SHA256, then signs `timestamp + "." + thatHex` again, and sends the
//! result in `x-actalink-signature` with the timestamp (Unix milliseconds) in
//! `x-actalink-timestamp`. The signature therefore covers JavaScript's
//! re-serialisation of the body, not its bytes; [`canonicalize`] reproduces
//! that re-serialisation byte for byte (tested against Node.js itself).
//!
//! The principal types:
//!
//! - [`Verifier`] holds one or more [`WebhookSecret`]s, a timestamp tolerance
//!   and a clock; [`Verifier::verify`] takes the raw body and the headers and
//!   returns an [`Event`] or an [`Error`] naming the failed check.
//! - [`Event`] is what was signed, decoded field by field: the event `id`, an
//!   open [`EventType`], and [`EventData`] with the subject id, the [`Token`]
//!   and amount paid, and your checkout metadata. Each is an `Option`, because
//!   a genuine signature is never refused for its body's shape:
//!   [`Event::is_recognised`] says whether it is an event this version
//!   understands, and [`Event::dedup_key`] gives a key to drop redeliveries by.
//! - [`sign`] produces [`SignedHeaders`], for tests and the sandbox.
//! - `VerifiedEvent` (feature `axum`) is an extractor that does all of this
//!   before your handler runs.
//!
//! The work done before a signature is known to be genuine is bounded: linear
//! in the body's size, memory a small multiple of it, and at most
//! [`Verifier::MAX_DEPTH`] levels of nesting re-serialised.
//!
//! This crate has no HTTP client and no async runtime.
//!
//! ```
//! use actalink_webhooks::{EventType, Verifier, sign};
//!
//! let body = br#"{"id":"evt_1","eventType":"onetime.executed",
//!     "eventData":{"data":{"id":"txn_1","metadata":{"internal_order_id":"ORD-7"},
//!     "token":{"symbol":"USDC","amount":"0x249f0"}}}}"#;
//! let now_ms = 1_756_481_736_348;
//! let headers = sign(body, &"whsec_test".into(), now_ms)?.to_header_map();
//!
//! let verifier = Verifier::new("whsec_test")
//!     .with_clock(move || std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms as u64));
//! let event = verifier.verify(body, &headers)?;
//! assert!(event.is_recognised());
//! assert_eq!(event.event_type, Some(EventType::OnetimeExecuted));
//! assert_eq!(event.dedup_key(), "evt_1");
//! assert_eq!(event.metadata_value("internal_order_id"), Some("ORD-7"));
//! let paid = event.data.token.unwrap().decimal(6).unwrap()?;
//! assert_eq!(paid.to_string(), "0.150000");
//!
//! // Any genuinely signed JSON verifies; whether it is an event is separate.
//! let odd = br#"[1,2]"#;
//! let event = verifier.verify(odd, &sign(odd, &"whsec_test".into(), now_ms)?.to_header_map())?;
//! assert!(!event.is_recognised() && event.id.is_none());
//! assert!(event.dedup_key().starts_with("sha256:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod canonical;
mod error;
mod event;
mod json;
mod secret;
mod signature;
mod verifier;

#[cfg(feature = "axum")]
mod axum_extractor;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum_extractor::{VerifiedEvent, WebhookRejection};
pub use canonical::{SyntaxError, canonicalize};
pub use error::{Error, Result};
pub use event::{Event, EventData, EventType, Token};
pub use secret::WebhookSecret;
pub use signature::{SIGNATURE_HEADER, SignedHeaders, TIMESTAMP_HEADER, sign};
pub use verifier::Verifier;
