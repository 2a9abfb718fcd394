//! Runs the storefront: `cargo run -p storefront` (see the README for the sandbox command beside it).

#![allow(clippy::print_stdout)]

use std::sync::Arc;

use storefront::{Config, Db, app};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let config = Config::from_env()?;
    let db = Arc::new(Db::open(&config.database)?);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!(
        "storefront on {} (Actalink at {}, database {})",
        config.public_url,
        config.base_url,
        config.database.display()
    );
    axum::serve(listener, app(config, db)?)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
