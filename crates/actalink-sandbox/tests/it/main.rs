//! The sandbox over loopback, driven by the real SDK.

#![allow(clippy::unwrap_used, missing_docs)]

mod actions;
mod fanout;
mod faults;
mod flow;
mod guard;
mod limits;
mod load;
mod order;
mod secrets;
mod validation;

use std::time::Duration;

use actalink_checkout::{CheckoutSession, Client, CreateCheckoutSession, RetryPolicy};
use actalink_sandbox::{DEFAULT_API_KEY, Sandbox, SandboxBuilder, WebhookEndpoint};
use actalink_transport::{Request, ReqwestTransport, Response, Transport};
use actalink_webhooks::{Event, VerifiedEvent, Verifier};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use http::Method;
use tokio::sync::mpsc;

/// A sandbox with the default configuration on a free loopback port.
pub(crate) async fn sandbox() -> Sandbox {
    start(Sandbox::builder()).await
}

/// Starts `builder` on a free loopback port.
pub(crate) async fn start(builder: SandboxBuilder) -> Sandbox {
    builder.start("127.0.0.1:0").await.unwrap()
}

pub(crate) fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .retry_policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(20)))
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

/// Creates a session for `paylink` through the SDK, with [`request`]'s metadata for `order`.
pub(crate) async fn create(client: &Client, paylink: &str, order: &str) -> CheckoutSession {
    client
        .create_session(&request(paylink, order))
        .await
        .unwrap()
}

/// Sends `request` with a plain HTTP client that does not follow redirects,
/// like a browser's first hop.
pub(crate) async fn send(request: Request) -> Response {
    ReqwestTransport::new()
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

/// One plain HTTP request (see [`send`]), with `body` as `(content type, body)`.
pub(crate) async fn http(method: Method, url: &str, body: Option<(&str, &str)>) -> Response {
    let mut request = Request::new(method, url);
    if let Some((content_type, body)) = body {
        request = request
            .with_header(http::header::CONTENT_TYPE, content_type.parse().unwrap())
            .with_body(body.to_owned());
    }
    send(request).await
}

/// One billing API call (see [`send`]): `key` as `x-api-key`, `body` as JSON.
pub(crate) async fn api(
    method: Method,
    url: String,
    key: Option<&str>,
    body: Option<String>,
) -> Response {
    let mut request = Request::new(method, url);
    if let Some(key) = key {
        request = request.with_header("x-api-key".parse().unwrap(), key.parse().unwrap());
    }
    if let Some(body) = body {
        request = request
            .with_header(
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            )
            .with_body(body);
    }
    send(request).await
}

/// Presses the hosted page's `button` (`pay`, `cancel` or `fail`) for `session`.
pub(crate) async fn press(session: &CheckoutSession, button: &str) -> Response {
    let page = session.url.as_deref().unwrap();
    http(Method::POST, &format!("{page}/{button}"), None).await
}

/// A webhook receiver that verifies with `secret`, answers `fail_first` requests
/// with 500, and forwards each verified event: the endpoint to register and the events.
pub(crate) async fn receiver(
    secret: &str,
    fail_first: usize,
) -> (WebhookEndpoint, mpsc::UnboundedReceiver<Event>) {
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
    (WebhookEndpoint::new(url, secret), rx)
}

/// The next verified event from a [`receiver`], within 10 s.
pub(crate) async fn next_event(events: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap()
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
