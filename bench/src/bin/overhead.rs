//! Client overhead, measured interleaved: rounds alternate SDK and bare
//! reqwest batches (the order swapped every round) against one in-process
//! server, so that machine noise hits both sides alike. Two servers: the
//! sandbox, and a minimal keep-alive responder (the tightest floor). Prints the
//! median per-round ratio and each side's median rate, sequential and at 64
//! concurrent, for each server, on a multi-threaded runtime; then sequential
//! against the minimal server on a single-threaded one.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actalink_bench::Setup;

const ROUNDS: usize = 31;
const SEQUENTIAL_CALLS: usize = 300;
const BATCHES: usize = 20;

async fn sequential(setup: &Setup, sdk: bool) -> Duration {
    let start = Instant::now();
    for _ in 0..SEQUENTIAL_CALLS {
        setup.get(sdk).await;
    }
    start.elapsed()
}

async fn concurrent(setup: &Arc<Setup>, sdk: bool) -> Duration {
    let start = Instant::now();
    for _ in 0..BATCHES {
        setup.batch64(sdk).await;
    }
    start.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // The multi-threaded runtime most servers run: both servers, both modes.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for (server, setup) in [
            ("sandbox", Setup::start().await),
            ("minimal", Setup::start_minimal().await),
        ] {
            measure(server, Arc::new(setup), &MODES).await;
        }
    });
    // One thread, on which the client and the minimal server take turns. On
    // the multi-threaded runtime a sequential call waits for wake-ups from
    // another thread, which move its ratio by up to ±5 % even between two
    // identical sides; here nothing waits for another thread, and what is
    // left of the difference is the SDK's own work.
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    one_thread.block_on(async {
        let setup = Arc::new(Setup::start_minimal().await);
        measure("minimal-one-thread", setup, &MODES[..1]).await;
    });
}

/// The modes measured, with the calls each round makes per side.
const MODES: [(&str, usize); 2] = [
    ("sequential", SEQUENTIAL_CALLS),
    ("concurrent64", BATCHES * 64),
];

async fn measure(server: &str, setup: Arc<Setup>, modes: &[(&str, usize)]) {
    // Warm both connection pools.
    sequential(&setup, true).await;
    sequential(&setup, false).await;
    for &(name, calls) in modes {
        let (mut ratios, mut sdk_rates, mut bare_rates) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let time = |sdk: bool| {
                let setup = Arc::clone(&setup);
                async move {
                    if name == "sequential" {
                        sequential(&setup, sdk).await
                    } else {
                        concurrent(&setup, sdk).await
                    }
                }
            };
            let (sdk, bare) = if round % 2 == 0 {
                let sdk = time(true).await;
                (sdk, time(false).await)
            } else {
                let bare = time(false).await;
                (time(true).await, bare)
            };
            ratios.push(sdk.as_secs_f64() / bare.as_secs_f64());
            sdk_rates.push(calls as f64 / sdk.as_secs_f64());
            bare_rates.push(calls as f64 / bare.as_secs_f64());
        }
        println!(
            "{server}/{name} ratio {:.3} sdk_calls_per_s {:.0} bare_calls_per_s {:.0}",
            median(&mut ratios),
            median(&mut sdk_rates),
            median(&mut bare_rates)
        );
    }
}
