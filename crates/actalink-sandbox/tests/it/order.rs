//! The merchant's metadata keeps its insertion order everywhere: the status
//! response and the webhook show keys as they were sent, never sorted.

use actalink_sandbox::{DEFAULT_API_KEY, EBOOK_PAYLINK, Sandbox};
use actalink_testkit::SandboxControl;
use http::Method;

use crate::{client, next_event, receiver, start};

/// One billing API call with the default key: the status and the body as text.
async fn api(method: Method, url: String, body: Option<String>) -> (u16, String) {
    let response = crate::api(method, url, Some(DEFAULT_API_KEY), body).await;
    (
        response.status.as_u16(),
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

#[tokio::test]
async fn metadata_keeps_its_order_in_the_status_response_and_the_webhook() {
    let (hook, mut events) = receiver("whsec_order", 0).await;
    let sandbox = start(Sandbox::builder().webhook(hook)).await;
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
    let control = SandboxControl::of(&sandbox);
    let (status, paid) = control
        .post_json(&format!("sessions/{id}/pay"), "{}")
        .await
        .unwrap();
    assert_eq!(status, 200, "{paid}");
    assert!(paid.contains(in_order), "{paid}");
    let event = next_event(&mut events).await;
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
    let pairs: Vec<(&str, &str)> = session.metadata.as_ref().unwrap().iter().collect();
    assert_eq!(pairs, [("z", "1"), ("a", "2"), ("m", "3")]);
}
