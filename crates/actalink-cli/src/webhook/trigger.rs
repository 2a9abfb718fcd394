//! `actalink webhook trigger`: a realistic event, signed and sent to a handler.

use actalink_checkout::CheckoutSessionId;
use actalink_sandbox::PaymentEvent;
use actalink_transport::{Request, Transport};
use actalink_types::Metadata;
use actalink_webhooks::{EventType, sign};
use http::{HeaderValue, Method, header};

use super::{now_ms, secret};
use crate::{Failure, Globals, Outcome, Secret, output};

/// How much of a handler's answer human output shows.
const MAX_BODY_CHARS: usize = 2000;

/// The event types this version knows, in the order help lists them.
const KNOWN: [EventType; 3] = [
    EventType::OnetimeExecuted,
    EventType::SubscriptionBillingDue,
    EventType::SubscriptionBillingScheduled,
];

/// The known types, for messages: `onetime.executed, subscription.billing.due, …`.
fn known_types() -> String {
    KNOWN
        .iter()
        .map(EventType::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `trigger` is given, checked before any request.
struct Checked {
    event_type: EventType,
    /// The `--metadata` pairs, checked as the SDK checks metadata (non-empty
    /// keys, at most 50), a repeated key's last value in its first place.
    metadata: Metadata,
    session: Option<CheckoutSessionId>,
}

/// Checks everything `trigger` is given, before any request: an event type
/// this version knows (or `--allow-unknown`), an http(s) URL, metadata
/// pairs and a session id.
fn trigger_input(
    event_type: &str,
    allow_unknown: bool,
    to: &str,
    pairs: &[String],
    session: Option<&str>,
) -> Result<Checked, Failure> {
    if event_type.is_empty()
        || event_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Failure::input(format!(
            "the event type {event_type:?} must be a name such as onetime.executed, without spaces"
        )));
    }
    let parsed = EventType::from_wire(event_type);
    if !parsed.is_known() && !allow_unknown {
        return Err(Failure::input(format!(
            "unknown event type {event_type:?}: the known types are {}; pass --allow-unknown to send it anyway",
            known_types()
        )));
    }
    output::http_url("--to", to).map_err(Failure::input)?;
    let mut metadata = Metadata::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Failure::input(format!("metadata {pair:?} is not KEY=VALUE")))?;
        metadata
            .insert(key, value)
            .map_err(|e| Failure::input(e.to_string()))?;
    }
    let session = session
        .map(|id| CheckoutSessionId::new(id).map_err(|e| Failure::input(e.to_string())))
        .transpose()?;
    Ok(Checked {
        event_type: parsed,
        metadata,
        session,
    })
}

/// The event to send: built by the sandbox's own code, from the live
/// session when one is given, so that it is exactly what the sandbox sends
/// for it (fresh ids aside); the `--metadata` pairs added or replaced.
async fn build(globals: &Globals, checked: Checked) -> Result<PaymentEvent, Failure> {
    let mut event = match &checked.session {
        Some(id) => {
            let client = crate::session::client(globals)?;
            let target = crate::session::target(globals);
            let session = client
                .get_session(id)
                .await
                .map_err(|e| Failure::api(&e, &target))?;
            PaymentEvent::for_session(&session)
                .map_err(|e| Failure::failed("decode", format!("{e} (request to {target})")))?
                .with_event_type(checked.event_type)
        }
        None => PaymentEvent::sample(checked.event_type, None),
    };
    for (key, value) in &checked.metadata {
        event = event
            .with_metadata(key, value)
            .map_err(|e| Failure::input(e.to_string()))?;
    }
    Ok(event)
}

pub(super) async fn trigger(
    globals: &Globals,
    event_type: &str,
    allow_unknown: bool,
    to: &str,
    key: Option<Secret>,
    pairs: &[String],
    session: Option<&str>,
) -> Outcome {
    let checked = trigger_input(event_type, allow_unknown, to, pairs, session)?;
    let key = secret(key)?;
    let event = build(globals, checked).await?;
    let body = event.to_json();
    let signed = sign(body.as_bytes(), &key.expose().into(), now_ms())
        .map_err(|e| Failure::failed("sign_failed", e.to_string()))?;
    let mut request = Request::new(Method::POST, to)
        .with_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .with_body(body.clone());
    for (name, value) in &signed.to_header_map() {
        request.headers.insert(name.clone(), value.clone());
    }
    let shown = output::redact_url(to);
    let at = output::host_port(to).unwrap_or_else(|| shown.clone());
    let response = output::http_transport()?
        .send(request)
        .await
        .map_err(|e| Failure::unreached(&e, format!("could not deliver the event to {at}: {e}")))?;
    let status = response.status;
    let answer = String::from_utf8_lossy(&response.body).into_owned();
    if globals.json {
        let text = serde_json::to_string(&answer)
            .map_err(|e| Failure::failed("encode", format!("could not print JSON: {e}")))?;
        // The event verbatim, as sent and signed.
        outln!(
            "{{\"status\":{},\"body\":{text},\"event\":{body}}}",
            status.as_u16()
        );
    } else {
        // A trailing newline is how most handlers end a text body, not content.
        let trimmed = answer.trim_end();
        let mut shown_body: String = trimmed.chars().take(MAX_BODY_CHARS).collect();
        if shown_body.len() < trimmed.len() {
            shown_body.push_str(&format!(" … ({} bytes in all)", response.body.len()));
        }
        output::print_rows(&[
            ("event", event.id().to_owned()),
            ("type", event.event_type().to_string()),
            ("sent to", shown.clone()),
            (
                "status",
                format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim_end()
                .to_owned(),
            ),
            ("body", shown_body),
        ]);
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::failed(
            "handler_refused",
            format!(
                "the handler at {shown} answered HTTP {} to {} {}: the event was not accepted",
                status.as_u16(),
                event.event_type(),
                event.id()
            ),
        )
        .with_status(status.as_u16()))
    }
}
