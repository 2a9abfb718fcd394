//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure:
//!   formatting, clippy, the architecture invariants, the tests, the docs.
//! - `difftest [--docs N]`: the long differential webhook test against Node.js.

#![allow(clippy::print_stdout)] // A command-line tool: stdout is its interface.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("difftest") => difftest(&args[1..]),
        _ => {
            println!("usage: cargo xtask <ci | difftest [--docs N]>");
            bail!("unknown or missing task")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
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

/// Runs the tests, streaming their output while adding up the passed and failed counts.
fn tests(name: &str, mut command: Command) -> Result<(u64, u64)> {
    println!("==> {name}");
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{name}`"))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let status = child.wait()?;
    let secs = start.elapsed().as_secs_f32();
    if !status.success() {
        println!("FAILED: {name} ({secs:.1}s)");
        bail!("step `{name}` failed");
    }
    println!("ok: {name}: {passed} passed, {failed} failed ({secs:.1}s)");
    Ok((passed, failed))
}

/// Reads the number before `label` in a libtest summary such as `ok. 12 passed; 0 failed; …`.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| part.trim().strip_suffix(label.trim()))
        .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

fn ci() -> Result<()> {
    let start = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    step("fmt", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    step("clippy", clippy)?;

    invariants()?;

    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features"]);
    let (passed, failed) = tests("test", test)?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("doc", doc)?;

    println!("ci passed in {:.0}s", start.elapsed().as_secs_f32());
    println!("ci: {passed} passed, {failed} failed");
    Ok(())
}

/// Checks the dependency rules of `docs/architecture.md` on the real dependency graph.
fn invariants() -> Result<()> {
    println!("==> invariants");
    let start = Instant::now();
    let rules: &[(&str, &[&str], &[&str])] = &[
        (
            "actalink-types",
            &["--no-default-features"],
            &["tokio", "reqwest", "hyper", "axum", "mio"],
        ),
        (
            "actalink-types",
            &[],
            &["tokio", "reqwest", "hyper", "axum", "mio"],
        ),
        ("actalink-transport", &[], &["openssl-sys", "native-tls"]),
        (
            "actalink-checkout",
            &[],
            &["openssl-sys", "native-tls", "axum"],
        ),
    ];
    for (package, flags, forbidden) in rules {
        if !Path::new("crates").join(package).exists() {
            continue;
        }
        let output = cargo()
            .args([
                "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .args(*flags)
            .output()
            .context("could not run cargo tree")?;
        if !output.status.success() {
            bail!(
                "cargo tree -p {package} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if forbidden.contains(&name) {
                println!("FAILED: invariants: {package} {flags:?} depends on {name}");
                bail!("architecture invariant broken");
            }
        }
    }
    let mut types_alone = cargo();
    types_alone.args([
        "build",
        "--quiet",
        "-p",
        "actalink-types",
        "--no-default-features",
    ]);
    if !types_alone.status()?.success() {
        bail!("actalink-types does not build alone with no default features");
    }
    println!("ok: invariants ({:.1}s)", start.elapsed().as_secs_f32());
    Ok(())
}

fn difftest(args: &[String]) -> Result<()> {
    let docs = match args {
        [flag, n] if flag == "--docs" => n.parse::<u64>().context("--docs takes a number")?,
        [] => 200_000,
        _ => bail!("usage: cargo xtask difftest [--docs N]"),
    };
    let mut test = cargo();
    test.args([
        "test",
        "--release",
        "-p",
        "actalink-webhooks",
        "--test",
        "it",
        "differential",
        "--",
        "--nocapture",
    ])
    .env("ACTALINK_DIFF_DOCS", docs.to_string());
    step(
        &format!("differential test against Node.js, {docs} documents"),
        test,
    )
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_libtest_summaries() {
        let line =
            "ok. 12 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(count(line, " passed"), 12);
        assert_eq!(count(line, " failed"), 3);
        assert_eq!(count("FAILED. 1 passed; 2 failed; 0 ignored", " failed"), 2);
    }
}
