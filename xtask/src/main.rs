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
//! - `bench [--no-build-cost | --build-cost-only | --payments-only]`: the
//!   criterion benchmarks, with the Node.js reference run beside them on the
//!   same payloads, and the payments benchmarks against their hand-written
//!   floor (on PostgreSQL too when `ACTALINK_TEST_POSTGRES_URL` is set),
//!   reported as ratios.
//!
//! `cargo xtask`, `cargo xtask --help` and `cargo xtask help` list the tasks
//! with their flags (`flags::TASKS`); `cargo xtask <task> --help` shows one.
//! A wrong task or flag is one line on stderr and exit status 2.

#![allow(clippy::print_stdout)] // A command-line tool: stdout is its interface.

mod bench;
mod ci;
mod docs;
mod flags;
mod fuzz;
mod load;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use flags::{Flags, Task, Usage};

/// What the command line asks for.
#[derive(Debug)]
enum Invocation<'a> {
    /// Print the help of every task, or of one.
    Help(Option<&'static Task>),
    /// Run a task with the rest of the arguments.
    Run(&'static Task, &'a [String]),
}

/// Reads the task (or a request for help) from the arguments.
fn invocation(args: &[String]) -> Result<Invocation<'_>, Usage> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(Invocation::Help(None));
    };
    if flags::is_help(first) {
        // `help load` shows one task, as `load --help` does.
        return match rest {
            [] => Ok(Invocation::Help(None)),
            [name] => flags::task(name)
                .map(|task| Invocation::Help(Some(task)))
                .ok_or_else(|| unknown_task(name)),
            _ => Err(Usage("`help` takes at most one task name".into())),
        };
    }
    let task = flags::task(first).ok_or_else(|| unknown_task(first))?;
    if rest
        .iter()
        .any(|arg| matches!(arg.as_str(), "--help" | "-h"))
    {
        return Ok(Invocation::Help(Some(task)));
    }
    Ok(Invocation::Run(task, rest))
}

fn unknown_task(name: &str) -> Usage {
    let names: Vec<&str> = flags::TASKS.iter().map(|task| task.name).collect();
    Usage(format!(
        "unknown task `{name}`; the tasks are {} (cargo xtask --help)",
        names.join(", ")
    ))
}

/// Runs a task with its flags.
fn run(task: &Task, args: &[String]) -> Result<()> {
    let flags = Flags::parse(task, args)?;
    match task.name {
        "ci" => ci::ci(),
        "docs" => docs::docs(),
        "difftest" => fuzz::difftest(flags.number("--docs", 200_000)?),
        "load" => load::load(
            flags.number("--sessions", 50_000)?,
            flags.number("--orders", 1_000)?,
        ),
        "fuzz" => fuzz::fuzz(
            flags.number("--cases", 50_000)?,
            flags.number("--seconds", 60)?,
        ),
        "bench" => bench::bench(
            !flags.switch("--no-build-cost"),
            flags.switch("--build-cost-only"),
            flags.switch("--payments-only"),
        ),
        other => bail!("the task `{other}` is listed but has no runner"),
    }
}

/// Help on stdout with status 0; a usage mistake as one line on stderr with
/// status 2; a failed task as one line on stderr with status 1. Errors are
/// printed here, not returned from `main`, so that `RUST_BACKTRACE` never
/// turns a mistyped flag into a stack trace.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = invocation(&args)
        .map_err(anyhow::Error::from)
        .and_then(|invocation| {
            match invocation {
                Invocation::Help(None) => println!("{}", flags::help()),
                Invocation::Help(Some(task)) => println!("usage: {}", task.help()),
                Invocation::Run(task, rest) => {
                    std::env::set_current_dir(workspace_root())?;
                    run(task, rest)?;
                }
            }
            Ok(())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` is the error and its causes on one line, without a backtrace.
            eprintln!("error: {error:#}");
            if error.is::<Usage>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn help_of(list: &[&str]) -> Option<&'static str> {
        match invocation(&args(list)) {
            Ok(Invocation::Help(task)) => Some(task.map_or("all", |task| task.name)),
            other => panic!("{list:?}: {other:?}"),
        }
    }

    #[test]
    fn no_task_help_and_dash_dash_help_list_every_task() {
        for list in [&[][..], &["--help"], &["-h"], &["help"]] {
            assert_eq!(help_of(list), Some("all"), "{list:?}");
        }
    }

    #[test]
    fn a_tasks_help_is_asked_either_way() {
        for list in [
            &["load", "--help"][..],
            &["load", "-h"],
            &["help", "load"],
            &["--help", "load"],
            &["load", "--sessions", "5", "--help"],
            &["load", "--bogus", "--help"],
        ] {
            assert_eq!(help_of(list), Some("load"), "{list:?}");
        }
    }

    #[test]
    fn tasks_run_with_their_arguments() {
        let list = args(&["load", "--sessions", "5"]);
        match invocation(&list) {
            Ok(Invocation::Run(task, rest)) => {
                assert_eq!(task.name, "load");
                assert_eq!(rest, &list[1..]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_task_is_one_line_naming_the_tasks() {
        for list in [&["lod"][..], &["help", "lod"], &["--sessions"]] {
            let error = invocation(&args(list)).unwrap_err().to_string();
            assert!(error.starts_with("unknown task"), "{error}");
            assert!(
                error.contains("ci, docs, difftest, load, fuzz, bench"),
                "{error}"
            );
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn a_wrong_flag_is_a_usage_error_before_the_task_runs() {
        for (list, message) in [
            (&["load", "--session", "5"][..], "unknown flag `--session`"),
            (
                &["load", "--sessions", "many"],
                "--sessions takes a whole number",
            ),
            (&["ci", "--fast"], "takes no flags"),
        ] {
            let list = args(list);
            let Ok(Invocation::Run(task, rest)) = invocation(&list) else {
                panic!("{list:?}")
            };
            let error = run(task, rest).unwrap_err();
            assert!(error.is::<Usage>(), "{list:?}: {error:#}");
            let text = format!("{error:#}");
            assert!(text.contains(message), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }
}
