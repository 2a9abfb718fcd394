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

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
