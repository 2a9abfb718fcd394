//! The production transport, on reqwest with rustls.

use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;

use crate::{Error, ErrorKind, Request, Response, Transport};

/// A [`Transport`] on a pooled `reqwest` client (rustls, HTTP/1.1 and HTTP/2).
///
/// Every response body is read whole but never past a cap (1 MiB by default):
/// a larger body is an [`ErrorKind::BodyTooLarge`] error instead of unbounded
/// memory. Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_body_bytes: usize,
}

/// Configures a [`ReqwestTransport`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    max_body_bytes: usize,
    pool_idle_timeout: Duration,
    user_agent: Option<String>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(60),
            user_agent: None,
        }
    }
}

impl ReqwestTransportBuilder {
    /// How long making a connection may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, body included, when the request sets no
    /// timeout of its own (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted (default 1 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How long an idle pooled connection is kept (default 60 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The `User-Agent` sent when a request sets none.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be initialised.
    pub fn build(self) -> Result<ReqwestTransport, Error> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            // The SDK talks to one API: redirects are a misconfiguration, not
            // something to follow with the API key attached.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(user_agent) = self.user_agent {
            builder = builder.user_agent(user_agent);
        }
        let client = builder.build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                "could not build the HTTP client",
                Some(e.into()),
            )
        })?;
        Ok(ReqwestTransport {
            client,
            max_body_bytes: self.max_body_bytes,
        })
    }
}

impl ReqwestTransport {
    /// A transport with the default settings.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be initialised.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// Starts configuring a transport.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }
}

fn map_error(error: reqwest::Error) -> Error {
    if error.is_connect() {
        Error::connect(error.without_url())
    } else if error.is_timeout() {
        Error::new(
            ErrorKind::Timeout,
            "the request timed out",
            Some(error.without_url().into()),
        )
    } else if error.is_builder() {
        Error::new(
            ErrorKind::InvalidRequest,
            "the request could not be built",
            Some(error.without_url().into()),
        )
    } else {
        Error::io(error.without_url())
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        let mut builder = self
            .client
            .request(request.method, &request.url)
            .headers(request.headers);
        // A GET carries no body: attaching an empty one would add `content-length: 0`.
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        let mut response = builder.send().await.map_err(map_error)?;
        let limit = self.max_body_bytes;
        let too_large = || {
            Error::new(
                ErrorKind::BodyTooLarge { limit },
                format!("the response body is larger than the {limit}-byte limit"),
                None,
            )
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(map_error)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: body.freeze(),
        })
    }
}
