//! `ReqwestTransport` against a real socket on 127.0.0.1.

use std::time::Duration;

use actalink_testkit::{StubReply, StubServer};
use actalink_transport::{Error, ErrorKind, Request, ReqwestTransport, Response, Transport};
use http::{HeaderValue, Method, StatusCode};

use crate::{send, send_to_a_closed_port};

#[tokio::test]
async fn sends_method_headers_and_body_and_reads_the_response() {
    let stub = StubServer::start(vec![
        StubReply::json(201, r#"{"data":{}}"#).with_header("x-request-id", "req_1"),
    ])
    .await;
    let transport = ReqwestTransport::new().unwrap();
    let request = Request::new(Method::POST, format!("{}/a/b?x=1", stub.url()))
        .with_header(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .with_body(r#"{"k":"v"}"#);
    let response = transport.send(request).await.unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.headers["x-request-id"], "req_1");
    assert_eq!(&response.body[..], br#"{"data":{}}"#);
    let received = stub.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].head.starts_with("POST /a/b?x=1 HTTP/1.1\r\n"),
        "{}",
        received[0].head
    );
    assert!(
        received[0]
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert_eq!(received[0].body, br#"{"k":"v"}"#);
}

/// Credentials in the URL are sent as HTTP Basic authentication, never in
/// the request line; an `Authorization` header the caller set wins.
#[tokio::test]
async fn credentials_in_the_url_become_basic_authentication() {
    let stub =
        StubServer::start(vec![StubReply::json(200, "{}"), StubReply::json(200, "{}")]).await;
    let url = stub.url().replace("http://", "http://user:pw@") + "/hook";
    let transport = ReqwestTransport::new().unwrap();
    transport
        .send(Request::new(Method::POST, url.clone()))
        .await
        .unwrap();
    let explicit = Request::new(Method::POST, url).with_header(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer t"),
    );
    transport.send(explicit).await.unwrap();
    let heads: Vec<String> = stub
        .received()
        .iter()
        .map(|r| r.head.to_ascii_lowercase())
        .collect();
    // base64("user:pw") is "dXNlcjpwdw==".
    assert!(
        heads[0].starts_with("post /hook http/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[0].contains("authorization: basic dxnlcjpwdw=="),
        "{}",
        heads[0]
    );
    assert!(heads[1].contains("authorization: bearer t"), "{}", heads[1]);
    assert!(!heads[1].contains("basic"), "{}", heads[1]);
}

/// A GET of a `len`-byte body through a transport capped at 1024 bytes.
async fn get_through_a_1024_byte_cap(len: usize) -> Result<Response, Error> {
    let stub = StubServer::start(vec![StubReply::json(200, vec![b'x'; len])]).await;
    let transport = ReqwestTransport::builder()
        .max_body_bytes(1024)
        .build()
        .unwrap();
    send(&transport, Method::GET, stub.url()).await
}

#[tokio::test]
async fn a_body_over_the_cap_is_an_error() {
    let err = get_through_a_1024_byte_cap(2048).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge { limit: 1024 });
    assert!(err.to_string().contains("1024-byte limit"), "{err}");
}

#[tokio::test]
async fn a_body_at_the_cap_is_accepted() {
    let response = get_through_a_1024_byte_cap(1024).await.unwrap();
    assert_eq!(response.body.len(), 1024);
}

/// A slow response times out, whether the request's own timeout is shorter
/// than the transport's or equal to it (when no second timer is set).
#[tokio::test]
async fn a_slow_response_times_out() {
    let limit = Duration::from_millis(200);
    for transport in [
        ReqwestTransport::new().unwrap(),
        ReqwestTransport::builder().timeout(limit).build().unwrap(),
    ] {
        let stub = StubServer::start(vec![StubReply::Delay(
            Duration::from_secs(5),
            Box::new(StubReply::json(200, "{}")),
        )])
        .await;
        let request = Request::new(Method::GET, stub.url()).with_timeout(limit);
        let started = tokio::time::Instant::now();
        let err = transport.send(request).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(err.was_sent());
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_that_was_not_sent() {
    let (port, err) =
        send_to_a_closed_port(Method::POST, "/billing/x?checkoutSessionId=secret").await;
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.was_sent());
    // The message names host and port, never the path or query.
    assert_eq!(
        err.to_string(),
        format!("could not connect to 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_dropped_connection_is_an_io_error_that_may_have_been_sent() {
    let stub = StubServer::start(vec![StubReply::Drop]).await;
    let transport = ReqwestTransport::new().unwrap();
    let err = send(&transport, Method::POST, stub.url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");
    assert!(err.was_sent());
}

#[tokio::test]
async fn a_truncated_body_is_an_io_error() {
    let stub = StubServer::start(vec![StubReply::Truncated {
        status: 200,
        body: b"{\"da".to_vec(),
        announced: 100,
    }])
    .await;
    let transport = ReqwestTransport::new().unwrap();
    let err = send(&transport, Method::GET, stub.url()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");
}
