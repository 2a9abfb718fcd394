//! The generator of JSON texts: any value, with the whitespace, keys,
//! strings and numbers that exercise the JavaScript rules, and the one-byte
//! mutation of a document.

use std::fmt::Write as _;

/// A seeded generator of JSON texts that exercise the JavaScript rules.
pub(super) struct Gen {
    pub(super) rng: fastrand::Rng,
    pub(super) out: Vec<u8>,
}

impl Gen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            out: Vec::new(),
        }
    }

    pub(super) fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.usize(..options.len())]
    }

    /// Writes one of `options`, picked at random.
    pub(super) fn one_of(&mut self, options: &[&str]) {
        let chosen = self.pick(options);
        self.out.extend_from_slice(chosen.as_bytes());
    }

    pub(super) fn ws(&mut self) {
        if self.rng.u8(..) < 50 {
            self.one_of(&[" ", "\n", "\t", "\r\n", "  ", " \n\t "]);
        }
    }

    pub(super) fn value(&mut self, depth: u32) {
        if depth < 2 && self.rng.u16(..) < 80 {
            return self.deep_chain();
        }
        let choice = if depth > 5 {
            self.rng.u8(0..5)
        } else {
            self.rng.u8(0..8)
        };
        match choice {
            0 | 3 => self.string(),
            1 | 4 => self.number(),
            2 => self.one_of(&["true", "false", "null"]),
            5 | 6 => self.object(depth),
            _ => self.array(depth),
        }
    }

    fn deep_chain(&mut self) {
        // Up to the re-serialiser's nesting limit (256), with room for the
        // three levels of the event around the chain.
        let depth = self.rng.usize(50..250);
        let kinds: Vec<bool> = (0..depth).map(|_| self.rng.bool()).collect();
        for &object in &kinds {
            self.out
                .extend_from_slice(if object { b"{\"k\":" } else { b"[" });
        }
        self.number();
        for &object in kinds.iter().rev() {
            self.out.push(if object { b'}' } else { b']' });
        }
    }

    fn array(&mut self, depth: u32) {
        self.out.push(b'[');
        self.ws();
        let n = self.rng.usize(0..6);
        for i in 0..n {
            if i > 0 {
                self.out.push(b',');
                self.ws();
            }
            self.value(depth + 1);
            self.ws();
        }
        self.out.push(b']');
    }

    fn object(&mut self, depth: u32) {
        self.out.push(b'{');
        self.ws();
        let n = if self.rng.u8(..) < 20 {
            self.rng.usize(16..40)
        } else {
            self.rng.usize(0..8)
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for i in 0..n {
            if i > 0 {
                self.out.push(b',');
                self.ws();
            }
            let key = if !keys.is_empty() && self.rng.u8(..) < 40 {
                keys[self.rng.usize(..keys.len())].clone()
            } else {
                self.key()
            };
            self.out.extend_from_slice(&key);
            keys.push(key);
            self.ws();
            self.out.push(b':');
            self.ws();
            self.value(depth + 1);
            self.ws();
        }
        self.out.push(b'}');
    }

    /// A key literal, quotes included.
    pub(super) fn key(&mut self) -> Vec<u8> {
        let text = match self.rng.u8(0..10) {
            0 | 1 => self.rng.u32(..).to_string(),
            2 => self.rng.u32(0..20).to_string(),
            3 => self
                .pick(&[
                    "4294967294",
                    "4294967295",
                    "4294967296",
                    "01",
                    "00",
                    "-1",
                    "-0",
                    "1.0",
                    "1e3",
                    "0",
                    " 1",
                    "1 ",
                ])
                .to_owned(),
            4 => {
                // An escaped spelling of a digit or letter key.
                let c = self.pick(&["0", "1", "7", "a", "b"]);
                format!("\\u{:04X}", u32::from(c.as_bytes()[0]))
            }
            5 => return self.string_literal(),
            _ => {
                let word = self.pick(&[
                    "a",
                    "b",
                    "id",
                    "eventType",
                    "__proto__",
                    "constructor",
                    "é",
                    "日本",
                    "😀",
                    "z",
                    "A",
                ]);
                word.to_owned()
            }
        };
        format!("\"{text}\"").into_bytes()
    }

    pub(super) fn string(&mut self) {
        let literal = self.string_literal();
        self.out.extend_from_slice(&literal);
    }

    fn string_literal(&mut self) -> Vec<u8> {
        let mut s = vec![b'"'];
        for _ in 0..self.rng.usize(0..12) {
            match self.rng.u8(0..14) {
                0..=3 => {
                    let c = self.rng.alphanumeric();
                    s.extend_from_slice(c.to_string().as_bytes());
                }
                4 => {
                    let c = self.pick(&[
                        "é", "日", "😀", "\u{7f}", "\u{2028}", "\u{fffd}", " ", "'", "/", "\u{a0}",
                    ]);
                    s.extend_from_slice(c.as_bytes());
                }
                5 => {
                    let e = self.pick(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]);
                    s.extend_from_slice(e.as_bytes());
                }
                6 => {
                    let unit = self.rng.u16(0..0x20);
                    s.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
                7 => {
                    let unit = self.rng.u16(..);
                    let text = if self.rng.bool() {
                        format!("\\u{unit:04x}")
                    } else {
                        format!("\\u{unit:04X}")
                    };
                    s.extend_from_slice(text.as_bytes());
                }
                8 => {
                    // A surrogate pair, or a lone half.
                    let high = self.rng.u16(0xD800..0xDC00);
                    let low = self.rng.u16(0xDC00..0xE000);
                    let text = match self.rng.u8(0..4) {
                        0 => format!("\\u{high:04x}"),
                        1 => format!("\\u{low:04X}"),
                        2 => format!("\\u{low:04x}\\u{high:04x}"),
                        _ => format!("\\u{high:04X}\\u{low:04x}"),
                    };
                    s.extend_from_slice(text.as_bytes());
                }
                9 => {
                    let e = self.pick(&[
                        "\\u0022", "\\u005c", "\\u005C", "\\u002f", "\\u0041", "\\u00e9", "\\u2028",
                    ]);
                    s.extend_from_slice(e.as_bytes());
                }
                10 if self.rng.u8(..) < 30 => {
                    // Invalid UTF-8, which both sides must replace with U+FFFD.
                    let bad: &[u8] = [
                        &b"\xff"[..],
                        b"\xc3",
                        b"\xed\xa0\x80",
                        b"\xe2\x82",
                        b"\xf0\x9f\x98",
                        b"\x80",
                    ][self.rng.usize(0..6)];
                    s.extend_from_slice(bad);
                }
                _ => s.push(self.rng.u8(b'a'..=b'z')),
            }
        }
        s.push(b'"');
        s
    }

    pub(super) fn number(&mut self) {
        if self.rng.u8(..) < 100 {
            return self.one_of(&[
                "0",
                "-0",
                "0.0",
                "-0.0",
                "1.0",
                "1E2",
                "1e21",
                "1e-7",
                "1e+21",
                "0.000001",
                "0.0000001",
                "12345678901234567890",
                "9007199254740993",
                "-9007199254740993",
                "1e400",
                "-1e400",
                "5e-324",
                "2.5e-324",
                "1e-400",
                "1.7976931348623157e308",
                "0.1",
                "0.30000000000000004",
                "123456789012345678",
                "100000000000000000000",
                "1000000000000000000000",
                "4.35",
                "0.5e1",
                "1E-0",
                "10E+3",
                "1.5e300",
                "123e-20",
                "999999999999999999999999",
                "2e-7",
                "-1.5E-10",
            ]);
        }
        let mut n = String::new();
        if self.rng.bool() {
            n.push('-');
        }
        if self.rng.u8(..) < 40 {
            n.push('0');
        } else {
            n.push(char::from(self.rng.u8(b'1'..=b'9')));
            for _ in 0..self.rng.usize(0..25) {
                n.push(char::from(self.rng.u8(b'0'..=b'9')));
            }
        }
        if self.rng.bool() {
            n.push('.');
            for _ in 0..self.rng.usize(1..20) {
                n.push(char::from(self.rng.u8(b'0'..=b'9')));
            }
        }
        if self.rng.u8(..) < 80 {
            n.push(if self.rng.bool() { 'e' } else { 'E' });
            match self.rng.u8(0..3) {
                0 => n.push('+'),
                1 => n.push('-'),
                _ => {}
            }
            let _ = write!(n, "{}", self.rng.u16(0..400));
        }
        self.out.extend_from_slice(n.as_bytes());
    }

    /// The document with one ASCII letter or digit replaced by another of its kind.
    pub(super) fn mutate(&mut self, doc: &[u8]) -> Vec<u8> {
        let spots: Vec<usize> = (0..doc.len())
            .filter(|&i| doc[i].is_ascii_alphanumeric())
            .collect();
        let mut out = doc.to_vec();
        if spots.is_empty() {
            out.push(b' ');
            return out;
        }
        let i = spots[self.rng.usize(..spots.len())];
        let old = doc[i];
        let new = loop {
            let c = match old {
                b'0'..=b'9' => self.rng.u8(b'0'..=b'9'),
                b'a'..=b'z' => self.rng.u8(b'a'..=b'z'),
                _ => self.rng.u8(b'A'..=b'Z'),
            };
            if c != old {
                break c;
            }
        };
        out[i] = new;
        out
    }
}
