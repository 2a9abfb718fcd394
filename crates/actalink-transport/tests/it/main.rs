//! Integration tests of `actalink-transport`: the reqwest transport over
//! loopback, and the retry loop over the replay transport.

#![allow(clippy::unwrap_used, missing_docs)]

mod loopback;
mod retry;
#[cfg(feature = "rustls")]
mod tls;
