//! `actalink sandbox`: serve the emulator until Ctrl-C.
//!
//! The sandbox accepts its own key, [`DEFAULT_API_KEY`], unless `--api-key` is
//! given on the command line. A key exported in `ACTALINK_API_KEY` is likely a
//! real one: it is neither accepted nor printed.

use std::path::PathBuf;

use actalink_sandbox::{Catalogue, DEFAULT_API_KEY, Sandbox, WebhookEndpoint};

use crate::{Failure, Globals, Outcome, Secret, output};

/// Sandbox options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen (HOST:PORT; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4010")]
    addr: String,
    /// Deliver signed webhooks to this URL (needs a webhook secret).
    #[arg(long)]
    webhook_url: Option<String>,
    /// The secret to sign webhooks with (default: $ACTALINK_WEBHOOK_SECRET).
    #[arg(long, env = "ACTALINK_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<Secret>,
    /// A JSON catalogue of paylinks (default: two sample products).
    #[arg(long)]
    catalogue: Option<PathBuf>,
}

/// `HOST:PORT` with a port that fits in 16 bits; the host is resolved on bind.
fn check_addr(addr: &str) -> Result<(), Failure> {
    let port = addr.rsplit_once(':').map(|(_, port)| port);
    match port.map(str::parse::<u16>) {
        Some(Ok(_)) => Ok(()),
        _ => Err(Failure::Input(format!(
            "--addr {addr:?} must be HOST:PORT with a port from 0 to 65535"
        ))),
    }
}

/// The key the sandbox accepts, and whether it may be printed.
fn accepted_key(globals: &Globals) -> String {
    match &globals.api_key {
        Some(key) if !globals.api_key_from_env => key.expose().to_owned(),
        Some(_) => {
            eprintln!(
                "note: the sandbox ignores ACTALINK_API_KEY from the environment (it may be a real key) and accepts its own; pass --api-key to choose another"
            );
            DEFAULT_API_KEY.to_owned()
        }
        None => DEFAULT_API_KEY.to_owned(),
    }
}

pub(crate) async fn run(globals: &Globals, args: Args, secret_from_env: bool) -> Outcome {
    check_addr(&args.addr)?;
    // A secret from the environment alone is fine (it serves `webhook` too); a
    // `--webhook-secret` without a URL to use it for is a mistake.
    let webhook = match (&args.webhook_url, &args.webhook_secret) {
        (Some(url), Some(secret)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Failure::Input(format!(
                    "--webhook-url {url:?} must be an http or https URL"
                )));
            }
            Some(WebhookEndpoint::new(url.clone(), secret.expose()))
        }
        (Some(_), None) => {
            return Err(Failure::Input(
                "--webhook-url needs --webhook-secret (or ACTALINK_WEBHOOK_SECRET)".into(),
            ));
        }
        (None, Some(_)) if !secret_from_env => {
            return Err(Failure::Input(
                "--webhook-secret needs --webhook-url".into(),
            ));
        }
        (None, _) => None,
    };
    let key = accepted_key(globals);
    let mut builder = Sandbox::builder().api_keys([key.clone()]);
    if let Some(path) = &args.catalogue {
        builder = builder
            .catalogue(Catalogue::from_file(path).map_err(|e| Failure::Input(e.to_string()))?);
    }
    if let Some(endpoint) = webhook {
        builder = builder.webhook(endpoint);
    }
    let sandbox = builder
        .start(args.addr.as_str())
        .await
        .map_err(|e| match e {
            actalink_sandbox::Error::Config(_) | actalink_sandbox::Error::Catalogue(_) => {
                Failure::Input(e.to_string())
            }
            other => Failure::Operation(other.to_string()),
        })?;
    let url = sandbox.url().to_owned();
    if globals.json {
        println!(
            "{}",
            serde_json::json!({
                "url": url,
                "apiKey": key,
                "hostedPage": format!("{url}/payment-link/{{checkoutSessionId}}"),
                "controlApi": format!("{url}/__sandbox/"),
            })
        );
    } else {
        println!("Actalink sandbox listening on {url}");
        let paylinks: Vec<String> = Catalogue::default()
            .paylinks()
            .iter()
            .map(|p| p.id.clone())
            .collect();
        let catalogue = match &args.catalogue {
            Some(path) => path.display().to_string(),
            None => paylinks.join(", "),
        };
        output::print_rows(&[
            ("  API key", key),
            ("  base URL", format!("{url}   (ACTALINK_BASE_URL)")),
            (
                "  hosted page",
                format!("{url}/payment-link/{{checkoutSessionId}}"),
            ),
            ("  control API", format!("{url}/__sandbox/")),
            ("  paylinks", catalogue),
            (
                "  webhooks",
                args.webhook_url
                    .clone()
                    .unwrap_or_else(|| "none (--webhook-url, --webhook-secret)".into()),
            ),
        ]);
        println!("Press Ctrl-C to stop.");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::Operation(format!("could not wait for Ctrl-C: {e}")))?;
    eprintln!("stopping the sandbox");
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
    fn addresses_need_a_valid_port() {
        assert!(check_addr("127.0.0.1:0").is_ok());
        assert!(check_addr("localhost:4010").is_ok());
        assert!(check_addr("[::1]:4010").is_ok());
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
