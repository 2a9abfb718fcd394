//! The client: create and fetch sessions.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actalink_transport::{Idempotency, Outcome, Request, RetryPolicy, Transport};
use actalink_types::{CheckoutSession, CheckoutSessionId, CreateCheckoutSession};
use http::{HeaderValue, Method, header};
use tokio::time::Instant;
use tracing::Instrument;

use crate::builder::ClientBuilder;
use crate::response::{api_error, decode};
use crate::{ApiKey, Error, Result};

/// A client for the Actalink Billing checkout-session API.
///
/// Cheap to clone (an `Arc` inside): build one and share it; do not wrap it
/// in another `Arc`. `Send + Sync`, and every future it returns is `Send`.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) api_key: ApiKey,
    pub(crate) base_url: String,
    /// `{api root}/create`, built once.
    pub(crate) create_url: String,
    /// `{api root}/status?checkoutSessionId=`, built once.
    pub(crate) status_url_prefix: String,
    /// `x-api-key` (marked sensitive), `accept` and `user-agent`, built once.
    pub(crate) headers: http::HeaderMap,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
    pub(crate) total_timeout: Option<Duration>,
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

/// The path of the create call, relative to the API root, for spans.
const CREATE_PATH: &str = "/billing/api/v1/paysession/create";
/// The path of the status call, for spans.
const STATUS_PATH: &str = "/billing/api/v1/paysession/status";

impl Client {
    /// A client for the production API with default settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty key or when the HTTP stack cannot start.
    #[cfg(feature = "__reqwest")]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
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
    #[cfg(feature = "__reqwest")]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn from_env() -> Result<Self> {
        Self::builder().from_env()?.build()
    }

    /// The base URL requests go to, as configured (normalised, without a trailing slash).
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
        let call = async {
            let body = bytes::Bytes::from(serde_json::to_vec(request).map_err(Error::Encode)?);
            let http = || {
                self.request(Method::POST, self.inner.create_url.clone())
                    .with_header(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )
                    .with_body(body.clone())
            };
            self.execute(&span, http, Idempotency::NotIdempotent, None)
                .await
                .map_err(|error| maybe_created(error, request))
        };
        // Inline rather than a helper `async fn`, which would hold `call`
        // twice: a disabled span would only add an enter and an exit per poll.
        if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        }
    }

    /// Fetches a session's current state. Retried on transport failures,
    /// timeouts, 429 and 5xx.
    ///
    /// # Errors
    ///
    /// Any [`Error`] but `InvalidRequest` and `WaitTimedOut`.
    pub async fn get_session(&self, id: &CheckoutSessionId) -> Result<CheckoutSession> {
        self.get_session_until(id, None).await
    }

    /// [`Client::get_session`], stopping retries and shortening attempts so
    /// as not to run past `deadline` (besides the client's total timeout).
    pub(crate) async fn get_session_until(
        &self,
        id: &CheckoutSessionId,
        deadline: Option<Instant>,
    ) -> Result<CheckoutSession> {
        let span = operation_span("get_session", "GET", STATUS_PATH);
        let call = async {
            let mut url =
                String::with_capacity(self.inner.status_url_prefix.len() + id.as_str().len());
            url.push_str(&self.inner.status_url_prefix);
            push_query_value(&mut url, id.as_str());
            let http = || self.request(Method::GET, url.clone());
            self.execute(&span, http, Idempotency::Idempotent, deadline)
                .await
        };
        // Inline rather than a helper `async fn`, which would hold `call`
        // twice: a disabled span would only add an enter and an exit per poll.
        if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        }
    }

    fn request(&self, method: Method, url: String) -> Request {
        let mut request = Request::new(method, url).with_timeout(self.inner.attempt_timeout);
        request.headers = self.inner.headers.clone();
        request
    }

    /// Runs a call: `make` builds each attempt's request, under the retry
    /// policy, ending by `deadline` (when given) or the total timeout,
    /// whichever is sooner.
    async fn execute(
        &self,
        span: &tracing::Span,
        make: impl Fn() -> Request + Send + Sync,
        idempotency: Idempotency,
        deadline: Option<Instant>,
    ) -> Result<CheckoutSession> {
        // A total timeout beyond what the clock can represent is no deadline.
        let total = self
            .inner
            .total_timeout
            .and_then(|t| Instant::now().checked_add(t));
        let deadline = match (total, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Outcome {
            result, attempts, ..
        } = self
            .inner
            .retry
            .send_with(self.inner.transport.as_ref(), make, idempotency, deadline)
            .await;
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
            Err(api_error(&response, attempts, |headers| {
                self.inner.retry.retry_after(headers)
            }))
        }
    }
}

/// Marks a create failure after which a session may exist.
fn maybe_created(error: Error, request: &CreateCheckoutSession) -> Error {
    let reached = match &error {
        Error::Timeout { .. } | Error::Server(_) | Error::Decode { .. } => true,
        // A dropped connection or a body over the cap: the server had the request.
        Error::Transport { source, .. } => source.was_sent(),
        _ => false,
    };
    if !reached {
        return error;
    }
    let hint = request
        .metadata()
        .map(|metadata| {
            let pairs: Vec<String> = metadata
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k}={}", v.chars().take(64).collect::<String>()))
                .collect();
            format!(" ({})", pairs.join(", "))
        })
        .unwrap_or_default();
    Error::MaybeCreated {
        source: Box::new(error),
        hint,
    }
}

/// Appends `value` form-urlencoded. Ids are nearly always `[A-Za-z0-9_]`,
/// which need no encoding, so those are copied as they are.
fn push_query_value(url: &mut String, value: &str) {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_');
    // `fold` rather than `all`: without the early exit the check vectorises.
    if value.bytes().fold(true, |all, b| all & plain(b)) {
        url.push_str(value);
    } else {
        url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WaitOptions;

    #[test]
    fn query_values_are_form_urlencoded() {
        for value in ["checkout_AZaz09", "a-b.c*d_e", "a b", "a&b=c", "é", "a+b%"] {
            let mut fast = String::new();
            push_query_value(&mut fast, value);
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            assert_eq!(fast, encoded, "{value}");
        }
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
