//! The documented create (201) and status (200) responses decode completely.

use actalink_types::{
    CheckoutSession, Currency, CurrencyType, Decimal, IntervalUnit, Mode, OffsetDateTime,
    OrderStatus, PaylinkType, PaymentType, ProductStatus, SessionStatus,
};
use serde::Deserialize;
use time::macros::datetime;

#[derive(Deserialize)]
struct Envelope {
    data: CheckoutSession,
}

fn load(name: &str) -> CheckoutSession {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<Envelope>(&text).unwrap().data
}

#[test]
fn create_response_decodes_with_every_documented_value() {
    let s = load("create-session.201.json");
    assert_eq!(s.id.as_str(), "checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX");
    assert_eq!(s.mode, Some(Mode::Paylink));
    assert_eq!(s.status, SessionStatus::Open);
    assert!(s.is_open() && !s.is_paid() && !s.is_terminal());
    assert_eq!(
        s.order_id.as_ref().unwrap().as_str(),
        "ord_pwCDubIAZYGzKJa5XztGrhAv31kX12cm"
    );
    assert_eq!(s.order_status, Some(OrderStatus::Pending));
    let created = s.created_at.unwrap();
    assert_eq!(created, datetime!(2025-08-29 15:36:36.346 UTC));
    assert_eq!(
        (s.expires_at.unwrap() - created).whole_milliseconds(),
        3_600_002,
        "expiresAt is createdAt + 1 h + 2 ms"
    );
    assert_eq!(s.started_at, None);
    assert_eq!(s.end_at, None);
    assert_eq!(s.name.as_deref(), Some("Recipe Pro"));
    assert_eq!(s.paylink_type, Some(PaylinkType::Subscription));
    for (field, url, expected) in [
        ("successUrl", &s.success_url, "https://example.com/success"),
        ("cancelUrl", &s.cancel_url, "https://example.com/cancel"),
        ("failureUrl", &s.failure_url, "https://example.com/failure"),
        (
            "url",
            &s.url,
            "https://pay.acta.link/payment-link/checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX",
        ),
    ] {
        assert_eq!(url.as_deref(), Some(expected), "{field}");
    }
    assert!(s.extra.is_empty(), "nothing undocumented: {:?}", s.extra);
    assert_eq!(s.metadata, None);
    assert_eq!(s.plan, None);
    assert_eq!(s.payment, None);
    assert_eq!(s.products.len(), 1);
    let product = &s.products[0];
    assert_eq!(
        product.id.as_ref().unwrap().as_str(),
        "prod_LEYeql9qO7yAAxXJSUynmzL1QXWuo2or"
    );
    assert_eq!(product.payment_type, Some(PaymentType::Recurring));
    assert_eq!(product.status, Some(ProductStatus::Active));
    assert_eq!(product.image_url.as_deref(), Some(""));
    let price = product.price_details.as_ref().unwrap();
    assert_eq!(price.price.as_ref().unwrap().raw(), "0x302e3136");
    assert_eq!(price.decimal().unwrap(), Decimal::new(16, 2));
    assert_eq!(price.currency, Some(Currency::Usdc));
    assert_eq!(price.interval_count, Some(3));
    assert_eq!(price.interval_unit, Some(IntervalUnit::FiveMins));
    assert_eq!(price.currency_type, Some(CurrencyType::Crypto));
    // Not expired just before expiry, expired at it.
    let expires = s.expires_at.unwrap();
    assert!(!s.is_expired_at(expires - time::Duration::milliseconds(1)));
    assert!(s.is_expired_at(expires));
}

#[test]
fn status_response_decodes_with_every_documented_value() {
    let s = load("session-status-success.200.json");
    assert_eq!(s.status, SessionStatus::Success);
    assert!(s.is_paid() && s.is_terminal());
    assert_eq!(s.order_status, Some(OrderStatus::Ongoing));
    assert_eq!(s.metadata_value("uuid"), Some("nw571k0fjyh650yehifhtwqd"));
    assert_eq!(
        (s.end_at.unwrap() - s.started_at.unwrap()).whole_milliseconds(),
        900_000,
        "3 x 5 minutes"
    );
    assert_eq!(s.cancel_url, None);
    let plan = s.plan.as_ref().unwrap();
    assert_eq!(
        plan.id.as_deref(),
        Some("1b35a861-efa1-45a8-906f-e6a66752702f")
    );
    assert_eq!(plan.public_id, s.products[0].id);
    assert_eq!(
        plan.payment_type_id.as_deref(),
        Some("aa8bebef-aa85-4a93-b6fd-c60544cbb4d1")
    );
    assert_eq!(
        plan.price_details
            .as_ref()
            .unwrap()
            .decimal()
            .unwrap()
            .to_string(),
        "0.16"
    );
    let payment = s.payment.as_ref().unwrap();
    assert_eq!(
        payment.sender_address.as_deref(),
        Some("0x061BA68bc8208F4AddBeE86F74F17D77129cCF70")
    );
    assert_eq!(
        payment.receiver_address.as_deref(),
        Some("0xEBFa37194fA74bA3e8195446948FC3B9c72E08AB")
    );
    assert_eq!(payment.hash, None);
    assert!(s.is_expired_at(OffsetDateTime::now_utc()));
}

#[test]
fn sessions_round_trip_through_json() {
    for name in ["create-session.201.json", "session-status-success.200.json"] {
        let s = load(name);
        let again: CheckoutSession =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s, "{name}");
        // And to exactly the document the API sent.
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let sent: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), sent["data"], "{name}");
    }
}

#[test]
fn unknown_fields_and_values_never_fail_decoding() {
    let s: CheckoutSession = serde_json::from_str(
        r#"{"id":"checkout_x","status":"refunded","url":"u","orderStatus":"DISPUTED",
            "brandNewField":{"nested":[1,2]},"paylinkType":"bundle","startedAt":null,
            "products":[{"id":"prod_x","priceDetails":{"price":"0x31","intervalUnit":"fortnight","currency":"EURC"},"extra":1}]}"#,
    )
    .unwrap();
    assert_eq!(s.status, SessionStatus::Unknown("refunded".into()));
    assert!(!s.is_paid());
    assert_eq!(
        s.order_status,
        Some(OrderStatus::Unknown("DISPUTED".into()))
    );
    assert_eq!(s.paylink_type, Some(PaylinkType::Unknown("bundle".into())));
    let details = s.products[0].price_details.as_ref().unwrap();
    assert_eq!(
        details.interval_unit,
        Some(IntervalUnit::Unknown("fortnight".into()))
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["status"], "refunded");
    assert_eq!(json["products"][0]["priceDetails"]["currency"], "EURC");
    // Unmodelled fields are kept and written back, at every level.
    assert_eq!(
        s.extra["brandNewField"],
        serde_json::json!({"nested": [1, 2]})
    );
    assert_eq!(json["brandNewField"], serde_json::json!({"nested": [1, 2]}));
    assert_eq!(s.products[0].extra["extra"], 1);
    assert_eq!(json["products"][0]["extra"], 1);
}
