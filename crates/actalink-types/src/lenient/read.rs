//! Readers of one scalar field: each turns the value as sent into a [`Read`]:
//! the typed value, the typed value with the raw one kept, or the raw one alone.

use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{Path, Read};

/// An open enum from its wire string; anything but a string is unreadable.
pub(crate) fn wire<T>(from_wire: fn(&str) -> T) -> impl FnOnce(Value, Path<'_>) -> Read<T> {
    move |value, _| match value {
        Value::String(s) => Read::Exact(from_wire(&s)),
        other => Read::Unreadable(other),
    }
}

/// A string; a number or a boolean is read as its JSON text.
pub(crate) fn string(value: Value, _: Path<'_>) -> Read<String> {
    match value {
        Value::String(s) => Read::Exact(s),
        Value::Number(ref n) => Read::Coerced(n.to_string(), value),
        Value::Bool(b) => Read::Coerced(b.to_string(), value),
        other => Read::Unreadable(other),
    }
}

/// A value parsed from a string (or a number's text); unreadable when `parse` refuses it.
pub(crate) fn parsed<T, E>(
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> impl FnOnce(Value, Path<'_>) -> Read<T> {
    move |value, path| match string(value, path) {
        Read::Exact(s) => match parse(&s) {
            Ok(parsed) => Read::Exact(parsed),
            Err(_) => Read::Unreadable(Value::String(s)),
        },
        Read::Coerced(s, raw) => match parse(&s) {
            Ok(parsed) => Read::Coerced(parsed, raw),
            Err(_) => Read::Unreadable(raw),
        },
        Read::Unreadable(raw) => Read::Unreadable(raw),
    }
}

/// A non-negative count: a JSON integer, an integral float, or a string of digits.
pub(crate) fn count(value: Value, _: Path<'_>) -> Read<u32> {
    let parsed = match &value {
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                return u32::try_from(n).map_or(Read::Unreadable(value), Read::Exact);
            }
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
                // Checked just above: integral and in range.
                .map(|f| f as u32)
        }
        Value::String(s) => s.trim().parse::<u32>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) => Read::Coerced(n, value),
        None => Read::Unreadable(value),
    }
}

/// A timestamp: RFC 3339 as documented; other ISO 8601 forms are accepted and
/// one without an offset is read as UTC.
pub(crate) fn timestamp(value: Value, _: Path<'_>) -> Read<OffsetDateTime> {
    let Value::String(text) = &value else {
        return Read::Unreadable(value);
    };
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        // Kept as sent unless it prints back the same (`+00:00` prints as `Z`).
        return if print_timestamp(&at).is_some_and(|printed| printed == *text) {
            Read::Exact(at)
        } else {
            Read::Coerced(at, value)
        };
    }
    match parse_loose_timestamp(text) {
        Some(at) => Read::Coerced(at, value),
        None => Read::Unreadable(value),
    }
}

fn parse_loose_timestamp(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    // `2025-08-29 15:36:36` is ISO 8601 with a space for the `T`.
    let normalised;
    let text = match text.as_bytes().get(10) {
        // Byte 10 is an ASCII space, so 10 and 11 are character boundaries.
        Some(b' ') if text.len() > 11 => {
            normalised = format!("{}T{}", &text[..10], &text[11..]);
            normalised.as_str()
        }
        _ => text,
    };
    if let Ok(at) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(at);
    }
    PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Prints a timestamp in the API's documented form, UTC with exactly three
/// fractional digits (`2025-08-29T15:36:36.340Z`) when it is a whole
/// millisecond in UTC, else as RFC 3339; `None` only for a year RFC 3339
/// cannot write.
pub(crate) fn print_timestamp(at: &OffsetDateTime) -> Option<String> {
    if at.offset().is_utc()
        && at.nanosecond().is_multiple_of(1_000_000)
        && (0..=9999).contains(&at.year())
    {
        return Some(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        ));
    }
    at.format(&Rfc3339).ok()
}

/// Serialises a timestamp in the documented form (see [`print_timestamp`]).
pub(crate) struct Rfc3339Ref<'a>(pub(crate) &'a OffsetDateTime);

impl serde::Serialize for Rfc3339Ref<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = print_timestamp(self.0)
            .ok_or_else(|| serde::ser::Error::custom("a timestamp RFC 3339 cannot write"))?;
        serializer.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_clear_spellings_only() {
        let read = |v: Value| match count(v, Path::Root) {
            Read::Exact(n) => Some((n, false)),
            Read::Coerced(n, _) => Some((n, true)),
            Read::Unreadable(_) => None,
        };
        assert_eq!(read(serde_json::json!(3)), Some((3, false)));
        assert_eq!(read(serde_json::json!("3")), Some((3, true)));
        assert_eq!(read(serde_json::json!(3.0)), Some((3, true)));
        assert_eq!(read(serde_json::json!(3.5)), None);
        assert_eq!(read(serde_json::json!(-1)), None);
        assert_eq!(read(serde_json::json!(5_000_000_000u64)), None);
        assert_eq!(read(serde_json::json!("three")), None);
        assert_eq!(read(serde_json::json!([3])), None);
    }

    #[test]
    fn timestamps_without_an_offset_are_utc() {
        let read = |s: &str| match timestamp(Value::String(s.into()), Path::Root) {
            Read::Exact(at) | Read::Coerced(at, _) => Some(at.unix_timestamp_nanos() / 1_000_000),
            Read::Unreadable(_) => None,
        };
        let documented = read("2025-08-29T15:36:36.346Z");
        assert_eq!(documented, Some(1_756_481_796_346));
        for variant in [
            "2025-08-29T15:36:36.346",
            "2025-08-29 15:36:36.346",
            "2025-08-29T15:36:36.346+00:00",
            "2025-08-29T17:36:36.346+02:00",
            "2025-08-29T15:36:36.346000Z",
        ] {
            assert_eq!(read(variant), documented, "{variant}");
        }
        assert_eq!(read("2025-08-29T15:36:36"), Some(1_756_481_796_000));
        // The documented form, trailing zeros included, is exact, not drift.
        for exact in ["2025-08-29T15:36:36.340Z", "2025-08-29T15:36:36.000Z"] {
            assert!(
                matches!(
                    timestamp(Value::String(exact.into()), Path::Root),
                    Read::Exact(_)
                ),
                "{exact}"
            );
        }
        assert!(matches!(
            timestamp(Value::String("2025-08-29T15:36:36Z".into()), Path::Root),
            Read::Coerced(..)
        ));
        assert_eq!(read("yesterday"), None);
        assert_eq!(read(""), None);
        assert_eq!(read("2025-08-29\u{e9}15"), None);
    }
}
