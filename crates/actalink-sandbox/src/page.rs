//! The hosted checkout page and its three buttons.

use std::sync::Arc;

use actalink_types::SessionStatus;
use axum::extract::{FromRequestParts, Path, State as AxumState};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::StatusCode;
use http::request::Parts;

use crate::state::{Action, Outcome, State};
use crate::store::SessionRecord;

/// Escapes text for HTML. Five characters; not worth a dependency.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Actalink sandbox</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }}
main {{ max-width: 28rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem; box-shadow: 0 2px 12px #0001; }}
h1 {{ font-size: 1.4rem; margin: 0 0 .25rem; }} .muted {{ color: #666; font-size: .9rem; }}
.price {{ font-size: 2rem; font-weight: 600; margin: 1rem 0; }}
form {{ display: inline; }} button {{ font-size: 1rem; padding: .6rem 1rem; border-radius: 8px; border: 1px solid #ccc; background: #fff; cursor: pointer; margin: .25rem .25rem 0 0; }}
button#pay {{ background: #3b5bdb; color: #fff; border-color: #3b5bdb; }}
.banner {{ background: #fff3bf; padding: .5rem .75rem; border-radius: 6px; font-size: .85rem; margin-bottom: 1rem; }}
</style></head>
<body><main>
<div class="banner">Sandbox: no real USDC moves.</div>
{body}
</main></body></html>"#,
        title = escape(title)
    )
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page("Not found", "<h1>Checkout session not found</h1>")),
    )
        .into_response()
}

fn interval_text(session: &SessionRecord) -> String {
    match (
        session.paylink.interval_count(),
        session.paylink.interval_unit(),
    ) {
        (Some(count), Some(unit)) => format!(" every {count} × {}", escape(unit.as_str())),
        _ => " once".into(),
    }
}

/// The session a page is for, by the `{id}` in its path; the not-found page
/// when there is none.
pub(crate) struct PageSession(SessionRecord);

impl FromRequestParts<Arc<State>> for PageSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        state.session(&id).map(Self).ok_or_else(not_found)
    }
}

/// `GET /payment-link/{id}`.
pub(crate) async fn show(PageSession(session): PageSession) -> Response {
    let paylink = &session.paylink;
    let head = format!(
        r#"<h1 id="product">{name}</h1><p class="muted">{description}</p>
<div class="price" id="price">{price} USDC<span class="muted">{interval}</span></div>"#,
        name = escape(paylink.name()),
        description = escape(paylink.description()),
        price = escape(paylink.price_decimal()),
        interval = interval_text(&session),
    );
    let body = if session.status.is_open() {
        let id = escape(session.id.as_str());
        format!(
            r#"{head}
<p class="muted">Session <code>{id}</code>, open until {expires}.</p>
<form method="post" action="/payment-link/{id}/pay"><button id="pay" type="submit">Pay {price} USDC</button></form>
<form method="post" action="/payment-link/{id}/cancel"><button id="cancel" type="submit">Cancel</button></form>
<form method="post" action="/payment-link/{id}/fail"><button id="fail" type="submit">Simulate a failed payment</button></form>"#,
            expires = crate::wire::timestamp(session.expires_at),
            price = escape(paylink.price_decimal()),
        )
    } else {
        format!(
            r#"{head}<p id="status">This checkout session is <strong>{}</strong>.</p>"#,
            escape(session.status.as_str())
        )
    };
    Html(page(paylink.name(), &body)).into_response()
}

/// `POST /payment-link/{id}/{action}`: the buttons. Redirects (303) to the
/// session's URL for the outcome, or to a page of the sandbox's own.
///
/// These routes, not the control API, serve the page's own form posts, so
/// the control API's refusal of forms and foreign origins does not touch them.
/// Acting needs the session id, which only its creator and its customer know.
pub(crate) async fn act(
    AxumState(state): AxumState<Arc<State>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(action) = Action::parse(&action).filter(|a| *a != Action::Expire) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page("Not found", "<h1>No such action</h1>")),
        )
            .into_response();
    };
    match state.apply(&id, action) {
        Outcome::NotFound => not_found(),
        Outcome::Invalid(why) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(page(
                "Cannot be paid",
                &format!(
                    r#"<h1>This checkout session cannot be paid</h1><p id="status">{}</p>"#,
                    escape(&why)
                ),
            )),
        )
            .into_response(),
        Outcome::Conflict(session) => (
            StatusCode::CONFLICT,
            Html(page(
                "Cannot be paid",
                &format!(
                    r#"<h1>This checkout session cannot be paid</h1><p id="status">It is <strong>{}</strong>.</p>"#,
                    escape(session.status.as_str())
                ),
            )),
        )
            .into_response(),
        Outcome::Done { session, .. } => {
            // Assumption: each button answers 303 to the session's URL for its
            // outcome exactly as given, with no query parameters added, or to
            // a page of the sandbox's own when the session has none;
            // undocumented by the provider, which says only that a paid
            // customer returns to the success URL.
            let target = match action {
                Action::Pay => session.success_url.clone(),
                Action::Cancel => session.cancel_url.clone(),
                _ => session.failure_url.clone(),
            };
            let target = target.unwrap_or_else(|| format!("/payment-link/{}/done", session.id));
            // No panic: axum answers 500 for a Location that is not a valid
            // header value (the URLs were parsed and re-serialised when the
            // session was created, so they always are).
            Redirect::to(&target).into_response()
        }
    }
}

/// `GET /payment-link/{id}/done`: where the buttons lead when the session has no URL for the outcome.
///
/// Assumption: the hosted page offers pay, cancel and a simulated failure, and
/// ends on a page of its own when the session has no redirect URL; the
/// provider's real page (a wallet payment) is not documented.
pub(crate) async fn done(PageSession(session): PageSession) -> Response {
    let message = match session.status {
        SessionStatus::Success => "Payment received. You can close this page.",
        SessionStatus::Open => "Checkout cancelled. You can close this page.",
        SessionStatus::Failure => "The payment failed.",
        _ => "This checkout session has ended.",
    };
    Html(page(
        session.paylink.name(),
        &format!(
            r#"<h1>{}</h1><p id="status">{message}</p>"#,
            escape(session.paylink.name())
        ),
    ))
    .into_response()
}
