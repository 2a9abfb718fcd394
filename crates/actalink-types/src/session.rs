//! The checkout session object and what it contains.
//!
//! Every model here decodes tolerantly (see the `lenient` module): only a
//! session's `id` and `status` are required, every other field that arrives in
//! an undocumented shape is read when its meaning is clear or else left `None`,
//! and what was sent stays in the model's `extra` map.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::lenient::{self, Fields, Path, Read, Writer};
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

/// A session's `metadata` as read: `None` for null, else what
/// [`Metadata::read_lenient`] made of it.
struct MetadataField(Option<Read<Metadata>>);

impl<'de> Deserialize<'de> for MetadataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(Metadata::read_lenient(deserializer)?))
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
