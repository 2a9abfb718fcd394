//! The real reqwest transport over loopback against a local HTTP stub.

use actalink_checkout::{CheckoutSessionId, Client, Error};
use actalink_testkit::{StubReply, StubServer};

use crate::{KEY, create_request, fixture};

/// A client of the stub, through the real reqwest transport.
fn client_of(stub: &StubServer) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(stub.url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_then_get_over_a_real_socket() {
    let stub = StubServer::start(vec![
        StubReply::json(201, fixture("create-session.201.json"))
            .with_header("x-request-id", "req_1"),
        StubReply::json(503, "{}"),
        StubReply::json(200, fixture("session-status-success.200.json")),
    ])
    .await;
    let client = client_of(&stub);
    let created = client.create_session(&create_request()).await.unwrap();
    assert!(created.is_open());
    let paid = client
        .get_session(&CheckoutSessionId::new("checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L").unwrap())
        .await
        .unwrap();
    assert!(paid.is_paid());

    let received = stub.received();
    assert_eq!(received.len(), 3, "the 503 was retried");
    assert!(
        received[0]
            .head
            .starts_with("POST /billing/api/v1/paysession/create HTTP/1.1")
    );
    let head = received[0].head.to_ascii_lowercase();
    assert!(head.contains(&format!("x-api-key: {}", KEY.to_ascii_lowercase())));
    assert!(head.contains("content-type: application/json"));
    assert!(head.contains("user-agent: actalink-rs/"));
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["metadata"]["internal_order_id"], "ORD-120394");
    assert!(received[1].head.starts_with(
        "GET /billing/api/v1/paysession/status?checkoutSessionId=checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L HTTP/1.1"
    ));
}

#[tokio::test]
async fn a_non_json_500_over_a_real_socket_is_a_server_error() {
    let stub = StubServer::start(vec![StubReply::Respond {
        status: 500,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<h1>oops</h1>".to_vec(),
    }])
    .await;
    let client = client_of(&stub);
    let e = client.create_session(&create_request()).await.unwrap_err();
    let Error::MaybeCreated { source, .. } = e else {
        panic!("{e:?}")
    };
    let Error::Server(api) = *source else {
        panic!("{source:?}")
    };
    assert_eq!(api.body_snippet, "<h1>oops</h1>");
    assert_eq!(stub.received().len(), 1);
}
