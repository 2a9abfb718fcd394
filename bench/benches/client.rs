//! Client overhead: `get_session` through the SDK versus bare reqwest +
//! serde_json into the same struct, both against the sandbox on loopback,
//! sequential and 64 at a time; and sandbox creates at 64 concurrent.

#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actalink_bench::Setup;
use actalink_checkout::CreateCheckoutSession;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Runs `op` `iters` times, one after another, on `runtime`; the time taken.
fn time_in_a_row<F: Future>(runtime: &Runtime, iters: u64, mut op: impl FnMut() -> F) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            op().await;
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let setup = Arc::new(runtime.block_on(Setup::start()));
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(1));
    for (name, sdk) in [("sequential/sdk", true), ("sequential/bare_reqwest", false)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| time_in_a_row(&runtime, iters, || setup.get(sdk)));
        });
    }
    group.throughput(Throughput::Elements(64));
    for (name, sdk) in [
        ("concurrent64/sdk", true),
        ("concurrent64/bare_reqwest", false),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| time_in_a_row(&runtime, iters, || setup.batch64(sdk)));
        });
    }
    group.bench_function("concurrent64/sandbox_creates", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..64 {
                        let client = setup.client.clone();
                        set.spawn(async move {
                            let request =
                                CreateCheckoutSession::builder(actalink_sandbox::EBOOK_PAYLINK)
                                    .metadata("internal_order_id", format!("BENCH-{i}"))
                                    .build()
                                    .unwrap();
                            client.create_session(&request).await.unwrap();
                        });
                    }
                    while set.join_next().await.is_some() {}
                    elapsed += start.elapsed();
                }
                elapsed
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
