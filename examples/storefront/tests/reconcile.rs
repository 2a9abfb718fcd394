//! The background reconciler: with no webhook and no visit to the return
//! page, a paid order is still marked paid, also after a restart; failed and
//! expired sessions close their orders.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use actalink_payments::{PaymentStatus, Source};
use actalink_sandbox::{EBOOK_PAYLINK, PRO_PAYLINK};
use common::{Options, act, checkout_and_pay, checkout_at, get, only_transition, status, text};

#[tokio::test]
async fn the_reconciler_pays_an_order_nobody_came_back_for() {
    // No webhook endpoint registered, and nobody visits the return page.
    let shop = common::start_with(Options {
        background: true,
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    assert!(
        common::eventually(|| async {
            status(shop.shop(), &order_id).await == PaymentStatus::Paid
        })
        .await
    );
    assert!(shop.sandbox.deliveries().is_empty(), "no webhook was sent");
    assert_eq!(common::events_for(shop.shop(), &order_id).await, 0);
    assert_eq!(
        only_transition(shop.shop(), &order_id).await.source,
        Source::Reconciler
    );
    // Paid orders are left alone afterwards, and fulfilled once.
    assert!(common::eventually_fulfilled(shop.shop(), &order_id).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    only_transition(shop.shop(), &order_id).await;
}

#[tokio::test]
async fn a_restarted_shop_picks_up_open_orders() {
    let database = common::sqlite_url("restart");
    let sandbox = common::sandbox(None).await;

    // The first run takes the order and stops before anyone learns it was paid.
    let first = common::serve(
        &sandbox,
        &Options {
            database: Some(database.clone()),
            ..Options::default()
        },
    )
    .await;
    let (order_id, session_id) =
        checkout_at(&first.shop, &first.url, &sandbox, EBOOK_PAYLINK).await;
    first.stop().await;
    act(&sandbox, &session_id, "pay").await;

    // A new instance over the same file finds the order.
    let second = common::serve(
        &sandbox,
        &Options {
            database: Some(database),
            background: true,
            ..Options::default()
        },
    )
    .await;
    assert!(
        common::eventually(|| async {
            status(&second.shop, &order_id).await == PaymentStatus::Paid
        })
        .await
    );
    assert_eq!(
        only_transition(&second.shop, &order_id).await.source,
        Source::Reconciler
    );
    second.stop().await;
}

#[tokio::test]
async fn failed_and_timed_out_sessions_close_their_orders() {
    // Sessions expire after two seconds in this sandbox.
    let sandbox = common::sandbox(Some(Duration::from_secs(2))).await;
    let shop = common::serve(
        &sandbox,
        &Options {
            background: true,
            ..Options::default()
        },
    )
    .await;
    let (failed, failed_session) = checkout_at(&shop.shop, &shop.url, &sandbox, PRO_PAYLINK).await;
    let (expired, _) = checkout_at(&shop.shop, &shop.url, &sandbox, EBOOK_PAYLINK).await;
    act(&sandbox, &failed_session, "fail").await;
    for id in [&failed, &expired] {
        assert!(
            common::eventually(|| async { status(&shop.shop, id).await.is_final() }).await,
            "{id}"
        );
        let transition = only_transition(&shop.shop, id).await;
        assert_eq!(transition.to, PaymentStatus::Failed, "{transition:?}");
        assert_eq!(transition.source, Source::Reconciler);
        // Closed orders do not show as pending.
        let html = text(&get(&format!("{}/orders/{id}", shop.url)).await);
        assert!(html.contains(r#"class="failed">failed<"#), "{html}");
    }
    let reason = |id: &str| {
        let shop = &shop.shop;
        let id = id.to_owned();
        async move {
            shop.payments()
                .payment_by_reference(&id)
                .await
                .unwrap()
                .unwrap()
                .reason
                .unwrap()
        }
    };
    assert!(reason(&failed).await.contains("failed"));
    assert!(reason(&expired).await.contains("timed out"));
}

#[tokio::test]
async fn a_mismatched_payment_is_flagged_once_and_no_longer_checked() {
    let shop = common::start_with(Options {
        background: true,
        pro_price: Some(actalink_checkout::types::Decimal::new(17, 2)),
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    assert!(
        common::eventually(|| async {
            status(shop.shop(), &order_id).await == PaymentStatus::Flagged
        })
        .await
    );
    let payment = shop
        .shop()
        .payments()
        .payment_by_reference(&order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        payment.next_check_at_ms, None,
        "out of the reconciler's index"
    );
    assert_eq!(shop.shop().payments().due_count().await.unwrap(), 0);
    let transition = only_transition(shop.shop(), &order_id).await;
    assert_eq!(transition.to, PaymentStatus::Flagged);
    assert_eq!(transition.source, Source::Reconciler);
}
