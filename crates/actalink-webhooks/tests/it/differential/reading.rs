//! Reading an event as Node reads it: the fields the Rust verifier gives
//! must be what `tests/node/sign.js` read under the same lenient rules.

use actalink_webhooks::{Event, EventType};

/// Whether the event's fields are what Node read under the same rules (see
/// `tests/node/sign.js`).
pub(super) fn same_reading(event: &Event, node: &serde_json::Value) -> Result<(), String> {
    #[allow(clippy::needless_pass_by_value)] // Called with temporaries.
    fn check<T: PartialEq + std::fmt::Debug>(what: &str, ours: T, node: T) -> Result<(), String> {
        if ours == node {
            Ok(())
        } else {
            Err(format!("{what}: ours {ours:?}, node {node:?}"))
        }
    }
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    check("id", event.id.clone(), s(&node["id"]))?;
    check(
        "eventType",
        event.event_type.as_ref().map(|t| t.as_str().to_owned()),
        s(&node["type"]),
    )?;
    check("data.id", event.data.id.clone(), s(&node["dataId"]))?;
    check(
        "data.checkoutSessionId",
        event
            .data
            .checkout_session_id
            .as_ref()
            .map(ToString::to_string),
        s(&node["csid"]),
    )?;
    match (&event.data.token, &node["token"]) {
        (None, serde_json::Value::Null) => {}
        (Some(token), expected) if expected.is_object() => {
            check("token.name", token.name.clone(), s(&expected["name"]))?;
            let amount = &expected["amount"];
            let ours = token.amount.as_ref();
            if let Some(raw) = amount["s"].as_str() {
                check("token.amount", ours.map(|a| a.raw()), Some(raw))?;
            } else if let Some(n) = amount["n"].as_str() {
                let units = ours.and_then(|a| a.base_units().ok());
                check("token.amount", units, n.parse().ok())?;
            } else {
                check("token.amount", ours, None)?;
            }
            check(
                "token.decimals",
                token.decimals.map(u64::from),
                expected["decimals"].as_u64(),
            )?;
        }
        (ours, node) => return Err(format!("token: ours {ours:?}, node {node}")),
    }
    let pairs = event.data.metadata.as_ref().map(|m| {
        m.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    });
    let node_pairs = node["meta"].as_array().map(|pairs| {
        pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or("?").to_owned(),
                    p[1].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect::<Vec<_>>()
    });
    check("metadata", pairs, node_pairs)?;
    let recognised = s(&node["id"]).is_some_and(|id| !id.is_empty())
        && s(&node["type"]).is_some_and(|t| EventType::from_wire(&t).is_known());
    check("is_recognised", event.is_recognised(), recognised)
}
