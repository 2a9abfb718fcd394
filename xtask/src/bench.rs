//! `cargo xtask bench`: criterion benchmarks, the Node.js reference and build costs, as ratios;
//! the payments benchmarks on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, output_of, step, target_dir};

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
    let estimates: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("no mean point estimate in {}", path.display()))
}

pub(crate) fn bench(build_cost: bool, build_cost_only: bool, payments_only: bool) -> Result<()> {
    if build_cost_only {
        return build_costs();
    }
    if payments_only {
        return payments();
    }
    // Old results would be read as new ones if a benchmark failed to run.
    for group in ["webhook", "client", "decode"] {
        let _ = std::fs::remove_dir_all(target_dir().join("criterion").join(group));
    }
    let mut webhooks = cargo();
    webhooks.args(["bench", "-p", "actalink-webhooks", "--bench", "verify"]);
    step("criterion: webhook verification", webhooks)?;
    let mut client = cargo();
    client.args([
        "bench",
        "-p",
        "actalink-bench",
        "--bench",
        "client",
        "--bench",
        "decode",
    ]);
    step("criterion: client overhead, decode, sandbox", client)?;

    println!("==> node reference (the provider's documented verification) on the same payloads");
    let payloads = std::env::temp_dir().join("actalink-bench");
    let mut node = Command::new("node");
    node.arg("crates/actalink-webhooks/benches/node-verify.js")
        .arg(&payloads);
    let node = output_of("the node reference", node)?;

    let probe = run_probe("memory", "the memory probe")?;
    let rss = |label: &str| -> Option<f64> {
        probe
            .lines()
            .find_map(|l| l.strip_prefix(label)?.trim().parse().ok())
    };

    let ns = |group: &str, id: &str| criterion_mean_ns(group, id, "");
    println!("\n## Webhook verification\n");
    println!(
        "| payload (compact) | node reference | verify_signature | vs node | the same body pretty-printed | serde_json parse+serialise | verify / floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    let node_ns = |label: &str| -> Option<f64> {
        node.lines().find_map(|line| {
            let mut parts = line.split_whitespace();
            (parts.next()? == label).then(|| parts.next()?.parse().ok())?
        })
    };
    // `items-1100` is the number-heavy event: 1,100 line items with prices.
    for (label, shown) in [
        ("1KB", "1KB"),
        ("100KB", "100KB"),
        ("items-1100", "1,100 line items"),
    ] {
        let (Some(node_compact), Some(node_pretty)) =
            (node_ns(label), node_ns(&format!("{label}-pretty")))
        else {
            bail!("the node reference printed no time for {label}");
        };
        let fast = criterion_mean_ns("webhook", "verify_signature", label)?;
        let slow = criterion_mean_ns("webhook", "verify_signature_reserialised", label)?;
        let floor = criterion_mean_ns("webhook", "serde_json_floor", label)?;
        let pretty_bytes =
            std::fs::metadata(payloads.join(format!("{label}-pretty.json"))).map_or(0, |m| m.len());
        println!(
            "| {shown} | {:.2} µs | {:.2} µs | {:.1}x faster | {:.0} KB: node {:.2} µs, re-serialised {:.2} µs ({:.1}x faster) | {:.2} µs | {:.2}x (re-serialised {:.2}x) |",
            node_compact / 1e3,
            fast / 1e3,
            node_compact / fast,
            pretty_bytes as f64 / 1024.0,
            node_pretty / 1e3,
            slow / 1e3,
            node_pretty / slow,
            floor / 1e3,
            fast / floor,
            slow / floor,
        );
    }

    println!("==> client overhead, interleaved");
    let probe_out = run_probe("overhead", "the interleaved overhead probe")?;
    println!(
        "\n## Client overhead (get_session on loopback, interleaved rounds; servers: the sandbox, and a minimal keep-alive responder)\n"
    );
    println!("| server/mode | actalink-checkout | bare reqwest + serde_json | median time ratio |");
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
    match instructions_per_call()? {
        Some((sdk, bare)) => println!(
            "\nInstructions per sequential call against the minimal server (callgrind): SDK {sdk:.0}, bare {bare:.0}, the SDK's own {:.0} ({:.2} % of the bare call).",
            sdk - bare,
            (sdk - bare) / bare * 100.0
        ),
        None => println!("\n(valgrind not found: the instruction counts are skipped)"),
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

    payments()?;

    if build_cost {
        build_costs()?;
    }
    Ok(())
}

/// The payments benchmarks (`bench/payments/benches/payments.rs`) on SQLite and, when
/// `ACTALINK_TEST_POSTGRES_URL` is set, PostgreSQL, printed as ratios.
fn payments() -> Result<()> {
    let _ = std::fs::remove_dir_all(target_dir().join("criterion").join("payments"));
    let mut bench = cargo();
    bench.args(["bench", "-p", PAYMENTS_BENCH, "--bench", "payments"]);
    step(
        "criterion: payments (SQLite, and PostgreSQL when ACTALINK_TEST_POSTGRES_URL is set)",
        bench,
    )?;
    // A backend that was skipped has no estimates; one that ran has them all.
    let ns = |function: &str, backend: &str| criterion_mean_ns("payments", function, backend);
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|backend| ns("confirm_crate", backend).is_ok())
        .collect();
    let met = |ratio: f64, target: f64| if ratio <= target { "yes" } else { "no" };

    // Side by side: criterion measures one side for seconds, then the other,
    // so noise from the shared machine can fall on one side only. The paired
    // run alternates one batch of each, swapping the order every round.
    build_probe_in(
        PAYMENTS_BENCH,
        "payments_cpu",
        "the paired confirmation benchmark",
    )?;
    let mut paired = Vec::new();
    for backend in &backends {
        paired.push(paired_confirms(backend)?);
    }
    println!(
        "\n## Payments: confirmed payments at 64 concurrent deliveries (verify, store, status call to a minimal keep-alive server, mark paid)\n"
    );
    println!(
        "| backend | actalink-payments | hand-written floor | time per event, crate / floor: criterion (one side, then the other) | paired: medians of {PAIRED_ROUNDS} rounds, one batch of each per round | crate / floor, median of the rounds' ratios | target ≤ 1.30x met (paired) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (backend, paired) in backends.iter().zip(&paired) {
        let (krate, floor) = (ns("confirm_crate", backend)?, ns("confirm_floor", backend)?);
        println!(
            "| {backend} | {:.0} payments/s ({:.0} µs/event) | {:.0} payments/s ({:.0} µs/event) | {:.2}x | {:.0} and {:.0} µs/event | {:.2}x | {} |",
            64e9 / krate,
            krate / 64e3,
            64e9 / floor,
            floor / 64e3,
            krate / floor,
            paired.crate_us,
            paired.floor_us,
            paired.ratio,
            met(paired.ratio, 1.3)
        );
    }

    println!("\n## Payments: reconciler, one scan of 100 due records among N pending ones\n");
    println!(
        "| backend | per due record, 1,000 pending | per due record, 100,000 pending | 100,000 / 1,000 | target ≤ 1.20x met |"
    );
    println!("|---|---|---|---|---|");
    for backend in &backends {
        let (small, large) = (
            ns("reconcile_1000", backend)?,
            ns("reconcile_100000", backend)?,
        );
        let ratio = large / small;
        println!(
            "| {backend} | {:.0} µs | {:.0} µs | {ratio:.2}x | {} |",
            small / 100e3,
            large / 100e3,
            met(ratio, 1.2)
        );
    }

    println!("\n## Payments: fulfilment jobs, 64 claimed and completed by 4 lanes\n");
    println!("| backend | jobs/s | per job |");
    println!("|---|---|---|");
    for backend in &backends {
        let fulfil = ns("fulfil", backend)?;
        println!(
            "| {backend} | {:.0} | {:.0} µs |",
            64e9 / fulfil,
            fulfil / 64e3
        );
    }
    if !backends.contains(&"postgres") {
        println!(
            "\nPostgreSQL: skipped (set ACTALINK_TEST_POSTGRES_URL; `eval \"$(.ci/postgres)\"` starts a server)."
        );
    }
    Ok(())
}

/// Instructions per `get_session` call through the SDK and through bare
/// reqwest, counted by callgrind, which unlike a clock is the same from run
/// to run; `None` when valgrind is not installed. Each side runs twice, with
/// 1,000 and 3,000 calls, so that start-up and warm-up cancel out.
fn instructions_per_call() -> Result<Option<(f64, f64)>> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Ok(None);
    }
    build_probe("calls", "the call counter")?;
    let total = |side: &str, calls: u32| -> Result<f64> {
        let output = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(target_dir().join("release").join("calls"))
            .args([side, &calls.to_string()])
            .output()
            .context("could not run valgrind")?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        stderr
            .lines()
            .find_map(|line| line.split_once("refs:"))
            .and_then(|(_, n)| n.trim().replace(',', "").parse().ok())
            .with_context(|| format!("callgrind printed no instruction total:\n{stderr}"))
    };
    let per_call =
        |side: &str| -> Result<f64> { Ok((total(side, 3000)? - total(side, 1000)?) / 2000.0) };
    Ok(Some((per_call("sdk")?, per_call("bare")?)))
}

/// Builds the `actalink-bench` binary `bin` in release mode, runs it and
/// returns what it printed (whatever its exit status: a probe reports what it can).
fn run_probe(bin: &str, name: &str) -> Result<String> {
    build_probe(bin, name)?;
    let output = Command::new(target_dir().join("release").join(bin))
        .output()
        .with_context(|| format!("could not run {name}"))?;
    Ok(String::from_utf8(output.stdout)?)
}

/// Rounds of the paired confirmation benchmark.
const PAIRED_ROUNDS: u32 = 101;

/// What `payments_cpu` measured for one backend.
struct Paired {
    crate_us: f64,
    floor_us: f64,
    ratio: f64,
}

/// Runs `payments_cpu` on `backend` (built already) and reads its medians.
fn paired_confirms(backend: &str) -> Result<Paired> {
    println!("==> paired confirmations on {backend}: {PAIRED_ROUNDS} rounds of one batch per side");
    let mut command = Command::new(target_dir().join("release").join("payments_cpu"));
    command.args([backend, &PAIRED_ROUNDS.to_string()]);
    let stdout = output_of(&format!("payments_cpu {backend}"), command)?;
    print!("{stdout}");
    // "<backend> crate: 197 µs/event wall …", "<backend> ratio: 1.02x …"
    let number = |label: &str, unit: &str| -> Result<f64> {
        let prefix = format!("{backend} {label}: ");
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(unit).next())
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("payments_cpu printed no {label} line:\n{stdout}"))
    };
    Ok(Paired {
        crate_us: number("crate", "µs")?,
        floor_us: number("floor", "µs")?,
        ratio: number("ratio", "x")?,
    })
}

/// The package of the payments benchmarks: apart from `actalink-bench`, so
/// that sqlx (and the tracing `log` feature it turns on) stays out of the
/// client-overhead probes.
const PAYMENTS_BENCH: &str = "actalink-bench-payments";

/// Builds the `actalink-bench` binary `bin` in release mode.
fn build_probe(bin: &str, name: &str) -> Result<()> {
    build_probe_in("actalink-bench", bin, name)
}

/// Builds the binary `bin` of `package` in release mode.
fn build_probe_in(package: &str, bin: &str, name: &str) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--quiet", "--release", "-p", package, "--bin", bin]);
    step(&format!("build {name}"), build)
}

/// Clean debug builds, each in a fresh target directory, one after another.
fn build_costs() -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("actalink-build-cost-{}", std::process::id()));
    let bare = scratch.join("bare");
    std::fs::create_dir_all(bare.join("src"))?;
    std::fs::write(
        bare.join("Cargo.toml"),
        "[package]\nname = \"bare-http-stack\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\n\
         reqwest = { version = \"0.13.5\", default-features = false, features = [\"rustls-no-provider\", \"http2\"] }\n\
         rustls = { version = \"0.23\", default-features = false, features = [\"ring\", \"std\", \"tls12\"] }\n\
         rustls-platform-verifier = \"0.7\"\n\
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
    let sdk = |package: &str| {
        timed(
            package,
            &root,
            &["-p", package, "--config", as_user],
            scratch.join(package),
        )
    };
    let types = sdk("actalink-types")?;
    let checkout = sdk("actalink-checkout")?;
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
