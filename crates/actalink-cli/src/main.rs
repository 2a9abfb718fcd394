//! `actalink`: the checkout demo, a local sandbox, and the Actalink API from the shell.
//!
//! Exit status: 0 success; 1 the operation failed (an API error, a failed
//! verification, a wait that timed out or ended unpaid); 2 bad usage or
//! invalid input, caught before any request is sent.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool: stdout and stderr are its interface.

mod demo;
mod output;
mod sandbox;
mod session;
mod webhook;

use std::fmt;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// A secret from the command line or the environment (an API key, a webhook
/// secret). `Debug` prints a redaction, so no argument struct can leak it;
/// there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

/// Actalink Billing from the command line.
#[derive(Debug, Parser)]
#[command(name = "actalink", version, about, propagate_version = true)]
struct Cli {
    /// The API key (default: $ACTALINK_API_KEY).
    #[arg(long, global = true, env = "ACTALINK_API_KEY", hide_env_values = true)]
    api_key: Option<Secret>,
    /// The API base URL (default: $ACTALINK_BASE_URL, else `https://api.acta.link`).
    #[arg(long, global = true, env = "ACTALINK_BASE_URL")]
    base_url: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole checkout flow against an embedded sandbox, step by step.
    Demo(demo::Args),
    /// Serve the sandbox (API, hosted page, webhooks) until Ctrl-C.
    Sandbox(sandbox::Args),
    /// Create, fetch or wait for checkout sessions.
    #[command(subcommand)]
    Session(session::Command),
    /// Verify or sign webhook bodies.
    #[command(subcommand)]
    Webhook(webhook::Command),
}

/// How a command failed, which decides the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad usage or invalid input, caught before any request (exit 2).
    Input(String),
    /// The operation failed (exit 1).
    Operation(String),
}

pub(crate) type Outcome = Result<(), Failure>;

/// Global options every command may use.
#[derive(Debug, Clone)]
pub(crate) struct Globals {
    pub(crate) api_key: Option<Secret>,
    /// True when the API key came from `ACTALINK_API_KEY` rather than `--api-key`.
    pub(crate) api_key_from_env: bool,
    pub(crate) base_url: Option<String>,
    pub(crate) json: bool,
}

/// Where a (possibly global, possibly nested) argument's value came from.
/// Only ids present in a level's matches are asked for: clap panics (in debug
/// builds) when asked about an argument a command does not define.
fn source(matches: &clap::ArgMatches, id: &str) -> Option<ValueSource> {
    let at = |m: &clap::ArgMatches| {
        m.ids()
            .any(|present| present.as_str() == id)
            .then(|| m.value_source(id))
            .flatten()
    };
    let mut found = at(matches);
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if let Some(source) = at(sub) {
            found = Some(source);
        }
        current = sub;
    }
    found
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let globals = Globals {
        api_key: cli.api_key.filter(|k| !k.expose().is_empty()),
        api_key_from_env: source(&matches, "api_key") == Some(ValueSource::EnvVariable),
        base_url: cli.base_url.filter(|u| !u.is_empty()),
        json: cli.json,
    };
    let secret_from_env = source(&matches, "webhook_secret") == Some(ValueSource::EnvVariable);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(&globals, args).await,
            Command::Sandbox(args) => sandbox::run(&globals, args, secret_from_env).await,
            Command::Session(command) => session::run(&globals, command).await,
            Command::Webhook(command) => webhook::run(&globals, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Messages may quote the server (an error body) or a webhook: escaped,
        // so that no control sequence reaches the terminal.
        Err(Failure::Operation(message)) => {
            eprintln!("error: {}", output::escape(&message));
            ExitCode::from(1)
        }
        Err(Failure::Input(message)) => {
            eprintln!("error: {}", output::escape(&message));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_every_argument_structs_debug() {
        let cli = Cli::try_parse_from([
            "actalink",
            "--api-key",
            "sk_live_TOPSECRET",
            "sandbox",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            "whsec_TOPSECRET",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{cli:?}");
        assert!(!debug.contains("TOPSECRET"), "{debug}");
        assert!(debug.contains("Secret([REDACTED])"), "{debug}");
        let globals = Globals {
            api_key: cli.api_key.clone(),
            api_key_from_env: false,
            base_url: None,
            json: false,
        };
        assert!(!format!("{globals:?}").contains("TOPSECRET"));
    }

    #[test]
    fn the_source_of_a_value_is_found_at_any_level_without_a_panic() {
        let matches = Cli::command()
            .try_get_matches_from(["actalink", "session", "get", "x", "--api-key", "k"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source(&matches, "api_key"), Some(ValueSource::CommandLine));
        // An id the command does not define at all.
        assert_eq!(source(&matches, "webhook_secret"), None);
        assert_eq!(source(&matches, "no_such_argument"), None);
    }
}
