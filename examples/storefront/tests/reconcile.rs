//! The background reconciler: with no webhook and no visit to the success
//! page, a paid order is still marked paid, also after a restart; failed and
//! expired sessions close their orders.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use actalink_sandbox::{EBOOK_PAYLINK, PRO_PAYLINK};
use common::{Options, act, checkout_and_pay, checkout_at, only_transition, paid_transitions};

fn status(db: &storefront::Db, order_id: &str) -> String {
    db.order(order_id).unwrap().unwrap().status
}

#[tokio::test]
async fn the_reconciler_pays_an_order_nobody_came_back_for() {
    // No webhook endpoint registered, and nobody visits the success page.
    let shop = common::start_with(Options {
        reconciler: true,
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    assert!(common::eventually(|| status(&shop.db, &order_id) == "paid").await);
    assert!(shop.sandbox.deliveries().is_empty(), "no webhook was sent");
    assert_eq!(shop.db.events_for(&order_id).unwrap(), 0);
    assert_eq!(only_transition(&shop.db, &order_id).source, "reconciler");
    // Paid orders are left alone afterwards.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(paid_transitions(&shop.db, &order_id), 1);
}

#[tokio::test]
async fn a_restarted_shop_picks_up_pending_orders() {
    let dir = std::env::temp_dir().join(format!("storefront-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("shop.sqlite");
    let _ = std::fs::remove_file(&database);
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
    let (order_id, session_id) = checkout_at(&first.url, &first.db, &sandbox, EBOOK_PAYLINK).await;
    first.stop().await;
    act(&sandbox, &session_id, "pay").await;

    // A new instance over the same file finds the order at start-up.
    let second = common::serve(
        &sandbox,
        &Options {
            database: Some(database.clone()),
            reconciler: true,
            ..Options::default()
        },
    )
    .await;
    assert!(common::eventually(|| status(&second.db, &order_id) == "paid").await);
    assert_eq!(only_transition(&second.db, &order_id).source, "reconciler");
    second.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn failed_and_timed_out_sessions_close_their_orders() {
    // Sessions expire after two seconds in this sandbox.
    let sandbox = common::sandbox(Some(Duration::from_secs(2))).await;
    let shop = common::serve(
        &sandbox,
        &Options {
            reconciler: true,
            ..Options::default()
        },
    )
    .await;
    let (failed, failed_session) = checkout_at(&shop.url, &shop.db, &sandbox, PRO_PAYLINK).await;
    let (expired, _) = checkout_at(&shop.url, &shop.db, &sandbox, EBOOK_PAYLINK).await;
    act(&sandbox, &failed_session, "fail").await;
    assert!(common::eventually(|| status(&shop.db, &failed) == "failed").await);
    assert!(common::eventually(|| status(&shop.db, &expired) == "failed").await);
    let closed = |id: &str| shop.db.order(id).unwrap().unwrap().closed_reason.unwrap();
    assert_eq!(closed(&failed), "failure");
    assert_eq!(closed(&expired), "timeout");
    for id in [&failed, &expired] {
        let transition = only_transition(&shop.db, id);
        assert_eq!(transition.to_status, "failed");
        assert_eq!(transition.source, "reconciler");
    }
}

#[tokio::test]
async fn a_mismatched_payment_is_flagged_once_and_no_longer_polled() {
    let shop = common::start_with(Options {
        reconciler: true,
        pro_price: Some(actalink_checkout::types::Decimal::new(17, 2)),
        ..Options::default()
    })
    .await;
    let order_id = checkout_and_pay(&shop, PRO_PAYLINK).await;
    assert!(
        common::eventually(|| shop
            .db
            .order(&order_id)
            .unwrap()
            .unwrap()
            .review_reason
            .is_some())
        .await
    );
    assert_eq!(status(&shop.db, &order_id), "pending");
    assert!(shop.db.orders_to_reconcile().unwrap().is_empty());
    assert!(shop.db.transitions(&order_id).unwrap().is_empty());
}
