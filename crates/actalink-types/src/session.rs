//! The checkout session object and what it contains.
//!
//! Every model here decodes tolerantly (see the `lenient` module): only a
//! session's `id` and `status` are required, every other field that arrives in
//! an undocumented shape is read when its meaning is clear or else left `None`,
//! and what was sent stays in the model's `extra` map.

use std::fmt;

use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::lenient::{self, FieldRead, Fields, NestedSeed, Path, Read, Writer};
use crate::product::write_field;
use crate::{
    CheckoutSessionId, Metadata, Mode, OrderId, OrderStatus, PaylinkType, Payment, Plan, Product,
    SessionStatus,
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
        write_field!(w, "mode", self.mode, plain);
        w.field("status", Some(&self.status), false)?;
        write_field!(w, "orderId", self.order_id, plain);
        write_field!(w, "orderStatus", self.order_status, plain);
        write_field!(w, "createdAt", self.created_at, time);
        write_field!(w, "updatedAt", self.updated_at, time);
        write_field!(w, "expiresAt", self.expires_at, time);
        write_field!(w, "startedAt", self.started_at, nullable_time);
        write_field!(w, "endAt", self.end_at, nullable_time);
        write_field!(w, "name", self.name, plain);
        write_field!(w, "paylinkType", self.paylink_type, plain);
        write_field!(w, "paymentLink", self.payment_link, plain);
        write_field!(w, "successUrl", self.success_url, nullable);
        write_field!(w, "cancelUrl", self.cancel_url, nullable);
        write_field!(w, "failureUrl", self.failure_url, nullable);
        write_field!(w, "url", self.url, plain);
        match (&self.metadata, self.extra.get("metadata")) {
            // Values as sent, in the order sent (the kept object is a sorted map).
            (Some(metadata), Some(Value::Object(raw))) => {
                w.entry("metadata", &MetadataAsSent { metadata, raw })?;
            }
            _ => write_field!(w, "metadata", self.metadata, plain),
        }
        write_field!(w, "plan", self.plan, plain);
        write_field!(w, "payment", self.payment, plain);
        w.field(
            "products",
            (!self.products.is_empty()).then_some(&self.products),
            false,
        )?;
        w.end(SESSION_KEYS)
    }
}

/// A session's fields as read, before its `id` and `status` are checked.
#[derive(Default)]
struct Draft {
    id: Option<CheckoutSessionId>,
    mode: Option<Mode>,
    status: Option<SessionStatus>,
    order_id: Option<OrderId>,
    order_status: Option<OrderStatus>,
    created_at: Option<OffsetDateTime>,
    updated_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
    started_at: Option<OffsetDateTime>,
    end_at: Option<OffsetDateTime>,
    name: Option<String>,
    paylink_type: Option<PaylinkType>,
    payment_link: Option<String>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    failure_url: Option<String>,
    url: Option<String>,
    metadata: Option<Metadata>,
    plan: Option<Plan>,
    payment: Option<Payment>,
    products: Option<Vec<Product>>,
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
                // Each field is read straight from the document, nested
                // objects in place, so that nothing is built twice.
                let mut d = Draft::default();
                let mut f = Fields::new(Path::Root);
                let a = &mut access;
                while let Some(lenient::Key(key)) = a.next_key::<lenient::Key<'de>>()? {
                    match key.as_ref() {
                        "id" => {
                            d.id = f.take(
                                a,
                                "id",
                                lenient::parsed(|s: &str| CheckoutSessionId::new(s)),
                            )?
                        }
                        "mode" => d.mode = f.take(a, "mode", lenient::wire(Mode::from_wire))?,
                        "status" => {
                            d.status =
                                f.take(a, "status", lenient::wire(SessionStatus::from_wire))?
                        }
                        "orderId" => {
                            d.order_id =
                                f.take(a, "orderId", lenient::parsed(|s: &str| OrderId::new(s)))?
                        }
                        "orderStatus" => {
                            d.order_status =
                                f.take(a, "orderStatus", lenient::wire(OrderStatus::from_wire))?
                        }
                        "createdAt" => d.created_at = f.take(a, "createdAt", lenient::timestamp)?,
                        "updatedAt" => d.updated_at = f.take(a, "updatedAt", lenient::timestamp)?,
                        "expiresAt" => d.expires_at = f.take(a, "expiresAt", lenient::timestamp)?,
                        "startedAt" => d.started_at = f.take(a, "startedAt", lenient::timestamp)?,
                        "endAt" => d.end_at = f.take(a, "endAt", lenient::timestamp)?,
                        "name" => d.name = f.take(a, "name", lenient::string)?,
                        "paylinkType" => {
                            d.paylink_type =
                                f.take(a, "paylinkType", lenient::wire(PaylinkType::from_wire))?
                        }
                        "paymentLink" => {
                            d.payment_link = f.take(a, "paymentLink", lenient::string)?
                        }
                        "successUrl" => d.success_url = f.take(a, "successUrl", lenient::string)?,
                        "cancelUrl" => d.cancel_url = f.take(a, "cancelUrl", lenient::string)?,
                        "failureUrl" => d.failure_url = f.take(a, "failureUrl", lenient::string)?,
                        "url" => d.url = f.take(a, "url", lenient::string)?,
                        // Metadata keeps the order its keys were sent in.
                        "metadata" => d.metadata = f.take(a, "metadata", MetadataReader)?,
                        "plan" => d.plan = f.take(a, "plan", lenient::nested::<Plan>())?,
                        "payment" => {
                            d.payment = f.take(a, "payment", lenient::nested::<Payment>())?
                        }
                        "products" => d.products = f.take(a, "products", ProductsReader)?,
                        _ => f.unknown(a, key.into_owned())?,
                    }
                }
                let id =
                    d.id.ok_or_else(|| de::Error::custom("the session has no usable `id`"))?;
                let status = d.status.ok_or_else(|| {
                    de::Error::custom("the session has no usable `status` (a string)")
                })?;
                Ok(CheckoutSession {
                    id,
                    mode: d.mode,
                    status,
                    order_id: d.order_id,
                    order_status: d.order_status,
                    created_at: d.created_at,
                    updated_at: d.updated_at,
                    expires_at: d.expires_at,
                    started_at: d.started_at,
                    end_at: d.end_at,
                    name: d.name,
                    paylink_type: d.paylink_type,
                    payment_link: d.payment_link,
                    success_url: d.success_url,
                    cancel_url: d.cancel_url,
                    failure_url: d.failure_url,
                    url: d.url,
                    metadata: d.metadata,
                    plan: d.plan,
                    payment: d.payment,
                    products: d.products.unwrap_or_default(),
                    extra: f.finish(),
                })
            }
        }
        deserializer.deserialize_map(SessionVisitor)
    }
}

/// Metadata written with each key's value as sent, in the order sent.
struct MetadataAsSent<'a> {
    metadata: &'a Metadata,
    raw: &'a Map<String, Value>,
}

impl Serialize for MetadataAsSent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.metadata.len()))?;
        for (key, text) in self.metadata.iter() {
            match self.raw.get(key) {
                Some(raw) => map.serialize_entry(key, raw)?,
                None => map.serialize_entry(key, text)?,
            }
        }
        map.end()
    }
}

/// A session's `metadata`: what [`Metadata::read_lenient`] makes of it.
struct MetadataReader;

impl FieldRead<Metadata> for MetadataReader {
    fn read<'de, A: MapAccess<'de>>(
        self,
        access: &mut A,
        _: Path<'_>,
    ) -> Result<Option<Read<Metadata>>, A::Error> {
        Ok(access.next_value::<MetadataField>()?.0)
    }
}

/// `None` for null, else what [`Metadata::read_lenient`] made of the value.
struct MetadataField(Option<Read<Metadata>>);

impl<'de> Deserialize<'de> for MetadataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(Metadata::read_lenient(deserializer)?))
    }
}

/// The products: each object is read in place; when an element is not an
/// object, it is skipped and the array as sent is kept.
struct ProductsReader;

impl FieldRead<Vec<Product>> for ProductsReader {
    fn read<'de, A: MapAccess<'de>>(
        self,
        access: &mut A,
        path: Path<'_>,
    ) -> Result<Option<Read<Vec<Product>>>, A::Error> {
        access.next_value_seed(ProductsSeed { path })
    }
}

struct ProductsSeed<'p> {
    path: Path<'p>,
}

impl<'de> DeserializeSeed<'de> for ProductsSeed<'_> {
    type Value = Option<Read<Vec<Product>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ProductsSeed<'_> {
    type Value = Option<Read<Vec<Product>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let path = self.path;
        // Each element, read as a product, or as sent when it is not an object.
        let mut items: Vec<Result<Product, Value>> = Vec::new();
        while let Some(item) = seq.next_element_seed(NestedSeed::<Product> {
            path: Path::Index(&path, items.len()),
            model: PhantomData,
        })? {
            items.push(match item {
                Some(Read::Exact(product) | Read::Coerced(product, _)) => Ok(product),
                Some(Read::Unreadable(raw)) => Err(raw),
                None => Err(Value::Null),
            });
        }
        if items.iter().all(Result::is_ok) {
            return Ok(Some(Read::Exact(items.into_iter().flatten().collect())));
        }
        // A product re-serialises to what was sent, so the array as sent can
        // be rebuilt around the elements that were not objects.
        let raw = items
            .iter()
            .map(|item| match item {
                Ok(product) => serde_json::to_value(product).unwrap_or(Value::Null),
                Err(raw) => raw.clone(),
            })
            .collect();
        let products = items.into_iter().flatten().collect();
        Ok(Some(Read::Coerced(products, Value::Array(raw))))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(Read::Unreadable(value)))
    }
    lenient::scalars_as_sent!();
}
