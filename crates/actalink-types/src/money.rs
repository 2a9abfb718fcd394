//! Money as the API encodes it, decoded exactly (never through `f64`).
//!
//! Two encodings exist. A product's `priceDetails.price` is the hex of an ASCII
//! decimal string in major units: `"0x302e3136"` is the bytes `30 2e 31 36`,
//! which read `"0.16"` (USDC). A webhook's `token.amount` is a hex integer in
//! token base units: `"0x249f0"` is 150000, which at USDC's 6 decimals is 0.15.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Strips an optional `0x`/`0X` prefix.
fn strip_hex_prefix(raw: &str) -> &str {
    raw.strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw)
}

/// True for a plain non-negative decimal: digits, optionally a dot and more digits.
fn is_plain_decimal(s: &str) -> bool {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A product price as the API sends it: hex of an ASCII decimal string.
///
/// The raw string is kept as received; [`Price::decimal`] decodes it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Price {
    raw: String,
}

impl Price {
    /// Wraps a raw price string without decoding it.
    #[must_use]
    pub fn from_raw(raw: impl Into<String>) -> Self {
        Self { raw: raw.into() }
    }

    /// Encodes a decimal string such as `"0.16"` the way the API does (`"0x302e3136"`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDecimal`] unless `decimal` is digits with an optional
    /// fractional part.
    pub fn from_decimal_str(decimal: &str) -> Result<Self, Error> {
        if !is_plain_decimal(decimal) {
            return Err(Error::InvalidDecimal {
                value: decimal.to_owned(),
            });
        }
        let mut raw = String::with_capacity(2 + decimal.len() * 2);
        raw.push_str("0x");
        for byte in decimal.bytes() {
            raw.push_str(&format!("{byte:02x}"));
        }
        Ok(Self { raw })
    }

    /// The string as received.
    #[must_use]
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Decodes the hex to its decimal string, for example `"0.16"`.
    ///
    /// Accepts an optional `0x`/`0X` prefix and hex digits of either case.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHex`] for odd length, empty or non-hex input;
    /// [`Error::InvalidPrice`] when the bytes are not a plain decimal.
    pub fn decimal_str(&self) -> Result<String, Error> {
        let (digits, invalid) = hex_digits("price", &self.raw)?;
        if !digits.len().is_multiple_of(2) {
            return Err(invalid("it has an odd number of digits"));
        }
        let mut text = String::with_capacity(digits.len() / 2);
        // `chunks_exact(2)` yields only two-byte chunks, so both indexes exist.
        for pair in digits.as_bytes().chunks_exact(2) {
            let hi = hex_value(pair[0]).ok_or_else(|| invalid("it has a non-hex character"))?;
            let lo = hex_value(pair[1]).ok_or_else(|| invalid("it has a non-hex character"))?;
            text.push(char::from(hi << 4 | lo));
        }
        if !is_plain_decimal(&text) {
            return Err(Error::InvalidPrice {
                raw: self.raw.clone(),
            });
        }
        Ok(text)
    }

    /// Decodes the price to an exact decimal in major units (USDC, not base units).
    ///
    /// # Errors
    ///
    /// As [`Price::decimal_str`], plus [`Error::Overflow`] beyond 28 significant digits.
    pub fn decimal(&self) -> Result<Decimal, Error> {
        let text = self.decimal_str()?;
        Decimal::from_str_exact(&text).map_err(|_| Error::Overflow {
            what: "price",
            raw: self.raw.clone(),
        })
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decimal_str() {
            Ok(decimal) => write!(f, "Price({:?} = {decimal})", self.raw),
            Err(_) => write!(f, "Price({:?})", self.raw),
        }
    }
}

/// The digits of a hex string after its prefix, and the error for it; an
/// error when there are no digits.
fn hex_digits<'a>(
    what: &'static str,
    raw: &'a str,
) -> Result<(&'a str, impl Fn(&'static str) -> Error + 'a), Error> {
    let invalid = move |reason| Error::InvalidHex {
        what,
        raw: raw.to_owned(),
        reason,
    };
    let digits = strip_hex_prefix(raw);
    if digits.is_empty() {
        return Err(invalid("it has no digits"));
    }
    Ok((digits, invalid))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// A token amount as webhooks send it: a hex integer in base units.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenAmount {
    raw: String,
}

impl TokenAmount {
    /// Wraps a raw amount string without decoding it.
    #[must_use]
    pub fn from_raw(raw: impl Into<String>) -> Self {
        Self { raw: raw.into() }
    }

    /// Encodes base units the way the provider does: lowercase hex, `0x`, no leading zeros.
    #[must_use]
    pub fn from_base_units(units: u128) -> Self {
        Self {
            raw: format!("{units:#x}"),
        }
    }

    /// The string as received.
    #[must_use]
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Decodes the amount in base units (150000 for `"0x249f0"`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHex`] for empty or non-hex input; [`Error::Overflow`]
    /// beyond `u128`.
    pub fn base_units(&self) -> Result<u128, Error> {
        let (digits, invalid) = hex_digits("token amount", &self.raw)?;
        let mut value: u128 = 0;
        for byte in digits.bytes() {
            let digit = hex_value(byte).ok_or_else(|| invalid("it has a non-hex character"))?;
            value = value
                .checked_mul(16)
                .and_then(|v| v.checked_add(u128::from(digit)))
                .ok_or_else(|| Error::Overflow {
                    what: "token amount",
                    raw: self.raw.clone(),
                })?;
        }
        Ok(value)
    }

    /// The amount in whole tokens given the token's decimals (6 for USDC):
    /// `"0x249f0"` with 6 decimals is `0.150000`.
    ///
    /// # Errors
    ///
    /// As [`TokenAmount::base_units`], plus [`Error::Overflow`] when the value
    /// does not fit the exact decimal type (96 bits, at most 28 decimals).
    pub fn decimal(&self, decimals: u32) -> Result<Decimal, Error> {
        let units = self.base_units()?;
        let overflow = || Error::Overflow {
            what: "token amount",
            raw: self.raw.clone(),
        };
        let units = i128::try_from(units).map_err(|_| overflow())?;
        Decimal::try_from_i128_with_scale(units, decimals).map_err(|_| overflow())
    }
}

impl fmt::Debug for TokenAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.base_units() {
            Ok(units) => write!(f, "TokenAmount({:?} = {units})", self.raw),
            Err(_) => write!(f, "TokenAmount({:?})", self.raw),
        }
    }
}

/// Formats base units as a decimal string with exactly `decimals` fractional
/// digits, for any `u128` (`format_units(150000, 6)` is `"0.150000"`).
#[must_use]
pub fn format_units(units: u128, decimals: u32) -> String {
    let digits = units.to_string();
    let decimals = decimals as usize;
    if decimals == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (int, frac) = padded.split_at(padded.len() - decimals);
    format!("{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_price_decodes_to_0_16() {
        let price = Price::from_raw("0x302e3136");
        assert_eq!(price.decimal_str().unwrap(), "0.16");
        assert_eq!(price.decimal().unwrap(), Decimal::new(16, 2));
        assert_eq!(Price::from_decimal_str("0.15").unwrap().raw(), "0x302e3135");
        assert_eq!(Price::from_decimal_str("10").unwrap().raw(), "0x3130");
        assert_eq!(Price::from_raw("0X3130").decimal_str().unwrap(), "10");
        assert_eq!(Price::from_raw("3130").decimal_str().unwrap(), "10");
    }

    #[test]
    fn malformed_prices_are_typed_errors() {
        for raw in [
            "", "0x", "0x3", "0xzz", "0x2e31", "0x2d31", "0x31 30", "0xe282ac",
        ] {
            let err = Price::from_raw(raw).decimal().unwrap_err();
            assert!(
                matches!(err, Error::InvalidHex { .. } | Error::InvalidPrice { .. }),
                "{raw}: {err:?}"
            );
        }
        let long = Price::from_decimal_str(&"9".repeat(40)).unwrap();
        assert!(matches!(long.decimal(), Err(Error::Overflow { .. })));
        assert!(Price::from_decimal_str("-1").is_err());
        assert!(Price::from_decimal_str("1.").is_err());
    }

    #[test]
    fn documented_amounts_decode() {
        let due = TokenAmount::from_raw("0x249f0");
        assert_eq!(due.base_units().unwrap(), 150_000);
        assert_eq!(due.decimal(6).unwrap(), Decimal::new(15, 2));
        assert_eq!(due.decimal(6).unwrap().to_string(), "0.150000");
        assert_eq!(
            TokenAmount::from_raw("0x1adb0").decimal(6).unwrap(),
            Decimal::new(11, 2)
        );
        assert_eq!(TokenAmount::from_base_units(150_000).raw(), "0x249f0");
        assert_eq!(
            TokenAmount::from_raw("249F0").base_units().unwrap(),
            150_000
        );
    }

    #[test]
    fn malformed_amounts_are_typed_errors() {
        assert!(matches!(
            TokenAmount::from_raw("0x").base_units(),
            Err(Error::InvalidHex { .. })
        ));
        assert!(matches!(
            TokenAmount::from_raw("0xg").base_units(),
            Err(Error::InvalidHex { .. })
        ));
        let huge = format!("0x1{}", "0".repeat(32));
        assert!(matches!(
            TokenAmount::from_raw(huge).base_units(),
            Err(Error::Overflow { .. })
        ));
        let max = TokenAmount::from_base_units(u128::MAX);
        assert!(matches!(max.decimal(6), Err(Error::Overflow { .. })));
    }

    #[test]
    fn format_units_is_exact() {
        assert_eq!(format_units(150_000, 6), "0.150000");
        assert_eq!(format_units(5, 6), "0.000005");
        assert_eq!(format_units(1_230_000, 6), "1.230000");
        assert_eq!(format_units(7, 0), "7");
        assert_eq!(
            format_units(u128::MAX, 18),
            "340282366920938463463.374607431768211455"
        );
    }
}
