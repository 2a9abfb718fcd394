//! The exact requests sent, and the documented responses decoded.

use actalink_checkout::transport::ReplayTransport;
use actalink_checkout::types::{Decimal, OrderStatus};
use actalink_checkout::{CheckoutSessionId, SessionStatus};
use http::Method;

use crate::{KEY, client, create_request, created, paid};

#[tokio::test]
async fn create_sends_the_documented_request_and_decodes_the_201() {
    let t = ReplayTransport::new().respond(created());
    let session = client(&t).create_session(&create_request()).await.unwrap();

    let sent = t.requests();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(
        r.url,
        "https://api.test.invalid/billing/api/v1/paysession/create"
    );
    assert_eq!(r.headers["x-api-key"], KEY);
    assert!(r.headers["x-api-key"].is_sensitive());
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["accept"], "application/json");
    assert_eq!(
        r.headers["user-agent"],
        concat!("actalink-rs/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"paylinkId":"paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO","mode":"paylink","metadata":{"user_uuid":"nw571k0fjyh650yehifhtwqd","internal_order_id":"ORD-120394"},"successUrl":"https://shop.example/success"}"#
    );

    assert_eq!(
        session.id.as_str(),
        "checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX"
    );
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(session.order_status, Some(OrderStatus::Pending));
    assert_eq!(
        session.url.as_deref(),
        Some("https://pay.acta.link/payment-link/checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX")
    );
    let price = session.products[0]
        .price_details
        .as_ref()
        .unwrap()
        .decimal()
        .unwrap();
    assert_eq!(price, Decimal::new(16, 2));
}

#[tokio::test]
async fn get_sends_the_encoded_query_and_decodes_the_200() {
    let t = ReplayTransport::new().respond(paid()).respond(paid());
    let c = client(&t);
    let session = c
        .get_session(&CheckoutSessionId::new("checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L").unwrap())
        .await
        .unwrap();
    // An id needing encoding is encoded, not spliced.
    c.get_session(&CheckoutSessionId::new("a&b=c+d%/é").unwrap())
        .await
        .unwrap();

    let sent = t.requests();
    assert_eq!(sent[0].method, Method::GET);
    assert_eq!(
        sent[0].url,
        "https://api.test.invalid/billing/api/v1/paysession/status?checkoutSessionId=checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L"
    );
    assert!(sent[0].body.is_empty());
    assert_eq!(sent[0].headers["x-api-key"], KEY);
    assert!(sent[0].headers.get("content-type").is_none());
    assert_eq!(
        sent[1].url,
        "https://api.test.invalid/billing/api/v1/paysession/status?checkoutSessionId=a%26b%3Dc%2Bd%25%2F%C3%A9"
    );

    assert!(session.is_paid());
    assert_eq!(
        session.metadata_value("uuid"),
        Some("nw571k0fjyh650yehifhtwqd")
    );
    assert_eq!(session.order_status, Some(OrderStatus::Ongoing));
}

#[tokio::test]
async fn any_2xx_is_success_and_a_base_path_is_kept() {
    let t = ReplayTransport::new().respond(crate::status(
        200,
        &crate::fixture("create-session.201.json"),
    ));
    let c = actalink_checkout::Client::builder()
        .api_key(KEY)
        .base_url("http://127.0.0.1:9/prefix/")
        .user_agent_suffix("my-shop/1.4")
        .transport(t.clone())
        .build()
        .unwrap();
    c.create_session(&create_request()).await.unwrap();
    let r = &t.requests()[0];
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/prefix/billing/api/v1/paysession/create"
    );
    assert_eq!(
        r.headers["user-agent"],
        concat!("actalink-rs/", env!("CARGO_PKG_VERSION"), " my-shop/1.4")
    );
}

#[tokio::test]
async fn the_mockall_mock_can_stand_in_for_the_transport() {
    use actalink_checkout::transport::MockTransport;
    let mut mock = MockTransport::new();
    mock.expect_send()
        .withf(|r| r.url.ends_with("checkoutSessionId=checkout_1"))
        .times(1)
        .returning(|_| Ok(paid()));
    let c = actalink_checkout::Client::builder()
        .api_key(KEY)
        .transport(mock)
        .build()
        .unwrap();
    let s = c
        .get_session(&CheckoutSessionId::new("checkout_1").unwrap())
        .await
        .unwrap();
    assert!(s.is_paid());
}

#[tokio::test]
async fn the_providers_billing_base_url_reaches_the_documented_paths() {
    for base in ["https://api.acta.link", "https://api.acta.link/billing"] {
        let t = ReplayTransport::new().respond(paid());
        let c = actalink_checkout::Client::builder()
            .api_key(KEY)
            .base_url(base)
            .transport(t.clone())
            .build()
            .unwrap();
        c.get_session(&CheckoutSessionId::new("checkout_1").unwrap())
            .await
            .unwrap();
        assert_eq!(
            t.requests()[0].url,
            "https://api.acta.link/billing/api/v1/paysession/status?checkoutSessionId=checkout_1",
            "{base}"
        );
    }
}

#[tokio::test]
async fn a_paid_session_in_a_drifted_shape_still_decodes_as_paid() {
    let drifted = crate::fixture("session-status-success.200.json")
        .replace("\"products\": [", "\"products\": null, \"productsV2\": [")
        .replace("\"intervalCount\": 3", "\"intervalCount\": \"3\"")
        .replace("\"price\": \"0x302e3136\"", "\"price\": 0.16")
        .replace(
            "\"createdAt\": \"2025-08-29T15:31:50.876Z\"",
            "\"createdAt\": \"2025-08-29T15:31:50.876\"",
        );
    assert!(drifted.contains("productsV2") && drifted.contains("\"price\": 0.16"));
    let t = ReplayTransport::new().respond(crate::status(200, &drifted));
    let s = crate::client(&t)
        .get_session(&CheckoutSessionId::new("checkout_1").unwrap())
        .await
        .unwrap();
    assert!(s.is_paid());
    assert!(s.products.is_empty());
    assert!(
        s.extra.contains_key("productsV2"),
        "unmodelled fields are kept"
    );
    assert!(
        s.created_at.is_some(),
        "a timestamp without offset is read as UTC"
    );
    let plan = s.plan.unwrap().price_details.unwrap();
    assert_eq!(plan.interval_count, Some(3));
    assert_eq!(plan.decimal().unwrap().to_string(), "0.16");
}
