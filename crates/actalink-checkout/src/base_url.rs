//! The base URL rules: which URLs the client accepts, and where each one
//! puts the session endpoints.

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
        let url = Url::parse(raw.trim()).map_err(|e| {
            let shown = redact_unparsed(raw);
            config(format!("the base URL {shown:?} is not a URL: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            // `user:pw@host` parses with the scheme `user`: show it as text.
            let shown = redact_unparsed(raw);
            return Err(config(format!(
                "the base URL {shown:?} must be http or https"
            )));
        }
        let shown = redact(&url);
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
        if url.scheme() == "http" && !allow_insecure_http && !stays_on_this_machine(&url) {
            return Err(config(format!(
                "the base URL {shown:?} is plain http to a host that may be another machine, which \
                 would send the API key in clear text; use https, a loopback address (127.0.0.1, [::1]) \
                 or exactly `localhost` (or allow_insecure_http() on a trusted network)"
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

/// True only for a host that cannot leave this machine: an IP literal in
/// 127.0.0.0/8, `::1`, or the name `localhost` exactly.
///
/// The host is the one the URL parser found, which is the one the transport
/// connects to (the client sends the URL as the parser serialised it), so
/// userinfo tricks such as `http://127.0.0.1@evil.example/` cannot confuse it.
/// Other names under `.localhost` and `localhost.` with its trailing dot are
/// not trusted: the system resolver may send them to DNS or a hosts file,
/// which can point them anywhere.
fn stays_on_this_machine(url: &Url) -> bool {
    match url.host() {
        // The parser lowercases domains; compare without relying on it.
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The URL as the parser read it, without its credentials, for messages.
fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().to_owned();
    }
    let mut shown = url.clone();
    // Cannot fail for a URL that had credentials: it has a host.
    let _ = shown.set_username("***");
    let _ = shown.set_password(None);
    shown.into()
}

/// Text that did not parse as a URL, with everything from `scheme://` up to
/// the last `@` replaced: where the authority of malformed text ends is
/// anyone's guess, so this hides more rather than less.
fn redact_unparsed(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return match raw.rfind('@') {
            Some(at) => format!("***@{}", &raw[at + 1..]),
            None => raw.to_owned(),
        };
    };
    match rest.rfind('@') {
        // `@` is ASCII, so `at + 1` is a character boundary.
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
        assert!(BaseUrl::parse("http://10.0.0.5:4010", true).is_ok());
        let err = BaseUrl::parse("https://user:hunter2@bad host", false)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    fn clear_text_allowed(raw: &str) -> bool {
        match BaseUrl::parse(raw, false) {
            Ok(_) => true,
            Err(e) => {
                let text = e.to_string();
                assert!(
                    ["clear text", "credentials", "query or fragment"]
                        .iter()
                        .any(|reason| text.contains(reason)),
                    "{raw}: refused for another reason: {text}"
                );
                false
            }
        }
    }

    #[test]
    fn cleartext_http_is_allowed_only_to_hosts_that_cannot_leave_the_machine() {
        for raw in [
            "http://localhost",
            "http://localhost:4010",
            "http://LOCALHOST:4010/",
            "http://LocalHost",
            "http://127.0.0.1:4010",
            "http://127.8.9.10",
            "http://127.255.255.254:1",
            "http://[::1]:4010",
            "http://[0:0:0:0:0:0:0:1]",
            "http://[0000::1]/",
            // WHATWG IPv4 forms, which the parser normalises to 127.0.0.1
            // (and the client sends normalised).
            "http://127.1",
            "http://2130706433",
            "http://0x7f.0.0.1",
            "http://127.0.0.1.",
            // `\` ends the authority of an http URL: the host is localhost.
            "http://localhost\\@evil.example/",
        ] {
            assert!(clear_text_allowed(raw), "{raw} should be allowed");
        }
        for raw in [
            // Names the resolver may send elsewhere.
            "http://shop.localhost",
            "http://shop.localhost:4010",
            "http://SHOP.LOCALHOST",
            "http://localhost.",
            "http://LOCALHOST.:4010",
            "http://localhost.localdomain",
            "http://localhost.evil.example",
            "http://evil.example/localhost",
            "http://127.0.0.1.nip.io",
            // Not loopback literals.
            "http://0.0.0.0",
            "http://[::]",
            "http://[::ffff:127.0.0.1]",
            "http://128.0.0.1",
            "http://10.0.0.5:4010",
            // Userinfo that looks like a host: the host is after the `@`.
            "http://127.0.0.1@evil.example/",
            "http://localhost:80@x/",
            "http://localhost@evil.example:4010",
            "http://[::1]@evil.example",
            "http://user:pw@localhost",
            // Fragment or query tricks are refused too.
            "http://evil.example#@localhost",
            "http://evil.example?@127.0.0.1",
        ] {
            assert!(!clear_text_allowed(raw), "{raw} should be refused");
        }
        // Over https any host is fine, and `allow_insecure_http` permits them all.
        for raw in ["https://shop.localhost", "https://localhost."] {
            assert!(BaseUrl::parse(raw, false).is_ok(), "{raw}");
        }
        assert!(BaseUrl::parse("http://shop.localhost", true).is_ok());
    }

    #[test]
    fn the_exempt_base_url_is_the_one_requests_go_to() {
        // The check and the transport read the same normalised URL.
        let base = BaseUrl::parse("http://localhost\\@evil.example/", false).unwrap();
        assert!(base.base.starts_with("http://localhost/"), "{}", base.base);
        let base = BaseUrl::parse("http://127.1:4010", false).unwrap();
        assert_eq!(base.base, "http://127.0.0.1:4010");
        let base = BaseUrl::parse("http://127.0.0.1.:4010", false).unwrap();
        assert_eq!(base.base, "http://127.0.0.1:4010");
    }

    #[test]
    fn credentials_never_reach_a_message() {
        for raw in [
            "http://user:hunter2@evil.example/",
            "https://user:hunter2@api.acta.link",
            "https://user:hunter2@bad host/x",
            "https://user:hunter2@a@b@bad host",
            "user:hunter2@bad host",
            "https://user:hunter2@bad host/x@y",
        ] {
            let err = BaseUrl::parse(raw, false).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{raw}: {err}");
        }
    }
}
