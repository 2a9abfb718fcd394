//! Human and JSON output of sessions.
//!
//! Human output prints text the server or a webhook supplied (metadata, names,
//! statuses, error messages): [`escape`] keeps control characters and
//! bidirectional overrides from reaching the terminal raw, and [`print_rows`]
//! applies it to every label and value.

use std::borrow::Cow;
use std::fmt::Write as _;

use actalink_checkout::CheckoutSession;

use crate::Failure;

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

/// Prints the session: one JSON object with `--json`, aligned lines otherwise.
pub(crate) fn session(session: &CheckoutSession, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string(session)
            .map_err(|e| Failure::Operation(format!("could not print JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
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
    if let Some(expires) = session.expires_at {
        rows.push(("expires at", expires.to_string()));
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
            .map(|d| {
                let amount = d.amount().map_or_else(
                    |_| {
                        d.price
                            .as_ref()
                            .map_or_else(|| "?".to_owned(), |p| p.raw().to_owned())
                    },
                    |a| a.to_string(),
                );
                let currency = d.currency.as_ref().map_or("", |c| c.as_str());
                match (d.interval_count, &d.interval_unit) {
                    (Some(n), Some(unit)) => format!(" · {amount} {currency} every {n} × {unit}"),
                    _ => format!(" · {amount} {currency}"),
                }
            })
            .unwrap_or_default();
        rows.push(("product", format!("{name}{price}")));
    }
    if let Some(metadata) = &session.metadata {
        let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(("metadata", pairs.join(", ")));
    }
    if let Some(started) = session.started_at {
        rows.push(("paid at", started.to_string()));
    }
    print_rows(&rows);
    Ok(())
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
    print!("{}", format_rows(rows));
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
    fn rows_are_aligned_on_the_longest_label() {
        assert_eq!(
            format_rows(&[("id", "1".into()), ("status", "open".into())]),
            "id      1\nstatus  open\n"
        );
    }
}
