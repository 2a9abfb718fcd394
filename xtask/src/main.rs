//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure:
//!   formatting, clippy, the architecture invariants, the tests, the docs.
//! - `docs`: the book (mdBook, as a library) and the rustdoc into the target
//!   directory, failing on a broken internal link.
//! - `difftest [--docs N]`: the long differential webhook test against Node.js.
//! - `load [--sessions N]`: the load run (50,000 sessions at concurrency 64)
//!   against a sandbox in its own process.
//! - `fuzz [--cases N] [--seconds N]`: the property-based fuzzers with many
//!   cases, then the cargo-fuzz targets (webhook verifier, session decoder)
//!   for a bounded time each.
//! - `bench`: the criterion benchmarks, with the Node.js reference run beside
//!   them on the same payloads, reported as ratios.

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
        Some("bench") => bench(&args[1..]),
        Some("docs") => docs(),
        Some("load") => load(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        _ => {
            println!(
                "usage: cargo xtask <ci | docs | difftest [--docs N] | load [--sessions N] | fuzz [--cases N] [--seconds N] | bench>"
            );
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

    docs()?;

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

/// Builds the rustdoc and the book into the target directory.
fn docs() -> Result<()> {
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("rustdoc", doc)?;

    println!("==> book");
    let start = Instant::now();
    check_links(Path::new("docs/src"))?;
    let mut book = mdbook_driver::MDBook::load("docs")
        .map_err(|e| anyhow::anyhow!("could not load the book: {e:#}"))?;
    let out = std::fs::canonicalize(".")?.join(target_dir()).join("book");
    book.config.build.build_dir = out.clone();
    book.build()
        .map_err(|e| anyhow::anyhow!("could not build the book: {e:#}"))?;
    println!(
        "ok: book in {} ({:.1}s)",
        out.display(),
        start.elapsed().as_secs_f32()
    );
    Ok(())
}

/// Fails on a link or `{{#include}}` in the book's sources that points at a missing file.
fn check_links(src: &Path) -> Result<()> {
    let mut broken = Vec::new();
    let mut pages = 0;
    for entry in std::fs::read_dir(src)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        pages += 1;
        let text = std::fs::read_to_string(&path)?;
        let base = path.parent().unwrap_or(src);
        let mut targets: Vec<String> = Vec::new();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].to_owned());
            }
        }
        for (i, _) in text.match_indices("{{#include ") {
            let rest = &text[i + "{{#include ".len()..];
            if let Some(end) = rest.find("}}") {
                targets.push(rest[..end].trim().to_owned());
            }
        }
        for target in targets {
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap_or("");
            if !file.is_empty() && !base.join(file).exists() {
                broken.push(format!("{}: {target}", path.display()));
            }
        }
    }
    if !broken.is_empty() {
        for link in &broken {
            println!("broken link: {link}");
        }
        bail!("{} broken internal link(s) in the book", broken.len());
    }
    println!("links: {pages} pages, no broken internal link");
    Ok(())
}

/// Parses `[--flag N]`.
fn number_flag(args: &[String], flag: &str, default: u64) -> Result<u64> {
    match args {
        [] => Ok(default),
        [f, n] if f == flag => n.parse().with_context(|| format!("{flag} takes a number")),
        _ => bail!("usage: {flag} N"),
    }
}

fn load(args: &[String]) -> Result<()> {
    let sessions = number_flag(args, "--sessions", 50_000)?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "actalink-cli",
        "-p",
        "actalink-sandbox",
        "--examples",
        "--bins",
    ]);
    step("build (release)", build)?;
    let release = target_dir().join("release");
    let key = "sk_load_0000000000000000000000000000000000";
    let mut sandbox = Command::new(release.join("actalink"))
        .args([
            "--api-key",
            key,
            "--json",
            "sandbox",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start the sandbox")?;
    let mut first = String::new();
    if let Some(stdout) = sandbox.stdout.take() {
        BufReader::new(stdout).read_line(&mut first)?;
    }
    let url = first
        .split("\"url\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sandbox did not print its URL")?
        .to_owned();
    println!("==> load: {sessions} sessions at concurrency 64 against {url} (a separate process)");
    let status = Command::new(release.join("examples/load"))
        .args([url.as_str(), key, &sessions.to_string(), "64"])
        .status();
    let _ = Command::new("kill")
        .args(["-INT", &sandbox.id().to_string()])
        .status();
    let _ = sandbox.wait();
    if !status.context("could not run the load example")?.success() {
        bail!("the load run failed");
    }
    Ok(())
}

fn fuzz(args: &[String]) -> Result<()> {
    let (mut cases, mut seconds) = (50_000u64, 60u64);
    for pair in args.chunks(2) {
        match pair {
            [flag, n] if flag == "--cases" => {
                cases = n.parse().context("--cases takes a number")?
            }
            [flag, n] if flag == "--seconds" => {
                seconds = n.parse().context("--seconds takes a number")?
            }
            _ => bail!("usage: cargo xtask fuzz [--cases N] [--seconds N]"),
        }
    }
    let runs: &[(&str, &str)] = &[
        ("actalink-types", "hostile"),
        ("actalink-webhooks", "props"),
    ];
    for (package, filter) in runs {
        let mut test = cargo();
        test.args(["test", "--release", "-p", package, "--test", "it", filter])
            .env("PROPTEST_CASES", cases.to_string());
        step(
            &format!("proptest {package} {filter}, {cases} cases per property"),
            test,
        )?;
    }
    // Coverage-guided fuzzing with libFuzzer. `--sanitizer none` builds on the
    // stable toolchain; the crates forbid `unsafe`, so AddressSanitizer would
    // add little.
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        bail!("cargo-fuzz is not installed: run `cargo install cargo-fuzz`, then this again");
    }
    for target in ["verifier", "session_decoder"] {
        let corpus = std::fs::canonicalize(".")?
            .join(target_dir())
            .join("fuzz-corpus")
            .join(target);
        std::fs::create_dir_all(&corpus)?;
        println!("==> cargo fuzz {target}, {seconds} s");
        let output = cargo()
            .current_dir("fuzz")
            .args(["fuzz", "run", "--sanitizer", "none", target])
            .arg(&corpus)
            .arg(format!("seeds/{target}"))
            .args(["--", &format!("-max_total_time={seconds}")])
            .output()
            .context("could not run cargo fuzz")?;
        let log = String::from_utf8_lossy(&output.stderr);
        let done = log
            .lines()
            .rev()
            .find(|l| l.starts_with("Done "))
            .unwrap_or("no summary line")
            .to_owned();
        if !output.status.success() {
            println!("{log}");
            bail!("cargo fuzz {target} found a crash; the input is under fuzz/artifacts/{target}");
        }
        println!("ok: cargo fuzz {target}: {done}, no crash");
    }
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

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// The mean time of a criterion benchmark, in nanoseconds, from its saved estimates.
fn criterion_mean_ns(group: &str, function: &str, input: &str) -> Result<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(function)
        .join(input)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no estimates at {}", path.display()))?;
    // `{"mean":{"confidence_interval":{...},"point_estimate":123.4,...},...}`
    let mean = text
        .split("\"mean\"")
        .nth(1)
        .context("no mean in the estimates")?;
    let value = mean
        .split("\"point_estimate\":")
        .nth(1)
        .context("no point estimate")?;
    let number: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    Ok(number.parse()?)
}

fn bench(args: &[String]) -> Result<()> {
    let build_cost = !args.iter().any(|a| a == "--no-build-cost");
    if args.iter().any(|a| a == "--build-cost-only") {
        return build_costs();
    }
    // Old results would be read as new ones if a benchmark failed to run.
    for group in ["webhook", "client", "decode"] {
        let _ = std::fs::remove_dir_all(target_dir().join("criterion").join(group));
    }
    let mut webhooks = cargo();
    webhooks.args(["bench", "-p", "actalink-webhooks", "--bench", "verify"]);
    step("criterion: webhook verification", webhooks)?;
    let mut client = cargo();
    client.args(["bench", "-p", "actalink-bench"]);
    step("criterion: client overhead, decode, sandbox", client)?;

    println!("==> node reference (the provider's documented verification) on the same payloads");
    let payloads = std::env::temp_dir().join("actalink-bench");
    let output = Command::new("node")
        .arg("crates/actalink-webhooks/benches/node-verify.js")
        .arg(&payloads)
        .output()
        .context("could not run node")?;
    if !output.status.success() {
        bail!(
            "the node reference failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let node = String::from_utf8(output.stdout)?;

    let mut memory = cargo();
    memory.args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "actalink-bench",
        "--bin",
        "memory",
    ]);
    step("build the memory probe", memory)?;
    let probe = Command::new(target_dir().join("release/memory"))
        .output()
        .context("could not run the memory probe")?;
    let probe = String::from_utf8(probe.stdout)?;
    let rss = |label: &str| -> Option<f64> {
        probe
            .lines()
            .find_map(|l| l.strip_prefix(label)?.trim().parse().ok())
    };

    let ns = |group: &str, id: &str| criterion_mean_ns(group, id, "");
    println!("\n## Webhook verification\n");
    println!(
        "| payload | node reference | verify_signature | vs node | re-serialised path | serde_json parse+serialise | verify / floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for line in node.lines() {
        let mut parts = line.split_whitespace();
        let (Some(label), Some(node_ns)) = (parts.next(), parts.next()) else {
            continue;
        };
        let node_ns: f64 = node_ns.parse()?;
        let fast = criterion_mean_ns("webhook", "verify_signature", label)?;
        let slow = criterion_mean_ns("webhook", "verify_signature_reserialised", label)?;
        let floor = criterion_mean_ns("webhook", "serde_json_floor", label)?;
        println!(
            "| {label} | {:.2} µs | {:.2} µs | {:.1}x faster | {:.2} µs ({:.1}x faster) | {:.2} µs | {:.2}x (re-serialised {:.2}x) |",
            node_ns / 1e3,
            fast / 1e3,
            node_ns / fast,
            slow / 1e3,
            node_ns / slow,
            floor / 1e3,
            fast / floor,
            slow / floor,
        );
    }

    let mut overhead = cargo();
    overhead.args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "actalink-bench",
        "--bin",
        "overhead",
    ]);
    step("build the interleaved overhead probe", overhead)?;
    println!("==> client overhead, interleaved");
    let probe_out = Command::new(target_dir().join("release/overhead"))
        .output()
        .context("could not run the overhead probe")?;
    let probe_out = String::from_utf8(probe_out.stdout)?;
    println!(
        "\n## Client overhead (get_session against the sandbox on loopback, interleaved rounds)\n"
    );
    println!("| mode | actalink-checkout | bare reqwest + serde_json | median time ratio |");
    println!("|---|---|---|---|");
    for line in probe_out.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [
            mode,
            "ratio",
            ratio,
            "sdk_calls_per_s",
            sdk,
            "bare_calls_per_s",
            bare,
        ] = fields[..]
        {
            println!("| {mode} | {sdk} calls/s | {bare} calls/s | {ratio}x |");
        }
    }
    let creates = ns("client", "concurrent64_sandbox_creates")?;
    println!(
        "\nSandbox: {:.0} creates/s at 64 concurrent (client and sandbox in one process).",
        64.0 / (creates / 1e9)
    );

    let allocations = std::fs::read_to_string(payloads.join("allocations.txt")).unwrap_or_default();
    let allocs = |label: &str| {
        allocations
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or("?")
            .trim()
            .to_owned()
    };
    let (plain, path) = (ns("decode", "serde_json")?, ns("decode", "path_to_error")?);
    println!("\n## Decode (the documented status response)\n");
    println!("| decoder | per decode | decodes/s | allocations |");
    println!("|---|---|---|---|");
    println!(
        "| serde_json (the SDK's path on success) | {:.2} µs | {:.0} | {} |",
        plain / 1e3,
        1e9 / plain,
        allocs("serde_json")
    );
    println!(
        "| serde_path_to_error (only after a failure) | {:.2} µs | {:.0} | {} |",
        path / 1e3,
        1e9 / path,
        allocs("path_to_error")
    );

    if let (Some(one), Some(many)) = (rss("after_1"), rss("after_10000")) {
        println!(
            "\n## Memory\n\nOne Client: {one:.0} KiB resident after 1 call, {many:.0} KiB after 10,000 ({:+.1} %).",
            (many - one) / one * 100.0
        );
    }

    if build_cost {
        build_costs()?;
    }
    Ok(())
}

/// Clean debug builds, each in a fresh target directory, one after another.
fn build_costs() -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("actalink-build-cost-{}", std::process::id()));
    let bare = scratch.join("bare");
    std::fs::create_dir_all(bare.join("src"))?;
    std::fs::write(
        bare.join("Cargo.toml"),
        "[package]\nname = \"bare-http-stack\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\n\
         reqwest = { version = \"0.12\", default-features = false, features = [\"rustls-tls\", \"http2\"] }\n\
         tokio = { version = \"1\", default-features = false, features = [\"time\"] }\n\
         serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n",
    )?;
    std::fs::write(
        bare.join("src/lib.rs"),
        "//! The same HTTP stack as the SDK, and nothing else.\n",
    )?;
    let timed = |label: &str, dir: &Path, args: &[&str], target: PathBuf| -> Result<f64> {
        println!("==> clean build: {label}");
        let start = Instant::now();
        let status = cargo()
            .current_dir(dir)
            .args(["build", "--quiet"])
            .args(args)
            .env("CARGO_TARGET_DIR", target)
            .status()?;
        if !status.success() {
            bail!("the clean build of {label} failed");
        }
        Ok(start.elapsed().as_secs_f64())
    };
    let root = std::env::current_dir()?;
    // This workspace optimises its dependencies in dev builds (for the tests);
    // a merchant's build does not inherit that, so measure with the default.
    let as_user = "profile.dev.package.\"*\".opt-level=0";
    let types = timed(
        "actalink-types",
        &root,
        &["-p", "actalink-types", "--config", as_user],
        scratch.join("t-types"),
    )?;
    let checkout = timed(
        "actalink-checkout",
        &root,
        &["-p", "actalink-checkout", "--config", as_user],
        scratch.join("t-checkout"),
    )?;
    let bare_time = timed(
        "bare reqwest + tokio + serde",
        &bare,
        &[],
        scratch.join("t-bare"),
    )?;
    let count = |dir: &Path, package: Option<&str>| -> Result<usize> {
        let mut tree = cargo();
        tree.current_dir(dir).args([
            "tree", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ]);
        if let Some(package) = package {
            tree.args(["-p", package]);
        }
        let out = tree.output()?;
        let names: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.replace(" (*)", ""))
            .collect();
        Ok(names.len().saturating_sub(1))
    };
    println!("\n## Build cost (clean debug build, default profile, 2 jobs)\n");
    println!("| what | time | dependencies | vs bare HTTP stack |");
    println!("|---|---|---|---|");
    println!(
        "| actalink-types | {types:.1} s | {} | {:.2}x |",
        count(&root, Some("actalink-types"))?,
        types / bare_time
    );
    println!(
        "| actalink-checkout (default features) | {checkout:.1} s | {} | {:.2}x |",
        count(&root, Some("actalink-checkout"))?,
        checkout / bare_time
    );
    println!(
        "| bare reqwest + tokio + serde | {bare_time:.1} s | {} | 1.00x |",
        count(&bare, None)?
    );
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
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
