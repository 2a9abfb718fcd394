//! An example merchant app for the seed's flow: a shop page, checkout through
//! Actalink, a verified webhook that marks the order paid exactly once, and a
//! success page that reconciles with the session status when the webhook is
//! late or lost.
//!
//! The principal types: [`Config`] (read from the environment), [`Db`] (SQLite:
//! users, orders, webhook events) and [`app`], the axum router that ties them
//! to an `actalink_checkout::Client` and an `actalink_webhooks::Verifier`.
//!
//! ```
//! use std::sync::Arc;
//! use storefront::{Config, Db, app};
//!
//! let config = Config::for_test("sk_test", "http://127.0.0.1:4010", "whsec_test", "http://127.0.0.1:3000");
//! let db = Arc::new(Db::in_memory()?);
//! let router: axum::Router = app(config, db)?;
//! # let _ = router;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod db;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use actalink_checkout::{CheckoutSessionId, Client, CreateCheckoutSession};
use actalink_webhooks::{VerifiedEvent, Verifier};
use axum::Form;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use db::{Db, Order, Recorded};

/// A product the shop sells: an Actalink paylink and how to show it.
#[derive(Debug, Clone)]
pub struct Product {
    /// The paylink id.
    pub paylink_id: String,
    /// The display name.
    pub name: String,
    /// The price as shown.
    pub price: String,
}

/// The storefront's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Actalink API key (`ACTALINK_API_KEY`; default: the sandbox's key).
    pub api_key: String,
    /// Actalink base URL (`ACTALINK_BASE_URL`; default: a local `actalink sandbox`).
    pub base_url: String,
    /// Webhook secret (`STOREFRONT_WEBHOOK_SECRET`).
    pub webhook_secret: String,
    /// Database file (`STOREFRONT_DATABASE`).
    pub database: PathBuf,
    /// Listen address (`STOREFRONT_ADDR`).
    pub addr: SocketAddr,
    /// The URL customers reach the shop at (`STOREFRONT_PUBLIC_URL`; default `http://{addr}`).
    pub public_url: String,
    /// The products on sale.
    pub products: Vec<Product>,
}

/// The sandbox's default API key and paylinks, so that the defaults work
/// against `actalink sandbox` with no configuration.
const SANDBOX_API_KEY: &str = "sk_sandbox_0000000000000000000000000000000000";

fn default_products() -> Vec<Product> {
    vec![
        Product {
            paylink_id: "paylink_sandboxRecipePro000000000000001".into(),
            name: "Recipe Pro".into(),
            price: "0.16 USDC every 15 minutes".into(),
        },
        Product {
            paylink_id: "paylink_sandboxRecipeEbook0000000000001".into(),
            name: "Recipe eBook".into(),
            price: "0.15 USDC once".into(),
        },
    ]
}

impl Config {
    /// Reads the environment, with defaults that work against a local `actalink sandbox`.
    ///
    /// # Errors
    ///
    /// When `STOREFRONT_ADDR` is not a socket address.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let addr: SocketAddr = var("STOREFRONT_ADDR", "127.0.0.1:3000").parse()?;
        Ok(Self {
            api_key: var("ACTALINK_API_KEY", SANDBOX_API_KEY),
            base_url: var("ACTALINK_BASE_URL", "http://127.0.0.1:4010"),
            webhook_secret: var("STOREFRONT_WEBHOOK_SECRET", "whsec_storefront_dev"),
            database: var("STOREFRONT_DATABASE", "storefront.sqlite").into(),
            public_url: var("STOREFRONT_PUBLIC_URL", &format!("http://{addr}")),
            addr,
            products: default_products(),
        })
    }

    /// Settings for tests: everything given, the default products.
    pub fn for_test(api_key: &str, base_url: &str, webhook_secret: &str, public_url: &str) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: base_url.into(),
            webhook_secret: webhook_secret.into(),
            database: PathBuf::from(":memory:"),
            addr: ([127, 0, 0, 1], 0).into(),
            public_url: public_url.into(),
            products: default_products(),
        }
    }
}

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    db: Arc<Db>,
    client: Client,
    verifier: Verifier,
    config: Arc<Config>,
    user_id: String,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Builds the app.
///
/// # Errors
///
/// When the Actalink client cannot be built or the demo user cannot be stored.
pub fn app(config: Config, db: Arc<Db>) -> anyhow::Result<axum::Router> {
    let client = Client::builder()
        .api_key(config.api_key.as_str())
        .base_url(config.base_url.as_str())
        .user_agent_suffix("storefront-example")
        .build()?;
    // One signed-in customer keeps the example small; a real shop has sessions.
    let user_id = "user_demo_0001".to_owned();
    db.ensure_user(&user_id, "Ada Demo")?;
    let state = AppState {
        db,
        client,
        verifier: Verifier::new(config.webhook_secret.as_str()),
        config: Arc::new(config),
        user_id,
    };
    Ok(axum::Router::new()
        .route("/", get(shop))
        .route("/checkout", post(checkout))
        .route("/orders/{id}", get(order_page))
        .route("/webhooks/actalink", post(webhook))
        .with_state(state))
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

/// Creates the order, then the checkout session, then redirects (303) to the hosted page.
async fn checkout(State(state): State<AppState>, Form(form): Form<CheckoutForm>) -> Response {
    let Some(product) = state
        .config
        .products
        .iter()
        .find(|p| p.paylink_id == form.paylink)
    else {
        return (
            StatusCode::BAD_REQUEST,
            page("Unknown product", "<p>No such product.</p>"),
        )
            .into_response();
    };
    let order_id = format!("ORD-{:08X}", rand_u32());
    if let Err(e) = state.db.create_order(
        &order_id,
        &state.user_id,
        &product.paylink_id,
        &product.name,
    ) {
        return internal(e);
    }
    let request = CreateCheckoutSession::builder(product.paylink_id.as_str())
        .metadata("user_uuid", state.user_id.as_str())
        .metadata("internal_order_id", order_id.as_str())
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
    match session {
        Ok(session) => {
            if let Err(e) = state.db.attach_session(&order_id, session.id.as_str()) {
                return internal(e);
            }
            Redirect::to(&session.url).into_response()
        }
        Err(error) => {
            tracing::warn!(%error, order = %order_id, "could not create a checkout session");
            let _ = state.db.fail_order(&order_id);
            (
                StatusCode::BAD_GATEWAY,
                page(
                    "Checkout unavailable",
                    "<p>The payment provider did not answer. Please try again.</p>",
                ),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct OrderQuery {
    cancelled: Option<String>,
}

/// The success (and cancel) URL: shows the order, confirming a pending one with the status endpoint.
async fn order_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<OrderQuery>,
) -> Response {
    let mut order = match state.db.order(&id) {
        Ok(Some(order)) => order,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page("Order not found", "<p>No such order.</p>"),
            )
                .into_response();
        }
        Err(e) => return internal(e),
    };
    // Reconcile: a webhook may be late or lost, so ask Actalink directly.
    if order.status == "pending"
        && let Some(session_id) = order
            .checkout_session_id
            .as_deref()
            .and_then(|s| CheckoutSessionId::new(s).ok())
    {
        match state.client.get_session(&session_id).await {
            Ok(session)
                if session.is_paid()
                    && session.metadata_value("internal_order_id") == Some(order.id.as_str()) =>
            {
                match state.db.mark_paid(&order.id) {
                    Ok(_) => order.status = "paid".into(),
                    Err(e) => return internal(e),
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, order = %order.id, "could not confirm the session status")
            }
        }
    }
    let note = if query.cancelled.is_some() && order.status == "pending" {
        "<p id=\"note\">You cancelled the payment; the order is kept for you.</p>"
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

/// The webhook endpoint: verified by the extractor, applied once per event id.
async fn webhook(State(state): State<AppState>, VerifiedEvent(event): VerifiedEvent) -> StatusCode {
    let order_id = event.metadata_value("internal_order_id");
    match state
        .db
        .record_payment_event(&event.id, event.event_type.as_str(), order_id)
    {
        Ok(Recorded::Applied) => {
            tracing::info!(event = %event.id, order = ?order_id, "payment recorded");
            StatusCode::OK
        }
        Ok(Recorded::Duplicate) => StatusCode::OK,
        Err(error) => {
            // A 5xx makes the provider retry, which is what we want after a database failure.
            tracing::error!(%error, event = %event.id, "could not record the payment");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
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
