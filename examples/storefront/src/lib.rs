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
pub mod payment;
pub mod reconciler;

use std::sync::Arc;

use actalink_checkout::types::OffsetDateTime;
use actalink_checkout::{Client, CreateCheckoutSession};
use actalink_webhooks::{Event, VerifiedEvent, Verifier};
use axum::Form;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use config::{Config, Product, ReconcilerSettings, Secret};
pub use db::{Db, NewOrder, Order, TransitionRecord};
pub use payment::{CheckError, FailReason, Source, Transition};
pub use reconciler::Reconciler;

/// How long a session is assumed to live when the create response has no
/// `expiresAt` (an hour in every documented example).
const ASSUMED_SESSION_LIFETIME_SECS: i64 = 3600;

/// How long a webhook request or the success page waits for a check. The
/// provider expects a quick answer and a customer should not stare at a
/// spinner; when Actalink is slow, the webhook gets a 503 (the provider
/// retries), the page shows the order as pending, and the reconciler carries on.
const CHECK_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// [`payment::check_order`] within [`CHECK_BUDGET`]. The check only awaits
/// the status call, so giving up never interrupts a database update.
async fn check_within_budget(
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
            .route("/", get(shop))
            .route("/checkout", post(checkout))
            .route("/orders/{id}", get(order_page))
            .route("/webhooks/actalink", post(webhook))
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · Recipe shop</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto}}\
         .product{{border:1px solid #ddd;border-radius:10px;padding:1rem;margin:1rem 0}}\
         button{{font-size:1rem;padding:.5rem 1rem}} .paid{{color:#2b8a3e}} .pending{{color:#e67700}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "storefront failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page("Something went wrong", "<p>Please try again.</p>"),
    )
        .into_response()
}

async fn shop(State(state): State<AppState>) -> Html<String> {
    let mut body = String::new();
    for product in &state.config.products {
        body.push_str(&format!(
            "<div class=\"product\"><h2>{name}</h2><p>{price}</p>\
             <form method=\"post\" action=\"/checkout\"><input type=\"hidden\" name=\"paylink\" value=\"{id}\">\
             <button id=\"buy-{id}\" type=\"submit\">Buy {name}</button></form></div>",
            name = escape(&product.name),
            price = escape(&product.price),
            id = escape(&product.paylink_id),
        ));
    }
    page("Recipe shop", &body)
}

#[derive(Deserialize)]
struct CheckoutForm {
    paylink: String,
}

/// Creates the order (with the price the shop expects), then the checkout
/// session, then redirects (303) to the hosted page.
async fn checkout(State(state): State<AppState>, Form(form): Form<CheckoutForm>) -> Response {
    let Some(product) = state.config.product(&form.paylink) else {
        return (
            StatusCode::BAD_REQUEST,
            page("Unknown product", "<p>No such product.</p>"),
        )
            .into_response();
    };
    let order_id = format!("ORD-{:08X}", rand_u32());
    let amount = product.amount.to_string();
    let new_order = NewOrder {
        id: &order_id,
        user_id: &state.user_id,
        paylink_id: &product.paylink_id,
        product: &product.name,
        amount: &amount,
        currency: &product.currency,
    };
    if let Err(e) = state.db.create_order(&new_order) {
        return internal(e);
    }
    let request = CreateCheckoutSession::builder(product.paylink_id.as_str())
        .metadata(payment::USER_ID_KEY, state.user_id.as_str())
        .metadata(payment::ORDER_ID_KEY, order_id.as_str())
        .success_url(format!("{}/orders/{order_id}", state.config.public_url))
        .cancel_url(format!(
            "{}/orders/{order_id}?cancelled=1",
            state.config.public_url
        ))
        .build();
    let session = match request {
        Ok(request) => state
            .client
            .create_session(&request)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let unavailable = |reason: &str| {
        if let Err(error) = state.db.mark_failed(&order_id, reason, "checkout") {
            tracing::error!(%error, order = %order_id, "could not close the order");
        }
        (
            StatusCode::BAD_GATEWAY,
            page(
                "Checkout unavailable",
                "<p>The payment provider did not answer. Please try again.</p>",
            ),
        )
            .into_response()
    };
    match session {
        Ok(session) => {
            let expires_at = session.expires_at.map_or_else(
                || OffsetDateTime::now_utc().unix_timestamp() + ASSUMED_SESSION_LIFETIME_SECS,
                OffsetDateTime::unix_timestamp,
            );
            if let Err(e) =
                state
                    .db
                    .attach_session(&order_id, session.id.as_str(), Some(expires_at))
            {
                return internal(e);
            }
            match session.url.as_deref() {
                Some(url) => Redirect::to(url).into_response(),
                None => {
                    tracing::warn!(order = %order_id, session = %session.id.as_str(), "the session has no checkout URL");
                    unavailable("no_checkout_url")
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, order = %order_id, "could not create a checkout session");
            unavailable("no_session")
        }
    }
}

#[derive(Deserialize)]
struct OrderQuery {
    cancelled: Option<String>,
}

/// The success (and cancel) URL: shows the order, after checking a pending
/// one with Actalink (the webhook may be late or lost). Arriving here proves
/// nothing by itself: only the session status can mark the order paid.
async fn order_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<OrderQuery>,
) -> Response {
    let order = match state.db.order(&id) {
        Ok(Some(order)) => order,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    if order.status == "pending" && order.review_reason.is_none() {
        match check_within_budget(&state, &order.id, Source::SuccessPage).await {
            Ok(transition) => {
                tracing::debug!(order = %order.id, outcome = transition.label(), "checked on the success page");
            }
            Err(error) => {
                tracing::warn!(%error, order = %order.id, "could not confirm the session status");
            }
        }
    }
    let order = match state.db.order(&id) {
        Ok(Some(order)) => order,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let note = if order.review_reason.is_some() {
        "<p id=\"note\">We could not match your payment to this order automatically; \
         we are looking into it and will be in touch.</p>"
    } else if query.cancelled.is_some() && order.status == "pending" {
        "<p id=\"note\">You cancelled the payment; the order is kept for you.</p>"
    } else if order.status == "pending" {
        "<p id=\"note\">Waiting for the payment to be confirmed; this page shows the latest status.</p>"
    } else {
        ""
    };
    page(
        &format!("Order {}", order.id),
        &format!(
            "<p>{product}</p><p>Status: <strong id=\"order-status\" class=\"{status}\">{status}</strong></p>{note}<p><a href=\"/\">Back to the shop</a></p>",
            product = escape(&order.product),
            status = escape(&order.status),
        ),
    )
    .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Order not found", "<p>No such order.</p>"),
    )
        .into_response()
}

/// The order an event is about: by the order id in its metadata, or else by
/// the checkout session it names.
fn order_of(state: &AppState, event: &Event) -> rusqlite::Result<Option<Order>> {
    if let Some(id) = event.metadata_value(payment::ORDER_ID_KEY)
        && let Some(order) = state.db.order(id)?
    {
        return Ok(Some(order));
    }
    match event.data.checkout_session_id.as_deref() {
        Some(session_id) => state.db.order_by_session(session_id),
        None => Ok(None),
    }
}

/// The webhook endpoint. The extractor verifies the signature (a forged
/// event gets 400); a verified event only prompts a check of its order with
/// Actalink. Answers 200 for every event handled or deliberately ignored, and
/// 503 when the check could not be made, so that the provider retries.
async fn webhook(
    State(state): State<AppState>,
    VerifiedEvent(event): VerifiedEvent,
) -> (StatusCode, String) {
    // The event id, or a hash of the signed content when it has none.
    let key = event.dedup_key();
    let event_type = event
        .event_type
        .as_ref()
        .map_or("(none)", |t| t.as_str())
        .to_owned();
    let failed = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, event = %key, "could not process the webhook; the provider will retry");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "could not process the event now; please retry\n".to_owned(),
        )
    };
    match state.db.event_seen(&key) {
        Ok(true) => return (StatusCode::OK, "duplicate\n".into()),
        Ok(false) => {}
        Err(e) => return failed(&e),
    }
    let order = match order_of(&state, &event) {
        Ok(order) => order,
        Err(e) => return failed(&e),
    };
    let transition = match &order {
        None => Transition::UnknownOrder,
        Some(order) => match check_within_budget(&state, &order.id, Source::Webhook).await {
            Ok(transition) => transition,
            Err(e) => return failed(&e),
        },
    };
    tracing::info!(
        event = %key,
        event_type = %event_type,
        order = ?order.as_ref().map(|o| o.id.as_str()),
        outcome = transition.label(),
        "webhook handled"
    );
    if let Err(e) = state.db.record_event(
        &key,
        &event_type,
        order.as_ref().map(|o| o.id.as_str()),
        transition.label(),
    ) {
        // The check itself is idempotent, so a retry is harmless.
        return failed(&e);
    }
    (StatusCode::OK, format!("{}\n", transition.label()))
}

/// A random order number; uniqueness is enforced by the primary key.
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() as u32
}
