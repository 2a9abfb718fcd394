//! The tasks and their flags, and one strict flag parser for every task: an
//! unknown flag, a missing value or a repeated flag is a usage error, never
//! ignored.

use std::collections::BTreeMap;
use std::fmt;

/// A mistake on the command line: printed as one line, exit status 2.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A task: its name, its flags and what it does.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) name: &'static str,
    /// Flags taking a value, with the value's name for the usage line.
    pub(crate) valued: &'static [(&'static str, &'static str)],
    /// Flags taking no value.
    pub(crate) switches: &'static [&'static str],
    /// The flags as the usage line shows them, when not simply each in brackets.
    pub(crate) synopsis: Option<&'static str>,
    pub(crate) about: &'static str,
}

/// Every task, in the order `--help` lists them.
pub(crate) const TASKS: &[Task] = &[
    Task {
        name: "ci",
        valued: &[],
        switches: &[],
        synopsis: None,
        about: "everything CI checks, in order, stopping at the first failure: formatting, clippy, \
                the architecture invariants, unused dependencies, the tests, the docs, and packaging",
    },
    Task {
        name: "docs",
        valued: &[],
        switches: &[],
        synopsis: None,
        about: "the book and the rustdoc into the target directory, failing on a broken internal \
                link or an uncompiled sample",
    },
    Task {
        name: "difftest",
        valued: &[("--docs", "N")],
        switches: &[],
        synopsis: None,
        about: "the long differential webhook test against Node.js (default 200,000 documents)",
    },
    Task {
        name: "load",
        valued: &[("--sessions", "N"), ("--orders", "N")],
        switches: &[],
        synopsis: None,
        about: "the load run (default 50,000 sessions) against a sandbox in its own process, then \
                the storefront cluster run (default 1,000 orders)",
    },
    Task {
        name: "fuzz",
        valued: &[("--cases", "N"), ("--seconds", "N")],
        switches: &[],
        synopsis: None,
        about: "the property-based fuzzers with many cases (default 50,000), then the cargo-fuzz \
                targets for a bounded time each (default 60 s)",
    },
    Task {
        name: "bench",
        valued: &[],
        switches: &["--no-build-cost", "--build-cost-only", "--payments-only"],
        synopsis: Some("[--no-build-cost | --build-cost-only | --payments-only]"),
        about: "the criterion benchmarks with the Node.js reference beside them, reported as ratios, \
                the payments benchmarks against their hand-written floor (on PostgreSQL too when \
                ACTALINK_TEST_POSTGRES_URL is set), and the clean-build cost",
    },
];

impl Task {
    /// `cargo xtask NAME [FLAGS]`.
    pub(crate) fn usage(&self) -> String {
        let mut line = format!("cargo xtask {}", self.name);
        if let Some(synopsis) = self.synopsis {
            line.push(' ');
            line.push_str(synopsis);
        } else {
            for (flag, value) in self.valued {
                line.push_str(&format!(" [{flag} {value}]"));
            }
            for switch in self.switches {
                line.push_str(&format!(" [{switch}]"));
            }
        }
        line
    }

    /// The usage line with what the task does.
    pub(crate) fn help(&self) -> String {
        format!(
            "{}\n    {}",
            self.usage(),
            self.about.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

/// The task named `name`.
pub(crate) fn task(name: &str) -> Option<&'static Task> {
    TASKS.iter().find(|task| task.name == name)
}

/// Every task's usage and what it does.
pub(crate) fn help() -> String {
    let mut text = String::from("usage: cargo xtask <task> [flags]\n\ntasks:\n");
    for task in TASKS {
        for line in task.help().lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str("\n`cargo xtask <task> --help` shows one task.");
    text
}

/// True for the arguments that ask for help.
pub(crate) fn is_help(arg: &str) -> bool {
    matches!(arg, "--help" | "-h" | "help")
}

/// Parsed `--flag VALUE` pairs and `--switch`es.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
}

impl Flags {
    /// Parses `args` for `task`, accepting only its flags.
    pub(crate) fn parse(task: &Task, args: &[String]) -> Result<Self, Usage> {
        let valued: Vec<&str> = task.valued.iter().map(|(flag, _)| *flag).collect();
        let mut flags = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if valued.contains(&arg.as_str()) {
                let value = args
                    .next()
                    .ok_or_else(|| Usage(format!("{arg} needs a value: {}", task.usage())))?;
                if flags.values.insert(arg.clone(), value.clone()).is_some() {
                    return Err(Usage(format!("{arg} was given twice")));
                }
            } else if task.switches.contains(&arg.as_str()) {
                if flags.switches.contains(arg) {
                    return Err(Usage(format!("{arg} was given twice")));
                }
                flags.switches.push(arg.clone());
            } else if task.valued.is_empty() && task.switches.is_empty() {
                return Err(Usage(format!(
                    "unexpected argument `{arg}`: `cargo xtask {}` takes no flags",
                    task.name
                )));
            } else {
                return Err(Usage(format!("unknown flag `{arg}`: {}", task.usage())));
            }
        }
        Ok(flags)
    }

    /// The number given with `flag`, or `default`.
    pub(crate) fn number(&self, flag: &str, default: u64) -> Result<u64, Usage> {
        self.values.get(flag).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| Usage(format!("{flag} takes a whole number, not `{v}`")))
        })
    }

    /// Whether `switch` was given.
    pub(crate) fn switch(&self, switch: &str) -> bool {
        self.switches.iter().any(|s| s == switch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    const DIFFTEST: &Task = &TASKS[2];
    const BENCH: &Task = &TASKS[5];

    #[test]
    fn known_flags_parse_and_anything_else_is_an_error() {
        assert_eq!(DIFFTEST.name, "difftest");
        let flags = Flags::parse(DIFFTEST, &args(&["--docs", "5"])).unwrap();
        assert_eq!(flags.number("--docs", 1).unwrap(), 5);
        let flags = Flags::parse(BENCH, &args(&["--no-build-cost"])).unwrap();
        assert!(flags.switch("--no-build-cost"));
        assert!(!flags.switch("--build-cost-only"));
        assert_eq!(
            Flags::parse(DIFFTEST, &[])
                .unwrap()
                .number("--docs", 7)
                .unwrap(),
            7
        );
        for (bad, message) in [
            (
                &["--doc", "5"][..],
                "unknown flag `--doc`: cargo xtask difftest [--docs N]",
            ),
            (
                &["--docs"],
                "--docs needs a value: cargo xtask difftest [--docs N]",
            ),
            (&["--docs", "1", "--docs", "2"], "--docs was given twice"),
            (
                &["extra"],
                "unknown flag `extra`: cargo xtask difftest [--docs N]",
            ),
        ] {
            let error = Flags::parse(DIFFTEST, &args(bad)).unwrap_err();
            assert_eq!(error.to_string(), message, "{bad:?}");
        }
        let flags = Flags::parse(DIFFTEST, &args(&["--docs", "many"])).unwrap();
        assert_eq!(
            flags.number("--docs", 1).unwrap_err().to_string(),
            "--docs takes a whole number, not `many`"
        );
        assert_eq!(
            Flags::parse(task("ci").unwrap(), &args(&["--x"]))
                .unwrap_err()
                .to_string(),
            "unexpected argument `--x`: `cargo xtask ci` takes no flags"
        );
    }

    #[test]
    fn help_lists_every_task_with_its_flags() {
        let text = help();
        for task in TASKS {
            assert!(text.contains(&task.usage()), "{}", task.name);
        }
        assert!(text.contains("cargo xtask load [--sessions N] [--orders N]"));
        assert!(
            text.contains(
                "cargo xtask bench [--no-build-cost | --build-cost-only | --payments-only]"
            )
        );
        assert!(text.contains("cargo xtask ci\n"));
        for arg in ["--help", "-h", "help"] {
            assert!(is_help(arg));
        }
        assert!(!is_help("--helpful"));
    }
}
