//! The sandbox over loopback, driven by the real SDK.

#![allow(clippy::unwrap_used, missing_docs)]

mod faults;
mod flow;
mod guard;
mod limits;
mod load;
mod order;
mod secrets;
mod validation;

use std::time::Duration;

use actalink_checkout::{Client, CreateCheckoutSession, RetryPolicy};
use actalink_sandbox::{DEFAULT_API_KEY, Sandbox};
use actalink_transport::{Request, ReqwestTransport, Response, Transport};
use actalink_webhooks::{Event, VerifiedEvent, Verifier};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use http::Method;
use tokio::sync::mpsc;

pub(crate) fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(20)))
        .build()
        .unwrap()
}

pub(crate) fn request(paylink: &str, order: &str) -> CreateCheckoutSession {
    CreateCheckoutSession::builder(paylink)
        .metadata("user_uuid", "u_42")
        .metadata("internal_order_id", order)
        .success_url(format!("https://shop.example/orders/{order}"))
        .cancel_url("https://shop.example/cart")
        .failure_url("https://shop.example/failed")
        .build()
        .unwrap()
}

/// A plain HTTP client that does not follow redirects, like a browser's first hop.
pub(crate) async fn http(method: Method, url: &str, body: Option<(&str, &str)>) -> Response {
    let transport = ReqwestTransport::new().unwrap();
    let mut request = Request::new(method, url);
    if let Some((content_type, body)) = body {
        request = request
            .with_header(http::header::CONTENT_TYPE, content_type.parse().unwrap())
            .with_body(body.to_owned());
    }
    transport.send(request).await.unwrap()
}

/// A webhook receiver that verifies with `secret`, answers `fail_first` requests
/// with 500, and forwards each verified event.
pub(crate) async fn receiver(
    secret: &str,
    fail_first: usize,
) -> (String, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/hook",
            post(move |VerifiedEvent(event): VerifiedEvent| {
                let tx = tx.clone();
                let calls = calls.clone();
                async move {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let _ = tx.send(event);
                    StatusCode::OK
                }
            }),
        )
        .with_state(Verifier::new(secret));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// One raw HTTP/1.1 exchange, so that a test controls every header (`Host`
/// included): the status and the body.
pub(crate) async fn raw(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
