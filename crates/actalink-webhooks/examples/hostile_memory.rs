//! Peak memory and time of verifying hostile 1 MiB bodies, each in its own
//! child process so that one body's peak does not hide another's.
//!
//! ```text
//! cargo run --release -p actalink-webhooks --example hostile_memory
//! ```
//!
//! For each input class the child builds the body, resets its peak resident
//! size (`/proc/self/clear_refs`), runs `Verifier::verify_parts` once, and
//! reports the peak (`VmHWM`) and the time taken. Bodies carry a forged
//! signature, so the work measured is what anyone can make the verifier do
//! before it rejects the request, except the rows marked "signed", which
//! carry a genuine signature and so include decoding the event. Linux only.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::time::Instant;

use actalink_webhooks::{Verifier, sign};

const SIZE: usize = 1024 * 1024;
const TIMESTAMP: &str = "1756481736348";
const SECRET: &str = "whsec_hostile";

/// The input classes: name and description.
const CLASSES: &[(&str, &str)] = &[
    ("nested-arrays", "`[[[…]]]`, 512 Ki levels"),
    ("nested-objects", "`{\"a\":{\"a\":…}}`, 175 Ki levels"),
    (
        "nested-at-limit",
        "255 levels of `{\"b\":0,\"1\":…}` (each reordered), around a 1 MiB string",
    ),
    ("escapes", "one string of `\\u0000` escapes"),
    ("quote-escapes", "one string of `\\\"` escapes"),
    (
        "invalid-utf8",
        "one string of 0xFF bytes (each becomes U+FFFD, 3 bytes)",
    ),
    ("tiny-numbers", "`[0,0,0,…]`"),
    (
        "expanding-numbers",
        "`[1e20,1e20,…]` (each prints as 21 digits)",
    ),
    ("tiny-arrays", "`[[],[],…]`"),
    ("tiny-objects", "`[{},{},…]`"),
    ("small-objects", "`[{\"a\":0},…]`"),
    (
        "dirty-objects",
        "`[{\"b\":0,\"1\":0,\"b\":1},…]` (every object reordered)",
    ),
    ("many-keys", "one object, unique keys `\"k1234\":0`"),
    ("duplicate-keys", "one object, the key `\"a\"` repeated"),
    (
        "signed-metadata-70k",
        "signed event, 70,000 metadata keys (~0.8 MB), verify + decode",
    ),
    (
        "signed-metadata-100k",
        "signed event, 100,000 metadata keys (~0.9 MB), verify + decode",
    ),
    (
        "signed-metadata-100k-pretty",
        "the same with a space after each comma (1 MiB), so it is re-serialised too",
    ),
];

use actalink_testkit::bodies::{self, short_key};

fn repeat_to(prefix: &str, item: &str, sep: &str, suffix: &str) -> Vec<u8> {
    bodies::repeat_to(SIZE, prefix, item, sep, suffix)
}

/// A signed event with `keys` metadata keys, each `"kXXXX":"v"` or `"XXXX":0`.
fn metadata_event(keys: usize, long: bool) -> Vec<u8> {
    let mut s = String::from(
        r#"{"id":"evt_many","eventType":"onetime.executed","eventData":{"data":{"id":"txn_1","metadata":{"#,
    );
    for i in 0..keys {
        if i > 0 {
            s.push(',');
        }
        if long {
            s.push_str(&format!("\"k{}\":\"v\"", short_key(i, 4)));
        } else {
            s.push_str(&format!("\"{}\":0", short_key(i, 4)));
        }
    }
    s.push_str("}}}}");
    s.into_bytes()
}

fn body(class: &str) -> Vec<u8> {
    match class {
        "nested-arrays" => {
            let half = SIZE / 2;
            let mut b = vec![b'['; half];
            b.resize(SIZE, b']');
            b
        }
        "nested-objects" => {
            let levels = (SIZE - 1) / 6;
            let mut s = "{\"a\":".repeat(levels);
            s.push('0');
            s.push_str(&"}".repeat(levels));
            s.into_bytes()
        }
        "nested-at-limit" => {
            let levels = 255;
            let open = "{\"b\":0,\"1\":".repeat(levels);
            let close = "}".repeat(levels);
            let fill = SIZE - open.len() - close.len() - 2;
            format!("{open}\"{}\"{close}", "x".repeat(fill)).into_bytes()
        }
        "escapes" => repeat_to("\"", "\\u0000", "", "\""),
        "quote-escapes" => repeat_to("\"", "\\\"", "", "\""),
        "invalid-utf8" => {
            let mut b = vec![b'"'];
            b.resize(SIZE - 1, 0xff);
            b.push(b'"');
            b
        }
        "tiny-numbers" => repeat_to("[", "0", ",", "]"),
        "expanding-numbers" => repeat_to("[", "1e20", ",", "]"),
        "tiny-arrays" => repeat_to("[", "[]", ",", "]"),
        "tiny-objects" => repeat_to("[", "{}", ",", "]"),
        "small-objects" => repeat_to("[", "{\"a\":0}", ",", "]"),
        "dirty-objects" => repeat_to("[", "{\"b\":0,\"1\":0,\"b\":1}", ",", "]"),
        "many-keys" => {
            let mut s = String::from("{");
            let mut i = 0;
            loop {
                let item = format!("\"k{i}\":0");
                if s.len() + item.len() + 2 > SIZE {
                    break;
                }
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&item);
                i += 1;
            }
            s.push('}');
            s.into_bytes()
        }
        "duplicate-keys" => repeat_to("{", "\"a\":0", ",", "}"),
        "signed-metadata-70k" => metadata_event(70_000, true),
        "signed-metadata-100k" => metadata_event(100_000, false),
        "signed-metadata-100k-pretty" => String::from_utf8(metadata_event(100_000, false))
            .unwrap()
            .replace(',', ", ")
            .into_bytes(),
        other => panic!("unknown class {other}"),
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn child(class: &str) {
    let body = body(class);
    let signature = if class.starts_with("signed") {
        sign(&body, &SECRET.into(), TIMESTAMP.parse().unwrap())
            .unwrap()
            .signature
    } else {
        "0".repeat(64)
    };
    let verifier = Verifier::new(SECRET)
        .without_tolerance()
        .with_max_body_bytes(SIZE);
    // Reset the peak so it measures verification only.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let start = Instant::now();
    let result = verifier.verify_parts(&body, TIMESTAMP, &signature);
    let elapsed = start.elapsed();
    let peak = status_kib("VmHWM:");
    let verdict = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{e}").chars().take(60).collect(),
    };
    drop(result);
    println!(
        "{} {before} {peak} {:.1} {verdict}",
        body.len(),
        elapsed.as_secs_f64() * 1000.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, class] = args.as_slice()
        && flag == "--one"
    {
        return child(class);
    }
    let only: Vec<&String> = args.iter().skip(1).collect();
    println!(
        "| input (1 MiB, forged signature unless signed) | body bytes | RSS before | peak RSS | peak − before | time | verdict |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (class, description) in CLASSES {
        if !only.is_empty() && !only.iter().any(|o| o.as_str() == *class) {
            continue;
        }
        let output = Command::new(&args[0])
            .args(["--one", class])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let parts: Vec<&str> = text.trim().splitn(5, ' ').collect();
        if !output.status.success() || parts.len() < 5 {
            println!(
                "| {class}: {description} | failed: {} |",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            continue;
        }
        let (bytes, before, peak): (u64, u64, u64) = (
            parts[0].parse().unwrap(),
            parts[1].parse().unwrap(),
            parts[2].parse().unwrap(),
        );
        println!(
            "| {class}: {description} | {bytes} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} ms | {} |",
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0,
            parts[3],
            parts[4]
        );
    }
}
