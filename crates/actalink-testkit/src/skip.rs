//! Skipping a test for want of something, except under CI.

use std::ffi::OsStr;

/// Whether this process runs under CI: the environment variable `CI` is set
/// to anything but an empty string, `0` or `false` (GitHub Actions and
/// `.ci/run` set `CI=true`).
///
/// Under CI every test must run, so a test that lacks a tool or a server
/// fails instead of skipping; see [`skip`].
#[must_use]
pub fn is_ci() -> bool {
    ci_from(std::env::var_os("CI").as_deref())
}

/// Says that `test` cannot run because of `reason`, and lets it return.
///
/// Prints `skipped: <test>: <reason>` to stderr. Under CI ([`is_ci`]) it
/// panics with that reason instead, so that a missing tool or server fails
/// the run rather than silently skipping tests.
///
/// ```no_run
/// if std::process::Command::new("faketime").arg("--version").output().is_err() {
///     actalink_testkit::skip("clock_skew", "`faketime` is not installed (Debian package faketime)");
///     return;
/// }
/// ```
///
/// # Panics
///
/// Under CI, always.
pub fn skip(test: &str, reason: &str) {
    match verdict(is_ci(), test, reason) {
        Ok(line) => eprintln!("{line}"),
        Err(message) => panic!("{message}"),
    }
}

/// The value of `CI` read as a yes or no.
pub(crate) fn ci_from(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| {
        let v = v.to_string_lossy();
        let v = v.trim();
        !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
    })
}

/// What [`skip`] does: `Ok` with the line to print, or `Err` with the panic
/// message under CI.
pub(crate) fn verdict(ci: bool, test: &str, reason: &str) -> Result<String, String> {
    if ci {
        Err(format!(
            "{test}: {reason}; under CI (CI is set) every test must run, none may skip"
        ))
    } else {
        Ok(format!("skipped: {test}: {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        assert!(!ci_from(None));
        for no in ["", " ", "0", "false", "FALSE", "False"] {
            assert!(!ci_from(Some(OsStr::new(no))), "{no:?}");
        }
        for yes in ["true", "TRUE", "1", "yes", "github"] {
            assert!(ci_from(Some(OsStr::new(yes))), "{yes:?}");
        }
    }

    #[test]
    fn skips_outside_ci_and_fails_under_it() {
        assert_eq!(
            verdict(false, "a_test", "no widget"),
            Ok("skipped: a_test: no widget".to_owned())
        );
        let message = verdict(true, "a_test", "no widget").unwrap_err();
        assert!(message.starts_with("a_test: no widget;"), "{message}");
        assert!(message.contains("CI"), "{message}");
    }
}
