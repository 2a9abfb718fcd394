//! No secret in any log line, Debug output or error message: create, get, a
//! failed call, a delivered webhook and a forged one, with every crate's
//! tracing (hyper's and reqwest's included) captured at TRACE.

use actalink_checkout::{CheckoutSessionId, Client};
use actalink_sandbox::{PRO_PAYLINK, Sandbox, WebhookEndpoint};
use actalink_testkit::LogCapture;
use actalink_transport::Request;
use actalink_webhooks::Verifier;
use http::Method;

const API_KEY: &str = "sk_SECRETAPIKEY_d8f7a6s5d4f3g2h1j0k9l8";
const WEBHOOK_SECRET: &str = "whsec_SECRETWEBHOOK_q1w2e3r4t5y6";

// A current-thread runtime, so that every task (the sandbox, the client's
// connections, the receiver) logs through this thread's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_a_log_a_debug_or_an_error() {
    let (capture, _guard) = LogCapture::install();

    let (hook, mut events) = crate::receiver(WEBHOOK_SECRET, 0).await;
    let hook_url = hook.url.clone();
    let sandbox = crate::start(Sandbox::builder().api_keys([API_KEY]).webhook(hook)).await;
    let client = Client::builder()
        .api_key(API_KEY)
        .base_url(sandbox.url())
        .build()
        .unwrap();

    let session = crate::create(&client, PRO_PAYLINK, "SEC-1").await;
    client.get_session(&session.id).await.unwrap();
    let failed = client
        .get_session(&CheckoutSessionId::new("checkout_missing").unwrap())
        .await
        .unwrap_err();
    crate::press(&session, "pay").await;
    let event = crate::next_event(&mut events).await;

    // A forged webhook: signed with another secret, rejected by the receiver.
    let body = event.raw_json().to_owned();
    let forged = actalink_webhooks::sign(body.as_bytes(), &"whsec_attacker".into(), 1).unwrap();
    let request = Request::new(Method::POST, hook_url)
        .with_header(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        )
        .with_header(
            "x-actalink-timestamp".parse().unwrap(),
            forged.timestamp.parse().unwrap(),
        )
        .with_header(
            "x-actalink-signature".parse().unwrap(),
            forged.signature.parse().unwrap(),
        )
        .with_body(body.clone());
    let response = crate::send(request).await;
    assert_eq!(response.status, http::StatusCode::BAD_REQUEST);
    let verification = Verifier::new(WEBHOOK_SECRET)
        .verify_parts(body.as_bytes(), &forged.timestamp, &forged.signature)
        .unwrap_err();
    let sandbox_debug = format!("{sandbox:?}");
    sandbox.shutdown().await;

    let logs = capture.text();
    assert!(
        logs.lines().count() > 20,
        "the capture saw the traffic:\n{logs}"
    );
    eprintln!(
        "secrets: {} log lines captured at TRACE, none with a secret",
        logs.lines().count()
    );
    assert!(
        logs.contains("actalink webhook rejected"),
        "the forged webhook was logged"
    );
    let texts = [
        ("logs", logs),
        ("client Debug", format!("{client:?}")),
        (
            "verifier Debug",
            format!("{:?}", Verifier::new(WEBHOOK_SECRET)),
        ),
        (
            "sandbox config Debug",
            format!("{:?}", WebhookEndpoint::new("http://x", WEBHOOK_SECRET)),
        ),
        (
            "sandbox builder Debug",
            format!(
                "{:?}",
                Sandbox::builder()
                    .api_keys([API_KEY])
                    .webhook(WebhookEndpoint::new("http://x", WEBHOOK_SECRET))
            ),
        ),
        ("running sandbox Debug", sandbox_debug),
        ("API error", format!("{failed} {failed:?}")),
        (
            "verification error",
            format!("{verification} {verification:?}"),
        ),
    ];
    for (what, text) in texts {
        assert!(
            !text.contains(API_KEY),
            "the API key leaked into the {what}"
        );
        assert!(
            !text.contains(WEBHOOK_SECRET),
            "the webhook secret leaked into the {what}"
        );
    }
}
