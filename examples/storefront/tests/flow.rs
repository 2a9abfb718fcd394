//! The storefront without a browser: a webhook only prompts a check, an order
//! becomes paid once and only when Actalink's session status confirms it.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use actalink_checkout::types::Decimal;
use actalink_sandbox::{EBOOK_PAYLINK, PRO_PAYLINK};
use common::{
    Options, act, checkout, checkout_and_pay, event_body, get, only_transition, paid_transitions,
    post_checkout_form, post_event, send, text,
};
use http::{Method, StatusCode};

/// A shop whose webhooks come only from the test, and without a reconciler,
/// so that each test sees exactly what the webhook and the pages do.
async fn quiet_shop() -> common::Shop {
    common::start_with(Options::default()).await
}

fn status(shop: &common::Shop, order_id: &str) -> String {
    shop.db.order(order_id).unwrap().unwrap().status
}

#[tokio::test]
async fn a_forged_event_is_rejected_and_changes_nothing() {
    let shop = quiet_shop().await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    let body = event_body("event_forged", "onetime.executed", &order_id);
    let response = post_event(&shop.url, &body, "whsec_wrong").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    // Unsigned, too.
    let response = send(
        Method::POST,
        &format!("{}/webhooks/actalink", shop.url),
        Some(("application/json", body)),
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(status(&shop, &order_id), "pending");
    assert_eq!(shop.db.event_count().unwrap(), 0);
    assert!(shop.db.transitions(&order_id).unwrap().is_empty());
}

#[tokio::test]
async fn an_event_for_an_unknown_order_is_acknowledged_and_changes_nothing() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, PRO_PAYLINK).await;
    let body = event_body("event_stranger", "onetime.executed", "ORD-NOT-OURS");
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(text(&response).trim(), "unknown order");
    // An event with no order reference at all is acknowledged as well.
    let response = post_event(
        &shop.url,
        r#"{"id":"event_bare","eventType":"subscription.billing.due"}"#,
        common::SECRET,
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(status(&shop, &order_id), "pending");
    assert!(shop.db.transitions(&order_id).unwrap().is_empty());
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 0);
}

#[tokio::test]
async fn a_signed_body_of_any_shape_is_acknowledged_and_changes_nothing() {
    let shop = quiet_shop().await;
    let (order_id, session_id) = checkout(&shop, PRO_PAYLINK).await;
    for body in [r#"{"hello":"world"}"#, "[1,2,3]", r#""just a string""#] {
        let response = post_event(&shop.url, body, common::SECRET).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{body}: {}",
            text(&response)
        );
        assert_eq!(text(&response).trim(), "unknown order", "{body}");
    }
    assert_eq!(shop.db.event_count().unwrap(), 3);
    assert_eq!(status(&shop, &order_id), "pending");

    // An event without an id is deduplicated by its signed content.
    act(&shop.sandbox, &session_id, "pay").await;
    let body = format!(
        r#"{{"eventType":"onetime.executed","eventData":{{"data":{{"metadata":{{"internal_order_id":"{order_id}"}}}}}}}}"#
    );
    let first = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(text(&first).trim(), "paid");
    let again = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(text(&again).trim(), "duplicate");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 1);
    assert_eq!(paid_transitions(&shop.db, &order_id), 1);
}

#[tokio::test]
async fn a_billing_due_event_does_not_pay_an_unpaid_order() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, PRO_PAYLINK).await;
    // Genuinely signed, names the order, but the session is still open.
    let body = event_body("event_due", "subscription.billing.due", &order_id);
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(text(&response).trim(), "not confirmed");
    assert_eq!(status(&shop, &order_id), "pending");
    assert!(shop.db.transitions(&order_id).unwrap().is_empty());
    assert_eq!(
        shop.db.events_for(&order_id).unwrap(),
        1,
        "handled and recorded"
    );
}

#[tokio::test]
async fn a_payment_of_the_wrong_amount_is_flagged_not_paid() {
    // The shop expects 0.20 for Recipe Pro; the sandbox charges 0.16.
    let shop = common::start_with(Options {
        webhooks: true,
        reconciler: true,
        pro_price: Some(Decimal::new(20, 2)),
        ..Options::default()
    })
    .await;
    let (order_id, session_id) = checkout(&shop, PRO_PAYLINK).await;
    assert_eq!(
        shop.db.order(&order_id).unwrap().unwrap().amount.as_deref(),
        Some("0.20")
    );
    act(&shop.sandbox, &session_id, "pay").await;
    assert!(
        common::eventually(|| shop.db.events_for(&order_id).unwrap() == 1).await,
        "the sandbox's webhook was handled"
    );
    let order = shop.db.order(&order_id).unwrap().unwrap();
    assert_eq!(order.status, "pending");
    let reason = order.review_reason.unwrap();
    assert!(
        reason.contains("0.16") && reason.contains("0.20"),
        "{reason}"
    );
    // The success page shows it pending, with a note; nothing marks it paid.
    let page = get(&format!("{}/orders/{order_id}", shop.url)).await;
    let html = text(&page);
    assert!(html.contains(r#"class="pending">pending<"#), "{html}");
    assert!(html.contains("could not match your payment"), "{html}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(status(&shop, &order_id), "pending");
    assert!(shop.db.transitions(&order_id).unwrap().is_empty());
}

#[tokio::test]
async fn the_same_event_twice_pays_once() {
    let shop = quiet_shop().await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    let body = event_body(
        "event_redelivered",
        "subscription.billing.scheduled",
        &order_id,
    );
    let first = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(text(&first).trim(), "paid");
    let second = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(text(&second).trim(), "duplicate");
    assert_eq!(status(&shop, &order_id), "paid");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 1);
    assert_eq!(paid_transitions(&shop.db, &order_id), 1);
    assert_eq!(shop.db.transitions(&order_id).unwrap()[0].source, "webhook");
}

#[tokio::test]
async fn two_different_events_for_one_order_pay_once() {
    let shop = quiet_shop().await;
    let order_id = checkout_and_pay(&shop, EBOOK_PAYLINK).await;
    let first = post_event(
        &shop.url,
        &event_body("event_one", "onetime.executed", &order_id),
        common::SECRET,
    )
    .await;
    assert_eq!(text(&first).trim(), "paid");
    let second = post_event(
        &shop.url,
        &event_body("event_two", "subscription.billing.scheduled", &order_id),
        common::SECRET,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(text(&second).trim(), "already paid");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 2);
    assert_eq!(paid_transitions(&shop.db, &order_id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_success_page_racing_webhooks_pays_once() {
    let shop = quiet_shop().await;
    for round in 0..5 {
        let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
        let page_url = format!("{}/orders/{order_id}", shop.url);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..3 {
            let url = shop.url.clone();
            let body = event_body(&format!("event_{round}_{i}"), "onetime.executed", &order_id);
            tasks.spawn(async move {
                let response = post_event(&url, &body, common::SECRET).await;
                assert_eq!(response.status, StatusCode::OK);
                text(&response).trim().to_owned()
            });
            let page_url = page_url.clone();
            tasks.spawn(async move {
                let page = get(&page_url).await;
                assert_eq!(page.status, StatusCode::OK);
                "page".to_owned()
            });
        }
        let outcomes = tasks.join_all().await;
        assert_eq!(status(&shop, &order_id), "paid");
        assert_eq!(paid_transitions(&shop.db, &order_id), 1, "{outcomes:?}");
        let webhook_paid = outcomes.iter().filter(|o| *o == "paid").count();
        assert!(webhook_paid <= 1, "{outcomes:?}");
        assert_eq!(
            webhook_paid == 1,
            shop.db.transitions(&order_id).unwrap()[0].source == "webhook",
            "a webhook says `paid` exactly when it made the transition: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_status_call_asks_the_provider_to_retry() {
    let shop = quiet_shop().await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    // Every attempt of the next status call (with its retries) fails.
    shop.sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 503})).unwrap(),
        10,
    );
    let body = event_body("event_retry", "subscription.billing.scheduled", &order_id);
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status(&shop, &order_id), "pending");
    assert_eq!(
        shop.db.event_count().unwrap(),
        0,
        "not recorded, so the retry counts"
    );
    // Clear what is left of the fault; the provider's retry then succeeds.
    let cleared = send(
        Method::DELETE,
        &format!("{}/__sandbox/faults", shop.sandbox.url()),
        None,
        &[],
    )
    .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(text(&response).trim(), "paid");
    assert_eq!(paid_transitions(&shop.db, &order_id), 1);
}

#[tokio::test]
async fn the_sandbox_webhook_pays_the_order() {
    let shop = common::start_with(Options {
        webhooks: true,
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, EBOOK_PAYLINK).await;
    assert!(common::eventually(|| status(&shop, &order_id) == "paid").await);
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 1);
    assert_eq!(only_transition(&shop.db, &order_id).source, "webhook");
}

#[tokio::test]
async fn the_success_page_confirms_when_the_webhook_never_comes() {
    let shop = quiet_shop().await;
    let (order_id, session_id) = checkout(&shop, EBOOK_PAYLINK).await;
    let hosted = shop.sandbox.checkout_url(&session_id);
    let paid = send(Method::POST, &format!("{hosted}/pay"), None, &[]).await;
    let success = paid.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(success, format!("{}/orders/{order_id}", shop.url));
    let page = get(&success).await;
    let html = text(&page);
    assert!(
        html.contains(r#"id="order-status" class="paid">paid<"#),
        "{html}"
    );
    assert_eq!(status(&shop, &order_id), "paid");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 0, "no webhook came");
    assert_eq!(
        shop.db.transitions(&order_id).unwrap()[0].source,
        "success_page"
    );
}

#[tokio::test]
async fn visiting_the_success_page_of_an_unpaid_order_does_not_pay_it() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, EBOOK_PAYLINK).await;
    let page = get(&format!("{}/orders/{order_id}", shop.url)).await;
    assert!(text(&page).contains(r#"class="pending">pending<"#));
    assert_eq!(status(&shop, &order_id), "pending");
}

#[tokio::test]
async fn a_provider_outage_fails_the_order_cleanly() {
    let shop = quiet_shop().await;
    shop.sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 500})).unwrap(),
        1,
    );
    let response = post_checkout_form(&shop.url, PRO_PAYLINK).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(text(&response).contains("Please try again"));
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let shop = quiet_shop().await;
    let debug = format!(
        "{:?} {:#?}",
        shop.instance.shop,
        shop.instance.shop.config()
    );
    assert!(!debug.contains(common::SECRET), "{debug}");
    assert!(
        !debug.contains(actalink_sandbox::DEFAULT_API_KEY),
        "{debug}"
    );
}
