//! A typed client for a sandbox's `/__sandbox/` control API, so that tests
//! drive a sandbox (in this process or another) the way scripts do, without
//! each writing its own requests.

use actalink_sandbox::{DeliveryRecord, Fault};
use actalink_transport::{Request, ReqwestTransport, Transport};
use actalink_types::CheckoutSession;
use http::{HeaderValue, Method, header};
use serde::Deserialize;

/// What a control API call can do to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pays the session, as the hosted page's pay button does.
    Pay,
    /// Cancels it (the sandbox keeps a cancelled session open).
    Cancel,
    /// Fails the payment.
    Fail,
    /// Expires the session at once.
    Expire,
}

impl Action {
    /// The action named `pay`, `cancel`, `fail` or `expire`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pay, Self::Cancel, Self::Fail, Self::Expire]
            .into_iter()
            .find(|a| a.as_str() == name)
    }

    /// The action's name in the control API's path.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Cancel => "cancel",
            Self::Fail => "fail",
            Self::Expire => "expire",
        }
    }
}

/// `GET /__sandbox/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Sessions the sandbox holds.
    pub sessions: u64,
    /// API requests served (faulted ones included).
    pub api_requests: u64,
    /// Delivery attempts in the log.
    pub delivery_attempts: u64,
}

/// A control API call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// The status the sandbox answered, or `None` when it could not be reached.
    pub status: Option<u16>,
    /// The sandbox's `message`, or the body or failure as text.
    pub message: String,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ControlError {}

/// A client for one sandbox's control API.
#[derive(Debug, Clone)]
pub struct SandboxControl {
    base_url: String,
    transport: ReqwestTransport,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Queued {
    queued: u64,
}

impl SandboxControl {
    /// A client for the sandbox at `base_url` (its [`url`](actalink_sandbox::Sandbox::url)).
    ///
    /// # Panics
    ///
    /// When no HTTP client can be built, which a test cannot recover from.
    #[must_use]
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            #[allow(clippy::expect_used)]
            transport: ReqwestTransport::new().expect("an HTTP client for the control API"),
        }
    }

    /// A client for a sandbox running in this process.
    #[must_use]
    pub fn of(sandbox: &actalink_sandbox::Sandbox) -> Self {
        Self::new(sandbox.url())
    }

    /// Acts on a session: the session as it stands after the action.
    ///
    /// # Errors
    ///
    /// 404 for an unknown session, 409 when the action does not apply (or
    /// pays a paid session); see [`ControlError`].
    pub async fn act(
        &self,
        session_id: &str,
        action: Action,
    ) -> Result<CheckoutSession, ControlError> {
        let path = format!("sessions/{session_id}/{}", action.as_str());
        let body = self.call(Method::POST, &path, None).await?;
        decode::<Data<CheckoutSession>>(&body).map(|d| d.data)
    }

    /// Pays a session. See [`act`](Self::act).
    ///
    /// # Errors
    ///
    /// As [`act`](Self::act).
    pub async fn pay(&self, session_id: &str) -> Result<CheckoutSession, ControlError> {
        self.act(session_id, Action::Pay).await
    }

    /// The sandbox's counters.
    ///
    /// # Errors
    ///
    /// When the sandbox cannot be reached or answers otherwise than 2xx.
    pub async fn stats(&self) -> Result<Stats, ControlError> {
        decode(&self.call(Method::GET, "stats", None).await?)
    }

    /// How many API requests the sandbox has served.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    pub async fn api_requests(&self) -> Result<u64, ControlError> {
        Ok(self.stats().await?.api_requests)
    }

    /// The delivery log, oldest first.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    pub async fn deliveries(&self) -> Result<Vec<DeliveryRecord>, ControlError> {
        let body = self.call(Method::GET, "deliveries", None).await?;
        decode::<Data<Vec<DeliveryRecord>>>(&body).map(|d| d.data)
    }

    /// Queues `fault` for the next `count` API requests; how many requests
    /// the queue now covers.
    ///
    /// # Errors
    ///
    /// 400 for a fault or count beyond the sandbox's limits.
    pub async fn inject(&self, fault: &Fault, count: u32) -> Result<u64, ControlError> {
        let mut body = serde_json::to_value(fault).map_err(|e| local(&e))?;
        if let Some(object) = body.as_object_mut() {
            object.insert("count".into(), count.into());
        }
        let answer = self
            .call(Method::POST, "faults", Some(body.to_string()))
            .await?;
        decode::<Queued>(&answer).map(|q| q.queued)
    }

    /// Queues `count` answers of `status` with `Retry-After: retry_after`.
    ///
    /// # Errors
    ///
    /// As [`inject`](Self::inject).
    pub async fn inject_status(
        &self,
        status: u16,
        retry_after: Option<&str>,
        count: u32,
    ) -> Result<u64, ControlError> {
        let fault =
            serde_json::json!({"kind": "status", "status": status, "retryAfter": retry_after});
        let fault: Fault = serde_json::from_value(fault).map_err(|e| local(&e))?;
        self.inject(&fault, count).await
    }

    /// Drops every queued fault.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    pub async fn clear_faults(&self) -> Result<(), ControlError> {
        self.call(Method::DELETE, "faults", None).await.map(drop)
    }

    /// Adds a webhook endpoint.
    ///
    /// # Errors
    ///
    /// 400 for a URL that is not http(s), an empty secret, or one endpoint too many.
    pub async fn add_webhook(&self, url: &str, secret: &str) -> Result<(), ControlError> {
        let body = serde_json::json!({"url": url, "secret": secret}).to_string();
        self.call(Method::POST, "webhooks", Some(body))
            .await
            .map(drop)
    }

    /// POSTs `body` as JSON to `/__sandbox/{path}`: the status and the body
    /// as text, whatever the status, for tests of what the sandbox refuses.
    ///
    /// # Errors
    ///
    /// Only when the sandbox cannot be reached.
    pub async fn post_json(&self, path: &str, body: &str) -> Result<(u16, String), ControlError> {
        let request = self.request(Method::POST, path, Some(body.to_owned()));
        let response = self.transport.send(request).await.map_err(|e| local(&e))?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        Ok((response.status.as_u16(), text))
    }

    fn request(&self, method: Method, path: &str, body: Option<String>) -> Request {
        let url = format!("{}/__sandbox/{path}", self.base_url);
        let request = Request::new(method, url);
        match body {
            // The control API takes JSON bodies only.
            Some(body) => request
                .with_header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .with_body(body),
            None => request,
        }
    }

    /// Sends one request; the body of a 2xx answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Vec<u8>, ControlError> {
        let request = self.request(method, path, body);
        let response = self.transport.send(request).await.map_err(|e| local(&e))?;
        if response.status.is_success() {
            return Ok(response.body.to_vec());
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        Err(ControlError {
            status: Some(response.status.as_u16()),
            message,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError {
        status: None,
        message: format!("the control API's answer did not decode: {e}"),
    })
}

fn local(error: &dyn std::fmt::Display) -> ControlError {
    ControlError {
        status: None,
        message: error.to_string(),
    }
}
