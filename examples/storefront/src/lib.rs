//! An example merchant app for the seed's flow: a shop page, checkout through
//! Actalink, and an order that becomes paid only when Actalink's own session
//! status confirms it, exactly once, however the news arrives.
//!
//! The principal types: [`Config`] (read from the environment and checked for
//! unsafe settings), [`Db`] (SQLite: users, orders, their history, processed
//! webhook events) and [`Storefront`], which ties them to an
//! `actalink_checkout::Client` and an `actalink_webhooks::Verifier`, serves
//! the [`router`](Storefront::router) and runs the background
//! [`Reconciler`](Storefront::spawn_reconciler).
//!
//! How an order gets paid: a verified webhook, the customer's return to the
//! success page and the reconciler's periodic check all do the same thing,
//! [`Storefront::check_order`]. It fetches the checkout session and marks the
//! order paid only when [`payment::evaluate`] finds the session paid, the
//! order's own, and for exactly the expected price; a conditional update
//! makes that happen once, and the [`Transition`] says whether this call did it.
//!
//! ```
//! use std::sync::Arc;
//! use storefront::{Config, Db, Storefront};
//!
//! let config = Config::for_test("sk_test", "http://127.0.0.1:4010", "whsec_test", "http://127.0.0.1:3000");
//! let db = Arc::new(Db::in_memory()?);
//! let shop = Storefront::new(config, db)?;
//! let router: axum::Router = shop.router();
//! // In a Tokio runtime: let _reconciler = shop.spawn_reconciler();
//! # let _ = router;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod config;
pub mod db;
mod html;
pub mod payment;
pub mod reconciler;
mod shop;
mod webhook;

use std::sync::Arc;

use actalink_checkout::Client;
use actalink_webhooks::Verifier;
use axum::extract::FromRef;

pub use config::{Config, Product, ReconcilerSettings, Secret};
pub use db::{Db, NewOrder, Order, TransitionRecord};
pub use payment::{CheckError, FailReason, Source, Transition};
pub use reconciler::Reconciler;

/// How long a webhook request or the success page waits for a check. The
/// provider expects a quick answer and a customer should not stare at a
/// spinner; when Actalink is slow, the webhook gets a 503 (the provider
/// retries), the page shows the order as pending, and the reconciler carries on.
const CHECK_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// [`payment::check_order`] within [`CHECK_BUDGET`]. The check only awaits
/// the status call, so giving up never interrupts a database update.
pub(crate) async fn check_within_budget(
    state: &AppState,
    order_id: &str,
    source: Source,
) -> Result<Transition, String> {
    match tokio::time::timeout(CHECK_BUDGET, payment::check_order(state, order_id, source)).await {
        Ok(Ok(transition)) => Ok(transition),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "the check did not finish within {} s",
            CHECK_BUDGET.as_secs()
        )),
    }
}

/// Shared state of the handlers and the reconciler. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) db: Arc<Db>,
    pub(crate) client: Client,
    verifier: Verifier,
    pub(crate) config: Arc<Config>,
    user_id: String,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The storefront: its state, its routes and its reconciler.
#[derive(Debug, Clone)]
pub struct Storefront {
    state: AppState,
}

impl Storefront {
    /// Validates `config` (see [`Config::validate`]) and builds the shop.
    ///
    /// # Errors
    ///
    /// When the settings are unsafe, the Actalink client cannot be built, or
    /// the demo user cannot be stored.
    pub fn new(config: Config, db: Arc<Db>) -> anyhow::Result<Self> {
        config.validate()?;
        if config.webhook_secret.is_none() {
            tracing::warn!(
                "STOREFRONT_WEBHOOK_SECRET is not set: using the public development secret, \
                 allowed only because the API is a local sandbox"
            );
        }
        let client = Client::builder()
            .api_key(config.api_key_or_default())
            .base_url(config.base_url.as_str())
            .retry_policy(config.retry.clone())
            .user_agent_suffix("storefront-example")
            .build()?;
        // One signed-in customer keeps the example small; a real shop has sessions.
        let user_id = "user_demo_0001".to_owned();
        db.ensure_user(&user_id, "Ada Demo")?;
        Ok(Self {
            state: AppState {
                db,
                client,
                verifier: Verifier::new(config.webhook_secret_or_default()),
                config: Arc::new(config),
                user_id,
            },
        })
    }

    /// The routes: the shop, the checkout, the order (success) page and the webhook.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .merge(shop::routes())
            .merge(webhook::routes())
            .with_state(self.state.clone())
    }

    /// Starts the background [`Reconciler`] on the current Tokio runtime.
    /// Keep the handle: dropping it stops the task.
    #[must_use = "dropping the handle stops the reconciler"]
    pub fn spawn_reconciler(&self) -> Reconciler {
        Reconciler::spawn(self.state.clone())
    }

    /// Checks one order against Actalink now; see [`payment::check_order`].
    ///
    /// # Errors
    ///
    /// When the status call or the database failed; nothing changed.
    pub async fn check_order(
        &self,
        order_id: &str,
        source: Source,
    ) -> Result<Transition, CheckError> {
        payment::check_order(&self.state, order_id, source).await
    }

    /// The settings in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The database.
    #[must_use]
    pub fn db(&self) -> &Arc<Db> {
        &self.state.db
    }
}

/// Builds the routes only, without a reconciler: `Storefront::new(config, db)?.router()`.
///
/// # Errors
///
/// As [`Storefront::new`].
pub fn app(config: Config, db: Arc<Db>) -> anyhow::Result<axum::Router> {
    Ok(Storefront::new(config, db)?.router())
}
