//! `cargo xtask ci`: every check CI runs, in order.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, docs, fail_on_findings, output_of, step};

/// The crates users depend on: packaged in CI, held to the architecture rules.
pub(crate) const PUBLISHED: &[&str] = &[
    "actalink-types",
    "actalink-transport",
    "actalink-checkout",
    "actalink-webhooks",
    "actalink-sandbox",
    "actalink-payments",
    "actalink-cli",
];

pub(crate) fn ci() -> Result<()> {
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
    one_reqwest()?;
    unused_dependencies()?;

    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features"]);
    let (passed, failed) = tests("test", test)?;

    docs::docs()?;
    package()?;

    println!("ci passed in {:.0}s", start.elapsed().as_secs_f32());
    println!("ci: {passed} passed, {failed} failed");
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

/// The workspace's packages as `cargo metadata` reports them (without resolving registries).
fn metadata() -> Result<Value> {
    let mut metadata = cargo();
    metadata.args(["metadata", "--format-version", "1", "--no-deps"]);
    Ok(serde_json::from_str(&output_of(
        "cargo metadata",
        metadata,
    )?)?)
}

/// A package's normal (not dev, not build) dependencies, by package name.
fn normal_dependencies(package: &Value) -> impl Iterator<Item = &Value> {
    package["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["kind"].is_null())
}

/// Checks the dependency rules of `docs/src/architecture.md` on the real dependency graph.
fn invariants() -> Result<()> {
    println!("==> invariants");
    let start = Instant::now();
    for package in PUBLISHED {
        if !Path::new("crates").join(package).is_dir() {
            bail!("crates/{package} is missing: the architecture rules name it");
        }
    }
    check_edges(
        &metadata()?,
        &std::fs::read_to_string("docs/src/architecture.md")?,
    )?;

    let http_clients = ["reqwest", "ureq", "isahc", "surf", "hyper-util"];
    // Nothing below actalink-payments knows a database.
    let databases = [
        "sqlx",
        "sqlx-core",
        "rusqlite",
        "libsqlite3-sys",
        "tokio-postgres",
    ];
    let rules: &[(&str, &[&str], &[&str])] = &[
        (
            "actalink-types",
            &[],
            &["tokio", "reqwest", "hyper", "axum", "mio"],
        ),
        ("actalink-types", &["--all-features"], &databases),
        ("actalink-transport", &[], &["openssl-sys", "native-tls"]),
        ("actalink-transport", &["--all-features"], &databases),
        (
            "actalink-checkout",
            &[],
            &["openssl-sys", "native-tls", "axum"],
        ),
        ("actalink-checkout", &["--all-features"], &databases),
        ("actalink-webhooks", &["--all-features"], &databases),
        ("actalink-sandbox", &["--all-features"], &databases),
        // The payments crate serves no HTTP and brings no TLS stack of its own.
        (
            "actalink-payments",
            &[],
            &["axum", "hyper", "openssl-sys", "native-tls"],
        ),
        // No HTTP client and no runtime; the axum extractor only behind its feature.
        (
            "actalink-webhooks",
            &[],
            &[
                "tokio", "mio", "hyper", "axum", "reqwest", "ureq", "isahc", "surf",
            ],
        ),
        ("actalink-webhooks", &["--all-features"], &http_clients),
    ];
    for (package, flags, forbidden) in rules {
        let mut tree = cargo();
        tree.args([
            "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(*flags);
        let tree = output_of(&format!("cargo tree -p {package}"), tree)?;
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if forbidden.contains(&name) {
                println!("FAILED: invariants: {package} {flags:?} depends on {name}");
                bail!("architecture invariant broken");
            }
        }
    }
    println!("ok: invariants ({:.1}s)", start.elapsed().as_secs_f32());
    Ok(())
}

/// Compares the edges listed in `docs/src/architecture.md` (between
/// `<!-- edges:begin -->` and `<!-- edges:end -->`, one `crate -> a, b` per
/// line) with the published crates' normal dependencies on each other.
fn check_edges(metadata: &Value, architecture: &str) -> Result<()> {
    let block = architecture
        .split("<!-- edges:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- edges:end -->").next())
        .context(
            "docs/src/architecture.md has no <!-- edges:begin --> … <!-- edges:end --> block",
        )?;
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in block.lines().map(str::trim) {
        let Some((from, to)) = line.split_once("->") else {
            continue;
        };
        let targets = to
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "(none)")
            .map(str::to_owned)
            .collect();
        documented.insert(from.trim().to_owned(), targets);
    }
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        if !PUBLISHED.contains(&name) {
            continue;
        }
        let edges = normal_dependencies(package)
            .filter_map(|d| d["name"].as_str())
            .filter(|d| PUBLISHED.contains(d))
            .map(str::to_owned)
            .collect();
        actual.insert(name.to_owned(), edges);
    }
    if documented != actual {
        for (name, edges) in &actual {
            println!(
                "actual: {name} -> {}",
                edges.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        bail!("docs/src/architecture.md lists other crate edges than Cargo.toml has");
    }
    Ok(())
}

/// A merchant project on reqwest 0.13 (its default features) that adds
/// `actalink-checkout` must build one reqwest, not two HTTP stacks.
fn one_reqwest() -> Result<()> {
    println!("==> one reqwest in a merchant's tree");
    let root = std::env::current_dir()?;
    let project = root.join(crate::target_dir()).join("merchant-probe");
    std::fs::create_dir_all(project.join("src"))?;
    let checkout = root.join("crates/actalink-checkout");
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"merchant-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\nreqwest = \"0.13\"\nactalink-checkout = {{ path = {:?} }}\n",
            checkout.display().to_string()
        ),
    )?;
    std::fs::write(project.join("src/lib.rs"), "//! A merchant's crate.\n")?;
    let mut tree = cargo();
    tree.current_dir(&project).args([
        "tree", "-e", "normal", "--prefix", "none", "--format", "{p}",
    ]);
    let versions: BTreeSet<String> = output_of("cargo tree for the merchant probe", tree)?
        .lines()
        .filter(|l| l.starts_with("reqwest v"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned())
        .collect();
    if versions.len() != 1 {
        bail!("a merchant on reqwest 0.13 gets reqwest {versions:?} with actalink-checkout");
    }
    println!(
        "ok: one reqwest ({})",
        versions.iter().next().map_or("", String::as_str)
    );
    Ok(())
}

/// Fails on a normal dependency that no source file of its crate names.
///
/// The same test as `cargo machete` (a dependency is used when some `.rs`
/// file names `its_name::` or `use its_name`), written here so that CI needs
/// no extra tool installed on a fresh machine.
fn unused_dependencies() -> Result<()> {
    println!("==> unused dependencies");
    let metadata = metadata()?;
    let mut unused = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = package["manifest_path"].as_str().unwrap_or_default();
        let dir = Path::new(manifest)
            .parent()
            .context("a manifest without a directory")?;
        let mut sources = String::new();
        collect_sources(dir, &mut sources)?;
        if name == "actalink-doctests" {
            // Its dependencies are used by the Markdown pages it compiles.
            for page in crate::docs::sample_pages()? {
                sources.push_str(&std::fs::read_to_string(page)?);
            }
        }
        for dependency in normal_dependencies(package) {
            let crate_name = dependency["rename"]
                .as_str()
                .or_else(|| dependency["name"].as_str())
                .unwrap_or_default()
                .replace('-', "_");
            let used = [format!("{crate_name}::"), format!("use {crate_name}")]
                .iter()
                .any(|needle| sources.contains(needle.as_str()));
            if !used {
                unused.push(format!("{name}: {crate_name}"));
            }
        }
    }
    fail_on_findings("unused dependency", &unused, "unused dependencies")?;
    println!("ok: unused dependencies: none");
    Ok(())
}

fn collect_sources(dir: &Path, into: &mut String) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "node_modules")
            {
                collect_sources(&path, into)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path)?);
            into.push('\n');
        }
    }
    Ok(())
}

/// `cargo package` with verification for every publishable crate, so that a
/// missing file or a path-only dependency fails here rather than at release.
fn package() -> Result<()> {
    forget_packaged_copies()?;
    let mut package = cargo();
    package
        .args(["package", "--quiet", "--allow-dirty"])
        .env("CARGO_TARGET_DIR", verify_dir());
    for name in PUBLISHED {
        package.args(["-p", name]);
    }
    step("package (with verification)", package)
}

/// Where packaging and its verification build, apart from everything else.
fn verify_dir() -> std::path::PathBuf {
    let target = crate::target_dir();
    let absolute = if target.is_absolute() {
        target
    } else {
        std::env::current_dir().unwrap_or_default().join(target)
    };
    absolute.join("package-verify")
}

/// Removes the last run's packages and their unpacked copies in Cargo's
/// registry cache. Verification unpacks each package from a local registry
/// whose path does not change between runs, and Cargo does not unpack a
/// version it already holds, so a second run would otherwise verify the
/// first run's sources. These crates come from no other registry, so
/// nothing else is lost.
fn forget_packaged_copies() -> Result<()> {
    // The last run's packages, local registry and verification builds: Cargo
    // takes a registry crate of the same name and version as unchanged, so it
    // would reuse the last run's compiled copy too.
    let verify = verify_dir();
    if verify.exists() {
        std::fs::remove_dir_all(&verify)?;
    }
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || {
            std::env::var_os("HOME")
                .map(|h| Path::new(&h).join(".cargo"))
                .unwrap_or_default()
        },
        std::path::PathBuf::from,
    );
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            let Ok(entries) = std::fs::read_dir(registry.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // `actalink-types-0.1.0` (a directory) or `….crate` (a file).
                let ours = PUBLISHED.iter().any(|p| {
                    name.strip_prefix(p)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
                });
                if ours {
                    let path = entry.path();
                    if path.is_dir() {
                        std::fs::remove_dir_all(&path)?;
                    } else {
                        std::fs::remove_file(&path)?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_libtest_summaries() {
        let line =
            "ok. 12 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(count(line, " passed"), 12);
        assert_eq!(count(line, " failed"), 3);
        assert_eq!(count("FAILED. 1 passed; 2 failed; 0 ignored", " failed"), 2);
    }

    #[test]
    fn documented_edges_must_match_the_manifests() {
        let metadata = serde_json::json!({"packages": [
            {"name": "actalink-types", "dependencies": []},
            {"name": "actalink-checkout", "dependencies": [
                {"name": "actalink-types", "kind": null},
                {"name": "actalink-transport", "kind": "dev"}
            ]}
        ]});
        let doc = "<!-- edges:begin -->\nactalink-types -> (none)\nactalink-checkout -> actalink-types\n<!-- edges:end -->";
        check_edges(&metadata, doc).unwrap();
        let wrong = doc.replace(
            "actalink-checkout -> actalink-types",
            "actalink-checkout -> (none)",
        );
        assert!(check_edges(&metadata, &wrong).is_err());
        assert!(check_edges(&metadata, "no block").is_err());
    }
}
