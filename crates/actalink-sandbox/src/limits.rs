//! The bounds that keep a sandbox's memory and time in check, whatever it is sent.
//!
//! A sandbox is a local tool that tests and scripts may drive for hours, so
//! nothing it keeps grows without bound:
//!
//! | what | bound | beyond the bound |
//! |---|---|---|
//! | sessions ([`SandboxBuilder::max_sessions`](crate::SandboxBuilder::max_sessions)) | [`DEFAULT_MAX_SESSIONS`] and about [`MAX_SESSION_BYTES`] | the oldest session is **evicted** (then answers 404) |
//! | the delivery log ([`SandboxBuilder::max_deliveries`](crate::SandboxBuilder::max_deliveries)) | [`DEFAULT_MAX_DELIVERIES`] records | the oldest record is **evicted** |
//! | events kept for resending | [`MAX_EVENTS`] events and [`MAX_EVENT_BYTES`] of bodies | the oldest event is **evicted** (then cannot be resent: 404) |
//! | webhook endpoints | [`MAX_WEBHOOKS`] | a new endpoint is **refused** (400, or [`Error::Config`](crate::Error::Config) / [`Error::Refused`](crate::Error::Refused)) |
//! | queued faults | [`MAX_QUEUED_FAULTS`] entries, each for at most [`MAX_FAULT_COUNT`] requests | a new fault is **refused** (400, or [`Error::Refused`](crate::Error::Refused)) |
//! | a `delay` fault | [`MAX_FAULT_DELAY`] | **refused** |
//! | a `status` fault's body | [`MAX_FAULT_BODY_BYTES`] | **refused** |
//! | webhook deliveries in flight | [`MAX_PENDING_DELIVERIES`] | the delivery is **not attempted**; the log records it with attempt 0 |
//! | a create body | [`SandboxBuilder::max_body_bytes`](crate::SandboxBuilder::max_body_bytes) (64 KiB) | **refused** (413) |
//! | the session lifetime | [`MAX_SESSION_TTL`] | [`SandboxBuilder::start`](crate::SandboxBuilder::start) fails with [`Error::Config`](crate::Error::Config) |
//! | one billing period of a paylink | [`MAX_PERIOD_DAYS`] days | the catalogue is **refused** when loaded |
//! | a catalogue file | [`MAX_CATALOGUE_BYTES`] | **refused** ([`Catalogue::from_file`](crate::Catalogue::from_file) reads one byte more, no further) |
//!
//! Sessions and deliveries are evicted rather than refused so that a sandbox
//! left running never stops working; the settings that are refused are the
//! ones a caller chose and can correct.

use std::time::Duration;

/// The default number of sessions a sandbox keeps.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// The approximate memory a sandbox spends on sessions (256 MiB), whatever
/// the session count: sessions with large metadata are evicted sooner.
pub const MAX_SESSION_BYTES: usize = 256 * 1024 * 1024;

/// The default number of delivery attempts a sandbox logs.
pub const DEFAULT_MAX_DELIVERIES: usize = 100_000;

/// The most webhook endpoints a sandbox delivers to.
pub const MAX_WEBHOOKS: usize = 32;

/// The longest webhook URL accepted, in bytes.
pub const MAX_WEBHOOK_URL_BYTES: usize = 2048;

/// The longest webhook secret accepted, in bytes.
pub const MAX_WEBHOOK_SECRET_BYTES: usize = 1024;

/// The most fault entries queued at once.
pub const MAX_QUEUED_FAULTS: usize = 100;

/// The most requests one queued fault applies to.
pub const MAX_FAULT_COUNT: u32 = 1000;

/// The longest `delay` fault.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(60);

/// The largest body a `status` fault may answer with.
pub const MAX_FAULT_BODY_BYTES: usize = 64 * 1024;

/// The most webhook deliveries (one event to one endpoint, with its retries) in flight at once.
pub const MAX_PENDING_DELIVERIES: usize = 1024;

/// The longest session lifetime a sandbox accepts (366 days).
pub const MAX_SESSION_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// The longest billing period a catalogue may declare, in days (about ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// The largest catalogue file [`Catalogue::from_file`](crate::Catalogue::from_file) reads (1 MiB).
pub const MAX_CATALOGUE_BYTES: usize = 1024 * 1024;

/// The most events a sandbox keeps for [`Sandbox::resend`](crate::Sandbox::resend).
pub const MAX_EVENTS: usize = 10_000;

/// The most bytes of event bodies a sandbox keeps for resending (64 MiB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;
