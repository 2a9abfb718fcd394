//! The production transport, on reqwest.
//!
//! TLS: with the default `rustls` feature, rustls with the *ring* crypto
//! provider and the platform's certificate verifier (the system's roots, plus
//! any added with [`ReqwestTransportBuilder::add_root_certificate_pem`]). Ring
//! rather than reqwest's default aws-lc-rs: it builds without cmake or nasm,
//! and a clean build of the HTTP stack took 52 s of CPU with ring against 77 s
//! with aws-lc-rs (see docs/src/benchmarks.md). The `native-tls` feature offers
//! the platform's TLS library instead.

use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;

use crate::{Error, ErrorKind, Request, Response, Transport};

/// A [`Transport`] on a pooled `reqwest` client (HTTP/1.1 and HTTP/2; TLS
/// from the `rustls` or `native-tls` feature).
///
/// Every response body is read whole but never past a cap (1 MiB by default):
/// a larger body is an [`ErrorKind::BodyTooLarge`] error instead of unbounded
/// memory. Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_body_bytes: usize,
    /// The timeout the client applies to a request that sets none, when
    /// known: a request whose timeout equals it needs no timer of its own.
    client_timeout: Option<Duration>,
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
    root_certificates_pem: Vec<Vec<u8>>,
    #[cfg(feature = "native-tls")]
    native_tls: bool,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(60),
            user_agent: None,
            root_certificates_pem: Vec::new(),
            #[cfg(feature = "native-tls")]
            native_tls: !cfg!(feature = "rustls"),
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

    /// Trusts a root certificate (PEM, one or more certificates) in addition
    /// to the system's, for a TLS-intercepting proxy or a private test server.
    /// The PEM is checked when the transport is built.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_pem.push(pem.into());
        self
    }

    /// Uses the platform's TLS library (OpenSSL on Linux) instead of rustls.
    /// The default when the `native-tls` feature is on and `rustls` is off.
    #[cfg(feature = "native-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "native-tls")))]
    pub fn use_native_tls(mut self) -> Self {
        self.native_tls = true;
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::Config`] error when a root certificate does not parse
    /// or the TLS backend cannot be initialised (for example, no CA
    /// certificates on the system).
    pub fn build(self) -> Result<ReqwestTransport, Error> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            // The SDK talks to one API: redirects are a misconfiguration, not
            // something to follow with the API key attached.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(user_agent) = &self.user_agent {
            builder = builder.user_agent(user_agent);
        }
        builder = self.tls(builder)?;
        let client = builder
            .build()
            .map_err(|e| config("could not build the HTTP client", e))?;
        Ok(ReqwestTransport {
            client,
            max_body_bytes: self.max_body_bytes,
            client_timeout: Some(self.timeout),
        })
    }
}

impl ReqwestTransportBuilder {
    #[cfg(feature = "native-tls")]
    fn native(&self, mut builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, Error> {
        let mut roots = Vec::new();
        for pem in &self.root_certificates_pem {
            roots.extend(
                reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| config("a root certificate is not valid PEM", e))?,
            );
        }
        builder = builder.tls_backend_native();
        if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots);
        }
        Ok(builder)
    }

    #[cfg(feature = "rustls")]
    fn tls(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, Error> {
        #[cfg(feature = "native-tls")]
        if self.native_tls {
            return self.native(builder);
        }
        Ok(builder.tls_backend_preconfigured(rustls_config(&self.root_certificates_pem)?))
    }

    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    fn tls(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, Error> {
        self.native(builder)
    }

    /// Reached only when `__reqwest` is enabled on its own: no TLS backend
    /// was chosen, so only plain http works.
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn tls(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, Error> {
        if self.root_certificates_pem.is_empty() {
            Ok(builder)
        } else {
            Err(Error::new(
                ErrorKind::Config,
                "root certificates need a TLS backend: enable the `rustls` or `native-tls` feature",
                None,
            ))
        }
    }
}

/// The rustls configuration: the ring provider, the platform verifier with
/// any extra roots, HTTP/2 and HTTP/1.1 by ALPN.
#[cfg(feature = "rustls")]
fn rustls_config(extra_pem: &[Vec<u8>]) -> Result<rustls::ClientConfig, Error> {
    use std::sync::Arc;

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = Vec::new();
    for pem in extra_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.push(cert.map_err(|e| config("a root certificate is not valid PEM", e))?);
        }
        if roots.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "a root certificate PEM holds no certificate",
                None,
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
            .map_err(|e| config("could not load the system's CA certificates", e))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config("the TLS provider supports no protocol version", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

fn config(message: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::new(ErrorKind::Config, message, Some(source.into()))
}

impl ReqwestTransport {
    /// Wraps a `reqwest::Client` you configured yourself (proxies, TLS, DNS),
    /// with the default 1 MiB response body cap.
    ///
    /// Redirects are a misconfiguration for an API client: disable them on
    /// your client (`redirect(reqwest::redirect::Policy::none())`) so that
    /// the API key is never sent on to another URL.
    #[must_use]
    pub fn from_client(client: reqwest::Client) -> Self {
        Self {
            client,
            max_body_bytes: ReqwestTransportBuilder::default().max_body_bytes,
            client_timeout: None,
        }
    }

    /// The same transport with another response body cap.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

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

/// `host:port` of a URL, for messages; never its path, query or credentials.
fn target(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "the server".to_owned(),
    }
}

async fn next_chunk(response: &mut reqwest::Response) -> Result<Option<bytes::Bytes>, Error> {
    response.chunk().await.map_err(map_error)
}

fn map_error(error: reqwest::Error) -> Error {
    if error.is_connect() {
        let target = error.url().map_or_else(|| "the server".to_owned(), target);
        Error::connect_to(&target, error.without_url())
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
        let url = reqwest::Url::parse(&request.url).map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                "the request URL is not valid",
                Some(e.into()),
            )
        })?;
        // The request is assembled directly, so that the header map moves in
        // whole instead of being re-inserted entry by entry. Only a URL with
        // credentials goes through `RequestBuilder`, which turns them into an
        // `Authorization` header (a header the caller set wins).
        let mut http = if url.username().is_empty() && url.password().is_none() {
            let mut http = reqwest::Request::new(request.method, url);
            *http.headers_mut() = request.headers;
            http
        } else {
            let mut http = self
                .client
                .request(request.method, url)
                .build()
                .map_err(map_error)?;
            let from_url = http.headers_mut().remove(http::header::AUTHORIZATION);
            *http.headers_mut() = request.headers;
            if let Some(credentials) = from_url {
                http.headers_mut()
                    .entry(http::header::AUTHORIZATION)
                    .or_insert(credentials);
            }
            http
        };
        // A GET carries no body: attaching an empty one would add `content-length: 0`.
        if !request.body.is_empty() {
            *http.body_mut() = Some(request.body.into());
        }
        // The client's own timeout needs no second timer per request.
        if request.timeout.is_some() && request.timeout != self.client_timeout {
            *http.timeout_mut() = request.timeout;
        }
        let mut response = self.client.execute(http).await.map_err(map_error)?;
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
        // Most bodies arrive in one chunk: keep it as it is, and copy into a
        // buffer only when a second one follows.
        let first = next_chunk(&mut response).await?.unwrap_or_default();
        if first.len() > limit {
            return Err(too_large());
        }
        let Some(second) = next_chunk(&mut response).await? else {
            return Ok(Response {
                status,
                headers,
                body: first,
            });
        };
        let mut body = BytesMut::from(&first[..]);
        let mut next = Some(second);
        while let Some(chunk) = next {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
            next = next_chunk(&mut response).await?;
        }
        Ok(Response {
            status,
            headers,
            body: body.freeze(),
        })
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    /// A URL that does not parse is refused before anything is sent.
    #[tokio::test]
    async fn an_invalid_url_is_an_invalid_request() {
        let transport = ReqwestTransport::new().unwrap();
        let err = transport
            .send(Request::new(Method::GET, "not a url"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err:?}");
        assert!(!err.was_sent());
    }
}
