//! The catalogue and its paylinks: every way of building one checks it.

use actalink_types::IntervalUnit;

use super::*;

/// A file in a directory of its own, both removed when dropped.
struct TempFile(std::path::PathBuf);

impl std::ops::Deref for TempFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn write(name: &str, text: &str) -> TempFile {
    let dir =
        std::env::temp_dir().join(format!("actalink-catalogue-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

#[test]
fn a_catalogue_file_is_read_and_validated() {
    let path = write(
        "ok.json",
        r#"{"paylinks": [
            {"id": "paylink_pro", "productId": "prod_pro", "name": "Pro", "price": "9.99", "intervalCount": 1, "intervalUnit": "month"},
            {"id": "paylink_book", "productId": "prod_book", "name": "Book", "price": "4.50", "description": "A book"}
        ]}"#,
    );
    let catalogue = Catalogue::from_file(&path).unwrap();
    let pro = catalogue.get("paylink_pro").unwrap();
    assert!(pro.is_subscription());
    assert_eq!(pro.price().raw(), "0x392e3939");
    assert_eq!(pro.period(), Some(time::Duration::days(30)));
    assert_eq!(pro.interval_unit(), Some(&IntervalUnit::Month));
    let book = catalogue.get("paylink_book").unwrap();
    assert_eq!(book.base_units(), 4_500_000);
    assert_eq!(book.period(), None);
    assert_eq!(book.price_decimal(), "4.50");
}

#[test]
fn bad_catalogues_are_refused_with_the_reason() {
    let cases = [
        (
            r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1,5"}]}"#,
            "not a non-negative decimal",
        ),
        (
            r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1", "intervalCount": 2}]}"#,
            "go together",
        ),
        (
            r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1"}, {"id": "p", "productId": "r", "name": "m", "price": "2"}]}"#,
            "appears twice",
        ),
        (
            r#"{"paylinks": [{"id": "", "productId": "q", "name": "n", "price": "1"}]}"#,
            "must not be empty",
        ),
        (
            r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1", "colour": "red"}]}"#,
            "unknown field",
        ),
        ("not json", "not a valid catalogue"),
        (
            r#"{"paylinks": [{"id": "paylink_huge", "productId": "q", "name": "n", "price": "1", "intervalCount": 10000, "intervalUnit": "year"}]}"#,
            r#"paylink "paylink_huge": intervalCount 10000 x intervalUnit "year" is longer than the 3660 days"#,
        ),
        (
            r#"{"paylinks": [{"id": "paylink_max", "productId": "q", "name": "n", "price": "1", "intervalCount": 4294967295, "intervalUnit": "5mins"}]}"#,
            r#"paylink "paylink_max": intervalCount 4294967295"#,
        ),
        (
            r#"{"paylinks": [{"id": "paylink_zero", "productId": "q", "name": "n", "price": "1", "intervalCount": 0, "intervalUnit": "month"}]}"#,
            r#"paylink "paylink_zero": intervalCount must be at least 1"#,
        ),
        (
            r#"{"paylinks": [{"id": "paylink_unit", "productId": "q", "name": "n", "price": "1", "intervalCount": 1, "intervalUnit": "fortnight"}]}"#,
            r#"paylink "paylink_unit": intervalUnit "fortnight" is not one of "5mins""#,
        ),
        (
            r#"{"paylinks": [{"id": "paylink_cents", "productId": "q", "name": "n", "price": "0.1234567"}]}"#,
            r#"paylink "paylink_cents": price "0.1234567" must have at most 6 decimal places"#,
        ),
        (
            r#"{"paylinks": [{"id": "paylink_rich", "productId": "q", "name": "n", "price": "1000000000000000000000000000000000"}]}"#,
            "fit the exact decimal type",
        ),
        (
            r#"{"paylinks": [{"id": "p", "productId": " ", "name": "n", "price": "1"}]}"#,
            r#"paylink "p": productId must not be empty"#,
        ),
    ];
    for (i, (text, reason)) in cases.iter().enumerate() {
        let err = Catalogue::from_file(&write(&format!("bad{i}.json"), text))
            .unwrap_err()
            .to_string();
        assert!(err.contains(reason), "{text}: {err}");
    }
    let missing = Catalogue::from_file(Path::new("/nonexistent/catalogue.json"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("cannot read"), "{missing}");
}

#[test]
fn every_way_of_building_a_paylink_checks_it() {
    let err = Paylink::subscription("paylink_huge", "prod", "Huge", "1", 10_000, "year")
        .unwrap_err()
        .to_string();
    assert!(err.contains("paylink \"paylink_huge\""), "{err}");
    // A bad price is refused, never sent as a made-up amount.
    for price in [
        "",
        "abc",
        "1e3",
        "0.0000001",
        "1000000000000000000000000000000000",
    ] {
        assert!(Paylink::onetime("p", "q", "n", price).is_err(), "{price:?}");
    }
    // Deserialising directly (not through `from_file`) checks too.
    let err = serde_json::from_str::<Catalogue>(
        r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1", "intervalCount": 10000, "intervalUnit": "year"}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("longer than"), "{err}");
    let err = serde_json::from_str::<Paylink>(
        r#"{"id": "p", "productId": "q", "name": "n", "price": "x"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("price \"x\""), "{err}");
    // The longest period accepted is still far from any overflow.
    let decade =
        Paylink::subscription("paylink_d", "prod", "D", "1", 10, IntervalUnit::Year).unwrap();
    assert_eq!(decade.period(), Some(time::Duration::days(3650)));
    assert!(
        Catalogue::new(vec![decade.clone(), decade]).is_err(),
        "a repeated id"
    );
    assert_eq!(Catalogue::default().paylinks().len(), 2);
}

#[test]
fn base_units_are_exact_or_refused() {
    let units = |p: &str| {
        Paylink::onetime("p", "q", "n", p)
            .map(|p| p.base_units())
            .ok()
    };
    assert_eq!(units("0.15"), Some(150_000));
    assert_eq!(units("10"), Some(10_000_000));
    assert_eq!(units("0.000001"), Some(1));
    assert_eq!(units("0.0000001"), None);
    assert_eq!(units("1000000000000000000000000000000000"), None);
}

#[test]
fn a_catalogue_file_is_read_only_up_to_its_limit() {
    let limit = crate::limits::MAX_CATALOGUE_BYTES;
    let padded = format!(r#"{{"paylinks": []{}}}"#, " ".repeat(limit));
    let path = write("big.json", &padded);
    let err = Catalogue::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("holds more than 1048576 bytes"), "{err}");
    // An endless file is refused as quickly, after the limit and one byte.
    let started = std::time::Instant::now();
    let err = Catalogue::from_file(std::path::Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/dev/zero holds more than"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A file exactly at the limit is read (and judged on its content).
    let exact = format!(r#"{{"paylinks": []{}}}"#, " ".repeat(limit - 16));
    assert_eq!(exact.len(), limit);
    let path = write("exact.json", &exact);
    assert!(Catalogue::from_file(&path).is_ok());
}
