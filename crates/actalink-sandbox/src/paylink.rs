//! One paylink of the catalogue: checked when it is built, typed once built.

use actalink_types::{IntervalUnit, PaylinkId, Price, ProductId};
use serde::Deserialize;

use crate::Error;

/// One paylink of the catalogue. Every way of building one checks it (ids,
/// price, billing period), so a `Paylink` always has an exact price in USDC
/// base units and, for a subscription, a period the sandbox can compute.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PaylinkFile")]
pub struct Paylink {
    id: PaylinkId,
    product_id: ProductId,
    name: String,
    description: String,
    /// The price as configured (`"0.16"`), shown on the hosted page.
    decimal: String,
    /// The same price hex-encoded, as the API sends it.
    price: Price,
    /// The same price in USDC base units.
    base_units: u128,
    interval_count: Option<u32>,
    interval_unit: Option<IntervalUnit>,
    /// One billing period, for a subscription.
    period: Option<time::Duration>,
}

/// A paylink as a catalogue file writes it; [`Paylink::check`] turns it into one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PaylinkFile {
    id: String,
    product_id: String,
    name: String,
    #[serde(default)]
    description: String,
    price: String,
    #[serde(default)]
    interval_count: Option<u32>,
    #[serde(default)]
    interval_unit: Option<String>,
}

impl PaylinkFile {
    fn new(
        id: &str,
        product_id: &str,
        name: &str,
        price: &str,
        interval: Option<(u32, IntervalUnit)>,
    ) -> Self {
        let (interval_count, interval_unit) = interval
            .map(|(count, unit)| (count, unit.as_str().to_owned()))
            .unzip();
        Self {
            id: id.into(),
            product_id: product_id.into(),
            name: name.into(),
            description: String::new(),
            price: price.into(),
            interval_count,
            interval_unit,
        }
    }
}

impl TryFrom<PaylinkFile> for Paylink {
    type Error = Error;

    fn try_from(file: PaylinkFile) -> Result<Self, Error> {
        Self::check(file)
    }
}

impl Paylink {
    /// A one-time product at `price` USDC, a decimal string such as `"0.15"`.
    ///
    /// # Errors
    ///
    /// [`Error::Catalogue`] for an empty or malformed id or name, or a price
    /// that is not a plain decimal with at most 6 decimal places.
    pub fn onetime(id: &str, product_id: &str, name: &str, price: &str) -> Result<Self, Error> {
        Self::check(PaylinkFile::new(id, product_id, name, price, None))
    }

    /// A subscription billed `price` USDC every `count` × `unit`.
    ///
    /// # Errors
    ///
    /// As [`Paylink::onetime`], and for a `count` of 0, a unit the sandbox
    /// cannot time, or a period above [`MAX_PERIOD_DAYS`](crate::limits::MAX_PERIOD_DAYS).
    pub fn subscription(
        id: &str,
        product_id: &str,
        name: &str,
        price: &str,
        count: u32,
        unit: impl Into<IntervalUnit>,
    ) -> Result<Self, Error> {
        let interval = Some((count, unit.into()));
        Self::check(PaylinkFile::new(id, product_id, name, price, interval))
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    /// The paylink id (`paylink_…`).
    #[must_use]
    pub fn id(&self) -> &PaylinkId {
        &self.id
    }

    /// The product id (`prod_…`).
    #[must_use]
    pub fn product_id(&self) -> &ProductId {
        &self.product_id
    }

    /// The display name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The price, hex-encoded as the API sends it.
    #[must_use]
    pub fn price(&self) -> &Price {
        &self.price
    }

    /// The price as configured, a decimal string such as `"0.16"`.
    #[must_use]
    pub fn price_decimal(&self) -> &str {
        &self.decimal
    }

    /// For a subscription, how many interval units one period lasts.
    #[must_use]
    pub fn interval_count(&self) -> Option<u32> {
        self.interval_count
    }

    /// For a subscription, the interval unit.
    #[must_use]
    pub fn interval_unit(&self) -> Option<&IntervalUnit> {
        self.interval_unit.as_ref()
    }

    /// True for a subscription.
    #[must_use]
    pub fn is_subscription(&self) -> bool {
        self.interval_count.is_some()
    }

    /// The price in USDC base units (6 decimals).
    pub(crate) fn base_units(&self) -> u128 {
        self.base_units
    }

    /// The length of one billing period, for a subscription.
    pub(crate) fn period(&self) -> Option<time::Duration> {
        self.period
    }

    /// Checks a paylink as written in a file, naming it in every refusal.
    pub(crate) fn check(file: PaylinkFile) -> Result<Self, Error> {
        let bad = |why: &str| Error::Catalogue(format!("paylink {:?}: {why}", file.id));
        for (field, value) in [
            ("id", &file.id),
            ("productId", &file.product_id),
            ("name", &file.name),
        ] {
            if value.trim().is_empty() {
                return Err(bad(&format!("{field} must not be empty")));
            }
        }
        let id = PaylinkId::new(file.id.as_str()).map_err(|e| bad(&format!("id: {e}")))?;
        let product_id = ProductId::new(file.product_id.as_str())
            .map_err(|e| bad(&format!("productId: {e}")))?;
        let price = Price::from_decimal_str(&file.price)
            .map_err(|e| bad(&format!("price {:?}: {e}", file.price)))?;
        // Decoded by `actalink-types`, as the SDK decodes the price it is sent.
        let base_units = crate::event::base_units(&price).ok_or_else(|| {
            bad(&format!(
                "price {:?} must have at most {} decimal places (USDC's) and fit the exact decimal type (28 digits)",
                file.price,
                crate::event::USDC_DECIMALS
            ))
        })?;
        let interval_unit = file.interval_unit.as_deref().map(IntervalUnit::from_wire);
        let period = match (file.interval_count, &interval_unit) {
            (None, None) => None,
            (Some(count), Some(unit)) => Some(period(count, unit).map_err(|why| bad(&why))?),
            _ => return Err(bad("intervalCount and intervalUnit go together")),
        };
        Ok(Self {
            id,
            product_id,
            name: file.name,
            description: file.description,
            decimal: file.price,
            price,
            base_units,
            interval_count: file.interval_count,
            interval_unit,
            period,
        })
    }
}

/// The interval units a catalogue may use: the provider's one documented
/// example (`5mins`) and the legacy paylink demo's vocabulary.
const UNITS: [IntervalUnit; 7] = [
    IntervalUnit::FiveMins,
    IntervalUnit::Daily,
    IntervalUnit::Week,
    IntervalUnit::Month,
    IntervalUnit::Quarter,
    IntervalUnit::HalfYear,
    IntervalUnit::Year,
];

/// Assumption: a month lasts 30 days, a quarter 91, a half year 182 and a
/// year 365 (no calendar arithmetic); undocumented by the provider, whose one
/// example only shows that 3 × `5mins` makes `endAt` 15 minutes after `startedAt`.
fn unit_length(unit: &IntervalUnit) -> Option<time::Duration> {
    Some(match unit {
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

/// One billing period of `count` × `unit`. Every overflow is an error: no
/// unit or count a catalogue holds can make this panic.
fn period(count: u32, unit: &IntervalUnit) -> Result<time::Duration, String> {
    if count == 0 {
        return Err("intervalCount must be at least 1".into());
    }
    let length = unit_length(unit).ok_or_else(|| {
        let known: Vec<String> = UNITS.iter().map(|u| format!("{:?}", u.as_str())).collect();
        format!(
            "intervalUnit {:?} is not one of {}",
            unit.as_str(),
            known.join(", ")
        )
    })?;
    let too_long = || {
        format!(
            "intervalCount {count} x intervalUnit {:?} is longer than the {} days a sandbox period may last",
            unit.as_str(),
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
    Ok(period)
}
