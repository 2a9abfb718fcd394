//! One strict flag parser for every task: an unknown flag, a missing value
//! or a repeated flag is an error, never ignored.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

/// Parsed `--flag VALUE` pairs and `--switch`es.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
}

impl Flags {
    /// Parses `args`, accepting only the flags named in `valued` (each takes
    /// one value) and `switches` (each takes none).
    pub(crate) fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Self> {
        let mut flags = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if valued.contains(&arg.as_str()) {
                let value = args
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                if flags.values.insert(arg.clone(), value.clone()).is_some() {
                    bail!("{arg} was given twice");
                }
            } else if switches.contains(&arg.as_str()) {
                if flags.switches.contains(arg) {
                    bail!("{arg} was given twice");
                }
                flags.switches.push(arg.clone());
            } else {
                let known: Vec<&str> = valued.iter().chain(switches).copied().collect();
                if known.is_empty() {
                    bail!("unexpected argument `{arg}`: this task takes no flags");
                }
                bail!("unknown flag `{arg}`; this task takes {}", known.join(", "));
            }
        }
        Ok(flags)
    }

    /// The number given with `flag`, or `default`.
    pub(crate) fn number(&self, flag: &str, default: u64) -> Result<u64> {
        self.values.get(flag).map_or(Ok(default), |v| {
            v.parse()
                .with_context(|| format!("{flag} takes a whole number, not `{v}`"))
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

    #[test]
    fn known_flags_parse_and_anything_else_is_an_error() {
        let flags = Flags::parse(
            &args(&["--docs", "5", "--quick"]),
            &["--docs"],
            &["--quick"],
        )
        .unwrap();
        assert_eq!(flags.number("--docs", 1).unwrap(), 5);
        assert!(flags.switch("--quick"));
        assert_eq!(
            Flags::parse(&[], &["--docs"], &[])
                .unwrap()
                .number("--docs", 7)
                .unwrap(),
            7
        );
        for bad in [
            &["--doc", "5"][..],
            &["--docs"],
            &["--docs", "1", "--docs", "2"],
            &["extra"],
        ] {
            assert!(
                Flags::parse(&args(bad), &["--docs"], &[]).is_err(),
                "{bad:?}"
            );
        }
        let flags = Flags::parse(&args(&["--docs", "many"]), &["--docs"], &[]).unwrap();
        assert!(flags.number("--docs", 1).is_err());
        assert!(Flags::parse(&args(&["--x"]), &[], &[]).is_err());
    }
}
