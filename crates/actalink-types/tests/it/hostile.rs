//! Hostile input: every public constructor and parser, over arbitrary input,
//! returns a value or a typed error and never panics.
//!
//! `PROPTEST_CASES` scales the run: `cargo xtask fuzz` runs these (and the
//! webhook ones) with a large case count for a bounded time.

use actalink_types::{
    CheckoutSession, CheckoutSessionId, CreateCheckoutSession, Error, Metadata, OrderId, PaylinkId,
    Price, ProductId, TokenAmount,
};
use proptest::prelude::*;

fn session_fixture() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/session-status-success.200.json"
    ))
    .unwrap()
}

proptest! {
    #[test]
    fn ids_accept_or_reject_any_string(s in any::<String>()) {
        let results = [
            PaylinkId::new(s.clone()).map(|id| id.to_string()),
            CheckoutSessionId::new(s.clone()).map(|id| id.to_string()),
            OrderId::new(s.clone()).map(|id| id.to_string()),
            ProductId::new(s.clone()).map(|id| id.to_string()),
        ];
        let valid = !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        for result in results {
            prop_assert_eq!(result.is_ok(), valid);
            if let Ok(text) = result {
                prop_assert_eq!(&text, &s);
            }
        }
    }

    #[test]
    fn metadata_of_any_unicode_is_accepted_or_a_typed_error(pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..60)) {
        match Metadata::try_from_iter(pairs.clone()) {
            Ok(m) => {
                prop_assert!(m.len() <= 50);
                let back: Metadata = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
                prop_assert_eq!(back, m);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn redirect_urls_of_any_text_are_validated(url in any::<String>(), scheme in "(https?|ftp|myapp|javascript|JavaScript|data|vbscript|file|FILE|HTTP)") {
        for candidate in [url.clone(), format!("{scheme}://{url}"), format!("{scheme}:{url}")] {
            let result = CreateCheckoutSession::builder("paylink_x").success_url(&candidate).build();
            let refused_scheme = candidate.split_once(':').is_some_and(|(s, _)| {
                ["javascript", "data", "vbscript", "file"].iter().any(|r| s.eq_ignore_ascii_case(r))
            });
            let clean = !candidate.chars().any(|c| c.is_whitespace() || c.is_control());
            match result {
                Ok(request) => {
                    // Sent exactly as written; an absolute URI in an allowed scheme.
                    prop_assert_eq!(request.success_url(), Some(candidate.as_str()));
                    prop_assert!(clean && !refused_scheme, "{:?}", candidate);
                    prop_assert!(url::Url::parse(&candidate).is_ok(), "{:?}", candidate);
                }
                Err(e) => {
                    prop_assert!(e.to_string().contains("successUrl"), "{}", e);
                    // Refused only for a reason the rules give.
                    let absolute = url::Url::parse(&candidate).is_ok();
                    prop_assert!(!clean || refused_scheme || !absolute, "{:?}: {}", candidate, e);
                    if clean && refused_scheme {
                        let scheme_error = matches!(e, Error::UnsupportedUrlScheme { field: "successUrl", .. });
                        prop_assert!(scheme_error, "{:?}: {:?}", candidate, e);
                    }
                }
            }
        }
    }

    #[test]
    fn prices_and_amounts_of_any_text_decode_or_fail_typed(raw in any::<String>(), hexish in "(0[xX])?[0-9a-fA-FgG ]{0,40}") {
        for candidate in [raw.clone(), hexish.clone()] {
            let _ = Price::from_raw(candidate.clone()).decimal();
            let _ = Price::from_raw(candidate.clone()).decimal_str();
            let amount = TokenAmount::from_raw(candidate.clone());
            if let Ok(units) = amount.base_units() {
                prop_assert_eq!(TokenAmount::from_base_units(units).base_units().unwrap(), units);
            }
            let _ = amount.decimal(6);
            let _ = amount.decimal(40);
            let _ = format!("{:?} {:?}", Price::from_raw(candidate.clone()), amount);
        }
    }

    #[test]
    fn session_json_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = serde_json::from_slice::<CheckoutSession>(&bytes);
        let _ = serde_json::from_slice::<CreateCheckoutSession>(&bytes);
        let _ = serde_json::from_slice::<Metadata>(&bytes);
    }

    #[test]
    fn a_mutated_session_decodes_exactly_when_it_has_an_id_and_a_status(position in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let fixture = session_fixture().into_bytes();
        let mut mutated = fixture.clone();
        let at = position.index(mutated.len());
        mutated[at] = byte;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&mutated) {
            let data = &value["data"];
            let decoded = serde_json::from_value::<CheckoutSession>(data.clone());
            // The contract: a session with a usable id and a status always
            // decodes, whatever else a mutation broke; one without fails.
            let id = data.get("id").and_then(id_text).filter(|id| CheckoutSessionId::new(id.as_str()).is_ok());
            let status = data.get("status").and_then(serde_json::Value::as_str);
            match (id, status, decoded) {
                (Some(id), Some(status), Ok(session)) => {
                    prop_assert_eq!(session.id.as_str(), id.as_str());
                    prop_assert_eq!(session.status.as_str(), status);
                }
                (Some(_), Some(_), Err(e)) => prop_assert!(false, "a session with an id and a status failed: {}", e),
                (_, _, Ok(session)) => prop_assert!(false, "decoded without an id or a status: {:?}", session),
                (_, _, Err(e)) => {
                    let text = e.to_string();
                    prop_assert!(
                        text.contains("`id`") || text.contains("`status`") || !data.is_object(),
                        "{}", text
                    );
                }
            }
        }
        // A prefix of the document parses only if it is the whole document (up to trailing whitespace).
        let truncated = &fixture[..cut.index(fixture.len())];
        if serde_json::from_slice::<serde_json::Value>(truncated).is_ok() {
            prop_assert_eq!(truncated.trim_ascii_end(), fixture.trim_ascii_end());
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_kept_and_only_a_bad_id_or_status_fails(field in "(id|status|url|orderId|createdAt|metadata|products|plan|payment|startedAt)", value in prop_oneof![
        Just(serde_json::json!(null)), Just(serde_json::json!(7)), Just(serde_json::json!(-1.5)), Just(serde_json::json!("")),
        Just(serde_json::json!("not a date")), Just(serde_json::json!([1, 2])), Just(serde_json::json!({"x": {}})), Just(serde_json::json!(true)),
    ]) {
        let mut session: serde_json::Value = serde_json::from_str(&session_fixture()).unwrap();
        session["data"][field.as_str()] = value.clone();
        let decoded = serde_json::from_value::<CheckoutSession>(session["data"].clone());
        match field.as_str() {
            // The id is read from a string, or a number's or boolean's text, that is a valid id.
            "id" => match id_text(&value).filter(|id| CheckoutSessionId::new(id.as_str()).is_ok()) {
                Some(id) => prop_assert_eq!(decoded.unwrap().id.as_str().to_owned(), id),
                None => {
                    let e = decoded.unwrap_err().to_string();
                    prop_assert!(e.contains("no usable `id`"), "{}", e);
                }
            },
            // Any string is a status (an unknown one is kept as `Unknown`); nothing else is.
            "status" => match value.as_str() {
                Some(status) => prop_assert_eq!(decoded.unwrap().status.as_str().to_owned(), status),
                None => {
                    let e = decoded.unwrap_err().to_string();
                    prop_assert!(e.contains("no usable `status`"), "{}", e);
                }
            },
            // Any other field, in any shape: the session still decodes, and
            // re-serialises with the value as sent (null is absent, and a
            // nested object keeps its unknown members).
            _ => {
                let decoded = decoded.unwrap();
                prop_assert_eq!(decoded.id.as_str(), "checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L");
                prop_assert!(decoded.is_paid());
                let back = serde_json::to_value(&decoded).unwrap();
                if value.is_null() {
                    prop_assert!(back.get(field.as_str()).is_none_or(serde_json::Value::is_null), "{}", back);
                } else if let Some(members) = value.as_object() {
                    // A nested object is read as its model: the members it
                    // does not know are kept as sent.
                    for (key, member) in members {
                        prop_assert_eq!(&back[field.as_str()][key], member, "{}.{}", field, key);
                    }
                } else {
                    prop_assert_eq!(&back[field.as_str()], &value, "{}", field);
                }
            }
        }
    }
}

/// The text an id is read from: a string, or a number's or boolean's JSON text.
fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
