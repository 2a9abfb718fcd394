//! The paylinks the sandbox sells.

use std::path::Path;

use actalink_types::IntervalUnit;
use serde::Deserialize;

use crate::paylink::PaylinkFile;
use crate::{Error, Paylink};

/// The catalogue: the paylinks a sandbox sells.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CatalogueFile")]
pub struct Catalogue {
    paylinks: Vec<Paylink>,
}

/// The file's shape, checked into a [`Catalogue`] (so that no way of
/// deserialising one skips the checks).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    paylinks: Vec<PaylinkFile>,
}

impl TryFrom<CatalogueFile> for Catalogue {
    type Error = Error;

    fn try_from(file: CatalogueFile) -> Result<Self, Error> {
        let paylinks = file
            .paylinks
            .into_iter()
            .map(Paylink::check)
            .collect::<Result<_, _>>()?;
        Self::new(paylinks)
    }
}

/// The default subscription paylink: "Recipe Pro", 0.16 USDC every 15 minutes.
pub const PRO_PAYLINK: &str = "paylink_sandboxRecipePro000000000000001";
/// The default one-time paylink: "Recipe eBook", 0.15 USDC once.
pub const EBOOK_PAYLINK: &str = "paylink_sandboxRecipeEbook0000000000001";

impl Default for Catalogue {
    /// Two products modelled on the provider's own examples.
    fn default() -> Self {
        let paylinks = [
            Paylink::subscription(
                PRO_PAYLINK,
                "prod_sandboxRecipePro00000000000000001",
                "Recipe Pro",
                "0.16",
                3,
                IntervalUnit::FiveMins,
            )
            .map(|p| p.with_description("Pro plan for Recipe")),
            Paylink::onetime(
                EBOOK_PAYLINK,
                "prod_sandboxRecipeEbook0000000000000001",
                "Recipe eBook",
                "0.15",
            )
            .map(|p| p.with_description("The Recipe cookbook, once")),
        ];
        // Both pass every check (a unit test says so): never empty, never a panic.
        Self {
            paylinks: paylinks
                .into_iter()
                .collect::<Result<_, _>>()
                .unwrap_or_default(),
        }
    }
}

impl Catalogue {
    /// A catalogue of these paylinks.
    ///
    /// # Errors
    ///
    /// [`Error::Catalogue`] for a repeated id.
    pub fn new(paylinks: Vec<Paylink>) -> Result<Self, Error> {
        let mut seen = std::collections::HashSet::new();
        for paylink in &paylinks {
            if !seen.insert(paylink.id()) {
                return Err(Error::Catalogue(format!(
                    "paylink {:?} appears twice",
                    paylink.id().as_str()
                )));
            }
        }
        Ok(Self { paylinks })
    }

    /// Reads a JSON file: `{"paylinks": [{"id", "productId", "name", "price", …}]}`.
    ///
    /// # Errors
    ///
    /// [`Error::Catalogue`] when the file cannot be read, parsed or checked.
    /// At most [`MAX_CATALOGUE_BYTES`](crate::limits::MAX_CATALOGUE_BYTES)
    /// are read: a larger file (or `/dev/zero`) is refused after one byte
    /// more, never buffered whole.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        use std::io::Read as _;
        let limit = crate::limits::MAX_CATALOGUE_BYTES;
        let cannot_read =
            |e: std::io::Error| Error::Catalogue(format!("cannot read {}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(cannot_read)?;
        let mut bytes = Vec::new();
        file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(cannot_read)?;
        if bytes.len() > limit {
            return Err(Error::Catalogue(format!(
                "{} holds more than {limit} bytes, the most a catalogue may be",
                path.display()
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::Catalogue(format!("{} is not UTF-8 text: {e}", path.display())))?;
        // Parse first, then check, so that a refusal is not wrapped in
        // serde's "at line …" text.
        let file: CatalogueFile = serde_json::from_str(&text).map_err(|e| {
            Error::Catalogue(format!("{} is not a valid catalogue: {e}", path.display()))
        })?;
        Self::try_from(file)
    }

    /// The paylinks.
    #[must_use]
    pub fn paylinks(&self) -> &[Paylink] {
        &self.paylinks
    }

    /// A paylink by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Paylink> {
        self.paylinks.iter().find(|p| p.id().as_str() == id)
    }
}

#[cfg(test)]
mod tests;
