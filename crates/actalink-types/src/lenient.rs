//! Tolerant decoding of what the server sends.
//!
//! The API is documented by two example payloads, so the models read every
//! field on its own: a field in an undocumented shape never fails the whole
//! object. Each field is read into one of three outcomes ([`Read`]):
//!
//! - in its documented shape, it becomes the typed value;
//! - in another shape whose meaning is clear (the number `3` where the string
//!   `"3"` was documented, a timestamp without an offset), it becomes the typed
//!   value, and the value as sent is kept;
//! - otherwise the typed field is `None` and the value as sent is kept.
//!
//! `null` counts as absent. Every kept value goes into the object's `extra`
//! map under its own key, beside the fields the SDK does not model, and is
//! logged at debug level with its JSON path. Serialisation writes kept values
//! back in place of the typed ones, so an object re-serialises to what was sent.
//!
//! Fields are read straight from the document as it is parsed ([`Fields`],
//! [`FieldRead`]): nested objects are visited in place and object keys are
//! borrowed from the body, so nothing is built twice.
//!
//! Written by hand because serde's derive stops at the first field that does
//! not fit, and `#[serde(default)]`-style crates drop the value instead of keeping it.

use std::fmt;

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde_json::{Map, Value};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

/// Where a value sits in a document, for log lines; printed only when needed.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    /// The object being decoded.
    Root,
    /// A key of an object.
    Key(&'a Path<'a>, &'a str),
    /// An element of an array.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => f.write_str("$"),
            Self::Key(parent, key) => write!(f, "{parent}.{key}"),
            Self::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// What reading one value gave.
pub(crate) enum Read<T> {
    /// The value was in its documented shape.
    Exact(T),
    /// The value was in another shape with a clear meaning; the raw value is kept.
    Coerced(T, Value),
    /// The value could not be read; it is kept as sent.
    Unreadable(Value),
}

/// An object being read field by field, straight from the document.
pub(crate) struct Fields<'p> {
    extra: Map<String, Value>,
    /// Whether `extra` holds the raw value of a modelled field: only then can
    /// a repeated key have something earlier to drop.
    kept_modelled: bool,
    path: Path<'p>,
}

impl<'p> Fields<'p> {
    pub(crate) fn new(path: Path<'p>) -> Self {
        Self {
            extra: Map::new(),
            kept_modelled: false,
            path,
        }
    }

    /// Reads the value of `key`, the key just read from `access`, with
    /// `reader`; `None` when it is null or unreadable.
    pub(crate) fn take<'de, A: MapAccess<'de>, T>(
        &mut self,
        access: &mut A,
        key: &'static str,
        reader: impl FieldRead<T>,
    ) -> Result<Option<T>, A::Error> {
        match reader.read(access, Path::Key(&self.path, key))? {
            // The documented shape, nearly always: no call out of line.
            Some(Read::Exact(value)) => {
                // A repeated key: the last value wins.
                self.forget(key);
                Ok(Some(value))
            }
            Some(read) => Ok(self.keep(key, read)),
            None => {
                // Null is absent, even after an earlier value for the same key.
                self.forget(key);
                Ok(None)
            }
        }
    }

    /// Records what reading `key` gave, keeping the raw value where there is
    /// one. Reached for exact values only through repeated code paths; cold
    /// because documented responses never coerce.
    #[cold]
    fn keep<T>(&mut self, key: &'static str, read: Read<T>) -> Option<T> {
        let path = Path::Key(&self.path, key);
        match read {
            Read::Exact(value) => {
                // A repeated key: the last value wins.
                self.forget(key);
                Some(value)
            }
            Read::Coerced(value, raw) => {
                tracing::debug!(path = %path, "actalink: read a field given in an undocumented shape");
                self.extra.insert(key.to_owned(), raw);
                self.kept_modelled = true;
                Some(value)
            }
            Read::Unreadable(raw) => {
                tracing::debug!(path = %path, "actalink: kept an unreadable field as sent");
                self.extra.insert(key.to_owned(), raw);
                self.kept_modelled = true;
                None
            }
        }
    }

    /// Drops what an earlier value of `key` kept. Nearly always nothing was
    /// kept for a modelled field, and the search is skipped.
    #[inline]
    fn forget(&mut self, key: &str) {
        if self.kept_modelled {
            self.extra.remove(key);
        }
    }

    /// Keeps the value of a key the model does not know.
    pub(crate) fn unknown<'de, A: MapAccess<'de>>(
        &mut self,
        access: &mut A,
        key: String,
    ) -> Result<(), A::Error> {
        let value: Value = access.next_value()?;
        self.extra.insert(key, value);
        Ok(())
    }

    /// The values kept: unreadable and coerced fields, and the fields not modelled.
    pub(crate) fn finish(self) -> Map<String, Value> {
        self.extra
    }
}

/// An object key, borrowed from the document when it can be (no escapes),
/// so that reading a known field allocates nothing for its name.
pub(crate) struct Key<'de>(pub(crate) std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// How one field's value is read from the document.
pub(crate) trait FieldRead<T> {
    /// Reads the next value of `access`; `None` for null.
    fn read<'de, A: MapAccess<'de>>(
        self,
        access: &mut A,
        path: Path<'_>,
    ) -> Result<Option<Read<T>>, A::Error>;
}

/// A scalar: read as a JSON value, then interpreted.
impl<T, F: FnOnce(Value, Path<'_>) -> Read<T>> FieldRead<T> for F {
    fn read<'de, A: MapAccess<'de>>(
        self,
        access: &mut A,
        path: Path<'_>,
    ) -> Result<Option<Read<T>>, A::Error> {
        let value: Value = access.next_value()?;
        Ok((!value.is_null()).then(|| self(value, path)))
    }
}

/// A model read field by field from a JSON object.
pub(crate) trait Model: Sized {
    /// Reads the model from the entries of an object.
    fn visit<'de, A: MapAccess<'de>>(access: A, path: Path<'_>) -> Result<Self, A::Error>;
}

/// A nested model, visited in place: an object is read field by field,
/// anything else is unreadable and kept as sent.
pub(crate) struct Nested<M>(PhantomData<M>);

/// Reads a nested model (see [`Nested`]).
pub(crate) fn nested<M>() -> Nested<M> {
    Nested(PhantomData)
}

impl<M: Model> FieldRead<M> for Nested<M> {
    fn read<'de, A: MapAccess<'de>>(
        self,
        access: &mut A,
        path: Path<'_>,
    ) -> Result<Option<Read<M>>, A::Error> {
        access.next_value_seed(NestedSeed::<M> {
            path,
            model: PhantomData,
        })
    }
}

/// The visitor methods, for a value that should be an object or an array,
/// that read null as absent and keep any scalar as sent (unreadable). The
/// visitor's `Value` is `Option<Read<T>>`.
macro_rules! scalars_as_sent {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(Read::Unreadable(v.into())))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Read::Unreadable(v.into())))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(Read::Unreadable(v.into())))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(Read::Unreadable(v.into())))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Read::Unreadable(v.into())))
        }
    };
}
pub(crate) use scalars_as_sent;

/// Reads one value as a nested model, or keeps it as sent.
pub(crate) struct NestedSeed<'p, M> {
    pub(crate) path: Path<'p>,
    pub(crate) model: PhantomData<M>,
}

impl<'de, M: Model> DeserializeSeed<'de> for NestedSeed<'_, M> {
    type Value = Option<Read<M>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, M: Model> Visitor<'de> for NestedSeed<'_, M> {
    type Value = Option<Read<M>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        Ok(Some(Read::Exact(M::visit(access, self.path)?)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Some(Read::Unreadable(value)))
    }
    scalars_as_sent!();
}

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

/// Writes an object's fields in documented order, a kept raw value in place
/// of its typed one, then the fields not modelled.
pub(crate) struct Writer<'a, M> {
    map: M,
    extra: &'a Map<String, Value>,
}

impl<'a, M: SerializeMap> Writer<'a, M> {
    pub(crate) fn new(map: M, extra: &'a Map<String, Value>) -> Self {
        Self { map, extra }
    }

    /// Writes `key`: the kept raw value if there is one, else the typed value;
    /// nothing when both are absent, or `null` when `null_if_absent`.
    pub(crate) fn field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: Option<&T>,
        null_if_absent: bool,
    ) -> Result<(), M::Error> {
        if let Some(raw) = self.extra.get(key) {
            self.map.serialize_entry(key, raw)
        } else if let Some(value) = value {
            self.map.serialize_entry(key, value)
        } else if null_if_absent {
            self.map.serialize_entry(key, &Value::Null)
        } else {
            Ok(())
        }
    }

    /// Writes `key` with `value`, whatever was kept for it.
    pub(crate) fn entry<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        self.map.serialize_entry(key, value)
    }

    /// Writes the extra fields that are not among `known`, and ends the object.
    pub(crate) fn end(mut self, known: &[&str]) -> Result<M::Ok, M::Error> {
        for (key, value) in self.extra {
            if !known.contains(&key.as_str()) {
                self.map.serialize_entry(key, value)?;
            }
        }
        self.map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_json_paths() {
        let root = Path::Root;
        let products = Path::Key(&root, "products");
        let first = Path::Index(&products, 0);
        let price = Path::Key(&first, "price");
        assert_eq!(price.to_string(), "$.products[0].price");
    }

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

#[cfg(test)]
mod repeated_keys {
    use crate::CheckoutSession;

    fn decode_and_print(json: &str) -> (CheckoutSession, serde_json::Value) {
        let session: CheckoutSession = serde_json::from_str(json).unwrap();
        let printed = serde_json::to_value(&session).unwrap();
        (session, printed)
    }

    /// The last value of a repeated key wins, and whatever an earlier,
    /// undocumented value kept is dropped, also after unmodelled fields.
    #[test]
    fn the_last_value_wins_and_nothing_earlier_is_kept() {
        let (session, printed) = decode_and_print(
            r#"{"id":"checkout_1","status":"open","other":1,
                "createdAt":"2025-08-29 15:36:36","createdAt":"2025-08-29T15:36:36.346Z"}"#,
        );
        assert_eq!(printed["createdAt"], "2025-08-29T15:36:36.346Z");
        assert_eq!(printed["other"], 1);
        assert!(session.created_at.is_some());

        let (session, printed) = decode_and_print(
            r#"{"id":"checkout_1","status":"open","createdAt":[1],"createdAt":null}"#,
        );
        assert!(
            printed
                .get("createdAt")
                .is_none_or(serde_json::Value::is_null)
        );
        assert!(session.created_at.is_none());

        // An exact value first, then an unreadable one: the unreadable one is kept as sent.
        let (session, printed) = decode_and_print(
            r#"{"id":"checkout_1","status":"open","createdAt":"2025-08-29T15:36:36.346Z","createdAt":[1]}"#,
        );
        assert_eq!(printed["createdAt"], serde_json::json!([1]));
        assert!(session.created_at.is_none());
    }
}
