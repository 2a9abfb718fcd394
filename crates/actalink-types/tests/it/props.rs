//! Property tests: metadata invariants, request round-trips, redirect URLs,
//! price encoding.

use actalink_types::{CreateCheckoutSession, Error, Metadata, Price};
use proptest::collection::vec;
use proptest::prelude::*;

/// Distinct non-empty keys of any Unicode, with values of any Unicode.
fn pairs(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    vec((".+", ".*"), 0..=max).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

/// The schemes a redirect URL may not use.
const REFUSED_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

/// `scheme` with each letter upper-cased where `mask` has a bit set.
fn mixed_case(scheme: &str, mask: u32) -> String {
    scheme
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 32) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// `int`, followed by `.frac` when there is a fraction.
fn decimal_text(int: &str, frac: Option<&str>) -> String {
    frac.map_or_else(|| int.to_owned(), |frac| format!("{int}.{frac}"))
}

proptest! {
    #[test]
    fn up_to_fifty_keys_are_accepted_and_round_trip_in_order(pairs in pairs(50)) {
        let metadata = Metadata::try_from_iter(pairs.clone()).unwrap();
        prop_assert_eq!(metadata.len(), pairs.len());
        let json = serde_json::to_string(&metadata).unwrap();
        let back: Metadata = serde_json::from_str(&json).unwrap();
        let back_pairs: Vec<(String, String)> =
            back.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        prop_assert_eq!(back_pairs, pairs);
        prop_assert_eq!(back, metadata);
    }

    #[test]
    fn fifty_one_or_more_keys_are_rejected(extra in 1usize..20, value in ".*") {
        let pairs: Vec<(String, String)> =
            (0..50 + extra).map(|i| (format!("key-{i}"), value.clone())).collect();
        let err = Metadata::try_from_iter(pairs).unwrap_err();
        prop_assert_eq!(err, Error::TooManyMetadataKeys { limit: 50, key: "key-50".into() });
    }

    #[test]
    fn an_empty_key_is_rejected_anywhere(mut pairs in pairs(49), at in any::<prop::sample::Index>()) {
        let index = at.index(pairs.len() + 1);
        pairs.insert(index, (String::new(), "v".into()));
        prop_assert_eq!(Metadata::try_from_iter(pairs).unwrap_err(), Error::EmptyMetadataKey);
    }

    #[test]
    fn requests_round_trip(
        paylink in "[A-Za-z0-9_]{1,40}",
        pairs in pairs(50),
        path in "[a-z0-9/]{0,20}",
        with_urls in any::<bool>(),
    ) {
        let mut builder = CreateCheckoutSession::builder(paylink);
        for (k, v) in &pairs {
            builder = builder.metadata(k, v);
        }
        if with_urls {
            builder = builder
                .success_url(format!("https://shop.example/{path}"))
                .cancel_url(format!("http://localhost:8080/{path}?c=1"))
                .failure_url("https://shop.example/failed");
        }
        let request = builder.build().unwrap();
        let json = serde_json::to_string(&request).unwrap();
        let back: CreateCheckoutSession = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, request);
    }

    #[test]
    fn price_encoding_round_trips(int in "[0-9]{1,14}", frac in proptest::option::of("[0-9]{1,14}")) {
        let decimal = decimal_text(&int, frac.as_deref());
        let price = Price::from_decimal_str(&decimal).unwrap();
        prop_assert_eq!(price.decimal_str().unwrap(), decimal.clone());
        let exact = price.decimal().unwrap();
        prop_assert_eq!(exact, decimal.parse::<actalink_types::Decimal>().unwrap());
    }

    #[test]
    fn price_strings_of_any_length_round_trip(int in "[0-9]{1,80}", frac in proptest::option::of("[0-9]{1,80}")) {
        let decimal = decimal_text(&int, frac.as_deref());
        let price = Price::from_decimal_str(&decimal).unwrap();
        prop_assert_eq!(price.decimal_str().unwrap(), decimal);
        // Beyond 28 significant digits the exact decimal type cannot hold it: a typed error, not a wrong value.
        if let Ok(exact) = price.decimal() {
            let (exact, text) = (exact.to_string(), price.decimal_str().unwrap());
            prop_assert_eq!(exact.trim_start_matches('0'), text.trim_start_matches('0'));
        }
    }

    #[test]
    fn price_decoding_never_panics(raw in ".*") {
        let _ = Price::from_raw(raw).decimal();
    }

    #[test]
    fn an_absolute_uri_in_any_other_scheme_goes_out_verbatim(
        scheme in "[a-zA-Z][a-zA-Z0-9+.-]{0,15}",
        rest in "(//[a-z0-9.-]{1,20}(:[0-9]{1,4})?)?(/[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,12}){0,4}(\\?[A-Za-z0-9=&%]{0,12})?(#[A-Za-z0-9]{0,8})?",
    ) {
        prop_assume!(!REFUSED_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()));
        let url = format!("{scheme}:{rest}");
        // Only what a URL parser takes as absolute counts; that is all of these
        // but for the odd host the http(s) rules refuse.
        prop_assume!(url::Url::parse(&url).is_ok());
        let request = CreateCheckoutSession::builder("p")
            .success_url(&url)
            .cancel_url(&url)
            .failure_url(&url)
            .build()
            .unwrap();
        let json = serde_json::to_value(&request).unwrap();
        prop_assert_eq!(json["successUrl"].as_str(), Some(url.as_str()));
        prop_assert_eq!(json["cancelUrl"].as_str(), Some(url.as_str()));
        prop_assert_eq!(json["failureUrl"].as_str(), Some(url.as_str()));
        let back: CreateCheckoutSession = serde_json::from_value(json).unwrap();
        prop_assert_eq!(back, request);
    }

    #[test]
    fn script_data_and_file_schemes_are_refused_in_any_case(
        which in 0usize..4,
        mask in any::<u32>(),
        rest in "[ -~&&[^ ]]{0,40}",
    ) {
        let scheme = REFUSED_SCHEMES[which];
        let url = format!("{}:{rest}", mixed_case(scheme, mask));
        let err = CreateCheckoutSession::builder("p").failure_url(&url).build().unwrap_err();
        prop_assert_eq!(
            err,
            Error::UnsupportedUrlScheme { field: "failureUrl", scheme: scheme.to_owned() }
        );
    }

    #[test]
    fn relative_references_are_refused(path in "[A-Za-z0-9._~/?#-]{0,40}") {
        // No `:` before the first `/`, `?` or `#`: no scheme, so relative.
        let err = CreateCheckoutSession::builder("p").cancel_url(&path).build().unwrap_err();
        let relative = matches!(err, Error::RelativeUrl { field: "cancelUrl", .. });
        prop_assert!(relative, "{:?}: {:?}", path, err);
    }
}
