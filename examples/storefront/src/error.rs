//! The one error type of the handlers, and the response each error renders.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::html::page;

/// Why a request failed. Every handler returns it; [`IntoResponse`] renders
/// the page (or, for the webhook, the plain answer) and logs the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The checkout form named a product the shop does not sell.
    #[error("no such product")]
    UnknownProduct,
    /// No order has this id.
    #[error("no such order")]
    OrderNotFound,
    /// The checkout session could not be created: nothing was written.
    #[error("the checkout session could not be created")]
    Provider(#[source] actalink_checkout::Error),
    /// The provider created a session without a hosted page to send the
    /// customer to: nothing was written.
    #[error("the checkout session has no hosted page URL")]
    NoCheckoutUrl,
    /// A verified webhook event could not be stored: the provider must
    /// deliver it again.
    #[error("the webhook event could not be stored")]
    EventNotStored(#[source] actalink_payments::Error),
    /// The payment records failed.
    #[error("the payment records failed")]
    Payments(#[from] actalink_payments::Error),
    /// A query of the shop's own tables failed.
    #[error("the database failed")]
    Database(#[from] actalink_payments::sqlx::Error),
    /// Something the shop itself got wrong (a bug, or data it did not write).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// The status code the error answers with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownProduct => StatusCode::BAD_REQUEST,
            Self::OrderNotFound => StatusCode::NOT_FOUND,
            Self::Provider(_) | Self::NoCheckoutUrl => StatusCode::BAD_GATEWAY,
            Self::EventNotStored(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Payments(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(e) if unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Payments(_) | Self::Database(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// True when the database could not be reached or was busy: trying again
/// later may work. A decoding error or a bad query is a bug instead.
fn unavailable(error: &actalink_payments::sqlx::Error) -> bool {
    use actalink_payments::sqlx::Error;
    matches!(
        error,
        Error::Io(_)
            | Error::Tls(_)
            | Error::PoolTimedOut
            | Error::PoolClosed
            | Error::WorkerCrashed
            | Error::Database(_)
    )
}

/// An error and its sources, in one line, for the log.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let cause = chain(&self);
        if status.is_server_error() {
            tracing::error!(error = %cause, status = status.as_u16(), "request failed");
        } else {
            tracing::debug!(error = %cause, status = status.as_u16(), "request refused");
        }
        let (title, body) = match &self {
            Self::EventNotStored(_) => {
                // The provider reads this, not a person: plain text.
                return (status, "could not store the event now; please retry\n").into_response();
            }
            Self::UnknownProduct => ("Unknown product", "<p>No such product.</p>"),
            Self::OrderNotFound => ("Order not found", "<p>No such order.</p>"),
            Self::Provider(_) | Self::NoCheckoutUrl => (
                "Checkout unavailable",
                "<p>The payment provider did not answer, so no order was placed. \
                 Please try again in a moment.</p><p><a href=\"/\">Back to the shop</a></p>",
            ),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => (
                "Please try again",
                "<p>The shop cannot reach its records just now. Please try again in a moment.</p>",
            ),
            _ => ("Something went wrong", "<p>Please try again.</p>"),
        };
        (status, page(title, body)).into_response()
    }
}
