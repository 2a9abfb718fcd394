//! Human and JSON output of sessions.

use actalink_checkout::CheckoutSession;

use crate::Failure;

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
    rows.push(("url", session.url.clone()));
    if let Some(expires) = session.expires_at {
        rows.push(("expires at", expires.to_string()));
    }
    if let Some(product) = session.products.first() {
        let name = product
            .name
            .clone()
            .unwrap_or_else(|| product.id.to_string());
        let price = product
            .price_details
            .as_ref()
            .map(|d| {
                let amount = d
                    .amount()
                    .map_or_else(|_| d.price.raw().to_owned(), |a| a.to_string());
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

/// Prints `label  value` rows with the values aligned.
pub(crate) fn print_rows(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in rows {
        println!("{label:<width$}  {value}");
    }
}
