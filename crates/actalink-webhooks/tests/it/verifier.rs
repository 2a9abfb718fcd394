//! Every rejection the verifier promises, with its message.

use std::time::Duration;

use actalink_webhooks::{Error, Verifier, sign};
use http::{HeaderMap, HeaderValue};

use crate::verifier_at;

const SECRET: &str = "whsec_test_secret";
const NOW: i64 = 1_756_481_736_348;
const BODY: &[u8] = br#"{"id":"evt_1","eventType":"onetime.executed","eventData":{"data":{"id":"txn_1","metadata":{"order":"A-1"}}}}"#;

fn signed(body: &[u8], secret: &str, ts: i64) -> HeaderMap {
    sign(body, &secret.into(), ts).unwrap().to_header_map()
}

#[test]
fn a_genuine_event_verifies_with_headers_in_any_case() {
    let mut headers = HeaderMap::new();
    let s = sign(BODY, &SECRET.into(), NOW).unwrap();
    // HeaderMap names are case-insensitive by construction; parse mixed-case names to prove it.
    headers.insert(
        http::HeaderName::from_bytes(b"X-Actalink-Timestamp").unwrap(),
        HeaderValue::from_str(&s.timestamp).unwrap(),
    );
    headers.insert(
        http::HeaderName::from_bytes(b"X-ACTALINK-SIGNATURE").unwrap(),
        HeaderValue::from_str(&s.signature).unwrap(),
    );
    let event = verifier_at(SECRET, NOW).verify(BODY, &headers).unwrap();
    assert_eq!(event.metadata_value("order"), Some("A-1"));
}

#[test]
fn a_replay_outside_the_tolerance_is_rejected_with_the_skew() {
    let headers = signed(BODY, SECRET, NOW - 300_001);
    let err = verifier_at(SECRET, NOW).verify(BODY, &headers).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TimestampOutsideTolerance {
                skew_ms: 300_001,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the timestamp is 300001 ms in the past, beyond the 300000 ms tolerance"
    );
    // At the edge it is accepted.
    verifier_at(SECRET, NOW)
        .verify(BODY, &signed(BODY, SECRET, NOW - 300_000))
        .unwrap();
}

#[test]
fn a_future_timestamp_beyond_the_tolerance_is_rejected() {
    let err = verifier_at(SECRET, NOW)
        .verify(BODY, &signed(BODY, SECRET, NOW + 300_001))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the timestamp is 300001 ms in the future, beyond the 300000 ms tolerance"
    );
    verifier_at(SECRET, NOW)
        .verify(BODY, &signed(BODY, SECRET, NOW + 300_000))
        .unwrap();
}

#[test]
fn tolerance_is_configurable_and_can_be_disabled() {
    let old = signed(BODY, SECRET, NOW - 3_600_000);
    assert!(
        verifier_at(SECRET, NOW)
            .with_tolerance(Duration::from_secs(60))
            .verify(BODY, &signed(BODY, SECRET, NOW - 61_000))
            .is_err()
    );
    verifier_at(SECRET, NOW)
        .with_tolerance(Duration::from_secs(7200))
        .verify(BODY, &old)
        .unwrap();
    verifier_at(SECRET, NOW)
        .without_tolerance()
        .verify(BODY, &old)
        .unwrap();
}

#[test]
fn another_secret_is_rejected_and_rotation_accepts_both() {
    let headers = signed(BODY, "whsec_other", NOW);
    let err = verifier_at(SECRET, NOW).verify(BODY, &headers).unwrap_err();
    assert!(matches!(err, Error::SignatureMismatch));
    assert!(
        err.to_string()
            .contains("pass the raw request body exactly as received"),
        "{err}"
    );
    let rotating = verifier_at(SECRET, NOW).with_secret("whsec_other");
    rotating.verify(BODY, &headers).unwrap();
    rotating.verify(BODY, &signed(BODY, SECRET, NOW)).unwrap();
}

#[test]
fn a_body_changed_in_one_value_is_rejected_but_whitespace_is_not() {
    let headers = signed(BODY, SECRET, NOW);
    let changed = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("A-1", "A-2");
    let err = verifier_at(SECRET, NOW)
        .verify(changed.as_bytes(), &headers)
        .unwrap_err();
    assert!(matches!(err, Error::SignatureMismatch));
    let spaced = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace(":", " : ")
        .replace(",", ",\n  ");
    verifier_at(SECRET, NOW)
        .verify(spaced.as_bytes(), &headers)
        .unwrap();
}

#[test]
fn a_changed_timestamp_or_signature_digit_is_rejected() {
    let s = sign(BODY, &SECRET.into(), NOW).unwrap();
    let v = verifier_at(SECRET, NOW);
    assert!(matches!(
        v.verify_parts(BODY, &(NOW + 1).to_string(), &s.signature),
        Err(Error::SignatureMismatch)
    ));
    let mut digits = s.signature.clone().into_bytes();
    digits[10] = if digits[10] == b'0' { b'1' } else { b'0' };
    assert!(matches!(
        v.verify_parts(BODY, &s.timestamp, std::str::from_utf8(&digits).unwrap()),
        Err(Error::SignatureMismatch)
    ));
}

#[test]
fn missing_headers_are_named() {
    let v = verifier_at(SECRET, NOW);
    let mut headers = signed(BODY, SECRET, NOW);
    headers.remove("x-actalink-signature");
    assert_eq!(
        v.verify(BODY, &headers).unwrap_err().to_string(),
        "the x-actalink-signature header is missing"
    );
    let mut headers = signed(BODY, SECRET, NOW);
    headers.remove("x-actalink-timestamp");
    assert_eq!(
        v.verify(BODY, &headers).unwrap_err().to_string(),
        "the x-actalink-timestamp header is missing"
    );
}

#[test]
fn malformed_timestamps_and_signatures_are_failures_not_panics() {
    let v = verifier_at(SECRET, NOW);
    let s = sign(BODY, &SECRET.into(), NOW).unwrap();
    for ts in [
        "",
        "abc",
        "-5",
        "1.5",
        " 1756481736348",
        "1e12",
        "99999999999999999999",
    ] {
        assert!(
            matches!(
                v.verify_parts(BODY, ts, &s.signature),
                Err(Error::MalformedTimestamp { .. })
            ),
            "{ts:?}"
        );
    }
    for sig in [
        "",
        "abc",
        &s.signature[..63],
        &format!("{}00", s.signature),
        &"z".repeat(64),
        "é",
    ] {
        assert!(
            matches!(
                v.verify_parts(BODY, &s.timestamp, sig),
                Err(Error::MalformedSignature)
            ),
            "{sig:?}"
        );
    }
}

#[test]
fn empty_non_json_and_oversized_bodies_are_rejected() {
    let v = verifier_at(SECRET, NOW).with_max_body_bytes(1024);
    let s = sign(BODY, &SECRET.into(), NOW).unwrap();
    let err = v.verify_parts(b"", &s.timestamp, &s.signature).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the body is not JSON: unexpected end of input at byte 0"
    );
    assert!(matches!(
        v.verify_parts(b"<xml/>", &s.timestamp, &s.signature),
        Err(Error::BodyNotJson(_))
    ));
    let big = vec![b' '; 1025];
    assert_eq!(
        v.verify_parts(&big, &s.timestamp, &s.signature)
            .unwrap_err()
            .to_string(),
        "the body is larger than the 1024-byte limit"
    );
}

#[test]
fn a_verified_body_that_is_not_an_event_still_verifies() {
    let body = br#"{"hello":"world"}"#;
    let event = verifier_at(SECRET, NOW)
        .verify(body, &signed(body, SECRET, NOW))
        .unwrap();
    assert!(!event.is_recognised());
    assert_eq!((event.id, event.event_type), (None, None));
    verifier_at(SECRET, NOW)
        .verify_signature(
            body,
            &NOW.to_string(),
            &sign(body, &SECRET.into(), NOW).unwrap().signature,
        )
        .unwrap();
}

#[test]
fn the_default_clock_is_the_system_clock() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Verifier::new(SECRET)
        .verify(BODY, &signed(BODY, SECRET, now))
        .unwrap();
    assert!(
        Verifier::new(SECRET)
            .verify(BODY, &signed(BODY, SECRET, now - 600_000))
            .is_err()
    );
}
