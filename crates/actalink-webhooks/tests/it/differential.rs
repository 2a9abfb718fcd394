//! The differential test against Node.js: for thousands of generated JSON
//! texts covering every rule of `JSON.stringify(JSON.parse(x))`, Node signs
//! each with the provider's documented algorithm and the Rust verifier must
//! agree, on the original and on a one-byte mutation of it.
//!
//! The texts are any JSON, not only events: arrays, scalars, `null`, nesting
//! up to the re-serialiser's limit, odd numbers, unicode, duplicate keys, and
//! events whose fields drift from the documented shapes. Every genuinely
//! signed text must verify with `Verifier::verify_parts`, and the event's
//! fields must read as Node reads them under the same lenient rules.
//!
//! `ACTALINK_DIFF_DOCS` sets the number of documents (10,000 by default;
//! `cargo xtask difftest` runs 200,000 in release mode). Node.js is required
//! under `CI=true`; elsewhere the test says it was skipped when `node` is absent.

use std::fmt::Write as _;
use std::process::Command;

use actalink_webhooks::{Error, Event, EventType, Verifier, canonicalize};

const SECRET: &str = "whsec_differential";
const TIMESTAMP: &str = "1756481736348";

/// A seeded generator of JSON texts that exercise the JavaScript rules.
struct Gen {
    rng: fastrand::Rng,
    out: Vec<u8>,
}

impl Gen {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.usize(..options.len())]
    }

    fn ws(&mut self) {
        if self.rng.u8(..) < 50 {
            let ws = self.pick(&[" ", "\n", "\t", "\r\n", "  ", " \n\t "]);
            self.out.extend_from_slice(ws.as_bytes());
        }
    }

    fn value(&mut self, depth: u32) {
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
            2 => {
                let lit = self.pick(&["true", "false", "null"]);
                self.out.extend_from_slice(lit.as_bytes());
            }
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
    fn key(&mut self) -> Vec<u8> {
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

    fn string(&mut self) {
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

    fn number(&mut self) {
        if self.rng.u8(..) < 100 {
            let n = self.pick(&[
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
            self.out.extend_from_slice(n.as_bytes());
            return;
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

    /// One document: an event of the documented shape, an event whose fields
    /// drift, or any JSON value at all.
    fn document(&mut self) -> Vec<u8> {
        self.out.clear();
        self.ws();
        match self.rng.u8(..) {
            0..=119 => {
                self.out.extend_from_slice(b"{\"id\":\"evt_");
                let id = self.rng.u32(..).to_string();
                self.out.extend_from_slice(id.as_bytes());
                self.out.extend_from_slice(
                    b"\",\"eventType\":\"onetime.executed\",\"eventData\":{\"data\":",
                );
                self.value(1);
                self.out.extend_from_slice(b"}}");
            }
            120..=189 => self.drifted_event(),
            _ => self.value(0),
        }
        self.ws();
        std::mem::take(&mut self.out)
    }

    /// Writes `"key":` and a value: usually `documented`, sometimes any value.
    fn member(&mut self, first: &mut bool, key: &str, documented: &dyn Fn(&mut Self)) {
        if self.rng.u8(..) < 25 {
            return; // Absent.
        }
        if !*first {
            self.out.push(b',');
            self.ws();
        }
        *first = false;
        self.out.extend_from_slice(format!("\"{key}\":").as_bytes());
        self.ws();
        match self.rng.u8(..) {
            0..=159 => documented(self),
            160..=179 => self.out.extend_from_slice(b"null"),
            180..=209 => self.number(),
            _ => self.value(4),
        }
    }

    /// An object of the members the closure writes.
    fn object_of(&mut self, members: &dyn Fn(&mut Self, &mut bool)) {
        self.out.push(b'{');
        let mut first = true;
        members(self, &mut first);
        // Sometimes an extra member, or a repeat of an id whose last value wins.
        if self.rng.u8(..) < 40 {
            let key = self.pick(&["id", "extra", "token", "metadata", "0"]);
            self.member(&mut first, key, &|g| g.value(4));
        }
        self.out.push(b'}');
    }

    fn drifted_event(&mut self) {
        let text = |g: &mut Self| g.string();
        let amount = |g: &mut Self| {
            let amount = match g.rng.u8(0..4) {
                0 => format!("\"{:#x}\"", g.rng.u64(..)),
                1 => format!("{}", g.rng.u64(..1 << 53)),
                2 => format!("\"{}\"", g.rng.u32(..)),
                _ => format!("{}e{}", g.rng.u8(1..10), g.rng.u8(0..45)),
            };
            g.out.extend_from_slice(amount.as_bytes());
        };
        let decimals = |g: &mut Self| {
            let d = g.pick(&[
                "6",
                "\"6\"",
                "18",
                "\"018\"",
                "4294967295",
                "4294967296",
                "-1",
                "6.5",
                "\"\"",
                "1e3",
            ]);
            g.out.extend_from_slice(d.as_bytes());
        };
        let token = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "name", &text);
                g.member(first, "amount", &amount);
                g.member(first, "decimals", &decimals);
            });
        };
        let metadata = |g: &mut Self| {
            g.object_of(&|g, first| {
                for _ in 0..g.rng.usize(0..5) {
                    let key = g.key();
                    let key = String::from_utf8_lossy(&key[1..key.len() - 1]).into_owned();
                    g.member(first, &key, &text);
                }
            });
        };
        let subject = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "id", &text);
                g.member(first, "token", &token);
                g.member(first, "metadata", &metadata);
                g.member(first, "checkoutSessionId", &text);
            });
        };
        let event_data = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "metadata", &metadata);
                g.member(first, "data", &subject);
            });
        };
        let event_type = |g: &mut Self| {
            let t = g.pick(&[
                "\"onetime.executed\"",
                "\"subscription.billing.due\"",
                "\"subscription.billing.scheduled\"",
                "\"checkout.session.completed\"",
                "\"\"",
            ]);
            g.out.extend_from_slice(t.as_bytes());
        };
        self.object_of(&|g, first| {
            g.member(first, "id", &text);
            g.member(first, "eventType", &event_type);
            g.member(first, "eventData", &event_data);
        });
    }

    /// The document with one ASCII letter or digit replaced by another of its kind.
    fn mutate(&mut self, doc: &[u8]) -> Vec<u8> {
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

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn differential_against_node() {
    if !node_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Node.js is required under CI=true (install nodejs)"
        );
        eprintln!("SKIPPED differential_against_node: `node` is not installed");
        return;
    }
    let n: usize = std::env::var("ACTALINK_DIFF_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("ACTALINK_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    let mut generator = Gen {
        rng: fastrand::Rng::with_seed(seed),
        out: Vec::new(),
    };
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut done = 0;
    // Batches keep Node's input under its string-length limit.
    while done < n && failures.is_empty() {
        let batch = (n - done).min(10_000);
        check_batch(&mut generator, batch, done, &mut tally, &mut failures);
        done += batch;
    }
    eprintln!(
        "differential: {done} documents, {} of them recognised events; mutations: {} changed the value, {} did not, {} made it invalid",
        tally.recognised, tally.changed, tally.unchanged, tally.invalid
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        tally.changed >= n / 2,
        "too few semantic mutations ({}) to mean anything",
        tally.changed
    );
    assert!(
        tally.unchanged > 0 && tally.invalid > 0,
        "the mutation mix lost a class"
    );
    assert!(
        tally.recognised > n / 4 && tally.recognised < n * 3 / 4,
        "the document mix lost a class: {} of {n} recognised",
        tally.recognised
    );
}

#[derive(Default)]
struct Tally {
    changed: usize,
    unchanged: usize,
    invalid: usize,
    recognised: usize,
}

/// Whether the event's fields are what Node read under the same rules (see
/// `tests/node/sign.js`).
fn same_reading(event: &Event, node: &serde_json::Value) -> Result<(), String> {
    #[allow(clippy::needless_pass_by_value)] // Called with temporaries.
    fn check<T: PartialEq + std::fmt::Debug>(what: &str, ours: T, node: T) -> Result<(), String> {
        if ours == node {
            Ok(())
        } else {
            Err(format!("{what}: ours {ours:?}, node {node:?}"))
        }
    }
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    check("id", event.id.clone(), s(&node["id"]))?;
    check(
        "eventType",
        event.event_type.as_ref().map(|t| t.as_str().to_owned()),
        s(&node["type"]),
    )?;
    check("data.id", event.data.id.clone(), s(&node["dataId"]))?;
    check(
        "data.checkoutSessionId",
        event.data.checkout_session_id.clone(),
        s(&node["csid"]),
    )?;
    match (&event.data.token, &node["token"]) {
        (None, serde_json::Value::Null) => {}
        (Some(token), expected) if expected.is_object() => {
            check("token.name", token.name.clone(), s(&expected["name"]))?;
            let amount = &expected["amount"];
            let ours = token.amount.as_ref();
            if let Some(raw) = amount["s"].as_str() {
                check("token.amount", ours.map(|a| a.raw()), Some(raw))?;
            } else if let Some(n) = amount["n"].as_str() {
                let units = ours.and_then(|a| a.base_units().ok());
                check("token.amount", units, n.parse().ok())?;
            } else {
                check("token.amount", ours, None)?;
            }
            check(
                "token.decimals",
                token.decimals.map(u64::from),
                expected["decimals"].as_u64(),
            )?;
        }
        (ours, node) => return Err(format!("token: ours {ours:?}, node {node}")),
    }
    let pairs = event.data.metadata.as_ref().map(|m| {
        m.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    });
    let node_pairs = node["meta"].as_array().map(|pairs| {
        pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or("?").to_owned(),
                    p[1].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect::<Vec<_>>()
    });
    check("metadata", pairs, node_pairs)?;
    let recognised = s(&node["id"]).is_some_and(|id| !id.is_empty())
        && s(&node["type"]).is_some_and(|t| EventType::from_wire(&t).is_known());
    check("is_recognised", event.is_recognised(), recognised)
}

fn check_batch(
    generator: &mut Gen,
    n: usize,
    offset: usize,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let mut docs = Vec::with_capacity(n);
    let mut input = String::new();
    for _ in 0..n {
        let doc = generator.document();
        let mutated = generator.mutate(&doc);
        let _ = writeln!(
            input,
            "{{\"doc\":\"{}\",\"mut\":\"{}\"}}",
            hex(&doc),
            hex(&mutated)
        );
        docs.push((doc, mutated));
    }
    let path = std::env::temp_dir().join(format!(
        "actalink-diff-{}-{offset}.jsonl",
        std::process::id()
    ));
    std::fs::write(&path, input).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/sign.js");
    let output = Command::new("node")
        .args([script, path.to_str().unwrap(), SECRET, TIMESTAMP])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), n);

    let verifier = Verifier::new(SECRET)
        .without_tolerance()
        .max_body_bytes(usize::MAX);
    for (i, ((doc, mutated), answer)) in docs.iter().zip(&answers).enumerate() {
        let i = offset + i;
        let signature = answer["s"].as_str().unwrap();
        let node_canonical = answer["c"].as_str().unwrap();
        let ours = canonicalize(doc);
        if ours.as_deref().ok() != Some(node_canonical) {
            failures.push(format!(
                "doc {i}: canonical differs\n input: {}\n node:  {node_canonical}\n ours:  {ours:?}",
                String::from_utf8_lossy(doc)
            ));
            continue;
        }
        // Every genuine signature verifies, whatever the body's shape, and
        // the event reads as Node reads it.
        match verifier.verify_parts(doc, TIMESTAMP, signature) {
            Err(e) => {
                failures.push(format!(
                    "doc {i}: genuine signature rejected: {e}\n input: {}",
                    String::from_utf8_lossy(doc)
                ));
                continue;
            }
            Ok(event) => {
                tally.recognised += usize::from(event.is_recognised());
                if let Err(why) = same_reading(&event, &answer["e"]) {
                    failures.push(format!(
                        "doc {i}: {why}\n node:  {}\n ours:  {event:?}\n input: {}",
                        answer["e"],
                        String::from_utf8_lossy(doc)
                    ));
                }
                if event.raw_json() != node_canonical {
                    failures.push(format!("doc {i}: raw_json() is not what was signed"));
                }
            }
        }
        let verdict = verifier.verify_signature(mutated, TIMESTAMP, signature);
        match answer["m"].as_str() {
            None => {
                tally.invalid += 1;
                if canonicalize(mutated).is_ok() {
                    failures.push(format!(
                        "doc {i}: node rejects the mutation but we parse it: {}",
                        String::from_utf8_lossy(mutated)
                    ));
                }
            }
            Some(m) if m == signature => {
                tally.unchanged += 1;
                if let Err(e) = verdict {
                    failures.push(format!(
                        "doc {i}: a mutation with no effect was rejected: {e}"
                    ));
                }
            }
            Some(m) => {
                tally.changed += 1;
                if !matches!(verdict, Err(Error::SignatureMismatch)) {
                    failures.push(format!(
                        "doc {i}: a semantic change was not rejected: {verdict:?}"
                    ));
                }
                if let Err(e) = verifier.verify_signature(mutated, TIMESTAMP, m) {
                    failures.push(format!(
                        "doc {i}: the mutated document's own signature was rejected: {e}"
                    ));
                }
            }
        }
        if failures.len() >= 10 {
            return;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
