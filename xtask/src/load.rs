//! `cargo xtask load`: the load run against a sandbox in its own process,
//! then the storefront cluster run (three instances on one PostgreSQL, one
//! killed halfway) with many orders.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, step, target_dir};

pub(crate) fn load(sessions: u64, orders: u64) -> Result<()> {
    sandbox_load(sessions)?;
    cluster(orders)
}

/// The storefront's cluster test with `orders` orders, in release mode, on
/// the PostgreSQL server named by `ACTALINK_TEST_POSTGRES_URL`, or on a
/// throwaway one started (and stopped) with `.ci/postgres`.
fn cluster(orders: u64) -> Result<()> {
    println!("==> cluster: {orders} orders through three storefront processes on one PostgreSQL");
    let mut started = None;
    let url = match std::env::var("ACTALINK_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let output = Command::new("bash")
                .arg(".ci/postgres")
                .output()
                .context("could not run .ci/postgres")?;
            if !output.status.success() {
                bail!(
                    "could not start PostgreSQL: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                    .map(str::to_owned)
            };
            started = value("ACTALINK_TEST_POSTGRES_DIR");
            value("ACTALINK_TEST_POSTGRES_URL").context(".ci/postgres printed no URL")?
        }
    };
    let mut test = cargo();
    test.args([
        "test",
        "--release",
        "-p",
        "storefront",
        "--test",
        "cluster",
        "--",
        "--exact",
        "three_instances_one_killed_every_paid_order_fulfilled_once",
        "--nocapture",
    ])
    .env("ACTALINK_TEST_POSTGRES_URL", &url)
    .env("STOREFRONT_CLUSTER_ORDERS", orders.to_string());
    let result = step("cluster run (release)", test);
    if let Some(dir) = started {
        let _ = Command::new("bash")
            .args([".ci/postgres", "stop", &dir])
            .status();
    }
    result
}

fn sandbox_load(sessions: u64) -> Result<()> {
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
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut first)?;
        // The sandbox prints a line per request and ends when nobody reads
        // them: drain the rest.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
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
