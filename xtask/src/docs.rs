//! `cargo xtask docs`: the rustdoc and the book, with their checks.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::{cargo, step, target_dir};

/// Builds the rustdoc and the book into the target directory.
pub(crate) fn docs() -> Result<()> {
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("rustdoc", doc)?;

    println!("==> book");
    let start = Instant::now();
    check_links(Path::new("docs/src"))?;
    check_samples()?;
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
    crate::fail_on_findings(
        "broken link",
        &broken,
        "broken internal link(s) in the book",
    )?;
    println!("links: {pages} pages, no broken internal link");
    Ok(())
}

/// Every Markdown file whose Rust samples users read: the READMEs and the book.
pub(crate) fn sample_pages() -> Result<Vec<String>> {
    let mut pages = vec!["README.md".to_owned()];
    for package in crate::ci::PUBLISHED {
        let readme = format!("crates/{package}/README.md");
        if Path::new(&readme).exists() {
            pages.push(readme);
        }
    }
    for entry in std::fs::read_dir("docs/src")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path.to_string_lossy().into_owned());
        }
    }
    pages.sort();
    Ok(pages)
}

/// Fails on a Rust sample marked `ignore`, and on a page with Rust samples
/// that `docs/doctests` does not compile.
fn check_samples() -> Result<()> {
    let included = doctest_pages(&std::fs::read_to_string("docs/doctests/src/lib.rs")?);
    let mut problems = Vec::new();
    let mut samples = 0;
    for page in sample_pages()? {
        let text = std::fs::read_to_string(&page)?;
        let fences: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("```rust"))
            .collect();
        samples += fences.len();
        if fences.iter().any(|attrs| attrs.contains("ignore")) {
            problems.push(format!(
                "{page}: a Rust sample is marked `ignore`; use `no_run` and make it compile"
            ));
        }
        let listed = included.contains(&page);
        if !fences.is_empty() && !listed {
            problems.push(format!(
                "{page}: has Rust samples but docs/doctests/src/lib.rs does not include it"
            ));
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            println!("{problem}");
        }
        bail!(
            "{} problem(s) with the documentation's Rust samples",
            problems.len()
        );
    }
    println!("samples: {samples} Rust samples, all compiled by docs/doctests");
    Ok(())
}

/// The pages `docs/doctests/src/lib.rs` includes, as paths from the workspace root.
fn doctest_pages(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let quoted = line.split_once("=> \"")?.1.split('"').next()?;
            let mut parts = vec!["docs", "doctests", "src"];
            for part in quoted.split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    other => parts.push(other),
                }
            }
            Some(parts.join("/"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::doctest_pages;

    #[test]
    fn included_pages_resolve_from_the_workspace_root() {
        let lib = "    Readme => \"../../../README.md\",\n    Status => \"../../src/status.md\",\n";
        assert_eq!(doctest_pages(lib), ["README.md", "docs/src/status.md"]);
    }
}
