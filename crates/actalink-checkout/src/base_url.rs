//! The base URL rules: which URLs the client accepts, and where each one
//! puts the session endpoints.

use std::net::IpAddr;

use url::{Host, Url};

use crate::Result;
use crate::builder::{DEFAULT_BASE_URL, config};

/// The provider's API host, where only the two documented base URL forms work.
const PROVIDER_HOST: &str = "api.acta.link";

/// A checked base URL.
#[derive(Debug, PartialEq)]
pub(crate) struct BaseUrl {
    /// The base URL as configured, normalised, without a trailing slash.
    pub(crate) base: String,
    /// Where the session endpoints live: `{host}/billing/api/v1/paysession`.
    pub(crate) api_root: String,
}

impl BaseUrl {
    pub(crate) fn parse(raw: &str, allow_insecure_http: bool) -> Result<Self> {
        let shown = redact_userinfo(raw);
        let url = Url::parse(raw.trim())
            .map_err(|e| config(format!("the base URL {shown:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config(format!(
                "the base URL {shown:?} must be http or https"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config(format!(
                "the base URL {shown:?} must not contain credentials; the API key is sent in the x-api-key header"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config(format!(
                "the base URL {shown:?} must not have a query or fragment"
            )));
        }
        if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
            return Err(config(format!(
                "the base URL {shown:?} is plain http to another machine, which would send the API key \
                 in clear text; use https (or allow_insecure_http() on a trusted network)"
            )));
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        let path = url.path().trim_end_matches('/');
        let provider = url.host_str() == Some(PROVIDER_HOST);
        let api_root = if provider {
            // The provider serves exactly two forms; anything else is a 404.
            match path {
                "" => format!("{base}/billing/api/v1/paysession"),
                "/billing" => format!("{base}/api/v1/paysession"),
                _ => {
                    return Err(config(format!(
                        "the base URL {shown:?} has the path {path:?}, which the API does not serve; \
                         use {DEFAULT_BASE_URL} or {DEFAULT_BASE_URL}/billing"
                    )));
                }
            }
        } else if path.ends_with("/billing") {
            format!("{base}/api/v1/paysession")
        } else {
            // Another host may be a proxy that mounts the API under a prefix:
            // the prefix is kept.
            format!("{base}/billing/api/v1/paysession")
        };
        Ok(Self { base, api_root })
    }
}

/// True for `localhost` names and loopback addresses.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The URL text with anything between `scheme://` and an `@` replaced, so
/// that credentials never reach a message or a log.
fn redact_userinfo(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_owned();
    };
    // Every index here is of an ASCII character (or the end), so every slice
    // falls on a character boundary.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documented_base_url_forms_reach_the_same_endpoints() {
        for raw in [
            "https://api.acta.link",
            "https://api.acta.link/",
            "https://api.acta.link/billing",
            "https://api.acta.link/billing/",
            "HTTPS://API.ACTA.LINK/billing",
        ] {
            let base = BaseUrl::parse(raw, false).unwrap();
            assert_eq!(
                base.api_root, "https://api.acta.link/billing/api/v1/paysession",
                "{raw}"
            );
        }
        let proxy = BaseUrl::parse("https://proxy.example/acta/billing", false).unwrap();
        assert_eq!(
            proxy.api_root,
            "https://proxy.example/acta/billing/api/v1/paysession"
        );
        let prefixed = BaseUrl::parse("https://proxy.example/acta/", false).unwrap();
        assert_eq!(
            prefixed.api_root,
            "https://proxy.example/acta/billing/api/v1/paysession"
        );
        let local = BaseUrl::parse("http://127.0.0.1:4010", false).unwrap();
        assert_eq!(
            local.api_root,
            "http://127.0.0.1:4010/billing/api/v1/paysession"
        );
    }

    #[test]
    fn base_urls_that_cannot_work_are_refused_with_the_reason() {
        for (raw, reason) in [
            ("api.acta.link", "is not a URL"),
            ("ftp://api.acta.link", "must be http or https"),
            ("https://api.acta.link/billing/api/v1", "has the path"),
            ("https://api.acta.link/v1", "has the path"),
            ("https://api.acta.link/billing/billing", "has the path"),
            ("https://api.acta.link/x/billing", "has the path"),
            ("https://api.acta.link?x=1", "query or fragment"),
            ("http://api.acta.link", "clear text"),
            ("http://10.0.0.5:4010", "clear text"),
            ("https://user:hunter2@api.acta.link", "credentials"),
            ("https://:hunter2@api.acta.link/billing", "credentials"),
        ] {
            let err = BaseUrl::parse(raw, false).unwrap_err().to_string();
            assert!(err.contains(reason), "{raw}: {err}");
            assert!(
                !err.contains("hunter2"),
                "{raw}: the password leaked: {err}"
            );
        }
        for raw in [
            "http://localhost:4010",
            "http://[::1]:4010",
            "http://127.8.9.10",
            "http://shop.localhost",
        ] {
            assert!(BaseUrl::parse(raw, false).is_ok(), "{raw}");
        }
        assert!(BaseUrl::parse("http://10.0.0.5:4010", true).is_ok());
        let err = BaseUrl::parse("https://user:hunter2@bad host", false)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
