//! The checkout session object and what it contains.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    CheckoutSessionId, Currency, CurrencyType, IntervalUnit, Metadata, Mode, OrderId, OrderStatus,
    PaylinkType, PaymentType, Price, ProductId, ProductStatus, SessionStatus,
};

/// A checkout session, as both `paysession/create` and `paysession/status`
/// return it inside `{"data": …}`.
///
/// Only `id`, `status` and `url` are required; everything else is optional
/// because the API documents no nullability and the create response omits
/// `metadata`, `plan` and `payment`. Unknown fields are ignored, unknown enum
/// values are kept as `Unknown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CheckoutSession {
    /// The session id; pass it to the status call.
    pub id: CheckoutSessionId,
    /// The session mode (`paylink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Where the session stands; see [`CheckoutSession::is_paid`].
    pub status: SessionStatus,
    /// The order the session created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// The status of that order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_status: Option<OrderStatus>,
    /// When the session was created.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// When the session was last updated. The API leaves it equal to
    /// `createdAt` even after payment: do not use it to detect changes.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
    /// When the session stops accepting payment (one hour after creation in every example).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// When the paid period started (null until paid).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When the paid period ends (null until paid).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_at: Option<OffsetDateTime>,
    /// The paylink's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kind of paylink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paylink_type: Option<PaylinkType>,
    /// The paylink's own hosted page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_link: Option<String>,
    /// The success redirect, echoed (null when none was sent).
    #[serde(default)]
    pub success_url: Option<String>,
    /// The cancel redirect, echoed.
    #[serde(default)]
    pub cancel_url: Option<String>,
    /// The failure redirect, echoed.
    #[serde(default)]
    pub failure_url: Option<String>,
    /// The hosted checkout page: redirect the customer here. Use it verbatim.
    pub url: String,
    /// Your metadata, as the status call returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The plan bought (null while the session is open, in the official demo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Payer and receiver of the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// The products in the session.
    #[serde(default)]
    pub products: Vec<Product>,
}

impl CheckoutSession {
    /// True only when the status is `success`: the one signal that the customer paid.
    #[must_use]
    pub fn is_paid(&self) -> bool {
        self.status.is_paid()
    }

    /// True while the status is `open`.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// True once the status is anything but `open`; see [`SessionStatus::is_terminal`].
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// True when `now` is at or past `expiresAt`. A session without
    /// `expiresAt` is never reported expired.
    #[must_use]
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }

    /// The metadata value for `key`, if the session carries metadata.
    #[must_use]
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key)
    }
}

/// A product in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// When the product was created.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Image URL (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// How the product is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    /// Whether it is on sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProductStatus>,
    /// Price and interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_details: Option<PriceDetails>,
}

/// A price with its currency and, for subscriptions, its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PriceDetails {
    /// The price, hex-encoded; see [`PriceDetails::amount`].
    pub price: Price,
    /// The currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// How many interval units one period lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_count: Option<u32>,
    /// The interval unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_unit: Option<IntervalUnit>,
    /// The kind of currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_type: Option<CurrencyType>,
}

impl PriceDetails {
    /// The decoded price in major units of `currency` (`0.16` for `"0x302e3136"`).
    ///
    /// # Errors
    ///
    /// A typed decode error from [`Price::decimal`]; the raw string stays in `price`.
    pub fn amount(&self) -> Result<Decimal, crate::Error> {
        self.price.decimal()
    }
}

/// The plan a paid session is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Plan {
    /// Internal id (a UUID).
    pub id: String,
    /// The public product id (equals a `products[].id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_id: Option<ProductId>,
    /// When the plan was created.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// When the plan was updated.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Image URL (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// How the plan is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    /// Internal id of the payment type (a UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type_id: Option<String>,
    /// Whether the plan is on sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProductStatus>,
    /// Price and interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_details: Option<PriceDetails>,
}

/// Who paid whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Payment {
    /// The payer's wallet (EVM address; compare case-insensitively).
    #[serde(default)]
    pub sender_address: Option<String>,
    /// The merchant's wallet.
    #[serde(default)]
    pub receiver_address: Option<String>,
    /// A transaction hash; null even on paid subscriptions in the docs.
    #[serde(default)]
    pub hash: Option<String>,
}
