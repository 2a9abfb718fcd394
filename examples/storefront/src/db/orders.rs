//! Orders: their rows, their queries and their status changes.

use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, params};

use super::{Db, NOW};

/// An order row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The internal order id (sent as `internal_order_id` metadata).
    pub id: String,
    /// Who placed it (sent as `user_uuid` metadata).
    pub user_id: String,
    /// The paylink bought.
    pub paylink_id: String,
    /// The product's display name.
    pub product: String,
    /// `pending`, `paid` or `failed`.
    pub status: String,
    /// The Actalink checkout session, once created.
    pub checkout_session_id: Option<String>,
    /// The price the shop expects, as a decimal string (`0.16`); `None` for
    /// orders made before prices were recorded.
    pub amount: Option<String>,
    /// The currency the shop expects (`USDC`).
    pub currency: Option<String>,
    /// The session's `expiresAt`, in Unix seconds.
    pub session_expires_at: Option<i64>,
    /// Why a failed order closed (`failure`, `timeout`, `expired`, `no_session`).
    pub closed_reason: Option<String>,
    /// Set when something did not match and a person must look at the order;
    /// such an order is never marked paid automatically.
    pub review_reason: Option<String>,
    /// When it was marked paid.
    pub paid_at: Option<String>,
}

impl Order {
    const COLUMNS: &'static str = "id, user_id, paylink_id, product, status, checkout_session_id, \
         amount, currency, session_expires_at, closed_reason, review_reason, paid_at";

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            user_id: row.get(1)?,
            paylink_id: row.get(2)?,
            product: row.get(3)?,
            status: row.get(4)?,
            checkout_session_id: row.get(5)?,
            amount: row.get(6)?,
            currency: row.get(7)?,
            session_expires_at: row.get(8)?,
            closed_reason: row.get(9)?,
            review_reason: row.get(10)?,
            paid_at: row.get(11)?,
        })
    }
}

/// A new order, as the checkout writes it.
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    /// The internal order id.
    pub id: &'a str,
    /// Who places it.
    pub user_id: &'a str,
    /// The paylink bought.
    pub paylink_id: &'a str,
    /// The product's display name.
    pub product: &'a str,
    /// The expected price as a decimal string.
    pub amount: &'a str,
    /// The expected currency.
    pub currency: &'a str,
}

/// One recorded change of an order's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRecord {
    /// The new status (`paid` or `failed`).
    pub to_status: String,
    /// What made the change: `webhook`, `success_page`, `reconciler` or `checkout`.
    pub source: String,
    /// Why, for a failure.
    pub reason: Option<String>,
}

impl Db {
    /// Inserts a pending order with the price the shop expects for it.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn create_order(&self, order: &NewOrder<'_>) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO orders (id, user_id, paylink_id, product, status, amount, currency)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
            params![
                order.id,
                order.user_id,
                order.paylink_id,
                order.product,
                order.amount,
                order.currency
            ],
        )?;
        Ok(())
    }

    /// Records the checkout session created for an order and when it expires.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn attach_session(
        &self,
        order_id: &str,
        session_id: &str,
        expires_at: Option<i64>,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE orders SET checkout_session_id = ?2, session_expires_at = ?3 WHERE id = ?1",
            params![order_id, session_id, expires_at],
        )?;
        Ok(())
    }

    /// An order by id.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn order(&self, id: &str) -> rusqlite::Result<Option<Order>> {
        self.order_where("id", id)
    }

    /// The order a checkout session was created for.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn order_by_session(&self, session_id: &str) -> rusqlite::Result<Option<Order>> {
        self.order_where("checkout_session_id", session_id)
    }

    /// The order whose unique `column` holds `value`.
    fn order_where(&self, column: &str, value: &str) -> rusqlite::Result<Option<Order>> {
        self.conn()
            .query_row(
                &format!("SELECT {} FROM orders WHERE {column} = ?1", Order::COLUMNS),
                params![value],
                Order::from_row,
            )
            .optional()
    }

    /// The ids of the orders the reconciler watches: pending, with a session,
    /// not waiting for a person's review. Oldest first.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn orders_to_reconcile(&self) -> rusqlite::Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id FROM orders
             WHERE status = 'pending' AND checkout_session_id IS NOT NULL AND review_reason IS NULL
             ORDER BY created_at, id",
        )?;
        let ids = statement.query_map([], |row| row.get(0))?;
        ids.collect()
    }

    /// Marks a pending order paid, provided it is still pending and still has
    /// this session, and records the transition. Returns true only when this
    /// call changed the order.
    ///
    /// # Errors
    ///
    /// On a database failure (nothing is changed).
    pub fn mark_paid(
        &self,
        order_id: &str,
        session_id: &str,
        source: &str,
    ) -> rusqlite::Result<bool> {
        self.change_status(
            &format!(
                "UPDATE orders SET status = 'paid', paid_at = {NOW}
                 WHERE id = ?1 AND status = 'pending' AND checkout_session_id = ?2"
            ),
            params![order_id, session_id],
            "INSERT INTO order_transitions (order_id, to_status, source) VALUES (?1, 'paid', ?2)",
            params![order_id, source],
        )
    }

    /// Marks a pending order failed for `reason` and records the transition.
    /// Returns true only when this call changed the order.
    ///
    /// # Errors
    ///
    /// On a database failure (nothing is changed).
    pub fn mark_failed(
        &self,
        order_id: &str,
        reason: &str,
        source: &str,
    ) -> rusqlite::Result<bool> {
        self.change_status(
            "UPDATE orders SET status = 'failed', closed_reason = ?2 WHERE id = ?1 AND status = 'pending'",
            params![order_id, reason],
            "INSERT INTO order_transitions (order_id, to_status, source, reason)
             VALUES (?1, 'failed', ?2, ?3)",
            params![order_id, source, reason],
        )
    }

    /// In one transaction: the conditional `update` of an order's status and,
    /// only when it changed the order, the `record` of that transition.
    /// Returns true only when this call changed the order.
    fn change_status(
        &self,
        update: &str,
        update_params: &[&dyn ToSql],
        record: &str,
        record_params: &[&dyn ToSql],
    ) -> rusqlite::Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(update, update_params)? == 1;
        if changed {
            tx.execute(record, record_params)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Flags an unpaid order for a person to review; it stays as it is and the
    /// reconciler stops checking it. Returns true when the flag was set or changed.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn flag_for_review(&self, order_id: &str, reason: &str) -> rusqlite::Result<bool> {
        let changed = self.conn().execute(
            "UPDATE orders SET review_reason = ?2
             WHERE id = ?1 AND status != 'paid' AND review_reason IS NOT ?2",
            params![order_id, reason],
        )?;
        Ok(changed == 1)
    }

    /// The recorded status changes of an order, oldest first.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn transitions(&self, order_id: &str) -> rusqlite::Result<Vec<TransitionRecord>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT to_status, source, reason FROM order_transitions WHERE order_id = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map(params![order_id], |row| {
            Ok(TransitionRecord {
                to_status: row.get(0)?,
                source: row.get(1)?,
                reason: row.get(2)?,
            })
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::db::tests::{order, with_order};

    #[test]
    fn status_changes_happen_once_and_only_from_pending() {
        let db = with_order("ORD-1");
        db.attach_session("ORD-1", "checkout_1", None).unwrap();
        assert!(
            !db.mark_paid("ORD-1", "checkout_other", "webhook").unwrap(),
            "another session never pays this order"
        );
        assert!(db.mark_paid("ORD-1", "checkout_1", "webhook").unwrap());
        assert!(!db.mark_paid("ORD-1", "checkout_1", "success_page").unwrap());
        assert!(!db.mark_failed("ORD-1", "timeout", "reconciler").unwrap());
        assert!(
            !db.flag_for_review("ORD-1", "x").unwrap(),
            "a paid order is not flagged"
        );
        let history = db.transitions("ORD-1").unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].to_status, "paid");
        assert_eq!(history[0].source, "webhook");
        assert!(db.orders_to_reconcile().unwrap().is_empty());

        db.create_order(&order("ORD-2")).unwrap();
        db.attach_session("ORD-2", "checkout_2", None).unwrap();
        assert!(db.flag_for_review("ORD-2", "price differs").unwrap());
        assert!(!db.flag_for_review("ORD-2", "price differs").unwrap());
        assert!(
            db.orders_to_reconcile().unwrap().is_empty(),
            "flagged: left to a person"
        );
        assert!(db.mark_failed("ORD-2", "expired", "reconciler").unwrap());
        assert!(!db.mark_paid("ORD-2", "checkout_2", "webhook").unwrap());
        assert_eq!(
            db.order("ORD-2").unwrap().unwrap().closed_reason.as_deref(),
            Some("expired")
        );
    }
}
