//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure:
//!   formatting, clippy, the architecture invariants, unused dependencies,
//!   the tests, the docs, and packaging of the publishable crates.
//! - `docs`: the book (mdBook, as a library) and the rustdoc into the target
//!   directory, failing on a broken internal link or an uncompiled sample.
//! - `difftest [--docs N]`: the long differential webhook test against Node.js.
//! - `load [--sessions N] [--orders N]`: the load run (50,000 sessions at
//!   concurrency 64) against a sandbox in its own process, then the storefront
//!   cluster run (1,000 orders through three instances on one PostgreSQL, one
//!   killed halfway).
//! - `fuzz [--cases N] [--seconds N]`: the property-based fuzzers with many
//!   cases, then the cargo-fuzz targets for a bounded time each.
//! - `bench [--no-build-cost | --build-cost-only]`: the criterion benchmarks,
//!   with the Node.js reference run beside them on the same payloads, reported as ratios.

#![allow(clippy::print_stdout)] // A command-line tool: stdout is its interface.

mod bench;
mod ci;
mod docs;
mod flags;
mod fuzz;
mod load;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use flags::Flags;

const USAGE: &str = "usage: cargo xtask <ci | docs | difftest [--docs N] | load [--sessions N] [--orders N] | fuzz [--cases N] [--seconds N] | bench [--no-build-cost | --build-cost-only]>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    let Some((task, rest)) = args.split_first() else {
        println!("{USAGE}");
        bail!("no task given");
    };
    match task.as_str() {
        "ci" => {
            Flags::parse(rest, &[], &[])?;
            ci::ci()
        }
        "docs" => {
            Flags::parse(rest, &[], &[])?;
            docs::docs()
        }
        "difftest" => {
            let flags = Flags::parse(rest, &["--docs"], &[])?;
            fuzz::difftest(flags.number("--docs", 200_000)?)
        }
        "load" => {
            let flags = Flags::parse(rest, &["--sessions", "--orders"], &[])?;
            load::load(
                flags.number("--sessions", 50_000)?,
                flags.number("--orders", 1_000)?,
            )
        }
        "fuzz" => {
            let flags = Flags::parse(rest, &["--cases", "--seconds"], &[])?;
            fuzz::fuzz(
                flags.number("--cases", 50_000)?,
                flags.number("--seconds", 60)?,
            )
        }
        "bench" => {
            let flags = Flags::parse(rest, &[], &["--no-build-cost", "--build-cost-only"])?;
            bench::bench(
                !flags.switch("--no-build-cost"),
                flags.switch("--build-cost-only"),
            )
        }
        other => {
            println!("{USAGE}");
            bail!("unknown task `{other}`")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // `cargo run` passes its jobserver down; a nested cargo given it builds with
    // fewer jobs than the machine has, so each step starts with a full set.
    command
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS");
    command
}

/// Runs one step, printing a one-line summary; fails the whole task on failure.
fn step(name: &str, mut command: Command) -> Result<()> {
    println!("==> {name}");
    let start = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("could not start `{name}`"))?;
    let secs = start.elapsed().as_secs_f32();
    if !status.success() {
        println!("FAILED: {name} ({secs:.1}s)");
        bail!("step `{name}` failed");
    }
    println!("ok: {name} ({secs:.1}s)");
    Ok(())
}

/// Runs `command` to completion and returns what it printed; fails with its
/// stderr when it exits unsuccessfully.
fn output_of(what: &str, mut command: Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("could not run {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8(output.stdout).with_context(|| format!("{what} printed other than UTF-8"))
}

/// Prints each finding as `{kind}: {finding}`, then fails with the count and
/// `summary` when there is any.
fn fail_on_findings(kind: &str, findings: &[String], summary: &str) -> Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    for finding in findings {
        println!("{kind}: {finding}");
    }
    bail!("{} {summary}", findings.len())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}
