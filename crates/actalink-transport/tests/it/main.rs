//! Integration tests of `actalink-transport`: the reqwest transport over
//! loopback, and the retry loop over the replay transport.

#![allow(clippy::unwrap_used, missing_docs)]

mod loopback;
mod retry;
#[cfg(feature = "rustls")]
mod tls;

use actalink_transport::{Error, Request, ReqwestTransport, Response, Transport};
use http::Method;

/// Sends a request without a body.
pub(crate) async fn send(
    transport: &ReqwestTransport,
    method: Method,
    url: impl Into<String>,
) -> Result<Response, Error> {
    transport.send(Request::new(method, url)).await
}

/// Sends a request to `path` on a port of 127.0.0.1 that is very likely
/// closed (bound, then released), and returns the port and the error.
pub(crate) async fn send_to_a_closed_port(method: Method, path: &str) -> (u16, Error) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = ReqwestTransport::new().unwrap();
    let error = send(&transport, method, format!("http://127.0.0.1:{port}{path}"))
        .await
        .unwrap_err();
    (port, error)
}
