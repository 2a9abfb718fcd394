//! Confirmed payments, crate against floor, side by side: the same
//! 64-concurrent deliveries as the `payments` benchmark's `confirm_crate`
//! and `confirm_floor`, in rounds of one batch each, the order swapped
//! every round. It prints each side's median wall time per event, the
//! median of the rounds' ratios, and the CPU time this process and the
//! PostgreSQL server processes spent per event (from `/proc`, Linux only).
//!
//! `cargo run --release -p actalink-bench-payments --bin payments_cpu -- sqlite|postgres [BATCHES]`
//! (PostgreSQL: a fresh database on the server named by
//! `ACTALINK_TEST_POSTGRES_URL`). On a machine where the server shares the
//! client's cores, wall time follows the CPU both sides spend.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use actalink_bench_payments::{
    Database, StatusServer, confirm_batch, connect, create_floor_tables, deliveries, verifier,
};
use actalink_payments::ReconcileSettings;

/// User and system CPU ticks (1/100 s on Linux) of the processes whose
/// `comm` is `name`, or of this process.
fn cpu_ticks(name: Option<&str>) -> u64 {
    let read = |dir: &std::path::Path| -> Option<u64> {
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    let Some(name) = name else {
        return read(std::path::Path::new("/proc/self")).unwrap_or(0);
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(|e| read(&e.path()))
        .sum()
}

#[tokio::main]
async fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let batches: u32 = std::env::args().nth(2).map_or(50, |n| n.parse().unwrap());
    let db = match backend.as_str() {
        "sqlite" => Database::sqlite("cpu"),
        "postgres" => Database::postgres("bench_payments_cpu")
            .await
            .expect("set ACTALINK_TEST_POSTGRES_URL"),
        other => panic!("sqlite or postgres, not {other}"),
    };
    let server = StatusServer::start("success").await;
    let payments = connect(&db.url, &server, ReconcileSettings::default()).await;
    create_floor_tables(&payments).await;
    let verifier = verifier();
    let mut next = 1;
    // The database server's CPU: PostgreSQL's processes; SQLite runs in this one.
    let server_ticks = || {
        if backend == "postgres" {
            cpu_ticks(Some("postgres"))
        } else {
            0
        }
    };
    // Per side: wall seconds of each round's batch, and the CPU ticks of
    // this process and of the server over all rounds.
    let mut walls: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ticks = [(0, 0); 2];
    // Two untimed rounds first: connections opened, statements prepared.
    for round in 0..batches + 2 {
        // The order swaps every round, so that a burst of noise from the
        // machine, or a database that slows as it grows, falls on both.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for floor in order {
            let side = usize::from(floor);
            let batch = deliveries(&payments, floor, next, 64).await;
            next += 64;
            let (own, server) = (cpu_ticks(None), server_ticks());
            let start = Instant::now();
            confirm_batch(&payments, &verifier, batch, floor).await;
            if round >= 2 {
                walls[side].push(start.elapsed().as_secs_f64());
                ticks[side].0 += cpu_ticks(None) - own;
                ticks[side].1 += server_ticks() - server;
            }
        }
    }
    let events = f64::from(batches) * 64.0;
    let mut ratios: Vec<f64> = walls[0].iter().zip(&walls[1]).map(|(c, f)| c / f).collect();
    for ((walls, (own, server)), side) in walls.iter().zip(ticks).zip(["crate", "floor"]) {
        // On SQLite the database runs in this process: no server line.
        let server = if backend == "postgres" {
            format!(
                ", {:.0} µs/event CPU in postgres",
                server as f64 * 1e4 / events
            )
        } else {
            String::new()
        };
        println!(
            "{backend} {side}: {:.0} µs/event wall (median of {batches} batches of 64), \
             {:.0} µs/event CPU in this process{server}",
            median(&mut walls.clone()) * 1e6 / 64.0,
            own as f64 * 1e4 / events,
        );
    }
    println!(
        "{backend} ratio: {:.2}x (median of the rounds' crate / floor times)",
        median(&mut ratios)
    );
}

/// The median of `values` (sorted in place); 0 when empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
