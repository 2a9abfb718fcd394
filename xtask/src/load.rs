//! `cargo xtask load`: the load run against a sandbox in its own process.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, step, target_dir};

pub(crate) fn load(sessions: u64) -> Result<()> {
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
