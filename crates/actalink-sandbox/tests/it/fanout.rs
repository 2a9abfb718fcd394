//! Several webhook endpoints: every event reaches every endpoint, each with
//! its own retries; the observer sees each request, attempt and abandonment;
//! a URL's credentials are sent but never shown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actalink_sandbox::{
    Activity, DeliveryRecord, EBOOK_PAYLINK, PRO_PAYLINK, Sandbox, SandboxBuilder, WebhookEndpoint,
};
use actalink_testkit::{LogCapture, SandboxControl, StubReply, StubServer};
use actalink_webhooks::EventType;
use http::Method;

use crate::{client, create, http, next_event, press, receiver, start};

/// A sandbox reporting its activity into the returned list.
async fn observed(builder: SandboxBuilder) -> (Sandbox, Arc<Mutex<Vec<Activity>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let sandbox = start(builder.on_activity(move |a| sink.lock().unwrap().push(a.clone()))).await;
    (sandbox, seen)
}

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/hook", listener.local_addr().unwrap())
}

/// Waits up to ten seconds for `done` to hold of the activity seen so far.
async fn until(seen: &Mutex<Vec<Activity>>, done: impl Fn(&[Activity]) -> bool) -> Vec<Activity> {
    for _ in 0..500 {
        let now = seen.lock().unwrap().clone();
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let now = seen.lock().unwrap().clone();
    panic!("the activity never got there: {now:#?}");
}

/// Some endpoint gave up and some attempt was delivered.
fn settled(activity: &[Activity]) -> bool {
    !gave_up(activity).is_empty()
        && activity
            .iter()
            .any(|a| matches!(a, Activity::Attempt(d) if d.delivered))
}

fn gave_up(activity: &[Activity]) -> Vec<&actalink_sandbox::GaveUp> {
    activity
        .iter()
        .filter_map(|a| match a {
            Activity::GaveUp(g) => Some(g),
            _ => None,
        })
        .collect()
}

/// The delivery log's records for `url`.
fn for_url<'a>(deliveries: &'a [DeliveryRecord], url: &str) -> Vec<&'a DeliveryRecord> {
    deliveries.iter().filter(|d| d.url == url).collect()
}

#[tokio::test]
async fn every_event_reaches_every_endpoint() {
    let (first, mut first_events) = receiver("whsec_shared", 0).await;
    let (second, mut second_events) = receiver("whsec_shared", 0).await;
    let sandbox = start(Sandbox::builder().webhooks([first.clone(), second.clone()])).await;
    let client = client(&sandbox);
    for (paylink, event_type) in [
        (PRO_PAYLINK, EventType::SubscriptionBillingScheduled),
        (EBOOK_PAYLINK, EventType::OnetimeExecuted),
    ] {
        let s = create(&client, paylink, "ORD-F").await;
        press(&s, "pay").await;
        let at_first = next_event(&mut first_events).await;
        let at_second = next_event(&mut second_events).await;
        assert_eq!(at_first.event_type, Some(event_type.clone()));
        assert_eq!(at_first.id, at_second.id, "the same event at both");
        assert_eq!(
            at_second.data.checkout_session_id.as_ref(),
            Some(&s.id),
            "{at_second:?}"
        );
    }
    // One attempt each, per event, logged under each endpoint (the receiver
    // answers before the sandbox records the attempt).
    let mut deliveries = sandbox.deliveries();
    for _ in 0..100 {
        if deliveries.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        deliveries = sandbox.deliveries();
    }
    assert_eq!(for_url(&deliveries, &first.url).len(), 2, "{deliveries:#?}");
    assert_eq!(
        for_url(&deliveries, &second.url).len(),
        2,
        "{deliveries:#?}"
    );
    assert!(deliveries.iter().all(|d| d.delivered && d.attempt == 1));
}

#[tokio::test]
async fn a_dead_endpoint_neither_stops_nor_delays_the_others() {
    // One refuses connections, one accepts them and never answers: neither
    // holds up the live one, and each gets its own attempts.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    let dead = dead_url();
    let (live, mut events) = receiver("whsec_shared", 0).await;
    let (sandbox, seen) = observed(
        Sandbox::builder()
            .webhook(WebhookEndpoint::new(dead.clone(), "whsec_shared"))
            .webhook(WebhookEndpoint::new(silent_url.clone(), "whsec_shared"))
            .webhook(live.clone())
            .delivery(3, Duration::from_millis(5)),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-D").await;
    let paid_at = std::time::Instant::now();
    press(&s, "pay").await;
    let event = next_event(&mut events).await;
    assert!(
        paid_at.elapsed() < Duration::from_secs(5),
        "the live endpoint waited {:?} for the others",
        paid_at.elapsed()
    );
    assert_eq!(event.metadata_value("internal_order_id"), Some("ORD-D"));

    let activity = until(&seen, settled).await;
    let abandoned = gave_up(&activity);
    assert_eq!(abandoned.len(), 1, "only the dead endpoint, so far");
    assert_eq!(abandoned[0].url, dead);
    assert_eq!(abandoned[0].attempts, 3);
    assert_eq!(abandoned[0].event_type, EventType::OnetimeExecuted);
    assert!(
        abandoned[0]
            .error
            .as_deref()
            .unwrap()
            .contains("could not connect"),
        "{:?}",
        abandoned[0]
    );
    let deliveries = sandbox.deliveries();
    let to_dead: Vec<_> = for_url(&deliveries, &dead)
        .iter()
        .map(|d| (d.attempt, d.delivered))
        .collect();
    assert_eq!(to_dead, [(1, false), (2, false), (3, false)]);
    let to_live = for_url(&deliveries, &live.url);
    assert_eq!(to_live.len(), 1);
    assert!(to_live[0].delivered);
    assert!(
        for_url(&deliveries, &silent_url).is_empty(),
        "the silent endpoint's first attempt is still waiting"
    );
    drop(silent);
}

#[tokio::test]
async fn each_endpoint_retries_on_its_own() {
    let (flaky, mut flaky_events) = receiver("whsec_shared", 2).await;
    let (steady, mut steady_events) = receiver("whsec_shared", 0).await;
    let (sandbox, seen) = observed(
        Sandbox::builder()
            .webhooks([flaky.clone(), steady.clone()])
            .delivery(5, Duration::from_millis(20)),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-R").await;
    press(&s, "pay").await;
    next_event(&mut steady_events).await;
    next_event(&mut flaky_events).await;
    let activity = until(&seen, |a| {
        a.iter()
            .filter(|a| matches!(a, Activity::Attempt(d) if d.delivered))
            .count()
            == 2
    })
    .await;
    let attempts = |url: &str| -> Vec<(u32, u32, Option<u16>)> {
        activity
            .iter()
            .filter_map(|a| match a {
                Activity::Attempt(d) if d.url == url => Some((d.attempt, d.max_attempts, d.status)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        attempts(&flaky.url),
        [(1, 5, Some(500)), (2, 5, Some(500)), (3, 5, Some(200))]
    );
    assert_eq!(attempts(&steady.url), [(1, 5, Some(200))]);
    assert!(gave_up(&activity).is_empty());
}

#[tokio::test]
async fn the_observer_sees_each_request_attempt_and_abandonment() {
    let (hook, mut events) = receiver("whsec_obs", 1).await;
    let (sandbox, seen) = observed(
        Sandbox::builder()
            .webhook(hook.clone())
            .delivery(2, Duration::from_millis(5)),
    )
    .await;
    let client = client(&sandbox);
    let s = create(&client, EBOOK_PAYLINK, "ORD-O").await;
    client.get_session(&s.id).await.unwrap();
    SandboxControl::of(&sandbox)
        .pay(s.id.as_str())
        .await
        .unwrap();
    let event = next_event(&mut events).await;
    http(
        Method::GET,
        &format!("{}/no/such/route", sandbox.url()),
        None,
    )
    .await;

    let activity = until(&seen, |a| {
        a.iter()
            .filter(|a| matches!(a, Activity::Attempt(_)))
            .count()
            == 2
            && a.iter()
                .filter(|a| matches!(a, Activity::Request(_)))
                .count()
                == 4
    })
    .await;
    let requests: Vec<(String, String, u16)> = activity
        .iter()
        .filter_map(|a| match a {
            Activity::Request(r) => Some((r.method.clone(), r.path.clone(), r.status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        [
            (
                "POST".to_owned(),
                "/billing/api/v1/paysession/create".to_owned(),
                201
            ),
            (
                "GET".to_owned(),
                format!(
                    "/billing/api/v1/paysession/status?checkoutSessionId={}",
                    s.id
                ),
                200
            ),
            (
                "POST".to_owned(),
                format!("/__sandbox/sessions/{}/pay", s.id),
                200
            ),
            ("GET".to_owned(), "/no/such/route".to_owned(), 404),
        ]
    );
    let attempts: Vec<_> = activity
        .iter()
        .filter_map(|a| match a {
            Activity::Attempt(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(attempts[0].status, Some(500));
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500"));
    assert!(!attempts[0].delivered);
    assert_eq!(attempts[1].status, Some(200));
    assert!(attempts[1].delivered && attempts[1].error.is_none());
    for attempt in &attempts {
        assert_eq!(Some(&attempt.event_id), event.id.as_ref());
        assert_eq!(attempt.event_type, EventType::OnetimeExecuted);
        assert_eq!(attempt.session_id, s.id);
        assert_eq!(attempt.url, hook.url);
    }
    // A fault's status is what the observer sees.
    SandboxControl::of(&sandbox)
        .inject_status(503, None, 1)
        .await
        .unwrap();
    let _ = client.get_session(&s.id).await;
    let activity = until(&seen, |a| {
        a.iter()
            .any(|a| matches!(a, Activity::Request(r) if r.status == 503))
    })
    .await;
    assert!(gave_up(&activity).is_empty());
}

#[tokio::test]
async fn a_panicking_observer_breaks_nothing() {
    let (hook, mut events) = receiver("whsec_panic", 0).await;
    let sandbox = start(
        Sandbox::builder()
            .webhook(hook)
            .on_activity(|_| panic!("an observer's bug")),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-P").await;
    press(&s, "pay").await;
    next_event(&mut events).await;
}

const PASSWORD: &str = "pw_TOPSECRET_hook";

#[tokio::test(flavor = "current_thread")]
async fn credentials_in_an_endpoint_url_are_sent_but_never_shown() {
    let (capture, _guard) = LogCapture::install();
    let stub = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let with_credentials = stub
        .url()
        .replace("http://", &format!("http://hookuser:{PASSWORD}@"))
        + "/hook";
    let shown = format!("{}/hook", stub.url().replace("http://", "http://***@"));
    let dead = dead_url().replace("http://", &format!("http://hookuser:{PASSWORD}@"));
    let endpoint = WebhookEndpoint::new(with_credentials.clone(), "whsec_creds");
    assert_eq!(endpoint.redacted_url(), shown);
    let builder = Sandbox::builder()
        .webhook(endpoint.clone())
        .webhook(WebhookEndpoint::new(dead, "whsec_creds"))
        .delivery(2, Duration::from_millis(5));
    let builder_debug = format!("{builder:?}");
    let (sandbox, seen) = observed(builder).await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-C").await;
    press(&s, "pay").await;
    let activity = until(&seen, settled).await;
    // The receiver got the credentials, as Basic authentication.
    for _ in 0..100 {
        if !stub.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let head = stub.received()[0].head.to_ascii_lowercase();
    assert!(head.contains("authorization: basic "), "{head}");
    assert!(head.starts_with("post /hook "), "{head}");

    let deliveries = sandbox.deliveries();
    assert_eq!(for_url(&deliveries, &shown).len(), 1, "{deliveries:#?}");
    let listed = http(
        Method::GET,
        &format!("{}/__sandbox/deliveries", sandbox.url()),
        None,
    )
    .await;
    let listed = String::from_utf8(listed.body.to_vec()).unwrap();
    assert!(listed.contains("***@"), "{listed}");
    sandbox.shutdown().await;
    let texts = [
        ("endpoint Debug", format!("{endpoint:?}")),
        ("builder Debug", builder_debug),
        ("activity", format!("{activity:?}")),
        ("delivery log", format!("{deliveries:?}")),
        ("control API", listed),
        ("logs", capture.text()),
    ];
    for (what, text) in texts {
        assert!(
            !text.contains(PASSWORD) && !text.contains("hookuser"),
            "the credentials leaked into the {what}: {text}"
        );
    }
}
