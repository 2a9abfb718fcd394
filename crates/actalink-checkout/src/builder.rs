//! Configuring a client.

use std::sync::Arc;
use std::time::Duration;

use actalink_transport::{RetryPolicy, Transport};
use http::{HeaderValue, header};

use crate::base_url::BaseUrl;
use crate::client::{Client, Inner};
use crate::{ApiKey, Error, Result};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.acta.link";
const USER_AGENT: &str = concat!("actalink-rs/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Client`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    total_timeout: Option<Option<Duration>>,
    retry: Option<RetryPolicy>,
    user_agent_suffix: Option<String>,
    max_body_bytes: Option<usize>,
    transport: Option<Arc<dyn Transport>>,
    allow_insecure_http: bool,
}

impl ClientBuilder {
    /// The API key (required).
    pub fn api_key(mut self, api_key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The API's base URL (default `https://api.acta.link`). Two forms work:
    ///
    /// - the host, `https://api.acta.link`: the client appends
    ///   `/billing/api/v1/paysession/…`;
    /// - the billing prefix, `https://api.acta.link/billing`, as the provider's
    ///   demo sets `ACTALINK_BASE_URL`: the client appends `/api/v1/paysession/…`.
    ///
    /// With the provider's host any other path is refused when the client is
    /// built; another host (a proxy, a sandbox) keeps its path as a prefix.
    /// Plain `http://` is refused too (see
    /// [`allow_insecure_http`](Self::allow_insecure_http)) except to a host
    /// that cannot leave this machine: a loopback IP literal (127.0.0.0/8,
    /// `[::1]`) or exactly `localhost`. Other names, `shop.localhost` and
    /// `localhost.` included, go through the system resolver, which may send
    /// them anywhere. Point it at a local sandbox for tests.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Allows a plain `http://` base URL to a host other than this machine,
    /// which sends the API key across the network in clear text. Only for a
    /// trusted network, such as a TLS-terminating proxy beside your server.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// How long making a connection may take (default 10 s). A setting of the
    /// default transport: combined with [`transport`](Self::transport), building fails.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How long a call may take with all its retries (default 60 s).
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(Some(timeout));
        self
    }

    /// No limit on a call with all its retries; each attempt keeps its own timeout.
    pub fn no_total_timeout(mut self) -> Self {
        self.total_timeout = Some(None);
        self
    }

    /// The retry policy (default: 2 retries, full jitter, `Retry-After` honoured).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Text appended to the `User-Agent`, such as `my-shop/1.4`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The largest response body accepted (default 1 MiB). A setting of the
    /// default transport: combined with [`transport`](Self::transport), building fails.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// Sends requests through this transport instead of the default one
    /// (a mock in tests, or your own HTTP stack). Configure its connect
    /// timeout and body limit on the transport itself.
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Reads `ACTALINK_API_KEY` and, if set, `ACTALINK_BASE_URL`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `ACTALINK_API_KEY` is unset or empty.
    pub fn from_env(self) -> Result<Self> {
        self.read_env_with(|name| std::env::var(name).ok())
    }

    fn read_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        match lookup("ACTALINK_API_KEY") {
            Some(key) if !key.trim().is_empty() => self.api_key = Some(ApiKey::new(key.trim())),
            _ => {
                return Err(config(
                    "ACTALINK_API_KEY is not set; set it to the API key from Acta Hub",
                ));
            }
        }
        if let Some(url) = lookup("ACTALINK_BASE_URL")
            && !url.trim().is_empty()
        {
            self.base_url = Some(url.trim().to_owned());
        }
        Ok(self)
    }

    /// Validates the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a missing or empty API key, a base URL that
    /// cannot work (see [`base_url`](Self::base_url)), a user agent that is
    /// not a valid header value, default-transport settings given together
    /// with a custom transport, or a default transport that cannot start.
    pub fn build(self) -> Result<Client> {
        let api_key = self.api_key.ok_or_else(|| config("no API key was given"))?;
        if api_key.expose().trim().is_empty() {
            return Err(config("the API key is empty"));
        }
        let base = BaseUrl::parse(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        let user_agent = match &self.user_agent_suffix {
            Some(suffix) => format!("{USER_AGENT} {suffix}"),
            None => USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| {
            config(format!(
                "the user agent {user_agent:?} is not a valid header value"
            ))
        })?;
        let mut key = HeaderValue::from_str(api_key.expose())
            .map_err(|_| config("the API key contains characters a header cannot carry"))?;
        key.set_sensitive(true);
        let mut headers = http::HeaderMap::with_capacity(4);
        headers.insert(http::HeaderName::from_static("x-api-key"), key);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, user_agent);
        let attempt_timeout = self.attempt_timeout.unwrap_or(Duration::from_secs(30));
        let transport = match self.transport {
            Some(transport) => {
                if self.connect_timeout.is_some() || self.max_body_bytes.is_some() {
                    return Err(config(
                        "connect_timeout and max_body_bytes configure the default transport; \
                         with a custom transport, set them on that transport",
                    ));
                }
                transport
            }
            None => default_transport(self.connect_timeout, attempt_timeout, self.max_body_bytes)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                api_key,
                create_url: format!("{}/create", base.api_root),
                status_url_prefix: format!("{}/status?checkoutSessionId=", base.api_root),
                headers,
                base_url: base.base,
                transport,
                retry: self.retry.unwrap_or_default(),
                attempt_timeout,
                total_timeout: self.total_timeout.unwrap_or(Some(Duration::from_secs(60))),
            }),
        })
    }
}

pub(crate) fn config(message: impl Into<String>) -> Error {
    Error::Config {
        message: message.into(),
    }
}

#[cfg(feature = "__reqwest")]
fn default_transport(
    connect_timeout: Option<Duration>,
    attempt_timeout: Duration,
    max_body_bytes: Option<usize>,
) -> Result<Arc<dyn Transport>> {
    let mut builder = actalink_transport::ReqwestTransport::builder().timeout(attempt_timeout);
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(bytes) = max_body_bytes {
        builder = builder.max_body_bytes(bytes);
    }
    let transport = builder
        .build()
        .map_err(|e| config(format!("the HTTP transport could not start: {e}")))?;
    Ok(Arc::new(transport))
}

#[cfg(not(feature = "__reqwest"))]
fn default_transport(
    _: Option<Duration>,
    _: Duration,
    _: Option<usize>,
) -> Result<Arc<dyn Transport>> {
    Err(config(
        "no transport was given and the `reqwest` feature is off",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn environment_is_read_and_a_missing_key_is_loud() {
        let err = ClientBuilder::default()
            .read_env_with(env(&[]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: ACTALINK_API_KEY is not set; set it to the API key from Acta Hub"
        );
        assert!(
            ClientBuilder::default()
                .read_env_with(env(&[("ACTALINK_API_KEY", " ")]))
                .is_err()
        );
        let client = ClientBuilder::default()
            .read_env_with(env(&[
                ("ACTALINK_API_KEY", "sk_x"),
                ("ACTALINK_BASE_URL", "http://127.0.0.1:4010/"),
            ]))
            .unwrap()
            .transport(actalink_transport::ReplayTransport::new())
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:4010");
        assert_eq!(client.inner.api_key.expose(), "sk_x");
        let default = ClientBuilder::default()
            .read_env_with(env(&[("ACTALINK_API_KEY", "sk_x")]))
            .unwrap()
            .transport(actalink_transport::ReplayTransport::new())
            .build()
            .unwrap();
        assert_eq!(default.base_url(), DEFAULT_BASE_URL);
    }

    #[test]
    fn default_transport_settings_with_a_custom_transport_are_refused() {
        let err = Client::builder()
            .api_key("k")
            .max_body_bytes(10)
            .transport(actalink_transport::ReplayTransport::new())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("custom transport"), "{err}");
    }
}
