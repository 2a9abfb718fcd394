//! Reading a few fields out of JSON text without building a tree.
//!
//! The text is the payload that was signed: the canonicaliser's output, or the
//! raw body after it was checked to be JSON. It is still read defensively:
//! malformed text gives `None`, never a panic or an endless loop. Each read is
//! one pass over the value's text and allocates nothing but the strings it
//! returns, so nesting depth and size cost no more than the bytes.

/// A JSON value's text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Json<'a>(&'a str);

/// What kind of value a [`Json`] is, for log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    /// The kind with an article, for messages: "an object".
    pub(crate) fn described(self) -> &'static str {
        match self {
            Self::Object => "an object",
            Self::Array => "an array",
            Self::String => "a string",
            Self::Number => "a number",
            Self::Bool => "a boolean",
            Self::Null => "null",
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// The end of the string starting at `pos` (its opening quote), after its closing quote.
fn skip_string(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The bytes that matter when skipping a container: quotes and brackets.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'}' as usize] = true;
    table[b'[' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// The end of the value starting at `pos`.
fn skip_value(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => skip_string(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            loop {
                i += bytes
                    .get(i..)?
                    .iter()
                    .position(|&b| STRUCTURAL[usize::from(b)])?;
                match bytes[i] {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                }
                i += 1;
            }
        }
        _ => {
            let mut i = pos;
            while let Some(&b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']' | b':') || is_ws(b) {
                    break;
                }
                i += 1;
            }
            (i > pos).then_some(i)
        }
    }
}

impl<'a> Json<'a> {
    /// The value at the start of `text` (after any whitespace).
    pub(crate) fn new(text: &'a str) -> Self {
        Self(text.trim_start_matches([' ', '\t', '\n', '\r']))
    }

    /// What kind of value it is (by its first character).
    pub(crate) fn kind(self) -> Kind {
        match self.0.as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The value's JSON text (found by skipping it).
    pub(crate) fn text(self) -> Option<&'a str> {
        self.0.get(..skip_value(self.0.as_bytes(), 0)?)
    }

    /// The members of an object in order, keys as their escaped text; `None`
    /// when this is not an object.
    pub(crate) fn members(self) -> Option<Members<'a>> {
        (self.kind() == Kind::Object).then_some(Members {
            text: self.0,
            pos: 1,
            pending: None,
            first: true,
            done: false,
            end: None,
        })
    }

    /// The string's value and its length as JSON text; `None` when this is
    /// not a string or holds a lone surrogate (which a Rust string cannot).
    pub(crate) fn string(self) -> Option<(String, usize)> {
        self.unescape(false)
    }

    /// The string's value, lone surrogates as U+FFFD, and its length as JSON
    /// text; `None` when this is not a string.
    pub(crate) fn string_lossy(self) -> Option<(String, usize)> {
        self.unescape(true)
    }

    fn unescape(self, lossy: bool) -> Option<(String, usize)> {
        if self.kind() != Kind::String {
            return None;
        }
        let len = skip_string(self.0.as_bytes(), 0)?;
        let inner = self.0.get(1..len - 1)?;
        if !inner.contains('\\') {
            return Some((inner.to_owned(), len));
        }
        let bytes = inner.as_bytes();
        let mut out = String::with_capacity(inner.len());
        let mut i = 0;
        let mut run = 0;
        while i < bytes.len() {
            if bytes[i] != b'\\' {
                i += 1;
                continue;
            }
            out.push_str(inner.get(run..i)?);
            let escape = *bytes.get(i + 1)?;
            i += 2;
            match escape {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let unit = hex4(bytes.get(i..i + 4)?)?;
                    i += 4;
                    let c = if (0xD800..0xDC00).contains(&unit)
                        && bytes.get(i..i + 2) == Some(b"\\u")
                        && let Some(low) = bytes.get(i + 2..i + 6).and_then(hex4)
                        && (0xDC00..0xE000).contains(&low)
                    {
                        i += 6;
                        char::from_u32(
                            0x10000
                                + ((u32::from(unit) - 0xD800) << 10)
                                + (u32::from(low) - 0xDC00),
                        )
                    } else {
                        char::from_u32(u32::from(unit))
                    };
                    match c {
                        Some(c) => out.push(c),
                        None if lossy => out.push('\u{fffd}'),
                        None => return None,
                    }
                }
                _ => return None,
            }
            run = i;
        }
        out.push_str(inner.get(run..)?);
        Some((out, len))
    }
}

fn hex4(digits: &[u8]) -> Option<u16> {
    let mut value = 0u16;
    for &d in digits {
        value = value << 4 | u16::try_from((d as char).to_digit(16)?).ok()?;
    }
    Some(value)
}

/// The members of an object: `(key as written, value)`, each value starting
/// where it starts and running on to the end of the text.
///
/// A value the caller reads in full can be reported with
/// [`Members::consumed`]; any other is skipped when the next member is asked
/// for. Either way each byte of the object is looked at once.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    text: &'a str,
    /// Where the next member (or the closing brace) is looked for.
    pos: usize,
    /// Where the last value handed out starts, until it is skipped or consumed.
    pending: Option<usize>,
    first: bool,
    done: bool,
    /// The object's length, once its closing brace has been read.
    end: Option<usize>,
}

impl<'a> Members<'a> {
    /// Says the last value handed out was `len` bytes long, so that it need not be skipped.
    pub(crate) fn consumed(&mut self, len: usize) {
        if let Some(start) = self.pending.take() {
            self.after_value(start + len);
        }
    }

    /// Reads the rest of the object and returns its length as JSON text;
    /// `None` when it is malformed.
    pub(crate) fn len(mut self) -> Option<usize> {
        while self.next().is_some() {}
        self.end
    }

    fn after_value(&mut self, end: usize) {
        let bytes = self.text.as_bytes();
        let next = skip_ws(bytes, end);
        match bytes.get(next) {
            Some(b',') => self.pos = next + 1,
            Some(b'}') => {
                self.end = Some(next + 1);
                self.done = true;
            }
            _ => self.done = true,
        }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, Json<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        if let Some(start) = self.pending.take() {
            match skip_value(bytes, start) {
                Some(end) => self.after_value(end),
                None => self.done = true,
            }
        }
        if self.done {
            return None;
        }
        let start = skip_ws(bytes, self.pos);
        let first = std::mem::replace(&mut self.first, false);
        if first && bytes.get(start) == Some(&b'}') {
            self.end = Some(start + 1);
            self.done = true;
            return None;
        }
        let key = bytes
            .get(start)
            .filter(|&&b| b == b'"')
            .and_then(|_| skip_string(bytes, start))
            .and_then(|key_end| Some((self.text.get(start + 1..key_end - 1)?, key_end)));
        let Some((key, key_end)) = key else {
            self.done = true;
            return None;
        };
        let colon = skip_ws(bytes, key_end);
        if bytes.get(colon) != Some(&b':') {
            self.done = true;
            return None;
        }
        let value_start = skip_ws(bytes, colon + 1);
        let Some(value) = self.text.get(value_start..) else {
            self.done = true;
            return None;
        };
        self.pending = Some(value_start);
        Some((key, Json(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(&str, &str)> {
        Json::new(text)
            .members()
            .unwrap()
            .map(|(k, v)| (k, v.text().unwrap()))
            .collect()
    }

    #[test]
    fn members_are_read_in_order_and_their_length_found() {
        let text = r#" {"a":1,"b":{"x":[1,"]}"]},"c":"q\"","a":true} , 5"#;
        assert_eq!(
            pairs(text),
            [
                ("a", "1"),
                ("b", r#"{"x":[1,"]}"]}"#),
                ("c", r#""q\"""#),
                ("a", "true")
            ]
        );
        let members = Json::new(text).members().unwrap();
        assert_eq!(members.len(), Some(text.trim_start().find(" ,").unwrap()));
        assert!(Json::new("[1]").members().is_none());
        assert_eq!(Json::new("{ }").members().unwrap().len(), Some(3));
        // A value read by the caller is not skipped again.
        let mut members = Json::new(r#"{"s":"xy","n":12}"#).members().unwrap();
        let (_, s) = members.next().unwrap();
        let (value, len) = s.string().unwrap();
        assert_eq!((value.as_str(), len), ("xy", 4));
        members.consumed(len);
        assert_eq!(
            members.next().map(|(k, v)| (k, v.text())),
            Some(("n", Some("12")))
        );
        assert_eq!(members.len(), Some(17));
    }

    #[test]
    fn strings_unescape_and_lone_surrogates_are_told_apart() {
        assert_eq!(
            Json::new(r#""a\u00e9\ud83d\ude00\n\/" tail"#).string(),
            Some(("aé😀\n/".to_owned(), 25))
        );
        assert_eq!(Json::new(r#""x\ud800y""#).string(), None);
        assert_eq!(
            Json::new(r#""x\ud800y""#).string_lossy(),
            Some(("x\u{fffd}y".to_owned(), 10))
        );
        assert_eq!(Json::new("12").string(), None);
    }

    #[test]
    fn malformed_text_gives_none_never_a_panic() {
        // (text, its value's text as skipped, the members read before the
        // reader stopped, or `None` when it is not an object).
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<&'static [(&'static str, Option<&'static str>)]>,
        );
        let cases: [Case; 16] = [
            ("", None, None),
            ("{", None, Some(&[])),
            ("{\"", None, Some(&[])),
            ("{\"a\"", None, Some(&[])),
            ("{\"a\":", None, Some(&[("a", None)])),
            ("{\"a\":\"", None, Some(&[("a", None)])),
            ("{\"a\":[", None, Some(&[("a", None)])),
            ("\"\\", None, None),
            // Skipping goes by quotes and brackets only; reading checks the rest.
            ("\"\\u12\"", Some("\"\\u12\""), None),
            ("{\"a\" 1}", Some("{\"a\" 1}"), Some(&[])),
            ("{,}", Some("{,}"), Some(&[])),
            ("\"\\ud800\\u", None, None),
            ("{\"a\":1,", None, Some(&[("a", Some("1"))])),
            ("{\"a\":}", Some("{\"a\":}"), Some(&[("a", None)])),
            ("{\"a\":1,}", Some("{\"a\":1,}"), Some(&[("a", Some("1"))])),
            ("}", None, None),
        ];
        for (text, skipped, expected_members) in cases {
            let doc = Json::new(text);
            assert_eq!(doc.text(), skipped, "{text:?}: text");
            // None of these is a well-formed string.
            assert_eq!(doc.string(), None, "{text:?}: string");
            assert_eq!(doc.string_lossy(), None, "{text:?}: string_lossy");
            match (doc.members(), expected_members) {
                (None, None) => {}
                (Some(mut members), Some(expected)) => {
                    let mut read = Vec::new();
                    for (key, value) in members.by_ref() {
                        assert_eq!(value.string(), None, "{text:?}: {key}");
                        assert!(
                            value.members().and_then(Members::len).is_none(),
                            "{text:?}: {key}"
                        );
                        read.push((key, value.text()));
                        assert!(
                            read.len() <= text.len(),
                            "{text:?}: the reader does not stop"
                        );
                    }
                    assert_eq!(read, expected, "{text:?}: members");
                    // Malformed: no length, and asking again reads nothing more.
                    assert!(members.next().is_none(), "{text:?}");
                    assert_eq!(members.len(), None, "{text:?}: len");
                }
                (members, expected) => panic!(
                    "{text:?}: members {:?}, expected {expected:?}",
                    members.is_some()
                ),
            }
        }
    }
}
