//! Decoding the documented status response into `CheckoutSession`: per
//! second, and allocations per decode. The SDK decodes with plain serde_json
//! and re-runs the path-tracking decoder only when that fails, to name the
//! JSON path in the error; both are measured.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;

use actalink_checkout::CheckoutSession;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    data: CheckoutSession,
}

const FIXTURE: &str =
    include_str!("../../crates/actalink-types/tests/data/session-status-success.200.json");

fn plain(body: &[u8]) -> CheckoutSession {
    serde_json::from_slice::<Envelope>(body).unwrap().data
}

fn with_path(body: &[u8]) -> CheckoutSession {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, Envelope>(&mut deserializer)
        .unwrap()
        .data
}

fn allocations_per_decode(decode: fn(&[u8]) -> CheckoutSession) -> u64 {
    let body = FIXTURE.as_bytes();
    allocation_counter::measure(|| {
        black_box(decode(black_box(body)));
    })
    .count_total
}

fn bench(c: &mut Criterion) {
    let body = FIXTURE.as_bytes();
    let dir = std::env::temp_dir().join("actalink-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let report = format!(
        "serde_json {}\npath_to_error {}\n",
        allocations_per_decode(plain),
        allocations_per_decode(with_path)
    );
    std::fs::write(dir.join("allocations.txt"), &report).unwrap();
    println!("allocations per decode:\n{report}");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("serde_json", |b| b.iter(|| plain(black_box(body))));
    group.bench_function("path_to_error", |b| b.iter(|| with_path(black_box(body))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
