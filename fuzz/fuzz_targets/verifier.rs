//! The webhook verifier on arbitrary bytes: the body, the timestamp and the
//! signature all come from the input. It must return, never panic; and a body
//! it can re-serialise must re-serialise to a fixed point.

#![no_main]

use actalink_webhooks::{Verifier, canonicalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into timestamp, signature and body at the first two 0xff bytes.
    let mut parts = data.splitn(3, |b| *b == 0xff);
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or(data);
    let verifier = Verifier::new("whsec_fuzz").without_tolerance();
    let _ = verifier.verify_parts(body, &timestamp, &signature);
    if let Ok(once) = canonicalize(body) {
        let twice = canonicalize(once.as_bytes()).expect("canonical output parses");
        assert_eq!(once, twice, "canonical output is a fixed point");
    }
});
