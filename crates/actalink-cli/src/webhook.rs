//! `actalink webhook verify | sign`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actalink_webhooks::{Error, Event, EventType, Verifier, sign};
use tokio::io::AsyncReadExt;

use crate::{Failure, Globals, Outcome, Secret, output};

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
    Verify {
        /// The webhook secret (default: $ACTALINK_WEBHOOK_SECRET, which keeps it out of the process list).
        #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        /// The `x-actalink-timestamp` header.
        #[arg(long)]
        timestamp: String,
        /// The `x-actalink-signature` header.
        #[arg(long)]
        signature: String,
        /// How far the timestamp may be from now, in seconds.
        #[arg(long, default_value_t = 300)]
        tolerance: u64,
        /// The raw body: a file, or `-` (the default) for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Sign a body as Actalink does and print the two headers.
    ///
    /// With --json, prints {"timestamp": "…", "signature": "…"}.
    Sign {
        /// The webhook secret (default: $ACTALINK_WEBHOOK_SECRET, which keeps it out of the process list).
        #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        /// The timestamp in Unix milliseconds (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
        /// The body: a file, or `-` (the default) for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
}

/// The secret from `--secret` or the environment; exit 2 without one.
fn secret(secret: Option<Secret>) -> Result<Secret, Failure> {
    secret.filter(|s| !s.expose().is_empty()).ok_or_else(|| {
        Failure::Input(
            "no webhook secret: set ACTALINK_WEBHOOK_SECRET (or pass --secret)".to_owned(),
        )
    })
}

async fn read_body(file: &PathBuf) -> Result<Vec<u8>, Failure> {
    if file.as_os_str() == "-" {
        let mut body = Vec::new();
        tokio::io::stdin()
            .read_to_end(&mut body)
            .await
            .map_err(|e| Failure::Input(format!("could not read stdin: {e}")))?;
        Ok(body)
    } else {
        tokio::fs::read(file)
            .await
            .map_err(|e| Failure::Input(format!("could not read {}: {e}", file.display())))
    }
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
            .map_err(|e| Failure::Operation(format!("could not print JSON: {e}")))
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
            let key = secret(key)?;
            let body = read_body(&file).await?;
            let verifier = Verifier::new(key.expose()).tolerance(Duration::from_secs(tolerance));
            let event = verifier
                .verify_parts(&body, timestamp.trim(), &signature)
                .map_err(|e| Failure::Operation(format!("verification failed: {e}")))?;
            if globals.json {
                println!("{}", json_report(&event)?);
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
            let key = secret(key)?;
            let body = read_body(&file).await?;
            let timestamp = match timestamp {
                Some(t) if t >= 0 => t,
                Some(t) => {
                    return Err(Failure::Input(format!(
                        "--timestamp must not be negative, not {t}"
                    )));
                }
                None => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            };
            let signed = sign(&body, &key.expose().into(), timestamp).map_err(|e| match e {
                Error::BodyNotJson(_) | Error::TooDeep { .. } | Error::BodyTooLarge { .. } => {
                    Failure::Input(e.to_string())
                }
                other => Failure::Operation(other.to_string()),
            })?;
            if globals.json {
                println!(
                    "{}",
                    serde_json::json!({ "timestamp": signed.timestamp, "signature": signed.signature })
                );
            } else {
                output::print_rows(&[
                    ("x-actalink-timestamp:", signed.timestamp.clone()),
                    ("x-actalink-signature:", signed.signature.clone()),
                ]);
            }
            Ok(())
        }
    }
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
