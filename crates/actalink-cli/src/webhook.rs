//! `actalink webhook verify | sign | trigger`; `trigger` is in `webhook/trigger.rs`.

mod trigger;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actalink_webhooks::{Error, Event, EventType, Verifier, sign};
use tokio::io::AsyncReadExt;

use crate::{Failure, Globals, Outcome, Secret, duration, output};

pub(crate) const EXAMPLES: &str = "\
Examples:
  export ACTALINK_WEBHOOK_SECRET=whsec_dev
  actalink webhook trigger onetime.executed --to http://127.0.0.1:3000/webhooks/actalink --metadata internal_order_id=ORD-1
  actalink webhook sign body.json
  actalink webhook verify --timestamp 1756481736348 --signature 3f2a… body.json";

const VERIFY_EXAMPLES: &str = "\
Examples:
  ACTALINK_WEBHOOK_SECRET=whsec_dev actalink webhook verify --timestamp \"$TS\" --signature \"$SIG\" body.json
  cat body.json | actalink --json webhook verify --timestamp \"$TS\" --signature \"$SIG\" | jq .recognised";

const SIGN_EXAMPLES: &str = "\
Examples:
  ACTALINK_WEBHOOK_SECRET=whsec_dev actalink webhook sign body.json
  actalink webhook sign body.json | curl -H @- -H 'content-type: application/json' --data-binary @body.json http://127.0.0.1:3000/webhooks/actalink
  echo '{\"id\":\"evt_1\",\"eventType\":\"onetime.executed\"}' | actalink --json webhook sign --timestamp 1756481736348";

const TRIGGER_EXAMPLES: &str = "\
Examples:
  export ACTALINK_WEBHOOK_SECRET=whsec_dev
  actalink webhook trigger onetime.executed --to http://127.0.0.1:3000/webhooks/actalink
  actalink webhook trigger subscription.billing.due --to http://127.0.0.1:3000/webhooks/actalink --metadata user_uuid=u_42
  actalink webhook trigger onetime.executed --to http://127.0.0.1:3000/webhooks/actalink --session checkout_… --base-url http://127.0.0.1:4010 --api-key sk_sandbox_0000000000000000000000000000000000
  actalink --json webhook trigger invoice.created --allow-unknown --to http://127.0.0.1:3000/webhooks/actalink | jq .status";

/// Webhook commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Verify a webhook body against its headers, and say whether it is an event this version recognises.
    ///
    /// Exits 0 for every genuine signature, whatever the body's shape; whether
    /// the body is a recognised event (an id and a known event type) is
    /// reported separately. Exits 1 with the reason when verification fails
    /// (forged, outside the tolerance, not JSON), and 2 for bad input (an
    /// unreadable file, no secret).
    ///
    /// With --json, prints one JSON object:
    /// {"valid": true, "recognised": true|false, "id": "…"|null,
    /// "eventType": "…"|null, "dedupKey": "…", "event": <the payload as signed>}.
    /// dedupKey is the event id, or "sha256:" and the hash of the signed
    /// payload when it has none.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify {
        /// The webhook secret (the environment keeps it out of the process list).
        #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        /// The `x-actalink-timestamp` header.
        #[arg(long)]
        timestamp: String,
        /// The `x-actalink-signature` header.
        #[arg(long)]
        signature: String,
        /// How far the timestamp may be from now (90s, 5m, 1h30m, or seconds).
        #[arg(long, value_name = "DUR", default_value = "5m")]
        tolerance: String,
        /// The raw body: a file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Sign a body as Actalink does and print the two headers.
    ///
    /// Prints them as HTTP header lines, `x-actalink-timestamp: …` and
    /// `x-actalink-signature: …`, which curl reads with `-H @-` (from a
    /// pipe) or `-H @FILE`. With --json, prints {"timestamp": "…",
    /// "signature": "…"}.
    #[command(after_help = SIGN_EXAMPLES)]
    Sign {
        /// The webhook secret (the environment keeps it out of the process list).
        #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        /// The timestamp in Unix milliseconds, 1 to 18 digits as `webhook verify` accepts (now when not given).
        #[arg(long)]
        timestamp: Option<String>,
        /// The body: a file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Send a realistic, signed event to a webhook handler, as Actalink would.
    ///
    /// The event is built by the sandbox's own code: a fresh id (event_…),
    /// the event type given (onetime.executed, subscription.billing.due or
    /// subscription.billing.scheduled; another name exits 2 unless
    /// --allow-unknown), and in eventData.data a fresh subject id and a
    /// token. With --session, the session is fetched from --base-url (with
    /// the API key) and the event carries what the sandbox's own delivery
    /// for it carries: checkoutSessionId, orderId, paylinkId, status,
    /// metadata, and its price as token.amount. Without, 0.15 USDC (amount
    /// 0x249f0). --metadata pairs are added (or replace the session's). It
    /// is POSTed as application/json with x-actalink-timestamp and
    /// x-actalink-signature signed as the provider signs them.
    ///
    /// Prints the handler's status and body. Exits 0 when it answers 2xx, 1
    /// when it answers anything else or cannot be reached, 2 for bad input.
    /// With --json, prints {"status": N, "body": "…", "event": {…}}.
    #[command(after_help = TRIGGER_EXAMPLES)]
    Trigger {
        /// The event type, such as onetime.executed.
        #[arg(value_name = "EVENT_TYPE")]
        event_type: String,
        /// The handler's URL.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The webhook secret the handler verifies with.
        #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        /// A metadata pair for eventData.data.metadata; repeat for more (at most 50 keys).
        #[arg(long = "metadata", value_name = "KEY=VALUE")]
        metadata: Vec<String>,
        /// Build the event from this live session, fetched from --base-url.
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Send an event type this version does not know.
        #[arg(long)]
        allow_unknown: bool,
    },
}

/// The secret from `--secret` or the environment; exit 2 without one.
fn secret(secret: Option<Secret>) -> Result<Secret, Failure> {
    secret.filter(|s| !s.expose().is_empty()).ok_or_else(|| {
        Failure::config("no webhook secret: set ACTALINK_WEBHOOK_SECRET (or pass --secret)")
    })
}

/// The widest `--tolerance`: 10^15 s, within which lies every timestamp of
/// at most 18 digits of milliseconds, so that any stored event can be
/// replayed.
const MAX_TOLERANCE: Duration = Duration::from_secs(1_000_000_000_000_000);

/// The largest body `verify` and `sign` read: the verifier's own cap (1 MiB).
const MAX_BODY_BYTES: usize = Verifier::DEFAULT_MAX_BODY_BYTES;

/// Reads the body from a file or `-` (stdin), at most [`MAX_BODY_BYTES`]:
/// one byte more is read to tell that it is larger, and nothing beyond, so
/// that neither 50 MB on stdin nor `/dev/zero` is ever buffered whole.
async fn read_body(file: &PathBuf) -> Result<Vec<u8>, Failure> {
    let (result, name) = if file.as_os_str() == "-" {
        (
            read_at_most(tokio::io::stdin(), MAX_BODY_BYTES).await,
            "stdin".to_owned(),
        )
    } else {
        let name = file.display().to_string();
        let opened = tokio::fs::File::open(file)
            .await
            .map_err(|e| Failure::input(format!("could not read {name}: {e}")))?;
        (read_at_most(opened, MAX_BODY_BYTES).await, name)
    };
    match result {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(Failure::input(format!(
            "{name} holds more than {MAX_BODY_BYTES} bytes (1 MiB), the most a webhook body may be"
        ))),
        Err(e) => Err(Failure::input(format!("could not read {name}: {e}"))),
    }
}

/// Reads at most `limit` bytes from `reader`: `None` when there is more.
async fn read_at_most(
    reader: impl tokio::io::AsyncRead + Unpin,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut body).await?;
    Ok((body.len() <= limit).then_some(body))
}

/// Why a genuine body is not a recognised event, or `None` when it is one.
fn unrecognised_because(event: &Event) -> Option<String> {
    if event.is_recognised() {
        return None;
    }
    Some(if !event.raw_json().starts_with('{') {
        "the body is not a JSON object".to_owned()
    } else if event.id.as_deref().is_none_or(str::is_empty) {
        "it has no id".to_owned()
    } else {
        match &event.event_type {
            None => "it has no eventType".to_owned(),
            Some(t) => format!("the event type {:?} is unknown to this version", t.as_str()),
        }
    })
}

/// The `--json` report of a verified body (see the command's help).
fn json_report(event: &Event) -> Result<String, Failure> {
    let text = |value: Option<&str>| {
        serde_json::to_string(&value)
            .map_err(|e| Failure::failed("encode", format!("could not print JSON: {e}")))
    };
    Ok(format!(
        "{{\"valid\":true,\"recognised\":{},\"id\":{},\"eventType\":{},\"dedupKey\":{},\"event\":{}}}",
        event.is_recognised(),
        text(event.id.as_deref())?,
        text(event.event_type.as_ref().map(EventType::as_str))?,
        text(Some(&event.dedup_key()))?,
        // The payload as signed, verbatim: it is JSON (JavaScript's serialisation).
        event.raw_json(),
    ))
}

fn human_report(event: &Event) -> Vec<(&'static str, String)> {
    let mut rows = vec![("valid", "yes".to_owned())];
    rows.push((
        "recognised",
        match unrecognised_because(event) {
            None => "yes".to_owned(),
            Some(why) => format!("no ({why})"),
        },
    ));
    if let Some(id) = &event.id {
        rows.push(("event", id.clone()));
    }
    if let Some(event_type) = &event.event_type {
        rows.push(("type", event_type.to_string()));
    }
    if let Some(subject) = &event.data.id {
        rows.push(("subject", subject.clone()));
    }
    if let Some(metadata) = &event.data.metadata {
        let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(("metadata", pairs.join(", ")));
    }
    rows.push(("dedup key", event.dedup_key()));
    rows
}

pub(crate) async fn run(globals: &Globals, command: Command) -> Outcome {
    match command {
        Command::Verify {
            secret: key,
            timestamp,
            signature,
            tolerance,
            file,
        } => {
            let tolerance = duration::flag("tolerance", &tolerance, Duration::ZERO, MAX_TOLERANCE)?;
            let key = secret(key)?;
            let body = read_body(&file).await?;
            let verifier = Verifier::new(key.expose()).with_tolerance(tolerance);
            let timestamp = timestamp.trim();
            let event = verifier
                .verify_parts(&body, timestamp, &signature)
                .map_err(|e| {
                    let hint = verify_hint(&e, timestamp);
                    Failure::failed(
                        "verification_failed",
                        format!("verification failed: {e}{hint}"),
                    )
                })?;
            if globals.json {
                outln!("{}", json_report(&event)?);
            } else {
                output::print_rows(&human_report(&event));
            }
            Ok(())
        }
        Command::Sign {
            secret: key,
            timestamp,
            file,
        } => {
            let timestamp = timestamp.as_deref().map(sign_timestamp).transpose()?;
            let key = secret(key)?;
            let body = read_body(&file).await?;
            if let Some(t) = timestamp
                && !globals.json
                && let Some(hint) = seconds_hint(t)
            {
                errln!("note: {hint}");
            }
            let timestamp = timestamp.unwrap_or_else(now_ms);
            let signed = sign(&body, &key.expose().into(), timestamp).map_err(|e| match e {
                Error::BodyNotJson(_) | Error::TooDeep { .. } | Error::BodyTooLarge { .. } => {
                    Failure::input(e.to_string())
                }
                other => Failure::failed("sign_failed", other.to_string()),
            })?;
            if globals.json {
                outln!(
                    "{}",
                    serde_json::json!({ "timestamp": signed.timestamp, "signature": signed.signature })
                );
            } else {
                // Header lines exactly, for `curl -H @-`: hex and digits need no escaping.
                outln!("x-actalink-timestamp: {}", signed.timestamp);
                outln!("x-actalink-signature: {}", signed.signature);
            }
            Ok(())
        }
        Command::Trigger {
            event_type,
            to,
            secret: key,
            metadata,
            session,
            allow_unknown,
        } => {
            trigger::trigger(
                globals,
                &event_type,
                allow_unknown,
                &to,
                key,
                &metadata,
                session.as_deref(),
            )
            .await
        }
    }
}

/// The most digits of a timestamp `webhook verify` (the SDK's verifier) accepts.
const MAX_TIMESTAMP_DIGITS: usize = 18;

/// `--timestamp` for `sign`: Unix milliseconds, 1 to 18 ASCII digits, the
/// timestamps `webhook verify` accepts, so that nothing is signed that can
/// never be verified.
fn sign_timestamp(text: &str) -> Result<i64, Failure> {
    let digits = text.trim();
    let valid = !digits.is_empty()
        && digits.len() <= MAX_TIMESTAMP_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit());
    match digits.parse::<i64>() {
        Ok(t) if valid => Ok(t),
        _ => Err(Failure::input(format!(
            "--timestamp {:?} is not a timestamp `webhook verify` accepts: Unix milliseconds, 1 to {MAX_TIMESTAMP_DIGITS} digits (now is {})",
            output::escape(text),
            now_ms()
        ))),
    }
}

/// Ten years, in milliseconds: how near now a timestamp read as seconds
/// must be to look like seconds.
const DECADE_MS: i64 = 10 * 365 * 24 * 3600 * 1000;

/// A hint when `timestamp` (read as milliseconds) looks like Unix seconds:
/// taken as seconds it is within ten years of now.
fn seconds_hint(timestamp: i64) -> Option<String> {
    let as_ms = timestamp.checked_mul(1000)?;
    let now = now_ms();
    (timestamp > 0 && (as_ms - now).abs() < DECADE_MS).then(|| {
        format!(
            "the timestamp {timestamp} looks like seconds; x-actalink-timestamp is in milliseconds ({as_ms}?)"
        )
    })
}

/// What to add to a verification failure to say what to check.
fn verify_hint(error: &Error, timestamp: &str) -> String {
    match error {
        Error::TimestampOutsideTolerance { .. } => timestamp
            .parse::<i64>()
            .ok()
            .and_then(seconds_hint)
            .map_or_else(
                || " (an older capture needs a wider --tolerance, such as --tolerance 1d)".to_owned(),
                |hint| format!(" ({hint})"),
            ),
        Error::MalformedTimestamp { .. } => timestamp
            .parse::<i64>()
            .ok()
            .and_then(seconds_hint)
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default(),
        Error::SignatureMismatch => " (check the secret: it must be the one the sender signs with, given as --secret or ACTALINK_WEBHOOK_SECRET; and the body must be exactly the one received)".to_owned(),
        _ => String::new(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[test]
    fn the_secret_is_redacted_in_the_arguments_debug() {
        for args in [
            vec![
                "t",
                "verify",
                "--secret",
                "whsec_TOPSECRET",
                "--timestamp",
                "1",
                "--signature",
                "a",
            ],
            vec!["t", "sign", "--secret", "whsec_TOPSECRET"],
            vec![
                "t",
                "trigger",
                "onetime.executed",
                "--to",
                "http://127.0.0.1:9/",
                "--secret",
                "whsec_TOPSECRET",
            ],
        ] {
            let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"));
            let debug = format!("{cli:?}");
            assert!(!debug.contains("TOPSECRET"), "{debug}");
            assert!(debug.contains("Secret([REDACTED])"), "{debug}");
        }
    }

    #[test]
    fn reports_say_whether_and_why_not_recognised() {
        let event =
            |body: &str| Event::parse_unverified(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let why = |body: &str| unrecognised_because(&event(body));
        assert_eq!(why(r#"{"id":"e","eventType":"onetime.executed"}"#), None);
        assert_eq!(
            why("[1,2]").as_deref(),
            Some("the body is not a JSON object")
        );
        assert_eq!(
            why(r#"{"eventType":"onetime.executed"}"#).as_deref(),
            Some("it has no id")
        );
        assert_eq!(why(r#"{"id":"e"}"#).as_deref(), Some("it has no eventType"));
        assert_eq!(
            why(r#"{"id":"e","eventType":"x.y"}"#).as_deref(),
            Some("the event type \"x.y\" is unknown to this version")
        );
        let report = json_report(&event(r#"{"id":7,"eventType":"x.y","n":1.0}"#))
            .unwrap_or_else(|_| panic!("no report"));
        assert_eq!(
            report,
            r#"{"valid":true,"recognised":false,"id":"7","eventType":"x.y","dedupKey":"7","event":{"id":7,"eventType":"x.y","n":1}}"#
        );
    }
}
