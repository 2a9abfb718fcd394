//! The request that creates a checkout session.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Error, Metadata, Mode, PaylinkId};

/// The body of `POST /billing/api/v1/paysession/create`, validated.
///
/// Build one with [`CreateCheckoutSession::builder`]. A value of this type has
/// a valid paylink id, metadata within its limits and redirect URLs that are
/// absolute URIs (the API's `format: uri`) in no scheme that can run script or
/// read files, so sending it can only fail for reasons the server decides.
/// It serialises to the documented camelCase JSON, omitting absent fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawCreateCheckoutSession")]
pub struct CreateCheckoutSession {
    paylink_id: PaylinkId,
    mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_url: Option<String>,
}

impl CreateCheckoutSession {
    /// Starts a request for a paylink; nothing is validated until
    /// [`CreateCheckoutSessionBuilder::build`].
    pub fn builder(paylink_id: impl Into<String>) -> CreateCheckoutSessionBuilder {
        CreateCheckoutSessionBuilder {
            paylink_id: paylink_id.into(),
            mode: Mode::default(),
            metadata: Vec::new(),
            success_url: None,
            cancel_url: None,
            failure_url: None,
        }
    }

    /// The paylink the session is for.
    #[must_use]
    pub fn paylink_id(&self) -> &PaylinkId {
        &self.paylink_id
    }

    /// The mode (`paylink` unless set).
    #[must_use]
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The metadata, if any was set.
    #[must_use]
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// Where the customer goes after paying.
    #[must_use]
    pub fn success_url(&self) -> Option<&str> {
        self.success_url.as_deref()
    }

    /// Where the customer goes after cancelling.
    #[must_use]
    pub fn cancel_url(&self) -> Option<&str> {
        self.cancel_url.as_deref()
    }

    /// Where the customer goes after a failed payment.
    #[must_use]
    pub fn failure_url(&self) -> Option<&str> {
        self.failure_url.as_deref()
    }
}

/// Collects the fields of a [`CreateCheckoutSession`]; [`build`](Self::build)
/// validates them all at once.
#[derive(Debug, Clone)]
#[must_use]
pub struct CreateCheckoutSessionBuilder {
    paylink_id: String,
    mode: Mode,
    metadata: Vec<(String, String)>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    failure_url: Option<String>,
}

impl CreateCheckoutSessionBuilder {
    /// Sets the mode; the default, `paylink`, is the only documented one.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Adds a metadata pair (a repeated key takes the last value).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Adds every pair of an existing map.
    pub fn metadata_map(mut self, metadata: &Metadata) -> Self {
        self.metadata
            .extend(metadata.iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        self
    }

    /// Sets the success URL: an absolute URI, sent exactly as written (see
    /// [`build`](Self::build) for what is refused).
    pub fn success_url(mut self, url: impl Into<String>) -> Self {
        self.success_url = Some(url.into());
        self
    }

    /// Sets the cancel URL: an absolute URI, sent exactly as written (see
    /// [`build`](Self::build) for what is refused).
    pub fn cancel_url(mut self, url: impl Into<String>) -> Self {
        self.cancel_url = Some(url.into());
        self
    }

    /// Sets the failure URL: an absolute URI, sent exactly as written (see
    /// [`build`](Self::build) for what is refused).
    pub fn failure_url(mut self, url: impl Into<String>) -> Self {
        self.failure_url = Some(url.into());
        self
    }

    /// Validates everything and returns the request.
    ///
    /// # Errors
    ///
    /// The first problem found, in field order: the paylink id, the metadata
    /// (empty key, more than 50 keys), then each URL.
    ///
    /// A redirect URL may be any absolute URI, as the API's `format: uri`
    /// allows: `https://shop.example/orders/1`, or an app's deep link such as
    /// `myapp://orders/1`. Refused: a relative reference (`/orders/1`),
    /// whitespace or control characters, and the schemes `javascript:`,
    /// `data:`, `vbscript:` and `file:` in any case, which would run script
    /// or open local files where the customer lands.
    pub fn build(self) -> Result<CreateCheckoutSession, Error> {
        let metadata = if self.metadata.is_empty() {
            None
        } else {
            Some(Metadata::try_from_iter(self.metadata)?)
        };
        Ok(CreateCheckoutSession {
            paylink_id: PaylinkId::new(self.paylink_id)?,
            mode: self.mode,
            metadata,
            success_url: parse_redirect("successUrl", self.success_url)?,
            cancel_url: parse_redirect("cancelUrl", self.cancel_url)?,
            failure_url: parse_redirect("failureUrl", self.failure_url)?,
        })
    }
}

/// Schemes refused in a redirect URL: a browser sent to one runs script
/// (`javascript:`, `vbscript:`, a `data:` document) or opens a local file.
const REFUSED_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

/// Checks a redirect URL (an absolute URI, no whitespace or control
/// characters, no scheme that runs script or opens files) and keeps it
/// exactly as written: it is sent as given, not in the normalised form a URL
/// parser would print.
pub(crate) fn parse_redirect(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<String>, Error> {
    let Some(raw) = raw else { return Ok(None) };
    // A URL parser silently strips these; sent as is, they would break the redirect.
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::UrlWhitespace { field, value: raw });
    }
    // The scheme as RFC 3986 reads it, checked before parsing so that a
    // refused scheme is named even when the rest is malformed.
    if let Some((scheme, _)) = raw.split_once(':')
        && let Some(refused) = REFUSED_SCHEMES
            .iter()
            .find(|refused| scheme.eq_ignore_ascii_case(refused))
    {
        return Err(Error::UnsupportedUrlScheme {
            field,
            scheme: (*refused).to_owned(),
        });
    }
    let url = match Url::parse(&raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(Error::RelativeUrl { field, value: raw });
        }
        Err(e) => {
            return Err(Error::InvalidUrl {
                field,
                reason: e.to_string(),
                value: raw,
            });
        }
    };
    // The parser lowercases the scheme; it is the text before the first `:`,
    // checked above, but the parser has the last word.
    let scheme = url.scheme();
    if REFUSED_SCHEMES.contains(&scheme) {
        return Err(Error::UnsupportedUrlScheme {
            field,
            scheme: scheme.to_owned(),
        });
    }
    Ok(Some(raw))
}

/// The wire shape, validated into [`CreateCheckoutSession`] on deserialisation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCreateCheckoutSession {
    paylink_id: String,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    success_url: Option<String>,
    #[serde(default)]
    cancel_url: Option<String>,
    #[serde(default)]
    failure_url: Option<String>,
}

impl TryFrom<RawCreateCheckoutSession> for CreateCheckoutSession {
    type Error = Error;
    fn try_from(raw: RawCreateCheckoutSession) -> Result<Self, Error> {
        if let Some(metadata) = &raw.metadata {
            metadata.validate()?;
        }
        Ok(Self {
            paylink_id: PaylinkId::new(raw.paylink_id)?,
            mode: raw.mode,
            metadata: raw.metadata,
            success_url: parse_redirect("successUrl", raw.success_url)?,
            cancel_url: parse_redirect("cancelUrl", raw.cancel_url)?,
            failure_url: parse_redirect("failureUrl", raw.failure_url)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_documented_example() {
        let request = CreateCheckoutSession::builder("paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO")
            .metadata("xyz", "123")
            .metadata("mnq", "abc")
            .success_url("https://example.com/success")
            .cancel_url("https://example.com/cancel")
            .failure_url("https://example.com/failure")
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"paylinkId":"paylink_bE8ZndSer0o2Q9338q9mzUWS1Vdek3zO","mode":"paylink","metadata":{"xyz":"123","mnq":"abc"},"successUrl":"https://example.com/success","cancelUrl":"https://example.com/cancel","failureUrl":"https://example.com/failure"}"#
        );
    }

    #[test]
    fn omits_absent_fields() {
        let request = CreateCheckoutSession::builder("paylink_1").build().unwrap();
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"paylinkId":"paylink_1","mode":"paylink"}"#
        );
    }

    #[test]
    fn rejects_bad_input_with_the_field_named() {
        let err = CreateCheckoutSession::builder("").build().unwrap_err();
        assert_eq!(err.to_string(), "paylink id must not be empty");
        let err = CreateCheckoutSession::builder("p")
            .success_url("/relative")
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::RelativeUrl {
                field: "successUrl",
                value: "/relative".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "successUrl \"/relative\" is a relative reference; give an absolute URI, such as \
             https://shop.example/orders/1 or an app link such as myapp://orders/1"
        );
        let err = CreateCheckoutSession::builder("p")
            .failure_url("javascript:alert(1)")
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failureUrl must not use the \"javascript\" scheme, which could run script or open \
             local files in the customer's browser; use an http or https URL, or an app link"
        );
        let err = CreateCheckoutSession::builder("p")
            .metadata("", "v")
            .build()
            .unwrap_err();
        assert_eq!(err, Error::EmptyMetadataKey);
    }

    #[test]
    fn redirect_urls_are_sent_exactly_as_written() {
        let request = CreateCheckoutSession::builder("p")
            .success_url("https://Shop.example?x=1")
            .cancel_url("http://127.0.0.1:3000/cart/%7Eme#top")
            .build()
            .unwrap();
        assert_eq!(request.success_url(), Some("https://Shop.example?x=1"));
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["successUrl"], "https://Shop.example?x=1");
        assert_eq!(json["cancelUrl"], "http://127.0.0.1:3000/cart/%7Eme#top");
        for bad in [
            " https://shop.example",
            "https://shop.example/a b",
            "https://shop.example/\t",
        ] {
            let err = CreateCheckoutSession::builder("p")
                .success_url(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::UrlWhitespace {
                        field: "successUrl",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }

    fn build_with_success_url(url: &str) -> Result<CreateCheckoutSession, Error> {
        CreateCheckoutSession::builder("p").success_url(url).build()
    }

    #[test]
    fn any_absolute_uri_goes_out_verbatim() {
        for url in [
            "myapp://orders/1",
            "MyApp://Orders/1?x=%41#Frag",
            "com.example.shop:/orders/1",
            "ftp://example.com/x",
            "mailto:orders@shop.example",
            "urn:shop:order:1",
            "https:shop.example",
            "http://localhost:4000/account",
            "https://shop.example/caf%C3%A9?a=1&b=2",
            "intent://orders/1#Intent;scheme=myapp;end",
        ] {
            let request = CreateCheckoutSession::builder("p")
                .success_url(url)
                .cancel_url(url)
                .failure_url(url)
                .build()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            let json = serde_json::to_value(&request).unwrap();
            for field in ["successUrl", "cancelUrl", "failureUrl"] {
                assert_eq!(json[field], url, "{field}");
            }
        }
    }

    #[test]
    fn script_data_and_file_schemes_are_refused_in_any_case() {
        for (url, scheme) in [
            ("javascript:alert(1)", "javascript"),
            ("JavaScript:alert(1)", "javascript"),
            ("JAVASCRIPT://%0Aalert(1)", "javascript"),
            ("javascript://shop.example/%0aalert(1)", "javascript"),
            ("data:text/html,<script>alert(1)</script>", "data"),
            ("DATA:text/html;base64,PHNjcmlwdD4=", "data"),
            ("vbscript:msgbox(1)", "vbscript"),
            ("VBScript:msgbox(1)", "vbscript"),
            ("file:///etc/passwd", "file"),
            ("FILE://host/share", "file"),
            ("File:C:/Windows", "file"),
            ("file://[", "file"),
            ("javascript:", "javascript"),
        ] {
            for field in ["successUrl", "cancelUrl", "failureUrl"] {
                let builder = CreateCheckoutSession::builder("p");
                let builder = match field {
                    "successUrl" => builder.success_url(url),
                    "cancelUrl" => builder.cancel_url(url),
                    _ => builder.failure_url(url),
                };
                assert_eq!(
                    builder.build().unwrap_err(),
                    Error::UnsupportedUrlScheme {
                        field,
                        scheme: scheme.into()
                    },
                    "{field} {url}"
                );
            }
        }
        // Leading whitespace or a control character cannot hide the scheme.
        for url in [
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\tscript:alert(1)",
        ] {
            assert!(
                matches!(
                    build_with_success_url(url),
                    Err(Error::UrlWhitespace { .. })
                ),
                "{url:?}"
            );
        }
    }

    #[test]
    fn relative_references_are_refused_with_a_clear_error() {
        for url in [
            "/orders/1",
            "orders/1",
            "//shop.example/orders/1",
            "?x=1",
            "#top",
            "",
            "./javascript:alert(1)",
            "shop.example/orders",
        ] {
            assert_eq!(
                build_with_success_url(url).unwrap_err(),
                Error::RelativeUrl {
                    field: "successUrl",
                    value: url.into()
                },
                "{url:?}"
            );
        }
        // Absolute but malformed: refused by the parser, with its reason.
        for url in [
            "http://",
            "https://exa mple",
            "http://[::1",
            "https://shop.example:99999/",
        ] {
            assert!(build_with_success_url(url).is_err(), "{url:?}");
        }
        assert!(matches!(
            build_with_success_url("http://[::1"),
            Err(Error::InvalidUrl {
                field: "successUrl",
                ..
            })
        ));
    }

    #[test]
    fn deserialising_validates_too() {
        let err = serde_json::from_str::<CreateCheckoutSession>(
            r#"{"paylinkId":"p","successUrl":"javascript:alert(1)"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("successUrl must not use the \"javascript\" scheme"),
            "{err}"
        );
    }
}
