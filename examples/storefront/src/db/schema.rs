//! The schema: its migrations, applied in order at start-up.

/// Migrations, applied in order at start-up; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
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
