//! Embedded migrations, run once however many instances start at once.
//!
//! Every migration runs inside one transaction that first takes a lock no
//! other instance can hold at the same time: `pg_advisory_xact_lock` on
//! PostgreSQL, `BEGIN IMMEDIATE` (the write lock) on SQLite. Inside it the
//! runner reads which versions `actalink_schema` records, applies the rest
//! and records them, so that the second instance to get the lock finds
//! everything applied and does nothing. DDL is transactional on both
//! backends, so a failed migration leaves nothing half-made.
//!
//! The merchant's own tables go through the same runner under their own
//! component name (see [`Payments::migrate`](crate::Payments::migrate)).

use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::db::Backend;
use crate::{Error, Migration};

/// The component name of this crate's own migrations in `actalink_schema`.
pub(crate) const COMPONENT: &str = "actalink-payments";

/// A key no other program is likely to pick for `pg_advisory_xact_lock`.
const PG_LOCK_KEY: i64 = 0x6163_7461_6c6e_6b31; // "actalnk1"

const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS actalink_schema (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// The first schema, with `$id` as the transitions' key column: the one
/// line that differs between the backends.
macro_rules! schema_v1 {
    ($id:literal) => {
        concat!(
            r"CREATE TABLE actalink_payments (
    session_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    paylink_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    expected_metadata TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'failed', 'expired', 'flagged')),
    reason TEXT,
    expires_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    next_check_at_ms BIGINT,
    check_attempts BIGINT NOT NULL DEFAULT 0,
    last_check_error TEXT
);
CREATE INDEX actalink_payments_due ON actalink_payments (next_check_at_ms)
    WHERE next_check_at_ms IS NOT NULL;
CREATE TABLE actalink_payment_transitions (
    ",
            $id,
            r",
    session_id TEXT NOT NULL REFERENCES actalink_payments (session_id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX actalink_payment_transitions_by_session
    ON actalink_payment_transitions (session_id, id);
CREATE TABLE actalink_webhook_inbox (
    dedup_key TEXT PRIMARY KEY,
    event_type TEXT,
    session_id TEXT,
    reference TEXT,
    body TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE TABLE actalink_fulfilment_jobs (
    session_id TEXT PRIMARY KEY REFERENCES actalink_payments (session_id),
    reference TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at_ms BIGINT NOT NULL,
    lease_token TEXT,
    lease_until_ms BIGINT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    completed_at_ms BIGINT
);
CREATE INDEX actalink_fulfilment_jobs_due ON actalink_fulfilment_jobs (run_at_ms)
    WHERE state = 'pending';
"
        )
    };
}

/// What the first migration does.
const V1: &str = "payments, transitions, inbox, fulfilment jobs";

/// This crate's migrations on SQLite.
const SQLITE: &[Migration] = &[Migration::new(
    1,
    V1,
    schema_v1!("id INTEGER PRIMARY KEY AUTOINCREMENT"),
)];

/// This crate's migrations on PostgreSQL: the same tables, with an identity
/// column where SQLite has `AUTOINCREMENT`.
const POSTGRES: &[Migration] = &[Migration::new(
    1,
    V1,
    schema_v1!("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
)];

/// This crate's own migrations for `backend`.
pub(crate) fn own(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// Applies the migrations of `component` that `actalink_schema` does not
/// record yet, under the cross-instance lock, and returns how many ran.
pub(crate) async fn run(
    pool: &AnyPool,
    backend: Backend,
    now: &str,
    component: &str,
    migrations: &[Migration],
) -> Result<usize, Error> {
    check_order(component, migrations)?;
    let mut conn = pool.acquire().await?;
    match backend {
        Backend::Postgres => {
            let mut tx = conn.begin().await?;
            // Wrapped so that the result is an integer: the `void` the
            // function returns is no type the `Any` driver can carry.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(PG_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
            let ran = apply(&mut tx, now, component, migrations).await?;
            tx.commit().await?;
            Ok(ran)
        }
        Backend::Sqlite => {
            // The write lock from the start, so that two processes never both
            // read "nothing applied" (busy_timeout makes the second one wait).
            (&mut *conn).execute("BEGIN IMMEDIATE").await?;
            match apply(&mut conn, now, component, migrations).await {
                Ok(ran) => {
                    (&mut *conn).execute("COMMIT").await?;
                    Ok(ran)
                }
                Err(error) => {
                    // The migration's error matters more than a failed rollback.
                    let _ = (&mut *conn).execute("ROLLBACK").await;
                    Err(error)
                }
            }
        }
    }
}

fn check_order(component: &str, migrations: &[Migration]) -> Result<(), Error> {
    if component.is_empty() {
        return Err(Error::InvalidInput(
            "a migration component needs a name".into(),
        ));
    }
    let mut last = 0;
    for migration in migrations {
        if migration.version <= last {
            return Err(Error::InvalidInput(format!(
                "the migrations of {component:?} must have increasing versions above 0; \
                 {} follows {last}",
                migration.version
            )));
        }
        last = migration.version;
    }
    Ok(())
}

async fn apply(
    conn: &mut AnyConnection,
    now: &str,
    component: &str,
    migrations: &[Migration],
) -> Result<usize, Error> {
    (&mut *conn).execute(SCHEMA_TABLE).await?;
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM actalink_schema WHERE component = $1")
            .bind(component)
            .fetch_one(&mut *conn)
            .await?;
    let applied = applied.unwrap_or(0);
    let mut ran = 0;
    for migration in migrations.iter().filter(|m| m.version > applied) {
        // A plain `&str` runs as a simple query: several statements at once.
        (&mut *conn)
            .execute(migration.sql)
            .await
            .map_err(|source| Error::Migration {
                component: component.to_owned(),
                version: migration.version,
                source,
            })?;
        sqlx::query(&format!(
            "INSERT INTO actalink_schema (component, version, name, applied_at_ms) \
             VALUES ($1, $2, $3, {now})"
        ))
        .bind(component)
        .bind(migration.version)
        .bind(migration.name)
        .execute(&mut *conn)
        .await?;
        tracing::info!(
            component,
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        ran += 1;
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_increase() {
        let ok = [Migration::new(1, "a", ""), Migration::new(3, "b", "")];
        assert!(check_order("shop", &ok).is_ok());
        let bad = [Migration::new(2, "a", ""), Migration::new(2, "b", "")];
        let error = check_order("shop", &bad).unwrap_err().to_string();
        assert!(error.contains("2 follows 2"), "{error}");
        assert!(check_order("shop", &[Migration::new(0, "z", "")]).is_err());
        assert!(check_order("", &ok).is_err());
    }
}
