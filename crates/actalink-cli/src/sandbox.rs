//! `actalink sandbox`: serve the emulator until Ctrl-C.

use std::path::PathBuf;

use actalink_sandbox::{Catalogue, DEFAULT_API_KEY, Sandbox, WebhookEndpoint};

use crate::{Failure, Globals, Outcome, output};

/// Sandbox options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:4010")]
    addr: String,
    /// Deliver signed webhooks to this URL.
    #[arg(long, requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The secret to sign webhooks with.
    #[arg(long, requires = "webhook_url")]
    webhook_secret: Option<String>,
    /// A JSON catalogue of paylinks (default: two sample products).
    #[arg(long)]
    catalogue: Option<PathBuf>,
}

pub(crate) async fn run(globals: &Globals, args: Args) -> Outcome {
    let mut builder = Sandbox::builder();
    let key = globals
        .api_key
        .clone()
        .unwrap_or_else(|| DEFAULT_API_KEY.to_owned());
    builder = builder.api_keys([key.clone()]);
    if let Some(path) = &args.catalogue {
        builder = builder
            .catalogue(Catalogue::from_file(path).map_err(|e| Failure::Input(e.to_string()))?);
    }
    if let (Some(url), Some(secret)) = (&args.webhook_url, &args.webhook_secret) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Failure::Input(format!(
                "--webhook-url {url:?} must be an http or https URL"
            )));
        }
        builder = builder.webhook(WebhookEndpoint::new(url.clone(), secret.clone()));
    }
    let sandbox = builder
        .start(args.addr.as_str())
        .await
        .map_err(|e| Failure::Operation(e.to_string()))?;
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
