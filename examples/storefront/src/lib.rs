//! An example merchant app on `actalink-payments`: a shop page, checkout
//! through Actalink, and an order that becomes paid only when Actalink's own
//! session status confirms it, exactly once, however the news arrives, and
//! that is then fulfilled exactly once in the database. Any number of
//! instances may share one PostgreSQL database (or one SQLite file).
//!
//! The principal types: [`Config`] (read from the environment and checked
//! for unsafe settings) and [`Storefront`], which opens the payment records
//! ([`actalink_payments::Payments`]) and the shop's own `orders` table
//! ([`orders`]), serves the [`router`](Storefront::router) and runs the
//! [`Background`] work: the crate's reconciler and a fulfilment worker
//! ([`Fulfiller`]).
//!
//! How an order gets paid: a verified webhook
//! ([`Payments::handle_event`](actalink_payments::Payments::handle_event)),
//! the customer's return page and the reconciler
//! ([`Payments::confirm`](actalink_payments::Payments::confirm)) all fetch
//! the checkout session and let the crate apply what it says, at most once
//! across all instances. Every handler answers through one error type,
//! [`AppError`].
//!
//! ```no_run
//! use storefront::{Config, Storefront};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut config = Config::for_test(
//!     "sk_sandbox_0000000000000000000000000000000000",
//!     "http://127.0.0.1:4010",
//!     "whsec_test",
//!     "sqlite:shop.sqlite",
//! );
//! let listener = tokio::net::TcpListener::bind(config.addr).await?;
//! config.addr = listener.local_addr()?;
//! let shop = Storefront::open(config).await?;
//! // Serves until Ctrl-C, then stops the background work gracefully.
//! shop.serve(listener, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

pub mod config;
mod error;
pub mod fulfil;
mod html;
pub mod orders;
mod shop;
mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actalink_checkout::Client;
use actalink_payments::{Backend, Payments};
use actalink_webhooks::Verifier;
use anyhow::{Context, bail};
use axum::extract::FromRef;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{Config, DatabaseUrl, Product, Secret};
pub use error::AppError;
pub use fulfil::{FulfilError, Fulfiller};
pub use orders::Order;

/// The metadata key that carries the shop's order id.
pub const ORDER_ID_KEY: &str = "internal_order_id";
/// The metadata key that carries the customer's id.
pub const USER_ID_KEY: &str = "user_uuid";

/// How long the return page waits for a check, and how long one Actalink
/// call may take with its retries (the webhook's check included, so that
/// the provider gets a quick answer). When Actalink is slow, the page shows
/// the order as pending and the reconciler carries on.
pub const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// How long a graceful stop waits for the fulfilment jobs and the
/// reconciler's scan in hand, after the last request was answered.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Shared state of the handlers. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) payments: Payments,
    verifier: Verifier,
    pub(crate) config: Arc<Config>,
    pub(crate) public_url: Arc<str>,
    pub(crate) user_id: Arc<str>,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The storefront: its records, its routes and its background work.
#[derive(Debug, Clone)]
pub struct Storefront {
    state: AppState,
}

impl Storefront {
    /// Validates `config` (see [`Config::validate`]), connects to the
    /// database and runs the migrations (the crate's and the shop's, each
    /// once however many instances start at once).
    ///
    /// # Errors
    ///
    /// When the settings are unsafe, the database cannot be opened or
    /// migrated, or the Actalink client cannot be built.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let client = Client::builder()
            .api_key(config.api_key_or_default())
            .base_url(config.base_url.as_str())
            .retry_policy(config.retry.clone())
            .total_timeout(CHECK_BUDGET)
            .user_agent_suffix("storefront-example")
            .build()?;
        let payments = Payments::builder(config.database_url.expose(), client)
            .reconcile(config.reconcile.clone())
            .fulfil(config.fulfil.clone())
            .connect()
            .await
            .with_context(|| format!("could not open the database {}", config.database_url))?;
        refuse_an_older_storefront_file(&payments, &config.database_url).await?;
        payments
            .migrate(orders::COMPONENT, orders::MIGRATIONS)
            .await
            .with_context(|| format!("could not migrate the database {}", config.database_url))?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.addr));
        Ok(Self {
            state: AppState {
                payments,
                verifier: Verifier::new(config.webhook_secret_or_default()),
                config: Arc::new(config),
                public_url: public_url.trim_end_matches('/').into(),
                // One signed-in customer keeps the example small; a real shop has sessions.
                user_id: "user_demo_0001".into(),
            },
        })
    }

    /// The routes: the shop, the checkout, the order (return) page and the webhook.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .merge(shop::routes())
            .merge(webhook::routes())
            .with_state(self.state.clone())
    }

    /// Starts the background work on the current Tokio runtime: the
    /// crate's reconciler (open payments nobody came back for) and the
    /// fulfilment worker ([`Fulfiller`]). Both share their work with every
    /// other instance on the database through leases.
    ///
    /// # Errors
    ///
    /// When the fulfilment client cannot be built.
    pub fn start_background(&self) -> anyhow::Result<Background> {
        let payments = self.state.payments.clone();
        let fulfiller = Fulfiller::new(payments.clone(), &self.state.config)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let reconciler = payments.reconciler().spawn();
            let worker = payments
                .fulfilment_worker(move |job| fulfiller.clone().run(job))
                .spawn();
            // Sent, or the handle dropped: stop either way.
            let _ = stopped.await;
            tokio::join!(reconciler.shutdown(), worker.shutdown());
        });
        Ok(Background {
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Serves on `listener` with the background work until `shutdown`
    /// resolves; then takes no new connections, finishes the requests in
    /// flight, and stops the background work ([`Background::shutdown`]).
    ///
    /// # Errors
    ///
    /// When the background work cannot start or the server fails.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        if self.state.config.webhook_secret.is_none() {
            tracing::warn!(
                "STOREFRONT_WEBHOOK_SECRET is not set: using the public development secret, \
                 allowed only because the API is a local sandbox with a sandbox key"
            );
        }
        let background = self.start_background()?;
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        tracing::info!("no longer serving; stopping the reconciler and the fulfilment worker");
        background.shutdown(SHUTDOWN_GRACE).await;
        served.context("the server failed")
    }

    /// The payment records.
    #[must_use]
    pub fn payments(&self) -> &Payments {
        &self.state.payments
    }

    /// The settings in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The URL customers reach the shop at.
    #[must_use]
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The order with this id.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub async fn order(&self, id: &str) -> Result<Option<Order>, AppError> {
        orders::find(&self.state.payments, id).await
    }
}

/// A SQLite file of the storefront before it kept its records with
/// `actalink-payments` has an `orders` table of another shape: say so,
/// rather than fail on "table orders already exists".
async fn refuse_an_older_storefront_file(
    payments: &Payments,
    url: &DatabaseUrl,
) -> anyhow::Result<()> {
    use actalink_payments::sqlx;
    if payments.backend() != Backend::Sqlite {
        return Ok(());
    }
    // The earlier storefront counted its migrations in `user_version`.
    let old: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(payments.pool())
        .await?;
    let ours: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM actalink_schema WHERE component = $1")
            .bind(orders::COMPONENT)
            .fetch_one(payments.pool())
            .await?;
    if old > 0 && ours.is_none() {
        bail!(
            "{url} was made by an earlier version of the storefront, whose tables this one does \
             not read: move the file away, or set STOREFRONT_DATABASE_URL to a new file"
        );
    }
    Ok(())
}

/// The background work of one instance: the reconciler and the fulfilment
/// worker. Dropping it stops both at once (work cut off midway is taken
/// over when its lease ends); [`shutdown`](Self::shutdown) stops them
/// gracefully.
#[derive(Debug)]
pub struct Background {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Background {
    /// Stops claiming new work and waits, up to `grace`, for the
    /// fulfilment jobs and the reconciler's scan in hand; whatever is still
    /// running then is cut off, to be taken over when its lease ends.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!(
                "the background work did not stop within {} s; cutting it off",
                grace.as_secs()
            );
            task.abort();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
