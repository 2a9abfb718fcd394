//! The client and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actalink_transport::{Idempotency, Outcome, Request, Response, RetryPolicy, Transport};
use actalink_types::{CheckoutSession, CheckoutSessionId, CreateCheckoutSession, SessionStatus};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::{ApiError, ApiKey, Error, Result};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.acta.link";
const CREATE_PATH: &str = "/billing/api/v1/paysession/create";
const STATUS_PATH: &str = "/billing/api/v1/paysession/status";
const SNIPPET_BYTES: usize = 512;
const USER_AGENT: &str = concat!("actalink-rs/", env!("CARGO_PKG_VERSION"));

/// A client for the Actalink Billing checkout-session API.
///
/// Cheap to clone (an `Arc` inside): build one and share it; do not wrap it
/// in another `Arc`. `Send + Sync`, and every future it returns is `Send`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    api_key: ApiKey,
    base_url: String,
    /// `{base}/billing/api/v1/paysession/create`, built once.
    create_url: String,
    /// `{base}/billing/api/v1/paysession/status?checkoutSessionId=`, built once.
    status_url_prefix: String,
    /// `x-api-key` (marked sensitive), `accept` and `user-agent`, built once.
    headers: http::HeaderMap,
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    attempt_timeout: Duration,
    total_timeout: Option<Duration>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.inner.api_key)
            .field("base_url", &self.inner.base_url)
            .field("transport", &self.inner.transport)
            .field("retry", &self.inner.retry)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .field("total_timeout", &self.inner.total_timeout)
            .finish()
    }
}

/// How [`Client::wait_for_completion`] polls.
#[derive(Debug, Clone)]
#[must_use]
pub struct WaitOptions {
    interval: Duration,
    timeout: Option<Duration>,
}

impl Default for WaitOptions {
    /// Every 5 seconds, until the session's `expiresAt`.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            timeout: None,
        }
    }
}

impl WaitOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time between polls (default 5 s, the official demo's interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Give up after this long instead of at the session's `expiresAt`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

impl Client {
    /// A client for the production API with default settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty key or when the HTTP stack cannot start.
    #[cfg(feature = "reqwest")]
    pub fn new(api_key: impl Into<ApiKey>) -> Result<Self> {
        Self::builder().api_key(api_key).build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `ACTALINK_API_KEY` (required) and
    /// `ACTALINK_BASE_URL` (optional).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `ACTALINK_API_KEY` is unset or empty, or the base URL is invalid.
    #[cfg(feature = "reqwest")]
    pub fn from_env() -> Result<Self> {
        Self::builder().from_env()?.build()
    }

    /// The base URL requests go to.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Creates a checkout session; redirect the customer to its `url`.
    ///
    /// The request was validated when it was built, so only the server can
    /// refuse it. A create is retried only when it provably did not take
    /// effect (a connect failure, or a 429): the API has no idempotency key,
    /// and a duplicate session could be paid twice.
    ///
    /// # Errors
    ///
    /// Any [`Error`] but `InvalidRequest` and `WaitTimedOut`.
    pub async fn create_session(&self, request: &CreateCheckoutSession) -> Result<CheckoutSession> {
        let span = operation_span("create_session", "POST", CREATE_PATH);
        async {
            let body = serde_json::to_vec(request).map_err(|e| Error::Config {
                message: format!("could not serialise the request: {e}"),
            })?;
            let http = self
                .request(Method::POST, self.inner.create_url.clone())
                .with_header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .with_body(body);
            self.execute(http, Idempotency::NotIdempotent).await
        }
        .instrument(span)
        .await
    }

    /// Fetches a session's current state. Retried on transport failures,
    /// timeouts, 429 and 5xx.
    ///
    /// # Errors
    ///
    /// Any [`Error`] but `InvalidRequest` and `WaitTimedOut`.
    pub async fn get_session(&self, id: &CheckoutSessionId) -> Result<CheckoutSession> {
        let span = operation_span("get_session", "GET", STATUS_PATH);
        async {
            let mut url = self.inner.status_url_prefix.clone();
            url.extend(url::form_urlencoded::byte_serialize(id.as_str().as_bytes()));
            let http = self.request(Method::GET, url);
            self.execute(http, Idempotency::Idempotent).await
        }
        .instrument(span)
        .await
    }

    /// Polls a session until it leaves `open` and returns it, paid or not:
    /// check [`CheckoutSession::is_paid`]. Polls every `interval` until the
    /// timeout, or by default until the session's `expiresAt` (one hour when
    /// the session has none), with a last poll at the deadline.
    ///
    /// Errors that may pass (5xx, timeouts, connection failures) are logged
    /// and polling goes on; others (401, 404) end the wait at once.
    ///
    /// # Errors
    ///
    /// [`Error::WaitTimedOut`] naming the last status seen, or the error that ended the wait.
    pub async fn wait_for_completion(
        &self,
        id: &CheckoutSessionId,
        options: WaitOptions,
    ) -> Result<CheckoutSession> {
        self.wait_for_completion_with_progress(id, options, |_| {})
            .await
    }

    /// As [`Client::wait_for_completion`], calling `on_poll` with every session fetched.
    ///
    /// # Errors
    ///
    /// As [`Client::wait_for_completion`].
    pub async fn wait_for_completion_with_progress(
        &self,
        id: &CheckoutSessionId,
        options: WaitOptions,
        mut on_poll: impl FnMut(&CheckoutSession) + Send,
    ) -> Result<CheckoutSession> {
        let start = Instant::now();
        let mut deadline = options.timeout.map(|t| start + t);
        let mut last_status: Option<SessionStatus> = None;
        loop {
            match self.get_session(id).await {
                Ok(session) => {
                    on_poll(&session);
                    if session.is_terminal() {
                        return Ok(session);
                    }
                    if deadline.is_none() {
                        let left = session.expires_at.map_or(Duration::from_secs(3600), |at| {
                            let left = at - time::OffsetDateTime::now_utc();
                            left.try_into().unwrap_or(Duration::ZERO)
                        });
                        deadline = Some(Instant::now() + left);
                    }
                    last_status = Some(session.status);
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(error = %error, "polling the session failed; polling on");
                }
                Err(error) => return Err(error),
            }
            let deadline = *deadline.get_or_insert(start + Duration::from_secs(3600));
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::WaitTimedOut {
                    session_id: id.clone(),
                    last_status,
                });
            }
            tokio::time::sleep(options.interval.min(deadline - now)).await;
        }
    }

    fn request(&self, method: Method, url: String) -> Request {
        let mut request = Request::new(method, url).with_timeout(self.inner.attempt_timeout);
        request.headers = self.inner.headers.clone();
        request
    }

    async fn execute(&self, request: Request, idempotency: Idempotency) -> Result<CheckoutSession> {
        let deadline = self.inner.total_timeout.map(|t| Instant::now() + t);
        let Outcome {
            result, attempts, ..
        } = self
            .inner
            .retry
            .send(
                self.inner.transport.as_ref(),
                request,
                idempotency,
                deadline,
            )
            .await;
        let span = tracing::Span::current();
        span.record("attempts", attempts);
        let response = result.map_err(|source| {
            if source.is_timeout() {
                Error::Timeout { source, attempts }
            } else {
                Error::Transport { source, attempts }
            }
        })?;
        span.record("status", response.status.as_u16());
        if response.status.is_success() {
            decode(&response)
        } else {
            Err(self.api_error(&response, attempts))
        }
    }

    fn api_error(&self, response: &Response, attempts: u32) -> Error {
        let error = ApiError {
            status: response.status,
            request_id: request_id(&response.headers),
            message: pick_message(&response.body),
            body_snippet: snippet(&response.body),
            attempts,
        };
        match response.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized(error),
            StatusCode::NOT_FOUND => Error::NotFound(error),
            StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
                retry_after: self.inner.retry.retry_after(&response.headers),
                error,
            },
            status if status.is_server_error() => Error::Server(error),
            _ => Error::Api(error),
        }
    }
}

fn operation_span(
    operation: &'static str,
    method: &'static str,
    path: &'static str,
) -> tracing::Span {
    tracing::info_span!(
        "actalink",
        operation,
        method,
        path,
        attempts = tracing::field::Empty,
        status = tracing::field::Empty,
    )
}

fn decode(response: &Response) -> Result<CheckoutSession> {
    // The plain decoder is about twice as fast and allocates a sixth as much;
    // the path-tracking one runs only to explain a failure.
    if let Ok(envelope) = serde_json::from_slice::<Envelope<CheckoutSession>>(&response.body) {
        return Ok(envelope.data);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&response.body);
    let envelope: Envelope<CheckoutSession> = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            path,
            source: e.into_inner(),
            status: response.status,
            request_id: request_id(&response.headers),
            body_snippet: snippet(&response.body),
        }
    })?;
    Ok(envelope.data)
}

/// The first request-id header present, among those that proxies and APIs commonly set.
fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "x-correlation-id",
    ]
    .iter()
    .find_map(|name| headers.get(*name)?.to_str().ok())
    .map(str::to_owned)
}

/// At most [`SNIPPET_BYTES`] of the body, cut on a character boundary.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    text.trim_end_matches('\u{fffd}').to_owned()
}

/// The server's message: `message`, `error` (a string), `error.message`, or `errors[0].message`.
fn pick_message(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let candidates = [
        json.get("message"),
        json.get("error"),
        json.get("error").and_then(|e| e.get("message")),
        json.get("errors")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("message")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

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
}

impl ClientBuilder {
    /// The API key (required).
    pub fn api_key(mut self, api_key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The API's base URL (default `https://api.acta.link`); the client appends
    /// `/billing/api/v1/paysession/…`. Point it at a sandbox for tests.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// How long making a connection may take (default 10 s). Applies to the default transport only.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How long a call may take with all its retries (default 60 s); `None` for no limit.
    pub fn total_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.total_timeout = Some(timeout);
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

    /// The largest response body accepted (default 1 MiB). Applies to the default transport only.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// Sends requests through this transport instead of the default one
    /// (a mock in tests, or your own HTTP stack).
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
                return Err(Error::Config {
                    message: "ACTALINK_API_KEY is not set; set it to the API key from Acta Hub"
                        .into(),
                });
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
    /// [`Error::Config`] for a missing or empty API key, a base URL that is not
    /// an http(s) URL without query or fragment, a user agent that is not a
    /// valid header value, or a default transport that cannot start.
    pub fn build(self) -> Result<Client> {
        let config = |message: String| Error::Config { message };
        let api_key = self
            .api_key
            .ok_or_else(|| config("no API key was given".into()))?;
        if api_key.expose().trim().is_empty() {
            return Err(config("the API key is empty".into()));
        }
        let base_url = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let parsed = Url::parse(&base_url)
            .map_err(|e| config(format!("the base URL {base_url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(config(format!(
                "the base URL {base_url:?} must be http or https"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(config(format!(
                "the base URL {base_url:?} must not have a query or fragment"
            )));
        }
        let base_url = parsed.as_str().trim_end_matches('/').to_owned();
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
            .map_err(|_| config("the API key contains characters a header cannot carry".into()))?;
        key.set_sensitive(true);
        let mut headers = http::HeaderMap::with_capacity(4);
        headers.insert(http::HeaderName::from_static("x-api-key"), key);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, user_agent);
        let attempt_timeout = self.attempt_timeout.unwrap_or(Duration::from_secs(30));
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(self.connect_timeout, attempt_timeout, self.max_body_bytes)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                api_key,
                create_url: format!("{base_url}{CREATE_PATH}"),
                status_url_prefix: format!("{base_url}{STATUS_PATH}?checkoutSessionId="),
                headers,
                base_url,
                transport,
                retry: self.retry.unwrap_or_default(),
                attempt_timeout,
                total_timeout: self.total_timeout.unwrap_or(Some(Duration::from_secs(60))),
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
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
    let transport = builder.build().map_err(|e| Error::Config {
        message: format!("the HTTP transport could not start: {e}"),
    })?;
    Ok(Arc::new(transport))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(
    _: Option<Duration>,
    _: Duration,
    _: Option<usize>,
) -> Result<Arc<dyn Transport>> {
    Err(Error::Config {
        message: "no transport was given and the `reqwest` feature is off".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_picked_from_common_shapes() {
        assert_eq!(
            pick_message(br#"{"message":"bad key"}"#).as_deref(),
            Some("bad key")
        );
        assert_eq!(
            pick_message(br#"{"error":"nope"}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(
            pick_message(br#"{"error":{"message":"deep"}}"#).as_deref(),
            Some("deep")
        );
        assert_eq!(
            pick_message(br#"{"errors":[{"message":"first"}]}"#).as_deref(),
            Some("first")
        );
        assert_eq!(pick_message(b"<html>502</html>"), None);
        assert_eq!(pick_message(br#"{"message":""}"#), None);
    }

    #[test]
    fn snippets_are_bounded_and_cut_on_characters() {
        let body = "é".repeat(400);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_BYTES);
        assert!(s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn environment_is_read_and_a_missing_key_is_loud() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
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
    fn client_and_futures_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        fn assert_send<T: Send>(_: &T) {}
        assert_send_sync::<Client>();
        assert_send_sync::<Error>();
        let client = Client::builder()
            .api_key("k")
            .transport(actalink_transport::ReplayTransport::new())
            .build()
            .unwrap();
        let id = CheckoutSessionId::new("checkout_x").unwrap();
        assert_send(&client.get_session(&id));
        assert_send(&client.wait_for_completion(&id, WaitOptions::new()));
        let request = CreateCheckoutSession::builder("paylink_x").build().unwrap();
        assert_send(&client.create_session(&request));
    }
}
