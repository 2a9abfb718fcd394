//! `cargo xtask fuzz` and `cargo xtask difftest`: the long hostile-input runs.

use anyhow::{Context, Result, bail};

use crate::{cargo, step, target_dir};

pub(crate) fn fuzz(cases: u64, seconds: u64) -> Result<()> {
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

pub(crate) fn difftest(docs: u64) -> Result<()> {
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
