//! The storefront without a browser: a webhook is stored and only prompts a
//! check, an order becomes paid once and only when Actalink's session status
//! confirms it, and a paid order is fulfilled once.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use actalink_checkout::types::Decimal;
use actalink_payments::sqlx;
use actalink_payments::{JobState, PaymentStatus, Source};
use actalink_sandbox::{EBOOK_PAYLINK, PRO_PAYLINK};
use common::{
    Options, act, checkout, checkout_and_pay, event_body, events_for, get, inbox_len,
    only_transition, paid_transitions, post_checkout_form, post_event, send, status, text,
    transitions,
};
use http::{Method, StatusCode};

/// A shop whose webhooks come only from the test, and without background
/// work, so that each test sees exactly what the webhook and the pages do.
async fn quiet_shop() -> common::Shop {
    common::start_with(Options::default()).await
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
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);
    assert_eq!(inbox_len(shop.shop()).await, 0);
    assert!(transitions(shop.shop(), &order_id).await.is_empty());
}

#[tokio::test]
async fn an_event_for_an_unknown_order_is_acknowledged_and_changes_nothing() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, PRO_PAYLINK).await;
    let body = event_body("event_stranger", "onetime.executed", "ORD-NOT-OURS");
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(text(&response).trim(), "no matching payment");
    // An event with no order reference at all is acknowledged as well.
    let response = post_event(
        &shop.url,
        r#"{"id":"event_bare","eventType":"subscription.billing.due"}"#,
        common::SECRET,
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);
    assert!(transitions(shop.shop(), &order_id).await.is_empty());
    assert_eq!(events_for(shop.shop(), &order_id).await, 0);
    assert_eq!(inbox_len(shop.shop()).await, 2, "both stored");
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
        assert_eq!(text(&response).trim(), "no matching payment", "{body}");
    }
    assert_eq!(inbox_len(shop.shop()).await, 3);
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);

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
    assert_eq!(events_for(shop.shop(), &order_id).await, 1);
    assert_eq!(paid_transitions(shop.shop(), &order_id).await, 1);
}

#[tokio::test]
async fn a_billing_due_event_does_not_pay_an_unpaid_order() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, PRO_PAYLINK).await;
    // Genuinely signed, names the order, but the session is still open.
    let body = event_body("event_due", "subscription.billing.due", &order_id);
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK, "{}", text(&response));
    assert_eq!(text(&response).trim(), "not confirmed yet");
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);
    assert!(transitions(shop.shop(), &order_id).await.is_empty());
    assert_eq!(
        events_for(shop.shop(), &order_id).await,
        1,
        "handled and stored"
    );
}

#[tokio::test]
async fn a_payment_of_the_wrong_amount_is_flagged_not_paid() {
    // The shop expects 0.20 for Recipe Pro; the sandbox charges 0.16.
    let shop = common::start_with(Options {
        webhooks: true,
        background: true,
        pro_price: Some(Decimal::new(20, 2)),
        ..Options::default()
    })
    .await;
    let (order_id, session_id) = checkout(&shop, PRO_PAYLINK).await;
    let order = shop.shop().order(&order_id).await.unwrap().unwrap();
    assert_eq!(order.amount, Decimal::new(20, 2));
    act(&shop.sandbox, &session_id, "pay").await;
    assert!(
        common::eventually(|| async {
            status(shop.shop(), &order_id).await == PaymentStatus::Flagged
        })
        .await,
        "the sandbox's webhook or the reconciler flagged it"
    );
    let payment = shop
        .shop()
        .payments()
        .payment_by_reference(&order_id)
        .await
        .unwrap()
        .unwrap();
    let reason = payment.reason.unwrap();
    assert!(
        reason.contains("0.16") && reason.contains("0.2"),
        "{reason}"
    );
    let flagged = shop
        .shop()
        .payments()
        .payments_in(PaymentStatus::Flagged, 10)
        .await
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].reference, order_id);
    // The return page says a person is looking into it; nothing marks it paid or ships it.
    let page = get(&format!("{}/orders/{order_id}", shop.url)).await;
    let html = text(&page);
    assert!(
        html.contains(r#"id="order-status" class="review">under review<"#),
        "{html}"
    );
    assert!(html.contains("we are looking into it"), "{html}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Flagged);
    assert_eq!(paid_transitions(shop.shop(), &order_id).await, 0);
    assert_eq!(
        shop.shop()
            .payments()
            .job_state(&payment.session_id)
            .await
            .unwrap(),
        None,
        "no fulfilment for a flagged payment"
    );
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
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Paid);
    assert_eq!(events_for(shop.shop(), &order_id).await, 1);
    assert_eq!(
        only_transition(shop.shop(), &order_id).await.source,
        Source::Webhook
    );
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
    assert_eq!(text(&second).trim(), "already final");
    assert_eq!(events_for(shop.shop(), &order_id).await, 2);
    assert_eq!(paid_transitions(shop.shop(), &order_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_return_page_racing_webhooks_pays_once() {
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
        assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Paid);
        let history = transitions(shop.shop(), &order_id).await;
        assert_eq!(history.len(), 1, "{outcomes:?} {history:?}");
        let webhook_paid = outcomes.iter().filter(|o| *o == "paid").count();
        assert!(webhook_paid <= 1, "{outcomes:?}");
        assert_eq!(
            webhook_paid == 1,
            history[0].source == Source::Webhook,
            "a webhook says `paid` exactly when it made the transition: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn with_the_provider_down_an_event_is_stored_acknowledged_and_confirmed_later() {
    let shop = quiet_shop().await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    // Every attempt of the next status call (with its retries) fails.
    shop.sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 503})).unwrap(),
        10,
    );
    let body = event_body("event_retry", "subscription.billing.scheduled", &order_id);
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(response.status, StatusCode::OK, "stored, so acknowledged");
    assert_eq!(text(&response).trim(), "stored; the check will be retried");
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);
    assert_eq!(events_for(shop.shop(), &order_id).await, 1);
    // Clear what is left of the fault; the reconciler's next scan confirms it.
    let cleared = send(
        Method::DELETE,
        &format!("{}/__sandbox/faults", shop.sandbox.url()),
        None,
        &[],
    )
    .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    let report = shop.shop().payments().reconcile_due().await.unwrap();
    assert_eq!(report.changed, 1, "{report:?}");
    assert_eq!(
        only_transition(shop.shop(), &order_id).await.source,
        Source::Reconciler
    );
    // The provider's redelivery is recognised.
    let response = post_event(&shop.url, &body, common::SECRET).await;
    assert_eq!(text(&response).trim(), "duplicate");
}

#[tokio::test]
async fn the_sandbox_webhook_pays_the_order_and_it_is_fulfilled_once() {
    let shop = common::start_with(Options {
        webhooks: true,
        background: true,
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, EBOOK_PAYLINK).await;
    assert!(common::eventually_fulfilled(shop.shop(), &order_id).await);
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Paid);
    assert_eq!(events_for(shop.shop(), &order_id).await, 1);
    let order = shop.shop().order(&order_id).await.unwrap().unwrap();
    assert!(order.fulfilled_at_ms.unwrap() >= order.created_at_ms);
    assert_eq!(
        shop.shop()
            .payments()
            .job_state(&order.checkout_session_id)
            .await
            .unwrap(),
        Some((JobState::Done, 1))
    );
    let page = text(&get(&format!("{}/orders/{order_id}", shop.url)).await);
    assert!(page.contains("has been fulfilled"), "{page}");
}

#[tokio::test]
async fn the_return_page_confirms_when_the_webhook_never_comes() {
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
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Paid);
    assert_eq!(
        events_for(shop.shop(), &order_id).await,
        0,
        "no webhook came"
    );
    assert_eq!(
        only_transition(shop.shop(), &order_id).await.source,
        Source::ReturnPage
    );
}

#[tokio::test]
async fn visiting_the_return_page_of_an_unpaid_order_does_not_pay_it() {
    let shop = quiet_shop().await;
    let (order_id, _) = checkout(&shop, EBOOK_PAYLINK).await;
    let page = get(&format!("{}/orders/{order_id}", shop.url)).await;
    assert!(text(&page).contains(r#"class="pending">pending<"#));
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Open);
    let page = get(&format!("{}/orders/ORD-NO-SUCH-ORDER", shop.url)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_payment_shows_as_failed_not_pending() {
    let shop = quiet_shop().await;
    let (order_id, session_id) = checkout(&shop, EBOOK_PAYLINK).await;
    act(&shop.sandbox, &session_id, "fail").await;
    let html = text(&get(&format!("{}/orders/{order_id}", shop.url)).await);
    assert!(
        html.contains(r#"id="order-status" class="failed">failed<"#),
        "{html}"
    );
    assert!(html.contains("did not go through"), "{html}");
    assert_eq!(status(shop.shop(), &order_id).await, PaymentStatus::Failed);
    assert_eq!(
        only_transition(shop.shop(), &order_id).await.source,
        Source::ReturnPage
    );
}

#[tokio::test]
async fn a_provider_outage_at_checkout_writes_nothing() {
    let shop = quiet_shop().await;
    shop.sandbox.inject(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 500})).unwrap(),
        1,
    );
    let response = post_checkout_form(&shop.url, PRO_PAYLINK).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(text(&response).contains("Please try again"));
    let pool = shop.shop().payments().pool();
    for table in ["orders", "actalink_payments"] {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
    // An unknown product is refused before anything is sent.
    let response = post_checkout_form(&shop.url, "paylink_not_sold_here").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_older_storefront_file_is_refused_with_a_clear_sentence() {
    let url = common::sqlite_url("older");
    {
        // What the storefront before actalink-payments left behind.
        use actalink_payments::sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT); PRAGMA user_version = 2;",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let sandbox = common::sandbox(None).await;
    let config = storefront::Config::for_test(
        actalink_sandbox::DEFAULT_API_KEY,
        sandbox.url(),
        common::SECRET,
        &url,
    );
    let error = format!(
        "{:#}",
        storefront::Storefront::open(config).await.unwrap_err()
    );
    assert!(
        error.contains("earlier version of the storefront"),
        "{error}"
    );
    assert!(error.contains("STOREFRONT_DATABASE_URL"), "{error}");
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let shop = quiet_shop().await;
    let debug = format!("{:?} {:#?}", shop.shop(), shop.shop().config());
    assert!(!debug.contains(common::SECRET), "{debug}");
    assert!(
        !debug.contains(actalink_sandbox::DEFAULT_API_KEY),
        "{debug}"
    );
}

#[test]
fn the_storefront_knows_the_sandboxs_default_key() {
    assert_eq!(
        storefront::config::SANDBOX_API_KEY,
        actalink_sandbox::DEFAULT_API_KEY
    );
    assert!(actalink_sandbox::DEFAULT_API_KEY.starts_with(storefront::config::SANDBOX_KEY_PREFIX));
}
