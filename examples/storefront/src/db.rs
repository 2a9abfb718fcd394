//! The storefront's SQLite database: users, orders, the order history and
//! processed webhook events.
//!
//! Every change of an order's status is a conditional `UPDATE … WHERE status
//! = 'pending'` whose changed-row count is checked, so that two callers
//! racing (a webhook, the success page, the reconciler) give exactly one
//! transition, recorded once in `order_transitions`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, Row, params};

/// Migrations, applied in order at start-up; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        paylink_id TEXT NOT NULL,
        product TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
        checkout_session_id TEXT UNIQUE,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        paid_at TEXT
    );
    CREATE TABLE webhook_events (
        id TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        order_id TEXT REFERENCES orders(id),
        received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
    // What the shop expects to be paid, when the session expires, why an
    // order closed or needs a person to look at it, and the history of every
    // status change. `webhook_events.id` now holds the event's dedup key.
    "ALTER TABLE orders ADD COLUMN amount TEXT;
    ALTER TABLE orders ADD COLUMN currency TEXT;
    ALTER TABLE orders ADD COLUMN session_expires_at INTEGER;
    ALTER TABLE orders ADD COLUMN closed_reason TEXT;
    ALTER TABLE orders ADD COLUMN review_reason TEXT;
    ALTER TABLE webhook_events ADD COLUMN outcome TEXT;
    CREATE INDEX orders_by_status ON orders(status);
    CREATE TABLE order_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL REFERENCES orders(id),
        to_status TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
];

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

/// The database, one connection behind a mutex: queries are short and an
/// example needs no pool.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

impl Db {
    /// Opens (or creates) the database file and applies pending migrations.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or a migration fails.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        // Another instance (a restarted shop) may hold the file briefly.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::migrate(conn)
    }

    /// An in-memory database, for tests.
    ///
    /// # Errors
    ///
    /// When a migration fails.
    pub fn in_memory() -> rusqlite::Result<Self> {
        Self::migrate(Connection::open_in_memory()?)
    }

    fn migrate(mut conn: Connection) -> rusqlite::Result<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", index + 1)?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a user unless present.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn ensure_user(&self, id: &str, name: &str) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO users (id, name) VALUES (?1, ?2)",
            params![id, name],
        )?;
        Ok(())
    }

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
        self.conn()
            .query_row(
                &format!("SELECT {} FROM orders WHERE id = ?1", Order::COLUMNS),
                params![id],
                Order::from_row,
            )
            .optional()
    }

    /// The order a checkout session was created for.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn order_by_session(&self, session_id: &str) -> rusqlite::Result<Option<Order>> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {} FROM orders WHERE checkout_session_id = ?1",
                    Order::COLUMNS
                ),
                params![session_id],
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            &format!(
                "UPDATE orders SET status = 'paid', paid_at = {NOW}
                 WHERE id = ?1 AND status = 'pending' AND checkout_session_id = ?2"
            ),
            params![order_id, session_id],
        )?;
        if changed == 1 {
            tx.execute(
                "INSERT INTO order_transitions (order_id, to_status, source) VALUES (?1, 'paid', ?2)",
                params![order_id, source],
            )?;
        }
        tx.commit()?;
        Ok(changed == 1)
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE orders SET status = 'failed', closed_reason = ?2 WHERE id = ?1 AND status = 'pending'",
            params![order_id, reason],
        )?;
        if changed == 1 {
            tx.execute(
                "INSERT INTO order_transitions (order_id, to_status, source, reason)
                 VALUES (?1, 'failed', ?2, ?3)",
                params![order_id, source, reason],
            )?;
        }
        tx.commit()?;
        Ok(changed == 1)
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

    /// True when an event with this dedup key was processed before.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn event_seen(&self, key: &str) -> rusqlite::Result<bool> {
        self.conn()
            .query_row(
                "SELECT 1 FROM webhook_events WHERE id = ?1",
                params![key],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
    }

    /// Records a processed event under its dedup key, with what it did.
    /// Returns false when the key was already recorded (nothing changes).
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn record_event(
        &self,
        key: &str,
        event_type: &str,
        order_id: Option<&str>,
        outcome: &str,
    ) -> rusqlite::Result<bool> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO webhook_events (id, event_type, order_id, outcome)
             VALUES (?1, ?2, ?3, ?4)",
            params![key, event_type, order_id, outcome],
        )?;
        Ok(inserted == 1)
    }

    /// How many webhook events were recorded for an order.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn events_for(&self, order_id: &str) -> rusqlite::Result<u32> {
        self.conn().query_row(
            "SELECT COUNT(*) FROM webhook_events WHERE order_id = ?1",
            params![order_id],
            |r| r.get(0),
        )
    }

    /// How many webhook events were recorded in all.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn event_count(&self) -> rusqlite::Result<u32> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM webhook_events", [], |r| r.get(0))
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
    use super::*;

    fn order<'a>(id: &'a str) -> NewOrder<'a> {
        NewOrder {
            id,
            user_id: "u1",
            paylink_id: "paylink_x",
            product: "Recipe Pro",
            amount: "0.16",
            currency: "USDC",
        }
    }

    #[test]
    fn migrations_run_once_and_keep_data() {
        let dir = std::env::temp_dir().join(format!("storefront-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shop.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let db = Db::open(&path).unwrap();
            db.ensure_user("u1", "Ada").unwrap();
            db.create_order(&order("ORD-1")).unwrap();
            db.attach_session("ORD-1", "checkout_1", Some(1_900_000_000))
                .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let stored = db.order("ORD-1").unwrap().unwrap();
        assert_eq!(stored.status, "pending");
        assert_eq!(stored.amount.as_deref(), Some("0.16"));
        assert_eq!(stored.session_expires_at, Some(1_900_000_000));
        assert_eq!(db.orders_to_reconcile().unwrap(), vec!["ORD-1".to_owned()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn status_changes_happen_once_and_only_from_pending() {
        let db = Db::in_memory().unwrap();
        db.ensure_user("u1", "Ada").unwrap();
        db.create_order(&order("ORD-1")).unwrap();
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

    #[test]
    fn events_are_recorded_once_per_key() {
        let db = Db::in_memory().unwrap();
        db.ensure_user("u1", "Ada").unwrap();
        db.create_order(&order("ORD-1")).unwrap();
        assert!(!db.event_seen("evt_1").unwrap());
        assert!(
            db.record_event("evt_1", "onetime.executed", Some("ORD-1"), "paid")
                .unwrap()
        );
        assert!(db.event_seen("evt_1").unwrap());
        assert!(
            !db.record_event("evt_1", "onetime.executed", Some("ORD-1"), "paid")
                .unwrap()
        );
        assert!(
            db.record_event("evt_2", "x", None, "unknown order")
                .unwrap()
        );
        assert_eq!(db.events_for("ORD-1").unwrap(), 1);
        assert_eq!(db.event_count().unwrap(), 2);
    }
}
