//! A JavaScript-exact re-serialiser: `canonicalize(x)` is byte for byte what
//! Node.js prints for `JSON.stringify(JSON.parse(x))`.
//!
//! Written by hand because no crate does it: serde_json's `Value` sorts keys
//! (or, with `preserve_order`, keeps duplicates' last position), keeps integers
//! exact instead of rounding them to doubles, and rejects lone surrogates. The
//! rules copied from ECMAScript:
//!
//! - Input bytes are decoded as UTF-8 with U+FFFD for invalid sequences, as
//!   Node's `Buffer#toString` does. Whitespace is space, tab, LF and CR only.
//! - Object keys keep insertion order, except array-index keys (canonical
//!   decimal integers from 0 to 2^32 - 2), which come first in ascending
//!   numeric order. A repeated key keeps its first position and its last value.
//! - Numbers are parsed as IEEE doubles (correctly rounded) and printed with
//!   ECMAScript `Number::toString` (the `ryu-js` crate); infinities print as `null`.
//! - Strings are re-escaped: only `"`, `\` and U+0000 to U+001F are escaped
//!   (`\b \t \n \f \r`, otherwise lowercase `\u00xx`); a lone surrogate from a
//!   `\uD800`-style escape is written back as a lowercase `\udxxx` escape.
//!
//! Parsing and printing are iterative, so nesting depth is limited only by memory.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Why the input is not JSON that `JSON.parse` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset in the UTF-8-decoded input where parsing stopped.
    pub offset: usize,
    /// What was expected.
    pub reason: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// Returns `JSON.stringify(JSON.parse(input))` as Node.js computes it.
///
/// # Errors
///
/// [`SyntaxError`] when `JSON.parse` would throw.
pub fn canonicalize(input: &[u8]) -> Result<String, SyntaxError> {
    let text = String::from_utf8_lossy(input);
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text: &text,
        pos: 0,
        containers: Vec::new(),
    };
    let root = parser.parse()?;
    let mut out = String::with_capacity(text.len());
    write(&parser.containers, &root, &mut out);
    Ok(out)
}

/// A value: a leaf already in its printed form, or a container in the arena.
enum Val<'a> {
    /// A string's escaped contents, without the quotes.
    Str(Cow<'a, str>),
    /// A number or literal, printed.
    Raw(Cow<'a, str>),
    Array(usize),
    Object(usize),
}

enum Container<'a> {
    Array(Vec<Val<'a>>),
    Object(Vec<(Cow<'a, str>, Val<'a>)>),
}

/// An object being parsed.
struct ObjectFrame<'a> {
    entries: Vec<(Cow<'a, str>, Val<'a>)>,
    /// Key positions, built once the object is large enough for linear search to cost.
    index: Option<HashMap<Cow<'a, str>, usize>>,
    key: Cow<'a, str>,
}

enum Frame<'a> {
    Array(Vec<Val<'a>>),
    Object(ObjectFrame<'a>),
}

const INDEX_THRESHOLD: usize = 16;

impl<'a> ObjectFrame<'a> {
    fn insert(&mut self, key: Cow<'a, str>, value: Val<'a>) {
        if self.index.is_none() && self.entries.len() >= INDEX_THRESHOLD {
            let index = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect();
            self.index = Some(index);
        }
        let existing = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.entries.iter().position(|(k, _)| *k == key),
        };
        match existing {
            Some(i) => self.entries[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key.clone(), self.entries.len());
                }
                self.entries.push((key, value));
            }
        }
    }

    /// Moves array-index keys to the front in ascending numeric order.
    fn finish(self) -> Vec<(Cow<'a, str>, Val<'a>)> {
        let mut entries = self.entries;
        if entries.iter().any(|(k, _)| array_index(k).is_some()) {
            let mut indexed: Vec<(u32, (Cow<'a, str>, Val<'a>))> = Vec::new();
            let mut named = Vec::with_capacity(entries.len());
            for entry in entries {
                match array_index(&entry.0) {
                    Some(n) => indexed.push((n, entry)),
                    None => named.push(entry),
                }
            }
            indexed.sort_by_key(|(n, _)| *n);
            entries = indexed.into_iter().map(|(_, e)| e).chain(named).collect();
        }
        entries
    }
}

/// The value of an array-index key: a canonical decimal integer below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    if bytes.is_empty() || bytes.len() > 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    let n: u64 = key.parse().ok()?;
    (n < u64::from(u32::MAX)).then_some(n as u32)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    containers: Vec<Container<'a>>,
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            reason,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), SyntaxError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    fn key(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string key"));
        }
        let key = self.string()?;
        self.expect(b':', "expected ':' after a key")?;
        Ok(key)
    }

    fn parse(&mut self) -> Result<Val<'a>, SyntaxError> {
        let mut stack: Vec<Frame<'a>> = Vec::new();
        loop {
            // Parse the start of a value.
            self.skip_ws();
            let mut value = match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.containers.push(Container::Object(Vec::new()));
                        Val::Object(self.containers.len() - 1)
                    } else {
                        let key = self.key()?;
                        stack.push(Frame::Object(ObjectFrame {
                            entries: Vec::new(),
                            index: None,
                            key,
                        }));
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.containers.push(Container::Array(Vec::new()));
                        Val::Array(self.containers.len() - 1)
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue;
                    }
                }
                Some(b'"') => Val::Str(self.string()?),
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                Some(b'-' | b'0'..=b'9') => Val::Raw(self.number()?),
                Some(_) => return Err(self.err("expected a value")),
                None => return Err(self.err("unexpected end of input")),
            };
            // Attach the finished value to its parents, closing those that end here.
            loop {
                match stack.last_mut() {
                    None => {
                        self.skip_ws();
                        if self.pos != self.bytes.len() {
                            return Err(self.err("unexpected text after the JSON value"));
                        }
                        return Ok(value);
                    }
                    Some(Frame::Array(items)) => {
                        items.push(value);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                break;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                let Some(Frame::Array(items)) = stack.pop() else {
                                    unreachable!("the top frame is an array")
                                };
                                self.containers.push(Container::Array(items));
                                value = Val::Array(self.containers.len() - 1);
                            }
                            _ => return Err(self.err("expected ',' or ']' in an array")),
                        }
                    }
                    Some(Frame::Object(object)) => {
                        let key = std::mem::take(&mut object.key);
                        object.insert(key, value);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                let key = self.key()?;
                                if let Some(Frame::Object(object)) = stack.last_mut() {
                                    object.key = key;
                                }
                                break;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                let Some(Frame::Object(object)) = stack.pop() else {
                                    unreachable!("the top frame is an object")
                                };
                                self.containers.push(Container::Object(object.finish()));
                                value = Val::Object(self.containers.len() - 1);
                            }
                            _ => return Err(self.err("expected ',' or '}' in an object")),
                        }
                    }
                }
            }
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<Val<'a>, SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(Val::Raw(Cow::Borrowed(word)))
        } else {
            Err(self.err("expected true, false or null"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("expected a digit")),
        }
        let int_digits = self.pos - int_start;
        let mut simple = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            simple = false;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            simple = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
        }
        let text = &self.text[start..self.pos];
        // An integer of at most 15 digits is exact as a double and prints as
        // written, except negative zero, which prints as 0.
        if simple && int_digits <= 15 && text != "-0" {
            return Ok(Cow::Borrowed(text));
        }
        let value: f64 = text.parse().map_err(|_| self.err("invalid number"))?;
        if !value.is_finite() {
            return Ok(Cow::Borrowed("null"));
        }
        if value == 0.0 {
            return Ok(Cow::Borrowed("0"));
        }
        let mut buffer = ryu_js::Buffer::new();
        Ok(Cow::Owned(buffer.format_finite(value).to_owned()))
    }

    /// Parses a string at `"`, returning its contents escaped the JavaScript way.
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.pos += 1; // The opening quote.
        let start = self.pos;
        // Fast path: no escapes and no control characters means the output is the input.
        loop {
            match self.peek() {
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0x00..=0x1f) => return Err(self.err("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.err("unterminated string")),
            }
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(0x00..=0x1f) => return Err(self.err("control character in a string")),
                Some(_) => {
                    // Copy a run of plain characters at once.
                    let run = self.pos;
                    while let Some(b) = self.peek() {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(&self.text[run..self.pos]);
                }
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, SyntaxError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("expected four hex digits after \\u"))?;
        let mut value = 0u16;
        for &d in digits {
            let v = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("expected four hex digits after \\u"))?;
            value = value << 4 | v as u16;
        }
        self.pos += 4;
        Ok(value)
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let Some(b) = self.peek() else {
            return Err(self.err("unterminated escape"));
        };
        self.pos += 1;
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'/' => out.push('/'),
            b'b' => out.push_str("\\b"),
            b'f' => out.push_str("\\f"),
            b'n' => out.push_str("\\n"),
            b'r' => out.push_str("\\r"),
            b't' => out.push_str("\\t"),
            b'u' => {
                let unit = self.hex4()?;
                if (0xD800..0xDC00).contains(&unit) && self.bytes[self.pos..].starts_with(b"\\u") {
                    // A high surrogate: pair it with a following low one if there is one.
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        let code = 0x10000
                            + ((u32::from(unit) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        return Ok(());
                    }
                    self.pos = save;
                }
                push_code_unit(out, unit);
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("invalid escape"));
            }
        }
        Ok(())
    }
}

/// Writes one UTF-16 code unit the way `JSON.stringify` does.
fn push_code_unit(out: &mut String, unit: u16) {
    match unit {
        0x22 => out.push_str("\\\""),
        0x5c => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x09 => out.push_str("\\t"),
        0x0a => out.push_str("\\n"),
        0x0c => out.push_str("\\f"),
        0x0d => out.push_str("\\r"),
        0x00..=0x1f | 0xD800..=0xDFFF => out.push_str(&format!("\\u{unit:04x}")),
        _ => out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}')),
    }
}

/// Prints a parsed value compactly, without recursion.
fn write(containers: &[Container<'_>], root: &Val<'_>, out: &mut String) {
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut next = Some(root);
    loop {
        if let Some(value) = next.take() {
            match value {
                Val::Str(s) => {
                    out.push('"');
                    out.push_str(s);
                    out.push('"');
                }
                Val::Raw(s) => out.push_str(s),
                Val::Array(id) => {
                    out.push('[');
                    stack.push((*id, 0));
                }
                Val::Object(id) => {
                    out.push('{');
                    stack.push((*id, 0));
                }
            }
        }
        let Some((id, index)) = stack.last_mut() else {
            return;
        };
        match &containers[*id] {
            Container::Array(items) => {
                if let Some(item) = items.get(*index) {
                    if *index > 0 {
                        out.push(',');
                    }
                    *index += 1;
                    next = Some(item);
                } else {
                    out.push(']');
                    stack.pop();
                }
            }
            Container::Object(entries) => {
                if let Some((key, item)) = entries.get(*index) {
                    if *index > 0 {
                        out.push(',');
                    }
                    *index += 1;
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    next = Some(item);
                } else {
                    out.push('}');
                    stack.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(input: &str) -> String {
        canonicalize(input.as_bytes()).unwrap()
    }

    #[test]
    fn key_order_follows_javascript() {
        assert_eq!(
            c(r#"{"b":1,"2":2,"a":3,"1":4}"#),
            r#"{"1":4,"2":2,"b":1,"a":3}"#
        );
        assert_eq!(
            c(r#"{"01":1,"-1":2,"4294967295":3,"4294967294":4,"1.5":5,"0":6}"#),
            r#"{"0":6,"4294967294":4,"01":1,"-1":2,"4294967295":3,"1.5":5}"#
        );
        assert_eq!(c(r#"{"\u0031":1,"a":2,"0":3}"#), r#"{"0":3,"1":1,"a":2}"#);
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        assert_eq!(c(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        assert_eq!(
            c(&format!("{{{many}\"k3\":\"x\",\"k0\":\"y\"}}")).find("\"k0\":\"y\",\"k1\":1"),
            Some(1)
        );
    }

    #[test]
    fn numbers_print_as_ecmascript_does() {
        for (input, expected) in [
            ("1.0", "1"),
            ("1E2", "100"),
            ("1e21", "1e+21"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("12345678901234567890", "12345678901234567000"),
            ("123456789012345", "123456789012345"),
            ("9007199254740993", "9007199254740992"),
            ("1e400", "null"),
            ("-1e400", "null"),
            ("5e-324", "5e-324"),
            ("2.5e-324", "5e-324"),
            ("1e-400", "0"),
            ("0.1", "0.1"),
            ("-12", "-12"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(c(input), expected, "{input}");
        }
    }

    #[test]
    fn strings_are_escaped_as_javascript_does() {
        assert_eq!(c(r#""caf\u00e9\/""#), "\"café/\"");
        assert_eq!(c(r#""\b\f\n\r\t\"\\""#), r#""\b\f\n\r\t\"\\""#);
        assert_eq!(
            c(r#""\u0001\u001F\u007f\u2028""#),
            "\"\\u0001\\u001f\u{7f}\u{2028}\""
        );
        assert_eq!(c(r#""\ud83d\ude00""#), "\"😀\"");
        assert_eq!(c(r#""\uD800""#), r#""\ud800""#);
        assert_eq!(c(r#""\uDC00\uD800x""#), r#""\udc00\ud800x""#);
        assert_eq!(c(r#""\uD83D\u0041""#), r#""\ud83dA""#);
        assert_eq!(c("\"raw é 日本\""), "\"raw é 日本\"");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(canonicalize(b"\"a\xffb\"").unwrap(), "\"a\u{fffd}b\"");
    }

    #[test]
    fn whitespace_is_dropped_and_nesting_has_no_depth_limit() {
        assert_eq!(
            c(" \t\r\n{ \"a\" : [ 1 , { } , [ ] ] } \n"),
            r#"{"a":[1,{},[]]}"#
        );
        let depth = 200_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(c(&deep), deep);
    }

    #[test]
    fn malformed_json_is_an_error_never_a_panic() {
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "-",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12\"",
            "\"a",
            "\"\u{1}\"",
            "[1 2]",
            "{} {}",
            "\u{feff}{}",
            "NaN",
            "Infinity",
            "'a'",
            "\"\\ud800\\u12\"",
        ] {
            assert!(
                canonicalize(bad.as_bytes()).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let err = canonicalize(b"{\"a\":tru}").unwrap_err();
        assert_eq!(err.to_string(), "expected true, false or null at byte 5");
    }
}
