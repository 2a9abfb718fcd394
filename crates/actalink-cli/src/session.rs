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
        /// Seconds between polls.
        #[arg(long, default_value_t = 5.0)]
        interval: f64,
        /// Give up after this many seconds (default: at the session's expiry).
        #[arg(long)]
        timeout: Option<f64>,
    },
}

/// Builds a client from the global options; a missing key is an input error.
pub(crate) fn client(globals: &Globals) -> Result<Client, Failure> {
    let key = globals.api_key.clone().ok_or_else(|| {
        Failure::Input("no API key: pass --api-key or set ACTALINK_API_KEY".into())
    })?;
    let mut builder = Client::builder()
        .api_key(key)
        .user_agent_suffix("actalink-cli");
    if let Some(url) = &globals.base_url {
        builder = builder.base_url(url);
    }
    builder.build().map_err(|e| Failure::Input(e.to_string()))
}

fn seconds(name: &str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Failure::Input(format!(
                "--{name} must be a positive number of seconds, not {value}"
            ))
        })
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
            let mut options = WaitOptions::new().interval(seconds("interval", interval)?);
            if let Some(timeout) = timeout {
                options = options.timeout(seconds("timeout", timeout)?);
            }
            let client = client(globals)?;
            let session = wait(&client, &id, options).await?;
            output::session(&session, globals.json)?;
            if session.is_paid() {
                Ok(())
            } else {
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
            let status = session.status.to_string();
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
