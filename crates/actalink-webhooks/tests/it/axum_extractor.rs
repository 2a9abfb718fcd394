//! The axum extractor accepts genuine requests and rejects forged ones with 400.

use actalink_webhooks::{VerifiedEvent, sign};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use tower::ServiceExt;

use crate::verifier_at;

const NOW: i64 = 1_756_481_736_348;
const BODY: &str = r#"{"id":"evt_9","eventType":"onetime.executed","eventData":{"data":{"metadata":{"internal_order_id":"ORD-9"}}}}"#;

async fn handler(VerifiedEvent(event): VerifiedEvent) -> String {
    format!(
        "{} {} {}",
        if event.is_recognised() {
            "recognised"
        } else {
            "unrecognised"
        },
        event.dedup_key(),
        event.metadata_value("internal_order_id").unwrap_or("-")
    )
}

fn app() -> Router {
    Router::new()
        .route("/hook", post(handler))
        .with_state(verifier_at("whsec_s", NOW).with_max_body_bytes(4096))
}

async fn call(body: String, timestamp: &str, signature: &str) -> (StatusCode, String) {
    let request = Request::post("/hook")
        .header("x-actalink-timestamp", timestamp)
        .header("X-Actalink-Signature", signature)
        .body(Body::from(body))
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn a_genuine_request_reaches_the_handler() {
    let s = sign(BODY.as_bytes(), &"whsec_s".into(), NOW).unwrap();
    let (status, text) = call(BODY.into(), &s.timestamp, &s.signature).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "recognised evt_9 ORD-9")
    );
}

#[tokio::test]
async fn a_forged_request_is_a_400_with_the_reason() {
    let s = sign(BODY.as_bytes(), &"whsec_wrong".into(), NOW).unwrap();
    let (status, text) = call(BODY.into(), &s.timestamp, &s.signature).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.starts_with("webhook rejected: the signature does not match"),
        "{text}"
    );
    assert!(!text.contains("whsec"));
}

#[tokio::test]
async fn an_oversized_body_is_a_400() {
    let s = sign(BODY.as_bytes(), &"whsec_s".into(), NOW).unwrap();
    let (status, text) = call(" ".repeat(5000) + BODY, &s.timestamp, &s.signature).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text,
        "webhook rejected: the body is larger than the 4096-byte limit\n"
    );
}

#[tokio::test]
async fn every_genuinely_signed_body_reaches_the_handler_whatever_its_shape() {
    for body in [
        "[1,2]",
        "\"x\"",
        "42",
        "null",
        "{}",
        r#"{"id":7,"eventType":"onetime.executed"}"#,
        r#"{"eventType":"onetime.executed","eventData":[]}"#,
        r#"{"id":"evt_d","eventType":"onetime.executed","eventData":{"data":{"token":{"amount":150000,"decimals":"6"},"metadata":[]}}}"#,
    ] {
        let s = sign(body.as_bytes(), &"whsec_s".into(), NOW).unwrap();
        // Pretty-printed too, so the re-serialising path is taken.
        for sent in [body.to_owned(), format!(" {body}\n")] {
            let (status, text) = call(sent, &s.timestamp, &s.signature).await;
            assert_eq!(status, StatusCode::OK, "{body}: {text}");
            let recognised = body.contains("\"id\":7") || body.contains("evt_d");
            assert_eq!(
                text.starts_with("recognised "),
                recognised,
                "{body}: {text}"
            );
            if !body.contains("\"id\"") {
                assert!(text.contains(" sha256:"), "{body}: {text}");
            }
        }
        // And the same body forged is still refused.
        let forged = sign(body.as_bytes(), &"whsec_wrong".into(), NOW).unwrap();
        let (status, _) = call(body.into(), &forged.timestamp, &forged.signature).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn expired_and_too_deep_bodies_are_a_400() {
    let s = sign(BODY.as_bytes(), &"whsec_s".into(), NOW - 600_000).unwrap();
    let (status, text) = call(BODY.into(), &s.timestamp, &s.signature).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("beyond the 300000 ms tolerance"), "{text}");
    let deep = format!("{} 1{}", "[".repeat(300), "]".repeat(300));
    let (status, text) = call(deep, &NOW.to_string(), &"0".repeat(64)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("nests deeper than 256 levels"), "{text}");
}
