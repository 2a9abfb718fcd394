//! `actalink webhook verify | sign`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actalink_webhooks::{Error, Verifier, sign};
use tokio::io::AsyncReadExt;

use crate::{Failure, Globals, Outcome, output};

/// Webhook commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Verify a webhook body against its headers; exits 0 when genuine, 1 with the reason when not.
    Verify {
        /// The webhook secret.
        #[arg(long)]
        secret: String,
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
    Sign {
        /// The webhook secret.
        #[arg(long)]
        secret: String,
        /// The timestamp in Unix milliseconds (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
        /// The body: a file, or `-` (the default) for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
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

pub(crate) async fn run(globals: &Globals, command: Command) -> Outcome {
    match command {
        Command::Verify {
            secret,
            timestamp,
            signature,
            tolerance,
            file,
        } => {
            let body = read_body(&file).await?;
            let verifier = Verifier::new(secret).tolerance(Duration::from_secs(tolerance));
            let event = verifier
                .verify_parts(&body, timestamp.trim(), &signature)
                .map_err(|e| Failure::Operation(format!("verification failed: {e}")))?;
            if globals.json {
                println!("{}", event.raw_json());
            } else {
                let mut rows = vec![
                    ("valid", "yes".to_owned()),
                    ("event", event.id.clone()),
                    ("type", event.event_type.to_string()),
                ];
                if let Some(subject) = &event.data.id {
                    rows.push(("subject", subject.clone()));
                }
                if let Some(metadata) = &event.data.metadata {
                    let pairs: Vec<String> =
                        metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    rows.push(("metadata", pairs.join(", ")));
                }
                output::print_rows(&rows);
            }
            Ok(())
        }
        Command::Sign {
            secret,
            timestamp,
            file,
        } => {
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
                    .map_or(0, |d| d.as_millis() as i64),
            };
            let signed = sign(&body, &secret.into(), timestamp).map_err(|e| match e {
                Error::BodyNotJson(_) => Failure::Input(e.to_string()),
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
