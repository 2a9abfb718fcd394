//! Every bound of `actalink_sandbox::limits`, reached and held.

use std::time::Duration;

use crate::{client, create, press, request, sandbox, start};
use actalink_checkout::Error;
use actalink_sandbox::limits::{
    MAX_FAULT_COUNT, MAX_PENDING_DELIVERIES, MAX_QUEUED_FAULTS, MAX_SESSION_TTL, MAX_WEBHOOKS,
};
use actalink_sandbox::{EBOOK_PAYLINK, Fault, PRO_PAYLINK, Sandbox, WebhookEndpoint};
use actalink_testkit::SandboxControl;

/// POSTs `body` to the control API at `path` (under `/__sandbox/`).
async fn control_json(sandbox: &Sandbox, path: &str, body: &str) -> (u16, String) {
    SandboxControl::of(sandbox)
        .post_json(path, body)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_oldest_sessions_are_evicted_beyond_max_sessions() {
    let sandbox = start(Sandbox::builder().max_sessions(3)).await;
    let client = client(&sandbox);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&client, PRO_PAYLINK, &format!("E-{i}")).await.id);
    }
    assert_eq!(sandbox.session_count(), 3);
    for (i, id) in ids.iter().enumerate() {
        let got = client.get_session(id).await;
        if i < 2 {
            assert!(matches!(got, Err(Error::NotFound(_))), "{i}: {got:?}");
        } else {
            assert!(got.unwrap().is_open(), "{i}");
        }
    }
}

#[tokio::test]
async fn the_delivery_log_keeps_the_newest_records() {
    let (hook, _events) = crate::receiver("whsec_log", usize::MAX).await;
    let sandbox = start(
        Sandbox::builder()
            .webhook(hook)
            .delivery(5, Duration::from_millis(1))
            .max_deliveries(2),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "L-1").await;
    press(&s, "pay").await;
    let mut attempts = Vec::new();
    for _ in 0..200 {
        attempts = sandbox.deliveries().iter().map(|d| d.attempt).collect();
        if attempts.last() == Some(&5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attempts, [4, 5], "the two newest of five attempts");
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[tokio::test]
async fn webhook_endpoints_beyond_the_cap_are_refused() {
    let sandbox = sandbox().await;
    for i in 0..MAX_WEBHOOKS {
        let body = format!(r#"{{"url":"http://127.0.0.1:9/hook{i}","secret":"s"}}"#);
        let (status, text) = control_json(&sandbox, "webhooks", &body).await;
        assert_eq!(status, 204, "{i}: {text}");
    }
    let (status, text) = control_json(
        &sandbox,
        "webhooks",
        r#"{"url":"http://127.0.0.1:9/one-more","secret":"s"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        text.contains("32 webhook endpoints are already registered"),
        "{text}"
    );
    let err = sandbox
        .try_add_webhook(WebhookEndpoint::new("http://127.0.0.1:9/x", "s"))
        .unwrap_err();
    assert!(
        matches!(err, actalink_sandbox::Error::Refused(_)),
        "{err:?}"
    );
    // Bad endpoints are refused before the count matters.
    let fresh = crate::sandbox().await;
    for (body, reason) in [
        (r#"{"url":"ftp://x/y","secret":"s"}"#, "http or https"),
        (r#"{"url":"http://x/y","secret":""}"#, "secret must be 1 to"),
        (
            &format!(r#"{{"url":"http://x/{}","secret":"s"}}"#, "a".repeat(3000)),
            "at most 2048 bytes",
        ),
    ] {
        let (status, text) = control_json(&fresh, "webhooks", body).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(reason), "{text}");
    }
    // And a builder with too many does not start.
    let mut builder = Sandbox::builder();
    for i in 0..=MAX_WEBHOOKS {
        builder = builder.webhook(WebhookEndpoint::new(format!("http://127.0.0.1:9/{i}"), "s"));
    }
    let err = builder.start("127.0.0.1:0").await.unwrap_err();
    assert!(matches!(err, actalink_sandbox::Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn faults_beyond_the_caps_are_refused_with_400() {
    let sandbox = sandbox().await;
    for (body, reason) in [
        (
            r#"{"kind":"delay","delayMs":60001}"#,
            "delayMs must be at most 60000",
        ),
        (
            r#"{"kind":"delay","delayMs":18446744073709551615}"#,
            "delayMs must be at most",
        ),
        (r#"{"kind":"drop","count":1001}"#, "between 1 and 1000"),
        (r#"{"kind":"drop","count":0}"#, "between 1 and 1000"),
        (r#"{"kind":"drop","count":-1}"#, "not a fault"),
        (r#"{"kind":"status","status":99}"#, "between 200 and 599"),
        (
            r#"{"kind":"status","status":503,"retryAfter":"1\n2"}"#,
            "retryAfter",
        ),
    ] {
        let (status, text) = control_json(&sandbox, "faults", body).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains(reason), "{body}: {text}");
    }
    let big = format!(
        r#"{{"kind":"status","status":500,"body":"{}"}}"#,
        "b".repeat(70_000)
    );
    let (status, text) = control_json(&sandbox, "faults", &big).await;
    assert_eq!(status, 400);
    assert!(text.contains("body must be at most 65536 bytes"), "{text}");

    for i in 0..MAX_QUEUED_FAULTS {
        let (status, text) = control_json(
            &sandbox,
            "faults",
            &format!(r#"{{"kind":"delay","delayMs":1,"count":{MAX_FAULT_COUNT}}}"#),
        )
        .await;
        assert_eq!(status, 200, "{i}: {text}");
    }
    let (status, text) = control_json(&sandbox, "faults", r#"{"kind":"drop"}"#).await;
    assert_eq!(status, 400);
    assert!(text.contains("100 faults are already queued"), "{text}");
    let err = sandbox.try_inject(Fault::Drop, 1).unwrap_err();
    assert!(err.to_string().contains("already queued"), "{err}");
    let fresh = crate::sandbox().await;
    let too_slow: Fault =
        serde_json::from_value(serde_json::json!({"kind": "delay", "delayMs": 120_000})).unwrap();
    assert!(fresh.try_inject(too_slow.clone(), 1).is_err());
    fresh.inject(too_slow, 1); // refused and logged, not queued
    fresh.inject(Fault::Drop, MAX_FAULT_COUNT + 1);
    assert!(
        client(&fresh)
            .create_session(&request(PRO_PAYLINK, "NOFAULT"))
            .await
            .is_ok(),
        "no fault was queued"
    );
}

#[tokio::test]
async fn deliveries_beyond_the_in_flight_cap_are_logged_not_attempted() {
    // A port that never answers (nothing accepts its connections): every
    // attempt holds its slot until its 10 s timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let mut builder = Sandbox::builder().delivery(2, Duration::from_secs(60));
    for i in 0..MAX_WEBHOOKS {
        builder = builder.webhook(WebhookEndpoint::new(
            format!("http://{silent_addr}/hook{i}"),
            "whsec_cap",
        ));
    }
    let sandbox = start(builder).await;
    let client = client(&sandbox);
    let control = SandboxControl::of(&sandbox);
    let per_payment = MAX_WEBHOOKS;
    let payments = MAX_PENDING_DELIVERIES / per_payment + 1;
    for i in 0..payments {
        let s = create(&client, EBOOK_PAYLINK, &format!("P-{i}")).await;
        control.pay(s.id.as_str()).await.unwrap();
    }
    let mut dropped = Vec::new();
    for _ in 0..200 {
        let deliveries = sandbox.deliveries();
        dropped = deliveries.into_iter().filter(|d| d.attempt == 0).collect();
        if dropped.len() >= per_payment {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dropped.len(), per_payment, "the last payment's deliveries");
    assert!(
        dropped[0]
            .error
            .as_deref()
            .unwrap()
            .contains("1024 deliveries were already in flight"),
        "{:?}",
        dropped[0]
    );
    assert!(dropped.iter().all(|d| !d.delivered));
    drop(silent);
}

#[tokio::test]
async fn an_absurd_session_ttl_is_refused_not_a_panic() {
    for ttl in [
        Duration::MAX,
        MAX_SESSION_TTL + Duration::from_secs(1),
        Duration::ZERO,
    ] {
        let err = Sandbox::builder()
            .session_ttl(ttl)
            .start("127.0.0.1:0")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("session_ttl must be more than 0 and at most 366 days"),
            "{err}"
        );
    }
    let longest = start(Sandbox::builder().session_ttl(MAX_SESSION_TTL)).await;
    let s = create(&client(&longest), PRO_PAYLINK, "TTL").await;
    let lifetime = s.expires_at.unwrap() - s.created_at.unwrap();
    assert_eq!(lifetime.whole_days(), 366);
}
