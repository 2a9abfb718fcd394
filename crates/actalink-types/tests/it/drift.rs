//! The drift corpus: the documented responses, changed the ways a real API
//! drifts from its examples. Every case must decode with its `id` and `status`
//! intact, and re-serialise to what was sent.
//!
//! Each documented fixture is mutated at every JSON path: null for a value,
//! the value removed, a number for a string and a string for a number, a
//! boolean, an array or an object in its place, unknown enum values, timestamp
//! variants, and extra fields added to every object.

use actalink_types::{CheckoutSession, Decimal, IntervalUnit, OrderStatus, SessionStatus};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["data"].clone()
}

fn decode(data: &Value) -> Result<CheckoutSession, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        data: CheckoutSession,
    }
    // Through the text, as a response body arrives.
    let body = json!({ "data": data }).to_string();
    serde_json::from_str::<Envelope>(&body).map(|e| e.data)
}

/// One step into a document.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Seg::Key(key.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(Seg::Index(index));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(value: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(value, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

fn remove(value: &mut Value, path: &[Seg]) {
    let (last, parent) = path.split_last().unwrap();
    match (get_mut(value, parent), last) {
        (Value::Object(map), Seg::Key(k)) => {
            map.remove(k);
        }
        (Value::Array(items), Seg::Index(i)) => {
            items.remove(*i);
        }
        _ => unreachable!(),
    }
}

fn add_extras(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(add_extras);
            map.insert("zzExtra".into(), json!({"a": [1, {"b": null}], "c": "d"}));
            map.insert("zzNumber".into(), json!(1.5));
        }
        Value::Array(items) => items.iter_mut().for_each(add_extras),
        _ => {}
    }
}

/// Drops null values and empty arrays, which the SDK treats as absent.
fn without_absent(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), without_absent(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_absent).collect()),
        other => other.clone(),
    }
}

/// The replacements tried at a path holding `original`.
fn replacements(original: &Value) -> Vec<Value> {
    let mut out = vec![
        Value::Null,
        json!(12345),
        json!(0.16),
        json!(-1),
        json!("12345"),
        json!(""),
        json!("SOMETHING_NEW"),
        json!(true),
        json!([]),
        json!([1, "x", null]),
        json!({}),
        json!({"nested": {"deeper": [null, 2.5e-7]}}),
    ];
    match original {
        Value::String(s)
            if s.len() >= 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' =>
        {
            let bare = s.trim_end_matches('Z');
            out.push(json!(bare));
            out.push(json!(bare.replacen('T', " ", 1)));
            out.push(json!(format!("{bare}+00:00")));
            out.push(json!(format!("{bare}+05:30")));
            out.push(json!(format!("{}Z", &bare[..19])));
            out.push(json!(1_756_481_796_346_u64));
            out.push(json!("29/08/2025"));
        }
        Value::String(s) => {
            if let Ok(n) = s.parse::<u64>() {
                out.push(json!(n));
            }
            out.push(json!(s.to_uppercase()));
        }
        Value::Number(n) => out.push(json!(n.to_string())),
        _ => {}
    }
    out
}

/// Decodes one drifted document and checks what every case must satisfy.
fn check(case: &str, drifted: &Value, id: &str, status: &SessionStatus) -> CheckoutSession {
    let session = decode(drifted).unwrap_or_else(|e| panic!("{case}: did not decode: {e}"));
    assert_eq!(session.id.as_str(), id, "{case}");
    assert_eq!(&session.status, status, "{case}");
    let written = serde_json::to_value(&session).unwrap();
    assert_eq!(
        without_absent(&written),
        without_absent(drifted),
        "{case}: did not re-serialise to what was sent"
    );
    let again: CheckoutSession = serde_json::from_value(written).unwrap();
    assert_eq!(
        again, session,
        "{case}: decoding what it wrote gave another session"
    );
    session
}

#[test]
fn every_drift_of_the_documented_responses_decodes_and_round_trips() {
    let mut cases = 0;
    for name in ["create-session.201.json", "session-status-success.200.json"] {
        let original = fixture(name);
        let id = original["id"].as_str().unwrap().to_owned();
        let status = SessionStatus::from_wire(original["status"].as_str().unwrap());
        let mut all = Vec::new();
        paths(&original, &mut Vec::new(), &mut all);
        for path in &all {
            let at_root = |key: &str| matches!(path.as_slice(), [Seg::Key(k)] if k == key);
            if at_root("id") || at_root("status") {
                continue;
            }
            let mut removed = original.clone();
            remove(&mut removed, path);
            check(&format!("{name} without {path:?}"), &removed, &id, &status);
            cases += 1;
            let current = get_mut(&mut original.clone(), path).clone();
            for replacement in replacements(&current) {
                let mut drifted = original.clone();
                *get_mut(&mut drifted, path) = replacement.clone();
                check(
                    &format!("{name} {path:?} = {replacement}"),
                    &drifted,
                    &id,
                    &status,
                );
                cases += 1;
            }
        }
        let mut extras = original.clone();
        add_extras(&mut extras);
        let session = check(
            &format!("{name} with extras everywhere"),
            &extras,
            &id,
            &status,
        );
        assert_eq!(session.extra["zzNumber"], 1.5);
        assert_eq!(session.products[0].extra["zzExtra"]["c"], "d");
        let details = session.products[0].price_details.as_ref().unwrap();
        assert_eq!(details.extra["zzNumber"], 1.5);
        assert_eq!(details.decimal().unwrap(), Decimal::new(16, 2));
        cases += 1;
    }
    assert!(cases > 1000, "the corpus shrank to {cases} cases");
}

#[test]
fn the_shapes_named_in_the_field_reports_read_as_meant() {
    let mut data = fixture("session-status-success.200.json");
    data["products"] = Value::Null;
    let s = check(
        "products null",
        &data,
        "checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L",
        &SessionStatus::Success,
    );
    assert!(s.products.is_empty() && s.is_paid());

    let mut data = fixture("session-status-success.200.json");
    data["products"][0]["priceDetails"]["price"] = json!(0.16);
    data["products"][0]["priceDetails"]["intervalCount"] = json!("3");
    data["createdAt"] = json!("2025-08-29T15:31:50.876");
    data["plan"]["priceDetails"]["price"] = json!({"value": "0x302e3136"});
    let s = check(
        "numbers, strings, offsets",
        &data,
        "checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L",
        &SessionStatus::Success,
    );
    let details = s.products[0].price_details.as_ref().unwrap();
    assert_eq!(
        details.decimal().unwrap(),
        Decimal::new(16, 2),
        "a number price is that decimal"
    );
    assert_eq!(details.interval_count, Some(3));
    assert_eq!(details.extra["price"], 0.16, "the value as sent is kept");
    assert_eq!(
        s.created_at.unwrap().unix_timestamp_nanos() / 1_000_000,
        1_756_481_510_876,
        "read as UTC"
    );
    let plan_details = s.plan.as_ref().unwrap().price_details.as_ref().unwrap();
    assert_eq!(plan_details.price, None, "an object price is unreadable");
    assert!(plan_details.decimal().is_err(), "and never any amount");
    assert_eq!(plan_details.extra["price"]["value"], "0x302e3136");
    assert_eq!(plan_details.interval_unit, Some(IntervalUnit::FiveMins));

    let mut data = fixture("session-status-success.200.json");
    data["products"][0]["priceDetails"]
        .as_object_mut()
        .unwrap()
        .remove("price");
    data["metadata"] = json!({"uuid": "u1", "attempt": 2, "tags": ["a"]});
    // (serde_json's `json!` sorts keys; the order test below sends its own text.)
    data["orderStatus"] = json!("REFUNDED");
    let s = check(
        "missing price, typed metadata",
        &data,
        "checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L",
        &SessionStatus::Success,
    );
    assert!(
        s.products[0]
            .price_details
            .as_ref()
            .unwrap()
            .price
            .is_none()
    );
    assert_eq!(s.metadata_value("uuid"), Some("u1"));
    assert_eq!(s.metadata_value("attempt"), Some("2"));
    assert_eq!(s.metadata_value("tags"), Some(r#"["a"]"#));
    assert_eq!(
        s.order_status,
        Some(OrderStatus::Unknown("REFUNDED".into()))
    );

    let mut data = fixture("session-status-success.200.json");
    data["metadata"] = json!([]);
    data["products"] = json!([1, data["products"][0].clone()]);
    let s = check(
        "metadata array, odd products",
        &data,
        "checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L",
        &SessionStatus::Success,
    );
    assert_eq!(s.metadata, None);
    assert_eq!(s.extra["metadata"], json!([]));
    assert_eq!(s.products.len(), 1, "the object product is read");
}

#[test]
fn metadata_with_values_that_are_not_strings_keeps_its_order_and_values() {
    let body =
        r#"{"id":"checkout_1","status":"open","metadata":{"zeta":1,"alpha":"a","mid":[true]}}"#;
    let s: CheckoutSession = serde_json::from_str(body).unwrap();
    let keys: Vec<_> = s
        .metadata
        .as_ref()
        .unwrap()
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["zeta", "alpha", "mid"]);
    let out = serde_json::to_string(&s).unwrap();
    assert!(
        out.contains(r#""metadata":{"zeta":1,"alpha":"a","mid":[true]}"#),
        "{out}"
    );
    let again: CheckoutSession = serde_json::from_str(&out).unwrap();
    assert_eq!(again, s);
}

#[test]
fn metadata_keeps_the_order_it_was_sent_in() {
    let body = r#"{"id":"checkout_1","status":"open","metadata":{"zeta":"1","alpha":"2","mid":"3","alpha":"4"}}"#;
    let s: CheckoutSession = serde_json::from_str(body).unwrap();
    let keys: Vec<_> = s.metadata.as_ref().unwrap().iter().collect();
    assert_eq!(keys, [("zeta", "1"), ("alpha", "4"), ("mid", "3")]);
    let out = serde_json::to_string(&s).unwrap();
    assert!(
        out.contains(r#""metadata":{"zeta":"1","alpha":"4","mid":"3"}"#),
        "{out}"
    );
}

#[test]
fn only_id_and_status_are_required() {
    for (body, reason) in [
        (r#"{"status":"success"}"#, "id"),
        (r#"{"id":"","status":"success"}"#, "id"),
        (r#"{"id":"checkout_1"}"#, "status"),
        (r#"{"id":"checkout_1","status":null}"#, "status"),
        (r#"{"id":"checkout_1","status":1}"#, "status"),
        (r#"[]"#, "object"),
    ] {
        let err = serde_json::from_str::<CheckoutSession>(body).unwrap_err();
        assert!(err.to_string().contains(reason), "{body}: {err}");
    }
    let s: CheckoutSession = serde_json::from_str(r#"{"id":12,"status":"weird"}"#).unwrap();
    assert_eq!(s.id.as_str(), "12");
    assert_eq!(s.status, SessionStatus::Unknown("weird".into()));
    assert!(
        !s.is_terminal() && !s.is_paid(),
        "an unknown status is neither final nor paid"
    );
}

#[test]
fn many_metadata_keys_decode_in_linear_time() {
    // 70,000 keys, most of them repeated: quadratic duplicate detection took
    // seconds here; linear takes milliseconds. The bound is generous for a
    // loaded machine and a debug build, and far below what quadratic work costs.
    let mut body = String::from(r#"{"id":"checkout_1","status":"success","metadata":{"#);
    for i in 0..70_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(r#""k{}":"v{i}""#, i % 50_000));
    }
    body.push_str("}}");
    let start = std::time::Instant::now();
    let s: CheckoutSession = serde_json::from_str(&body).unwrap();
    let elapsed = start.elapsed();
    let metadata = s.metadata.unwrap();
    assert_eq!(metadata.len(), 50_000);
    assert_eq!(metadata.get("k7"), Some("v50007"), "the last value wins");
    assert_eq!(
        metadata.iter().next(),
        Some(("k0", "v50000")),
        "at the first position"
    );
    assert!(
        elapsed.as_secs() < 5,
        "70,000 metadata keys took {elapsed:?}"
    );
}
