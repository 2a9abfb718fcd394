//! `actalink`: the checkout demo, a local sandbox, and the Actalink API from the shell.
//!
//! Exit status: 0 success; 1 the operation failed (an API error, a failed
//! verification, a wait that timed out or ended unpaid, a webhook handler that
//! refused an event); 2 bad usage or invalid input, caught before any request
//! is sent.

// Doc comments on the argument structs are the `--help` text, written for a
// terminal: bare URLs and `<placeholders>` are meant literally there.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

#[macro_use]
mod stdio;

mod demo;
mod duration;
mod failure;
mod output;
mod sandbox;
mod session;
mod verbose;
mod webhook;

use std::ffi::OsString;
use std::fmt;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

pub(crate) use failure::{Failure, Outcome};

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

const TOP_EXAMPLES: &str = "\
Examples:
  actalink demo
  actalink sandbox
  export ACTALINK_BASE_URL=http://127.0.0.1:4010 ACTALINK_API_KEY=sk_sandbox_0000000000000000000000000000000000
  actalink session create --paylink paylink_sandboxRecipePro000000000000001 --metadata internal_order_id=ORD-1
  actalink --json session get checkout_…
  actalink -v session wait checkout_… --timeout 10m
  actalink sandbox pay checkout_…
  ACTALINK_WEBHOOK_SECRET=whsec_… actalink webhook trigger onetime.executed --to http://127.0.0.1:3000/webhooks/actalink";

/// Actalink Billing from the command line.
///
/// `--api-key` and `--base-url` go before the command or after it, on the
/// commands that call the API; `--json` and `-v` go anywhere.
#[derive(Debug, Parser)]
#[command(
    name = "actalink",
    version,
    about,
    propagate_version = true,
    after_help = TOP_EXAMPLES
)]
struct Cli {
    /// The API key.
    #[arg(
        long,
        env = "ACTALINK_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<Secret>,
    /// The API base URL (https://api.acta.link when unset).
    #[arg(
        long,
        env = "ACTALINK_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    base_url: Option<String>,
    /// Print machine-readable JSON on stdout, and a failure as one JSON object on stderr.
    #[arg(long, global = true, display_order = 100)]
    json: bool,
    /// Show each HTTP attempt, its status and its retry, one short line each, on stderr; -vv for every span and field (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = ArgAction::Count, display_order = 101)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole checkout flow against an embedded sandbox, step by step.
    #[command(after_help = demo::EXAMPLES)]
    Demo(demo::Args),
    /// Serve the sandbox (API, hosted page, webhooks) until Ctrl-C, or drive a session on a running one.
    #[command(args_conflicts_with_subcommands = true, after_help = sandbox::EXAMPLES)]
    Sandbox(sandbox::Args),
    /// Create, fetch or wait for checkout sessions.
    #[command(subcommand, after_help = session::EXAMPLES)]
    Session(session::Command),
    /// Verify, sign or send webhook events.
    #[command(subcommand, after_help = webhook::EXAMPLES)]
    Webhook(webhook::Command),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  actalink completions bash > ~/.local/share/bash-completion/completions/actalink
  actalink completions zsh > \"${fpath[1]}/_actalink\"
  actalink completions fish > ~/.config/fish/completions/actalink.fish
  actalink completions powershell >> $PROFILE";

/// Options every command may use, resolved from the command line and the environment.
#[derive(Debug, Clone)]
pub(crate) struct Globals {
    pub(crate) api_key: Option<Secret>,
    /// True when the API key came from `ACTALINK_API_KEY` rather than `--api-key`.
    pub(crate) api_key_from_env: bool,
    pub(crate) base_url: Option<String>,
    pub(crate) json: bool,
}

/// Where `--api-key` and `--base-url` are also accepted after the command's
/// name: on the commands that use them (before the command, where the
/// documented syntax puts them, they are always accepted). Other commands do
/// not show them: they would do nothing there. Each entry: the argument, the
/// command's path, and the help there when it differs from the top level's.
const PLACES: &[(&str, &[&str], Option<&str>)] = &[
    ("api_key", &["session", "create"], None),
    ("api_key", &["session", "get"], None),
    ("api_key", &["session", "wait"], None),
    (
        "api_key",
        &["sandbox"],
        Some(
            "The key the sandbox accepts (its own when not given; ACTALINK_API_KEY is ignored here, as it may be a real key)",
        ),
    ),
    ("api_key", &["webhook", "trigger"], Some(TRIGGER_KEY_HELP)),
    ("base_url", &["webhook", "trigger"], Some(TRIGGER_URL_HELP)),
    ("base_url", &["session", "create"], None),
    ("base_url", &["session", "get"], None),
    ("base_url", &["session", "wait"], None),
    ("base_url", &["sandbox", "pay"], Some(SANDBOX_URL_HELP)),
    ("base_url", &["sandbox", "cancel"], Some(SANDBOX_URL_HELP)),
    ("base_url", &["sandbox", "fail"], Some(SANDBOX_URL_HELP)),
    ("base_url", &["sandbox", "expire"], Some(SANDBOX_URL_HELP)),
    (
        "base_url",
        &["sandbox", "deliveries"],
        Some(SANDBOX_URL_HELP),
    ),
    ("base_url", &["sandbox", "resend"], Some(SANDBOX_URL_HELP)),
];

const TRIGGER_KEY_HELP: &str = "The API key, to fetch the session of --session";
const TRIGGER_URL_HELP: &str =
    "Where to fetch the session of --session (https://api.acta.link when unset; a sandbox's URL)";

const SANDBOX_URL_HELP: &str =
    "The running sandbox's URL, as `actalink sandbox` printed (required)";

fn add_arg(command: clap::Command, path: &[&str], arg: &clap::Arg) -> clap::Command {
    match path.split_first() {
        None => command.arg(arg.clone()),
        Some((name, rest)) => command.mut_subcommand(*name, |sub| add_arg(sub, rest, arg)),
    }
}

/// The whole command line: the derived one, with `--api-key` and
/// `--base-url` also on the commands that use them.
fn command() -> clap::Command {
    let mut command = Cli::command();
    for (id, path, help) in PLACES {
        let Some(mut arg) = command.get_arguments().find(|a| a.get_id() == *id).cloned() else {
            continue;
        };
        // After the command's own options.
        arg = arg.display_order(90);
        if let Some(help) = help {
            arg = arg.help(*help);
        }
        if *path == ["sandbox"] {
            // The sandbox never takes a key from the environment.
            arg = arg.env(None);
        }
        command = add_arg(command, path, &arg);
    }
    command
}

/// The value of `id` from the command line at the deepest level that has it,
/// else from the environment; and whether it came from the environment.
fn resolve<T: Clone + Send + Sync + 'static>(
    matches: &clap::ArgMatches,
    id: &str,
) -> (Option<T>, bool) {
    // Only ids present in a level's matches are asked for: clap panics (in
    // debug builds) when asked about an argument a command does not define.
    let mut levels = vec![matches];
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        levels.push(sub);
        current = sub;
    }
    let mut from_env = None;
    for level in levels.iter().rev() {
        if !level.ids().any(|present| present.as_str() == id) {
            continue;
        }
        let value = level.get_one::<T>(id).cloned();
        match level.value_source(id) {
            Some(ValueSource::CommandLine) => return (value, false),
            Some(ValueSource::EnvVariable) if from_env.is_none() => from_env = value,
            _ => {}
        }
    }
    let env = from_env.is_some();
    (from_env, env)
}

/// True when `--json` appears among the arguments (before any `--`): for
/// reporting a usage error, which clap finds before the flag is parsed.
fn json_requested(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// clap's error as one line: the lines before `Usage:`, joined.
fn usage_sentence(rendered: &str) -> String {
    let text = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

/// Sends the SDK's tracing to stderr: RUST_LOG when set, else by `-v` count.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::FmtSpan;

    const OURS: &[&str] = &[
        "actalink_checkout",
        "actalink_transport",
        "actalink_webhooks",
        "actalink_sandbox",
        "actalink_cli",
    ];
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match (&from_env, verbose) {
        (Some(directives), _) => EnvFilter::builder().parse_lossy(directives),
        (None, 0) => return,
        (None, v) => {
            // -v: our crates at debug; -vv: ours at trace and the HTTP stack
            // at debug (connections); -vvv: everything at trace.
            let (level, rest) = match v {
                1 => ("debug", "info"),
                2 => ("trace", "debug"),
                _ => ("trace", "trace"),
            };
            let mut directives = String::from(rest);
            for target in OURS {
                directives.push_str(&format!(",{target}={level}"));
            }
            EnvFilter::builder().parse_lossy(directives)
        }
    };
    if from_env.is_none() && verbose == 1 {
        // -v: one short line per attempt and per event (see `verbose`).
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(verbose::Short)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed `actalink` span shows the operation's attempts and status.
        .with_span_events(FmtSpan::CLOSE)
        .try_init();
}

/// Prints clap's help, version or usage error and exits as clap does, but
/// through [`stdio`], so that a closed pipe ends the command quietly. On a
/// terminal, clap prints it itself, in colour.
fn clap_exit(e: &clap::Error) -> ! {
    use std::io::IsTerminal;
    let terminal = if e.use_stderr() {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    if terminal {
        e.exit();
    }
    let text = e.render().to_string();
    if e.use_stderr() {
        stdio::err(format_args!("{text}"));
    } else {
        stdio::out(format_args!("{text}"));
    }
    std::process::exit(e.exit_code())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let json = json_requested(&args);
    let matches = match command().try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(e) if json && e.use_stderr() => {
            return Failure::usage(usage_sentence(&e.to_string())).report(true);
        }
        Err(e) => clap_exit(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => clap_exit(&e),
    };
    let (api_key, api_key_from_env) = resolve::<Secret>(&matches, "api_key");
    let (base_url, _) = resolve::<String>(&matches, "base_url");
    let globals = Globals {
        api_key: api_key.filter(|k| !k.expose().is_empty()),
        api_key_from_env,
        base_url: base_url.filter(|u| !u.trim().is_empty()),
        json: cli.json,
    };
    init_tracing(cli.verbose);
    if let Command::Completions { shell } = cli.command {
        let mut command = command();
        // Generated whole, then written: `generate` panics on a failed write.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "actalink", &mut script);
        stdio::out_bytes(&script);
        return ExitCode::SUCCESS;
    }
    let secret_from_env = resolve::<Secret>(&matches, "webhook_secret").1;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Failure::failed("runtime", format!("could not start the async runtime: {e}"))
                .report(globals.json);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(&globals, args).await,
            Command::Sandbox(args) => sandbox::run(&globals, args, secret_from_env).await,
            Command::Session(command) => session::run(&globals, command).await,
            Command::Webhook(command) => webhook::run(&globals, command).await,
            Command::Completions { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(globals.json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(args: &[&str]) -> clap::ArgMatches {
        command()
            .try_get_matches_from(args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

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
    fn api_flags_go_before_the_command_or_after_it_where_they_apply() {
        let m = matches(&["actalink", "session", "get", "x", "--api-key", "k"]);
        assert_eq!(
            resolve::<Secret>(&m, "api_key"),
            (Some(Secret::from("k".to_owned())), false)
        );
        let m = matches(&["actalink", "--api-key", "top", "session", "get", "x"]);
        assert_eq!(
            resolve::<Secret>(&m, "api_key").0,
            Some(Secret::from("top".to_owned()))
        );
        // The deeper one wins.
        let m = matches(&[
            "actalink",
            "--base-url",
            "http://a",
            "sandbox",
            "pay",
            "x",
            "--base-url",
            "http://b",
        ]);
        assert_eq!(
            resolve::<String>(&m, "base_url").0.as_deref(),
            Some("http://b")
        );
        // An id the command does not define at all.
        assert_eq!(resolve::<Secret>(&m, "webhook_secret"), (None, false));
        assert_eq!(resolve::<String>(&m, "no_such_argument"), (None, false));
        // Not offered where they would do nothing.
        for args in [
            &["actalink", "webhook", "sign", "--api-key", "k"][..],
            &["actalink", "demo", "--base-url", "http://a"],
            &["actalink", "sandbox", "pay", "x", "--api-key", "k"],
        ] {
            assert!(command().try_get_matches_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn usage_errors_become_one_sentence() {
        let Err(e) = command().try_get_matches_from(["actalink", "session", "get"]) else {
            panic!("accepted");
        };
        assert_eq!(
            usage_sentence(&e.to_string()),
            "the following required arguments were not provided: <ID>"
        );
    }

    #[test]
    fn json_is_found_before_a_double_dash_only() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&args(&["actalink", "session", "--json"])));
        assert!(!json_requested(&args(&["actalink", "--", "--json"])));
        assert!(!json_requested(&args(&["--json"])));
    }
}
