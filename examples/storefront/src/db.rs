//! The storefront's SQLite database: users, orders and processed webhook events.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

/// Migrations, applied in order at start-up; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &["CREATE TABLE users (
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
    );"];

/// An order row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The internal order id (sent as `internal_order_id` metadata).
    pub id: String,
    /// Who placed it.
    pub user_id: String,
    /// The product's display name.
    pub product: String,
    /// `pending`, `paid` or `failed`.
    pub status: String,
    /// The Actalink checkout session, once created.
    pub checkout_session_id: Option<String>,
}

/// What recording a webhook event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First delivery: the order (if found) is now paid.
    Applied,
    /// This event id was processed before: nothing changed.
    Duplicate,
}

/// The database, one connection behind a mutex: queries are short and an
/// example needs no pool.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (or creates) the database file and applies pending migrations.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or a migration fails.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        Self::migrate(Connection::open(path)?)
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

    /// Inserts a pending order.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn create_order(
        &self,
        id: &str,
        user_id: &str,
        paylink_id: &str,
        product: &str,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO orders (id, user_id, paylink_id, product, status) VALUES (?1, ?2, ?3, ?4, 'pending')",
            params![id, user_id, paylink_id, product],
        )?;
        Ok(())
    }

    /// Records the checkout session created for an order.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn attach_session(&self, order_id: &str, session_id: &str) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE orders SET checkout_session_id = ?2 WHERE id = ?1",
            params![order_id, session_id],
        )?;
        Ok(())
    }

    /// Marks an order failed (no session could be created for it).
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn fail_order(&self, order_id: &str) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE orders SET status = 'failed' WHERE id = ?1 AND status = 'pending'",
            params![order_id],
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
                "SELECT id, user_id, product, status, checkout_session_id FROM orders WHERE id = ?1",
                params![id],
                |row| {
                    Ok(Order {
                        id: row.get(0)?,
                        user_id: row.get(1)?,
                        product: row.get(2)?,
                        status: row.get(3)?,
                        checkout_session_id: row.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// Marks a pending order paid (reconciliation after a status fetch).
    /// Returns true when this call changed it.
    ///
    /// # Errors
    ///
    /// On a database failure.
    pub fn mark_paid(&self, order_id: &str) -> rusqlite::Result<bool> {
        let changed = self.conn().execute(
            "UPDATE orders SET status = 'paid', paid_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1 AND status = 'pending'",
            params![order_id],
        )?;
        Ok(changed == 1)
    }

    /// In one transaction: records the event id and marks its order paid. A
    /// redelivered event (same id) changes nothing.
    ///
    /// # Errors
    ///
    /// On a database failure (the transaction is rolled back).
    pub fn record_payment_event(
        &self,
        event_id: &str,
        event_type: &str,
        order_id: Option<&str>,
    ) -> rusqlite::Result<Recorded> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let order_id = match order_id {
            Some(id) => tx
                .query_row("SELECT id FROM orders WHERE id = ?1", params![id], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?,
            None => None,
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO webhook_events (id, event_type, order_id) VALUES (?1, ?2, ?3)",
            params![event_id, event_type, order_id],
        )?;
        if inserted == 0 {
            return Ok(Recorded::Duplicate);
        }
        if let Some(order_id) = &order_id {
            tx.execute(
                "UPDATE orders SET status = 'paid', paid_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1 AND status = 'pending'",
                params![order_id],
            )?;
        }
        tx.commit()?;
        Ok(Recorded::Applied)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_events_are_idempotent() {
        let dir = std::env::temp_dir().join(format!("storefront-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shop.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let db = Db::open(&path).unwrap();
            db.ensure_user("u1", "Ada").unwrap();
            db.create_order("ORD-1", "u1", "paylink_x", "Recipe Pro")
                .unwrap();
        }
        // Reopening applies nothing twice and keeps the data.
        let db = Db::open(&path).unwrap();
        assert_eq!(db.order("ORD-1").unwrap().unwrap().status, "pending");
        assert_eq!(
            db.record_payment_event("evt_1", "onetime.executed", Some("ORD-1"))
                .unwrap(),
            Recorded::Applied
        );
        assert_eq!(db.order("ORD-1").unwrap().unwrap().status, "paid");
        assert_eq!(
            db.record_payment_event("evt_1", "onetime.executed", Some("ORD-1"))
                .unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(db.events_for("ORD-1").unwrap(), 1);
        // An event for an unknown order is recorded without touching orders.
        assert_eq!(
            db.record_payment_event("evt_2", "x", Some("ORD-404"))
                .unwrap(),
            Recorded::Applied
        );
        assert!(!db.mark_paid("ORD-1").unwrap(), "already paid");
    }
}
