//! `actalink sandbox`: serve the emulator until Ctrl-C, or drive a session
//! on a running one through its control API.
//!
//! The sandbox accepts its own key, [`DEFAULT_API_KEY`], unless `--api-key` is
//! given on the command line. A key exported in `ACTALINK_API_KEY` is likely a
//! real one: it is neither accepted nor printed.
//!
//! While it serves, it prints one line per request and per webhook delivery
//! attempt on stdout ([`activity`]). Each `--webhook-url` gets every event,
//! signed with the one `--webhook-secret`; a URL's credentials are sent but
//! never printed.

mod activity;
mod drive;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use actalink_sandbox::{Catalogue, DEFAULT_API_KEY, Sandbox, WebhookEndpoint};

use crate::{Failure, Globals, Outcome, Secret, duration, output, stdio};

pub(crate) const EXAMPLES: &str = "\
Examples:
  actalink sandbox
  actalink sandbox --addr 127.0.0.1:4010 --webhook-url http://127.0.0.1:3000/webhooks/actalink --webhook-secret whsec_dev
  actalink sandbox --webhook-url http://127.0.0.1:3000/webhooks/actalink --webhook-url http://127.0.0.1:3001/webhooks/actalink --webhook-secret whsec_dev
  actalink sandbox pay checkout_… --base-url http://127.0.0.1:4010
  ACTALINK_BASE_URL=http://127.0.0.1:4010 actalink sandbox cancel checkout_…";

const ACTION_EXAMPLES: &str = "\
Examples:
  actalink --base-url http://127.0.0.1:4010 sandbox pay checkout_…
  ACTALINK_BASE_URL=http://127.0.0.1:4010 actalink sandbox fail checkout_…
  actalink --json sandbox expire checkout_… --base-url http://127.0.0.1:4010";

/// Sandbox options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen (HOST:PORT; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4010")]
    addr: String,
    /// Deliver signed webhooks to this URL (needs a webhook secret); repeat it for several endpoints, each of which gets every event, with its own retries.
    #[arg(long, value_name = "URL")]
    webhook_url: Vec<String>,
    /// The secret to sign webhooks with, for every endpoint.
    #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<Secret>,
    /// How long a new session stays open before it expires (90s, 5m, 1h30m, or seconds; at most 366d).
    #[arg(long, value_name = "DUR", default_value = "1h")]
    session_ttl: String,
    /// A JSON catalogue of paylinks (two sample products when not given).
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// Also answer requests addressed to this host name, as from a container that reaches the sandbox by name; repeat it for several. Bound to loopback, the sandbox refuses any other Host (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,
    #[command(subcommand)]
    action: Option<Action>,
}

/// What to do to a session on a running sandbox.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Action {
    /// Pay a session, as the customer would on the hosted page (sends the payment webhook).
    #[command(after_help = ACTION_EXAMPLES)]
    Pay(Target),
    /// Cancel a session, as the customer would on the hosted page (the sandbox keeps it open).
    #[command(after_help = ACTION_EXAMPLES)]
    Cancel(Target),
    /// Fail a session's payment (it ends as `failure`).
    #[command(after_help = ACTION_EXAMPLES)]
    Fail(Target),
    /// Expire a session now (it ends as `timeout`).
    #[command(after_help = ACTION_EXAMPLES)]
    Expire(Target),
    /// List past webhook deliveries, one line per event and endpoint.
    ///
    /// With --json, prints a JSON array of {"eventId", "eventType", "url",
    /// "attempts", "delivered", "lastStatus"}, oldest first.
    #[command(after_help = drive::DELIVERIES_EXAMPLES)]
    Deliveries,
    /// Send a past event again, the same body freshly timestamped and signed, to every endpoint or to --to.
    ///
    /// One attempt per endpoint. Exits 0 when every receiver answered 2xx, 1
    /// otherwise. With --json, prints {"eventId", "eventType",
    /// "deliveries": [{"url", "delivered", "status", "attempts", "error"}]}.
    #[command(after_help = drive::RESEND_EXAMPLES)]
    Resend(drive::Resend),
}

/// The session an action applies to.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// The checkout session id.
    id: String,
}

impl Action {
    /// The control API's name for a session action, and the session id.
    fn parts(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Pay(t) => Some(("pay", &t.id)),
            Self::Cancel(t) => Some(("cancel", &t.id)),
            Self::Fail(t) => Some(("fail", &t.id)),
            Self::Expire(t) => Some(("expire", &t.id)),
            Self::Deliveries | Self::Resend(_) => None,
        }
    }
}

/// `HOST:PORT` with a port that fits in 16 bits; the host is resolved on bind.
fn check_addr(addr: &str) -> Result<(), Failure> {
    let port = addr.rsplit_once(':').map(|(_, port)| port);
    match port.map(str::parse::<u16>) {
        Some(Ok(_)) => Ok(()),
        _ => Err(Failure::input(format!(
            "--addr {addr:?} must be HOST:PORT with a port from 0 to 65535"
        ))),
    }
}

/// `text` as one shell word: as is when it holds only safe characters, else
/// in single quotes.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:@%+=,".contains(&b));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `--allow-host NAME`: a host name, with or without a port (exit 2 when not).
fn check_host_name(name: &str) -> Result<(), Failure> {
    let parsed = name.parse::<http::uri::Authority>();
    match parsed {
        Ok(authority)
            if !authority.host().is_empty()
                && !authority.as_str().contains('@')
                && (authority.as_str().len() == authority.host().len()
                    || authority.port_u16().is_some()) =>
        {
            Ok(())
        }
        _ => Err(Failure::input(format!(
            "--allow-host {:?} is not a host name, such as sandbox or sandbox.test",
            output::escape(name)
        ))),
    }
}

/// Why the sandbox could not listen on `addr`, with what to do about it.
fn bind_failure(addr: &str, why: &std::io::Error) -> Failure {
    let advice = match why.kind() {
        std::io::ErrorKind::AddrInUse => {
            "; another program (another sandbox?) listens there: stop it, or pass --addr 127.0.0.1:0 for a free port"
        }
        std::io::ErrorKind::PermissionDenied => {
            "; ports below 1024 need privileges: pass --addr 127.0.0.1:0 for a free port"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "; the address is not one of this machine's: pass --addr 127.0.0.1:0"
        }
        _ => "",
    };
    Failure::failed(
        "sandbox",
        format!("could not listen on {addr}: {why}{advice}"),
    )
}

/// The key the sandbox accepts, and whether it may be printed.
fn accepted_key(globals: &Globals) -> String {
    match &globals.api_key {
        Some(key) if !globals.api_key_from_env => key.expose().to_owned(),
        Some(_) => {
            errln!(
                "note: the sandbox ignores ACTALINK_API_KEY from the environment (it may be a real key) and accepts its own; pass --api-key to choose another"
            );
            DEFAULT_API_KEY.to_owned()
        }
        None => DEFAULT_API_KEY.to_owned(),
    }
}

/// The webhook endpoints of `--webhook-url` and `--webhook-secret`, each URL
/// read as a URL (exit 2, naming it without credentials, when it is not one).
fn endpoints(args: &Args, secret_from_env: bool) -> Result<Vec<WebhookEndpoint>, Failure> {
    for url in &args.webhook_url {
        output::http_url("--webhook-url", url).map_err(Failure::input)?;
    }
    // A secret from the environment alone is fine (it serves `webhook` too); a
    // `--webhook-secret` without a URL to use it for is a mistake.
    match (args.webhook_url.as_slice(), &args.webhook_secret) {
        ([], Some(_)) if !secret_from_env => {
            Err(Failure::input("--webhook-secret needs --webhook-url"))
        }
        ([], _) => Ok(Vec::new()),
        (_, None) => Err(Failure::input(
            "--webhook-url needs --webhook-secret (or ACTALINK_WEBHOOK_SECRET)",
        )),
        (urls, Some(secret)) => Ok(urls
            .iter()
            .map(|url| WebhookEndpoint::new(url.clone(), secret.expose()))
            .collect()),
    }
}

pub(crate) async fn run(globals: &Globals, args: Args, secret_from_env: bool) -> Outcome {
    match &args.action {
        Some(Action::Deliveries) => return drive::deliveries(globals).await,
        Some(Action::Resend(resend)) => return drive::resend(globals, resend).await,
        Some(action) => {
            if let Some((name, id)) = action.parts() {
                return drive::act(globals, name, id).await;
            }
        }
        None => {}
    }
    check_addr(&args.addr)?;
    let ttl = duration::flag(
        "session-ttl",
        &args.session_ttl,
        Duration::from_millis(1),
        actalink_sandbox::limits::MAX_SESSION_TTL,
    )?;
    let webhooks = endpoints(&args, secret_from_env)?;
    let key = accepted_key(globals);
    let mut builder = Sandbox::builder().api_keys([key.clone()]).session_ttl(ttl);
    for name in &args.allow_host {
        check_host_name(name)?;
        builder = builder.allow_host(name.clone());
    }
    if let Some(path) = &args.catalogue {
        builder = builder
            .catalogue(Catalogue::from_file(path).map_err(|e| Failure::input(e.to_string()))?);
    }
    let shown: Vec<String> = webhooks.iter().map(WebhookEndpoint::redacted_url).collect();
    // Reported on the sandbox's tasks, printed in order by one thread once
    // the banner is out.
    let (feed, backlog) = activity::queue();
    builder = builder
        .webhooks(webhooks)
        .on_activity(move |a| feed.report(a));
    let sandbox = builder
        .start(args.addr.as_str())
        .await
        .map_err(|e| match e {
            actalink_sandbox::Error::Config(_) | actalink_sandbox::Error::Catalogue(_) => {
                Failure::input(e.to_string())
            }
            actalink_sandbox::Error::Bind(why) => bind_failure(&args.addr, &why),
            other => Failure::failed("sandbox", other.to_string()),
        })?;
    // Poll the Ctrl-C future once, which installs its handler, before the
    // URL is printed: a script that interrupts as soon as it has read the URL
    // then stops the sandbox cleanly instead of killing it.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    tokio::select! {
        biased;
        result = &mut ctrl_c => {
            result.map_err(|e| Failure::failed("sandbox", format!("could not wait for Ctrl-C: {e}")))?;
            sandbox.shutdown().await;
            return Ok(());
        }
        () = std::future::ready(()) => {}
    }
    let url = sandbox.url().to_owned();
    let hosted_page = format!("{url}/payment-link/{{checkoutSessionId}}");
    let control_api = format!("{url}/__sandbox/");
    // A server, not a filter: a stdout nobody reads stops no part of it.
    if globals.json {
        let banner = serde_json::json!({
                "url": url,
                "apiKey": key,
                "hostedPage": hosted_page,
                "controlApi": control_api,
                "webhooks": shown,
        });
        stdio::out(format_args!("{banner}\n"));
    } else {
        let catalogue = match &args.catalogue {
            Some(path) => path.display().to_string(),
            None => Catalogue::default()
                .paylinks()
                .iter()
                .map(|p| p.id().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut rows = vec![
            ("  API key", key.clone()),
            ("  base URL", format!("{url}   (ACTALINK_BASE_URL)")),
            ("  hosted page", hosted_page),
            ("  control API", control_api),
            ("  paylinks", catalogue),
        ];
        if shown.is_empty() {
            rows.push((
                "  webhooks",
                "none (--webhook-url, --webhook-secret)".into(),
            ));
        }
        for (i, url) in shown.iter().enumerate() {
            rows.push((if i == 0 { "  webhooks" } else { "" }, url.clone()));
        }
        // Ready to paste into another terminal (the values are shell-quoted
        // when they need it).
        let export = format!(
            "export ACTALINK_API_KEY={} ACTALINK_BASE_URL={}",
            shell_quote(&key),
            shell_quote(&url)
        );
        stdio::out(format_args!(
            "Actalink sandbox listening on {url}\n{}\n  {}\n\nPress Ctrl-C to stop.\n",
            output::format_rows(&rows),
            output::escape(&export)
        ));
    }
    backlog.print_on_a_thread(globals.json);
    ctrl_c
        .await
        .map_err(|e| Failure::failed("sandbox", format!("could not wait for Ctrl-C: {e}")))?;
    let _ = writeln!(std::io::stderr(), "stopping the sandbox");
    sandbox.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globals(key: Option<&str>, from_env: bool) -> Globals {
        Globals {
            api_key: key.map(|k| Secret::from(k.to_owned())),
            api_key_from_env: from_env,
            base_url: None,
            json: false,
        }
    }

    #[test]
    fn only_a_key_given_on_the_command_line_replaces_the_sandboxs_own() {
        assert_eq!(accepted_key(&globals(None, false)), DEFAULT_API_KEY);
        assert_eq!(
            accepted_key(&globals(Some("sk_live_real"), true)),
            DEFAULT_API_KEY
        );
        assert_eq!(
            accepted_key(&globals(Some("sk_cli_chosen"), false)),
            "sk_cli_chosen"
        );
    }

    #[test]
    fn values_are_quoted_for_the_shell_when_they_need_it() {
        assert_eq!(shell_quote("sk_sandbox_000"), "sk_sandbox_000");
        assert_eq!(
            shell_quote("http://127.0.0.1:4010"),
            "http://127.0.0.1:4010"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn addresses_need_a_valid_port() {
        assert!(check_addr("127.0.0.1:0").is_ok());
        assert!(check_addr("localhost:4010").is_ok());
        assert!(check_addr("[::1]:4010").is_ok());
        for name in ["sandbox", "shop.test:8080", "[::1]", "SANDBOX"] {
            assert!(check_host_name(name).is_ok(), "{name}");
        }
        for name in ["a b", "", "user@host", "host:port", "host/x"] {
            assert!(check_host_name(name).is_err(), "{name}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "host:port",
            "",
        ] {
            assert!(check_addr(bad).is_err(), "{bad}");
        }
    }
}
