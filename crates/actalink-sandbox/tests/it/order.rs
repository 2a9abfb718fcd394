//! The merchant's metadata keeps its insertion order everywhere: the status
//! response and the webhook show keys as they were sent, never sorted.

use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, EBOOK_PAYLINK, Sandbox, WebhookEndpoint};
use actalink_transport::{Request, ReqwestTransport, Transport};
use http::Method;

use crate::{client, http, receiver};

async fn api(method: Method, url: String, body: Option<String>) -> (u16, String) {
    let mut request = Request::new(method, url).with_header(
        "x-api-key".parse().unwrap(),
        DEFAULT_API_KEY.parse().unwrap(),
    );
    if let Some(body) = body {
        request = request
            .with_header(
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            )
            .with_body(body);
    }
    let response = ReqwestTransport::new()
        .unwrap()
        .send(request)
        .await
        .unwrap();
    (
        response.status.as_u16(),
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

#[tokio::test]
async fn metadata_keeps_its_order_in_the_status_response_and_the_webhook() {
    let (hook, mut events) = receiver("whsec_order", 0).await;
    let sandbox = Sandbox::builder()
        .webhook(WebhookEndpoint::new(hook, "whsec_order"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    // Sent by hand, so the order on the wire is exactly z, a, m (and a
    // repeated key keeps its first place and takes the last value, as JSON.parse does).
    let body = format!(
        r#"{{"paylinkId":"{EBOOK_PAYLINK}","mode":"paylink","metadata":{{"z":"1","a":"0","m":"3","a":"2"}}}}"#
    );
    let (status, created) = api(
        Method::POST,
        format!("{}/billing/api/v1/paysession/create", sandbox.url()),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let in_order = r#""metadata":{"z":"1","a":"2","m":"3"}"#;

    let (status, text) = api(
        Method::GET,
        format!(
            "{}/billing/api/v1/paysession/status?checkoutSessionId={id}",
            sandbox.url()
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(text.contains(in_order), "{text}");
    // The documented field order, too: id first, products last.
    assert!(text.starts_with(r#"{"data":{"id":"checkout_"#), "{text}");
    let (metadata_at, products_at) = (
        text.find("\"metadata\"").unwrap(),
        text.find("\"products\"").unwrap(),
    );
    assert!(metadata_at < products_at, "{text}");

    // The control API's answer and the webhook keep it as well.
    let paid = http(
        Method::POST,
        &format!("{}/__sandbox/sessions/{id}/pay", sandbox.url()),
        None,
    )
    .await;
    let paid = String::from_utf8_lossy(&paid.body).into_owned();
    assert!(paid.contains(in_order), "{paid}");
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(event.raw_json().contains(in_order), "{}", event.raw_json());
    assert!(
        event.raw_json().starts_with(r#"{"id":"event_"#),
        "{}",
        event.raw_json()
    );

    // And so does the SDK's view of the session.
    let session = client(&sandbox)
        .get_session(&id.parse().unwrap())
        .await
        .unwrap();
    let keys: Vec<&str> = session
        .metadata
        .as_ref()
        .unwrap()
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["z", "a", "m"]);
}
