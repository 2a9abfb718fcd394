//! Configuring a sandbox and starting it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actalink_transport::ReqwestTransport;
use axum::Router;
use axum::routing::{get, post};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;

use crate::activity::Observer;
use crate::state::State;
use crate::store::MemoryStore;
use crate::{
    Activity, Catalogue, DEFAULT_API_KEY, Error, Sandbox, WebhookEndpoint, activity, api, control,
    delivery, faults, host, limits, page, reply,
};

/// Configures a sandbox. Its `Debug` output redacts the API keys.
#[must_use]
pub struct SandboxBuilder {
    api_keys: Vec<String>,
    catalogue: Catalogue,
    webhooks: Vec<WebhookEndpoint>,
    session_ttl: Duration,
    delivery_attempts: u32,
    delivery_backoff: Duration,
    max_body_bytes: usize,
    max_sessions: usize,
    max_deliveries: usize,
    public_url: Option<String>,
    allowed_hosts: Vec<String>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for SandboxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxBuilder")
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field("catalogue", &self.catalogue)
            .field("webhooks", &self.webhooks)
            .field("session_ttl", &self.session_ttl)
            .field("delivery_attempts", &self.delivery_attempts)
            .field("delivery_backoff", &self.delivery_backoff)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("max_deliveries", &self.max_deliveries)
            .field("public_url", &self.public_url)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("on_activity", &self.observer.is_some())
            .finish()
    }
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            catalogue: Catalogue::default(),
            webhooks: Vec::new(),
            session_ttl: Duration::from_secs(3600),
            delivery_attempts: 5,
            delivery_backoff: Duration::from_millis(500),
            max_body_bytes: 64 * 1024,
            max_sessions: limits::DEFAULT_MAX_SESSIONS,
            max_deliveries: limits::DEFAULT_MAX_DELIVERIES,
            public_url: None,
            allowed_hosts: Vec::new(),
            observer: None,
        }
    }
}

impl SandboxBuilder {
    /// Replaces the accepted API keys (default: [`DEFAULT_API_KEY`]).
    pub fn api_keys(mut self, keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.api_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the catalogue (default: a subscription and a one-time product).
    pub fn catalogue(mut self, catalogue: Catalogue) -> Self {
        self.catalogue = catalogue;
        self
    }

    /// Adds a webhook endpoint. Call it once per endpoint: every event goes
    /// to every endpoint, each with its own retries (see
    /// [`delivery`](Self::delivery)), so one that is down delays no other.
    pub fn webhook(mut self, endpoint: WebhookEndpoint) -> Self {
        self.webhooks.push(endpoint);
        self
    }

    /// Adds webhook endpoints, as [`webhook`](Self::webhook) does for one.
    pub fn webhooks(mut self, endpoints: impl IntoIterator<Item = WebhookEndpoint>) -> Self {
        self.webhooks.extend(endpoints);
        self
    }

    /// Calls `observer` with each [`Activity`] of the running sandbox: each
    /// request it answers, each webhook delivery attempt, and each endpoint
    /// it gives up on for an event. `actalink sandbox` prints them.
    ///
    /// It is called on the sandbox's own tasks, in the order things happen
    /// for one request or one endpoint (attempts to different endpoints
    /// interleave), so it should return quickly: hand the activity to a
    /// channel for slow work. A panic in it is caught and logged. Webhook
    /// URLs in it carry no credentials. A second call replaces the first
    /// observer.
    pub fn on_activity(mut self, observer: impl Fn(&Activity) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// How long a session stays open (default one hour, as in the provider's
    /// examples); at most [`limits::MAX_SESSION_TTL`], or
    /// [`start`](Self::start) fails with [`Error::Config`].
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How many times a webhook is attempted, and the longest wait before the
    /// second attempt (doubled after each; each wait is drawn at random up to
    /// it, the full-jitter backoff of `actalink_transport::RetryPolicy`).
    /// Default 5 attempts, 500 ms.
    pub fn delivery(mut self, attempts: u32, backoff: Duration) -> Self {
        self.delivery_attempts = attempts.max(1);
        self.delivery_backoff = backoff;
        self
    }

    /// The largest create body accepted (default 64 KiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How many sessions the sandbox keeps before evicting the oldest
    /// (default [`limits::DEFAULT_MAX_SESSIONS`]).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// How many delivery attempts the sandbox logs before evicting the oldest
    /// (default [`limits::DEFAULT_MAX_DELIVERIES`]).
    pub fn max_deliveries(mut self, deliveries: usize) -> Self {
        self.max_deliveries = deliveries;
        self
    }

    /// The base URL that session URLs use, when the sandbox is reached
    /// through another address than the one it listens on.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Also answers requests addressed to `name` (a host name such as
    /// `sandbox`, with or without a port), as when a container reaches the
    /// sandbox by its service name. Call it once per name.
    ///
    /// Without it, a sandbox bound to a loopback address answers only
    /// requests whose `Host` is a loopback name, its own address or its
    /// [`public_url`](Self::public_url)'s host, and its control API does so
    /// wherever it is bound: a web page that rebinds its own domain name to
    /// 127.0.0.1 (DNS rebinding) is refused with 403, so it can neither create
    /// sessions nor drive the control API. A `name` that is no host name
    /// makes [`start`](Self::start) fail with [`Error::Config`].
    pub fn allow_host(mut self, name: impl Into<String>) -> Self {
        self.allowed_hosts.push(name.into());
        self
    }

    /// Binds `addr` and serves in the background until [`Sandbox::shutdown`] or drop.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a setting is out of range (a session TTL above
    /// [`limits::MAX_SESSION_TTL`], more than [`limits::MAX_WEBHOOKS`]
    /// endpoints, a webhook URL that is not http(s), a public URL that is not
    /// http(s)); [`Error::Bind`] when the address cannot be bound.
    pub async fn start(self, addr: impl ToSocketAddrs) -> Result<Sandbox, Error> {
        if self.session_ttl > limits::MAX_SESSION_TTL || self.session_ttl.is_zero() {
            return Err(Error::Config(format!(
                "session_ttl must be more than 0 and at most {} days, not {:?}",
                limits::MAX_SESSION_TTL.as_secs() / 86_400,
                self.session_ttl
            )));
        }
        let session_ttl = time::Duration::try_from(self.session_ttl)
            .map_err(|e| Error::Config(format!("session_ttl: {e}")))?;
        if self.webhooks.len() > limits::MAX_WEBHOOKS {
            return Err(Error::Config(format!(
                "at most {} webhook endpoints, not {}",
                limits::MAX_WEBHOOKS,
                self.webhooks.len()
            )));
        }
        for endpoint in &self.webhooks {
            control::check_endpoint(endpoint).map_err(Error::Config)?;
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::Config(format!(
                "public_url {url:?} must be an http or https URL"
            )));
        }
        let listener = TcpListener::bind(addr).await.map_err(Error::Bind)?;
        let local = listener.local_addr().map_err(Error::Bind)?;
        let base_url = self.public_url.map_or_else(
            || format!("http://{local}"),
            |u| u.trim_end_matches('/').to_owned(),
        );
        // `scheme://authority` of the base URL: the sandbox's own origin,
        // read by a URI parser.
        let uri: http::Uri = base_url
            .parse()
            .map_err(|e| Error::Config(format!("public_url {base_url:?} is not a URL: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(Error::Config(format!(
                "public_url {base_url:?} must be an absolute http or https URL"
            )));
        };
        let origin = format!("{scheme}://{authority}").to_ascii_lowercase();
        let mut hosts: Vec<String> = host::host_of(authority.as_str()).into_iter().collect();
        if !local.ip().is_unspecified() {
            hosts.extend(host::host_of(&local.to_string()));
        }
        for name in &self.allowed_hosts {
            hosts.push(host::allowed_name(name).map_err(Error::Config)?);
        }
        let transport = ReqwestTransport::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(Error::Transport)?;
        let state = Arc::new(State {
            base_url: base_url.clone(),
            origin,
            hosts,
            loopback_only: local.ip().is_loopback(),
            api_keys: self.api_keys,
            catalogue: self.catalogue,
            session_ttl,
            max_body_bytes: self.max_body_bytes,
            store: MemoryStore::with_limits(
                self.max_sessions,
                limits::MAX_SESSION_BYTES,
                self.max_deliveries,
            ),
            webhooks: RwLock::new(self.webhooks),
            delivery: delivery::policy(self.delivery_attempts, self.delivery_backoff),
            delivery_attempts: self.delivery_attempts,
            observer: self.observer,
            transport,
            faults: Mutex::new(VecDeque::new()),
            api_requests: AtomicU64::new(0),
            pending_deliveries: AtomicUsize::new(0),
            delivered: tokio::sync::Notify::new(),
        });
        let app = router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "the sandbox server failed");
            }
        });
        tracing::info!(url = %base_url, "sandbox listening");
        Ok(Sandbox::new(local, base_url, state, stop, task))
    }
}

/// The routes: the API behind fault injection, the control API behind its
/// guard, and the hosted page.
fn router(state: Arc<State>) -> Router {
    let api = Router::new()
        .route("/billing/api/v1/paysession/create", post(api::create))
        .route("/billing/api/v1/paysession/status", get(api::status))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            faults::inject,
        ));
    let control = Router::new()
        .route("/__sandbox/sessions/{id}/{action}", post(control::act))
        .route("/__sandbox/deliveries", get(control::deliveries))
        .route("/__sandbox/events/{id}/resend", post(control::resend))
        .route("/__sandbox/stats", get(control::stats))
        .route(
            "/__sandbox/faults",
            post(control::add_fault).delete(control::clear_faults),
        )
        .route("/__sandbox/webhooks", post(control::add_webhook))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            control::guard,
        ));
    Router::new()
        .merge(api)
        .merge(control)
        .route("/payment-link/{id}", get(page::show))
        .route("/payment-link/{id}/done", get(page::done))
        .route("/payment-link/{id}/{action}", post(page::act))
        .fallback(|| async { reply::not_found("no such route") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            host::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            activity::observe,
        ))
        .with_state(state)
}
