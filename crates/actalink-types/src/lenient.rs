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
use serde_json::{Map, Value};

mod read;
mod writer;

pub(crate) use read::{Rfc3339Ref, count, parsed, string, timestamp, wire};
pub(crate) use writer::Writer;

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
            Some(Read::Coerced(value, raw)) => {
                self.keep(key, raw, "read a field given in an undocumented shape");
                Ok(Some(value))
            }
            Some(Read::Unreadable(raw)) => {
                self.keep(key, raw, "kept an unreadable field as sent");
                Ok(None)
            }
            None => {
                // Null is absent, even after an earlier value for the same key.
                self.forget(key);
                Ok(None)
            }
        }
    }

    /// Keeps the raw value of `key`, whose value was not in its documented
    /// shape, and logs `what` happened with its path. Cold: documented
    /// responses never come here.
    #[cold]
    fn keep(&mut self, key: &'static str, raw: Value, what: &str) {
        let path = Path::Key(&self.path, key);
        tracing::debug!(path = %path, "actalink: {what}");
        self.extra.insert(key.to_owned(), raw);
        self.kept_modelled = true;
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
