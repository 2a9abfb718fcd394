//! The published sandbox as a merchant's integration test uses it, in
//! process: pay, cancel, fail or expire a session by its typed id, read how
//! each endpoint answered, resend an event; and the control API's routes for
//! the same.

use std::time::Duration;

use actalink_checkout::{CheckoutSessionId, SessionStatus};
use actalink_sandbox::{EBOOK_PAYLINK, Error, PRO_PAYLINK, PaymentEvent, Sandbox, WebhookEndpoint};
use actalink_testkit::{StubReply, StubServer};
use actalink_webhooks::Verifier;
use http::Method;

use crate::{client, create, http, start};

const SECRET: &str = "whsec_actions";

/// A port nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    )
}

async fn stub(replies: usize) -> StubServer {
    StubServer::start((0..replies).map(|_| StubReply::json(200, "{}")).collect()).await
}

/// The request's headers, parsed from a stub's record.
fn headers(head: &str) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            map.append(
                http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                http::HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    map
}

#[tokio::test]
async fn a_test_drives_sessions_by_their_typed_id() {
    let sandbox = start(Sandbox::builder()).await;
    let client = client(&sandbox);
    for (act, status) in [
        ("pay", SessionStatus::Success),
        ("cancel", SessionStatus::Open),
        ("fail", SessionStatus::Failure),
        ("expire", SessionStatus::Timeout),
    ] {
        let id: CheckoutSessionId = create(&client, PRO_PAYLINK, "ORD-A").await.id;
        let change = match act {
            "pay" => sandbox.pay(&id),
            "cancel" => sandbox.cancel(&id),
            "fail" => sandbox.fail(&id),
            _ => sandbox.expire(&id),
        }
        .unwrap();
        assert_eq!(change.status, status, "{act}");
        assert_eq!(change.event.is_some(), act == "pay", "{act}");
        assert_eq!(sandbox.session_status(&id), Some(status));
        assert_eq!(client.get_session(&id).await.unwrap().status, change.status);
    }
    let id: CheckoutSessionId = create(&client, EBOOK_PAYLINK, "ORD-B").await.id;
    let paid = sandbox.pay(&id).unwrap();
    let event = paid.event.unwrap();
    assert_eq!(event.event_type.as_str(), "onetime.executed");
    assert!(event.id.starts_with("event_") && event.endpoints.is_empty());
    assert!(matches!(sandbox.pay(&id), Err(Error::Conflict(m)) if m.contains("already paid")));
    assert!(matches!(sandbox.fail(&id), Err(Error::Conflict(_))));
    let missing: CheckoutSessionId = "checkout_missing".parse().unwrap();
    assert!(matches!(sandbox.pay(&missing), Err(Error::NotFound(_))));
    // No endpoint: nothing to wait for, nothing to resend to.
    assert!(
        sandbox
            .first_deliveries(&event, Duration::from_secs(5))
            .await
            .is_empty()
    );
    assert!(matches!(
        sandbox.resend(&event.id, None).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        sandbox.resend("event_nope", None).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn the_first_delivery_at_each_endpoint_is_reported() {
    let live = stub(1).await;
    let refusing = StubServer::start(vec![StubReply::json(500, "{}"); 5]).await;
    let dead = dead_url();
    let sandbox = start(
        Sandbox::builder()
            .webhook(WebhookEndpoint::new(format!("{}/hook", live.url()), SECRET))
            .webhook(WebhookEndpoint::new(
                format!("{}/hook", refusing.url()),
                SECRET,
            ))
            .webhook(WebhookEndpoint::new(dead.clone(), SECRET))
            .delivery(5, Duration::from_millis(300)),
    )
    .await;
    let id = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-C").await.id;
    let event = sandbox.pay(&id).unwrap().event.unwrap();
    assert_eq!(event.endpoints.len(), 3);
    let started = std::time::Instant::now();
    let report = sandbox
        .first_deliveries(&event, Duration::from_secs(10))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.len(), 3);
    assert!(report[0].delivered && report[0].status == Some(200) && report[0].attempts == 1);
    assert_eq!(report[0].error, None);
    assert!(!report[1].delivered);
    assert_eq!(
        (report[1].status, report[1].error.as_deref()),
        (Some(500), Some("HTTP 500"))
    );
    assert!(!report[2].delivered && report[2].status.is_none());
    assert!(
        report[2]
            .error
            .as_deref()
            .unwrap()
            .starts_with("could not connect to 127.0.0.1:")
    );
    assert_eq!(report[2].url, dead);

    // The summary per event and endpoint, once the dead one gave up.
    let mut summary = sandbox.delivery_summary();
    for _ in 0..200 {
        if summary.iter().filter(|d| d.attempts == 5).count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        summary = sandbox.delivery_summary();
    }
    assert_eq!(summary.len(), 3, "{summary:#?}");
    assert!(
        summary
            .iter()
            .all(|d| d.event_id == event.id && d.session_id == id)
    );
    assert!(
        summary
            .iter()
            .all(|d| d.event_type.as_str() == "onetime.executed")
    );
    let of = |url: &str| summary.iter().find(|d| d.url == url).unwrap();
    let fate = |url: &str| {
        let d = of(url);
        (d.attempts, d.delivered, d.last_status)
    };
    assert_eq!(fate(&report[0].url), (1, true, Some(200)));
    assert_eq!(fate(&report[1].url), (5, false, Some(500)));
    assert_eq!(fate(&dead), (5, false, None));
    assert!(
        of(&dead)
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("could not connect")
    );
}

#[tokio::test]
async fn a_resend_is_the_same_body_freshly_signed() {
    let hook = stub(3).await;
    let other = stub(1).await;
    let sandbox = start(
        Sandbox::builder().webhook(WebhookEndpoint::new(format!("{}/hook", hook.url()), SECRET)),
    )
    .await;
    let id = create(&client(&sandbox), PRO_PAYLINK, "ORD-R").await.id;
    let event = sandbox.pay(&id).unwrap().event.unwrap();
    sandbox
        .first_deliveries(&event, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = sandbox.resend(&event.id, None).await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].delivered && again[0].attempts == 2, "{again:?}");
    let received = hook.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body, "the same body");
    let (first, second) = (headers(&received[0].head), headers(&received[1].head));
    assert_ne!(
        first["x-actalink-timestamp"],
        second["x-actalink-timestamp"]
    );
    assert_ne!(
        first["x-actalink-signature"],
        second["x-actalink-signature"]
    );
    for head in [first, second] {
        Verifier::new(SECRET)
            .verify(&received[0].body, &head)
            .unwrap();
    }
    // To another URL, signed with the sandbox's secret.
    let to = WebhookEndpoint::new(format!("{}/elsewhere", other.url()), SECRET);
    let elsewhere = sandbox.resend(&event.id, Some(to)).await.unwrap();
    assert!(elsewhere[0].delivered && elsewhere[0].attempts == 1);
    let got = other.received();
    assert!(got[0].head.starts_with("POST /elsewhere "));
    Verifier::new(SECRET)
        .verify(&got[0].body, &headers(&got[0].head))
        .unwrap();
    assert_eq!(got[0].body, received[0].body);
}

/// `PaymentEvent::for_session` of the session the status call returns is the
/// event the sandbox itself sent for it, but for the fresh ids.
#[tokio::test]
async fn the_event_built_from_a_live_session_is_the_one_the_sandbox_sends() {
    for paylink in [EBOOK_PAYLINK, PRO_PAYLINK] {
        let hook = stub(1).await;
        let sandbox =
            start(Sandbox::builder().webhook(WebhookEndpoint::new(hook.url(), SECRET))).await;
        let client = client(&sandbox);
        let id = create(&client, paylink, "ORD-E").await.id;
        let event = sandbox.pay(&id).unwrap().event.unwrap();
        sandbox
            .first_deliveries(&event, Duration::from_secs(10))
            .await;
        let sent: serde_json::Value = serde_json::from_slice(&hook.received()[0].body).unwrap();
        let live = client.get_session(&id).await.unwrap();
        let built = PaymentEvent::for_session(&live).unwrap();
        assert_eq!(built.session_id(), Some(&id));
        let mut built: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
        // Fresh ids aside.
        built["id"] = sent["id"].clone();
        built["eventData"]["data"]["id"] = sent["eventData"]["data"]["id"].clone();
        assert_eq!(built, sent, "{paylink}");
        let raw = String::from_utf8_lossy(&hook.received()[0].body).into_owned();
        assert!(
            raw.contains(r#""metadata":{"user_uuid":"u_42","internal_order_id":"ORD-E"}"#),
            "{raw}"
        );
    }
}

#[tokio::test]
async fn the_control_api_waits_for_deliveries_and_resends() {
    let hook = stub(2).await;
    let sandbox = start(
        Sandbox::builder().webhook(WebhookEndpoint::new(format!("{}/hook", hook.url()), SECRET)),
    )
    .await;
    let id = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-K").await.id;
    let json = Some(("application/json", r#"{"waitMs": 10000}"#));
    let url = format!("{}/__sandbox/sessions/{id}/pay", sandbox.url());
    let answer = http(Method::POST, &url, json).await;
    assert_eq!(answer.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["data"]["status"], "success");
    let event_id = body["event"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["event"]["eventType"], "onetime.executed");
    assert_eq!(
        body["deliveries"],
        serde_json::json!([{"url": format!("{}/hook", hook.url()), "delivered": true, "status": 200, "attempts": 1, "error": null}])
    );
    let summary = http(
        Method::GET,
        &format!("{}/__sandbox/deliveries?per=endpoint", sandbox.url()),
        None,
    )
    .await;
    let summary: serde_json::Value = serde_json::from_slice(&summary.body).unwrap();
    assert_eq!(summary["data"][0]["eventId"], event_id.as_str());
    assert_eq!(summary["data"][0]["lastStatus"], 200);
    let resend = format!("{}/__sandbox/events/{event_id}/resend", sandbox.url());
    let answer = http(Method::POST, &resend, Some(("application/json", "{}"))).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["deliveries"][0]["delivered"], true);
    assert_eq!(body["deliveries"][0]["attempts"], 2);
    let missing = format!("{}/__sandbox/events/event_nope/resend", sandbox.url());
    assert_eq!(http(Method::POST, &missing, None).await.status, 404);
    let bad = Some(("application/json", r#"{"to": "ftp://x/"}"#));
    assert_eq!(http(Method::POST, &resend, bad).await.status, 400);
}
