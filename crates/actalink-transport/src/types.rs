//! The owned request and response types a [`Transport`](crate::Transport) exchanges.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// One HTTP request, owned, cheap to clone (the body is [`Bytes`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The absolute URL, query included.
    pub url: String,
    /// The headers. Mark secret values sensitive so they never print.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
    /// The time this attempt may take, body included; `None` uses the transport's default.
    pub timeout: Option<Duration>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the time this attempt may take.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The URL's path, without scheme, host or query: safe to log.
    #[must_use]
    pub fn path(&self) -> &str {
        let after_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        // `find` returns the index of an ASCII `/`, a character boundary.
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        path.split(['?', '#']).next().unwrap_or("/")
    }
}

/// One HTTP response with its whole body read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// A response with a status and a body, and no headers.
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// A JSON response: sets `content-type: application/json`.
    pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self::new(status, body).with_header(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_drops_host_and_query() {
        let r = Request::new(
            Method::GET,
            "https://api.acta.link/billing/api/v1/paysession/status?checkoutSessionId=x",
        );
        assert_eq!(r.path(), "/billing/api/v1/paysession/status");
        assert_eq!(Request::new(Method::GET, "http://127.0.0.1:9").path(), "/");
        assert_eq!(Request::new(Method::GET, "http://h/a#frag").path(), "/a");
    }
}
