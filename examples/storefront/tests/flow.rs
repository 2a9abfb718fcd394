//! The storefront without a browser: checkout, idempotent webhooks, reconciliation.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use actalink_transport::{Request, ReqwestTransport, Response, Transport};
use http::{HeaderValue, Method, StatusCode};

async fn send(
    method: Method,
    url: &str,
    body: Option<(&str, String)>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Request::new(method, url);
    if let Some((content_type, body)) = body {
        request = request
            .with_header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).unwrap(),
            )
            .with_body(body);
    }
    for (name, value) in headers {
        request = request.with_header(name.parse().unwrap(), value.parse().unwrap());
    }
    ReqwestTransport::new()
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

/// Posts the checkout form; returns the order id and the hosted page URL.
async fn checkout(shop: &common::Shop, paylink: &str) -> (String, String) {
    let response = send(
        Method::POST,
        &format!("{}/checkout", shop.url),
        Some((
            "application/x-www-form-urlencoded",
            format!("paylink={paylink}"),
        )),
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let hosted = response.headers["location"].to_str().unwrap().to_owned();
    let session_id = hosted.rsplit('/').next().unwrap();
    let stored = shop.sandbox.store().get(session_id).unwrap();
    let order_id = stored
        .metadata
        .as_ref()
        .unwrap()
        .get("internal_order_id")
        .unwrap()
        .to_owned();
    assert_eq!(
        shop.db
            .order(&order_id)
            .unwrap()
            .unwrap()
            .checkout_session_id
            .as_deref(),
        Some(session_id)
    );
    (order_id, hosted)
}

#[tokio::test]
async fn checkout_pays_once_even_when_the_webhook_is_redelivered() {
    let shop = common::start(false).await;
    let home = send(Method::GET, &shop.url, None, &[]).await;
    assert!(String::from_utf8_lossy(&home.body).contains("Buy Recipe Pro"));
    let (order_id, _) = checkout(&shop, actalink_sandbox::PRO_PAYLINK).await;
    assert_eq!(shop.db.order(&order_id).unwrap().unwrap().status, "pending");

    let body = format!(
        r#"{{"id":"event_redelivered","eventType":"subscription.billing.scheduled","eventData":{{"data":{{"metadata":{{"internal_order_id":"{order_id}"}}}}}}}}"#
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let signed = actalink_webhooks::sign(body.as_bytes(), &common::SECRET.into(), now).unwrap();
    let headers = [
        ("x-actalink-timestamp", signed.timestamp.as_str()),
        ("x-actalink-signature", signed.signature.as_str()),
    ];
    let hook = format!("{}/webhooks/actalink", shop.url);
    for _ in 0..2 {
        let response = send(
            Method::POST,
            &hook,
            Some(("application/json", body.clone())),
            &headers,
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
    }
    assert_eq!(shop.db.order(&order_id).unwrap().unwrap().status, "paid");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 1);

    // A forged event is refused and changes nothing.
    let forged = actalink_webhooks::sign(
        body.replace("redelivered", "forged").as_bytes(),
        &"whsec_wrong".into(),
        now,
    )
    .unwrap();
    let response = send(
        Method::POST,
        &hook,
        Some(("application/json", body.replace("redelivered", "forged"))),
        &[
            ("x-actalink-timestamp", &forged.timestamp),
            ("x-actalink-signature", &forged.signature),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 1);
}

#[tokio::test]
async fn the_success_page_reconciles_when_the_webhook_never_comes() {
    let shop = common::start(false).await;
    let (order_id, hosted) = checkout(&shop, actalink_sandbox::EBOOK_PAYLINK).await;
    let paid = send(Method::POST, &format!("{hosted}/pay"), None, &[]).await;
    let success = paid.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(success, format!("{}/orders/{order_id}", shop.url));
    let page = send(Method::GET, &success, None, &[]).await;
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains(r#"id="order-status" class="paid">paid<"#),
        "{html}"
    );
    assert_eq!(shop.db.order(&order_id).unwrap().unwrap().status, "paid");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 0, "no webhook came");
}

#[tokio::test]
async fn a_provider_outage_fails_the_order_cleanly() {
    let shop = common::start(true).await;
    shop.sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 500})).unwrap(),
        1,
    );
    let response = send(
        Method::POST,
        &format!("{}/checkout", shop.url),
        Some((
            "application/x-www-form-urlencoded",
            format!("paylink={}", actalink_sandbox::PRO_PAYLINK),
        )),
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(String::from_utf8_lossy(&response.body).contains("Please try again"));
}
