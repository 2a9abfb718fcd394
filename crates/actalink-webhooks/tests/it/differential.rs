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
//!
//! The generator is in `differential/generate.rs` (JSON values) and
//! `differential/events.rs` (documents); `differential/reading.rs` compares
//! the event's fields with Node's reading.

mod events;
mod generate;
mod reading;

use std::fmt::Write as _;
use std::process::Command;

use actalink_webhooks::{Error, Verifier, canonicalize};

use generate::Gen;
use reading::same_reading;

const SECRET: &str = "whsec_differential";
const TIMESTAMP: &str = "1756481736348";

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
    let mut generator = Gen::new(seed);
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
        .with_max_body_bytes(usize::MAX);
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

/// Number literals at the edges of the fast path and of the grammar.
#[rustfmt::skip]
const EDGE_LITERALS: &[&str] = &[
    // Zeros and signs.
    "0", "-0", "0.0", "-0.0", "0.00", "-0.5", "-", "-a", "--1", "+1", "-.5",
    // Leading zeros, which JSON.parse refuses.
    "01", "-01", "00", "00.5", "012.5",
    // Trailing zeros in a fraction.
    "1.0", "10.50", "1.10", "0.10", "100.000", "12.340", "-7.50",
    // Exponents.
    "1E2", "1e2", "1E+2", "1e-0", "1E-0", "10E+3", "0.5e1", "1e20", "1e21", "1e+21", "1E21",
    "1e-6", "1e-7", "2e-7", "-1.5E-10", "123e-20", "1.5e300", "1e308", "1e309", "1e400",
    "-1e400", "1e-400", "5e-324", "2.5e-324", "2.2250738585072014e-308",
    "1.7976931348623157e308", "1e999999999999", "1e-999999999999", "0e999999", "1e", "1e+",
    "1.", ".5", "1.e5",
    // Integers around 15 digits and 2^53.
    "999999999999999", "-999999999999999", "1000000000000000", "123456789012345",
    "1234567890123456", "9007199254740991", "9007199254740992", "9007199254740993",
    "-9007199254740993", "18014398509481985", "12345678901234567890", "100000000000000000000",
    "1000000000000000000000", "999999999999999999999999",
    // Fractions around 15 significant digits.
    "0.1", "0.2", "0.3", "0.30000000000000004", "0.1000000000000001", "12345678901234.5",
    "1234567890123.45", "123456789012345.6", "99999999999999.9", "999999999999999.9",
    "0.999999999999999", "0.9999999999999999", "0.99999999999999999", "9.99999999999999",
    "9.999999999999999", "4.35", "4.345", "0.123456789012345", "0.1234567890123456",
    "0.000001234567890123", "0.0000012345678901234", "1.2345678901234567",
    // Small fractions, around the switch to exponent form at 1e-7.
    "0.000001", "0.0000001", "-0.000001", "0.000009", "0.0000099", "0.00000123",
    "0.0000001234",
];

/// Number literals around the re-serialiser's fast path (a literal that
/// `JSON.stringify` prints as written is copied, every other one is parsed and
/// printed): each must come out as Node prints it, or fail where Node fails.
#[test]
fn differential_number_literals_against_node() {
    if !node_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Node.js is required under CI=true (install nodejs)"
        );
        eprintln!("SKIPPED differential_number_literals_against_node: `node` is not installed");
        return;
    }
    let mut literals: Vec<String> = EDGE_LITERALS.iter().map(|s| (*s).to_owned()).collect();
    // Prices as JSON.stringify writes them and as a person might.
    for cents in 0..10_000 {
        let (whole, c) = (cents / 100, cents % 100);
        literals.push(format!("{whole}.{c:02}"));
        literals.push(format!("{whole}.{}", c / 10));
        literals.push(format!("-{whole}.{c:02}"));
    }
    // Random literals of every shape the fast path looks at.
    let mut rng = fastrand::Rng::with_seed(0x00AC_7A11);
    let digits = |rng: &mut fastrand::Rng, n: usize| -> String {
        (0..n).map(|_| char::from(rng.u8(b'0'..=b'9'))).collect()
    };
    for _ in 0..20_000 {
        let mut n = String::new();
        if rng.bool() {
            n.push('-');
        }
        let int_len = rng.usize(0..18);
        if int_len == 0 {
            n.push('0');
        } else {
            n.push(char::from(rng.u8(b'1'..=b'9')));
            n.push_str(&digits(&mut rng, int_len - 1));
        }
        if rng.u8(..) < 200 {
            n.push('.');
            n.push_str(&"0".repeat(rng.usize(0..8)));
            let len = rng.usize(1..18);
            n.push_str(&digits(&mut rng, len));
            if rng.u8(..) < 30 {
                n.push('0');
            }
        }
        if rng.u8(..) < 20 {
            n.push(if rng.bool() { 'e' } else { 'E' });
            n.push_str(["", "+", "-"][rng.usize(0..3)]);
            n.push_str(&rng.u16(0..400).to_string());
        }
        literals.push(n);
    }
    // Each also inside an array and an object, between spaces and tabs.
    let count = literals.len();
    for i in 0..count {
        literals.push(format!("[ {},\t{{\"p\": {} }} ]", literals[i], literals[i]));
    }

    let path = std::env::temp_dir().join(format!("actalink-numbers-{}.txt", std::process::id()));
    std::fs::write(&path, literals.join("\n") + "\n").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/numbers.js");
    let output = Command::new("node")
        .args([script, path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(answers.len(), literals.len());
    let mut failures = Vec::new();
    for (literal, node) in literals.iter().zip(&answers) {
        let ours = canonicalize(literal.as_bytes());
        let agrees = match &ours {
            Ok(text) => text == node,
            Err(_) => node == "!",
        };
        if !agrees {
            failures.push(format!("{literal:?}: node {node:?}, ours {ours:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} literals differ:\n{}",
        failures.len(),
        literals.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
