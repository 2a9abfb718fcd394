//! A local emulator of the Actalink Billing API, its hosted checkout page and
//! its webhook delivery, so that the whole checkout flow runs on one machine
//! without spending real USDC: for the provider, no test environment is
//! documented.
//!
//! The principal types:
//!
//! - [`Sandbox::builder`] configures an emulator (accepted API keys, the
//!   [`Catalogue`] of [`Paylink`]s, [`WebhookEndpoint`]s, the session
//!   lifetime, the bounds of [`limits`]) and [`start`](SandboxBuilder::start)s
//!   it on an address.
//! - [`Sandbox`] is the running server: its [`url`](Sandbox::url) is the base
//!   URL to give `actalink-checkout`, it shows the sessions' statuses and the
//!   [`DeliveryRecord`]s of the webhook log, and it shuts down gracefully.
//! - [`Activity`] is what it does as it happens (each request answered, each
//!   delivery attempt, each endpoint given up on), reported to the callback
//!   of [`on_activity`](SandboxBuilder::on_activity).
//!
//! Each payment's event goes to every [`WebhookEndpoint`], each endpoint with
//! its own retries. A webhook URL's credentials (`http://user:pw@host/`) are
//! sent, as Basic authentication, but never shown: logs, the delivery log and
//! [`Activity`] show `http://***@host/`.
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
//! # In a merchant's integration test
//!
//! Pay, cancel, fail or expire a session by its id, read how each webhook
//! endpoint answered, and resend an event, all in process:
//!
//! ```rust,no_run
//! # use std::time::Duration;
//! # use actalink_checkout::{Client, CreateCheckoutSession};
//! # use actalink_sandbox::{DEFAULT_API_KEY, EBOOK_PAYLINK, Sandbox, WebhookEndpoint};
//! # async fn run(my_webhook_url: String) -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder()
//!     .webhook(WebhookEndpoint::new(my_webhook_url, "whsec_test"))
//!     .start("127.0.0.1:0")
//!     .await?;
//! let client = Client::builder().api_key(DEFAULT_API_KEY).base_url(sandbox.url()).build()?;
//! let order = CreateCheckoutSession::builder(EBOOK_PAYLINK)
//!     .metadata("internal_order_id", "ORD-1")
//!     .build()?;
//! let session = client.create_session(&order).await?;
//!
//! // The customer pays: the sandbox sends the payment event to your handler.
//! let paid = sandbox.pay(&session.id)?;
//! let Some(event) = paid.event else {
//!     return Err("a payment sends an event".into());
//! };
//! for delivery in sandbox.first_deliveries(&event, Duration::from_secs(10)).await {
//!     assert!(delivery.delivered, "{}: {:?} {:?}", delivery.url, delivery.status, delivery.error);
//! }
//! // … assert on your own records here: order ORD-1 is paid.
//!
//! // The provider retries: the same event again, freshly signed. Your handler
//! // must not fulfil the order twice.
//! sandbox.resend(&event.id, None).await?;
//!
//! // The other outcomes, and every event's fate per endpoint.
//! let unpaid = client.create_session(&CreateCheckoutSession::builder(EBOOK_PAYLINK).build()?).await?;
//! sandbox.fail(&unpaid.id)?;
//! for delivery in sandbox.delivery_summary() {
//!     println!("{} {} {}: {} attempts, delivered {}", delivery.event_type, delivery.event_id,
//!         delivery.url, delivery.attempts, delivery.delivered);
//! }
//! # sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
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
//! Bound to a loopback address, the sandbox answers only requests whose `Host`
//! is a loopback name, its own address or a name given to
//! [`allow_host`](SandboxBuilder::allow_host) (403 otherwise): a web page that
//! rebinds its own domain name to 127.0.0.1 can neither create sessions nor
//! read them. The control API checks that wherever the sandbox is bound, and
//! refuses what a web page could send besides: a foreign `Origin` (or a
//! browser's `Sec-Fetch-Site: cross-site`) (403), and a POST body that is not
//! `application/json` (415). The hosted page's buttons post forms to their
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

mod actions;
mod activity;
mod api;
mod builder;
mod catalogue;
mod control;
mod delivery;
mod event;
mod faults;
mod host;
mod ids;
pub mod limits;
mod page;
mod paylink;
mod reply;
mod report;
mod state;
mod store;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use actalink_types::{CheckoutSessionId, SessionStatus};
use tokio::sync::oneshot;

pub use activity::{Activity, DeliveryAttempt, GaveUp, RequestServed};
pub use builder::SandboxBuilder;
pub use catalogue::{Catalogue, EBOOK_PAYLINK, PRO_PAYLINK};
pub use event::PaymentEvent;
pub use faults::Fault;
pub use paylink::Paylink;
pub use report::{Delivery, EndpointDelivery, SentEvent, SessionChange};
pub use state::WebhookEndpoint;
pub use store::DeliveryRecord;

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
    /// A running sandbox refused a fault, a webhook endpoint or an action
    /// (see [`limits`]), or a session has no price to make an event of.
    #[error("the sandbox refused: {0}")]
    Refused(String),
    /// No such session or event (or it was evicted; see [`limits`]).
    #[error("{0}")]
    NotFound(String),
    /// The action does not apply: the session's status does not allow it,
    /// or there is no webhook endpoint to send to.
    #[error("{0}")]
    Conflict(String),
}

/// A sandbox serving in the background: [`Sandbox::builder`] configures one,
/// [`SandboxBuilder::start`] starts it. Dropping it stops the server;
/// [`shutdown`](Self::shutdown) also waits for it to end.
#[derive(Debug)]
pub struct Sandbox {
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

impl Sandbox {
    /// Starts configuring a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    fn new(
        addr: SocketAddr,
        base_url: String,
        state: Arc<State>,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self {
            addr,
            base_url,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

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

    /// The hosted page of a session (a [`CheckoutSessionId`] or its text).
    #[must_use]
    pub fn checkout_url(&self, session_id: &(impl AsRef<str> + ?Sized)) -> String {
        format!("{}/payment-link/{}", self.base_url, session_id.as_ref())
    }

    /// Pays a session, as the customer would on the hosted page: its new
    /// status, and the payment event, which is being delivered to every
    /// endpoint in the background ([`first_deliveries`](Self::first_deliveries)
    /// waits for it).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown session, [`Error::Conflict`] for
    /// one that is not open (a paid one included).
    pub fn pay(&self, session_id: &CheckoutSessionId) -> Result<SessionChange, Error> {
        self.act(session_id, state::Action::Pay)
    }

    /// Cancels a session, as the customer would on the hosted page: the
    /// sandbox keeps it `open` (see the book's *What the sandbox assumes*).
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub fn cancel(&self, session_id: &CheckoutSessionId) -> Result<SessionChange, Error> {
        self.act(session_id, state::Action::Cancel)
    }

    /// Fails a session's payment: it ends as `failure`.
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub fn fail(&self, session_id: &CheckoutSessionId) -> Result<SessionChange, Error> {
        self.act(session_id, state::Action::Fail)
    }

    /// Expires a session now: it ends as `timeout`.
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub fn expire(&self, session_id: &CheckoutSessionId) -> Result<SessionChange, Error> {
        self.act(session_id, state::Action::Expire)
    }

    fn act(
        &self,
        session_id: &CheckoutSessionId,
        action: state::Action,
    ) -> Result<SessionChange, Error> {
        let (session, event) = actions::act(&self.state, session_id.as_str(), action)?;
        Ok(SessionChange {
            status: session.status,
            event,
        })
    }

    /// Waits until every endpoint `event` went to has had its first attempt,
    /// or `within` has passed, and says how each fared: delivered (a 2xx) or
    /// why not. An endpoint not attempted in time has `attempts: 0`.
    pub async fn first_deliveries(
        &self,
        event: &SentEvent,
        within: Duration,
    ) -> Vec<EndpointDelivery> {
        actions::first_deliveries(&self.state, event, within).await
    }

    /// Every event's deliveries, one entry per event and endpoint: attempts,
    /// whether delivered, the last status and error. Oldest first.
    #[must_use]
    pub fn delivery_summary(&self) -> Vec<Delivery> {
        Delivery::summarise(&self.deliveries())
    }

    /// Sends a past event again, its body unchanged and freshly signed, one
    /// attempt per endpoint: to `to`, or to every endpoint. How each answered.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown (or evicted) event,
    /// [`Error::Conflict`] when there is no endpoint to send to,
    /// [`Error::Refused`] for a `to` whose URL is not http(s).
    pub async fn resend(
        &self,
        event_id: &str,
        to: Option<WebhookEndpoint>,
    ) -> Result<Vec<EndpointDelivery>, Error> {
        actions::resend(&self.state, event_id, to)
            .await
            .map(|(_, deliveries)| deliveries)
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

    /// How many sessions the sandbox holds (evicted ones no longer count).
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.state.store.count()
    }

    /// A session's status as the API would report it now (an open session
    /// past its expiry reads `timeout`); `None` for an unknown or evicted id.
    #[must_use]
    pub fn session_status(&self, session_id: &(impl AsRef<str> + ?Sized)) -> Option<SessionStatus> {
        self.state.session(session_id.as_ref()).map(|s| s.status)
    }

    /// The delivery log, oldest first: one record per webhook attempt.
    #[must_use]
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.state.store.deliveries()
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

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
