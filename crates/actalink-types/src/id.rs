//! Opaque identifier newtypes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Checks the one rule every id follows: non-empty, with no whitespace and no
/// control characters. The API documents nothing more, so nothing more is checked.
fn validate(kind: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::EmptyId { kind });
    }
    if let Some((index, _)) = value
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control())
    {
        return Err(Error::InvalidId {
            kind,
            value: value.to_owned(),
            index,
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        ///
        /// The value is opaque: it is checked to be non-empty and free of
        /// whitespace and control characters, and never parsed further.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            ///
            /// # Errors
            ///
            /// [`Error::EmptyId`] or [`Error::InvalidId`] when the value breaks the rule above.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(value))
            }

            /// The id as sent on the wire.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the id into its string.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// The id of a paylink (`paylink_…`), created in Acta Hub.
    PaylinkId, "paylink id"
);
id_type!(
    /// The id of a checkout session (`checkout_…`).
    CheckoutSessionId, "checkout session id"
);
id_type!(
    /// The id of the order a checkout session creates (`ord_…`).
    OrderId, "order id"
);
id_type!(
    /// The id of a product (`prod_…`).
    ProductId, "product id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_ids() {
        let id = PaylinkId::new("paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO").unwrap();
        assert_eq!(id.as_str(), "paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO");
        assert_eq!(id.to_string(), id.as_str());
    }

    #[test]
    fn rejects_empty_whitespace_and_control() {
        assert_eq!(
            CheckoutSessionId::new(""),
            Err(Error::EmptyId {
                kind: "checkout session id"
            })
        );
        assert!(matches!(
            CheckoutSessionId::new("checkout_ab c"),
            Err(Error::InvalidId { index: 11, .. })
        ));
        assert!(matches!(
            OrderId::new("ord_\u{7}"),
            Err(Error::InvalidId { index: 4, .. })
        ));
        assert!(matches!(
            OrderId::new("\u{a0}x"),
            Err(Error::InvalidId { index: 0, .. })
        ));
    }

    #[test]
    fn deserialising_validates() {
        let err = serde_json::from_str::<ProductId>("\"\"").unwrap_err();
        assert!(
            err.to_string().contains("product id must not be empty"),
            "{err}"
        );
        let id: ProductId = serde_json::from_str("\"prod_1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"prod_1\"");
    }
}
