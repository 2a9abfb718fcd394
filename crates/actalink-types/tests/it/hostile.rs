//! Hostile input: every public constructor and parser, over arbitrary input,
//! returns a value or a typed error and never panics.
//!
//! `PROPTEST_CASES` scales the run: `cargo xtask fuzz` runs these (and the
//! webhook ones) with a large case count for a bounded time.

use actalink_types::{
    CheckoutSession, CheckoutSessionId, CreateCheckoutSession, Metadata, OrderId, PaylinkId, Price,
    ProductId, TokenAmount,
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
    fn redirect_urls_of_any_text_are_validated(url in any::<String>(), scheme in "(https?|ftp|javascript|data|file|HTTP)") {
        for candidate in [url.clone(), format!("{scheme}://{url}"), format!("{scheme}:{url}")] {
            match CreateCheckoutSession::builder("paylink_x").success_url(&candidate).build() {
                Ok(request) => {
                    // Sent exactly as written, and it is an http(s) URL.
                    prop_assert_eq!(request.success_url(), Some(candidate.as_str()));
                    let parsed = url::Url::parse(&candidate).unwrap();
                    prop_assert!(parsed.scheme() == "http" || parsed.scheme() == "https");
                }
                Err(e) => prop_assert!(e.to_string().contains("successUrl")),
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
    fn a_mutated_session_decodes_or_fails_typed(position in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let fixture = session_fixture().into_bytes();
        let mut mutated = fixture.clone();
        let at = position.index(mutated.len());
        mutated[at] = byte;
        let _ = serde_json::from_slice::<serde_json::Value>(&mutated);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&mutated) {
            let _ = serde_json::from_value::<CheckoutSession>(value["data"].clone());
        }
        // A prefix of the document parses only if it is the whole document (up to trailing whitespace).
        let truncated = &fixture[..cut.index(fixture.len())];
        if serde_json::from_slice::<serde_json::Value>(truncated).is_ok() {
            prop_assert_eq!(truncated.trim_ascii_end(), fixture.trim_ascii_end());
        }
    }

    #[test]
    fn sessions_with_values_of_the_wrong_type_fail_typed(field in "(id|status|url|orderId|createdAt|metadata|products|plan|payment|startedAt)", value in prop_oneof![
        Just(serde_json::json!(null)), Just(serde_json::json!(7)), Just(serde_json::json!(-1.5)), Just(serde_json::json!("")),
        Just(serde_json::json!("not a date")), Just(serde_json::json!([1, 2])), Just(serde_json::json!({"x": {}})), Just(serde_json::json!(true)),
    ]) {
        let mut session: serde_json::Value = serde_json::from_str(&session_fixture()).unwrap();
        session["data"][field.as_str()] = value;
        let _ = serde_json::from_value::<CheckoutSession>(session["data"].clone());
    }
}
