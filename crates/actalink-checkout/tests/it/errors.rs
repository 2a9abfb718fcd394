//! Each status maps to its error, with status, request id, message and snippet.

use actalink_checkout::transport::{ReplayTransport, Response};
use actalink_checkout::{Client, Error};
use http::{HeaderValue, StatusCode};

use crate::{KEY, client, create_request, status};

/// The error of a create, with a `MaybeCreated` wrapper taken off (it is
/// tested on its own below).
async fn create_error(response: Response) -> Error {
    let t = ReplayTransport::new().respond(response);
    match client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err()
    {
        Error::MaybeCreated { source, .. } => *source,
        other => other,
    }
}

#[tokio::test]
async fn a_create_that_may_have_happened_says_how_to_find_the_session() {
    let t = ReplayTransport::new().respond(status(503, r#"{"message":"upstream down"}"#));
    let e = client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err();
    assert!(e.session_may_exist(), "{e:?}");
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        e.to_string(),
        "the server failed, HTTP 503: upstream down; the create may have reached the server, \
         so a checkout session may exist: find it by the metadata you sent \
         (user_uuid=nw571k0fjyh650yehifhtwqd, internal_order_id=ORD-120394)"
    );
    // A refusal the server made before acting is not wrapped.
    let t = ReplayTransport::new().respond(status(401, "{}"));
    let e = client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err();
    assert!(!e.session_may_exist() && matches!(e, Error::Unauthorized(_)));
}

#[tokio::test]
async fn statuses_map_to_typed_errors() {
    let e = create_error(status(401, r#"{"message":"Invalid API key"}"#).with_header(
        "x-request-id".parse().unwrap(),
        HeaderValue::from_static("req_42"),
    ))
    .await;
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(e.request_id(), Some("req_42"));
    assert_eq!(e.message(), Some("Invalid API key"));
    assert_eq!(
        e.to_string(),
        "the API refused the API key, HTTP 401: Invalid API key (request id req_42)"
    );
    assert!(!e.is_retryable());

    assert!(matches!(
        create_error(status(403, "{}")).await,
        Error::Unauthorized(_)
    ));
    let e = create_error(status(404, r#"{"error":"paylink not found"}"#)).await;
    assert!(matches!(e, Error::NotFound(_)));
    assert_eq!(e.message(), Some("paylink not found"));
    let e = create_error(status(400, r#"{"error":{"message":"metadata too large"}}"#)).await;
    assert!(matches!(e, Error::Api(_)));
    assert_eq!(
        e.to_string(),
        "the API returned an error, HTTP 400: metadata too large"
    );
    let e = create_error(status(500, r#"{"errors":[{"message":"boom"}]}"#)).await;
    assert!(matches!(e, Error::Server(_)));
    assert!(e.is_retryable());
    assert_eq!(e.message(), Some("boom"));
}

#[tokio::test]
async fn an_html_error_page_is_an_api_error_with_its_snippet() {
    let page = format!(
        "<html><body>502 Bad Gateway{}</body></html>",
        " ".repeat(2000)
    );
    let e = create_error(status(502, &page)).await;
    let Error::Server(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.message, None);
    assert!(api.body_snippet.starts_with("<html><body>502 Bad Gateway"));
    assert!(api.body_snippet.len() <= 512);
    assert_eq!(api.attempts, 1, "a create is not retried on 5xx");
}

#[tokio::test]
async fn a_429_carries_its_retry_after() {
    // Two retries also meet 429; the error reports the last wait asked for.
    let limited =
        || status(429, "{}").with_header(http::header::RETRY_AFTER, HeaderValue::from_static("0"));
    let t = ReplayTransport::new()
        .respond(limited())
        .respond(limited())
        .respond(limited());
    let e = client(&t)
        .create_session(&create_request())
        .await
        .unwrap_err();
    let Error::RateLimited { retry_after, error } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*retry_after, Some(std::time::Duration::ZERO));
    assert_eq!(error.attempts, 3);
}

#[tokio::test]
async fn a_2xx_that_is_not_the_expected_json_is_a_decode_error_with_its_path() {
    // Only a session without a usable id or status fails to decode.
    let e = create_error(Response::json(
        StatusCode::CREATED,
        r#"{"data":{"id":"checkout_1","status":7,"url":"u","products":[{"id":"prod_1","priceDetails":{"price":7}}]}}"#,
    ))
    .await;
    let Error::Decode {
        path,
        status: code,
        body_snippet,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(path, "data");
    assert!(e.to_string().contains("status"), "{e}");
    assert_eq!(*code, StatusCode::CREATED);
    assert!(body_snippet.starts_with("{\"data\""));

    let e = create_error(status(200, "<html>maintenance</html>")).await;
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    let e = create_error(status(
        201,
        r#"{"data":{"id":"checkout_1","status":"open","url":"u""#,
    ))
    .await;
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn configuration_errors_are_loud() {
    // The API key, the base URL, and what the error must say.
    let cases = [
        (None, None, "invalid configuration: no API key was given"),
        (Some("  "), None, "invalid configuration: "),
        (Some(KEY), Some("ftp://x"), "must be http or https"),
        (Some(KEY), Some("not a url"), "is not a URL"),
        (Some("bad\nkey"), None, "cannot carry"),
    ];
    for (key, url, says) in cases {
        let mut builder = Client::builder().transport(ReplayTransport::new());
        if let Some(key) = key {
            builder = builder.api_key(key);
        }
        if let Some(url) = url {
            builder = builder.base_url(url);
        }
        let err = builder.build().unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{key:?}, {url:?}: {err}");
    }
}
