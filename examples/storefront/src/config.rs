//! The storefront's settings, read from the environment and checked before
//! anything starts.
//!
//! The safety rules live in [`Config::validate`]: a storefront never talks to
//! a real API with a default secret, and never sends its API key over plain
//! `http://` to another machine.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use actalink_checkout::RetryPolicy;
use actalink_checkout::types::Decimal;
use anyhow::{Context, bail};
use axum::http::Uri;

/// A secret string (an API key or a webhook secret). `Debug` prints
/// `Secret([REDACTED])` and there is no `Display`, so a secret never lands in
/// a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

/// A product the shop sells: an Actalink paylink, how to show it, and what
/// the shop expects to be paid for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The paylink id.
    pub paylink_id: String,
    /// The display name.
    pub name: String,
    /// The price as shown to customers.
    pub price: String,
    /// The price the shop expects, in major units of `currency` (`0.16`).
    /// An order is paid only when the session's price equals it exactly.
    pub amount: Decimal,
    /// The currency the shop expects (`USDC`).
    pub currency: String,
}

/// How the background reconciler re-checks pending orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcilerSettings {
    /// The wait before the first check of a new order, and the first backoff
    /// step (`STOREFRONT_RECHECK_SECS`, default 5 s). Doubles after each check
    /// that finds the order still unpaid.
    pub initial_delay: Duration,
    /// The longest wait between two checks of one order
    /// (`STOREFRONT_RECHECK_MAX_SECS`, default 5 min).
    pub max_delay: Duration,
    /// How often the database is scanned for new pending orders (default 2 s).
    pub scan_interval: Duration,
    /// How long after a session's `expiresAt` an order that is still not paid
    /// is closed as expired (`STOREFRONT_EXPIRY_GRACE_SECS`, default 10 min).
    pub expiry_grace: Duration,
}

impl Default for ReconcilerSettings {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(300),
            scan_interval: Duration::from_secs(2),
            expiry_grace: Duration::from_secs(600),
        }
    }
}

/// The storefront's settings.
///
/// `Debug` never shows the API key or the webhook secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// Actalink API key (`ACTALINK_API_KEY`). When unset, the sandbox's
    /// well-known key is used, which [`Config::validate`] allows only against
    /// a sandbox on this machine.
    pub api_key: Option<Secret>,
    /// Actalink base URL (`ACTALINK_BASE_URL`; default: a local `actalink sandbox`).
    pub base_url: String,
    /// Webhook secret (`STOREFRONT_WEBHOOK_SECRET`). When unset, a public
    /// development secret is used, which [`Config::validate`] allows only
    /// against a sandbox on this machine.
    pub webhook_secret: Option<Secret>,
    /// Database file (`STOREFRONT_DATABASE`).
    pub database: PathBuf,
    /// Listen address (`STOREFRONT_ADDR`).
    pub addr: SocketAddr,
    /// The URL customers reach the shop at (`STOREFRONT_PUBLIC_URL`; default `http://{addr}`).
    pub public_url: String,
    /// The products on sale.
    pub products: Vec<Product>,
    /// The background reconciler's timing.
    pub reconciler: ReconcilerSettings,
    /// How status and create calls are retried.
    pub retry: RetryPolicy,
}

/// The sandbox's well-known API key, used only against a local sandbox.
pub const SANDBOX_API_KEY: &str = "sk_sandbox_0000000000000000000000000000000000";
/// The public development webhook secret, used only against a local sandbox.
/// Everyone can read it here, so it proves nothing about who sent an event.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_storefront_dev";
/// The default base URL: a local `actalink sandbox`.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:4010";

/// The products the sandbox's default catalogue sells, with their prices.
#[must_use]
pub fn default_products() -> Vec<Product> {
    vec![
        Product {
            paylink_id: "paylink_sandboxRecipePro000000000000001".into(),
            name: "Recipe Pro".into(),
            price: "0.16 USDC every 15 minutes".into(),
            amount: Decimal::new(16, 2),
            currency: "USDC".into(),
        },
        Product {
            paylink_id: "paylink_sandboxRecipeEbook0000000000001".into(),
            name: "Recipe eBook".into(),
            price: "0.15 USDC once".into(),
            amount: Decimal::new(15, 2),
            currency: "USDC".into(),
        },
    ]
}

/// True when `url` is `http(s)://` to this machine: `localhost`, `127.0.0.0/8` or `[::1]`.
///
/// # Errors
///
/// When `url` is not an absolute http(s) URL with a host.
pub fn is_loopback_url(url: &str) -> anyhow::Result<bool> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("the base URL {url:?} is not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            bail!("the base URL {url:?} must start with https:// (or http:// for a local sandbox)")
        }
    }
    let Some(host) = uri.host() else {
        bail!("the base URL {url:?} has no host");
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

fn seconds(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> anyhow::Result<Option<Duration>> {
    match lookup(name) {
        None => Ok(None),
        Some(value) => {
            let secs: f64 = value
                .trim()
                .parse()
                .with_context(|| format!("{name}={value:?} is not a number of seconds"))?;
            if !secs.is_finite() || secs <= 0.0 {
                bail!("{name}={value:?} must be a positive number of seconds");
            }
            Ok(Some(Duration::from_secs_f64(secs)))
        }
    }
}

impl Config {
    /// Reads the environment (see the field docs for the variable names),
    /// with defaults that work against a local `actalink sandbox`, and
    /// validates the result with [`Config::validate`].
    ///
    /// # Errors
    ///
    /// When a variable is malformed or the settings are unsafe.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Config::from_env`], reading variables through `lookup`; an empty
    /// value counts as unset.
    ///
    /// # Errors
    ///
    /// When a variable is malformed or the settings are unsafe.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let lookup = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let addr: SocketAddr = lookup("STOREFRONT_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .context("STOREFRONT_ADDR is not a socket address such as 127.0.0.1:3000")?;
        let defaults = ReconcilerSettings::default();
        let reconciler = ReconcilerSettings {
            initial_delay: seconds(&lookup, "STOREFRONT_RECHECK_SECS")?
                .unwrap_or(defaults.initial_delay),
            max_delay: seconds(&lookup, "STOREFRONT_RECHECK_MAX_SECS")?
                .unwrap_or(defaults.max_delay),
            expiry_grace: seconds(&lookup, "STOREFRONT_EXPIRY_GRACE_SECS")?
                .unwrap_or(defaults.expiry_grace),
            ..defaults
        };
        let config = Self {
            api_key: lookup("ACTALINK_API_KEY").map(|k| Secret::new(k.trim())),
            base_url: lookup("ACTALINK_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            webhook_secret: lookup("STOREFRONT_WEBHOOK_SECRET").map(Secret::new),
            database: lookup("STOREFRONT_DATABASE")
                .unwrap_or_else(|| "storefront.sqlite".into())
                .into(),
            public_url: lookup("STOREFRONT_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}")),
            addr,
            products: default_products(),
            reconciler,
            retry: RetryPolicy::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Settings for tests: everything given, the default products, a
    /// reconciler that re-checks every few milliseconds.
    pub fn for_test(api_key: &str, base_url: &str, webhook_secret: &str, public_url: &str) -> Self {
        Self {
            api_key: Some(api_key.into()),
            base_url: base_url.into(),
            webhook_secret: Some(webhook_secret.into()),
            database: PathBuf::from(":memory:"),
            addr: ([127, 0, 0, 1], 0).into(),
            public_url: public_url.into(),
            products: default_products(),
            reconciler: ReconcilerSettings {
                initial_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(400),
                scan_interval: Duration::from_millis(50),
                expiry_grace: Duration::from_millis(500),
            },
            retry: RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50)),
        }
    }

    /// Checks that the settings are safe to run with:
    ///
    /// - the base URL is an http(s) URL, and plain `http://` only to this
    ///   machine (the API key must never cross a network unencrypted);
    /// - against anything but a sandbox on this machine, both the API key and
    ///   the webhook secret are set, and the webhook secret is not the public
    ///   development one (anyone could forge events with it).
    ///
    /// # Errors
    ///
    /// One clear sentence naming the setting to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = &self.base_url;
        let loopback = is_loopback_url(url)?;
        if !loopback && url.trim_start().to_ascii_lowercase().starts_with("http://") {
            bail!(
                "ACTALINK_BASE_URL {url:?} is plain http:// to another machine: the API key would \
                 travel unencrypted. Use https://, or http:// only for a sandbox on 127.0.0.1 or localhost"
            );
        }
        if loopback {
            return Ok(());
        }
        if self.api_key.is_none() {
            bail!(
                "ACTALINK_API_KEY is not set: the sandbox's default key is only used against a local \
                 sandbox, and {url:?} is not one. Set the API key from Acta Hub"
            );
        }
        match &self.webhook_secret {
            None => bail!(
                "STOREFRONT_WEBHOOK_SECRET is not set: the built-in development secret is public and \
                 is only allowed against a local sandbox, and {url:?} is not one. Set the webhook \
                 secret from Acta Hub"
            ),
            Some(secret) if secret.expose() == DEV_WEBHOOK_SECRET => bail!(
                "STOREFRONT_WEBHOOK_SECRET is the public development secret, which anyone can use to \
                 forge events; it is only allowed against a local sandbox, and {url:?} is not one. Set \
                 the webhook secret from Acta Hub"
            ),
            Some(_) => Ok(()),
        }
    }

    /// The API key to send: the configured one, or the sandbox's.
    pub(crate) fn api_key_or_default(&self) -> &str {
        self.api_key
            .as_ref()
            .map_or(SANDBOX_API_KEY, Secret::expose)
    }

    /// The webhook secret to verify with: the configured one, or the development one.
    pub(crate) fn webhook_secret_or_default(&self) -> &str {
        self.webhook_secret
            .as_ref()
            .map_or(DEV_WEBHOOK_SECRET, Secret::expose)
    }

    /// The product sold through `paylink_id`.
    #[must_use]
    pub fn product(&self, paylink_id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.paylink_id == paylink_id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        match Config::from_lookup(env(pairs)) {
            Ok(config) => panic!("accepted {config:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn defaults_work_against_a_local_sandbox_only() {
        let config = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert!(config.webhook_secret.is_none());
        assert_eq!(config.webhook_secret_or_default(), DEV_WEBHOOK_SECRET);
        assert_eq!(config.api_key_or_default(), SANDBOX_API_KEY);
        for url in [
            "http://localhost:4010",
            "http://[::1]:4010",
            "http://127.0.0.2",
        ] {
            Config::from_lookup(env(&[("ACTALINK_BASE_URL", url)])).unwrap();
        }
    }

    #[test]
    fn a_real_api_needs_a_real_webhook_secret_and_key() {
        let message = error(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_x"),
        ]);
        assert!(
            message.contains("STOREFRONT_WEBHOOK_SECRET is not set"),
            "{message}"
        );
        let message = error(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_x"),
            ("STOREFRONT_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
        ]);
        assert!(message.contains("public development secret"), "{message}");
        let message = error(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_real"),
        ]);
        assert!(message.contains("ACTALINK_API_KEY is not set"), "{message}");
        let config = Config::from_lookup(env(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_x"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_real"),
        ]))
        .unwrap();
        assert_eq!(config.webhook_secret_or_default(), "whsec_real");
    }

    #[test]
    fn the_api_key_never_goes_over_plain_http_to_another_machine() {
        let message = error(&[
            ("ACTALINK_BASE_URL", "http://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_x"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_real"),
        ]);
        assert!(message.contains("plain http://"), "{message}");
        // A host that merely starts with "localhost" or "127." is not this machine.
        for url in ["http://localhost.example.com", "http://127.0.0.1.nip.io"] {
            let message = error(&[
                ("ACTALINK_BASE_URL", url),
                ("ACTALINK_API_KEY", "k"),
                ("STOREFRONT_WEBHOOK_SECRET", "s"),
            ]);
            assert!(message.contains("plain http://"), "{url}: {message}");
        }
        let message = error(&[("ACTALINK_BASE_URL", "ftp://127.0.0.1")]);
        assert!(message.contains("https://"), "{message}");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        let message = error(&[("STOREFRONT_RECHECK_SECS", "soon")]);
        assert!(message.contains("STOREFRONT_RECHECK_SECS"), "{message}");
        let message = error(&[("STOREFRONT_EXPIRY_GRACE_SECS", "-1")]);
        assert!(message.contains("positive"), "{message}");
        let config = Config::from_lookup(env(&[("STOREFRONT_RECHECK_SECS", "0.5")])).unwrap();
        assert_eq!(config.reconciler.initial_delay, Duration::from_millis(500));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let config = Config::from_lookup(env(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_very_secret_key"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_very_secret_value"),
        ]))
        .unwrap();
        let debug = format!("{config:?} {config:#?}");
        assert!(!debug.contains("sk_live_very_secret_key"), "{debug}");
        assert!(!debug.contains("whsec_very_secret_value"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }
}
