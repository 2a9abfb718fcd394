//! Property tests: sign-then-verify, tampering, and no panic on any input.

use actalink_webhooks::{Error, Verifier, canonicalize, sign};
use proptest::prelude::*;
use serde_json::Value;

use crate::verifier_at;

const NOW: i64 = 1_756_481_736_348;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn sign_then_verify_round_trips(value in json(), secret in "[ -~]{1,40}") {
        let body = serde_json::to_vec(&value).unwrap();
        let s = sign(&body, &secret.as_str().into(), NOW).unwrap();
        let v = verifier_at(&secret, NOW);
        // Any JSON verifies and gives an event, whatever its shape.
        let event = v.verify_parts(&body, &s.timestamp, &s.signature);
        prop_assert!(event.is_ok(), "{:?}", event);
        let event = event.unwrap();
        prop_assert_eq!(event.raw_json(), canonicalize(&body).unwrap());
        prop_assert_eq!(event.is_recognised(), event.id.as_deref().is_some_and(|id| !id.is_empty())
            && event.event_type.as_ref().is_some_and(|t| t.is_known()));
        // Pretty-printing the same value does not change the signature.
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let again = v.verify_parts(&pretty, &s.timestamp, &s.signature);
        prop_assert_eq!(again.ok(), Some(event));
    }

    #[test]
    fn any_change_of_secret_timestamp_or_digit_fails(
        value in json(),
        secret in "[a-z]{8}",
        other in "[A-Z]{8}",
        delta in 1i64..1000,
        digit in 0usize..64,
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        let s = sign(&body, &secret.as_str().into(), NOW).unwrap();
        let v = verifier_at(&secret, NOW);
        let wrong_secret = sign(&body, &other.as_str().into(), NOW).unwrap();
        prop_assert!(matches!(v.verify_signature(&body, &s.timestamp, &wrong_secret.signature), Err(Error::SignatureMismatch)));
        let later = (NOW + delta).to_string();
        prop_assert!(matches!(v.verify_signature(&body, &later, &s.signature), Err(Error::SignatureMismatch)));
        let mut sig = s.signature.clone().into_bytes();
        sig[digit] = if sig[digit] == b'a' { b'b' } else { b'a' };
        let sig = String::from_utf8(sig).unwrap();
        prop_assert!(matches!(v.verify_signature(&body, &s.timestamp, &sig), Err(Error::SignatureMismatch)));
    }

    #[test]
    fn canonical_output_is_a_fixed_point(value in json()) {
        let once = canonicalize(&serde_json::to_vec(&value).unwrap()).unwrap();
        let twice = canonicalize(once.as_bytes()).unwrap();
        prop_assert_eq!(&once, &twice);
        // And it means the same JSON (serde_json compares numbers by value).
        let back: Value = serde_json::from_str(&once).unwrap();
        prop_assert!(same(&back, &value), "{} vs {}", back, value);
    }

    #[test]
    fn the_verifier_never_panics_on_arbitrary_bytes(
        body in prop::collection::vec(any::<u8>(), 0..512),
        timestamp in ".{0,24}",
        signature in ".{0,80}",
    ) {
        let v = Verifier::new("whsec_x");
        let _ = v.verify_parts(&body, &timestamp, &signature);
        let _ = canonicalize(&body);
    }

    #[test]
    fn the_canonicaliser_never_panics_on_json_like_bytes(
        parts in prop::collection::vec(prop_oneof![
            Just("{".to_string()), Just("}".to_string()), Just("[".to_string()), Just("]".to_string()),
            Just(",".to_string()), Just(":".to_string()), Just("\"".to_string()), Just("\\u".to_string()),
            Just("\\uD800".to_string()), Just("\\".to_string()), Just("-".to_string()), Just("e".to_string()),
            "[0-9]{1,3}", "[a-z]{1,3}", Just(" ".to_string()),
        ], 0..40)
    ) {
        let text: String = parts.concat();
        let _ = canonicalize(text.as_bytes());
    }
}

/// JSON equality with numbers compared as doubles, as JavaScript sees them.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
