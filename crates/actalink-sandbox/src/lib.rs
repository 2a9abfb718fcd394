//! A local emulator of the Actalink Billing API, its hosted checkout page and
//! its webhook delivery, so that the whole checkout flow runs on one machine
//! without spending real USDC: for the provider, no test environment is
//! documented.
//!
//! The principal types:
//!
//! - [`Sandbox`] configures an emulator (accepted API keys, the [`Catalogue`]
//!   of [`Paylink`]s, [`WebhookEndpoint`]s, the session lifetime, a [`Store`])
//!   and [`start`](SandboxBuilder::start)s it on an address.
//! - [`RunningSandbox`] is the server: its [`url`](RunningSandbox::url) is the
//!   base URL to give `actalink-checkout`, and it shuts down gracefully.
//! - [`Store`] keeps sessions and the delivery log; [`MemoryStore`] is the default.
//!
//! What it serves:
//!
//! - `POST /billing/api/v1/paysession/create` and `GET /billing/api/v1/paysession/status`,
//!   at the documented paths and shapes, behind `x-api-key`;
//! - `GET /payment-link/{id}`, the hosted page, whose buttons pay, cancel or fail
//!   the session and redirect to its URLs; paying delivers a signed webhook;
//! - `/__sandbox/…`, a control API: act on a session without a browser
//!   (`POST /__sandbox/sessions/{id}/pay`), list deliveries, inject faults.
//!
//! # What the sandbox invents
//!
//! Much of what the sandbox does is not documented by the provider: error
//! bodies and codes, which webhook events a payment sends and what they carry,
//! the retry schedule, what cancel and failure do, the session lifetime. Each
//! such choice is marked "Assumption" where the code makes it and listed in the
//! book's page *What the sandbox assumes*. Test your integration against the
//! documented behaviour, not against these choices.
//!
//! # A local tool only
//!
//! The control API refuses what a web page could send: a foreign `Origin` (or
//! a browser's `Sec-Fetch-Site: cross-site`) and a `Host` other than a
//! loopback name or the sandbox's own address (403), and a POST body that is
//! not `application/json` (415). The hosted page's buttons post forms to their
//! own routes (`/payment-link/{id}/pay`), not to the control API.
//!
//! Memory stays bounded whatever it is sent: the oldest sessions and delivery
//! records are evicted; webhook endpoints and queued faults beyond their caps
//! are refused. [`limits`] lists every bound.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use actalink_sandbox::{DEFAULT_API_KEY, Sandbox};
//!
//! let sandbox = Sandbox::builder().start("127.0.0.1:0").await?;
//! println!("API at {} with key {DEFAULT_API_KEY}", sandbox.url());
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod catalogue;
mod control;
mod delivery;
mod faults;
mod ids;
pub mod limits;
mod page;
mod state;
mod store;
mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actalink_transport::ReqwestTransport;
use axum::Router;
use axum::routing::{get, post};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;

pub use catalogue::{Catalogue, EBOOK_PAYLINK, PRO_PAYLINK, Paylink};
pub use faults::Fault;
pub use state::WebhookEndpoint;
pub use store::{DeliveryRecord, MemoryStore, SessionRecord, Store};

use state::State;

/// The API key every sandbox accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sk_sandbox_0000000000000000000000000000000000";

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("could not listen on the address: {0}")]
    Bind(#[source] std::io::Error),
    /// The catalogue is invalid.
    #[error("invalid catalogue: {0}")]
    Catalogue(String),
    /// The webhook client could not start.
    #[error("the webhook client could not start: {0}")]
    Transport(#[source] actalink_transport::Error),
    /// The builder's settings are out of range (see [`limits`]).
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// A running sandbox refused a fault or a webhook endpoint (see [`limits`]).
    #[error("the sandbox refused: {0}")]
    Refused(String),
}

/// The entry point: [`Sandbox::builder`].
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Starts configuring a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }
}

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
    store: Option<Arc<dyn Store>>,
    public_url: Option<String>,
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
            .field("store", &self.store)
            .field("public_url", &self.public_url)
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
            store: None,
            public_url: None,
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

    /// Adds a webhook endpoint.
    pub fn webhook(mut self, endpoint: WebhookEndpoint) -> Self {
        self.webhooks.push(endpoint);
        self
    }

    /// How long a session stays open (default one hour, as in the provider's
    /// examples); at most [`limits::MAX_SESSION_TTL`], or
    /// [`start`](Self::start) fails with [`Error::Config`].
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How many times a webhook is attempted, and the backoff before the
    /// second attempt (doubled after each). Default 5 attempts, 500 ms.
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

    /// How many sessions the default [`MemoryStore`] keeps before evicting the
    /// oldest (default [`limits::DEFAULT_MAX_SESSIONS`]). Ignored with [`store`](Self::store).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// How many delivery attempts the default [`MemoryStore`] logs before
    /// evicting the oldest (default [`limits::DEFAULT_MAX_DELIVERIES`]).
    /// Ignored with [`store`](Self::store).
    pub fn max_deliveries(mut self, deliveries: usize) -> Self {
        self.max_deliveries = deliveries;
        self
    }

    /// Keeps state in this store instead of memory.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The base URL that session URLs use, when the sandbox is reached
    /// through another address than the one it listens on.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Binds `addr` and serves in the background until [`RunningSandbox::shutdown`] or drop.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a setting is out of range (a session TTL above
    /// [`limits::MAX_SESSION_TTL`], more than [`limits::MAX_WEBHOOKS`]
    /// endpoints, a webhook URL that is not http(s), a public URL that is not
    /// http(s)); [`Error::Bind`] when the address cannot be bound.
    pub async fn start(self, addr: impl ToSocketAddrs) -> Result<RunningSandbox, Error> {
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
        // `scheme://authority` of the base URL: the sandbox's own origin.
        let (scheme, rest) = base_url.split_once("://").unwrap_or(("http", &base_url));
        let authority = rest.split('/').next().unwrap_or(rest);
        let origin = format!("{scheme}://{authority}").to_ascii_lowercase();
        let mut hosts = vec![control::host_of(authority)];
        if !local.ip().is_unspecified() {
            hosts.push(control::host_of(&local.to_string()));
        }
        let transport = ReqwestTransport::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(Error::Transport)?;
        let (max_sessions, max_deliveries) = (self.max_sessions, self.max_deliveries);
        let state = Arc::new(State {
            base_url: base_url.clone(),
            origin,
            hosts,
            api_keys: self.api_keys,
            catalogue: self.catalogue,
            session_ttl,
            max_body_bytes: self.max_body_bytes,
            store: self.store.unwrap_or_else(|| {
                Arc::new(MemoryStore::with_limits(
                    max_sessions,
                    limits::DEFAULT_MAX_SESSION_BYTES,
                    max_deliveries,
                ))
            }),
            webhooks: RwLock::new(self.webhooks),
            delivery_attempts: self.delivery_attempts,
            delivery_backoff: self.delivery_backoff,
            transport,
            faults: Mutex::new(VecDeque::new()),
            api_requests: AtomicU64::new(0),
            pending_deliveries: AtomicUsize::new(0),
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
        Ok(RunningSandbox {
            addr: local,
            base_url,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

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
        .fallback(|| async { api::error(http::StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// A sandbox serving in the background.
#[derive(Debug)]
pub struct RunningSandbox {
    addr: SocketAddr,
    base_url: String,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningSandbox {
    /// The base URL: give it to `ClientBuilder::base_url`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The hosted page of a session.
    #[must_use]
    pub fn checkout_url(&self, session_id: &str) -> String {
        format!("{}/payment-link/{session_id}", self.base_url)
    }

    /// Adds a webhook endpoint while running. An endpoint beyond
    /// [`limits::MAX_WEBHOOKS`] or with a URL that is not http(s) is refused
    /// and logged; use [`try_add_webhook`](Self::try_add_webhook) to see why.
    pub fn add_webhook(&self, endpoint: WebhookEndpoint) {
        if let Err(e) = self.try_add_webhook(endpoint) {
            tracing::warn!(error = %e, "webhook endpoint refused");
        }
    }

    /// Adds a webhook endpoint while running.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] beyond [`limits::MAX_WEBHOOKS`] endpoints or for a
    /// URL that is not http(s) or longer than [`limits::MAX_WEBHOOK_URL_BYTES`].
    pub fn try_add_webhook(&self, endpoint: WebhookEndpoint) -> Result<(), Error> {
        control::add_endpoint(&self.state, endpoint).map_err(Error::Refused)
    }

    /// Queues a fault for the next `count` API requests. A fault beyond the
    /// caps of [`limits`] is refused and logged (nothing is queued for a
    /// `count` of 0); use [`try_inject`](Self::try_inject) to see why.
    pub fn inject(&self, fault: Fault, count: u32) {
        if count == 0 {
            return;
        }
        if let Err(e) = self.try_inject(fault, count) {
            tracing::warn!(error = %e, "fault refused");
        }
    }

    /// Queues a fault for the next `count` API requests.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] for a `count` of 0 or above [`limits::MAX_FAULT_COUNT`],
    /// a delay above [`limits::MAX_FAULT_DELAY`], a status outside 200–599, a
    /// body above [`limits::MAX_FAULT_BODY_BYTES`], or when
    /// [`limits::MAX_QUEUED_FAULTS`] faults are already queued.
    pub fn try_inject(&self, fault: Fault, count: u32) -> Result<(), Error> {
        faults::enqueue(&self.state, fault, count)
            .map(|_| ())
            .map_err(Error::Refused)
    }

    /// The store, to inspect sessions and deliveries.
    #[must_use]
    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
