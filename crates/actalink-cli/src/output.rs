//! Human and JSON output of sessions.
//!
//! Human output prints text the server or a webhook supplied (metadata, names,
//! statuses, error messages): [`escape`] keeps control characters and
//! bidirectional overrides from reaching the terminal raw, and [`print_rows`]
//! applies it to every label and value.

use std::borrow::Cow;
use std::fmt::Write as _;

use std::time::Duration;

use actalink_checkout::CheckoutSession;
use actalink_types::IntervalUnit;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Failure;

/// The HTTP transport of the commands that call a URL the user gave (the
/// sandbox's control API, a webhook handler): 5 s to connect, 30 s in all.
pub(crate) fn http_transport() -> Result<actalink_transport::ReqwestTransport, Failure> {
    actalink_transport::ReqwestTransport::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent("actalink-cli")
        .build()
        .map_err(|e| Failure::failed("transport", e.to_string()))
}

/// True for what a terminal may interpret rather than show: C0 and C1
/// controls, DEL, and the Unicode bidirectional formatting characters
/// (which can make text read differently from what it is).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every control character and bidirectional override escaped
/// (`\n`, `\t`, `\r`, else `\u{1b}` style), so that no escape sequence from the
/// server or a webhook reaches the terminal raw. Borrowed when nothing needed
/// escaping.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A time as RFC 3339 (`2025-08-29T15:35:36.348Z`), or its `Debug` form
/// if it cannot be formatted (a year beyond 9999).
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| format!("{at:?}"))
}

/// `every 15 minutes`, `every month`, `every 2 years` for an interval count
/// and unit; an unknown unit (or a count of 0) as sent, `every 3 × fortnight`.
pub(crate) fn interval_words(count: u32, unit: &IntervalUnit) -> String {
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("every {one}")
        } else {
            format!("every {n} {many}")
        }
    };
    let n = u64::from(count);
    if n == 0 {
        return format!("every {count} × {}", unit.as_str());
    }
    match unit {
        IntervalUnit::FiveMins => format!("every {} minutes", n * 5),
        IntervalUnit::Daily => plural(n, "day", "days"),
        IntervalUnit::Week => plural(n, "week", "weeks"),
        IntervalUnit::Month => plural(n, "month", "months"),
        IntervalUnit::Quarter => plural(n, "quarter", "quarters"),
        IntervalUnit::HalfYear if n == 1 => "every half year".to_owned(),
        IntervalUnit::HalfYear => format!("every {} months", n * 6),
        IntervalUnit::Year => plural(n, "year", "years"),
        other => format!("every {count} × {}", other.as_str()),
    }
}

/// A duration in words for people: `800 ms`, `12 s`, `2 min 5 s`, `1 h 3 min`.
pub(crate) fn duration_words(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{} ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// `host:port` of a URL (the scheme's default port when none is written),
/// never its credentials or path; `None` when it is not a URL with a host.
pub(crate) fn host_port(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// Reads `value`, given as `flag`, as an http or https URL with a host,
/// exactly as given (what is checked is what is sent); the message says why
/// not, naming the URL without its credentials or query.
pub(crate) fn http_url(flag: &str, value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value)
        .map_err(|e| format!("{flag} {:?} is not a URL: {e}", redact_text(value)))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "{flag} {:?} must be an http or https URL",
            redact_url(value)
        ));
    }
    Ok(url)
}

/// The URL without credentials, query or fragment (which may carry tokens):
/// `https://user:pw@shop.example/hook?token=x` is `https://shop.example/hook?…`.
/// Text that is not a URL is returned as `the given URL`.
pub(crate) fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "the given URL".to_owned();
    };
    let had_query = parsed.query().is_some();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut text = parsed.to_string();
    if had_query {
        text.push_str("?…");
    }
    text
}

/// Text that did not parse as a URL, as a message names it: everything from
/// the scheme to its last `@` (credentials) shown as `***`, and any query or
/// fragment (tokens) as `?…`. `http://user:pw@a b/?t=x` is `http://***@a b/?…`.
fn redact_text(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let shown = match value[start..].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &value[start + at..]),
        None => value.to_owned(),
    };
    match shown[start..].find(['?', '#']) {
        Some(i) => format!("{}?…", &shown[..start + i]),
        None => shown,
    }
}

/// The origin of a base URL (`http://127.0.0.1:4010`), without credentials
/// or path, for naming where a request went.
pub(crate) fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.has_host() => parsed.origin().ascii_serialization(),
        _ => redact_url(url),
    }
}

/// The price of a product in words: `0.16 USDC every 15 minutes`.
fn price_words(details: &actalink_types::PriceDetails) -> String {
    let amount = details.decimal().map_or_else(
        |_| {
            details
                .price
                .as_ref()
                .map_or_else(|| "?".to_owned(), |p| p.raw().to_owned())
        },
        |a| a.to_string(),
    );
    let mut text = amount;
    if let Some(currency) = &details.currency {
        text.push(' ');
        text.push_str(currency.as_str());
    }
    if let (Some(n), Some(unit)) = (details.interval_count, &details.interval_unit) {
        text.push(' ');
        text.push_str(&interval_words(n, unit));
    }
    text
}

/// Prints the session: one JSON object with `--json` (every field the API
/// sent, unknown ones too, re-serialised), aligned lines otherwise.
pub(crate) fn session(session: &CheckoutSession, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(session);
    }
    print_rows(&session_rows(session));
    Ok(())
}

/// Prints `value` as one line of JSON on stdout (`--json` output).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .map_err(|e| Failure::failed("encode", format!("could not print JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}

/// The rows of a session's human output.
pub(crate) fn session_rows(session: &CheckoutSession) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&str, String)> = vec![
        ("id", session.id.to_string()),
        ("status", session.status.to_string()),
    ];
    if let Some(order) = &session.order_id {
        let status = session
            .order_status
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        rows.push(("order", format!("{order}{status}")));
    }
    if let Some(url) = &session.url {
        rows.push(("url", url.clone()));
    }
    if let Some(product) = session.products.first() {
        let name = product
            .name
            .clone()
            .or_else(|| product.id.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "?".into());
        let price = product
            .price_details
            .as_ref()
            .map(|d| format!(" · {}", price_words(d)))
            .unwrap_or_default();
        rows.push(("product", format!("{name}{price}")));
    }
    if let Some(metadata) = &session.metadata {
        let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(("metadata", pairs.join(", ")));
    }
    for (label, at) in [
        ("created at", session.created_at),
        ("expires at", session.expires_at),
        ("paid at", session.started_at),
        ("period ends", session.end_at),
    ] {
        if let Some(at) = at {
            rows.push((label, rfc3339(at)));
        }
    }
    rows
}

/// The `label  value` lines, values aligned, every label and value escaped.
pub(crate) fn format_rows(rows: &[(&str, String)]) -> String {
    let rows: Vec<(Cow<'_, str>, Cow<'_, str>)> = rows
        .iter()
        .map(|(label, value)| (escape(label), escape(value)))
        .collect();
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{label:<width$}  {value}");
    }
    out
}

/// Prints `label  value` rows with the values aligned. Every label and value
/// is [`escape`]d: callers may pass server- or webhook-supplied text as is.
pub(crate) fn print_rows(rows: &[(&str, String)]) {
    out!("{}", format_rows(rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_not_printed() {
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("\x1b[31mred\x1b[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(escape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(escape("\u{7}\u{7f}\u{9b}2J"), "\\u{7}\\u{7f}\\u{9b}2J");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        let printed = format_rows(&[
            ("metadata", "note=\x1b[31mred".to_owned()),
            ("id\x1b]0;title\x07", "x".to_owned()),
        ]);
        assert!(
            !printed.contains('\x1b') && !printed.contains('\x07'),
            "{printed:?}"
        );
        assert!(printed.contains("note=\\u{1b}[31mred"), "{printed}");
    }

    #[test]
    fn intervals_read_as_words() {
        let words = |n, unit: &str| interval_words(n, &IntervalUnit::from_wire(unit));
        assert_eq!(words(3, "5mins"), "every 15 minutes");
        assert_eq!(words(1, "5mins"), "every 5 minutes");
        assert_eq!(words(1, "daily"), "every day");
        assert_eq!(words(2, "daily"), "every 2 days");
        assert_eq!(words(1, "week"), "every week");
        assert_eq!(words(1, "month"), "every month");
        assert_eq!(words(3, "month"), "every 3 months");
        assert_eq!(words(1, "quarter"), "every quarter");
        assert_eq!(words(1, "half year"), "every half year");
        assert_eq!(words(2, "half year"), "every 12 months");
        assert_eq!(words(1, "year"), "every year");
        assert_eq!(words(u32::MAX, "5mins"), "every 21474836475 minutes");
        assert_eq!(words(2, "fortnight"), "every 2 × fortnight");
        assert_eq!(words(0, "month"), "every 0 × month");
    }

    #[test]
    fn times_are_rfc3339() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_756_481_736_348_000_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rfc3339(at), "2025-08-29T15:35:36.348Z");
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration_words(Duration::from_millis(800)), "800 ms");
        assert_eq!(duration_words(Duration::from_secs(12)), "12 s");
        assert_eq!(duration_words(Duration::from_secs(120)), "2 min");
        assert_eq!(duration_words(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(duration_words(Duration::from_secs(3600)), "1 h");
        assert_eq!(duration_words(Duration::from_secs(3780)), "1 h 3 min");
    }

    #[test]
    fn urls_are_named_without_credentials() {
        assert_eq!(
            redact_url("https://user:pw@shop.example/hook?token=x#f"),
            "https://shop.example/hook?…"
        );
        assert_eq!(redact_url("not a url"), "the given URL");
        for (text, shown) in [
            ("http://a b/", "http://a b/"),
            ("http://user:p?w@a b/?t=x#f", "http://***@a b/?…"),
            ("u:pw@a b", "***@a b"),
            ("/webhooks/actalink#x", "/webhooks/actalink?…"),
        ] {
            assert_eq!(redact_text(text), shown, "{text}");
        }
        let message = http_url("--webhook-url", "http://user:pw@a b/").unwrap_err();
        assert!(
            message.starts_with(r#"--webhook-url "http://***@a b/" is not a URL: "#),
            "{message}"
        );
        assert_eq!(
            host_port("https://user:pw@shop.example/hook").as_deref(),
            Some("shop.example:443")
        );
        assert_eq!(
            host_port("http://127.0.0.1:4010/x").as_deref(),
            Some("127.0.0.1:4010")
        );
        assert_eq!(host_port("nonsense"), None);
        assert_eq!(
            origin("https://k:s@api.acta.link/billing"),
            "https://api.acta.link"
        );
        assert_eq!(origin("http://127.0.0.1:4010"), "http://127.0.0.1:4010");
    }

    #[test]
    fn rows_are_aligned_on_the_longest_label() {
        assert_eq!(
            format_rows(&[("id", "1".into()), ("status", "open".into())]),
            "id      1\nstatus  open\n"
        );
    }
}
