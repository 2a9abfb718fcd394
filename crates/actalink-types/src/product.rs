//! The parts of a session: products, prices, the plan and the payment,
//! each defined once by `model!` and decoded tolerantly.

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{MapAccess, Visitor};
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
        }

        impl lenient::Model for $name {
            fn visit<'de, A: MapAccess<'de>>(mut access: A, path: Path<'_>) -> Result<Self, A::Error> {
                let mut model = Self::default();
                let mut f = Fields::new(path);
                while let Some(lenient::Key(key)) = access.next_key::<lenient::Key<'de>>()? {
                    match key.as_ref() {
                        $( $key => model.$field = f.take(&mut access, $key, $read)?, )*
                        _ => f.unknown(&mut access, key.into_owned())?,
                    }
                }
                model.extra = f.finish();
                Ok(model)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ModelVisitor;
                impl<'de> Visitor<'de> for ModelVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<$name, A::Error> {
                        <$name as lenient::Model>::visit(access, Path::Root)
                    }
                }
                deserializer.deserialize_map(ModelVisitor)
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
        price_details: PriceDetails = "priceDetails", lenient::nested::<PriceDetails>(), plain;
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
        price_details: PriceDetails = "priceDetails", lenient::nested::<PriceDetails>(), plain;
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
