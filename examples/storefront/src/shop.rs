//! The customer's pages: the shop, the checkout and the order (success) page.

use actalink_checkout::CreateCheckoutSession;
use actalink_checkout::types::OffsetDateTime;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::html::{escape, internal, not_found, page};
use crate::{AppState, NewOrder, Source, check_within_budget, payment};

/// The customer's routes: the shop, the checkout and the order (success) page.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(shop))
        .route("/checkout", post(checkout))
        .route("/orders/{id}", get(order_page))
}

/// How long a session is assumed to live when the create response has no
/// `expiresAt` (an hour in every documented example).
const ASSUMED_SESSION_LIFETIME_SECS: i64 = 3600;

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
