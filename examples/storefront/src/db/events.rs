//! Processed webhook events, recorded under their dedup keys.

use rusqlite::{OptionalExtension, params};

use super::Db;

impl Db {
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
}

#[cfg(test)]
mod tests {
    use crate::db::tests::with_order;

    #[test]
    fn events_are_recorded_once_per_key() {
        let db = with_order("ORD-1");
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
