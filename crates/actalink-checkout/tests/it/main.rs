//! Integration tests of `actalink-checkout`, through the replay and mockall
//! transports and, once, the real reqwest transport over loopback.

#![allow(clippy::unwrap_used, missing_docs)]

mod errors;
mod fault_matrix;
mod loopback;
mod requests;
mod retries;
mod secrets;
mod wait;

use std::time::Duration;

use actalink_checkout::RetryPolicy;
use actalink_checkout::transport::{ReplayTransport, Response};
use actalink_checkout::{Client, CreateCheckoutSession};
use http::StatusCode;

pub(crate) const KEY: &str =
    "sk_test_0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210";

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) fn created() -> Response {
    Response::json(StatusCode::CREATED, fixture("create-session.201.json"))
}

pub(crate) fn paid() -> Response {
    Response::json(StatusCode::OK, fixture("session-status-success.200.json"))
}

/// The create fixture with its status replaced, as an "open"/"failure" poll result.
pub(crate) fn with_status(status: &str) -> Response {
    let text = fixture("create-session.201.json")
        .replace("\"status\": \"open\"", &format!("\"status\": \"{status}\""));
    Response::json(StatusCode::OK, text)
}

pub(crate) fn status(code: u16, body: &str) -> Response {
    Response::new(StatusCode::from_u16(code).unwrap(), body.to_owned())
}

pub(crate) fn client(transport: &ReplayTransport) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url("https://api.test.invalid")
        .retry_policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(10)))
        .transport(transport.clone())
        .build()
        .unwrap()
}

pub(crate) fn create_request() -> CreateCheckoutSession {
    CreateCheckoutSession::builder("paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO")
        .metadata("user_uuid", "nw571k0fjyh650yehifhtwqd")
        .metadata("internal_order_id", "ORD-120394")
        .success_url("https://shop.example/success")
        .build()
        .unwrap()
}
