//! What a running sandbox does, as it happens, for whoever watches it: each
//! request it answers, each webhook delivery attempt, each endpoint it gives
//! up on. [`SandboxBuilder::on_activity`](crate::SandboxBuilder::on_activity)
//! registers the callback; `actalink sandbox` prints one line per
//! [`Activity`].
//!
//! Webhook URLs in an [`Activity`] never carry credentials: a URL's
//! `user:password@` is shown as `***@` (see
//! [`WebhookEndpoint::redacted_url`](crate::WebhookEndpoint::redacted_url)).

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actalink_types::CheckoutSessionId;
use actalink_webhooks::EventType;
use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::State;

/// One thing a running sandbox did. New kinds may be added: match with a
/// wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Activity {
    /// The sandbox answered an HTTP request: the API, the hosted page or the
    /// control API.
    Request(RequestServed),
    /// One attempt to deliver a webhook event to one endpoint.
    Attempt(DeliveryAttempt),
    /// The sandbox stopped trying to deliver an event to an endpoint: every
    /// attempt failed, or none could be made.
    GaveUp(GaveUp),
}

/// An HTTP request the sandbox answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestServed {
    /// The method, such as `POST`.
    pub method: String,
    /// The path as requested, with its query string if it had one
    /// (`/billing/api/v1/paysession/status?checkoutSessionId=…`). The API
    /// key travels in a header, never here.
    pub path: String,
    /// The status answered (an injected fault's, when one applied).
    pub status: u16,
    /// The time until the response's headers were ready.
    pub duration: Duration,
}

/// One attempt to deliver a webhook event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// The event's id (`event_…`).
    pub event_id: String,
    /// The event's type, such as `onetime.executed`.
    pub event_type: EventType,
    /// The session the event is about.
    pub session_id: CheckoutSessionId,
    /// The endpoint, without credentials.
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The most attempts this endpoint gets for this event
    /// ([`SandboxBuilder::delivery`](crate::SandboxBuilder::delivery)).
    pub max_attempts: u32,
    /// The endpoint's status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed, when it did: `HTTP 500` for an answer that is
    /// not 2xx, else the transport's one-sentence error (`could not connect
    /// to 127.0.0.1:3000`), which names no path and no credentials.
    pub error: Option<String>,
    /// True when the endpoint answered 2xx.
    pub delivered: bool,
    /// How long the attempt took.
    pub duration: Duration,
}

/// The sandbox gave up delivering an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GaveUp {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// The session the event is about.
    pub session_id: CheckoutSessionId,
    /// The endpoint, without credentials.
    pub url: String,
    /// The attempts made: 0 when none could be made because
    /// [`MAX_PENDING_DELIVERIES`](crate::limits::MAX_PENDING_DELIVERIES)
    /// deliveries were already in flight.
    pub attempts: u32,
    /// The last attempt's failure (or why none was made).
    pub error: Option<String>,
}

/// The callback of [`SandboxBuilder::on_activity`](crate::SandboxBuilder::on_activity).
pub(crate) type Observer = Arc<dyn Fn(&Activity) + Send + Sync>;

impl State {
    /// Tells the observer, if there is one. A panicking observer is
    /// contained: it cannot break a request or a delivery.
    pub(crate) fn notify(&self, activity: impl FnOnce() -> Activity) {
        if let Some(observer) = &self.observer {
            let activity = activity();
            if catch_unwind(AssertUnwindSafe(|| observer(&activity))).is_err() {
                tracing::warn!("the sandbox's activity observer panicked");
            }
        }
    }
}

/// The outermost middleware: reports each request answered, when someone watches.
pub(crate) async fn observe(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    if state.observer.is_none() {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let response = next.run(request).await;
    state.notify(|| {
        Activity::Request(RequestServed {
            method,
            path,
            status: response.status().as_u16(),
            duration: started.elapsed(),
        })
    });
    response
}

/// `url` without the credentials of its authority: `http://user:pw@host/x`
/// is `http://***@host/x`; a URL without credentials is returned unchanged.
///
/// The authority ends at the first `/`, `\`, `?` or `#` after `scheme://` and
/// its credentials at its last `@`, as a WHATWG URL parser reads an http(s)
/// URL. When the authority is no `host[:port]` (a URL no parser accepts, such
/// as `http://user:pa/ss@host/`), everything up to its last `@` is redacted
/// instead, so that no part of a password shows.
pub(crate) fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else {
        return Cow::Borrowed(url);
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = match authority.rfind('@') {
        Some(at) => Some(at),
        None if !plausible_host(authority) => rest.rfind('@'),
        None => None,
    };
    match at {
        Some(at) => Cow::Owned(format!("{}***{}", &url[..start], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

/// True for `host`, `host:digits` and `[v6]` or `[v6]:digits`.
fn plausible_host(authority: &str) -> bool {
    let port = if let Some(inside) = authority.strip_prefix('[') {
        match inside.split_once(']') {
            Some((_, after)) => after,
            None => return false,
        }
    } else {
        authority.split_once(':').map_or("", |(_, port)| port)
    };
    let port = port.strip_prefix(':').unwrap_or(port);
    port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_are_redacted_and_nothing_else_changes() {
        for (url, shown) in [
            ("http://127.0.0.1:3000/hook", "http://127.0.0.1:3000/hook"),
            (
                "http://user:pw@127.0.0.1:3000/hook?x=1",
                "http://***@127.0.0.1:3000/hook?x=1",
            ),
            ("https://token@hooks.example", "https://***@hooks.example"),
            ("http://a:b@c:d@[::1]:80/", "http://***@[::1]:80/"),
            ("http://user:pa/ss@host/", "http://***@host/"),
            ("http://user:p?w@host/", "http://***@host/"),
            ("http://host:80/?q=@x", "http://host:80/?q=@x"),
            ("http://host/users/@me", "http://host/users/@me"),
            ("http://[::1]/@me", "http://[::1]/@me"),
            ("http://u:p@h\\x@y", "http://***@h\\x@y"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
