//! The HTTP transport under the Actalink SDK. It knows HTTP, not Actalink.
//!
//! The principal types:
//!
//! - [`Transport`] is the object-safe trait that sends one [`Request`] and
//!   returns one [`Response`] (status, headers, whole body) or an [`Error`].
//! - [`ReqwestTransport`] (feature `rustls`, default, or `native-tls`) is the production
//!   implementation: pooled, rustls, with connect and per-attempt timeouts and
//!   a cap on the response body.
//! - `ReplayTransport` and the mockall-generated `MockTransport` (feature
//!   `mock`) stand in for it in tests.
//! - [`RetryPolicy`] wraps any transport with full-jitter exponential backoff,
//!   `Retry-After`, a retry count and a total deadline; the caller states each
//!   request's [`Idempotency`], which decides what is retried.
//!
//! ```
//! use actalink_transport::{Idempotency, ReplayTransport, Request, Response, RetryPolicy};
//! use http::{Method, StatusCode};
//!
//! # #[cfg(feature = "mock")]
//! # tokio_test_shim::block_on(async {
//! let transport = ReplayTransport::new()
//!     .respond(Response::new(StatusCode::SERVICE_UNAVAILABLE, "busy"))
//!     .respond(Response::json(StatusCode::OK, r#"{"ok":true}"#));
//! let policy = RetryPolicy::default().with_initial_backoff(std::time::Duration::from_millis(1));
//! let request = Request::new(Method::GET, "http://127.0.0.1:1/status");
//! let outcome = policy.send(&transport, request, Idempotency::Idempotent, None).await;
//! assert_eq!(outcome.attempts, 2);
//! assert_eq!(outcome.result.unwrap().status, StatusCode::OK);
//! # });
//! # mod tokio_test_shim {
//! #     pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #         tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
//! #     }
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(feature = "mock")]
mod mock;
#[cfg(feature = "__reqwest")]
mod reqwest_impl;
mod retry;
mod types;

use async_trait::async_trait;

pub use error::{Error, ErrorKind};
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use mock::ReplayTransport;
#[cfg(feature = "__reqwest")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
pub use reqwest_impl::{ReqwestTransport, ReqwestTransportBuilder};
pub use retry::{Idempotency, Outcome, RetryPolicy};
pub use types::{Request, Response};

/// Sends one HTTP request and returns its response with the whole body.
///
/// Any status is a response, not an error: deciding what a 404 means is the
/// caller's business. Errors are failures to exchange at all (see [`ErrorKind`]).
/// Implementations must honour [`Request::timeout`] when it is set.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `request` once.
    async fn send(&self, request: Request) -> Result<Response, Error>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        (**self).send(request).await
    }
}
