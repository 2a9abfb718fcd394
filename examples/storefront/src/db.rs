//! The storefront's SQLite database: users, orders, the order history and
//! processed webhook events.
//!
//! Every change of an order's status is a conditional `UPDATE … WHERE status
//! = 'pending'` whose changed-row count is checked, so that two callers
//! racing (a webhook, the success page, the reconciler) give exactly one
//! transition, recorded once in `order_transitions`.
//!
//! The schema's migrations are in `db/schema.rs`, the order queries in
//! `db/orders.rs` and the webhook-event queries in `db/events.rs`.

mod events;
mod orders;
mod schema;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, params};

pub use orders::{NewOrder, Order, TransitionRecord};

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
        for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(applied) {
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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A new order of user `u1`, for 0.16 USDC.
    pub(crate) fn order(id: &str) -> NewOrder<'_> {
        NewOrder {
            id,
            user_id: "u1",
            paylink_id: "paylink_x",
            product: "Recipe Pro",
            amount: "0.16",
            currency: "USDC",
        }
    }

    /// An in-memory database with user `u1` and their pending order `id`.
    pub(crate) fn with_order(id: &str) -> Db {
        let db = Db::in_memory().unwrap();
        db.ensure_user("u1", "Ada").unwrap();
        db.create_order(&order(id)).unwrap();
        db
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
}
