//! Driving a running sandbox through its control API: `sandbox pay | cancel |
//! fail | expire ID` (with the deliveries each caused), `sandbox deliveries`
//! and `sandbox resend EVENT_ID`.

use std::time::Duration;

use actalink_checkout::{CheckoutSession, CheckoutSessionId};
use actalink_sandbox::{Delivery, EndpointDelivery, SentEvent};
use actalink_transport::{Request, ReqwestTransport, Transport};
use http::{HeaderValue, Method, header};
use serde::{Deserialize, Serialize};

use crate::failure::kind_of_status;
use crate::{Failure, Globals, Outcome, output};

pub(crate) const DELIVERIES_EXAMPLES: &str = "\
Examples:
  actalink sandbox deliveries --base-url http://127.0.0.1:4010
  actalink --json sandbox deliveries | jq '.[] | select(.delivered | not)'";

pub(crate) const RESEND_EXAMPLES: &str = "\
Examples:
  actalink sandbox resend event_… --base-url http://127.0.0.1:4010
  actalink sandbox resend event_… --to http://127.0.0.1:3001/webhooks/actalink";

/// How long `pay` and the other actions wait for the first attempt at each
/// endpoint.
const FIRST_DELIVERY_WAIT: Duration = Duration::from_secs(10);

/// `sandbox resend` options.
#[derive(Debug, clap::Args)]
pub(crate) struct Resend {
    /// The event id, as `sandbox deliveries` or the serving sandbox's lines show it.
    #[arg(value_name = "EVENT_ID")]
    event_id: String,
    /// Send it to this URL only, signed with the sandbox's secret, instead of to every endpoint.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
}

/// A client of one running sandbox's control API.
struct Control {
    root: String,
    /// The sandbox's origin, for messages.
    target: String,
    transport: ReqwestTransport,
}

#[derive(Deserialize)]
struct Refused {
    message: Option<String>,
}

/// The sandbox's root URL from a base URL in either documented form
/// (`http://host:port` or `http://host:port/billing`).
fn sandbox_root(base_url: &str) -> Result<String, Failure> {
    let parsed = output::http_url("--base-url", base_url.trim()).map_err(|message| {
        Failure::config(format!(
            "{message}; give the URL `actalink sandbox` printed"
        ))
    })?;
    let text = parsed.as_str().trim_end_matches('/');
    let text = text.strip_suffix("/billing").unwrap_or(text);
    Ok(text.trim_end_matches('/').to_owned())
}

/// A path segment, percent-encoded.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Control {
    fn new(globals: &Globals) -> Result<Self, Failure> {
        let base = globals.base_url.as_deref().ok_or_else(|| {
            Failure::config(
                "no sandbox URL: pass --base-url or set ACTALINK_BASE_URL to the URL `actalink sandbox` printed",
            )
        })?;
        let root = sandbox_root(base)?;
        let target = output::origin(&root);
        let transport = output::http_transport()?;
        Ok(Self {
            root,
            target,
            transport,
        })
    }

    /// One request to `/__sandbox/{path}`, decoded as `T`; `what` names the
    /// operation in messages (`pay session checkout_…`).
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        what: &str,
    ) -> Result<T, Failure> {
        let target = &self.target;
        let mut request = Request::new(method, format!("{}/__sandbox/{path}", self.root));
        if let Some(body) = body {
            // The control API takes JSON bodies only (a web page's form cannot drive it).
            request = request
                .with_header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .with_body(body);
        }
        let response = self.transport.send(request).await.map_err(|e| {
            let at = output::host_port(&self.root).unwrap_or_else(|| target.clone());
            Failure::unreached(&e, format!("could not reach the sandbox at {at}: {e}"))
        })?;
        let status = response.status.as_u16();
        if !response.status.is_success() {
            let said = serde_json::from_slice::<Refused>(&response.body)
                .ok()
                .and_then(|r| r.message)
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&response.body)
                        .chars()
                        .take(200)
                        .collect()
                });
            return Err(Failure::failed(
                kind_of_status(status),
                format!("the sandbox at {target} refused to {what}: HTTP {status}: {said}"),
            )
            .with_status(status));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            Failure::failed(
                "decode",
                format!("the sandbox at {target} answered {what} with an unreadable body: {e}"),
            )
            .with_status(status)
        })
    }
}

/// What the control API answers to an action.
#[derive(Deserialize)]
struct Acted {
    data: CheckoutSession,
    #[serde(default)]
    event: Option<SentEvent>,
    #[serde(default)]
    deliveries: Vec<EndpointDelivery>,
}

/// `--json` output of an action: the session, and the deliveries it caused.
#[derive(Serialize)]
struct SessionWithDeliveries<'a> {
    #[serde(flatten)]
    session: &'a CheckoutSession,
    deliveries: Vec<JsonDelivery<'a>>,
}

/// One endpoint's answer, as `--json` prints it: `{url, delivered, status,
/// attempts, error}`.
#[derive(Serialize)]
struct JsonDelivery<'a> {
    url: &'a str,
    delivered: bool,
    status: Option<u16>,
    attempts: u32,
    error: Option<&'a str>,
}

impl<'a> From<&'a EndpointDelivery> for JsonDelivery<'a> {
    fn from(d: &'a EndpointDelivery) -> Self {
        Self {
            url: &d.url,
            delivered: d.delivered,
            status: d.status,
            attempts: d.attempts,
            error: d.error.as_deref(),
        }
    }
}

/// `delivered 200` or `failed: <reason>`.
fn verdict(d: &EndpointDelivery) -> String {
    fate(d.delivered, d.status, d.error.as_deref())
}

/// `delivered 200` (`delivered` without a status) or `failed: <reason>`:
/// the error, else the status, else `no answer`.
fn fate(delivered: bool, status: Option<u16>, error: Option<&str>) -> String {
    match (delivered, status, error) {
        (true, Some(status), _) => format!("delivered {status}"),
        (true, None, _) => "delivered".to_owned(),
        (false, _, Some(error)) => format!("failed: {error}"),
        (false, Some(status), None) => format!("failed: HTTP {status}"),
        (false, None, None) => "failed: no answer".to_owned(),
    }
}

/// The rows for the deliveries an action or a resend caused.
fn delivery_rows(deliveries: &[EndpointDelivery]) -> Vec<(&'static str, String)> {
    deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                if i == 0 { "webhook" } else { "" },
                format!("{}  {}", d.url, verdict(d)),
            )
        })
        .collect()
}

/// `actalink sandbox pay|cancel|fail|expire ID`: one POST to the control
/// API, which waits up to 10 s for the first attempt at each endpoint. The
/// exit status does not depend on the deliveries: the action happened.
pub(crate) async fn act(globals: &Globals, name: &str, id: &str) -> Outcome {
    let id = CheckoutSessionId::new(id).map_err(|e| Failure::input(e.to_string()))?;
    let control = Control::new(globals)?;
    let path = format!("sessions/{}/{name}", segment(id.as_str()));
    let body = format!(r#"{{"waitMs":{}}}"#, FIRST_DELIVERY_WAIT.as_millis());
    let what = format!("{name} session {id}");
    let acted: Acted = control.call(Method::POST, &path, Some(body), &what).await?;
    let session = &acted.data;
    if globals.json {
        return output::print_json(&SessionWithDeliveries {
            session,
            deliveries: acted.deliveries.iter().map(JsonDelivery::from).collect(),
        });
    }
    let mut rows = output::session_rows(session);
    match &acted.event {
        Some(event) if event.endpoints.is_empty() => rows.push((
            "webhook",
            format!(
                "{} {}: no endpoint (start the sandbox with --webhook-url)",
                event.event_type, event.id
            ),
        )),
        Some(event) => {
            rows.push(("event", format!("{} {}", event.event_type, event.id)));
            rows.extend(delivery_rows(&acted.deliveries));
        }
        None => rows.push((
            "webhook",
            format!("none: the sandbox sends no event on {name}"),
        )),
    }
    output::print_rows(&rows);
    if name == "cancel" && session.is_open() {
        errln!(
            "note: the sandbox keeps a cancelled session open, as a customer may come back and pay; \
             `session wait` goes on until it is paid, fails or expires"
        );
    }
    Ok(())
}

#[derive(Deserialize)]
struct Listed {
    data: Vec<Delivery>,
}

/// One row of `sandbox deliveries --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSummary<'a> {
    event_id: &'a str,
    event_type: &'a str,
    url: &'a str,
    attempts: u32,
    delivered: bool,
    last_status: Option<u16>,
}

/// `actalink sandbox deliveries`: every event's deliveries per endpoint.
pub(crate) async fn deliveries(globals: &Globals) -> Outcome {
    let control = Control::new(globals)?;
    let listed: Listed = control
        .call(
            Method::GET,
            "deliveries?per=endpoint",
            None,
            "list its deliveries",
        )
        .await?;
    if globals.json {
        let rows: Vec<JsonSummary<'_>> = listed
            .data
            .iter()
            .map(|d| JsonSummary {
                event_id: &d.event_id,
                event_type: d.event_type.as_str(),
                url: &d.url,
                attempts: d.attempts,
                delivered: d.delivered,
                last_status: d.last_status,
            })
            .collect();
        return output::print_json(&rows);
    }
    if listed.data.is_empty() {
        outln!("no deliveries yet");
        return Ok(());
    }
    let mut text = String::new();
    for d in &listed.data {
        let attempts = match d.attempts {
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        };
        let line = format!(
            "{} {} {}  {} ({attempts})",
            d.event_type,
            d.event_id,
            d.url,
            fate(d.delivered, d.last_status, d.last_error.as_deref())
        );
        text.push_str(&output::escape(&line));
        text.push('\n');
    }
    out!("{text}");
    Ok(())
}

/// What the control API answers to a resend.
#[derive(Deserialize)]
struct Resent {
    event: SentEvent,
    deliveries: Vec<EndpointDelivery>,
}

/// `--json` output of a resend.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonResent<'a> {
    event_id: &'a str,
    event_type: &'a str,
    deliveries: Vec<JsonDelivery<'a>>,
}

/// `actalink sandbox resend EVENT_ID [--to URL]`: exit 0 when every
/// receiver answered 2xx.
pub(crate) async fn resend(globals: &Globals, args: &Resend) -> Outcome {
    let event_id = args.event_id.trim();
    if event_id.is_empty()
        || event_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Failure::input(format!(
            "{:?} is not an event id, such as event_…",
            output::escape(&args.event_id)
        )));
    }
    let body = match &args.to {
        Some(to) => {
            output::http_url("--to", to).map_err(Failure::input)?;
            serde_json::json!({ "to": to }).to_string()
        }
        None => "{}".to_owned(),
    };
    let control = Control::new(globals)?;
    let path = format!("events/{}/resend", segment(event_id));
    let what = format!("resend event {event_id}");
    let resent: Resent = control.call(Method::POST, &path, Some(body), &what).await?;
    if globals.json {
        output::print_json(&JsonResent {
            event_id: &resent.event.id,
            event_type: resent.event.event_type.as_str(),
            deliveries: resent.deliveries.iter().map(JsonDelivery::from).collect(),
        })?;
    } else {
        let mut rows = vec![(
            "event",
            format!("{} {}", resent.event.event_type, resent.event.id),
        )];
        rows.extend(delivery_rows(&resent.deliveries));
        output::print_rows(&rows);
    }
    let failed: Vec<String> = resent
        .deliveries
        .iter()
        .filter(|d| !d.delivered)
        .map(|d| format!("{} ({})", d.url, verdict(d)))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let status = resent
        .deliveries
        .iter()
        .find(|d| !d.delivered)
        .and_then(|d| d.status);
    let failure = Failure::failed(
        "delivery_failed",
        format!(
            "{} of {} receivers did not accept event {}: {}",
            failed.len(),
            resent.deliveries.len(),
            resent.event.id,
            failed.join(", ")
        ),
    );
    Err(match status {
        Some(status) => failure.with_status(status),
        None => failure,
    })
}
