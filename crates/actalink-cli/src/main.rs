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

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Actalink Billing from the command line.
#[derive(Debug, Parser)]
#[command(name = "actalink", version, about, propagate_version = true)]
struct Cli {
    /// The API key (default: $ACTALINK_API_KEY).
    #[arg(long, global = true, env = "ACTALINK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
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
    pub(crate) api_key: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let globals = Globals {
        api_key: cli.api_key.filter(|k| !k.is_empty()),
        base_url: cli.base_url.filter(|u| !u.is_empty()),
        json: cli.json,
    };
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
            Command::Sandbox(args) => sandbox::run(&globals, args).await,
            Command::Session(command) => session::run(&globals, command).await,
            Command::Webhook(command) => webhook::run(&globals, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Operation(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
