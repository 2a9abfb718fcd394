//! Durations as people write them on a command line: `90s`, `5m`, `1h30m`,
//! `500ms`, `2d`, or a bare number of seconds (`90`, `0.5`).
//!
//! `humantime` was not used: it refuses a bare number, which every flag here
//! accepted before units did, and accepts much more (`2 months`, `1y`) than
//! a timeout needs. This is the whole grammar:
//!
//! ```text
//! duration = number | (number unit)+      spaces between parts are allowed
//! number   = digits ["." digits]
//! unit     = "ms" | "s" | "m" | "h" | "d"
//! ```
//!
//! Arithmetic is exact (integer nanoseconds) and checked: no float is
//! involved, and a value beyond `Duration::MAX` is an error, never a panic.

use std::time::Duration;

use crate::{Failure, output};

/// What a duration may look like, for error messages.
pub(crate) const FORMS: &str = "90s, 5m, 1h30m, 500ms, or a number of seconds";

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A unit's length in nanoseconds.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// `int.frac` times `unit` nanoseconds, exactly (fraction digits beyond a
/// nanosecond are dropped); `None` on overflow or a malformed number.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (number.contains('.') && frac.is_empty())
    {
        return None;
    }
    let whole = int.parse::<u128>().ok()?.checked_mul(unit)?;
    let mut part: u128 = 0;
    let mut scale = unit;
    for digit in frac.bytes() {
        scale /= 10;
        part = part.checked_add(u128::from(digit - b'0').checked_mul(scale)?)?;
    }
    whole.checked_add(part)
}

/// Parses a duration (see the module's documentation); the error says why not.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("{:?} is not a duration: give {FORMS}", output::escape(text));
    if text.is_empty() {
        return Err(bad());
    }
    let nanos = if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        scaled(text, NANOS_PER_SEC).ok_or_else(bad)?
    } else {
        let mut total: u128 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let number_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let (number, after) = rest.split_at(number_end);
            let unit_end = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(unit_end);
            let unit = unit_nanos(unit).ok_or_else(bad)?;
            total = scaled(number, unit)
                .and_then(|n| total.checked_add(n))
                .ok_or_else(bad)?;
            rest = after.trim_start();
        }
        total
    };
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| bad())?;
    // The remainder is below 10^9, so it fits.
    let sub = u32::try_from(nanos % NANOS_PER_SEC).map_err(|_| bad())?;
    Ok(Duration::new(secs, sub))
}

/// A duration written as it is read back: `90s`, `5m`, `1h30m`, `500ms`.
pub(crate) fn words(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let secs = duration.as_secs();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
        }
    }
    let rest = duration.subsec_millis();
    if rest > 0 {
        text.push_str(&format!("{rest}ms"));
    }
    text
}

/// The value of `--flag`, parsed and within `[min, max]`: input errors
/// (exit 2) otherwise, caught before any request.
pub(crate) fn flag(
    name: &str,
    value: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, Failure> {
    let duration = parse(value).map_err(|why| Failure::input(format!("--{name} {why}")))?;
    if duration < min || duration > max {
        return Err(Failure::input(format!(
            "--{name} must be from {} to {}, not {}",
            words(min),
            words(max),
            words(duration)
        )));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_people_write_are_read_exactly() {
        let s = Duration::from_secs;
        for (text, expected) in [
            ("90s", s(90)),
            ("5m", s(300)),
            ("1h30m", s(5400)),
            ("1h 30m", s(5400)),
            ("2d", s(172_800)),
            ("500ms", Duration::from_millis(500)),
            ("1m30s250ms", Duration::from_millis(90_250)),
            ("90", s(90)),
            (" 600 ", s(600)),
            ("0.5", Duration::from_millis(500)),
            ("0.01", Duration::from_millis(10)),
            ("1.5h", s(5400)),
            ("0.000000001", Duration::from_nanos(1)),
            ("0.0000000001", Duration::ZERO),
            ("0", Duration::ZERO),
            ("18446744073709551615", s(u64::MAX)),
        ] {
            assert_eq!(parse(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn anything_else_is_an_error_not_a_panic() {
        for text in [
            "",
            " ",
            "5x",
            "m",
            "5 m s",
            "1e19",
            "NaN",
            "inf",
            "-5",
            "-1s",
            "1.",
            ".5",
            "1..2",
            "5M",
            "1h-30m",
            "99999999999999999999999999999999999999999d",
            "18446744073709551616",
            "1.5.5s",
            "5 minutes",
            "\u{1b}[31m",
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.contains("is not a duration: give 90s, 5m, 1h30m"),
                "{text:?}: {err}"
            );
        }
        assert!(!parse("\u{1b}").unwrap_err().contains('\u{1b}'), "escaped");
    }

    #[test]
    fn durations_read_back_as_written() {
        for text in [
            "1m30s",
            "45s",
            "5m",
            "1h30m",
            "500ms",
            "7d",
            "1m30s250ms",
            "1h",
        ] {
            assert_eq!(words(parse(text).unwrap()), text);
        }
        assert_eq!(words(Duration::from_millis(10)), "10ms");
    }

    #[test]
    fn flags_are_bounded() {
        let (min, max) = (Duration::from_millis(10), Duration::from_secs(3600));
        assert_eq!(
            flag("interval", "2s", min, max).ok(),
            Some(Duration::from_secs(2))
        );
        let err = flag("interval", "2h", min, max).unwrap_err();
        assert_eq!(err.message(), "--interval must be from 10ms to 1h, not 2h");
        assert_eq!(err.exit(), 2);
        let err = flag("interval", "nope", min, max).unwrap_err();
        assert!(
            err.message()
                .starts_with("--interval \"nope\" is not a duration")
        );
    }
}
