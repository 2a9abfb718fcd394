//! Instruction-level view of the client overhead: `calls sdk N` or
//! `calls bare N` makes N sequential `get_session` calls against the minimal
//! keep-alive server on a single-threaded runtime, after 100 warm-up calls of
//! each kind, and prints the time per call. Run it under
//! `valgrind --tool=callgrind` once per side: the difference between the two
//! instruction totals, divided by N, is what the SDK adds to each call,
//! without the noise of wall-clock time (see docs/src/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use actalink_bench::Setup;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: calls sdk|bare N";
    let sdk = match args.next().as_deref() {
        Some("sdk") => true,
        Some("bare") => false,
        _ => panic!("{usage}"),
    };
    let calls: usize = args.next().and_then(|n| n.parse().ok()).expect(usage);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let setup = Setup::start_minimal().await;
        for _ in 0..100 {
            setup.get(true).await;
            setup.get(false).await;
        }
        let start = Instant::now();
        for _ in 0..calls {
            setup.get(sdk).await;
        }
        let side = if sdk { "sdk" } else { "bare" };
        let per_call = start.elapsed().as_secs_f64() * 1e6 / calls as f64;
        println!("{side}: {per_call:.2} µs per call over {calls} calls");
    });
}
