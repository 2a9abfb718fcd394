//! Writing a model back: documented fields in order, kept raw values in
//! place of typed ones, then the fields not modelled.

use serde::ser::SerializeMap;
use serde_json::{Map, Value};

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
