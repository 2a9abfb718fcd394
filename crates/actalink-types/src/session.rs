//! The checkout session object and what it contains.
//!
//! Every model here decodes tolerantly (see the `lenient` module): only a
//! session's `id` and `status` are required, every other field that arrives in
//! an undocumented shape is read when its meaning is clear or else left `None`,
//! and what was sent stays in the model's `extra` map.

use rust_decimal::Decimal;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::lenient::{self, Fields, Path, Read, Rfc3339Ref, Writer};
use crate::{
    CheckoutSessionId, Currency, CurrencyType, IntervalUnit, Metadata, Mode, OrderId, OrderStatus,
    PaylinkType, PaymentType, Price, ProductId, ProductStatus, SessionStatus,
};

/// A checkout session, as both `paysession/create` and `paysession/status`
/// return it inside `{"data": …}`.
///
/// Decoding is tolerant, because the API is documented only by examples:
///
/// - only `id` and `status` are required; a session with both always decodes;
/// - `null` counts as absent;
/// - a field in another shape whose meaning is clear is read (the number `3`
///   for the string `"3"`, a timestamp without an offset as UTC);
/// - anything else unreadable becomes `None` (or an `Unknown` enum value) and is
///   logged at debug level with its JSON path;
/// - fields this version does not model, and the values as sent of fields that
///   arrived in an undocumented shape, are kept in [`extra`](Self::extra).
///
/// Serialisation writes the documented fields in the documented order, the
/// value as sent wherever one was kept, then the fields not modelled: a session
/// re-serialises to everything the API sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckoutSession {
    /// The session id; pass it to the status call.
    pub id: CheckoutSessionId,
    /// The session mode (`paylink`).
    pub mode: Option<Mode>,
    /// Where the session stands; see [`CheckoutSession::is_paid`].
    pub status: SessionStatus,
    /// The order the session created.
    pub order_id: Option<OrderId>,
    /// The status of that order.
    pub order_status: Option<OrderStatus>,
    /// When the session was created.
    pub created_at: Option<OffsetDateTime>,
    /// When the session was last updated. The API leaves it equal to
    /// `createdAt` even after payment: do not use it to detect changes.
    pub updated_at: Option<OffsetDateTime>,
    /// When the session stops accepting payment (one hour after creation in every example).
    pub expires_at: Option<OffsetDateTime>,
    /// When the paid period started (null until paid).
    pub started_at: Option<OffsetDateTime>,
    /// When the paid period ends (null until paid).
    pub end_at: Option<OffsetDateTime>,
    /// The paylink's display name.
    pub name: Option<String>,
    /// The kind of paylink.
    pub paylink_type: Option<PaylinkType>,
    /// The paylink's own hosted page.
    pub payment_link: Option<String>,
    /// The success redirect, echoed (null when none was sent).
    pub success_url: Option<String>,
    /// The cancel redirect, echoed.
    pub cancel_url: Option<String>,
    /// The failure redirect, echoed.
    pub failure_url: Option<String>,
    /// The hosted checkout page: redirect the customer here. Use it verbatim.
    /// Every documented response has it; `None` only if the API left it out.
    pub url: Option<String>,
    /// Your metadata, as the status call returns it.
    pub metadata: Option<Metadata>,
    /// The plan bought (null while the session is open, in the official demo).
    pub plan: Option<Plan>,
    /// Payer and receiver of the payment.
    pub payment: Option<Payment>,
    /// The products in the session (empty when absent or null; an empty list
    /// is not written back).
    pub products: Vec<Product>,
    /// Fields this version does not model, and the values as sent of fields
    /// that arrived in an undocumented shape, keyed by their JSON names.
    pub extra: Map<String, Value>,
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

    /// True once the status is final; see [`SessionStatus::is_terminal`].
    /// An unknown status is not final.
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

    /// Builds a session from its fields, `metadata` already read in order.
    fn from_parts(
        map: Map<String, Value>,
        metadata: Option<Read<Metadata>>,
    ) -> Result<Self, String> {
        let mut f = Fields::new(map, Path::Root);
        let id = f
            .take("id", lenient::parsed(|s: &str| CheckoutSessionId::new(s)))
            .ok_or("the session has no usable `id`")?;
        let status = f
            .take("status", lenient::wire(SessionStatus::from_wire))
            .ok_or("the session has no usable `status` (a string)")?;
        let metadata = metadata.and_then(|read| f.keep("metadata", read));
        Ok(Self {
            id,
            mode: f.take("mode", lenient::wire(Mode::from_wire)),
            status,
            order_id: f.take("orderId", lenient::parsed(|s: &str| OrderId::new(s))),
            order_status: f.take("orderStatus", lenient::wire(OrderStatus::from_wire)),
            created_at: f.take("createdAt", lenient::timestamp),
            updated_at: f.take("updatedAt", lenient::timestamp),
            expires_at: f.take("expiresAt", lenient::timestamp),
            started_at: f.take("startedAt", lenient::timestamp),
            end_at: f.take("endAt", lenient::timestamp),
            name: f.take("name", lenient::string),
            paylink_type: f.take("paylinkType", lenient::wire(PaylinkType::from_wire)),
            payment_link: f.take("paymentLink", lenient::string),
            success_url: f.take("successUrl", lenient::string),
            cancel_url: f.take("cancelUrl", lenient::string),
            failure_url: f.take("failureUrl", lenient::string),
            url: f.take("url", lenient::string),
            metadata,
            plan: f.take("plan", |v, p| lenient::object(v, p, Plan::read)),
            payment: f.take("payment", |v, p| lenient::object(v, p, Payment::read)),
            products: f.take("products", read_products).unwrap_or_default(),
            extra: f.finish(),
        })
    }
}

const SESSION_KEYS: &[&str] = &[
    "id",
    "mode",
    "status",
    "orderId",
    "orderStatus",
    "createdAt",
    "updatedAt",
    "expiresAt",
    "startedAt",
    "endAt",
    "name",
    "paylinkType",
    "paymentLink",
    "successUrl",
    "cancelUrl",
    "failureUrl",
    "url",
    "metadata",
    "plan",
    "payment",
    "products",
];

impl Serialize for CheckoutSession {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
        w.field("id", Some(&self.id), false)?;
        w.field("mode", self.mode.as_ref(), false)?;
        w.field("status", Some(&self.status), false)?;
        w.field("orderId", self.order_id.as_ref(), false)?;
        w.field("orderStatus", self.order_status.as_ref(), false)?;
        w.field(
            "createdAt",
            self.created_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field(
            "updatedAt",
            self.updated_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field(
            "expiresAt",
            self.expires_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field(
            "startedAt",
            self.started_at.as_ref().map(Rfc3339Ref).as_ref(),
            true,
        )?;
        w.field("endAt", self.end_at.as_ref().map(Rfc3339Ref).as_ref(), true)?;
        w.field("name", self.name.as_ref(), false)?;
        w.field("paylinkType", self.paylink_type.as_ref(), false)?;
        w.field("paymentLink", self.payment_link.as_ref(), false)?;
        w.field("successUrl", self.success_url.as_ref(), true)?;
        w.field("cancelUrl", self.cancel_url.as_ref(), true)?;
        w.field("failureUrl", self.failure_url.as_ref(), true)?;
        w.field("url", self.url.as_ref(), false)?;
        w.field("metadata", self.metadata.as_ref(), false)?;
        w.field("plan", self.plan.as_ref(), false)?;
        w.field("payment", self.payment.as_ref(), false)?;
        w.field(
            "products",
            (!self.products.is_empty()).then_some(&self.products),
            false,
        )?;
        w.end(SESSION_KEYS)
    }
}

impl<'de> Deserialize<'de> for CheckoutSession {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SessionVisitor;
        impl<'de> Visitor<'de> for SessionVisitor {
            type Value = CheckoutSession;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a checkout session object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<CheckoutSession, A::Error> {
                let mut map = Map::new();
                let mut metadata = None;
                while let Some(key) = access.next_key::<String>()? {
                    // Metadata is read straight from the document, so that its
                    // keys keep the order they were sent in.
                    if key == "metadata" {
                        metadata = access.next_value::<MetadataField>()?.0;
                    } else {
                        let value: Value = access.next_value()?;
                        map.insert(key, value);
                    }
                }
                CheckoutSession::from_parts(map, metadata).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_map(SessionVisitor)
    }
}

/// A product in a session.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Product {
    /// The product id.
    pub id: Option<ProductId>,
    /// When the product was created.
    pub created_at: Option<OffsetDateTime>,
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Image URL (may be empty).
    pub image_url: Option<String>,
    /// How the product is paid.
    pub payment_type: Option<PaymentType>,
    /// Whether it is on sale.
    pub status: Option<ProductStatus>,
    /// Price and interval.
    pub price_details: Option<PriceDetails>,
    /// Fields not modelled, and values as sent of fields in an undocumented shape.
    pub extra: Map<String, Value>,
}

impl Product {
    fn read(mut f: Fields<'_>) -> Self {
        Self {
            id: f.take("id", lenient::parsed(|s: &str| ProductId::new(s))),
            created_at: f.take("createdAt", lenient::timestamp),
            name: f.take("name", lenient::string),
            description: f.take("description", lenient::string),
            image_url: f.take("imageUrl", lenient::string),
            payment_type: f.take("paymentType", lenient::wire(PaymentType::from_wire)),
            status: f.take("status", lenient::wire(ProductStatus::from_wire)),
            price_details: f.take("priceDetails", |v, p| {
                lenient::object(v, p, PriceDetails::read)
            }),
            extra: f.finish(),
        }
    }
}

const PRODUCT_KEYS: &[&str] = &[
    "id",
    "createdAt",
    "name",
    "description",
    "imageUrl",
    "paymentType",
    "status",
    "priceDetails",
];

impl Serialize for Product {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
        w.field("id", self.id.as_ref(), false)?;
        w.field(
            "createdAt",
            self.created_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field("name", self.name.as_ref(), false)?;
        w.field("description", self.description.as_ref(), false)?;
        w.field("imageUrl", self.image_url.as_ref(), false)?;
        w.field("paymentType", self.payment_type.as_ref(), false)?;
        w.field("status", self.status.as_ref(), false)?;
        w.field("priceDetails", self.price_details.as_ref(), false)?;
        w.end(PRODUCT_KEYS)
    }
}

/// A price with its currency and, for subscriptions, its interval.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PriceDetails {
    /// The price, hex-encoded; see [`PriceDetails::amount`]. `None` when
    /// absent or unreadable (the value as sent is then in `extra`): never
    /// treat a missing price as any amount.
    pub price: Option<Price>,
    /// The currency.
    pub currency: Option<Currency>,
    /// How many interval units one period lasts.
    pub interval_count: Option<u32>,
    /// The interval unit.
    pub interval_unit: Option<IntervalUnit>,
    /// The kind of currency.
    pub currency_type: Option<CurrencyType>,
    /// Fields not modelled, and values as sent of fields in an undocumented shape.
    pub extra: Map<String, Value>,
}

impl PriceDetails {
    /// The decoded price in major units of `currency` (`0.16` for `"0x302e3136"`).
    ///
    /// # Errors
    ///
    /// [`Error::MissingPrice`](crate::Error::MissingPrice) when there is no
    /// readable price, else a typed decode error from [`Price::decimal`].
    pub fn amount(&self) -> Result<Decimal, crate::Error> {
        self.price
            .as_ref()
            .ok_or(crate::Error::MissingPrice)?
            .decimal()
    }

    fn read(mut f: Fields<'_>) -> Self {
        Self {
            price: f.take("price", read_price),
            currency: f.take("currency", lenient::wire(Currency::from_wire)),
            interval_count: f.take("intervalCount", lenient::count),
            interval_unit: f.take("intervalUnit", lenient::wire(IntervalUnit::from_wire)),
            currency_type: f.take("currencyType", lenient::wire(CurrencyType::from_wire)),
            extra: f.finish(),
        }
    }
}

const PRICE_DETAILS_KEYS: &[&str] = &[
    "price",
    "currency",
    "intervalCount",
    "intervalUnit",
    "currencyType",
];

impl Serialize for PriceDetails {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
        w.field("price", self.price.as_ref(), false)?;
        w.field("currency", self.currency.as_ref(), false)?;
        w.field("intervalCount", self.interval_count.as_ref(), false)?;
        w.field("intervalUnit", self.interval_unit.as_ref(), false)?;
        w.field("currencyType", self.currency_type.as_ref(), false)?;
        w.end(PRICE_DETAILS_KEYS)
    }
}

/// The plan a paid session is for.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// Internal id (a UUID).
    pub id: Option<String>,
    /// The public product id (equals a `products[].id`).
    pub public_id: Option<ProductId>,
    /// When the plan was created.
    pub created_at: Option<OffsetDateTime>,
    /// When the plan was updated.
    pub updated_at: Option<OffsetDateTime>,
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Image URL (may be empty).
    pub image_url: Option<String>,
    /// How the plan is paid.
    pub payment_type: Option<PaymentType>,
    /// Internal id of the payment type (a UUID).
    pub payment_type_id: Option<String>,
    /// Whether the plan is on sale.
    pub status: Option<ProductStatus>,
    /// Price and interval.
    pub price_details: Option<PriceDetails>,
    /// Fields not modelled, and values as sent of fields in an undocumented shape.
    pub extra: Map<String, Value>,
}

impl Plan {
    fn read(mut f: Fields<'_>) -> Self {
        Self {
            id: f.take("id", lenient::string),
            public_id: f.take("publicId", lenient::parsed(|s: &str| ProductId::new(s))),
            created_at: f.take("createdAt", lenient::timestamp),
            updated_at: f.take("updatedAt", lenient::timestamp),
            name: f.take("name", lenient::string),
            description: f.take("description", lenient::string),
            image_url: f.take("imageUrl", lenient::string),
            payment_type: f.take("paymentType", lenient::wire(PaymentType::from_wire)),
            payment_type_id: f.take("paymentTypeId", lenient::string),
            status: f.take("status", lenient::wire(ProductStatus::from_wire)),
            price_details: f.take("priceDetails", |v, p| {
                lenient::object(v, p, PriceDetails::read)
            }),
            extra: f.finish(),
        }
    }
}

const PLAN_KEYS: &[&str] = &[
    "id",
    "publicId",
    "createdAt",
    "updatedAt",
    "name",
    "description",
    "imageUrl",
    "paymentType",
    "paymentTypeId",
    "status",
    "priceDetails",
];

impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
        w.field("id", self.id.as_ref(), false)?;
        w.field("publicId", self.public_id.as_ref(), false)?;
        w.field(
            "createdAt",
            self.created_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field(
            "updatedAt",
            self.updated_at.as_ref().map(Rfc3339Ref).as_ref(),
            false,
        )?;
        w.field("name", self.name.as_ref(), false)?;
        w.field("description", self.description.as_ref(), false)?;
        w.field("imageUrl", self.image_url.as_ref(), false)?;
        w.field("paymentType", self.payment_type.as_ref(), false)?;
        w.field("paymentTypeId", self.payment_type_id.as_ref(), false)?;
        w.field("status", self.status.as_ref(), false)?;
        w.field("priceDetails", self.price_details.as_ref(), false)?;
        w.end(PLAN_KEYS)
    }
}

/// Who paid whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Payment {
    /// The payer's wallet (EVM address; compare case-insensitively).
    pub sender_address: Option<String>,
    /// The merchant's wallet.
    pub receiver_address: Option<String>,
    /// A transaction hash; null even on paid subscriptions in the docs.
    pub hash: Option<String>,
    /// Fields not modelled, and values as sent of fields in an undocumented shape.
    pub extra: Map<String, Value>,
}

impl Payment {
    fn read(mut f: Fields<'_>) -> Self {
        Self {
            sender_address: f.take("senderAddress", lenient::string),
            receiver_address: f.take("receiverAddress", lenient::string),
            hash: f.take("hash", lenient::string),
            extra: f.finish(),
        }
    }
}

impl Serialize for Payment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
        w.field("senderAddress", self.sender_address.as_ref(), true)?;
        w.field("receiverAddress", self.receiver_address.as_ref(), true)?;
        w.field("hash", self.hash.as_ref(), true)?;
        w.end(&["senderAddress", "receiverAddress", "hash"])
    }
}

/// `Deserialize` for the nested models, through the same tolerant reader.
macro_rules! deserialize_object {
    ($($name:ident),*) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match Value::deserialize(deserializer)? {
                    Value::Object(map) => Ok(Self::read(Fields::new(map, Path::Root))),
                    other => Err(serde::de::Error::custom(format_args!(
                        "expected an object, found {}",
                        kind(&other)
                    ))),
                }
            }
        }
    )*};
}
deserialize_object!(Product, PriceDetails, Plan, Payment);

/// A session's `metadata` as read: `None` for null, else what
/// [`Metadata::read_lenient`] made of it.
struct MetadataField(Option<Read<Metadata>>);

impl<'de> Deserialize<'de> for MetadataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(Metadata::read_lenient(deserializer)?))
    }
}

/// A price: the documented hex string, or a plain decimal number (`0.16`),
/// which is read as that decimal amount.
fn read_price(value: Value, _: Path<'_>) -> Read<Price> {
    match value {
        Value::String(raw) => Read::Exact(Price::from_raw(raw)),
        Value::Number(ref n) => match Price::from_decimal_str(&n.to_string()) {
            Ok(price) => Read::Coerced(price, value),
            Err(_) => Read::Unreadable(value),
        },
        other => Read::Unreadable(other),
    }
}

/// The products: elements that are not objects are skipped, and then the
/// array as sent is kept.
fn read_products(value: Value, path: Path<'_>) -> Read<Vec<Product>> {
    let Value::Array(items) = value else {
        return Read::Unreadable(value);
    };
    let raw = if items.iter().all(Value::is_object) {
        None
    } else {
        Some(Value::Array(items.clone()))
    };
    let products = items
        .into_iter()
        .enumerate()
        .filter_map(|(index, item)| match item {
            Value::Object(map) => Some(Product::read(Fields::new(map, Path::Index(&path, index)))),
            _ => None,
        })
        .collect();
    match raw {
        None => Read::Exact(products),
        Some(raw) => Read::Coerced(products, raw),
    }
}

/// The JSON type of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
