//! The documented signature vectors verify, and the fixture events decode.

use actalink_webhooks::{EventType, Verifier, canonicalize, sign};
use serde::Deserialize;

use crate::{data, verifier_at};

#[derive(Deserialize)]
struct Vectors {
    secret: String,
    timestamp: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    name: String,
    raw_body: String,
    signature: String,
}

#[test]
fn the_three_documented_vectors_verify() {
    let v: Vectors = serde_json::from_slice(&data("webhook-signature-vectors.json")).unwrap();
    let now: i64 = v.timestamp.parse().unwrap();
    let verifier = verifier_at(&v.secret, now);
    assert_eq!(v.vectors.len(), 3);
    for vector in &v.vectors {
        verifier
            .verify_signature(vector.raw_body.as_bytes(), &v.timestamp, &vector.signature)
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        // Our signer agrees with the provider's.
        let signed = sign(vector.raw_body.as_bytes(), &v.secret.as_str().into(), now).unwrap();
        assert_eq!(signed.signature, vector.signature, "{}", vector.name);
        assert_eq!(signed.timestamp, v.timestamp);
        // Upper-case hex and a `sha256=` prefix are accepted too.
        verifier
            .verify_signature(
                vector.raw_body.as_bytes(),
                &v.timestamp,
                &vector.signature.to_uppercase(),
            )
            .unwrap();
        verifier
            .verify_signature(
                vector.raw_body.as_bytes(),
                &v.timestamp,
                &format!("sha256={}", vector.signature),
            )
            .unwrap();
    }
    // Vector C's canonical form is exactly the documented one.
    let c = &v.vectors[2];
    assert_eq!(
        canonicalize(c.raw_body.as_bytes()).unwrap(),
        r#"{"id":"evt_x","eventType":"onetime.executed","eventData":{"data":{"metadata":{"2":"y","10":"x","b":"1"},"n":1,"m":100,"s":"café/"}}}"#
    );
}

fn decode(name: &str) -> actalink_webhooks::Event {
    actalink_webhooks::Event::parse_unverified(&data(name)).unwrap()
}

/// Decodes a fixture event and checks its id, its type and its subject's id.
fn decode_as(
    name: &str,
    id: &str,
    event_type: EventType,
    subject: &str,
) -> actalink_webhooks::Event {
    let e = decode(name);
    assert_eq!(e.id.as_deref(), Some(id), "{name}");
    assert_eq!(e.event_type, Some(event_type), "{name}");
    assert_eq!(e.data.id.as_deref(), Some(subject), "{name}");
    e
}

#[test]
fn billing_due_decodes() {
    let e = decode_as(
        "webhook-subscription-billing-due.json",
        "c837a151-a962-44e0-b3e3-b4f61743d7bb",
        EventType::SubscriptionBillingDue,
        "sub_jeRBLFCOuK2jE8Q1209xnPh5g3ELmfnP",
    );
    assert!(e.is_recognised());
    assert_eq!(e.dedup_key(), "c837a151-a962-44e0-b3e3-b4f61743d7bb");
    let token = e.data.token.as_ref().unwrap();
    assert_eq!(token.name.as_deref(), Some("USD Coin"));
    assert_eq!(token.symbol.as_deref(), Some("USDC"));
    assert_eq!(
        token.address.as_deref(),
        Some("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359")
    );
    assert_eq!(
        token.amount.as_ref().unwrap().base_units().unwrap(),
        150_000
    );
    assert_eq!(token.decimal(6).unwrap().unwrap().to_string(), "0.150000");
    assert_eq!(e.data.metadata, None);
}

#[test]
fn billing_scheduled_decodes() {
    let e = decode_as(
        "webhook-subscription-billing-scheduled.json",
        "58448504-b758-4586-a6da-d8f1cb3eef99",
        EventType::SubscriptionBillingScheduled,
        "sub_7M9lH66tShtMfLtDyz38WCuoWCuJnBt7",
    );
    assert_eq!(
        e.data.token.unwrap().amount.unwrap().base_units().unwrap(),
        150_000
    );
}

#[test]
fn onetime_executed_decodes() {
    let e = decode_as(
        "webhook-onetime-executed.json",
        "event_pJMZK1AFhyX1YiZkVgTjVWg3ctLEdcXP",
        EventType::OnetimeExecuted,
        "txn_WiBf4VPq2wlSprD1hZFKNKirIo426Q3p",
    );
    let amount = e.data.token.unwrap().decimal(6).unwrap().unwrap();
    assert_eq!(amount, actalink_types::Decimal::new(11, 2));
}

#[test]
fn unknown_types_fields_and_metadata_places_decode() {
    let e = actalink_webhooks::Event::parse_unverified(
        br#"{"id":"e1","eventType":"checkout.session.completed","extra":[1],
             "eventData":{"metadata":{"internal_order_id":"ORD-1","n":5},"data":{"id":"x","new":{"deep":true},
             "token":{"amount":"0x10","decimals":2,"chainId":137}}}}"#,
    )
    .unwrap();
    assert_eq!(
        e.event_type,
        Some(EventType::Unknown("checkout.session.completed".into()))
    );
    assert!(!e.is_recognised());
    assert_eq!(e.dedup_key(), "e1");
    assert_eq!(e.metadata_value("internal_order_id"), Some("ORD-1"));
    assert_eq!(e.metadata_value("n"), Some("5"));
    assert_eq!(
        e.data
            .token
            .as_ref()
            .unwrap()
            .decimal(6)
            .unwrap()
            .unwrap()
            .to_string(),
        "0.16"
    );
    assert_eq!(e.raw().unwrap()["extra"][0], 1);
    // Metadata inside `data` wins over the outer one.
    let e = actalink_webhooks::Event::parse_unverified(
        br#"{"id":"e2","eventType":"onetime.executed","eventData":{"metadata":{"k":"outer"},"data":{"metadata":{"k":"inner"},"checkoutSessionId":"checkout_1"}}}"#,
    )
    .unwrap();
    assert_eq!(e.metadata_value("k"), Some("inner"));
    assert_eq!(
        e.data.checkout_session_id.as_ref().map(|id| id.as_str()),
        Some("checkout_1")
    );
    // A bare minimum event.
    let e = actalink_webhooks::Event::parse_unverified(br#"{"id":"e3","eventType":"x"}"#).unwrap();
    assert_eq!(e.data, actalink_webhooks::EventData::default());
}

#[test]
fn default_verifier_settings() {
    assert_eq!(Verifier::DEFAULT_TOLERANCE.as_secs(), 300);
    let debug = format!(
        "{:?}",
        Verifier::new("whsec_test_secret").with_secret("whsec_other")
    );
    assert!(!debug.contains("whsec_"), "{debug}");
    assert!(debug.contains("WebhookSecret([REDACTED])"));
}

#[test]
fn events_round_trip_through_serde_for_storage() {
    let event = decode("webhook-onetime-executed.json");
    let stored = serde_json::to_string(&event).unwrap();
    let back: actalink_webhooks::Event = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, event);
    assert_eq!(back.raw_json(), event.raw_json());
    // Any JSON decodes (it is not refused for its shape); only non-JSON fails.
    let odd: actalink_webhooks::Event = serde_json::from_str(r#"{"no":"id"}"#).unwrap();
    assert!(!odd.is_recognised());
    assert!(serde_json::from_str::<actalink_webhooks::Event>(r#"nope"#).is_err());
}
