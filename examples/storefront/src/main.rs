//! Runs the storefront: `cargo run -p storefront` (see the README for the sandbox command beside it).

#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;

use storefront::{Config, Db, Storefront};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One clear sentence, not a backtrace: most failures here are settings to fix.
            eprintln!("storefront: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    // Refuses unsafe settings (a default secret against a real API, an API
    // key over plain http:// to another machine) before anything starts.
    let config = Config::from_env()?;
    let db = Arc::new(Db::open(&config.database)?);
    let shop = Storefront::new(config, db)?;
    // Checks pending orders (including those left from the last run) until
    // each is paid, failed or expired, so that no payment is lost.
    let _reconciler = shop.spawn_reconciler();
    let config = shop.config();
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!(
        "storefront on {} (Actalink at {}, database {})",
        config.public_url,
        config.base_url,
        config.database.display()
    );
    axum::serve(listener, shop.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
