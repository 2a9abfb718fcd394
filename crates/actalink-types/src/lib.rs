//! Pure models and validation for the Actalink Billing Checkout Session API.
//!
//! This crate does no I/O: it has no async runtime and no HTTP stack, so it is
//! cheap to depend on from any layer of a merchant's code.
//!
//! The principal types:
//!
//! - [`CreateCheckoutSession`] is the validated body of a create call, built
//!   with [`CreateCheckoutSession::builder`] from a [`PaylinkId`], optional
//!   [`Metadata`] (at most 50 non-empty keys) and redirect URLs.
//! - [`CheckoutSession`] is what the API returns: its [`SessionStatus`] says
//!   whether the customer paid ([`CheckoutSession::is_paid`]), its `url` is
//!   the hosted page to redirect to, its [`Metadata`] links the payment back
//!   to your records, and its [`Product`]s carry [`PriceDetails`].
//! - [`Price`] and [`TokenAmount`] keep money exactly as the API encodes it
//!   (hex strings) and decode it to exact [`Decimal`]s, never `f64`.
//! - Every string the server sends from a fixed set is an open enum with an
//!   `Unknown(String)` variant that round-trips, so a new value never breaks decoding.
//! - [`Error`] is the one error type: it names the field or limit at fault.
//!
//! ```
//! use actalink_types::{CheckoutSession, CreateCheckoutSession};
//!
//! let request = CreateCheckoutSession::builder("paylink_6LDiorrwRDii8aU2B7ueSRPGIFEby6cr")
//!     .metadata("internal_order_id", "ORD-120394")
//!     .success_url("https://shop.example/orders/120394")
//!     .build()?;
//! assert_eq!(
//!     serde_json::to_value(&request)?["metadata"]["internal_order_id"],
//!     "ORD-120394"
//! );
//!
//! let session: CheckoutSession = serde_json::from_str(r#"{
//!     "id": "checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX",
//!     "status": "success",
//!     "url": "https://pay.acta.link/payment-link/checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX",
//!     "metadata": {"internal_order_id": "ORD-120394"},
//!     "products": [{"id": "prod_1", "priceDetails": {"price": "0x302e3136", "currency": "USDC"}}]
//! }"#)?;
//! assert!(session.is_paid());
//! assert_eq!(session.metadata_value("internal_order_id"), Some("ORD-120394"));
//! let price = session.products[0].price_details.as_ref().unwrap().decimal()?;
//! assert_eq!(price.to_string(), "0.16");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod id;
mod lenient;
mod metadata;
mod money;
mod open_enum;
mod product;
mod request;
mod session;

pub use error::{Error, Result};
pub use id::{CheckoutSessionId, OrderId, PaylinkId, ProductId};
pub use metadata::Metadata;
pub use money::{Price, TokenAmount, format_units};
pub use open_enum::{
    Currency, CurrencyType, IntervalUnit, Mode, OrderStatus, PaylinkType, PaymentType,
    ProductStatus, SessionStatus,
};
pub use product::{Payment, Plan, PriceDetails, Product};
pub use request::{CreateCheckoutSession, CreateCheckoutSessionBuilder};
/// The exact decimal type money decodes to (re-exported so that callers need
/// not match its version).
pub use rust_decimal::Decimal;
pub use session::CheckoutSession;
/// The date-time type of every timestamp field (re-exported for the same reason).
pub use time::OffsetDateTime;
