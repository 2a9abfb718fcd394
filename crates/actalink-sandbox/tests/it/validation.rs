//! Bad input gets a 4xx with a JSON message, never a 500.

use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK, Sandbox};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::{api, sandbox, start};

async fn post(url: &str, key: Option<&str>, body: String) -> (StatusCode, Value) {
    let create = format!("{url}/billing/api/v1/paysession/create");
    let response = api(Method::POST, create, key, Some(body)).await;
    let json: Value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&response.body)));
    (response.status, json)
}

#[tokio::test]
async fn every_bad_request_is_a_4xx_with_a_message() {
    let sandbox = start(Sandbox::builder().max_body_bytes(4096)).await;
    let url = sandbox.url();
    let key = Some(DEFAULT_API_KEY);
    let ok = format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink"}}"#);
    let many: String = (0..51)
        .map(|i| format!("\"k{i}\":\"v\""))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "no key",
            None,
            ok.clone(),
            StatusCode::UNAUTHORIZED,
            "x-api-key header is missing",
        ),
        (
            "wrong key",
            Some("sk_wrong"),
            ok.clone(),
            StatusCode::UNAUTHORIZED,
            "not valid",
        ),
        (
            "malformed JSON",
            key,
            "{\"paylinkId\":".into(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "not an object",
            key,
            "[1,2]".into(),
            StatusCode::BAD_REQUEST,
            "must be a JSON object",
        ),
        (
            "wrong type",
            key,
            r#"{"paylinkId":7,"mode":"paylink"}"#.into(),
            StatusCode::BAD_REQUEST,
            "paylinkId must be a string",
        ),
        (
            "empty paylink",
            key,
            r#"{"paylinkId":" ","mode":"paylink"}"#.into(),
            StatusCode::BAD_REQUEST,
            "must not be empty",
        ),
        (
            "missing paylink",
            key,
            r#"{"mode":"paylink"}"#.into(),
            StatusCode::BAD_REQUEST,
            "paylinkId is required",
        ),
        (
            "missing mode",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}"}}"#),
            StatusCode::BAD_REQUEST,
            "mode is required",
        ),
        (
            "bad mode",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"invoice"}}"#),
            StatusCode::BAD_REQUEST,
            "not supported",
        ),
        (
            "unknown paylink",
            key,
            r#"{"paylinkId":"paylink_nope","mode":"paylink"}"#.into(),
            StatusCode::NOT_FOUND,
            "was not found",
        ),
        (
            "51 metadata keys",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink","metadata":{{{many}}}}}"#),
            StatusCode::BAD_REQUEST,
            "at most 50 keys",
        ),
        (
            "empty metadata key",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink","metadata":{{"":"v"}}}}"#),
            StatusCode::BAD_REQUEST,
            "must not be empty",
        ),
        (
            "non-string metadata",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink","metadata":{{"n":1}}}}"#),
            StatusCode::BAD_REQUEST,
            "must be a string",
        ),
        (
            "relative URL",
            key,
            format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink","successUrl":"/ok"}}"#),
            StatusCode::BAD_REQUEST,
            "successUrl",
        ),
        (
            "javascript URL",
            key,
            format!(
                r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink","cancelUrl":"javascript:alert(1)"}}"#
            ),
            StatusCode::BAD_REQUEST,
            "http or https",
        ),
        (
            "body over the limit",
            key,
            format!("{{\"pad\":\"{}\"}}", "x".repeat(5000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
    ];
    for (name, key, body, status, message) in cases {
        let (got, json) = post(url, key, body).await;
        assert_eq!(got, status, "{name}: {json}");
        let text = json["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
    }
    assert_eq!(
        sandbox.session_count(),
        0,
        "no bad request created a session"
    );
}

#[tokio::test]
async fn status_needs_a_key_and_a_known_id() {
    let sandbox = sandbox().await;
    let status = format!("{}/billing/api/v1/paysession/status", sandbox.url());
    let get = |query: &str, key| api(Method::GET, format!("{status}{query}"), key, None);
    assert_eq!(
        get("?checkoutSessionId=x", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("", Some(DEFAULT_API_KEY)).await.status,
        StatusCode::BAD_REQUEST
    );
    let missing = get("?checkoutSessionId=checkout_nope", Some(DEFAULT_API_KEY)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let json: Value = serde_json::from_slice(&missing.body).unwrap();
    assert!(json["message"].as_str().unwrap().contains("was not found"));
}

#[tokio::test]
async fn the_sdk_reports_sandbox_refusals_as_typed_errors() {
    let sandbox = sandbox().await;
    let client = actalink_checkout::Client::builder()
        .api_key("sk_wrong")
        .base_url(sandbox.url())
        .build()
        .unwrap();
    let err = client
        .create_session(&crate::request(PRO_PAYLINK, "O"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, actalink_checkout::Error::Unauthorized(_)),
        "{err:?}"
    );
    assert_eq!(err.message(), Some("the API key is not valid"));
    let client = crate::client(&sandbox);
    let err = client
        .create_session(&crate::request("paylink_nope", "O"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, actalink_checkout::Error::NotFound(_)),
        "{err:?}"
    );
}
