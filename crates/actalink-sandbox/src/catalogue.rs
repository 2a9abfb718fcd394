//! The paylinks the sandbox sells.

use std::path::Path;

use actalink_types::{IntervalUnit, Price};
use serde::Deserialize;

use crate::Error;

/// One paylink of the catalogue, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Paylink {
    /// The paylink id (`paylink_…`).
    pub id: String,
    /// The product id (`prod_…`).
    pub product_id: String,
    /// The display name.
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// The price in USDC as a decimal string, such as `"0.16"`.
    pub price: String,
    /// For a subscription, how many interval units one period lasts; absent for one-time.
    #[serde(default)]
    pub interval_count: Option<u32>,
    /// For a subscription, the interval unit, such as `"5mins"` or `"month"`.
    #[serde(default)]
    pub interval_unit: Option<String>,
}

impl Paylink {
    /// A one-time product.
    pub fn onetime(id: &str, product_id: &str, name: &str, price: &str) -> Self {
        Self {
            id: id.into(),
            product_id: product_id.into(),
            name: name.into(),
            description: String::new(),
            price: price.into(),
            interval_count: None,
            interval_unit: None,
        }
    }

    /// A subscription billed every `count` × `unit`.
    pub fn subscription(
        id: &str,
        product_id: &str,
        name: &str,
        price: &str,
        count: u32,
        unit: &str,
    ) -> Self {
        Self {
            interval_count: Some(count),
            interval_unit: Some(unit.into()),
            ..Self::onetime(id, product_id, name, price)
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    /// True for a subscription.
    #[must_use]
    pub fn is_subscription(&self) -> bool {
        self.interval_count.is_some()
    }

    /// The price hex-encoded as the API sends it.
    pub(crate) fn encoded_price(&self) -> String {
        Price::from_decimal_str(&self.price)
            .map_or_else(|_| String::from("0x30"), |p| p.raw().to_owned())
    }

    /// The price in USDC base units (6 decimals). A validated paylink always
    /// has one; `None` means more than 6 decimals or more than `u128` holds.
    pub(crate) fn checked_base_units(&self) -> Option<u128> {
        let (int, frac) = self.price.split_once('.').unwrap_or((&self.price, ""));
        if frac.len() > USDC_DECIMALS || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let padded: String = frac
            .chars()
            .chain(std::iter::repeat('0'))
            .take(USDC_DECIMALS)
            .collect();
        let frac: u128 = padded.parse().ok()?;
        int.checked_mul(1_000_000)?.checked_add(frac)
    }

    /// The price in USDC base units, 0 for a price that does not fit (which
    /// catalogue validation refuses, so it is never seen).
    pub(crate) fn base_units(&self) -> u128 {
        self.checked_base_units().unwrap_or(0)
    }

    /// The length of one billing period, for subscriptions. Every overflow is
    /// an error: no unit or count a catalogue holds can make this panic.
    pub(crate) fn checked_period(&self) -> Result<Option<time::Duration>, String> {
        let Some(count) = self.interval_count else {
            return Ok(None);
        };
        let unit = self.interval_unit.as_deref().unwrap_or("");
        if count == 0 {
            return Err("intervalCount must be at least 1".into());
        }
        let length = unit_length(unit).ok_or_else(|| {
            format!(
                "intervalUnit {unit:?} is not one of {}",
                UNITS
                    .iter()
                    .map(|u| format!("{u:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let too_long = || {
            format!(
                "intervalCount {count} x intervalUnit {unit:?} is longer than the {} days a sandbox period may last",
                crate::limits::MAX_PERIOD_DAYS
            )
        };
        let period = i32::try_from(count)
            .ok()
            .and_then(|n| length.checked_mul(n))
            .ok_or_else(too_long)?;
        if period > time::Duration::days(crate::limits::MAX_PERIOD_DAYS) {
            return Err(too_long());
        }
        Ok(Some(period))
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |why: &str| Error::Catalogue(format!("paylink {:?}: {why}", self.id));
        for (field, value) in [
            ("id", &self.id),
            ("productId", &self.product_id),
            ("name", &self.name),
        ] {
            if value.trim().is_empty() {
                return Err(bad(&format!("{field} must not be empty")));
            }
        }
        Price::from_decimal_str(&self.price)
            .map_err(|e| bad(&format!("price {:?}: {e}", self.price)))?;
        if self.checked_base_units().is_none() {
            return Err(bad(&format!(
                "price {:?} must have at most {USDC_DECIMALS} decimal places (USDC's) and fit in 128 bits of base units",
                self.price
            )));
        }
        if self.interval_count.is_some() != self.interval_unit.is_some() {
            return Err(bad("intervalCount and intervalUnit go together"));
        }
        self.checked_period().map_err(|why| bad(&why))?;
        Ok(())
    }
}

/// USDC's decimals: prices are whole base units.
const USDC_DECIMALS: usize = 6;

/// The interval units a catalogue may use: the provider's one documented
/// example (`5mins`) and the legacy paylink demo's vocabulary.
const UNITS: [&str; 7] = [
    "5mins",
    "daily",
    "week",
    "month",
    "quarter",
    "half year",
    "year",
];

/// Assumption: a month lasts 30 days, a quarter 91, a half year 182 and a
/// year 365 (no calendar arithmetic); undocumented by the provider, whose one
/// example only shows that 3 × `5mins` makes `endAt` 15 minutes after `startedAt`.
fn unit_length(unit: &str) -> Option<time::Duration> {
    Some(match IntervalUnit::from_wire(unit) {
        IntervalUnit::FiveMins => time::Duration::minutes(5),
        IntervalUnit::Daily => time::Duration::days(1),
        IntervalUnit::Week => time::Duration::weeks(1),
        IntervalUnit::Month => time::Duration::days(30),
        IntervalUnit::Quarter => time::Duration::days(91),
        IntervalUnit::HalfYear => time::Duration::days(182),
        IntervalUnit::Year => time::Duration::days(365),
        _ => return None,
    })
}

/// The catalogue: the paylinks a sandbox sells.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CatalogueFile")]
pub struct Catalogue {
    paylinks: Vec<Paylink>,
}

/// The file's shape, validated into a [`Catalogue`] (so that no way of
/// deserialising one skips validation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    paylinks: Vec<Paylink>,
}

impl TryFrom<CatalogueFile> for Catalogue {
    type Error = Error;

    fn try_from(file: CatalogueFile) -> Result<Self, Error> {
        Self::new(file.paylinks)
    }
}

/// The default subscription paylink: "Recipe Pro", 0.16 USDC every 15 minutes.
pub const PRO_PAYLINK: &str = "paylink_sandboxRecipePro000000000000001";
/// The default one-time paylink: "Recipe eBook", 0.15 USDC once.
pub const EBOOK_PAYLINK: &str = "paylink_sandboxRecipeEbook0000000000001";

impl Default for Catalogue {
    /// Two products modelled on the provider's own examples.
    fn default() -> Self {
        Self {
            paylinks: vec![
                Paylink::subscription(
                    PRO_PAYLINK,
                    "prod_sandboxRecipePro00000000000000001",
                    "Recipe Pro",
                    "0.16",
                    3,
                    "5mins",
                )
                .with_description("Pro plan for Recipe"),
                Paylink::onetime(
                    EBOOK_PAYLINK,
                    "prod_sandboxRecipeEbook0000000000000001",
                    "Recipe eBook",
                    "0.15",
                )
                .with_description("The Recipe cookbook, once"),
            ],
        }
    }
}

impl Catalogue {
    /// A catalogue of these paylinks.
    ///
    /// # Errors
    ///
    /// [`Error::Catalogue`] for an invalid paylink or a repeated id.
    pub fn new(paylinks: Vec<Paylink>) -> Result<Self, Error> {
        let catalogue = Self { paylinks };
        catalogue.validate()?;
        Ok(catalogue)
    }

    /// Reads a JSON file: `{"paylinks": [{"id", "productId", "name", "price", …}]}`.
    ///
    /// # Errors
    ///
    /// [`Error::Catalogue`] when the file cannot be read, parsed or validated.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Catalogue(format!("cannot read {}: {e}", path.display())))?;
        // Parse first, then validate, so that a validation error is not
        // wrapped in serde's "at line …" text.
        let file: CatalogueFile = serde_json::from_str(&text).map_err(|e| {
            Error::Catalogue(format!("{} is not a valid catalogue: {e}", path.display()))
        })?;
        Self::new(file.paylinks)
    }

    fn validate(&self) -> Result<(), Error> {
        let mut seen = std::collections::HashSet::new();
        for paylink in &self.paylinks {
            paylink.validate()?;
            if !seen.insert(&paylink.id) {
                return Err(Error::Catalogue(format!(
                    "paylink {:?} appears twice",
                    paylink.id
                )));
            }
        }
        Ok(())
    }

    /// The paylinks.
    #[must_use]
    pub fn paylinks(&self) -> &[Paylink] {
        &self.paylinks
    }

    /// A paylink by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Paylink> {
        self.paylinks.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(pro.encoded_price(), "0x392e3939");
        assert_eq!(pro.checked_period(), Ok(Some(time::Duration::days(30))));
        let book = catalogue.get("paylink_book").unwrap();
        assert_eq!(book.base_units(), 4_500_000);
        assert_eq!(book.checked_period(), Ok(None));
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
                "fit in 128 bits",
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
    fn every_way_of_building_a_catalogue_validates_it() {
        let huge = Paylink::subscription("paylink_huge", "prod", "Huge", "1", 10_000, "year");
        let err = Catalogue::new(vec![huge]).unwrap_err().to_string();
        assert!(err.contains("paylink \"paylink_huge\""), "{err}");
        // Deserialising directly (not through `from_file`) validates too.
        let err = serde_json::from_str::<Catalogue>(
            r#"{"paylinks": [{"id": "p", "productId": "q", "name": "n", "price": "1", "intervalCount": 10000, "intervalUnit": "year"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("longer than"), "{err}");
        // The longest period accepted is still far from any overflow.
        let decade = Paylink::subscription("paylink_d", "prod", "D", "1", 10, "year");
        assert_eq!(
            decade.checked_period(),
            Ok(Some(time::Duration::days(3650)))
        );
        assert!(Catalogue::new(vec![decade]).is_ok());
        assert!(Catalogue::new(Catalogue::default().paylinks().to_vec()).is_ok());
    }

    #[test]
    fn base_units_are_exact_or_refused() {
        let price = |p: &str| Paylink::onetime("p", "q", "n", p).checked_base_units();
        assert_eq!(price("0.15"), Some(150_000));
        assert_eq!(price("10"), Some(10_000_000));
        assert_eq!(price("0.000001"), Some(1));
        assert_eq!(price("0.0000001"), None);
        assert_eq!(price("1000000000000000000000000000000000"), None);
    }
}
