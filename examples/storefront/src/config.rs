//! The storefront's settings, read from the environment and checked before
//! anything starts.
//!
//! The safety rules live in [`Config::validate`]: the public development
//! webhook secret only goes with a sandbox key at a sandbox on this machine,
//! and the API key never travels over plain `http://` to another machine.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use actalink_checkout::RetryPolicy;
use actalink_checkout::types::Decimal;
use actalink_payments::{Backend, FulfilSettings, ReconcileSettings};
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

/// A database URL: `sqlite:PATH` or `postgres://…`. Its `Debug` and
/// `Display` leave out a password and the query string (which may hold one).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, password and all, for connecting.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The backend the URL names.
    ///
    /// # Errors
    ///
    /// When the scheme is neither `sqlite:` nor `postgres://`.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        Backend::of_url(&self.0).with_context(|| {
            format!("STOREFRONT_DATABASE_URL {self} is not usable: use sqlite:PATH or postgres://…")
        })
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.starts_with("sqlite:") {
            return f.write_str(self.0.split('?').next().unwrap_or_default());
        }
        match url::Url::parse(&self.0) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.set_query(None);
                f.write_str(url.as_str())
            }
            Err(_) => f.write_str("(an unparsable URL)"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
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

/// The storefront's settings.
///
/// `Debug` never shows the API key, the webhook secret or a database password.
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
    /// with a sandbox key against a sandbox on this machine.
    pub webhook_secret: Option<Secret>,
    /// The database (`STOREFRONT_DATABASE_URL`: `sqlite:PATH` or
    /// `postgres://…`; the older `STOREFRONT_DATABASE=PATH` is read as
    /// `sqlite:PATH`; default `sqlite:storefront.sqlite`).
    pub database_url: DatabaseUrl,
    /// Listen address (`STOREFRONT_ADDR`, default `127.0.0.1:3000`; port 0
    /// picks a free one).
    pub addr: SocketAddr,
    /// The URL customers reach the shop at (`STOREFRONT_PUBLIC_URL`); `None`
    /// means `http://` and the address the shop listens on.
    pub public_url: Option<String>,
    /// The products on sale.
    pub products: Vec<Product>,
    /// How open payments are checked in the background
    /// (`STOREFRONT_RECHECK_SECS`, `STOREFRONT_RECHECK_MAX_SECS`,
    /// `STOREFRONT_EXPIRY_GRACE_SECS`).
    pub reconcile: ReconcileSettings,
    /// How paid orders are fulfilled (`STOREFRONT_FULFIL_RETRY_SECS`,
    /// `STOREFRONT_FULFIL_LEASE_SECS`, `STOREFRONT_FULFIL_MAX_ATTEMPTS`).
    pub fulfil: FulfilSettings,
    /// Where each paid order is sent (`STOREFRONT_FULFIL_URL`, optional).
    /// Without it, the worker only marks the order fulfilled.
    pub fulfil_url: Option<String>,
    /// How status and create calls are retried.
    pub retry: RetryPolicy,
}

/// The sandbox's well-known API key (`actalink_sandbox::DEFAULT_API_KEY`),
/// used only against a local sandbox.
pub const SANDBOX_API_KEY: &str = "sk_sandbox_0000000000000000000000000000000000";
/// What every sandbox API key starts with.
pub const SANDBOX_KEY_PREFIX: &str = "sk_sandbox_";
/// The public development webhook secret, used only with a sandbox key
/// against a local sandbox. Everyone can read it here, so it proves nothing
/// about who sent an event.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_storefront_dev";
/// The default base URL: a local `actalink sandbox`.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:4010";
/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:storefront.sqlite";
/// The longest a fulfilment request may take; shorter with a short lease.
const MAX_FULFIL_TIMEOUT: Duration = Duration::from_secs(10);

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

/// True when `url` is `http(s)://` to this machine: exactly `localhost`, or
/// an IP literal in `127.0.0.0/8` or `[::1]`. A name that merely resolves
/// there (`shop.localhost`, `localhost.`) does not count: it goes through DNS.
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
            if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
                bail!("{name}={value:?} must be a positive number of seconds");
            }
            Ok(Some(Duration::from_secs_f64(secs)))
        }
    }
}

fn count(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<Option<u32>> {
    match lookup(name) {
        None => Ok(None),
        Some(value) => match value.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => bail!("{name}={value:?} must be a whole number above 0"),
        },
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
        let database_url = match (
            lookup("STOREFRONT_DATABASE_URL"),
            lookup("STOREFRONT_DATABASE"),
        ) {
            (Some(url), _) => url.trim().to_owned(),
            (None, Some(path)) => format!("sqlite:{}", path.trim()),
            (None, None) => DEFAULT_DATABASE_URL.to_owned(),
        };

        let defaults = Self::default_reconcile();
        let recheck = seconds(&lookup, "STOREFRONT_RECHECK_SECS")?;
        let recheck_max = seconds(&lookup, "STOREFRONT_RECHECK_MAX_SECS")?;
        let grace = seconds(&lookup, "STOREFRONT_EXPIRY_GRACE_SECS")?;
        let first = recheck.unwrap_or(defaults.min_interval);
        let max = recheck_max.unwrap_or(defaults.max_interval);
        if max < first {
            bail!(
                "STOREFRONT_RECHECK_MAX_SECS ({} s) must be at least STOREFRONT_RECHECK_SECS ({} s)",
                max.as_secs_f64(),
                first.as_secs_f64()
            );
        }
        let reconcile = defaults
            .with_first_check_after(first)
            .with_min_interval(first)
            .with_max_interval(max)
            .with_expiry_grace(grace.unwrap_or(Duration::from_secs(600)))
            // A short recheck also shortens the idle poll, so it holds.
            .with_idle_poll(first.min(Duration::from_secs(1)));

        let retry =
            seconds(&lookup, "STOREFRONT_FULFIL_RETRY_SECS")?.unwrap_or(Duration::from_secs(5));
        let fulfil = FulfilSettings::default()
            .with_retry_after(retry)
            .with_lease(
                seconds(&lookup, "STOREFRONT_FULFIL_LEASE_SECS")?
                    .unwrap_or(Duration::from_secs(30)),
            )
            .with_idle_poll(retry.min(Duration::from_secs(1)))
            // The contract: retried until a 2xx, unless a limit is set.
            .with_max_attempts(
                count(&lookup, "STOREFRONT_FULFIL_MAX_ATTEMPTS")?.unwrap_or(u32::MAX),
            );

        let config = Self {
            api_key: lookup("ACTALINK_API_KEY").map(|k| Secret::new(k.trim())),
            base_url: lookup("ACTALINK_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            webhook_secret: lookup("STOREFRONT_WEBHOOK_SECRET").map(Secret::new),
            database_url: DatabaseUrl::new(database_url),
            public_url: lookup("STOREFRONT_PUBLIC_URL"),
            addr,
            products: default_products(),
            reconcile,
            fulfil,
            fulfil_url: lookup("STOREFRONT_FULFIL_URL").map(|u| u.trim().to_owned()),
            retry: RetryPolicy::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// The reconciler's defaults here: a first check after 5 s, then waits
    /// doubling up to 5 min.
    fn default_reconcile() -> ReconcileSettings {
        ReconcileSettings::default()
            .with_first_check_after(Duration::from_secs(5))
            .with_min_interval(Duration::from_secs(5))
            .with_max_interval(Duration::from_secs(300))
    }

    /// Settings for tests: everything given, the default products, the
    /// database at `database_url`, a reconciler and a fulfilment worker that
    /// act within milliseconds.
    pub fn for_test(
        api_key: &str,
        base_url: &str,
        webhook_secret: &str,
        database_url: &str,
    ) -> Self {
        Self {
            api_key: Some(api_key.into()),
            base_url: base_url.into(),
            webhook_secret: Some(webhook_secret.into()),
            database_url: DatabaseUrl::new(database_url),
            addr: ([127, 0, 0, 1], 0).into(),
            public_url: None,
            products: default_products(),
            reconcile: ReconcileSettings::default()
                .with_first_check_after(Duration::from_millis(50))
                .with_min_interval(Duration::from_millis(50))
                .with_max_interval(Duration::from_millis(400))
                .with_idle_poll(Duration::from_millis(25))
                .with_expiry_grace(Duration::from_millis(500)),
            fulfil: FulfilSettings::default()
                .with_retry_after(Duration::from_millis(50))
                .with_max_retry_interval(Duration::from_millis(400))
                .with_idle_poll(Duration::from_millis(25))
                .with_lease(Duration::from_secs(5)),
            fulfil_url: None,
            retry: RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50)),
        }
    }

    /// Checks that the settings are safe to run with:
    ///
    /// - the base URL is an http(s) URL, and plain `http://` only to this
    ///   machine (the API key must never cross a network unencrypted);
    /// - against anything but a sandbox on this machine, the API key is set;
    /// - the public development webhook secret (used when
    ///   `STOREFRONT_WEBHOOK_SECRET` is unset) only goes with a sandbox key
    ///   (`sk_sandbox_…`) against a sandbox on this machine: any other key,
    ///   even at a loopback URL (a local tunnel to the real API, say), needs
    ///   a real webhook secret;
    /// - the database URL names SQLite or PostgreSQL, and the fulfilment
    ///   URL (when set) is an http(s) URL.
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
        if self.api_key.is_none() && !loopback {
            bail!(
                "ACTALINK_API_KEY is not set: the sandbox's default key is only used against a local \
                 sandbox, and {url:?} is not one. Set the API key from Acta Hub"
            );
        }
        let sandbox = loopback && self.api_key_or_default().starts_with(SANDBOX_KEY_PREFIX);
        match &self.webhook_secret {
            None if !sandbox => bail!(
                "STOREFRONT_WEBHOOK_SECRET is not set: the built-in development secret is public and \
                 is only allowed with a sandbox key ({SANDBOX_KEY_PREFIX}…) against a sandbox on this \
                 machine. Set the webhook secret from Acta Hub"
            ),
            Some(secret) if !sandbox && secret.expose() == DEV_WEBHOOK_SECRET => bail!(
                "STOREFRONT_WEBHOOK_SECRET is the public development secret, which anyone can use to \
                 forge events; it is only allowed with a sandbox key ({SANDBOX_KEY_PREFIX}…) against a \
                 sandbox on this machine. Set the webhook secret from Acta Hub"
            ),
            _ => {}
        }
        self.database_url.backend()?;
        if let Some(fulfil) = &self.fulfil_url {
            let parsed = url::Url::parse(fulfil)
                .with_context(|| format!("STOREFRONT_FULFIL_URL {fulfil:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                bail!("STOREFRONT_FULFIL_URL {fulfil:?} must be an http:// or https:// URL");
            }
        }
        Ok(())
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

    /// How long one fulfilment request may take: well inside the job's
    /// lease (half of it, at most 10 s), so that its result is recorded
    /// before another instance may take the job over.
    #[must_use]
    pub fn fulfil_timeout(&self) -> Duration {
        (self.fulfil.lease / 2).min(MAX_FULFIL_TIMEOUT)
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
    fn the_development_key_is_the_sandboxs_own() {
        // A copy, because the sandbox is only a dev-dependency here.
        assert_eq!(SANDBOX_API_KEY, actalink_sandbox::DEFAULT_API_KEY);
    }

    #[test]
    fn defaults_work_against_a_local_sandbox_only() {
        let config = Config::from_lookup(env(&[])).unwrap();
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert!(config.webhook_secret.is_none());
        assert_eq!(config.webhook_secret_or_default(), DEV_WEBHOOK_SECRET);
        assert_eq!(config.api_key_or_default(), SANDBOX_API_KEY);
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(config.fulfil.retry_after, Duration::from_secs(5));
        assert_eq!(config.fulfil.lease, Duration::from_secs(30));
        assert!(config.fulfil_timeout() < config.fulfil.lease);
        assert_eq!(config.reconcile.first_check_after, Duration::from_secs(5));
        assert_eq!(config.reconcile.expiry_grace, Duration::from_secs(600));
        for url in [
            "http://localhost:4010",
            "http://[::1]:4010",
            "http://127.0.0.2",
        ] {
            Config::from_lookup(env(&[("ACTALINK_BASE_URL", url)])).unwrap();
        }
        // A sandbox key of its own is a sandbox key too.
        Config::from_lookup(env(&[("ACTALINK_API_KEY", "sk_sandbox_mine")])).unwrap();
    }

    #[test]
    fn the_development_secret_needs_a_sandbox_key_at_a_loopback_url() {
        // A real key through a local tunnel to the real API: loopback, but not a sandbox.
        let message = error(&[
            ("ACTALINK_BASE_URL", "http://127.0.0.1:8443"),
            ("ACTALINK_API_KEY", "sk_live_x"),
        ]);
        assert!(
            message.contains("STOREFRONT_WEBHOOK_SECRET is not set"),
            "{message}"
        );
        let message = error(&[
            ("ACTALINK_BASE_URL", "http://localhost:8443"),
            ("ACTALINK_API_KEY", "sk_test_x"),
            ("STOREFRONT_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
        ]);
        assert!(message.contains("public development secret"), "{message}");
        let config = Config::from_lookup(env(&[
            ("ACTALINK_BASE_URL", "http://127.0.0.1:8443"),
            ("ACTALINK_API_KEY", "sk_live_x"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_real"),
        ]))
        .unwrap();
        assert_eq!(config.webhook_secret_or_default(), "whsec_real");
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
        // A sandbox key far away is no sandbox on this machine.
        let message = error(&[
            ("ACTALINK_BASE_URL", "https://sandbox.example"),
            ("ACTALINK_API_KEY", SANDBOX_API_KEY),
        ]);
        assert!(
            message.contains("STOREFRONT_WEBHOOK_SECRET is not set"),
            "{message}"
        );
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
        // A host that merely starts with "localhost" or "127." is not this machine,
        // nor is a name under .localhost, which goes through DNS.
        for url in [
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://shop.localhost:4010",
            "http://localhost.:4010",
        ] {
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
    fn the_database_url_names_sqlite_or_postgres() {
        let config =
            Config::from_lookup(env(&[("STOREFRONT_DATABASE", "/tmp/old.sqlite")])).unwrap();
        assert_eq!(config.database_url.expose(), "sqlite:/tmp/old.sqlite");
        let config = Config::from_lookup(env(&[
            ("STOREFRONT_DATABASE", "/tmp/old.sqlite"),
            (
                "STOREFRONT_DATABASE_URL",
                "postgres://shop:pw@db.internal:5432/shop?password=pw2",
            ),
        ]))
        .unwrap();
        assert_eq!(config.database_url.backend().unwrap(), Backend::Postgres);
        let shown = format!(
            "{} {:?} {config:?}",
            config.database_url, config.database_url
        );
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("db.internal:5432/shop"), "{shown}");
        let message = error(&[("STOREFRONT_DATABASE_URL", "mysql://root@localhost/shop")]);
        assert!(message.contains("STOREFRONT_DATABASE_URL"), "{message}");
        let message = error(&[("STOREFRONT_DATABASE_URL", "shop.sqlite")]);
        assert!(message.contains("sqlite:PATH"), "{message}");
    }

    #[test]
    fn malformed_numbers_and_urls_are_refused() {
        let message = error(&[("STOREFRONT_RECHECK_SECS", "soon")]);
        assert!(message.contains("STOREFRONT_RECHECK_SECS"), "{message}");
        let message = error(&[("STOREFRONT_EXPIRY_GRACE_SECS", "-1")]);
        assert!(message.contains("positive"), "{message}");
        let message = error(&[("STOREFRONT_FULFIL_LEASE_SECS", "0")]);
        assert!(message.contains("positive"), "{message}");
        let message = error(&[("STOREFRONT_FULFIL_MAX_ATTEMPTS", "0")]);
        assert!(message.contains("above 0"), "{message}");
        let message = error(&[
            ("STOREFRONT_RECHECK_SECS", "60"),
            ("STOREFRONT_RECHECK_MAX_SECS", "10"),
        ]);
        assert!(message.contains("at least"), "{message}");
        for url in ["ftp://fulfil.internal/", "not a url", "file:///tmp/x"] {
            let message = error(&[("STOREFRONT_FULFIL_URL", url)]);
            assert!(
                message.contains("STOREFRONT_FULFIL_URL"),
                "{url}: {message}"
            );
        }
        let config = Config::from_lookup(env(&[
            ("STOREFRONT_RECHECK_SECS", "0.5"),
            ("STOREFRONT_RECHECK_MAX_SECS", "2"),
            ("STOREFRONT_FULFIL_RETRY_SECS", "0.25"),
            ("STOREFRONT_FULFIL_LEASE_SECS", "4"),
            ("STOREFRONT_FULFIL_MAX_ATTEMPTS", "3"),
            ("STOREFRONT_FULFIL_URL", "http://127.0.0.1:9000/fulfil"),
        ]))
        .unwrap();
        assert_eq!(
            config.reconcile.first_check_after,
            Duration::from_millis(500)
        );
        assert_eq!(config.reconcile.min_interval, Duration::from_millis(500));
        assert_eq!(config.reconcile.max_interval, Duration::from_secs(2));
        assert_eq!(config.fulfil.retry_after, Duration::from_millis(250));
        assert_eq!(config.fulfil.lease, Duration::from_secs(4));
        assert_eq!(config.fulfil.max_attempts, 3);
        assert_eq!(config.fulfil_timeout(), Duration::from_secs(2));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let config = Config::from_lookup(env(&[
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_API_KEY", "sk_live_very_secret_key"),
            ("STOREFRONT_WEBHOOK_SECRET", "whsec_very_secret_value"),
            (
                "STOREFRONT_DATABASE_URL",
                "postgres://shop:very_secret_password@db/shop",
            ),
        ]))
        .unwrap();
        let debug = format!("{config:?} {config:#?}");
        assert!(!debug.contains("sk_live_very_secret_key"), "{debug}");
        assert!(!debug.contains("whsec_very_secret_value"), "{debug}");
        assert!(!debug.contains("very_secret_password"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }
}
