//! Durable payments (`actalink-payments`) on SQLite and, when
//! `ACTALINK_TEST_POSTGRES_URL` names a server, on PostgreSQL:
//!
//! - `confirm_crate` / `confirm_floor`: 64 concurrent webhook deliveries,
//!   each verified and confirmed as paid by a status call to a minimal
//!   keep-alive server: through `Payments::handle_event`, and through the
//!   hand-written floor (verify, one `INSERT … ON CONFLICT DO NOTHING`, the
//!   same status call, one conditional `UPDATE`), on the same database.
//! - `reconcile_1000` / `reconcile_100000`: one `reconcile_due` scan of 100
//!   due payments among 1,000 and then 100,000 pending ones that are not due.
//! - `fulfil`: 64 due fulfilment jobs claimed and completed by 4 lanes.
//!
//! Set-up (recording payments, signing webhooks, seeding, making records due
//! again) is not timed. `cargo xtask bench` reads the estimates and prints
//! the ratios.

#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actalink_bench_payments::{
    Database, StatusServer, analyze, confirm_batch, connect, create_floor_tables, deliveries,
    make_due, seed_jobs, seed_open, verifier,
};
use actalink_payments::ReconcileSettings;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Concurrent webhook deliveries per iteration.
const DELIVERIES: u64 = 64;
/// Due payments per reconciler scan.
const DUE: u64 = 100;
/// Pending payments that are not due, measured in turn.
const PENDING: [u64; 2] = [1_000, 100_000];
/// Fulfilment jobs per iteration, and the lanes claiming them.
const JOBS: u64 = 64;
const LANES: usize = 4;

static NEXT: AtomicU64 = AtomicU64::new(1);

fn next() -> u64 {
    next_block(1)
}

/// The first of `count` numbers no other caller gets.
fn next_block(count: u64) -> u64 {
    NEXT.fetch_add(count, Ordering::Relaxed)
}

/// Runs `iters` iterations of `setup` (untimed) then `timed`; the time the
/// timed parts took.
fn time_each<S, SF, T, TF>(runtime: &Runtime, iters: u64, mut setup: S, mut timed: T) -> Duration
where
    S: FnMut() -> SF,
    SF: Future,
    T: FnMut(SF::Output) -> TF,
    TF: Future,
{
    runtime.block_on(async {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            let input = setup().await;
            let start = Instant::now();
            timed(input).await;
            elapsed += start.elapsed();
        }
        elapsed
    })
}

fn confirm(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    db: &Database,
    server: &StatusServer,
) {
    let payments = runtime.block_on(connect(&db.url, server, ReconcileSettings::default()));
    runtime.block_on(create_floor_tables(&payments));
    let verifier = verifier();
    group.throughput(Throughput::Elements(DELIVERIES));
    for (floor, name) in [(false, "confirm_crate"), (true, "confirm_floor")] {
        group.bench_function(BenchmarkId::new(name, db.backend), |b| {
            b.iter_custom(|iters| {
                time_each(
                    runtime,
                    iters,
                    || deliveries(&payments, floor, next_block(DELIVERIES), DELIVERIES),
                    |batch| confirm_batch(&payments, &verifier, batch, floor),
                )
            });
        });
    }
}

fn reconcile(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    db: &Database,
    server: &StatusServer,
) {
    let settings = ReconcileSettings::default().with_batch(u32::try_from(DUE).unwrap());
    let payments = runtime.block_on(connect(&db.url, server, settings));
    runtime.block_on(seed_open(&payments, "due", 1, DUE, -1000));
    let mut seeded = 0;
    group.throughput(Throughput::Elements(DUE));
    for pending in PENDING {
        runtime.block_on(async {
            // Not due for a day: in the table, out of every scan's way.
            seed_open(&payments, "idle", seeded + 1, pending, 86_400_000).await;
            analyze(&payments).await;
        });
        seeded = pending;
        group.bench_function(
            BenchmarkId::new(format!("reconcile_{pending}"), db.backend),
            |b| {
                b.iter_custom(|iters| {
                    time_each(
                        runtime,
                        iters,
                        || make_due(&payments, "due", DUE),
                        |()| async {
                            let report = payments.reconcile_due().await.unwrap();
                            assert_eq!((report.checked, report.errors), (DUE as usize, 0));
                        },
                    )
                });
            },
        );
    }
}

fn fulfil(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    db: &Database,
    server: &StatusServer,
) {
    let payments = runtime.block_on(connect(&db.url, server, ReconcileSettings::default()));
    group.throughput(Throughput::Elements(JOBS));
    group.bench_function(BenchmarkId::new("fulfil", db.backend), |b| {
        b.iter_custom(|iters| {
            time_each(
                runtime,
                iters,
                || async { seed_jobs(&payments, &format!("job{:08}", next()), JOBS).await },
                |()| async {
                    let mut lanes = JoinSet::new();
                    for _ in 0..LANES {
                        let payments = payments.clone();
                        lanes.spawn(async move {
                            let mut done = 0;
                            while let Some(job) =
                                payments.claim_job(Duration::from_secs(30)).await.unwrap()
                            {
                                payments.complete_job(&job).await.unwrap();
                                done += 1;
                            }
                            done
                        });
                    }
                    let mut done = 0;
                    while let Some(lane) = lanes.join_next().await {
                        done += lane.unwrap();
                    }
                    assert_eq!(done, JOBS);
                },
            )
        });
    });
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let success = runtime.block_on(StatusServer::start("success"));
    let open = runtime.block_on(StatusServer::start("open"));
    let mut group = c.benchmark_group("payments");
    // Each iteration is tens of milliseconds and the machine is shared:
    // few samples, each of the same number of iterations.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for backend in ["sqlite", "postgres"] {
        let database = |name: &str| match backend {
            "sqlite" => Some(Database::sqlite(name)),
            _ => runtime.block_on(Database::postgres(name)),
        };
        let Some(db) = database("bench_payments_confirm") else {
            eprintln!(
                "PostgreSQL skipped: set ACTALINK_TEST_POSTGRES_URL (`eval \"$(.ci/postgres)\"` starts a server)"
            );
            continue;
        };
        confirm(&mut group, &runtime, &db, &success);
        let db = database("bench_payments_reconcile").unwrap();
        reconcile(&mut group, &runtime, &db, &open);
        let db = database("bench_payments_fulfil").unwrap();
        fulfil(&mut group, &runtime, &db, &success);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
