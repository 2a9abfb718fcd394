//! A genuinely signed body is never refused for its shape: every drifted
//! event verifies, and its fields decode to the typed value or to `None`.

use std::sync::{Arc, Mutex};

use actalink_types::TokenAmount;
use actalink_webhooks::{Event, EventType, sign};

use crate::verifier_at;

const SECRET: &str = "whsec_drift";
const NOW: i64 = 1_756_481_736_348;

/// Signs `body`, verifies it as sent and pretty-printed (the second takes the
/// re-serialising path), and returns the event.
fn verified(body: &str) -> Event {
    let s = sign(body.as_bytes(), &SECRET.into(), NOW).unwrap();
    let v = verifier_at(SECRET, NOW);
    let event = v
        .verify(body.as_bytes(), &s.to_header_map())
        .unwrap_or_else(|e| panic!("{body}: {e}"));
    let spaced = format!("\n {body} \t");
    let again = v.verify(spaced.as_bytes(), &s.to_header_map()).unwrap();
    assert_eq!(again, event, "{body}");
    event
}

fn event(data: &str) -> String {
    format!(r#"{{"id":"evt_1","eventType":"onetime.executed","eventData":{{"data":{data}}}}}"#)
}

#[test]
fn bodies_that_are_not_objects_verify_and_are_not_recognised() {
    for body in [
        "[1,2]",
        "\"x\"",
        "42",
        "null",
        "true",
        "{}",
        "[]",
        "-0.0",
        "\"\\ud800\"",
    ] {
        let e = verified(body);
        assert_eq!(e.id, None, "{body}");
        assert_eq!(e.event_type, None, "{body}");
        assert_eq!(e.data, Default::default(), "{body}");
        assert!(!e.is_recognised(), "{body}");
        assert_eq!(
            e.raw_json(),
            actalink_webhooks::canonicalize(body.as_bytes()).unwrap()
        );
        let key = e.dedup_key();
        assert!(key.starts_with("sha256:") && key.len() == 71, "{key}");
    }
}

#[test]
fn ids_and_types_in_other_shapes() {
    let e = verified(r#"{"id":42,"eventType":"onetime.executed"}"#);
    assert_eq!(e.id.as_deref(), Some("42"));
    assert!(e.is_recognised());
    assert_eq!(e.dedup_key(), "42");
    // Numbers are read as JavaScript prints them.
    let e = verified(r#"{"id":12345678901234567890,"eventType":"onetime.executed"}"#);
    assert_eq!(e.id.as_deref(), Some("12345678901234567000"));

    for (id, expected) in [
        ("null", None),
        ("{\"a\":1}", None),
        ("[\"evt\"]", None),
        ("true", None),
        ("\"\"", Some("")),
        ("\"evt_\\ud800\"", None),
    ] {
        let e = verified(&format!(r#"{{"id":{id},"eventType":"onetime.executed"}}"#));
        assert_eq!(e.id.as_deref(), expected, "{id}");
        assert!(!e.is_recognised(), "{id}");
        assert!(e.dedup_key().starts_with("sha256:"), "{id}");
    }

    for (ty, expected) in [
        ("null", None),
        ("7", Some(EventType::Unknown("7".into()))),
        ("[]", None),
        (
            "\"subscription.billing.due\"",
            Some(EventType::SubscriptionBillingDue),
        ),
        (
            "\"checkout.completed\"",
            Some(EventType::Unknown("checkout.completed".into())),
        ),
    ] {
        let e = verified(&format!(r#"{{"id":"evt_1","eventType":{ty}}}"#));
        assert_eq!(e.event_type, expected, "{ty}");
        assert_eq!(
            e.is_recognised(),
            expected.as_ref().is_some_and(EventType::is_known)
        );
        assert_eq!(e.dedup_key(), "evt_1");
    }
    // No eventType at all.
    let e = verified(r#"{"id":"evt_1","eventData":{"data":{"id":"txn_1"}}}"#);
    assert_eq!(e.event_type, None);
    assert_eq!(e.data.id.as_deref(), Some("txn_1"));
    assert!(!e.is_recognised());
}

#[test]
fn token_fields_in_other_shapes() {
    // The documented shape.
    let e = verified(&event(
        r#"{"token":{"amount":"0x249f0","decimals":6,"symbol":"USDC"}}"#,
    ));
    let t = e.data.token.unwrap();
    assert_eq!(t.amount.unwrap().base_units().unwrap(), 150_000);
    assert_eq!(t.decimals, Some(6));

    // An integer amount is base units; a string of digits is decimals.
    let e = verified(&event(
        r#"{"token":{"amount":150000,"decimals":"6","name":5}}"#,
    ));
    let t = e.data.token.unwrap();
    assert_eq!(t.amount, Some(TokenAmount::from_base_units(150_000)));
    assert_eq!(t.decimals, Some(6));
    assert_eq!(t.name.as_deref(), Some("5"));
    assert_eq!(t.decimal(18).unwrap().unwrap().to_string(), "0.150000");

    // An integer is the one its signed text spells, JavaScript's shortest
    // form of the double, read exactly (never through f64).
    for (amount, units) in [
        ("1e21", 1_000_000_000_000_000_000_000u128),
        ("1.5e25", 15_000_000_000_000_000_000_000_000),
        ("12345678901234567890", 12_345_678_901_234_567_000),
        ("150000.0", 150_000),
        ("-0", 0),
        ("3e38", 300_000_000_000_000_000_000_000_000_000_000_000_000),
    ] {
        let e = verified(&event(&format!(r#"{{"token":{{"amount":{amount}}}}}"#)));
        let t = e.data.token.unwrap();
        assert_eq!(t.amount.unwrap().base_units().unwrap(), units, "{amount}");
    }
    // Beyond u128, or not whole: None.
    for amount in ["4e38", "1e-7", "0.5", "1.5e0"] {
        let e = verified(&event(&format!(r#"{{"token":{{"amount":{amount}}}}}"#)));
        assert_eq!(e.data.token.unwrap().amount, None, "{amount}");
    }

    // Unclear meanings are None; the rest of the token still decodes.
    for (amount, decimals) in [
        ("1.5", "\"six\""),
        ("-1", "-6"),
        ("true", "6.5"),
        ("[1]", "{}"),
        ("null", "null"),
        ("{\"hex\":\"0x1\"}", "\"\""),
        ("1e400", "1e3"),
    ] {
        let e = verified(&event(&format!(
            r#"{{"token":{{"amount":{amount},"decimals":{decimals},"symbol":"USDC"}}}}"#
        )));
        let t = e.data.token.clone().unwrap();
        assert_eq!(t.amount, None, "{amount}");
        assert_eq!(
            t.decimals,
            if decimals == "1e3" { Some(1000) } else { None },
            "{decimals}"
        );
        assert_eq!(t.symbol.as_deref(), Some("USDC"));
        assert!(e.is_recognised());
    }

    // A token that is not an object is None.
    for token in ["\"USDC\"", "[]", "1", "null"] {
        let e = verified(&event(&format!(r#"{{"id":"txn_1","token":{token}}}"#)));
        assert_eq!(e.data.token, None, "{token}");
        assert_eq!(e.data.id.as_deref(), Some("txn_1"));
    }
}

#[test]
fn subject_ids_metadata_and_session_ids_in_other_shapes() {
    let e = verified(&event(r#"{"id":987654321,"checkoutSessionId":77}"#));
    assert_eq!(e.data.id.as_deref(), Some("987654321"));
    assert_eq!(
        e.data.checkout_session_id.as_ref().map(|id| id.as_str()),
        Some("77")
    );

    // Metadata that is not an object is None, and the outer one is used instead.
    for metadata in ["[]", "\"a=b\"", "5", "null", "[{\"k\":\"v\"}]"] {
        let e = verified(&format!(
            r#"{{"id":"e","eventType":"onetime.executed","eventData":{{"metadata":{{"k":"outer"}},"data":{{"metadata":{metadata}}}}}}}"#
        ));
        assert_eq!(e.metadata_value("k"), Some("outer"), "{metadata}");
        let e = verified(&event(&format!(r#"{{"metadata":{metadata}}}"#)));
        assert_eq!(e.data.metadata, None, "{metadata}");
    }

    // Non-string values are kept as their JSON text (as JavaScript prints it);
    // lone surrogates become U+FFFD; a repeated key keeps its last value.
    let e = verified(&event(
        r#"{"metadata":{"n":12,"f":1.50,"o":{"b":[1,true],"a":null},"z":null,"s":"x","s":"y","u":"\ud800!","\ud800":"k"}}"#,
    ));
    let m = e.data.metadata.unwrap();
    assert_eq!(
        m.iter().collect::<Vec<_>>(),
        [
            ("n", "12"),
            ("f", "1.5"),
            ("o", r#"{"b":[1,true],"a":null}"#),
            ("z", "null"),
            ("s", "y"),
            ("u", "\u{fffd}!"),
            ("\u{fffd}", "k"),
        ]
    );

    // eventData or data that is not an object: empty data, id and type intact.
    for data in ["[]", "\"x\"", "1", "null"] {
        let body = format!(r#"{{"id":"evt_1","eventType":"onetime.executed","eventData":{data}}}"#);
        let e = verified(&body);
        assert_eq!(e.data, Default::default(), "{data}");
        assert!(e.is_recognised());
        let e = verified(&event(data));
        assert_eq!(e.data, Default::default(), "{data}");
    }
}

#[test]
fn nesting_beyond_serde_json_s_limit_still_decodes() {
    // 200 levels in an unmodelled field: over serde_json's 128, under our 256.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let e = verified(&event(&format!(
        r#"{{"id":"txn_1","deep":{deep},"metadata":{{"k":{deep}}},"token":{{"amount":"0x10"}}}}"#
    )));
    assert_eq!(e.data.id.as_deref(), Some("txn_1"));
    assert_eq!(e.metadata_value("k"), Some(deep.as_str()));
    assert_eq!(
        e.data
            .token
            .clone()
            .unwrap()
            .amount
            .unwrap()
            .base_units()
            .unwrap(),
        16
    );
    assert!(
        e.raw().is_err(),
        "serde_json cannot hold it, but raw_json() can"
    );

    // Deeper than the re-serialiser's limit: verifies as sent, byte for byte.
    let deeper = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let body = event(&format!(r#"{{"id":"txn_2","deep":{deeper}}}"#));
    let v = verifier_at(SECRET, NOW);
    let (timestamp, signature) = node_like_signature(&body);
    let e = v
        .verify_parts(body.as_bytes(), &timestamp, &signature)
        .unwrap();
    assert_eq!(e.data.id.as_deref(), Some("txn_2"));
    assert_eq!(e.raw_json(), body);
    // Reformatted on the way, it cannot be checked.
    let spaced = body.replace(':', ": ");
    assert!(matches!(
        v.verify_parts(spaced.as_bytes(), &timestamp, &signature),
        Err(actalink_webhooks::Error::TooDeep { limit: 256 })
    ));
}

/// The provider's signature of an already-compact body: the HMAC of the bytes
/// as they are (what Node computes, since `JSON.stringify` gives them back).
fn node_like_signature(body: &str) -> (String, String) {
    use hmac::{Hmac, Mac};
    let mac = |msg: &[u8]| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        m.update(msg);
        hex::encode(m.finalize().into_bytes())
    };
    let inner = mac(format!("{{\"payload\":{body}}}").as_bytes());
    let timestamp = NOW.to_string();
    let signature = mac(format!("{timestamp}.{inner}").as_bytes());
    (timestamp, signature)
}

#[test]
fn a_raw_signed_body_that_is_not_json_is_not_accepted() {
    // Only someone holding the secret can sign bytes that JSON.parse rejects;
    // they are still not taken as the signed payload.
    let v = verifier_at(SECRET, NOW);
    for body in ["not json", "{\"a\":1", "[1,]", "{\"a\":1} x"] {
        let (timestamp, signature) = node_like_signature(body);
        assert!(
            matches!(
                v.verify_parts(body.as_bytes(), &timestamp, &signature),
                Err(actalink_webhooks::Error::BodyNotJson(_))
            ),
            "{body}"
        );
        // The signature alone is genuine, and verify_signature says only that.
        v.verify_signature(body.as_bytes(), &timestamp, &signature)
            .unwrap();
    }
}

/// A body with line breaks is tried re-serialised first, then as its raw
/// bytes: both candidates are still accepted, and nothing else is.
#[test]
fn a_pretty_body_verifies_against_either_candidate() {
    let v = verifier_at(SECRET, NOW);
    let pretty = "{\n\t\"id\": \"e1\",\r\n  \"eventType\": \"onetime.executed\"\n}";
    let compact = r#"{"id":"e1","eventType":"onetime.executed"}"#;
    // Signed as the provider does: over JSON.stringify(JSON.parse(body)).
    let (timestamp, signature) = node_like_signature(compact);
    let event = v
        .verify_parts(pretty.as_bytes(), &timestamp, &signature)
        .unwrap();
    assert_eq!(event.raw_json(), compact);
    // Signed over the raw bytes, line breaks and all.
    let (timestamp, signature) = node_like_signature(pretty);
    let event = v
        .verify_parts(pretty.as_bytes(), &timestamp, &signature)
        .unwrap();
    assert_eq!(event.raw_json(), pretty);
    // Anything else is a mismatch, and a non-JSON body its parse error.
    let (timestamp, signature) = node_like_signature("{}");
    assert!(matches!(
        v.verify_parts(pretty.as_bytes(), &timestamp, &signature),
        Err(actalink_webhooks::Error::SignatureMismatch)
    ));
    let broken = "{\n\"a\":1";
    let (timestamp, signature) = node_like_signature(broken);
    assert!(matches!(
        v.verify_parts(broken.as_bytes(), &timestamp, &signature),
        Err(actalink_webhooks::Error::BodyNotJson(_))
    ));
    v.verify_signature(broken.as_bytes(), &timestamp, &signature)
        .unwrap();
}

#[test]
fn dedup_keys_follow_the_signed_content() {
    let a = verified(r#"{"eventType":"onetime.executed","eventData":{"data":{"id":"txn_1"}}}"#);
    // The same content, spelled differently: the same signed payload and key.
    let b = Event::parse_unverified(
        br#"{ "eventType" : "onetime.executed", "eventData": {"data": {"id": "txn\u005f1"}}}"#,
    )
    .unwrap();
    assert_eq!(a.dedup_key(), b.dedup_key());
    assert_eq!(
        a.dedup_key(),
        format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(a.raw_json()))
        )
    );
    let c = verified(r#"{"eventType":"onetime.executed","eventData":{"data":{"id":"txn_2"}}}"#);
    assert_ne!(a.dedup_key(), c.dedup_key());
    // An id, when there is one, is the key.
    assert_eq!(verified(r#"{"id":"evt_9"}"#).dedup_key(), "evt_9");
}

/// Collects what `tracing` logs while `f` runs.
fn logs(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = sink.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn unreadable_fields_are_logged_at_debug_with_their_path() {
    let text = logs(|| {
        verified(&event(
            r#"{"id":[1],"token":{"amount":true,"decimals":"x"},"metadata":[],"checkoutSessionId":"checkout_1"}"#,
        ));
    });
    for path in [
        "eventData.data.id",
        "eventData.data.token.amount",
        "eventData.data.token.decimals",
        "eventData.data.metadata",
    ] {
        assert!(
            text.contains(&format!("path=\"{path}\"")),
            "{path} in {text}"
        );
    }
    assert!(text.contains("DEBUG"), "{text}");
    assert!(
        !text.contains("checkout_1"),
        "values are not logged: {text}"
    );
    assert!(
        logs(|| {
            verified(&event(r#"{"id":"txn_1","token":{"amount":"0x1"}}"#));
        })
        .is_empty()
    );
    assert!(
        logs(|| {
            verified("[1,2]");
        })
        .contains("path=\"$\" found=\"an array\"")
    );
}
