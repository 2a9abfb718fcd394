//! Runs the storefront: `cargo run -p storefront` (see the book's storefront
//! page for the sandbox command beside it), and its operator commands.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use actalink_checkout::CheckoutSessionId;
use actalink_payments::PaymentStatus;
use storefront::{Config, Storefront};

const USAGE: &str = "\
usage: storefront [COMMAND]

commands:
  serve                  serve the shop (the default)
  migrate                run the database migrations and exit
  dead-jobs              list the fulfilment jobs that gave up, with their last error
  retry-job SESSION_ID   run a dead fulfilment job again
  flagged                list the payments flagged for a person to review

Settings come from the environment (ACTALINK_API_KEY, ACTALINK_BASE_URL,
STOREFRONT_DATABASE_URL, STOREFRONT_ADDR, ...); see the book's storefront page.
Exit status: 0 done, 1 failed, 2 bad usage.";

/// How many rows a listing shows at most.
const LIST_LIMIT: u32 = 1000;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    Migrate,
    DeadJobs,
    RetryJob(CheckoutSessionId),
    Flagged,
    Help,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(match words.as_slice() {
        [] | ["serve"] => Command::Serve,
        ["migrate"] => Command::Migrate,
        ["dead-jobs"] => Command::DeadJobs,
        ["flagged"] => Command::Flagged,
        ["retry-job", id] => Command::RetryJob(
            CheckoutSessionId::new(*id)
                .map_err(|e| format!("{id:?} is not a checkout session id: {e}"))?,
        ),
        ["retry-job"] => return Err("retry-job needs the SESSION_ID of a dead job".into()),
        ["help" | "-h" | "--help"] => Command::Help,
        [other, ..] => return Err(format!("unknown command or extra argument: {other:?}")),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(command) => command,
        Err(message) => {
            eprintln!("storefront: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // PostgreSQL's notices (such as "relation already exists, skipping"
        // when a migration lock is passed) are not news.
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("storefront: could not start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command)) {
        Ok(code) => code,
        Err(error) => {
            // One clear sentence, not a backtrace: most failures here are settings to fix.
            eprintln!("storefront: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    // Refuses unsafe settings (a public secret with a real key, an API key
    // over plain http:// to another machine) before anything starts.
    let mut config = Config::from_env()?;
    if command == Command::Serve {
        // Bound first, so that port 0 gives a real address to the default public URL.
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        config.addr = listener.local_addr()?;
        let shop = Storefront::open(config).await?;
        println!(
            "storefront on {} (Actalink at {}, database {})",
            shop.public_url(),
            shop.config().base_url,
            shop.config().database_url
        );
        shop.serve(listener, stop_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let shop = Storefront::open(config).await?;
    let payments = shop.payments();
    match command {
        Command::Migrate => {
            println!("migrated {}", shop.config().database_url);
        }
        Command::DeadJobs => {
            let jobs = payments.dead_jobs(LIST_LIMIT).await?;
            if jobs.is_empty() {
                eprintln!("no dead fulfilment jobs");
            }
            for job in jobs {
                println!(
                    "{}\t{}\tattempts={}\t{}",
                    job.session_id,
                    job.reference,
                    job.attempts,
                    one_line(job.last_error.as_deref().unwrap_or("-"))
                );
            }
        }
        Command::RetryJob(id) => {
            if !payments.retry_dead_job(&id).await? {
                eprintln!(
                    "storefront: no dead fulfilment job for {}; `storefront dead-jobs` lists them",
                    id.as_str()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "the fulfilment job of {} runs again on the next worker",
                id.as_str()
            );
        }
        Command::Flagged => {
            let flagged = payments
                .payments_in(PaymentStatus::Flagged, LIST_LIMIT)
                .await?;
            if flagged.is_empty() {
                eprintln!("no flagged payments");
            }
            for payment in flagged {
                println!(
                    "{}\t{}\t{} {}\t{}",
                    payment.session_id.as_str(),
                    payment.reference,
                    payment.amount,
                    payment.currency,
                    one_line(payment.reason.as_deref().unwrap_or("-"))
                );
            }
        }
        Command::Serve | Command::Help => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` on one line, for a tab-separated listing.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `docker stop`, systemd and
/// Kubernetes send).
async fn stop_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
        () = terminate => tracing::info!("SIGTERM: stopping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_command_line_is_parsed_strictly() {
        assert_eq!(parse(&args(&[])), Ok(Command::Serve));
        assert_eq!(parse(&args(&["serve"])), Ok(Command::Serve));
        assert_eq!(parse(&args(&["migrate"])), Ok(Command::Migrate));
        assert_eq!(parse(&args(&["dead-jobs"])), Ok(Command::DeadJobs));
        assert_eq!(parse(&args(&["flagged"])), Ok(Command::Flagged));
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
        assert_eq!(
            parse(&args(&["retry-job", "checkout_1"])),
            Ok(Command::RetryJob(
                CheckoutSessionId::new("checkout_1").unwrap()
            ))
        );
        assert!(parse(&args(&["retry-job"])).is_err());
        assert!(parse(&args(&["retry-job", ""])).is_err());
        assert!(parse(&args(&["migrate", "now"])).is_err());
        assert!(parse(&args(&["--verbose"])).is_err());
    }
}
