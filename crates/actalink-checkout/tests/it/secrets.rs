//! The API key never appears in Debug output, errors or traces.

use std::io::Write;
use std::sync::{Arc, Mutex};

use actalink_checkout::transport::ReplayTransport;
use actalink_checkout::{ApiKey, CheckoutSessionId};

use crate::{KEY, client, create_request, created, paid, status};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_is_absent_from_debug_errors_and_trace_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("operation=\"create_session\""), "{logs}");
    assert!(logs.contains("attempt=1"), "{logs}");
    assert!(!logs.contains(KEY), "{logs}");
    assert!(!logs.contains("x-api-key"), "{logs}");
}
