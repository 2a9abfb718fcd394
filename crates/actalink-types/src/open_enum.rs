//! Open enums: the known values of a server-sent string plus `Unknown(String)`.
//!
//! serde's `#[serde(other)]` only works on a unit variant and so loses the
//! unknown string; these enums keep it, so an unknown value round-trips
//! unchanged through `Deserialize` and `Serialize`.

/// Defines an open enum. Used by this crate and by `actalink-webhooks`; not
/// part of the supported API.
#[doc(hidden)]
#[macro_export]
macro_rules! __open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the SDK does not know, kept verbatim.
            Unknown(::std::string::String),
        }

        impl $name {
            /// The value as it appears on the wire.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Maps a wire value to a variant; never fails.
            #[must_use]
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    Self::Unknown(other) => f.debug_tuple("Unknown").field(other).finish(),
                    known => f.write_str(known.as_str()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_wire(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> ::std::result::Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

crate::__open_enum! {
    /// The status of a checkout session.
    ///
    /// `open` and `success` appear in the documented examples; `failure` and
    /// `timeout` come from the official demo's schema. Only [`SessionStatus::Success`]
    /// means the customer paid.
    pub enum SessionStatus {
        /// Created and waiting for the customer.
        Open => "open",
        /// Paid.
        Success => "success",
        /// The payment failed.
        Failure => "failure",
        /// The session expired unpaid.
        Timeout => "timeout",
    }
}

impl SessionStatus {
    /// True only for `success`: the one status that means the customer paid.
    #[must_use]
    pub fn is_paid(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// True for `open`: the customer may still pay.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }

    /// True for `success`, `failure` and `timeout`, the statuses this SDK
    /// treats as final. No page of the provider says which statuses are
    /// final: that these three are is an assumption (a paid session stays
    /// paid; `failure` and `timeout` are the provider demo's names for the
    /// other outcomes). An unknown status is not final: it may be a step on the way
    /// (`processing`, say) that a later poll turns into `success`, so waiting
    /// goes on until it changes or the deadline passes. An unknown status is
    /// never treated as paid either.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Timeout)
    }
}

crate::__open_enum! {
    /// The status of the order behind a session (upper case on the wire).
    pub enum OrderStatus {
        /// A new, unpaid order.
        Pending => "PENDING",
        /// A paid subscription that is running.
        Ongoing => "ONGOING",
    }
}

crate::__open_enum! {
    /// The session mode. Only `paylink` is documented.
    pub enum Mode {
        /// A session for a paylink created in Acta Hub.
        Paylink => "paylink",
    }
}

#[allow(clippy::derivable_impls)] // The macro's derive list is shared by every open enum.
impl Default for Mode {
    fn default() -> Self {
        Self::Paylink
    }
}

crate::__open_enum! {
    /// The kind of paylink a session was made for.
    pub enum PaylinkType {
        /// A recurring subscription (documented).
        Subscription => "subscription",
        /// A one-time payment. Inferred from the `onetime.executed` webhook
        /// event; not seen in a documented response.
        Onetime => "onetime",
    }
}

crate::__open_enum! {
    /// How a product is paid.
    pub enum PaymentType {
        /// Charged every interval (documented).
        Recurring => "recurring",
        /// Charged once. Inferred, not seen in a documented response.
        Onetime => "onetime",
    }
}

crate::__open_enum! {
    /// Whether a product can be bought.
    pub enum ProductStatus {
        /// On sale.
        Active => "ACTIVE",
    }
}

crate::__open_enum! {
    /// The currency a price is stated in.
    pub enum Currency {
        /// USD Coin.
        Usdc => "USDC",
    }
}

crate::__open_enum! {
    /// The kind of currency.
    pub enum CurrencyType {
        /// An on-chain token.
        Crypto => "crypto",
    }
}

crate::__open_enum! {
    /// The unit of a subscription interval. Only `5mins` is documented; the
    /// others come from Actalink's own demo code.
    pub enum IntervalUnit {
        /// Five minutes (documented).
        FiveMins => "5mins",
        /// A day.
        Daily => "daily",
        /// A week.
        Week => "week",
        /// A calendar month.
        Month => "month",
        /// A calendar quarter.
        Quarter => "quarter",
        /// Half a year.
        HalfYear => "half year",
        /// A year.
        Year => "year",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_values_round_trip() {
        let known: SessionStatus = serde_json::from_str("\"success\"").unwrap();
        assert_eq!(known, SessionStatus::Success);
        assert!(known.is_paid() && known.is_terminal() && !known.is_open());
        let unknown: SessionStatus = serde_json::from_str("\"processing\"").unwrap();
        assert_eq!(unknown, SessionStatus::Unknown("processing".into()));
        assert!(!unknown.is_paid() && !unknown.is_terminal() && !unknown.is_open());
        assert!(SessionStatus::Failure.is_terminal() && SessionStatus::Timeout.is_terminal());
        assert!(!SessionStatus::Open.is_terminal());
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"processing\"");
        assert_eq!(format!("{unknown:?}"), "Unknown(\"processing\")");
        assert_eq!(OrderStatus::from_wire("PENDING"), OrderStatus::Pending);
        assert_eq!(IntervalUnit::from_wire("half year").as_str(), "half year");
        assert_eq!(Mode::default().as_str(), "paylink");
    }
}
