//! The customer's pages: the shop, the checkout and the order (return) page.

use actalink_checkout::{CheckoutSessionId, CreateCheckoutSession};
use actalink_payments::{NewPayment, PaymentStatus, Source};
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::html::{escape, page};
use crate::orders;
use crate::{AppError, AppState, CHECK_BUDGET, ORDER_ID_KEY, USER_ID_KEY};

/// The customer's routes: the shop, the checkout and the order page.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(shop))
        .route("/checkout", post(checkout))
        .route("/orders/{id}", get(order_page))
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

/// A new order id: `ORD-` and 128 random bits from the operating system, so
/// that no two orders of any number of instances collide.
pub(crate) fn new_order_id() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for an order id: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    Ok(format!("ORD-{hex}"))
}

/// Creates the checkout session first; then, in one transaction, the
/// payment record and the order row; then redirects (303) to the hosted
/// page. When the provider fails, nothing is written and the customer gets
/// a 502 page.
async fn checkout(
    State(state): State<AppState>,
    Form(form): Form<CheckoutForm>,
) -> Result<Redirect, AppError> {
    let product = state
        .config
        .product(&form.paylink)
        .ok_or(AppError::UnknownProduct)?;
    let order_id = new_order_id()?;
    let public_url = &state.public_url;
    let request = CreateCheckoutSession::builder(product.paylink_id.as_str())
        .metadata(USER_ID_KEY, &*state.user_id)
        .metadata(ORDER_ID_KEY, order_id.as_str())
        .success_url(format!("{public_url}/orders/{order_id}"))
        .cancel_url(format!("{public_url}/orders/{order_id}?cancelled=1"))
        .build()
        .map_err(|e| AppError::Internal(format!("the checkout request is invalid: {e}")))?;
    let session = state
        .payments
        .client()
        .create_session(&request)
        .await
        .map_err(AppError::Provider)?;
    let Some(hosted) = session.url.clone() else {
        tracing::warn!(session = %session.id.as_str(), "the session has no checkout URL");
        return Err(AppError::NoCheckoutUrl);
    };
    let payment = NewPayment::new(
        &request,
        &session,
        order_id.as_str(),
        product.amount,
        product.currency.as_str(),
    )?;
    // The payment record first: the order row refers to it, and takes its time.
    let mut tx = state.payments.begin().await?;
    state.payments.record_in(&mut tx, &payment).await?;
    orders::insert_in(&mut tx, &order_id, &state.user_id, product, &session.id).await?;
    tx.commit().await.map_err(AppError::Database)?;
    tracing::info!(order = %order_id, session = %session.id.as_str(), "order placed");
    Ok(Redirect::to(&hosted))
}

#[derive(Deserialize)]
struct OrderQuery {
    cancelled: Option<String>,
}

/// How a status reads on the page: its CSS class and its words.
fn shown(status: PaymentStatus) -> (&'static str, &'static str) {
    match status {
        PaymentStatus::Open => ("pending", "pending"),
        PaymentStatus::Paid => ("paid", "paid"),
        PaymentStatus::Failed => ("failed", "failed"),
        PaymentStatus::Expired => ("expired", "expired"),
        PaymentStatus::Flagged => ("review", "under review"),
    }
}

/// The success (and cancel) URL: for an open payment, asks Actalink first
/// (within [`CHECK_BUDGET`]; the webhook may be late or lost), then shows
/// what the payment record says. Arriving here proves nothing by itself:
/// only the session status can mark the order paid.
async fn order_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<OrderQuery>,
) -> Result<Html<String>, AppError> {
    let order = orders::find(&state.payments, &id)
        .await?
        .ok_or(AppError::OrderNotFound)?;
    let session = &order.checkout_session_id;
    let mut status = payment_status(&state, session, &id).await?;
    if status == PaymentStatus::Open {
        let check = state.payments.confirm(session, Source::ReturnPage);
        match tokio::time::timeout(CHECK_BUDGET, check).await {
            Ok(Ok(outcome)) => {
                tracing::debug!(order = %order.id, outcome = outcome.label(), "checked on the return page");
                status = outcome.status().unwrap_or(status);
            }
            Ok(Err(error)) => {
                tracing::warn!(order = %order.id, error = %crate::error::chain(&error), "could not confirm the payment; the reconciler will");
                status = payment_status(&state, session, &id).await?;
            }
            Err(_) => {
                tracing::warn!(order = %order.id, "the check took longer than {} s; the reconciler will finish it", CHECK_BUDGET.as_secs());
                status = payment_status(&state, session, &id).await?;
            }
        }
    }
    let note = match status {
        PaymentStatus::Flagged => {
            "We could not match your payment to this order automatically; \
             we are looking into it and will be in touch."
        }
        PaymentStatus::Open if query.cancelled.is_some() => {
            "You cancelled the payment; the order is kept for you."
        }
        PaymentStatus::Open => {
            "Waiting for the payment to be confirmed; this page shows the latest status."
        }
        PaymentStatus::Failed => {
            "The payment did not go through. You can order again from the shop."
        }
        PaymentStatus::Expired => {
            "The checkout expired before a payment arrived. You can order again from the shop."
        }
        PaymentStatus::Paid if order.fulfilled_at_ms.is_some() => {
            "Thank you! Your order has been fulfilled."
        }
        PaymentStatus::Paid => "Thank you! Your order is being prepared.",
    };
    let (class, words) = shown(status);
    Ok(page(
        "Your order",
        &format!(
            "<p>Order <code id=\"order-id\">{id}</code></p><p>{product} ({amount} {currency})</p>\
             <p>Status: <strong id=\"order-status\" class=\"{class}\">{words}</strong></p>\
             <p id=\"note\">{note}</p><p><a href=\"/\">Back to the shop</a></p>",
            id = escape(&order.id),
            product = escape(&order.product),
            amount = order.amount,
            currency = escape(&order.currency),
        ),
    ))
}

/// The status of the payment recorded for order `id`.
async fn payment_status(
    state: &AppState,
    session: &CheckoutSessionId,
    id: &str,
) -> Result<PaymentStatus, AppError> {
    state
        .payments
        .payment(session)
        .await?
        .map(|payment| payment.status)
        .ok_or_else(|| AppError::Internal(format!("order {id} has no payment record")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_carry_128_random_bits() {
        let a = new_order_id().unwrap();
        let b = new_order_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 32, "{a}");
        assert!(a.starts_with("ORD-"));
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    }
}
