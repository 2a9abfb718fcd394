//! `cargo xtask load`: the full load run against a sandbox in another process.
//!
//! Usage: `load <sandbox-url> <api-key> [sessions] [concurrency]`. The sandbox
//! must deliver webhooks to the URL this program prints on its first line; the
//! xtask arranges that through the sandbox's control API.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use actalink_testkit::SandboxControl;
use actalink_testkit::load as harness;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, key) = (args[0].clone(), args[1].clone());
    let sessions: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let concurrency: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let receiver = harness::receiver(0).await;
    // Register the receiver with the sandbox.
    SandboxControl::new(&url)
        .add_webhook(&receiver.url, harness::SECRET)
        .await
        .unwrap();

    // The memory figure compares the first 10,000 calls with the last 10,000.
    let first = (sessions * 3).min(10_000);
    let report = harness::run(&url, &key, &receiver, sessions, concurrency, first).await;
    let growth = |from: u64, to: u64| (to as f64 - from as f64) / from.max(1) as f64 * 100.0;
    // The run above keeps per-session bookkeeping (ids, latencies, the receiver's
    // counts) that grows by design; the client's own memory is measured apart.
    let client_calls = sessions.max(20_000);
    let (client_first, client_end) =
        harness::client_memory(&url, &key, client_calls, concurrency, 10_000).await;
    let client_growth = growth(client_first, client_end);
    println!("sessions            {}", report.sessions);
    println!(
        "calls               {} (create, get, get after paying)",
        report.calls
    );
    println!("errors              {}", report.errors.len());
    println!(
        "distinct sessions   {} (sandbox holds {})",
        report.distinct_ids, report.sandbox_sessions
    );
    println!(
        "latency p50 / p99   {:.2} ms / {:.2} ms",
        report.p50.as_secs_f64() * 1e3,
        report.p99.as_secs_f64() * 1e3
    );
    println!(
        "throughput          {:.0} calls/s over {:.1} s",
        report.calls as f64 / report.elapsed.as_secs_f64(),
        report.elapsed.as_secs_f64()
    );
    println!(
        "harness RSS         {} KiB at start, {} KiB after {first} calls, {} KiB at the end ({:+.1} %, the harness's own bookkeeping included)",
        report.rss_start_kib,
        report.rss_after_first_kib,
        report.rss_end_kib,
        growth(report.rss_after_first_kib, report.rss_end_kib)
    );
    println!(
        "client RSS          {client_first} KiB after 10000 calls, {client_end} KiB after {client_calls} ({client_growth:+.1} %)"
    );
    println!(
        "webhooks            {} exactly once, {} missing, {} duplicated",
        report.webhooks_exactly_once, report.webhooks_missing, report.webhooks_duplicated
    );
    for error in report.errors.iter().take(5) {
        println!("error: {error}");
    }
    let ok = report.errors.is_empty()
        && report.distinct_ids == sessions
        && report.sandbox_sessions as usize == sessions
        && report.webhooks_exactly_once == sessions
        && client_growth < 10.0;
    println!("load: {}", if ok { "PASS" } else { "FAIL" });
    std::process::exit(if ok { 0 } else { 1 });
}
