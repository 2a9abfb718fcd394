//! What a test or script does to a running sandbox, shared by
//! [`Sandbox`](crate::Sandbox)'s methods and the control API: act on a
//! session, wait for the first delivery at each endpoint, resend an event.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::state::{Action, Outcome, State};
use crate::store::SessionRecord;
use crate::{Delivery, EndpointDelivery, Error, SentEvent, WebhookEndpoint, control, delivery};

/// Applies `action` to a session: the session after it and the event it
/// sent. A payment of a paid session is a conflict, as for a script it means
/// it lost track of the session.
pub(crate) fn act(
    state: &Arc<State>,
    id: &str,
    action: Action,
) -> Result<(SessionRecord, Option<SentEvent>), Error> {
    match state.apply(id, action) {
        Outcome::NotFound => Err(Error::NotFound(format!(
            "checkout session {id:?} was not found"
        ))),
        Outcome::Conflict(session) => Err(Error::Conflict(format!(
            "checkout session {id:?} is {} and cannot be changed that way",
            session.status
        ))),
        Outcome::Invalid(why) => Err(Error::Refused(why)),
        Outcome::Done {
            session,
            paid_now: false,
            ..
        } if action == Action::Pay => Err(Error::Conflict(format!(
            "checkout session {id:?} is already paid ({}); nothing was done",
            session.status
        ))),
        Outcome::Done { session, event, .. } => Ok((session, event)),
    }
}

/// How each endpoint of `event` has fared so far: one entry per endpoint,
/// with no attempt yet as `attempts: 0`.
fn so_far(state: &State, event: &SentEvent) -> Vec<EndpointDelivery> {
    let records = state.store.deliveries_of(&event.id);
    let summaries = Delivery::summarise(&records);
    event
        .endpoints
        .iter()
        .map(|url| match summaries.iter().find(|d| &d.url == url) {
            Some(d) => EndpointDelivery {
                url: url.clone(),
                delivered: d.delivered,
                status: d.last_status,
                attempts: d.attempts,
                error: if d.delivered {
                    None
                } else {
                    d.last_error.clone()
                },
            },
            None => EndpointDelivery {
                url: url.clone(),
                delivered: false,
                status: None,
                attempts: 0,
                error: None,
            },
        })
        .collect()
}

/// Waits until every endpoint of `event` has had its first attempt, or
/// `within` has passed: how each fared by then. An endpoint with no attempt
/// in time has `attempts: 0` and says so in `error`.
pub(crate) async fn first_deliveries(
    state: &State,
    event: &SentEvent,
    within: Duration,
) -> Vec<EndpointDelivery> {
    let deadline = Instant::now().checked_add(within);
    loop {
        // Registered before the log is read, so that no attempt recorded in
        // between is missed.
        let notified = state.delivered.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let report = so_far(state, event);
        let done = report.iter().all(|d| d.attempts > 0);
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if done || timed_out {
            return report
                .into_iter()
                .map(|mut d| {
                    if d.attempts == 0 && d.error.is_none() {
                        d.error = Some(format!("no attempt within {} ms", within.as_millis()));
                    }
                    d
                })
                .collect();
        }
        match deadline {
            Some(deadline) => {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
            None => notified.await,
        }
    }
}

/// The endpoint a resend `to` a URL goes to: signed with the secret of the
/// configured endpoint with that URL, else of the first one.
pub(crate) fn endpoint_for(state: &State, url: &str) -> Result<WebhookEndpoint, Error> {
    let endpoints = state.endpoints();
    let secret = endpoints
        .iter()
        .find(|e| e.url == url)
        .or_else(|| endpoints.first())
        .map(|e| e.secret.clone())
        .ok_or_else(|| {
            Error::Conflict(
                "the sandbox has no webhook endpoint, so no secret to sign with; \
                 start it with a webhook endpoint (actalink sandbox --webhook-url URL --webhook-secret S)"
                    .into(),
            )
        })?;
    let endpoint = WebhookEndpoint::new(url, secret);
    control::check_endpoint(&endpoint).map_err(Error::Refused)?;
    Ok(endpoint)
}

/// Sends event `id` again, freshly signed: to `to`, or to every endpoint.
pub(crate) async fn resend(
    state: &Arc<State>,
    id: &str,
    to: Option<WebhookEndpoint>,
) -> Result<(SentEvent, Vec<EndpointDelivery>), Error> {
    let event = state.store.event(id).ok_or_else(|| {
        Error::NotFound(format!(
            "event {id:?} was not found (the sandbox keeps the last {} events)",
            crate::limits::MAX_EVENTS
        ))
    })?;
    let endpoints = match to {
        Some(endpoint) => {
            control::check_endpoint(&endpoint).map_err(Error::Refused)?;
            vec![endpoint]
        }
        None => state.endpoints(),
    };
    if endpoints.is_empty() {
        return Err(Error::Conflict(
            "the sandbox has no webhook endpoint to resend to; give a URL to send to".into(),
        ));
    }
    let sent = SentEvent {
        id: event.id.clone(),
        event_type: event.event_type.clone(),
        endpoints: endpoints
            .iter()
            .map(WebhookEndpoint::redacted_url)
            .collect(),
    };
    let deliveries = delivery::resend(state, &event, &endpoints).await;
    Ok((sent, deliveries))
}
