//! The checkout flow end to end: create, get, pay on the hosted page, webhook, get.

use std::time::Duration;

use actalink_checkout::types::{Decimal, OrderStatus, PaylinkType};
use actalink_checkout::{Error, SessionStatus};
use actalink_sandbox::{DeliveryRecord, EBOOK_PAYLINK, PRO_PAYLINK, Sandbox, WebhookEndpoint};
use actalink_testkit::{Action, SandboxControl};
use actalink_webhooks::EventType;
use http::{Method, StatusCode};

use crate::{client, create, http, next_event, press, receiver, request, sandbox, start};

#[tokio::test]
async fn create_get_pay_on_the_hosted_page_then_get_shows_success_and_a_verified_webhook_arrives() {
    let (hook, mut events) = receiver("whsec_flow", 0).await;
    let sandbox = start(Sandbox::builder().webhook(hook)).await;
    let client = client(&sandbox);

    let created = create(&client, PRO_PAYLINK, "ORD-1").await;
    assert_eq!(created.status, SessionStatus::Open);
    assert!(created.id.as_str().starts_with("checkout_") && created.id.as_str().len() == 41);
    assert!(
        created
            .order_id
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("ord_")
    );
    assert_eq!(created.order_status, Some(OrderStatus::Pending));
    assert_eq!(created.url, Some(sandbox.checkout_url(created.id.as_str())));
    assert_eq!(created.paylink_type, Some(PaylinkType::Subscription));
    let lifetime = created.expires_at.unwrap() - created.created_at.unwrap();
    assert_eq!(lifetime.whole_milliseconds(), 3_600_002);
    assert_eq!(
        created.metadata, None,
        "the create response carries no metadata, as documented"
    );
    let price = created.products[0].price_details.as_ref().unwrap();
    assert_eq!(price.price.as_ref().unwrap().raw(), "0x302e3136");
    assert_eq!(price.decimal().unwrap(), Decimal::new(16, 2));

    let open = client.get_session(&created.id).await.unwrap();
    assert!(open.is_open());
    assert_eq!(open.metadata_value("internal_order_id"), Some("ORD-1"));
    assert_eq!(open.plan, None);

    // The hosted page shows the product and a pay form; posting it redirects to the success URL.
    let page = http(Method::GET, created.url.as_deref().unwrap(), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.body.to_vec()).unwrap();
    assert!(
        html.contains("Recipe Pro") && html.contains("0.16 USDC"),
        "{html}"
    );
    let action = format!("/payment-link/{}/pay", created.id);
    assert!(html.contains(&format!("action=\"{action}\"")));
    let paid = http(
        Method::POST,
        &format!("{}{action}", sandbox.url()),
        Some(("application/x-www-form-urlencoded", "")),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER);
    assert_eq!(
        paid.headers["location"],
        "https://shop.example/orders/ORD-1"
    );

    let session = client.get_session(&created.id).await.unwrap();
    assert!(session.is_paid());
    assert_eq!(session.order_status, Some(OrderStatus::Ongoing));
    assert!(session.started_at.is_some());
    assert_eq!(
        (session.end_at.unwrap() - session.started_at.unwrap()).whole_minutes(),
        15
    );
    let payment = session.payment.as_ref().unwrap();
    assert_eq!(payment.sender_address.as_ref().unwrap().len(), 42);
    assert_eq!(
        session.plan.as_ref().unwrap().public_id.as_ref(),
        session.products[0].id.as_ref()
    );

    let event = next_event(&mut events).await;
    assert_eq!(
        event.event_type,
        Some(EventType::SubscriptionBillingScheduled)
    );
    assert_eq!(event.metadata_value("internal_order_id"), Some("ORD-1"));
    assert_eq!(event.data.checkout_session_id.as_ref(), Some(&created.id));
    assert_eq!(
        event.data.token.unwrap().decimal(6).unwrap().unwrap(),
        Decimal::new(16, 2)
    );

    // Paying again changes nothing and sends no second webhook.
    let again = http(Method::POST, &format!("{}{action}", sandbox.url()), None).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(events.try_recv().is_err());
    let deliveries = settled_deliveries(&sandbox, 1).await;
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].delivered && deliveries[0].attempt == 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_one_time_payment_through_the_control_api() {
    let (hook, mut events) = receiver("whsec_once", 0).await;
    let sandbox = sandbox().await;
    sandbox.add_webhook(hook);
    let client = client(&sandbox);
    let created = create(&client, EBOOK_PAYLINK, "ORD-2").await;
    let control = SandboxControl::of(&sandbox);
    assert!(control.pay(created.id.as_str()).await.unwrap().is_paid());
    // The control API says so when a script pays a paid session again.
    let again = control.pay(created.id.as_str()).await.unwrap_err();
    assert_eq!(again.status, Some(409));
    assert!(again.message.contains("is already paid"), "{again}");
    let session = client.get_session(&created.id).await.unwrap();
    assert!(session.is_paid());
    assert_eq!(session.end_at, None);
    assert!(session.payment.unwrap().hash.unwrap().starts_with("0x"));
    let event = next_event(&mut events).await;
    assert_eq!(event.event_type, Some(EventType::OnetimeExecuted));
    assert_eq!(event.data.token.unwrap().amount.unwrap().raw(), "0x249f0");
}

#[tokio::test]
async fn cancel_keeps_the_session_open_and_fail_ends_it() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let s = create(&client, PRO_PAYLINK, "ORD-3").await;
    let cancel = press(&s, "cancel").await;
    assert_eq!(cancel.headers["location"], "https://shop.example/cart");
    assert!(client.get_session(&s.id).await.unwrap().is_open());
    let fail = press(&s, "fail").await;
    assert_eq!(fail.headers["location"], "https://shop.example/failed");
    let failed = client.get_session(&s.id).await.unwrap();
    assert_eq!(failed.status, SessionStatus::Failure);
    // A failed session cannot be paid.
    let pay = press(&s, "pay").await;
    assert_eq!(pay.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn without_redirect_urls_the_buttons_lead_to_the_sandboxs_own_page() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let bare = actalink_checkout::CreateCheckoutSession::builder(PRO_PAYLINK)
        .build()
        .unwrap();
    let s = client.create_session(&bare).await.unwrap();
    let pay = press(&s, "pay").await;
    let location = pay.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/payment-link/{}/done", s.id));
    let done = http(Method::GET, &format!("{}{location}", sandbox.url()), None).await;
    assert!(String::from_utf8_lossy(&done.body).contains("Payment received"));
}

#[tokio::test]
async fn sessions_past_their_expiry_turn_timeout_and_cannot_be_paid() {
    let sandbox = start(Sandbox::builder().session_ttl(Duration::from_millis(200))).await;
    let client = client(&sandbox);
    let s = create(&client, PRO_PAYLINK, "ORD-4").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        client.get_session(&s.id).await.unwrap().status,
        SessionStatus::Timeout
    );
    let pay = press(&s, "pay").await;
    assert_eq!(pay.status, StatusCode::CONFLICT);
    let page = http(Method::GET, s.url.as_deref().unwrap(), None).await;
    assert!(String::from_utf8_lossy(&page.body).contains("timeout"));
    // And the control API can expire a session at once.
    let s = create(&client, PRO_PAYLINK, "ORD-5").await;
    let control = SandboxControl::of(&sandbox);
    control.act(s.id.as_str(), Action::Expire).await.unwrap();
    let ended = client
        .wait_for_completion(&s.id, actalink_checkout::WaitOptions::new())
        .await
        .unwrap();
    assert_eq!(ended.status, SessionStatus::Timeout);
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_until_it_answers() {
    let (hook, mut events) = receiver("whsec_retry", 2).await;
    let sandbox = start(
        Sandbox::builder()
            .webhook(hook)
            .delivery(5, Duration::from_millis(50)),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-6").await;
    press(&s, "pay").await;
    let event = next_event(&mut events).await;
    assert_eq!(event.metadata_value("internal_order_id"), Some("ORD-6"));
    let deliveries = settled_deliveries(&sandbox, 3).await;
    let attempts: Vec<_> = deliveries
        .iter()
        .map(|d| (d.attempt, d.status, d.delivered))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, Some(500), false),
            (2, Some(500), false),
            (3, Some(200), true)
        ]
    );
    // The log is also served by the control API.
    let listed = SandboxControl::of(&sandbox).deliveries().await.unwrap();
    assert_eq!(listed, deliveries);
}

/// An endpoint the transport cannot even use (a URL that does not parse) is
/// given up at once by the retry classifier: no attempt could ever succeed.
#[tokio::test]
async fn an_unusable_endpoint_is_given_up_after_one_attempt() {
    let sandbox = start(
        Sandbox::builder()
            .webhook(WebhookEndpoint::new("http://exa mple.test/hook", "whsec_x"))
            .delivery(3, Duration::from_millis(1)),
    )
    .await;
    let s = create(&client(&sandbox), EBOOK_PAYLINK, "ORD-U").await;
    press(&s, "pay").await;
    let deliveries = settled_deliveries(&sandbox, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let attempts: Vec<_> = sandbox
        .deliveries()
        .iter()
        .map(|d| (d.attempt, d.delivered, d.error.is_some()))
        .collect();
    assert_eq!(attempts, [(1, false, true)], "{deliveries:?}");
    let summary = sandbox.delivery_summary();
    assert_eq!(summary.len(), 1);
    assert!(!summary[0].delivered && summary[0].attempts == 1);
}

#[tokio::test]
async fn concurrent_creates_are_all_kept() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_session(&request(PRO_PAYLINK, &format!("ORD-C{i}")))
                    .await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().unwrap().id);
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(sandbox.session_count(), 200);
}

#[tokio::test]
async fn after_shutdown_the_port_refuses_connections() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.shutdown().await;
    let err = client
        .create_session(&request(PRO_PAYLINK, "ORD-7"))
        .await
        .unwrap_err();
    let Error::Transport { source, attempts } = &err else {
        panic!("{err:?}")
    };
    assert!(source.is_connect());
    assert_eq!(*attempts, 3, "a create is retried on connect failures");
}

/// The delivery log once it holds `n` attempts (the receiver answers before
/// the sandbox records the attempt).
async fn settled_deliveries(sandbox: &Sandbox, n: usize) -> Vec<DeliveryRecord> {
    for _ in 0..100 {
        let deliveries = sandbox.deliveries();
        if deliveries.len() >= n {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sandbox.deliveries()
}
