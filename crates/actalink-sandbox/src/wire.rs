//! The JSON shapes the sandbox sends, in the documented field order, built
//! from its typed state: every status, id, price and enum below is the SDK's
//! own type, serialised as the provider writes it.

use std::borrow::Cow;

use actalink_types::{
    CheckoutSessionId, Currency, CurrencyType, IntervalUnit, Metadata, Mode, OrderId, OrderStatus,
    PaylinkType, PaymentType, Price, ProductId, ProductStatus, SessionStatus,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::store::SessionRecord;

/// The merchant wallet every sandbox payment goes to.
///
/// Assumption: every payment goes to the documented example's receiver, in
/// native USDC on Polygon, from a random sender; undocumented by the provider
/// beyond its examples.
pub(crate) const RECEIVER_ADDRESS: &str = "0xEBFa37194fA74bA3e8195446948FC3B9c72E08AB";
/// Native USDC on Polygon, as in the provider's webhook examples.
pub(crate) const USDC_ADDRESS: &str = "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359";

/// `2025-08-29T15:36:36.346Z`: UTC with milliseconds, as the API writes it.
pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // `checked_to_offset`: `to_offset` panics at the edges of the calendar.
    at.checked_to_offset(time::UtcOffset::UTC)
        .and_then(|utc| utc.format(&format).ok())
        .unwrap_or_default()
}

/// A session on the wire. Serialised straight from this struct (never through
/// `serde_json::Value`, whose map sorts keys): fields in the documented order,
/// metadata in the merchant's insertion order.
///
/// Assumption: the fields come in the order of the documented examples and
/// the metadata in the order the merchant sent it (what a Node.js service's
/// `JSON.stringify` does); undocumented by the provider. `url` and
/// `paymentLink` have the documented `…/payment-link/{id}` shape on the
/// sandbox's own host.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireSession<'a> {
    id: &'a CheckoutSessionId,
    mode: Mode,
    status: &'a SessionStatus,
    order_id: &'a OrderId,
    order_status: &'a OrderStatus,
    created_at: String,
    updated_at: String,
    expires_at: String,
    started_at: Option<String>,
    end_at: Option<String>,
    name: &'a str,
    paylink_type: PaylinkType,
    payment_link: String,
    success_url: Option<&'a str>,
    cancel_url: Option<&'a str>,
    failure_url: Option<&'a str>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Cow<'a, Metadata>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Option<WirePlan<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<Option<WirePayment<'a>>>,
    products: [WireProduct<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePriceDetails<'a> {
    price: &'a Price,
    currency: Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval_unit: Option<&'a IntervalUnit>,
    currency_type: CurrencyType,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireProduct<'a> {
    id: &'a ProductId,
    created_at: String,
    name: &'a str,
    description: &'a str,
    image_url: &'static str,
    payment_type: PaymentType,
    status: ProductStatus,
    price_details: WirePriceDetails<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePlan<'a> {
    id: String,
    public_id: &'a ProductId,
    created_at: String,
    updated_at: String,
    name: &'a str,
    description: &'a str,
    image_url: &'static str,
    payment_type: PaymentType,
    payment_type_id: String,
    status: ProductStatus,
    price_details: WirePriceDetails<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePayment<'a> {
    sender_address: &'a str,
    receiver_address: &'static str,
    hash: Option<&'a str>,
}

/// Whether the response is for `create` (no metadata, plan or payment, as
/// documented) or `status` (all of them, null until paid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Create,
    Status,
}

/// A stable UUID-looking id derived from a string, for the plan's internal ids.
fn uuid_like(seed: &str, salt: u64) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in seed.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let second = hash.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        hash >> 32,
        (hash >> 16) & 0xffff,
        hash & 0xfff,
        second & 0xfff,
        second >> 16
    )
}

/// The session as the API returns it inside `{"data": …}`.
pub(crate) fn session<'a>(
    record: &'a SessionRecord,
    base_url: &str,
    shape: Shape,
) -> WireSession<'a> {
    let paylink = &record.paylink;
    // Assumption: the product was created 13 minutes before the session, as
    // in the documented example; undocumented by the provider.
    let product_created = record
        .created_at
        .checked_sub(time::Duration::minutes(13))
        .unwrap_or(record.created_at);
    let details = || WirePriceDetails {
        price: paylink.price(),
        currency: Currency::Usdc,
        interval_count: paylink.interval_count(),
        interval_unit: paylink.interval_unit(),
        currency_type: CurrencyType::Crypto,
    };
    let (paylink_type, payment_type) = if paylink.is_subscription() {
        (PaylinkType::Subscription, PaymentType::Recurring)
    } else {
        (PaylinkType::Onetime, PaymentType::Onetime)
    };
    let product_id = paylink.product_id();
    let plan = record.status.is_paid().then(|| WirePlan {
        id: uuid_like(product_id.as_str(), 1),
        public_id: product_id,
        created_at: timestamp(product_created),
        updated_at: timestamp(product_created),
        name: paylink.name(),
        description: paylink.description(),
        image_url: "",
        payment_type: payment_type.clone(),
        payment_type_id: uuid_like(product_id.as_str(), 2),
        status: ProductStatus::Active,
        price_details: details(),
    });
    let payment = record.sender_address.as_deref().map(|sender| WirePayment {
        sender_address: sender,
        receiver_address: RECEIVER_ADDRESS,
        hash: record.hash.as_deref(),
    });
    // Assumption: `plan` and `payment` are null until the session is paid
    // (the provider's demo treats a null plan as unpaid), and the create
    // response has no `metadata`, `plan` or `payment` keys at all, as in the
    // documented create example; undocumented by the provider otherwise.
    WireSession {
        id: &record.id,
        mode: Mode::Paylink,
        status: &record.status,
        order_id: &record.order_id,
        order_status: &record.order_status,
        created_at: timestamp(record.created_at),
        // Assumption: as in the documented status example, updatedAt stays
        // equal to createdAt, even after payment.
        updated_at: timestamp(record.created_at),
        expires_at: timestamp(record.expires_at),
        started_at: record.started_at.map(timestamp),
        end_at: record.end_at.map(timestamp),
        name: paylink.name(),
        paylink_type,
        payment_link: format!("{base_url}/payment-link/{}", paylink.id()),
        success_url: record.success_url.as_deref(),
        cancel_url: record.cancel_url.as_deref(),
        failure_url: record.failure_url.as_deref(),
        url: format!("{base_url}/payment-link/{}", record.id),
        metadata: match shape {
            Shape::Create => None,
            Shape::Status => Some(
                record
                    .metadata
                    .as_ref()
                    .map_or_else(|| Cow::Owned(Metadata::new()), Cow::Borrowed),
            ),
        },
        plan: (shape == Shape::Status).then_some(plan),
        payment: (shape == Shape::Status).then_some(payment),
        products: [WireProduct {
            id: product_id,
            created_at: timestamp(product_created),
            name: paylink.name(),
            description: paylink.description(),
            image_url: "",
            payment_type,
            status: ProductStatus::Active,
            price_details: details(),
        }],
    }
}
