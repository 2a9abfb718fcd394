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

    /// The price in USDC base units (6 decimals).
    pub(crate) fn base_units(&self) -> u128 {
        let (int, frac) = self.price.split_once('.').unwrap_or((&self.price, ""));
        let frac: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        let int: u128 = int.parse().unwrap_or(0);
        let frac: u128 = frac.parse().unwrap_or(0);
        int.saturating_mul(1_000_000).saturating_add(frac)
    }

    /// The length of one billing period, for subscriptions.
    pub(crate) fn period(&self) -> Option<time::Duration> {
        let count = self.interval_count?;
        let unit = match IntervalUnit::from_wire(self.interval_unit.as_deref().unwrap_or("month")) {
            IntervalUnit::FiveMins => time::Duration::minutes(5),
            IntervalUnit::Daily => time::Duration::days(1),
            IntervalUnit::Week => time::Duration::weeks(1),
            IntervalUnit::Quarter => time::Duration::days(91),
            IntervalUnit::HalfYear => time::Duration::days(182),
            IntervalUnit::Year => time::Duration::days(365),
            _ => time::Duration::days(30),
        };
        Some(unit * i32::try_from(count).unwrap_or(i32::MAX))
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |why: &str| Error::Catalogue(format!("paylink {:?}: {why}", self.id));
        if self.id.is_empty() || self.product_id.is_empty() || self.name.is_empty() {
            return Err(bad("id, productId and name must not be empty"));
        }
        Price::from_decimal_str(&self.price).map_err(|e| bad(&e.to_string()))?;
        if self.interval_count.is_some() != self.interval_unit.is_some() {
            return Err(bad("intervalCount and intervalUnit go together"));
        }
        Ok(())
    }
}

/// The catalogue: the paylinks a sandbox sells.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    paylinks: Vec<Paylink>,
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
        let catalogue: Self = serde_json::from_str(&text).map_err(|e| {
            Error::Catalogue(format!("{} is not a valid catalogue: {e}", path.display()))
        })?;
        catalogue.validate()?;
        Ok(catalogue)
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

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("actalink-catalogue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
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
        assert_eq!(pro.period(), Some(time::Duration::days(30)));
        let book = catalogue.get("paylink_book").unwrap();
        assert_eq!(book.base_units(), 4_500_000);
        assert_eq!(book.period(), None);
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
}
