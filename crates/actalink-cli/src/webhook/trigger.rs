//! `actalink webhook trigger`: a realistic event, signed and sent to a handler.

use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_transport::{Request, ReqwestTransport, Transport};
use actalink_types::Metadata;
use actalink_webhooks::sign;
use http::{HeaderValue, Method, header};
use serde::Serialize;

use super::{now_ms, secret};
use crate::{Failure, Globals, Outcome, Secret, output};

/// The USDC contract the provider's examples name (Polygon).
const USDC_ADDRESS: &str = "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359";
/// 150000 base units: 0.15 USDC, the amount of the provider's subscription examples.
const AMOUNT: &str = "0x249f0";
/// How much of a handler's answer human output shows.
const MAX_BODY_CHARS: usize = 2000;

/// A triggered event, serialised from these structs in the provider's field
/// order (a `serde_json::Value` would sort the keys; metadata keeps its order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TriggeredEvent {
    id: String,
    event_type: String,
    event_data: TriggeredData,
}

#[derive(Serialize)]
struct TriggeredData {
    data: TriggeredSubject,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TriggeredSubject {
    id: String,
    token: TriggeredToken,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkout_session_id: Option<String>,
}

#[derive(Serialize)]
struct TriggeredToken {
    name: &'static str,
    amount: &'static str,
    symbol: &'static str,
    address: &'static str,
}

/// `prefix_` and 32 alphanumerics, the provider's id form.
fn random_id(prefix: &str) -> String {
    let mut id = format!("{prefix}_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(32));
    id
}

/// A random version-4 UUID, the form of the provider's subscription event ids.
fn random_uuid() -> String {
    let hex = |n: usize| {
        std::iter::repeat_with(|| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
            .take(n)
            .collect::<String>()
    };
    let variant = ['8', '9', 'a', 'b'][fastrand::usize(0..4)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        hex(8),
        hex(4),
        hex(3),
        hex(3),
        hex(12)
    )
}

/// The event `trigger` sends. Subscription events get a UUID and a `sub_`
/// subject, as in the provider's examples; others an `event_` id and a
/// `txn_` subject, as in its one-time example.
fn event(event_type: &str, metadata: Option<Metadata>, session: Option<String>) -> TriggeredEvent {
    let subscription = event_type.starts_with("subscription.");
    TriggeredEvent {
        id: if subscription {
            random_uuid()
        } else {
            random_id("event")
        },
        event_type: event_type.to_owned(),
        event_data: TriggeredData {
            data: TriggeredSubject {
                id: random_id(if subscription { "sub" } else { "txn" }),
                token: TriggeredToken {
                    name: "USD Coin",
                    amount: AMOUNT,
                    symbol: "USDC",
                    address: USDC_ADDRESS,
                },
                metadata,
                checkout_session_id: session,
            },
        },
    }
}

/// Checks everything `trigger` is given, before any request.
fn trigger_input(
    event_type: &str,
    to: &str,
    pairs: &[String],
    session: Option<&str>,
) -> Result<(Option<Metadata>, Option<String>), Failure> {
    if event_type.is_empty()
        || event_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Failure::input(format!(
            "the event type {event_type:?} must be a name such as onetime.executed, without spaces"
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
        .map(|id| {
            CheckoutSessionId::new(id)
                .map(|id| id.to_string())
                .map_err(|e| Failure::input(e.to_string()))
        })
        .transpose()?;
    Ok(((!metadata.is_empty()).then_some(metadata), session))
}

pub(super) async fn trigger(
    globals: &Globals,
    event_type: &str,
    to: &str,
    key: Option<Secret>,
    pairs: &[String],
    session: Option<&str>,
) -> Outcome {
    let (metadata, session) = trigger_input(event_type, to, pairs, session)?;
    let key = secret(key)?;
    let event = event(event_type, metadata, session);
    let body = serde_json::to_string(&event)
        .map_err(|e| Failure::failed("encode", format!("could not encode the event: {e}")))?;
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
    let transport = ReqwestTransport::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent("actalink-cli")
        .build()
        .map_err(|e| Failure::failed("transport", e.to_string()))?;
    let response = transport.send(request).await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timeout"
        } else {
            "transport"
        };
        Failure::failed(kind, format!("could not deliver the event to {at}: {e}"))
    })?;
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
            ("event", event.id.clone()),
            ("type", event.event_type.clone()),
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
                event.event_type,
                event.id
            ),
        )
        .with_status(status.as_u16()))
    }
}
