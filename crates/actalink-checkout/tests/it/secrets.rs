//! The API key never appears in Debug output, errors or traces.

use actalink_checkout::transport::ReplayTransport;
use actalink_checkout::{ApiKey, CheckoutSessionId};
use actalink_testkit::LogCapture;

use crate::{KEY, client, create_request, created, paid, status};

#[tokio::test]
async fn the_key_is_absent_from_debug_errors_and_trace_logs() {
    let (capture, _guard) = LogCapture::install();

    let t = ReplayTransport::new()
        .respond(created())
        .respond(paid())
        .respond(status(401, r#"{"message":"bad key"}"#));
    let c = client(&t);
    c.create_session(&create_request()).await.unwrap();
    let id = CheckoutSessionId::new("checkout_1").unwrap();
    c.get_session(&id).await.unwrap();
    let error = c.get_session(&id).await.unwrap_err();

    let debug = format!("{c:?}");
    assert!(debug.contains("ApiKey([REDACTED])"), "{debug}");
    assert!(!debug.contains(KEY));
    assert!(!format!("{error}").contains(KEY));
    assert!(!format!("{error:?}").contains(KEY));
    assert!(!format!("{:?}", ApiKey::new(KEY)).contains(KEY));
    // The request as recorded prints its header as sensitive.
    assert!(!format!("{:?}", t.requests()[0]).contains(KEY));

    let logs = capture.text();
    assert!(logs.contains("operation=\"create_session\""), "{logs}");
    assert!(logs.contains("attempt=1"), "{logs}");
    assert!(!logs.contains(KEY), "{logs}");
    assert!(!logs.contains("x-api-key"), "{logs}");
}
