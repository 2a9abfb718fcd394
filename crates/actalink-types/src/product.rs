//! The parts of a session: products, prices, the plan and the payment,
//! each defined once by `model!` and decoded tolerantly.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::lenient::{self, Fields, Path, Read, Writer};
use crate::{Currency, CurrencyType, IntervalUnit, PaymentType, Price, ProductId, ProductStatus};

/// Defines a nested model: its fields (each optional, read tolerantly), its
/// `extra` map, its reader and its serialiser, from one list, so that the
/// field order, the JSON names and the readers cannot drift apart.
macro_rules! model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident: $ty:ty = $key:literal, $read:expr, $write:ident;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: Option<$ty>, )*
            /// Fields not modelled, and values as sent of fields in an undocumented shape.
            pub extra: Map<String, Value>,
        }

        impl $name {
            const KEYS: &'static [&'static str] = &[$($key),*];

            pub(crate) fn read(mut f: Fields<'_>) -> Self {
                Self {
                    $( $field: f.take($key, $read), )*
                    extra: f.finish(),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut w = Writer::new(serializer.serialize_map(None)?, &self.extra);
                $( write_field!(w, $key, self.$field, $write); )*
                w.end(Self::KEYS)
            }
        }
    };
}

/// Writes one field: `plain` omits it when absent, `nullable` writes `null`,
/// `time` writes RFC 3339 (`nullable_time`: both).
macro_rules! write_field {
    ($w:ident, $key:literal, $value:expr, nullable_time) => {
        $w.field(
            $key,
            $value.as_ref().map($crate::lenient::Rfc3339Ref).as_ref(),
            true,
        )?
    };
    ($w:ident, $key:literal, $value:expr, plain) => {
        $w.field($key, $value.as_ref(), false)?
    };
    ($w:ident, $key:literal, $value:expr, nullable) => {
        $w.field($key, $value.as_ref(), true)?
    };
    ($w:ident, $key:literal, $value:expr, time) => {
        $w.field(
            $key,
            $value.as_ref().map($crate::lenient::Rfc3339Ref).as_ref(),
            false,
        )?
    };
}

pub(crate) use write_field;

model! {
    /// A product in a session.
    pub struct Product {
        /// The product id.
        id: ProductId = "id", lenient::parsed(|s: &str| ProductId::new(s)), plain;
        /// When the product was created.
        created_at: OffsetDateTime = "createdAt", lenient::timestamp, time;
        /// Display name.
        name: String = "name", lenient::string, plain;
        /// Description.
        description: String = "description", lenient::string, plain;
        /// Image URL (may be empty).
        image_url: String = "imageUrl", lenient::string, plain;
        /// How the product is paid.
        payment_type: PaymentType = "paymentType", lenient::wire(PaymentType::from_wire), plain;
        /// Whether it is on sale.
        status: ProductStatus = "status", lenient::wire(ProductStatus::from_wire), plain;
        /// Price and interval.
        price_details: PriceDetails = "priceDetails", |v, p| lenient::object(v, p, PriceDetails::read), plain;
    }
}

model! {
    /// A price with its currency and, for subscriptions, its interval.
    pub struct PriceDetails {
        /// The price, hex-encoded; see [`PriceDetails::decimal`]. `None` when
        /// absent or unreadable (the value as sent is then in `extra`): never
        /// treat a missing price as any amount.
        price: Price = "price", read_price, plain;
        /// The currency.
        currency: Currency = "currency", lenient::wire(Currency::from_wire), plain;
        /// How many interval units one period lasts.
        interval_count: u32 = "intervalCount", lenient::count, plain;
        /// The interval unit.
        interval_unit: IntervalUnit = "intervalUnit", lenient::wire(IntervalUnit::from_wire), plain;
        /// The kind of currency.
        currency_type: CurrencyType = "currencyType", lenient::wire(CurrencyType::from_wire), plain;
    }
}

impl PriceDetails {
    /// The decoded price in major units of `currency` (`0.16` for `"0x302e3136"`).
    ///
    /// # Errors
    ///
    /// [`Error::MissingPrice`](crate::Error::MissingPrice) when there is no
    /// readable price, else a typed decode error from [`Price::decimal`].
    pub fn decimal(&self) -> Result<Decimal, crate::Error> {
        self.price
            .as_ref()
            .ok_or(crate::Error::MissingPrice)?
            .decimal()
    }
}

model! {
    /// The plan a paid session is for.
    pub struct Plan {
        /// Internal id (a UUID).
        id: String = "id", lenient::string, plain;
        /// The public product id (equals a `products[].id`).
        public_id: ProductId = "publicId", lenient::parsed(|s: &str| ProductId::new(s)), plain;
        /// When the plan was created.
        created_at: OffsetDateTime = "createdAt", lenient::timestamp, time;
        /// When the plan was updated.
        updated_at: OffsetDateTime = "updatedAt", lenient::timestamp, time;
        /// Display name.
        name: String = "name", lenient::string, plain;
        /// Description.
        description: String = "description", lenient::string, plain;
        /// Image URL (may be empty).
        image_url: String = "imageUrl", lenient::string, plain;
        /// How the plan is paid.
        payment_type: PaymentType = "paymentType", lenient::wire(PaymentType::from_wire), plain;
        /// Internal id of the payment type (a UUID).
        payment_type_id: String = "paymentTypeId", lenient::string, plain;
        /// Whether the plan is on sale.
        status: ProductStatus = "status", lenient::wire(ProductStatus::from_wire), plain;
        /// Price and interval.
        price_details: PriceDetails = "priceDetails", |v, p| lenient::object(v, p, PriceDetails::read), plain;
    }
}

model! {
    /// Who paid whom.
    pub struct Payment {
        /// The payer's wallet (EVM address; compare case-insensitively).
        sender_address: String = "senderAddress", lenient::string, nullable;
        /// The merchant's wallet.
        receiver_address: String = "receiverAddress", lenient::string, nullable;
        /// A transaction hash; null even on paid subscriptions in the docs.
        hash: String = "hash", lenient::string, nullable;
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
