//! `actalink session create | get | wait`.

use std::io::IsTerminal;
use std::time::Duration;

use actalink_checkout::{
    CheckoutSession, CheckoutSessionId, Client, CreateCheckoutSession, DEFAULT_BASE_URL, Error,
    Poll, WaitOptions,
};
use actalink_types::Mode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

use crate::{Failure, Globals, Outcome, duration, output};

pub(crate) const EXAMPLES: &str = "\
Examples:
  export ACTALINK_BASE_URL=http://127.0.0.1:4010 ACTALINK_API_KEY=sk_sandbox_0000000000000000000000000000000000
  ID=$(actalink --json session create --paylink paylink_sandboxRecipePro000000000000001 --metadata internal_order_id=ORD-1 | jq -r .id)
  actalink session get \"$ID\"
  actalink session wait \"$ID\" --interval 2s --timeout 10m && echo paid";

const CREATE_EXAMPLES: &str = "\
Examples:
  actalink session create --paylink paylink_sandboxRecipePro000000000000001 --metadata internal_order_id=ORD-1 --metadata user_uuid=u_42
  actalink --json session create --paylink paylink_sandboxRecipePro000000000000001 --success-url https://shop.example/orders/ORD-1 | jq -r .url";

const GET_EXAMPLES: &str = "\
Examples:
  actalink session get checkout_…
  actalink --json session get checkout_… | jq -r .status";

const WAIT_EXAMPLES: &str = "\
Examples:
  actalink session wait checkout_… && ship-order ORD-1
  actalink session wait checkout_… --interval 2s --timeout 1h30m
  actalink -v session wait checkout_…      # each poll's HTTP attempts and retries";

/// Session commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a checkout session for a paylink.
    #[command(after_help = CREATE_EXAMPLES)]
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
    #[command(after_help = GET_EXAMPLES)]
    Get {
        /// The checkout session id.
        id: String,
    },
    /// Wait until a session leaves `open`; exits 0 only if it was paid.
    ///
    /// Polls every --interval until the session's status is final (success,
    /// failure, timeout), or until --timeout, by default the session's expiry
    /// (at most 24 hours). Durations read 90s, 5m, 1h30m, 500ms, or a
    /// number of seconds. Each change of status, each failed poll and, every
    /// few polls, a reminder that the session is still open are shown on
    /// stderr (not with --json).
    #[command(after_help = WAIT_EXAMPLES)]
    Wait {
        /// The checkout session id.
        id: String,
        /// The time between polls, from 10ms to 1h (90s, 5m, or seconds).
        #[arg(long, value_name = "DUR", default_value = "5s")]
        interval: String,
        /// Give up after this long, from 1ms to 7d (90s, 5m, 1h30m, or seconds); the session's expiry when not given.
        #[arg(long, value_name = "DUR")]
        timeout: Option<String>,
    },
}

/// Builds a client from the global options; a missing key or an unusable
/// base URL is a configuration error (exit 2).
pub(crate) fn client(globals: &Globals) -> Result<Client, Failure> {
    let key = globals
        .api_key
        .as_ref()
        .ok_or_else(|| Failure::config("no API key: pass --api-key or set ACTALINK_API_KEY"))?;
    let mut builder = Client::builder()
        .api_key(key.expose())
        .user_agent_suffix("actalink-cli");
    if let Some(url) = &globals.base_url {
        builder = builder.base_url(url);
    }
    builder
        .build()
        .map_err(|e| Failure::api(&e, &target(globals)))
}

/// Where API requests go, for messages: the base URL's origin, never its credentials.
pub(crate) fn target(globals: &Globals) -> String {
    output::origin(globals.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
}

/// The shortest `--interval`: 10 ms, so that a typo cannot hammer the API.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest `--interval`: an hour.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest `--timeout`: 7 days, far beyond any session's documented hour
/// and far from the `Instant` arithmetic's limits.
const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

fn session_id(id: &str) -> Result<CheckoutSessionId, Failure> {
    CheckoutSessionId::new(id).map_err(|e| Failure::input(e.to_string()))
}

pub(crate) async fn run(globals: &Globals, command: Command) -> Outcome {
    let api_failure = |e: Error| Failure::api(&e, &target(globals));
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
                    .ok_or_else(|| Failure::input(format!("metadata {pair:?} is not KEY=VALUE")))?;
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
            let request = builder
                .build()
                .map_err(|e| Failure::input(crate::failure::cli_words(&e.to_string())))?;
            let client = client(globals)?;
            let session = client.create_session(&request).await.map_err(api_failure)?;
            output::session(&session, globals.json)
        }
        Command::Get { id } => {
            let id = session_id(&id)?;
            let client = client(globals)?;
            let session = client.get_session(&id).await.map_err(api_failure)?;
            output::session(&session, globals.json)
        }
        Command::Wait {
            id,
            interval,
            timeout,
        } => {
            let id = session_id(&id)?;
            let interval = duration::flag("interval", &interval, MIN_INTERVAL, MAX_INTERVAL)?;
            let timeout = timeout
                .map(|t| duration::flag("timeout", &t, Duration::from_millis(1), MAX_TIMEOUT))
                .transpose()?;
            let client = client(globals)?;
            let mut progress = Progress::new(&id, !globals.json);
            let mut options = WaitOptions::new().with_interval(interval);
            if let Some(timeout) = timeout {
                options = options.with_timeout(timeout);
            }
            let start = Instant::now();
            let result = client
                .wait_for_completion_with_progress(&id, options, |poll| match poll {
                    Poll::Session(session) => progress.polled(session, start.elapsed()),
                    Poll::Failed(error) => progress.failed(error),
                    _ => {}
                })
                .await;
            progress.finish();
            let session = result.map_err(api_failure)?;
            output::session(&session, globals.json)?;
            if session.is_paid() {
                Ok(())
            } else {
                // `Failure::report` escapes the message: the status is the server's text.
                Err(Failure::failed(
                    "ended_unpaid",
                    format!("session {id} ended unpaid: {}", session.status),
                ))
            }
        }
    }
}

/// Every how many polls an unchanged open session is mentioned again.
const REMIND_EVERY: u32 = 10;

/// What a wait shows on stderr: a spinner on a terminal, lines elsewhere,
/// nothing with `--json` (whose stderr holds only a failure's JSON).
struct Progress {
    id: String,
    spinner: Option<ProgressBar>,
    lines: bool,
    last: Option<String>,
    unchanged: u32,
}

impl Progress {
    fn new(id: &CheckoutSessionId, show: bool) -> Self {
        let spinner = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message(format!("waiting for {id}"));
            bar
        });
        Self {
            id: id.to_string(),
            spinner,
            lines: show,
            last: None,
            unchanged: 0,
        }
    }

    /// A line above the spinner, or on stderr.
    fn line(&self, text: &str) {
        match &self.spinner {
            Some(bar) => bar.println(text),
            None if self.lines => errln!("{text}"),
            None => {}
        }
    }

    fn polled(&mut self, session: &CheckoutSession, elapsed: Duration) {
        // The server's text: escaped before it reaches the terminal.
        let status = output::escape(session.status.as_str()).into_owned();
        let id = &self.id;
        if let Some(bar) = &self.spinner {
            bar.set_message(format!("{id}: {status}"));
        }
        if self.last.as_deref() != Some(status.as_str()) {
            if self.spinner.is_none() {
                self.line(&format!("{id}: {status}"));
            }
            self.last = Some(status);
            self.unchanged = 0;
            return;
        }
        self.unchanged += 1;
        if self.unchanged < REMIND_EVERY {
            return;
        }
        self.unchanged = 0;
        let elapsed = output::duration_words(elapsed);
        let until = session
            .expires_at
            .map(|at| format!(" at {}", output::rfc3339(at)))
            .unwrap_or_default();
        if session.is_open() {
            self.line(&format!(
                "{id}: still open after {elapsed}; a customer who cancels on the hosted page leaves it open \
                 (so does the sandbox's cancel), so this wait goes on until it is paid, fails or expires{until}"
            ));
        } else {
            self.line(&format!(
                "{id}: still {status} after {elapsed}, a status this version does not know; polling on until it changes or the wait ends{until}"
            ));
        }
    }

    fn failed(&mut self, error: &Error) {
        let text = output::escape(&error.to_string()).into_owned();
        self.line(&format!("{}: a poll failed, polling on: {text}", self.id));
        // The next successful poll is worth a line, even with the same status.
        self.last = None;
    }

    fn finish(self) {
        if let Some(bar) = self.spinner {
            bar.finish_and_clear();
        }
    }
}
