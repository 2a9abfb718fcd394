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
//!   A literal that `Number::toString` provably prints as written (an integer
//!   of at most 15 digits other than `-0`, or a fraction such as `12.34` with
//!   at most 15 significant digits and no trailing zero; see
//!   `prints_as_written`) is copied without being parsed.
//! - Strings are re-escaped: only `"`, `\` and U+0000 to U+001F are escaped
//!   (`\b \t \n \f \r`, otherwise lowercase `\u00xx`); a lone surrogate from a
//!   `\uD800`-style escape is written back as a lowercase `\udxxx` escape.
//!
//! # Bounded work
//!
//! The verifier runs this on every request whose raw bytes do not carry the
//! signature, before it knows whether the signature is genuine, so its cost is
//! bounded by the body's size:
//!
//! - It streams: the output is written while the input is read, and no tree is
//!   built. Arrays, strings and numbers are copied through as they come. Only
//!   objects are looked at again, when they close: each open object keeps 8
//!   bytes per key (where its key sits in the output), and an object whose keys
//!   need reordering (array-index keys, or a repeated key) is rewritten in place.
//!   Duplicate keys are found by comparing every pair in an object of at most
//!   12 keys, and by sorting the keys once in a larger one, O(k log k).
//! - Whitespace is skipped eight spaces at a time, and a string's end is
//!   found eight bytes at a time.
//! - String contents are copied as they are and the output is checked to be
//!   UTF-8 once, at the end. Only when it is not (the body has invalid UTF-8
//!   in a string) is the body read a second time, replacing it.
//! - Nesting is limited to [`MAX_DEPTH`] levels, which bounds the rewriting of
//!   nested objects (each byte is rewritten at most once per enclosing object)
//!   and the parser's stack. `JSON.parse` accepts deeper documents; such a
//!   document still verifies when it arrives byte for byte as it was signed
//!   (the verifier checks the raw bytes first and never re-serialises them).
//! - Peak memory is the output (about the input's size; up to 5 times for
//!   numbers such as `1e20`, which print as 21 digits, and 3 times for invalid
//!   UTF-8, each byte of which becomes a 3-byte U+FFFD), a copy of the largest
//!   object being reordered, and 8 to 16 bytes per key of the open objects.
//!   `examples/hostile_memory.rs` measures the worst bodies.

use std::fmt;

use crate::Error;

/// How deeply arrays and objects may nest (`[[1]]` nests 2 levels). Real
/// events nest 4 or 5 levels; the limit bounds the work done before the
/// signature is checked.
pub(crate) const MAX_DEPTH: usize = 256;

/// The largest input accepted: positions are kept as `u32`, and the output may
/// be five times the input.
const MAX_INPUT: usize = 256 * 1024 * 1024;

/// Why the input is not JSON that `JSON.parse` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset in the input where parsing stopped.
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
/// [`Error::BodyNotJson`] when `JSON.parse` would throw;
/// [`Error::TooDeep`] when arrays and objects nest deeper than 256 levels;
/// [`Error::BodyTooLarge`] beyond 256 MiB.
pub fn canonicalize(input: &[u8]) -> Result<String, Error> {
    if input.len() > MAX_INPUT {
        return Err(Error::BodyTooLarge { limit: MAX_INPUT });
    }
    let mut canon = Canonicalizer {
        input,
        pos: 0,
        out: Vec::with_capacity(input.len()),
        lossy: false,
        frames: Vec::new(),
        entries: Vec::new(),
        scratch: Vec::new(),
        order: Vec::new(),
        value_of: Vec::new(),
        indexed: Vec::new(),
    };
    canon.run()?;
    // String contents are copied as they are. When the output is UTF-8, so
    // was every run copied into it, and nothing needed replacing (see
    // `Canonicalizer::lossy`).
    match String::from_utf8(std::mem::take(&mut canon.out)) {
        Ok(text) => Ok(text),
        Err(e) => {
            // Invalid UTF-8 in a string: once more, replacing it. The parse
            // is the same (replacement only changes what is written), so it
            // succeeds again.
            let mut out = e.into_bytes();
            out.clear();
            canon.out = out;
            canon.lossy = true;
            canon.pos = 0;
            canon.frames.clear();
            canon.entries.clear();
            canon.run()?;
            Ok(String::from_utf8(canon.out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    }
}

/// Where an object's key sits in the output: the key's text (escaped,
/// without its quotes) is `out[start..end]`, and its value starts at `end + 2`
/// (after `":`) and ends 2 bytes before the next key (before `,"`) or where
/// the object closes.
#[derive(Clone, Copy)]
struct Entry {
    start: u32,
    end: u32,
}

/// An open object.
struct ObjectFrame {
    /// Where its `{` is in the output.
    start: u32,
    /// Its first entry in `entries`.
    first: usize,
    /// Whether its keys are already out of JavaScript's order.
    reorder: bool,
    /// Whether a key that is not an array index has been seen.
    named: bool,
    /// The last array-index key seen.
    last_index: Option<u32>,
}

enum Frame {
    Array,
    Object(ObjectFrame),
}

struct Canonicalizer<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    /// Whether invalid UTF-8 in strings is replaced by U+FFFD as it is
    /// copied. The first pass copies strings as they are, which is faster,
    /// and `canonicalize` runs again with this set when the output is not
    /// UTF-8. The two passes agree whenever the first one's output is UTF-8:
    /// a run of string contents ends at an ASCII byte and is followed in the
    /// output by ASCII or by a whole character from an escape, so an
    /// invalid sequence cannot become valid in the output; a key with one
    /// would be in the output (repeated keys are the same bytes), so every
    /// key compares the same way in both passes; and a value dropped for a
    /// repeated key is dropped by both.
    lossy: bool,
    frames: Vec<Frame>,
    /// The keys of every open object, innermost last.
    entries: Vec<Entry>,
    /// Reused buffers for reordering an object.
    scratch: Vec<u8>,
    order: Vec<u32>,
    value_of: Vec<u32>,
    indexed: Vec<(u32, u32)>,
}

/// The most keys an object may have for its repeats to be found by comparing
/// every pair, which is quicker than sorting for the few keys of a real object.
const SMALL_OBJECT: u32 = 12;

/// `value_of` marker for an entry that is not the first of its key.
const SHADOWED: u32 = u32::MAX;

/// The value of an array-index key: a canonical decimal integer below 2^32 - 1.
fn array_index(key: &[u8]) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if key.len() > 1 && key[0] == b'0' {
        return None;
    }
    let n = key.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    u32::try_from(n).ok().filter(|&n| n < u32::MAX)
}

/// A position in the output as `u32`; the input cap keeps every position below 2^31.
fn pos32(pos: usize) -> u32 {
    u32::try_from(pos).unwrap_or(u32::MAX)
}

impl Canonicalizer<'_> {
    fn err(&self, reason: &'static str) -> Error {
        Error::BodyNotJson(SyntaxError {
            offset: self.pos,
            reason,
        })
    }

    /// Skips whitespace; a run of spaces (indentation) eight bytes at a time.
    #[inline]
    fn skip_ws(&mut self) {
        self.pos = skip_ws(self.input, self.pos);
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Steps into the `{` or `[` at the cursor, if one more level of nesting
    /// is allowed. An empty container is written whole and gives `false`;
    /// otherwise nothing is written yet and the caller opens its frame.
    #[inline]
    fn open(&mut self, empty: &'static [u8; 2]) -> Result<bool, Error> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(Error::TooDeep { limit: MAX_DEPTH });
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(empty[1]) {
            self.pos += 1;
            self.out.extend_from_slice(empty);
            Ok(false)
        } else {
            Ok(true)
        }
    }

    fn run(&mut self) -> Result<(), Error> {
        loop {
            // The start of a value.
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    if self.open(b"{}")? {
                        self.frames.push(Frame::Object(ObjectFrame {
                            start: pos32(self.out.len()),
                            first: self.entries.len(),
                            reorder: false,
                            named: false,
                            last_index: None,
                        }));
                        self.out.push(b'{');
                        self.key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    if self.open(b"[]")? {
                        self.frames.push(Frame::Array);
                        self.out.push(b'[');
                        continue;
                    }
                }
                Some(b'"') => {
                    self.pos += 1;
                    self.out.push(b'"');
                    self.string()?;
                    self.out.push(b'"');
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.err("expected a value")),
                None => return Err(self.err("unexpected end of input")),
            }
            // A value ended: close the containers that end here, or move on to
            // the next element.
            loop {
                self.skip_ws();
                let in_array = match self.frames.last() {
                    None => {
                        if self.pos != self.input.len() {
                            return Err(self.err("unexpected text after the JSON value"));
                        }
                        return Ok(());
                    }
                    Some(frame) => matches!(frame, Frame::Array),
                };
                match (self.peek(), in_array) {
                    (Some(b','), _) => {
                        self.pos += 1;
                        self.out.push(b',');
                        if !in_array {
                            self.key()?;
                        }
                        break;
                    }
                    (Some(b']'), true) => {
                        self.pos += 1;
                        self.out.push(b']');
                        self.frames.pop();
                    }
                    (Some(b'}'), false) => {
                        self.pos += 1;
                        self.close_object();
                    }
                    (_, true) => return Err(self.err("expected ',' or ']' in an array")),
                    (_, false) => return Err(self.err("expected ',' or '}' in an object")),
                }
            }
        }
    }

    /// Parses `"key":` and writes it, recording the key in the open object.
    fn key(&mut self) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string key"));
        }
        self.pos += 1;
        self.out.push(b'"');
        let start = self.out.len();
        self.string()?;
        let end = self.out.len();
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.err("expected ':' after a key"));
        }
        self.pos += 1;
        self.out.extend_from_slice(b"\":");
        let index = array_index(&self.out[start..end]);
        if let Some(Frame::Object(object)) = self.frames.last_mut() {
            match index {
                Some(n) => {
                    if object.named || object.last_index.is_some_and(|last| n <= last) {
                        object.reorder = true;
                    }
                    object.last_index = Some(n);
                }
                None => object.named = true,
            }
        }
        self.entries.push(Entry {
            start: pos32(start),
            end: pos32(end),
        });
        Ok(())
    }

    /// Closes the innermost object (its `}` has been read), putting its keys
    /// in JavaScript's order if they are not already.
    fn close_object(&mut self) {
        let Some(Frame::Object(object)) = self.frames.pop() else {
            return;
        };
        let Self {
            out,
            entries,
            scratch,
            order,
            value_of,
            indexed,
            ..
        } = self;
        let close = pos32(out.len());
        let keys = entries.get(object.first..).unwrap_or_default();
        let key = |i: u32| {
            let e = keys[i as usize];
            &out[e.start as usize..e.end as usize]
        };
        let n = pos32(keys.len());
        // Repeats: a small object's keys are compared pair by pair (at most
        // (k - 1) / 2 comparisons per key); a larger object's are sorted
        // once, O(k log k) for any k. A repeat needs the sorted order below.
        let sort = |order: &mut Vec<u32>| {
            order.clear();
            order.extend(0..n);
            order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        };
        let repeated = if n <= SMALL_OBJECT {
            (1..n).any(|j| {
                let b = key(j);
                (0..j).any(|i| {
                    let a = key(i);
                    a.len() == b.len() && a.first() == b.first() && a == b
                })
            })
        } else {
            sort(order);
            order.windows(2).any(|w| key(w[0]) == key(w[1]))
        };
        if !object.reorder && !repeated {
            out.push(b'}');
            entries.truncate(object.first);
            return;
        }
        if repeated && n <= SMALL_OBJECT {
            sort(order);
        }
        // Each key is written at its first position with its last value.
        value_of.clear();
        if repeated {
            value_of.resize(n as usize, SHADOWED);
            let mut group = 0;
            while group < order.len() {
                let mut last = group;
                while last + 1 < order.len() && key(order[last + 1]) == key(order[group]) {
                    last += 1;
                }
                value_of[order[group] as usize] = order[last];
                group = last + 1;
            }
        } else {
            value_of.extend(0..n);
        }
        indexed.clear();
        for (i, &v) in value_of.iter().enumerate() {
            if v != SHADOWED
                && let Some(index) = array_index(key(pos32(i)))
            {
                indexed.push((index, pos32(i)));
            }
        }
        indexed.sort_unstable();
        let value = |i: u32| {
            let i = i as usize;
            let start = keys[i].end as usize + 2;
            let end = keys
                .get(i + 1)
                .map_or(close as usize, |e| e.start as usize - 2);
            &out[start..end]
        };
        let named = value_of
            .iter()
            .enumerate()
            .filter(|&(i, &v)| v != SHADOWED && array_index(key(pos32(i))).is_none())
            .map(|(i, _)| pos32(i));
        let in_order = || indexed.iter().map(|&(_, i)| i).chain(named.clone());
        // `{`, `}`, and per key `"key":value` and a comma.
        let size = 1 + in_order()
            .map(|i| key(i).len() + value(value_of[i as usize]).len() + 4)
            .sum::<usize>();
        scratch.clear();
        if scratch.capacity() < size {
            // Grow without keeping the old buffer alive while the new one is allocated.
            let grown = (scratch.capacity() * 2).min(out.capacity()).max(size);
            drop(std::mem::take(scratch));
            scratch.reserve_exact(grown);
        }
        scratch.push(b'{');
        for i in in_order() {
            if scratch.len() > 1 {
                scratch.push(b',');
            }
            scratch.push(b'"');
            scratch.extend_from_slice(key(i));
            scratch.extend_from_slice(b"\":");
            scratch.extend_from_slice(value(value_of[i as usize]));
        }
        scratch.push(b'}');
        out.truncate(object.start as usize);
        out.extend_from_slice(scratch);
        entries.truncate(object.first);
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), Error> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            self.out.extend_from_slice(word);
            Ok(())
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

    fn number(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
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
        let int_end = self.pos;
        let mut frac = int_end..int_end;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let frac_start = self.pos;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after '.'"));
            }
            frac = frac_start..self.pos;
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            exponent = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
        }
        let text = &self.input[start..self.pos];
        if !exponent
            && prints_as_written(negative, &self.input[int_start..int_end], &self.input[frac])
        {
            self.out.extend_from_slice(text);
            return Ok(());
        }
        if push_number_exact(&mut self.out, text) {
            Ok(())
        } else {
            Err(self.err("invalid number"))
        }
    }

    /// Parses a string's contents after its opening quote, through its
    /// closing quote, writing them escaped the JavaScript way (without quotes).
    #[inline]
    fn string(&mut self) -> Result<(), Error> {
        // Most strings are one plain run: copied here, without a call.
        let rest = &self.input[self.pos..];
        let len = plain_run(rest);
        if !self.lossy && rest.get(len) == Some(&b'"') {
            self.out.extend_from_slice(&rest[..len]);
            self.pos += len + 1;
            return Ok(());
        }
        self.string_runs(len)
    }

    /// [`Self::string`] for a string with escapes (or to be read lossily, or
    /// in error), whose first run of plain characters is `len` bytes long.
    fn string_runs(&mut self, mut len: usize) -> Result<(), Error> {
        loop {
            // The run of plain characters up to the next quote, backslash or
            // control character.
            let run = &self.input[self.pos..self.pos + len];
            self.pos += len;
            if self.lossy {
                // Copy it, replacing invalid UTF-8 as `String::from_utf8_lossy`
                // (and Node) do. A run ends at an ASCII byte, which never splits
                // a valid sequence.
                for chunk in run.utf8_chunks() {
                    self.out.extend_from_slice(chunk.valid().as_bytes());
                    if !chunk.invalid().is_empty() {
                        self.out.extend_from_slice("\u{fffd}".as_bytes());
                    }
                }
            } else {
                self.out.extend_from_slice(run);
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape()?;
                }
                Some(_) => return Err(self.err("control character in a string")),
                None => return Err(self.err("unterminated string")),
            }
            len = plain_run(&self.input[self.pos..]);
        }
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        let digits = self
            .input
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

    fn escape(&mut self) -> Result<(), Error> {
        let Some(b) = self.peek() else {
            return Err(self.err("unterminated escape"));
        };
        self.pos += 1;
        let out = match b {
            b'"' => &b"\\\""[..],
            b'\\' => b"\\\\",
            b'/' => b"/",
            b'b' => b"\\b",
            b'f' => b"\\f",
            b'n' => b"\\n",
            b'r' => b"\\r",
            b't' => b"\\t",
            b'u' => {
                let unit = self.hex4()?;
                if (0xD800..0xDC00).contains(&unit) && self.input[self.pos..].starts_with(b"\\u") {
                    // A high surrogate: pair it with a following low one if there is one.
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        let code = 0x10000
                            + ((u32::from(unit) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        let c = char::from_u32(code).unwrap_or('\u{fffd}');
                        self.out
                            .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        return Ok(());
                    }
                    self.pos = save;
                }
                push_code_unit(&mut self.out, unit);
                return Ok(());
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("invalid escape"));
            }
        };
        self.out.extend_from_slice(out);
        Ok(())
    }
}

/// Writes one UTF-16 code unit the way `JSON.stringify` does.
fn push_code_unit(out: &mut Vec<u8>, unit: u16) {
    let escaped: &[u8] = match unit {
        0x22 => b"\\\"",
        0x5c => b"\\\\",
        0x08 => b"\\b",
        0x09 => b"\\t",
        0x0a => b"\\n",
        0x0c => b"\\f",
        0x0d => b"\\r",
        0x00..=0x1f | 0xD800..=0xDFFF => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[usize::from(unit >> shift & 0xf)]);
            }
            return;
        }
        _ => {
            let c = char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}');
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            return;
        }
    };
    out.extend_from_slice(escaped);
}

/// The position of the first byte at or after `pos` that is not whitespace
/// (space, tab, LF, CR), or the length of `input`. A run of spaces
/// (indentation) is skipped eight bytes at a time.
#[inline]
fn skip_ws(input: &[u8], pos: usize) -> usize {
    match input.get(pos) {
        Some(&b) if b <= b' ' => skip_ws_run(input, pos),
        _ => pos,
    }
}

/// [`skip_ws`] once a byte that may be whitespace was seen: each whitespace
/// byte, then the spaces after it (indentation) eight at a time.
fn skip_ws_run(input: &[u8], mut pos: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = input.get(pos) {
        pos += 1;
        while let Some(word) = input.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
            // The lowest byte that is not a space, read little-endian.
            let other = u64::from_le_bytes(*word) ^ SPACES;
            if other != 0 {
                pos += (other.trailing_zeros() / 8) as usize;
                break;
            }
            pos += 8;
        }
    }
    pos
}

/// The length of the plain run at the start of `bytes`: the bytes before the
/// first `"`, `\` or control character (U+0000 to U+001F), or all of them.
///
/// Eight bytes at a time: in a word `x`, `(x - 0x01…01) & !x & 0x80…80` flags
/// the zero bytes, and `(x - 0x20…20) & !x & 0x80…80` the bytes below 0x20.
/// A borrow can flag a byte above a real match, never one below the first,
/// so the lowest flag is the first match (the word is read little-endian).
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    let mut i = 0;
    while let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word);
        let quote = x ^ QUOTES;
        let backslash = x ^ BACKSLASHES;
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(SPACES) & !x)
            & HIGHS;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Whether `JSON.stringify(JSON.parse(literal))` is the literal itself, for a
/// JSON number literal without an exponent: `-` if `negative`, the integer
/// digits `int` (`0` or no leading zero, as the grammar requires) and the
/// fraction digits `frac` (empty when there is no `.`).
///
/// `false` means only "not shown to be", and the caller takes the exact path.
/// `true` rests on two facts:
///
/// - A decimal of at most 15 significant digits in the normal range is the
///   only decimal of at most 15 digits that rounds to its double. Two such
///   decimals `a < b` differ by at least one unit in `a`'s 15th digit, more
///   than `a / 10^15`, while the decimals that round to one double lie in an
///   interval no wider than one ulp, at most `2^-52` times the double. So the
///   shortest digits that round-trip (what `Number::toString` prints, and what
///   `ryu-js` computes) are the literal's own significant digits.
/// - `Number::toString` writes such digits without an exponent, in the
///   literal's form, when the value's decimal exponent `n` (the position of
///   the point after the first significant digit) is in -6 < n <= 21:
///   digits and zeros up to the point, then the rest after a `.`, or `0.`
///   and `-n` zeros before the digits when n <= 0.
///
/// Hence, with no exponent in the literal:
///
/// - an integer of at most 15 digits prints as written (it is exact as a
///   double, and n <= 15), except `-0`, which prints as `0`;
/// - a fraction prints as written when its last digit is not `0` (`1.0`
///   prints as `1`, `10.50` as `10.5`), it has at most 15 significant
///   digits (`0.30000000000000004` has 17 and goes the exact way), and,
///   for `0.…`, at most 5 zeros follow the point (`0.000001` prints as
///   written, `0.0000001` as `1e-7`). Every such value is at least 10^-6
///   and below 10^15, far inside the normal range.
fn prints_as_written(negative: bool, int: &[u8], frac: &[u8]) -> bool {
    if frac.is_empty() {
        return int.len() <= 15 && !(negative && int == b"0");
    }
    if frac.last() == Some(&b'0') {
        return false;
    }
    let significant = if int == b"0" {
        let zeros = frac.iter().take_while(|&&d| d == b'0').count();
        if zeros > 5 {
            return false;
        }
        frac.len() - zeros
    } else {
        int.len() + frac.len()
    };
    significant <= 15
}

/// Writes the number literal `text` the exact way: parsed to the nearest
/// double, printed by ECMAScript `Number::toString`; `null` for a value too
/// large for a double, and `0` for either zero. `false` if `text` is not a
/// number (which the parser has already ruled out).
fn push_number_exact(out: &mut Vec<u8>, text: &[u8]) -> bool {
    let Some(value) = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
    else {
        return false;
    };
    if !value.is_finite() {
        out.extend_from_slice(b"null");
    } else if value == 0.0 {
        out.push(b'0');
    } else {
        let mut buffer = ryu_js::Buffer::new();
        out.extend_from_slice(buffer.format_finite(value).as_bytes());
    }
    true
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
            ("1e20", "100000000000000000000"),
            ("10.50", "10.5"),
            ("12.30", "12.3"),
            ("-7.00", "-7"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("0.1000000000000001", "0.1000000000000001"),
            ("9.999999999999999", "9.999999999999998"),
            ("0.0000001", "1e-7"),
            ("1e999999999999", "null"),
            ("1e-999999999999", "0"),
            ("-0e999999", "0"),
        ] {
            assert_eq!(c(input), expected, "{input}");
        }
    }

    /// Splits a literal without an exponent for `prints_as_written`.
    fn copied(literal: &str) -> bool {
        let (negative, rest) = match literal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, literal),
        };
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        prints_as_written(negative, int.as_bytes(), frac.as_bytes())
    }

    fn exact(literal: &str) -> String {
        let mut out = Vec::new();
        assert!(push_number_exact(&mut out, literal.as_bytes()), "{literal}");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_number_fast_path_copies_only_what_javascript_prints_as_written() {
        for (literal, as_written) in [
            ("0", true),
            ("-0", false),
            ("0.0", false),
            ("-0.0", false),
            ("1.0", false),
            ("10.50", false),
            ("10.5", true),
            ("-10.5", true),
            ("12.34", true),
            ("0.000001", true),
            ("-0.000009", true),
            ("0.0000001", false),
            ("0.0000012", true),
            ("0.00000012", false),
            ("123456789012345", true),
            ("-999999999999999", true),
            ("1000000000000000", false),
            ("9007199254740993", false),
            ("12345678901234.5", true),
            ("0.123456789012345", true),
            ("0.00000123456789012345", true),
            ("0.000001234567890123456", false),
            ("0.1234567890123456", false),
            ("123456789012345.6", false),
            ("0.30000000000000004", false),
            ("0.1", true),
        ] {
            // Copied ones print as written; the others take the exact path
            // (a few of them, such as 1000000000000000, also print as written).
            assert_eq!(copied(literal), as_written, "{literal}");
            if as_written {
                assert_eq!(exact(literal), literal);
            }
            assert_eq!(c(literal), exact(literal), "{literal}");
        }
    }

    #[test]
    fn every_literal_the_fast_path_copies_is_what_the_exact_path_prints() {
        let check = |literal: &str| {
            let copy = copied(literal);
            if copy {
                assert_eq!(exact(literal), literal, "copied but printed otherwise");
            }
            assert_eq!(c(literal), exact(literal), "{literal}");
            copy
        };
        // Every price below 1,000 with two decimals, as JavaScript writes it
        // and with its trailing zeros.
        let mut copies = 0;
        for cents in 0..100_000 {
            let (whole, c) = (cents / 100, cents % 100);
            copies += usize::from(check(&format!("{whole}.{c:02}")));
            check(&format!("-{whole}.{}", c / 10));
            check(&format!("{whole}"));
        }
        assert_eq!(
            copies, 90_000,
            "every price without a trailing zero is copied"
        );
        // Random literals up to 17 significant digits, with up to 7 zeros
        // after the point.
        let mut rng = fastrand::Rng::with_seed(20_261_205);
        let mut copies = 0;
        for _ in 0..100_000 {
            let mut literal = String::new();
            if rng.bool() {
                literal.push('-');
            }
            let int_len = rng.usize(0..17);
            if int_len == 0 {
                literal.push('0');
            } else {
                literal.push(char::from(rng.u8(b'1'..=b'9')));
                literal.extend((1..int_len).map(|_| char::from(rng.u8(b'0'..=b'9'))));
            }
            if rng.u8(..) < 220 {
                literal.push('.');
                literal.push_str(&"0".repeat(rng.usize(0..8)));
                literal.extend((0..rng.usize(1..17)).map(|_| char::from(rng.u8(b'0'..=b'9'))));
            }
            copies += usize::from(check(&literal));
        }
        assert!(copies > 20_000, "the fast path was rarely taken: {copies}");
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
        // An escape, a control character or the end of the input after plain
        // runs of every length around the eight bytes read at a time.
        for n in 0..20 {
            let run = "é".repeat(n / 2) + &"a".repeat(n % 2);
            assert_eq!(
                c(&format!("\"{run}\\u0041{run}\\n\"")),
                format!("\"{run}A{run}\\n\"")
            );
            assert_eq!(
                c(&format!("[\"{run}\",\"{run}\"]")),
                format!("[\"{run}\",\"{run}\"]")
            );
            assert!(canonicalize(format!("\"{run}\u{1f}\"").as_bytes()).is_err());
            assert!(canonicalize(format!("\"{run}").as_bytes()).is_err());
            assert!(canonicalize(format!("\"{run}\\").as_bytes()).is_err());
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(canonicalize(b"\"a\xffb\"").unwrap(), "\"a\u{fffd}b\"");
        for (input, expected) in [
            // A truncated sequence before an escape, a quote or a control
            // character stays invalid whatever follows it.
            (
                &b"[\"\xc3\\u00a9\",\"\xe2\x82\"]"[..],
                "[\"\u{fffd}\u{a9}\",\"\u{fffd}\"]",
            ),
            (b"\"\xf0\x9f\x98\\n\"", "\"\u{fffd}\\n\""),
            // Keys that differ only in invalid bytes are the same key once replaced.
            (b"{\"a\xff\":1,\"a\xfe\":2}", "{\"a\u{fffd}\":2}"),
            // A repeated key's dropped value had invalid UTF-8: nothing to replace.
            (b"{\"k\":\"\xff\",\"k\":\"ok\"}", "{\"k\":\"ok\"}"),
            (
                b"{\"k\":\"\xff\",\"k\":\"\xc3\xa9\xff\"}",
                "{\"k\":\"\u{e9}\u{fffd}\"}",
            ),
        ] {
            assert_eq!(canonicalize(input).unwrap(), expected, "{input:?}");
        }
        // A syntax error after invalid UTF-8 is reported where it is.
        let Err(Error::BodyNotJson(error)) = canonicalize(b"[\"\xff\", tru]") else {
            panic!("accepted")
        };
        assert_eq!(error.offset, 6);
    }

    #[test]
    fn plain_runs_end_at_the_first_quote_backslash_or_control_character() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len())
        };
        let mut rng = fastrand::Rng::with_seed(7);
        // Bytes near the ones that stop a run, and across the word boundaries.
        let alphabet = [
            0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, 0x5b, b'\\', 0x5d, 0x7f, 0x80, 0xa2, 0xdc,
            0xe2, 0xff,
        ];
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..) < 40 {
                        alphabet[rng.usize(..alphabet.len())]
                    } else {
                        rng.u8(0x20..)
                    }
                })
                .collect();
            assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
        }
        for stop in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..20 {
                let mut bytes = vec![0xa9; 20];
                bytes[at] = stop;
                assert_eq!(plain_run(&bytes), at);
                bytes[at..].fill(0x80 | stop);
                assert_eq!(plain_run(&bytes), 20);
            }
        }
    }

    #[test]
    fn whitespace_is_dropped() {
        assert_eq!(
            c(" \t\r\n{ \"a\" : [ 1 , { } , [ ] ] } \n"),
            r#"{"a":[1,{},[]]}"#
        );
        // Runs of spaces of every length around the eight skipped at a time,
        // mixed with tabs, CRs and LFs, and at the end of the input.
        for n in 0..20 {
            let sp = " ".repeat(n);
            let text =
                format!("{sp}{{\n{sp}\"a\"{sp}:{sp}[{sp}1{sp},\r\n\t{sp}\"x y\" \t{sp}]{sp}}}{sp}");
            assert_eq!(c(&text), r#"{"a":[1,"x y"]}"#, "{n} spaces");
            assert!(canonicalize(format!("{text}{sp}x").as_bytes()).is_err());
        }
    }

    #[test]
    fn nesting_is_limited_to_max_depth() {
        let nest = |depth: usize, object: bool| {
            let (open, close) = if object { ("{\"k\":", "}") } else { ("[", "]") };
            let inner = if object { "{}" } else { "[]" };
            format!(
                "{}{inner}{}",
                open.repeat(depth - 1),
                close.repeat(depth - 1)
            )
        };
        for object in [false, true] {
            let deepest = nest(MAX_DEPTH, object);
            assert_eq!(c(&deepest), deepest);
            let spaced = deepest.replace(':', ": ");
            assert_eq!(c(&spaced), deepest);
            for too_deep in [nest(MAX_DEPTH + 1, object), nest(100_000, object)] {
                assert!(matches!(
                    canonicalize(too_deep.as_bytes()),
                    Err(Error::TooDeep { limit: MAX_DEPTH })
                ));
            }
        }
        // Mixed, with a scalar at the bottom.
        let mixed = format!("{}1{}", "[{\"a\":".repeat(128), "}]".repeat(128));
        assert_eq!(c(&mixed), mixed);
        let over = format!("[{mixed}]");
        assert!(matches!(
            canonicalize(over.as_bytes()),
            Err(Error::TooDeep { .. })
        ));
    }

    #[test]
    fn nested_objects_that_need_reordering_are_rewritten_once_each() {
        // Every level has a named key before an index key, and a repeated key.
        let depth = 50;
        let mut input = String::from("0");
        let mut expected = String::from("0");
        for level in 0..depth {
            input = format!("{{\"b\":{level},\"7\":{input},\"b\":\"x{level}\"}}");
            expected = format!("{{\"7\":{expected},\"b\":\"x{level}\"}}");
        }
        assert_eq!(c(&input), expected);
    }

    #[test]
    fn repeats_are_found_in_objects_on_either_side_of_the_small_object_limit() {
        let limit = SMALL_OBJECT as usize;
        for n in [2, 3, limit - 1, limit, limit + 1, limit + 2] {
            // Named keys, with an index key among them.
            let names: Vec<String> = (0..n)
                .map(|i| {
                    if i == n / 2 {
                        "7".to_owned()
                    } else {
                        format!("k{i}")
                    }
                })
                .collect();
            let object = |keys: &[String]| {
                let body: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("\"{k}\": {i}"))
                    .collect();
                format!("{{ {} }}", body.join(", "))
            };
            // No repeat: only the index key moves to the front.
            let mut expected: Vec<String> = vec![format!("\"7\":{}", n / 2)];
            expected.extend(
                names
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| *k != "7")
                    .map(|(i, k)| format!("\"{k}\":{i}")),
            );
            assert_eq!(c(&object(&names)), format!("{{{}}}", expected.join(",")));
            // Each pair repeated in turn: the first position, the last value.
            for first in 0..n {
                for last in first + 1..n {
                    let mut keys = names.clone();
                    keys[last] = keys[first].clone();
                    let mut seen = Vec::new();
                    let mut entries: Vec<(String, usize)> = Vec::new();
                    for (i, k) in keys.iter().enumerate() {
                        match seen.iter().position(|s| s == k) {
                            Some(at) => entries[at].1 = i,
                            None => {
                                seen.push(k.clone());
                                entries.push((k.clone(), i));
                            }
                        }
                    }
                    entries.sort_by_key(|(k, _)| k != "7");
                    let expected: Vec<String> = entries
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    assert_eq!(
                        c(&object(&keys)),
                        format!("{{{}}}", expected.join(",")),
                        "{n} keys, {first} repeated at {last}"
                    );
                }
            }
        }
    }

    #[test]
    fn many_keys_and_repeats_are_handled_in_order() {
        // Unique keys interleaved with repeats of earlier ones, and index keys.
        let mut input = String::from("{");
        for i in 0..5000 {
            input.push_str(&format!(
                "\"k{i}\":{i},\"k{}\":\"r{i}\",\"{}\":{i},",
                i / 2,
                5000 - i
            ));
        }
        input.push_str("\"end\":true}");
        let node_like: serde_json::Value = serde_json::from_str(&c(&input)).unwrap();
        let map = node_like.as_object().unwrap();
        assert_eq!(map.len(), 5000 + 5000 + 1);
        assert_eq!(map["k0"], "r1");
        assert_eq!(map["k4999"], 4999);
        assert_eq!(map["k2499"], "r4999");
        let text = c(&input);
        assert!(
            text.starts_with("{\"1\":4999,\"2\":4998,"),
            "{}",
            &text[..40]
        );
        assert!(text.contains(",\"5000\":0,\"k0\":\"r1\",\"k1\":\"r3\","));
        assert!(text.ends_with(",\"end\":true}"));
    }

    #[test]
    fn numbers_and_escapes_that_change_length() {
        assert_eq!(
            c("[1e20,1E-6,\"\\u00e9\\/\"]"),
            "[100000000000000000000,0.000001,\"é/\"]"
        );
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
        assert_eq!(
            err.to_string(),
            "the body is not JSON: expected true, false or null at byte 5"
        );
        let Error::BodyNotJson(syntax) = err else {
            panic!("{err:?}")
        };
        assert_eq!(syntax.offset, 5);
    }
}
