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
        match bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `pos`.
fn skip_value(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => skip_string(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
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
    /// The value in `text`, surrounding whitespace ignored.
    pub(crate) fn new(text: &'a str) -> Self {
        Self(text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')))
    }

    /// The value's JSON text.
    pub(crate) fn text(self) -> &'a str {
        self.0
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

    /// The members of an object in order, keys as their escaped text; `None`
    /// when this is not an object.
    pub(crate) fn members(self) -> Option<Members<'a>> {
        (self.kind() == Kind::Object).then_some(Members {
            text: self.0,
            pos: 1,
        })
    }

    /// The values of the named members of an object, one pass over it; a
    /// repeated key gives its last value, as in JavaScript. `None` when this is
    /// not an object. Names are compared with the keys' text as written, which
    /// in canonical JSON is the key itself for any name without `"`, `\` or
    /// control characters.
    pub(crate) fn fields<const N: usize>(self, names: [&str; N]) -> Option<[Option<Self>; N]> {
        let mut found = [None; N];
        for (key, value) in self.members()? {
            if let Some(i) = names.iter().position(|name| *name == key) {
                found[i] = Some(value);
            }
        }
        Some(found)
    }

    /// The string's value; `None` when this is not a string or holds a lone
    /// surrogate (which a Rust string cannot).
    pub(crate) fn string(self) -> Option<String> {
        self.unescape(false)
    }

    /// The string's value with lone surrogates as U+FFFD; `None` when this is
    /// not a string.
    pub(crate) fn string_lossy(self) -> Option<String> {
        self.unescape(true)
    }

    fn unescape(self, lossy: bool) -> Option<String> {
        let inner = self.0.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(inner.to_owned());
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
        Some(out)
    }
}

fn hex4(digits: &[u8]) -> Option<u16> {
    let mut value = 0u16;
    for &d in digits {
        value = value << 4 | u16::try_from((d as char).to_digit(16)?).ok()?;
    }
    Some(value)
}

/// The members of an object: `(key as written, value)`.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, Json<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let start = skip_ws(bytes, self.pos);
        if bytes.get(start) != Some(&b'"') {
            self.pos = bytes.len();
            return None;
        }
        let key_end = skip_string(bytes, start)?;
        let key = self.text.get(start + 1..key_end - 1)?;
        let colon = skip_ws(bytes, key_end);
        if bytes.get(colon) != Some(&b':') {
            self.pos = bytes.len();
            return None;
        }
        let value_start = skip_ws(bytes, colon + 1);
        let value_end = skip_value(bytes, value_start)?;
        let value = Json(self.text.get(value_start..value_end)?);
        let next = skip_ws(bytes, value_end);
        self.pos = if bytes.get(next) == Some(&b',') {
            next + 1
        } else {
            bytes.len()
        };
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_fields() {
        let doc = Json::new(r#" {"a":1,"b":{"x":[1,"]}"]},"c":"q\"","a":true} "#);
        let members: Vec<_> = doc.members().unwrap().map(|(k, v)| (k, v.text())).collect();
        assert_eq!(
            members,
            [
                ("a", "1"),
                ("b", r#"{"x":[1,"]}"]}"#),
                ("c", r#""q\"""#),
                ("a", "true")
            ]
        );
        let [a, c, z] = doc.fields(["a", "c", "z"]).unwrap();
        assert_eq!(a.unwrap().kind(), Kind::Bool);
        assert_eq!(c.unwrap().string().as_deref(), Some("q\""));
        assert!(z.is_none());
        assert!(Json::new("[1]").fields(["a"]).is_none());
        assert_eq!(Json::new("{}").members().unwrap().count(), 0);
    }

    #[test]
    fn strings_unescape_and_lone_surrogates_are_told_apart() {
        assert_eq!(
            Json::new(r#""a\u00e9\ud83d\ude00\n\/""#)
                .string()
                .as_deref(),
            Some("aé😀\n/")
        );
        assert_eq!(Json::new(r#""x\ud800y""#).string(), None);
        assert_eq!(
            Json::new(r#""x\ud800y""#).string_lossy().as_deref(),
            Some("x\u{fffd}y")
        );
        assert_eq!(Json::new("12").string(), None);
    }

    #[test]
    fn malformed_text_gives_none_never_a_panic() {
        for text in [
            "",
            "{",
            "{\"",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":\"",
            "{\"a\":[",
            "\"\\",
            "\"\\u12\"",
            "{\"a\" 1}",
            "{,}",
            "\"\\ud800\\u",
            "{\"a\":1,",
            "{\"a\":}",
        ] {
            let doc = Json::new(text);
            let _ = doc.members().map(Iterator::count);
            let _ = doc.fields(["a"]);
            let _ = doc.string();
            let _ = doc.string_lossy();
        }
    }
}
