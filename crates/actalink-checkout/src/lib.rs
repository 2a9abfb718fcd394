//! The Actalink Billing checkout-session client.
//!
//! The principal type is [`Client`]: build it with [`Client::new`],
//! [`Client::from_env`] or [`Client::builder`], then
//!
//! 1. [`Client::create_session`] with a [`CreateCheckoutSession`] (a paylink
//!    id, your metadata, redirect URLs) and redirect the customer to the
//!    returned [`CheckoutSession`]'s `url`;
//! 2. learn the outcome with [`Client::get_session`], or block on it with
//!    [`Client::wait_for_completion`] and [`WaitOptions`]; only
//!    [`CheckoutSession::is_paid`] means paid;
//! 3. match the payment to your records with [`CheckoutSession::metadata_value`].
//!
//! Every failure is an [`Error`]; server refusals carry an [`ApiError`]. The
//! [`ApiKey`] never appears in `Debug` output, errors or traces.
//!
//! Requests go through an `actalink_transport::Transport`: reqwest by
//! default, or any other (a mock in tests) through [`ClientBuilder::transport`].
//! Retries follow a `RetryPolicy`: a status fetch is retried on transport
//! failures, timeouts, 429 and 5xx; a create only on a connect failure or a
//! 429, because the API has no idempotency key and a duplicate session could
//! be paid twice. Put your own order id in the metadata so that a duplicate,
//! should one ever happen, can be reconciled.
//!
//! ```no_run
//! use actalink_checkout::{Client, CreateCheckoutSession};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_env()?; // ACTALINK_API_KEY
//! let request = CreateCheckoutSession::builder("paylink_6LDiorrwRDii8aU2B7ueSRPGIFEby6cr")
//!     .metadata("internal_order_id", "ORD-120394")
//!     .success_url("https://shop.example/orders/ORD-120394")
//!     .build()?;
//! let session = client.create_session(&request).await?;
//! if let Some(url) = &session.url {
//!     println!("redirect the customer to {url}");
//! }
//!
//! // Later, on the success page or in a job:
//! let session = client.get_session(&session.id).await?;
//! if session.is_paid() {
//!     let order = session.metadata_value("internal_order_id");
//!     println!("order {order:?} is paid");
//! }
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod api_key;
mod base_url;
mod builder;
mod client;
mod error;
mod response;
mod wait;

pub use actalink_transport::RetryPolicy;
/// The models this client sends and returns.
pub use actalink_types::{
    CheckoutSession, CheckoutSessionId, CreateCheckoutSession, Metadata, PaylinkId, SessionStatus,
};
pub use api_key::ApiKey;
pub use builder::{ClientBuilder, DEFAULT_BASE_URL};
pub use client::Client;
pub use error::{ApiError, Error, Result};
pub use wait::{MAX_DEFAULT_WAIT, Poll, WaitOptions};

/// The transport layer, for plugging in a custom or mock transport. Each
/// item has one path: [`RetryPolicy`] is at the crate root.
pub mod transport {
    #[cfg(feature = "mock")]
    pub use actalink_transport::MockTransport;
    #[cfg(feature = "mock")]
    pub use actalink_transport::ReplayTransport;
    pub use actalink_transport::{
        Error, ErrorKind, Idempotency, Outcome, Request, Response, Transport,
    };
    #[cfg(feature = "__reqwest")]
    pub use actalink_transport::{ReqwestTransport, ReqwestTransportBuilder};
}
/// The model types that are not re-exported at the crate root, from
/// `actalink-types`. Each item has one path: the session, its id, the
/// request, metadata, the paylink id and the status are at the crate root.
pub mod types {
    pub use actalink_types::{
        CreateCheckoutSessionBuilder, Currency, CurrencyType, Decimal, Error, IntervalUnit, Mode,
        OffsetDateTime, OrderId, OrderStatus, PaylinkType, Payment, PaymentType, Plan, Price,
        PriceDetails, Product, ProductId, ProductStatus, Result, TokenAmount, format_units,
    };
}
