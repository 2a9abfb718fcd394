//! Merchant metadata attached to a checkout session.

use std::fmt;

use std::collections::HashMap;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::lenient::Read;

/// An insertion-ordered map of string keys to string values, at most
/// [`Metadata::MAX_KEYS`] keys, none of them empty.
///
/// Put your own references here (`internal_order_id`, `user_uuid`): Actalink
/// returns the metadata with the session status and in webhooks, which is how
/// a payment is matched to your records.
///
/// The limits hold for every `Metadata` built through [`Metadata::insert`] or
/// [`Metadata::try_from_iter`]. Deserialisation is lenient instead, because it
/// reads what the server sends: a non-string value is kept as its JSON text,
/// and the key limit is not enforced (the server is the authority on what it
/// stored). [`Metadata::validate`] checks a deserialised map before reuse.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    // A Vec rather than a hash map: at most 50 entries, so a linear scan is as
    // fast as hashing and keeps insertion order without another dependency.
    entries: Vec<(String, String)>,
}

impl Metadata {
    /// The documented limit on metadata keys per session.
    pub const MAX_KEYS: usize = 50;

    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a map from pairs, keeping their order; a repeated key keeps its
    /// first position and takes the last value.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyMetadataKey`] or [`Error::TooManyMetadataKeys`] (naming the
    /// first key that did not fit).
    pub fn try_from_iter<K, V, I>(pairs: I) -> Result<Self, Error>
    where
        K: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut metadata = Self::new();
        for (key, value) in pairs {
            metadata.insert(key, value)?;
        }
        Ok(metadata)
    }

    /// Inserts a pair. A key already present keeps its position and takes the
    /// new value, which is returned.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyMetadataKey`] for an empty key; [`Error::TooManyMetadataKeys`]
    /// when a new key would make 51. The map is unchanged on error.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Option<String>, Error> {
        let key = key.into();
        if key.is_empty() {
            return Err(Error::EmptyMetadataKey);
        }
        let value = value.into();
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            return Ok(Some(std::mem::replace(&mut slot.1, value)));
        }
        if self.entries.len() >= Self::MAX_KEYS {
            return Err(Error::TooManyMetadataKeys {
                limit: Self::MAX_KEYS,
                key,
            });
        }
        self.entries.push((key, value));
        Ok(None)
    }

    /// The value for `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(index).1)
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The pairs in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks the limits; useful on a map that came from a server response.
    ///
    /// # Errors
    ///
    /// The first broken limit, as [`Metadata::insert`] reports it.
    pub fn validate(&self) -> Result<(), Error> {
        if self.entries.iter().any(|(k, _)| k.is_empty()) {
            return Err(Error::EmptyMetadataKey);
        }
        if let Some((key, _)) = self.entries.get(Self::MAX_KEYS) {
            return Err(Error::TooManyMetadataKeys {
                limit: Self::MAX_KEYS,
                key: key.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Metadata {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Pairs read from the server, a repeated key keeping its first position and
/// taking the last value (what `JSON.parse` does), in linear time: a map past
/// a few keys gets a hash index, so a hostile document with many keys costs
/// no more than its size.
#[derive(Default)]
struct Entries {
    pairs: Vec<(String, serde_json::Value)>,
    index: HashMap<String, usize>,
}

impl Entries {
    /// Below this many keys a linear scan beats hashing.
    const SCAN: usize = 16;

    fn push(&mut self, key: String, value: serde_json::Value) {
        match self.position(&key).and_then(|i| self.pairs.get_mut(i)) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    fn position(&mut self, key: &str) -> Option<usize> {
        if self.pairs.len() < Self::SCAN {
            return self.pairs.iter().position(|(k, _)| k == key);
        }
        // Keys are unique, so the index covers a prefix of the pairs: catch it up.
        for (i, (k, _)) in self.pairs.iter().enumerate().skip(self.index.len()) {
            self.index.insert(k.clone(), i);
        }
        self.index.get(key).copied()
    }

    /// The metadata, with values that are not strings as their JSON text, and
    /// whether every value was a string.
    fn finish(self) -> (Metadata, bool) {
        let mut all_strings = true;
        let entries = self
            .pairs
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => {
                    all_strings = false;
                    (k, other.to_string())
                }
            })
            .collect();
        (Metadata { entries }, all_strings)
    }
}

/// Reads a metadata object, keeping the order of its keys.
fn read_entries<'de, A: MapAccess<'de>>(mut access: A) -> Result<Entries, A::Error> {
    let mut entries = Entries {
        pairs: Vec::with_capacity(access.size_hint().unwrap_or(0).min(Metadata::MAX_KEYS)),
        index: HashMap::new(),
    };
    while let Some((key, value)) = access.next_entry::<String, serde_json::Value>()? {
        entries.push(key, value);
    }
    Ok(entries)
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetadataVisitor;
        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of metadata")
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Metadata, A::Error> {
                Ok(read_entries(access)?.finish().0)
            }
        }
        deserializer.deserialize_map(MetadataVisitor)
    }
}

impl Metadata {
    /// Reads metadata from a server document without failing on its shape:
    /// `None` for null; an object with string values exactly; an object with
    /// other values as their JSON text, keeping the object as sent; anything
    /// else unreadable, kept as sent.
    pub(crate) fn read_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Read<Self>>, D::Error> {
        struct LenientVisitor;
        impl<'de> Visitor<'de> for LenientVisitor {
            type Value = Option<Read<Metadata>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
                let entries = read_entries(access)?;
                let raw =
                    entries.pairs.iter().any(|(_, v)| !v.is_string()).then(|| {
                        serde_json::Value::Object(entries.pairs.iter().cloned().collect())
                    });
                let (metadata, _) = entries.finish();
                Ok(Some(match raw {
                    None => Read::Exact(metadata),
                    Some(raw) => Read::Coerced(metadata, raw),
                }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<serde_json::Value>()? {
                    items.push(item);
                }
                Ok(Some(Read::Unreadable(serde_json::Value::Array(items))))
            }
            crate::lenient::scalars_as_sent!();
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_order_and_replaces_in_place() {
        let mut m = Metadata::new();
        assert_eq!(m.insert("b", "1").unwrap(), None);
        assert_eq!(m.insert("a", "2").unwrap(), None);
        assert_eq!(m.insert("b", "3").unwrap(), Some("1".into()));
        assert_eq!(m.iter().collect::<Vec<_>>(), [("b", "3"), ("a", "2")]);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"b":"3","a":"2"}"#);
    }

    #[test]
    fn the_fifty_first_key_is_rejected_and_named() {
        let mut m = Metadata::try_from_iter((0..50).map(|i| (format!("k{i}"), "v"))).unwrap();
        assert_eq!(
            m.insert("k50", "v"),
            Err(Error::TooManyMetadataKeys {
                limit: 50,
                key: "k50".into()
            })
        );
        assert_eq!(m.len(), 50);
        // Replacing an existing key at the limit is fine.
        assert_eq!(m.insert("k0", "w").unwrap(), Some("v".into()));
        assert_eq!(
            Error::TooManyMetadataKeys {
                limit: 50,
                key: "k50".into()
            }
            .to_string(),
            "metadata may hold at most 50 keys; adding \"k50\" would exceed it"
        );
    }

    #[test]
    fn empty_key_is_rejected() {
        assert_eq!(
            Metadata::new().insert("", "v"),
            Err(Error::EmptyMetadataKey)
        );
    }

    #[test]
    fn server_values_of_any_type_are_kept_as_json_text() {
        let m: Metadata =
            serde_json::from_str(r#"{"n":12,"s":"x","o":{"a":[1,true]},"z":null,"s":"y"}"#)
                .unwrap();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [
                ("n", "12"),
                ("s", "y"),
                ("o", r#"{"a":[1,true]}"#),
                ("z", "null")
            ]
        );
    }

    #[test]
    fn server_maps_over_the_limit_decode_but_do_not_validate() {
        let json = serde_json::to_string(
            &(0..51)
                .map(|i| (format!("k{i:02}"), "v"))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        let m: Metadata = serde_json::from_str(&json).unwrap();
        assert_eq!(m.len(), 51);
        assert!(matches!(
            m.validate(),
            Err(Error::TooManyMetadataKeys { .. })
        ));
    }
}
