//! `actalink session create | get | wait`.

use std::io::IsTerminal;
use std::time::Duration;

use actalink_checkout::{CheckoutSessionId, Client, CreateCheckoutSession, Error, WaitOptions};
use actalink_types::Mode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{Failure, Globals, Outcome, output};

/// Session commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a checkout session for a paylink.
    Create {
        /// The paylink id (`paylink_…`).
        #[arg(long)]
        paylink: String,
        /// The mode (only `paylink` is documented).
        #[arg(long, default_value = "paylink")]
        mode: String,
        /// A metadata pair; repeat for more (at most 50 keys).
        #[arg(long = "metadata", value_name = "KEY=VALUE")]
        metadata: Vec<String>,
        /// Where the customer goes after paying.
        #[arg(long)]
        success_url: Option<String>,
        /// Where the customer goes after cancelling.
        #[arg(long)]
        cancel_url: Option<String>,
        /// Where the customer goes after a failed payment.
        #[arg(long)]
        failure_url: Option<String>,
    },
    /// Fetch a session's current state.
    Get {
        /// The checkout session id.
        id: String,
    },
    /// Wait until a session leaves `open`; exits 0 only if it was paid.
    Wait {
        /// The checkout session id.
        id: String,
        /// Seconds between polls (0.01 to 3600).
        #[arg(long, default_value_t = 5.0)]
        interval: f64,
        /// Give up after this many seconds, at most 604800 (7 days) (default: at the session's expiry).
        #[arg(long)]
        timeout: Option<f64>,
    },
}

/// Builds a client from the global options; a missing key is an input error.
pub(crate) fn client(globals: &Globals) -> Result<Client, Failure> {
    let key = globals.api_key.as_ref().ok_or_else(|| {
        Failure::Input("no API key: pass --api-key or set ACTALINK_API_KEY".into())
    })?;
    let mut builder = Client::builder()
        .api_key(key.expose())
        .user_agent_suffix("actalink-cli");
    if let Some(url) = &globals.base_url {
        builder = builder.base_url(url);
    }
    builder.build().map_err(|e| Failure::Input(e.to_string()))
}

/// The shortest `--interval`: 10 ms, so that a typo cannot hammer the API.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest `--interval`: an hour.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest `--timeout`: 7 days, far beyond any session's documented hour
/// and far from the `Instant` arithmetic's limits.
const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// A number of seconds within `[min, max]`: NaN, infinities, negative and
/// absurd values are input errors (exit 2), caught before any request.
fn seconds(name: &str, value: f64, min: Duration, max: Duration) -> Result<Duration, Failure> {
    let bad = || {
        Failure::Input(format!(
            "--{name} must be a number of seconds from {} to {} ({}), not {value}",
            min.as_secs_f64(),
            max.as_secs(),
            if max.as_secs() >= 86_400 {
                format!("{} days", max.as_secs() / 86_400)
            } else {
                format!("{} hour", max.as_secs() / 3600)
            }
        ))
    };
    if !value.is_finite() || value <= 0.0 || value > max.as_secs_f64() {
        return Err(bad());
    }
    let duration = Duration::try_from_secs_f64(value).map_err(|_| bad())?;
    if duration < min {
        return Err(bad());
    }
    Ok(duration)
}

fn session_id(id: &str) -> Result<CheckoutSessionId, Failure> {
    CheckoutSessionId::new(id).map_err(|e| Failure::Input(e.to_string()))
}

/// Maps an API error to exit status 1, keeping its one-sentence message.
pub(crate) fn api_failure(error: &Error) -> Failure {
    Failure::Operation(error.to_string())
}

pub(crate) async fn run(globals: &Globals, command: Command) -> Outcome {
    match command {
        Command::Create {
            paylink,
            mode,
            metadata,
            success_url,
            cancel_url,
            failure_url,
        } => {
            let mut builder = CreateCheckoutSession::builder(paylink).mode(Mode::from_wire(&mode));
            for pair in &metadata {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| Failure::Input(format!("metadata {pair:?} is not KEY=VALUE")))?;
                builder = builder.metadata(key, value);
            }
            if let Some(url) = success_url {
                builder = builder.success_url(url);
            }
            if let Some(url) = cancel_url {
                builder = builder.cancel_url(url);
            }
            if let Some(url) = failure_url {
                builder = builder.failure_url(url);
            }
            let request = builder.build().map_err(|e| Failure::Input(e.to_string()))?;
            let client = client(globals)?;
            let session = client
                .create_session(&request)
                .await
                .map_err(|e| api_failure(&e))?;
            output::session(&session, globals.json)
        }
        Command::Get { id } => {
            let id = session_id(&id)?;
            let client = client(globals)?;
            let session = client.get_session(&id).await.map_err(|e| api_failure(&e))?;
            output::session(&session, globals.json)
        }
        Command::Wait {
            id,
            interval,
            timeout,
        } => {
            let id = session_id(&id)?;
            let mut options = WaitOptions::new().interval(seconds(
                "interval",
                interval,
                MIN_INTERVAL,
                MAX_INTERVAL,
            )?);
            if let Some(timeout) = timeout {
                options = options.timeout(seconds(
                    "timeout",
                    timeout,
                    Duration::from_millis(1),
                    MAX_TIMEOUT,
                )?);
            }
            let client = client(globals)?;
            let session = wait(&client, &id, options).await?;
            output::session(&session, globals.json)?;
            if session.is_paid() {
                Ok(())
            } else {
                // `main` escapes the message: the status is the server's text.
                Err(Failure::Operation(format!(
                    "session {id} ended unpaid: {}",
                    session.status
                )))
            }
        }
    }
}

/// Waits with a spinner on a terminal, and a line per status change otherwise.
async fn wait(
    client: &Client,
    id: &CheckoutSessionId,
    options: WaitOptions,
) -> Result<actalink_checkout::CheckoutSession, Failure> {
    let terminal = std::io::stderr().is_terminal();
    let spinner = if terminal {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        bar.set_message(format!("waiting for {id}"));
        Some(bar)
    } else {
        None
    };
    let mut last = String::new();
    let result = client
        .wait_for_completion_with_progress(id, options, |session| {
            // The server's text: escaped before it reaches the terminal.
            let status = output::escape(session.status.as_str()).into_owned();
            match &spinner {
                Some(bar) => bar.set_message(format!("{id}: {status}")),
                None if status != last => eprintln!("{id}: {status}"),
                None => {}
            }
            last = status;
        })
        .await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    result.map_err(|e| api_failure(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_seconds_are_input_errors_not_panics() {
        let day = Duration::from_secs(86_400);
        for value in [
            1e19,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            0.0,
            -0.0,
            604_800.001,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let result = seconds("timeout", value, Duration::from_millis(1), MAX_TIMEOUT);
            let Err(Failure::Input(message)) = result else {
                panic!("{value} was accepted: {result:?}");
            };
            assert!(
                message.contains(
                    "--timeout must be a number of seconds from 0.001 to 604800 (7 days)"
                ),
                "{message}"
            );
        }
        assert_eq!(
            seconds("timeout", 604_800.0, Duration::from_millis(1), MAX_TIMEOUT).ok(),
            Some(7 * day)
        );
        assert!(seconds("interval", 0.001, MIN_INTERVAL, MAX_INTERVAL).is_err());
        assert!(seconds("interval", 3600.5, MIN_INTERVAL, MAX_INTERVAL).is_err());
        assert_eq!(
            seconds("interval", 0.2, MIN_INTERVAL, MAX_INTERVAL).ok(),
            Some(Duration::from_millis(200))
        );
    }
}
