//! The work done on a hostile body before its signature is known to be forged
//! is bounded: heap a small multiple of the body (counted exactly, per thread),
//! time linear in its size (a 4x larger body costs about 4x, never 16x), and
//! nesting limited. The same holds for decoding a large genuine event.

use std::time::{Duration, Instant};

use actalink_webhooks::{Error, Verifier, sign};

const TIMESTAMP: &str = "1756481736348";
const SECRET: &str = "whsec_bounded";
const MIB: usize = 1024 * 1024;

use actalink_testkit::bodies::{repeat_to, short_key};

/// The hostile bodies of about `size` bytes, by name.
fn hostile(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut many_keys = String::from("{");
    let mut i = 0;
    while many_keys.len() + 12 < size {
        if i > 0 {
            many_keys.push(',');
        }
        many_keys.push_str(&format!("\"k{}\":0", short_key(i, 1)));
        i += 1;
    }
    many_keys.push('}');
    // 250 levels of objects that each need reordering, around a long string.
    let open = "{\"b\":0,\"1\":".repeat(250);
    let fill = size.saturating_sub(open.len() + 252);
    let nested_dirty = format!("{open}\"{}\"{}", "x".repeat(fill), "}".repeat(250));
    let mut invalid_utf8 = vec![b'"'];
    invalid_utf8.resize(size - 1, 0xff);
    invalid_utf8.push(b'"');
    vec![
        (
            "nested arrays",
            [vec![b'['; size / 2], vec![b']'; size / 2]].concat(),
        ),
        (
            "nested objects",
            format!("{}0{}", "{\"a\":".repeat(size / 6), "}".repeat(size / 6)).into_bytes(),
        ),
        ("nested objects to reorder", nested_dirty.into_bytes()),
        ("escapes", repeat_to(size, "\"", "\\u0000", "", "\"")),
        ("invalid UTF-8", invalid_utf8),
        ("tiny numbers", repeat_to(size, "[", "0", ",", "]")),
        ("expanding numbers", repeat_to(size, "[", "1e20", ",", "]")),
        ("tiny arrays", repeat_to(size, "[", "[]", ",", "]")),
        ("tiny objects", repeat_to(size, "[", "{}", ",", "]")),
        ("small objects", repeat_to(size, "[", "{\"a\":0}", ",", "]")),
        (
            "objects to reorder",
            repeat_to(size, "[", "{\"b\":0,\"1\":0,\"b\":1}", ",", "]"),
        ),
        ("many keys", many_keys.into_bytes()),
        ("repeated keys", repeat_to(size, "{", "\"a\":0", ",", "}")),
    ]
}

fn forged(body: &[u8]) -> Result<actalink_webhooks::Event, Error> {
    Verifier::new(SECRET)
        .without_tolerance()
        .with_max_body_bytes(MIB)
        .verify_parts(body, TIMESTAMP, &"0".repeat(64))
}

/// The least of three timings, to see through a busy machine.
fn best_of_3(f: impl Fn()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn forged_hostile_bodies_are_rejected_within_a_small_multiple_of_their_size() {
    for (name, body) in hostile(MIB) {
        assert!(
            body.len() <= MIB && body.len() > MIB - 64,
            "{name}: {}",
            body.len()
        );
        let mut result = None;
        let info = allocation_counter::measure(|| result = Some(forged(&body)));
        let result = result.unwrap();
        match name {
            "nested arrays" | "nested objects" => {
                assert!(
                    matches!(result, Err(Error::TooDeep { limit: 256 })),
                    "{name}: {result:?}"
                );
            }
            _ => assert!(
                matches!(result, Err(Error::SignatureMismatch)),
                "{name}: {result:?}"
            ),
        }
        // The output alone may be 3x (invalid UTF-8) or 4.4x (1e20 prints as
        // 21 digits) the body, and it grows by doubling: the counter sees the
        // old and the new buffer at once (a real `realloc` of a large block
        // moves pages instead, so resident memory stays lower).
        // An open object also keeps 8 bytes per key, and 8 more while it is
        // checked for repeated keys when it closes.
        let allowed = match name {
            "expanding numbers" => 13 * MIB,
            "invalid UTF-8" => 7 * MIB,
            "many keys" | "repeated keys" => 5 * MIB,
            _ => 3 * MIB,
        };
        assert!(
            info.bytes_max as usize <= allowed,
            "{name}: peak heap {} bytes for a {}-byte body",
            info.bytes_max,
            body.len()
        );
        eprintln!(
            "{name}: peak heap {:.2} MiB, {} allocations",
            info.bytes_max as f64 / MIB as f64,
            info.count_total
        );
    }
}

#[test]
fn rejecting_forged_hostile_bodies_takes_linear_time() {
    // A quadratic step makes the 4x body cost 16x; linear work costs 4x.
    let small: Vec<_> = hostile(MIB / 4);
    let large: Vec<_> = hostile(MIB);
    for ((name, small), (_, large)) in small.iter().zip(&large) {
        let t_small = best_of_3(|| drop(forged(small)));
        let t_large = best_of_3(|| drop(forged(large)));
        let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-4);
        eprintln!("{name}: {t_small:?} for 256 KiB, {t_large:?} for 1 MiB (x{ratio:.1})");
        assert!(
            ratio < 10.0 || t_large < Duration::from_millis(20),
            "{name}: 256 KiB took {t_small:?}, 1 MiB took {t_large:?}"
        );
        assert!(t_large < Duration::from_secs(5), "{name}: {t_large:?}");
    }
}

/// A signed event with `keys` metadata keys of 4 characters.
fn metadata_event(keys: usize) -> Vec<u8> {
    let mut s = String::from(
        r#"{"id":"evt_many","eventType":"onetime.executed","eventData":{"data":{"id":"txn_1","metadata":{"#,
    );
    for i in 0..keys {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"{}\":0", short_key(i, 4)));
    }
    s.push_str("}}}}");
    s.into_bytes()
}

#[test]
fn a_megabyte_event_with_100k_metadata_keys_verifies_and_decodes_in_linear_time() {
    let check = |keys: usize, pretty: bool| {
        let body = metadata_event(keys);
        let signed = sign(&body, &SECRET.into(), TIMESTAMP.parse().unwrap()).unwrap();
        // Pretty-printed, the body must be re-serialised as well as decoded.
        let sent = if pretty {
            String::from_utf8(body)
                .unwrap()
                .replace(',', ",\n  ")
                .into_bytes()
        } else {
            body
        };
        let verifier = Verifier::new(SECRET)
            .without_tolerance()
            .with_max_body_bytes(2 * MIB);
        let time = best_of_3(|| {
            let event = verifier
                .verify_parts(&sent, &signed.timestamp, &signed.signature)
                .unwrap();
            assert_eq!(event.data.metadata.as_ref().unwrap().len(), keys);
            assert_eq!(event.metadata_value(&short_key(keys - 1, 4)), Some("0"));
            assert!(event.is_recognised());
        });
        (sent.len(), time)
    };
    for pretty in [false, true] {
        let (small_len, small) = check(25_000, pretty);
        let (len, large) = check(100_000, pretty);
        eprintln!(
            "metadata (pretty: {pretty}): 25k keys ({small_len} bytes) {small:?}, 100k keys ({len} bytes) {large:?}"
        );
        if !pretty {
            assert!(len <= MIB, "{len}");
        }
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-4);
        assert!(
            ratio < 10.0 || large < Duration::from_millis(50),
            "25k keys took {small:?}, 100k keys took {large:?}"
        );
        assert!(large < Duration::from_secs(5), "{large:?}");
    }
}
