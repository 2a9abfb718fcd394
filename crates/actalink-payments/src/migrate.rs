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

use crate::db::{Backend, pg_now, queue_job, sqlite_now};
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

/// What the second migration does.
const V2: &str = "a trigger records every status change and queues the paid one's job";

/// The second schema on SQLite.
///
/// A trigger now records each status change, and queues the one fulfilment
/// job of a payment that becomes paid, inside the `UPDATE` that changes it:
/// a transition is one statement, atomic without an explicit transaction,
/// and no status can change (even by hand) without its record.
///
/// The record's source is read from `status_source`, a column that only
/// carries it into the trigger: every status change the crate makes sets
/// it, and the trigger clears it, so a change that does not set it (an
/// operator's SQL) is recorded as `operator`. The record's time is the
/// database's clock when the change is made.
const SQLITE_V2: &str = r"ALTER TABLE actalink_payments ADD COLUMN status_source TEXT;
CREATE TRIGGER actalink_payment_moved AFTER UPDATE OF status ON actalink_payments
    WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO actalink_payment_transitions
        (session_id, from_status, to_status, source, reason, at_ms)
        VALUES (NEW.session_id, OLD.status, NEW.status,
            COALESCE(NEW.status_source, 'operator'), NEW.reason,
            CAST(unixepoch('subsec') * 1000 AS INTEGER));
    INSERT INTO actalink_fulfilment_jobs (session_id, reference, amount, currency,
            state, attempts, run_at_ms, created_at_ms)
        SELECT NEW.session_id, NEW.reference, NEW.amount, NEW.currency, 'pending', 0,
            CAST(unixepoch('subsec') * 1000 AS INTEGER),
            CAST(unixepoch('subsec') * 1000 AS INTEGER)
        WHERE NEW.status = 'paid'
        ON CONFLICT (session_id) DO NOTHING;
    UPDATE actalink_payments SET status_source = NULL
        WHERE session_id = NEW.session_id AND NEW.status_source IS NOT NULL;
END;
";

/// The second schema on PostgreSQL: the same trigger, as a PL/pgSQL
/// function run `BEFORE` the row changes, so that it clears
/// `status_source` on the row itself (`NEW`) instead of writing it again.
/// It fires only for a row the `UPDATE` will change: PostgreSQL re-checks
/// the `WHERE` clause on the newest version of a row another transaction
/// changed before it fires the trigger. The transitions are keyed by
/// `(session_id, id)`, which also serves a payment's history, instead of an
/// `id` key and a second index.
///
/// PostgreSQL rebuilds a table's `CHECK` expressions from their stored text
/// for every statement that writes it, and checks a foreign key with a
/// query of its own for every row: on the confirmation path the two cost
/// about a tenth of the database's time. They give way to checks that cost
/// nothing there: the transition trigger refuses a change to an unknown
/// status, and a payment with a history or a job cannot be deleted,
/// re-keyed or truncated away. The rows the foreign keys guarded are
/// written only from the payment row itself (by the crate's transition
/// statement since migration 3, or by the trigger for a change made by hand), and reading a
/// status or job state this crate does not know is an error
/// ([`Error::Corrupt`](crate::Error)). SQLite compiles both kinds into each
/// prepared statement once, and keeps them.
///
/// The functions name their tables through the `search_path` in force when
/// the migration ran (`SET search_path FROM CURRENT`), so that a session
/// with another path (an operator's `psql`) writes to the same tables.
const POSTGRES_V2: &str = r"ALTER TABLE actalink_payments ADD COLUMN status_source TEXT;
ALTER TABLE actalink_payment_transitions DROP CONSTRAINT actalink_payment_transitions_pkey;
DROP INDEX actalink_payment_transitions_by_session;
ALTER TABLE actalink_payment_transitions ADD PRIMARY KEY (session_id, id);
ALTER TABLE actalink_payment_transitions DROP CONSTRAINT actalink_payment_transitions_session_id_fkey;
ALTER TABLE actalink_fulfilment_jobs DROP CONSTRAINT actalink_fulfilment_jobs_session_id_fkey;
ALTER TABLE actalink_payments DROP CONSTRAINT actalink_payments_status_check;
ALTER TABLE actalink_fulfilment_jobs DROP CONSTRAINT actalink_fulfilment_jobs_state_check;
CREATE FUNCTION actalink_payment_moved() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $body$
DECLARE
    at_ms BIGINT := CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT);
BEGIN
    IF NEW.status NOT IN ('open', 'paid', 'failed', 'expired', 'flagged') THEN
        RAISE EXCEPTION 'actalink_payments: % is no payment status', NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO actalink_payment_transitions
        (session_id, from_status, to_status, source, reason, at_ms)
        VALUES (NEW.session_id, OLD.status, NEW.status,
            COALESCE(NEW.status_source, 'operator'), NEW.reason, at_ms);
    IF NEW.status = 'paid' THEN
        INSERT INTO actalink_fulfilment_jobs (session_id, reference, amount, currency,
                state, attempts, run_at_ms, created_at_ms)
            VALUES (NEW.session_id, NEW.reference, NEW.amount, NEW.currency,
                'pending', 0, at_ms, at_ms)
            ON CONFLICT (session_id) DO NOTHING;
    END IF;
    NEW.status_source := NULL;
    RETURN NEW;
END
$body$;
CREATE TRIGGER actalink_payment_moved BEFORE UPDATE OF status ON actalink_payments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION actalink_payment_moved();
CREATE FUNCTION actalink_payment_kept() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $body$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.session_id = OLD.session_id THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM actalink_payment_transitions)
            OR EXISTS (SELECT 1 FROM actalink_fulfilment_jobs)
        THEN
            RAISE EXCEPTION 'actalink_payments: payments with a history or a fulfilment job are kept'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM actalink_payment_transitions WHERE session_id = OLD.session_id)
        OR EXISTS (SELECT 1 FROM actalink_fulfilment_jobs WHERE session_id = OLD.session_id)
    THEN
        RAISE EXCEPTION 'actalink_payments: payment % has a history or a fulfilment job; it is kept',
            OLD.session_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$body$;
CREATE TRIGGER actalink_payment_kept BEFORE DELETE OR UPDATE OF session_id
    ON actalink_payments FOR EACH ROW EXECUTE FUNCTION actalink_payment_kept();
CREATE TRIGGER actalink_payment_kept_whole BEFORE TRUNCATE
    ON actalink_payments FOR EACH STATEMENT EXECUTE FUNCTION actalink_payment_kept();
";

const V3: &str = "PostgreSQL: the crate's own status changes record themselves; the trigger keeps \
                  the changes made by hand";

/// PostgreSQL only. The crate's status `UPDATE` writes the transition record
/// and the job itself, in the same statement (a data-modifying `WITH`), and
/// bumps `status_version`; the trigger, its function unchanged, now fires
/// only for a status change that leaves `status_version` as it was: one made
/// by hand, or by an instance of the previous version (which sets
/// `status_source`). A PL/pgSQL call and its two inserts through SPI cost
/// more than the same inserts planned into the statement (see
/// `docs/src/benchmarks.md`).
const POSTGRES_V3: &str = r"ALTER TABLE actalink_payments
    ADD COLUMN status_version BIGINT NOT NULL DEFAULT 0;
DROP TRIGGER actalink_payment_moved ON actalink_payments;
CREATE TRIGGER actalink_payment_moved BEFORE UPDATE OF status ON actalink_payments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        AND OLD.status_version = NEW.status_version)
    EXECUTE FUNCTION actalink_payment_moved();
";

/// What the fourth migration on PostgreSQL, and the third on SQLite, does.
const JOBS_ON_PAYMENTS: &str = "each paid payment's fulfilment job is kept on its payment row";

/// The job's columns on the payment row, added by [`SQLITE_V3`] and
/// [`POSTGRES_V4`]: `job_state` is `NULL` until the payment is paid, then
/// `pending`, `done` or `dead`.
macro_rules! job_columns {
    ($first:literal, $add:literal, $sep:literal, $state_check:literal) => {
        concat!(
            $first,
            " job_state TEXT",
            $state_check,
            $sep,
            $add,
            " job_attempts BIGINT NOT NULL DEFAULT 0",
            $sep,
            $add,
            " job_run_at_ms BIGINT",
            $sep,
            $add,
            " job_lease_token TEXT",
            $sep,
            $add,
            " job_lease_until_ms BIGINT",
            $sep,
            $add,
            " job_last_error TEXT",
            $sep,
            $add,
            " job_created_at_ms BIGINT",
            $sep,
            $add,
            " job_completed_at_ms BIGINT;\n"
        )
    };
}

/// The copy of each job into its payment row, the old table dropped, the
/// index through which due jobs are claimed, and the one through which an
/// operator lists the dead ones (each holds only the rows of its state):
/// the part of the move that reads the same on both backends
/// (`UPDATE … FROM` needs SQLite 3.33; the bundled one is newer).
macro_rules! jobs_moved {
    () => {
        r"UPDATE actalink_payments SET job_state = j.state,
    job_attempts = j.attempts, job_run_at_ms = j.run_at_ms, job_lease_token = j.lease_token,
    job_lease_until_ms = j.lease_until_ms, job_last_error = j.last_error,
    job_created_at_ms = j.created_at_ms, job_completed_at_ms = j.completed_at_ms
    FROM actalink_fulfilment_jobs AS j WHERE j.session_id = actalink_payments.session_id;
DROP TABLE actalink_fulfilment_jobs;
CREATE INDEX actalink_payments_job_due ON actalink_payments (job_run_at_ms)
    WHERE job_state = 'pending';
CREATE INDEX actalink_payments_job_dead ON actalink_payments (job_created_at_ms, session_id)
    WHERE job_state = 'dead';
"
    };
}
/// The third schema on SQLite: the job moves onto the payment row (see
/// [`POSTGRES_V4`] for why), and the trigger queues it there, in the
/// `UPDATE` that already clears `status_source`, instead of inserting a
/// row. A status change made by the crate itself passes through the same
/// trigger. A payment with a job is kept by a trigger, as the dropped
/// table's foreign key kept it, and `job_state` keeps the table's `CHECK`
/// (not on PostgreSQL, which dropped its `CHECK`s in migration 2).
const SQLITE_V3: &str = concat!(
    job_columns!(
        "ALTER TABLE actalink_payments ADD COLUMN",
        "ALTER TABLE actalink_payments ADD COLUMN",
        ";\n",
        " CHECK (job_state IN ('pending', 'done', 'dead'))"
    ),
    "DROP TRIGGER actalink_payment_moved;\n",
    jobs_moved!(),
    r"CREATE TRIGGER actalink_payment_kept BEFORE DELETE ON actalink_payments
    WHEN OLD.job_state IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'actalink_payments: a payment with a fulfilment job is kept');
END;
CREATE TRIGGER actalink_payment_moved AFTER UPDATE OF status ON actalink_payments
    WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO actalink_payment_transitions
        (session_id, from_status, to_status, source, reason, at_ms)
        VALUES (NEW.session_id, OLD.status, NEW.status,
            COALESCE(NEW.status_source, 'operator'), NEW.reason, ",
    sqlite_now!(),
    ");
    UPDATE actalink_payments SET status_source = NULL, ",
    queue_job!("NEW.status", sqlite_now),
    "
        WHERE session_id = NEW.session_id
            AND (NEW.status_source IS NOT NULL OR (NEW.status = 'paid' AND NEW.job_state IS NULL));
END;
"
);

/// PostgreSQL: each paid payment's fulfilment job moves from a table of its
/// own onto the payment row (the `job_` columns), with a partial index of
/// the pending ones by due time. A payment becoming paid then writes one
/// row fewer and one index entry fewer (the job row and its two index
/// entries, against one entry in the new index): side by side, 1.26–1.28x
/// of the floor's time per confirmed payment against 1.27–1.29x, and 13 %
/// less time per transition statement under `pgbench`
/// (`docs/src/benchmarks.md`). The job is queued only while the row has
/// none, and starts clean: a job queued twice would run twice. The crate's
/// status `UPDATE` queues it in its own `SET`; the trigger
/// (for changes by hand) sets the same columns on `NEW`; a payment with a
/// job is kept as one with a history is.
///
/// An instance of an earlier version writes its jobs to the dropped table
/// and fails: stop every earlier instance before the first new one starts.
const POSTGRES_V4: &str = concat!(
    job_columns!(
        "ALTER TABLE actalink_payments ADD COLUMN",
        "ADD COLUMN",
        ",\n   ",
        ""
    ),
    jobs_moved!(),
    "CREATE OR REPLACE FUNCTION actalink_payment_moved() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $body$
DECLARE
    at_ms BIGINT := ",
    pg_now!(),
    r";
BEGIN
    IF NEW.status NOT IN ('open', 'paid', 'failed', 'expired', 'flagged') THEN
        RAISE EXCEPTION 'actalink_payments: % is no payment status', NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO actalink_payment_transitions
        (session_id, from_status, to_status, source, reason, at_ms)
        VALUES (NEW.session_id, OLD.status, NEW.status,
            COALESCE(NEW.status_source, 'operator'), NEW.reason, at_ms);
    IF NEW.status = 'paid' AND NEW.job_state IS NULL THEN
        NEW.job_state := 'pending';
        NEW.job_attempts := 0;
        NEW.job_run_at_ms := at_ms;
        NEW.job_created_at_ms := at_ms;
        NEW.job_lease_token := NULL;
        NEW.job_lease_until_ms := NULL;
        NEW.job_last_error := NULL;
        NEW.job_completed_at_ms := NULL;
    END IF;
    NEW.status_source := NULL;
    RETURN NEW;
END
$body$;
CREATE OR REPLACE FUNCTION actalink_payment_kept() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $body$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.session_id = OLD.session_id THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM actalink_payment_transitions)
            OR EXISTS (SELECT 1 FROM actalink_payments WHERE job_state IS NOT NULL)
        THEN
            RAISE EXCEPTION 'actalink_payments: payments with a history or a fulfilment job are kept'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF OLD.job_state IS NOT NULL
        OR EXISTS (SELECT 1 FROM actalink_payment_transitions WHERE session_id = OLD.session_id)
    THEN
        RAISE EXCEPTION 'actalink_payments: payment % has a history or a fulfilment job; it is kept',
            OLD.session_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$body$;
"
);

/// This crate's migrations on SQLite.
const SQLITE: &[Migration] = &[
    Migration::new(1, V1, schema_v1!("id INTEGER PRIMARY KEY AUTOINCREMENT")),
    Migration::new(2, V2, SQLITE_V2),
    Migration::new(3, JOBS_ON_PAYMENTS, SQLITE_V3),
];

/// This crate's migrations on PostgreSQL: the same tables, with an identity
/// column where SQLite has `AUTOINCREMENT`.
const POSTGRES: &[Migration] = &[
    Migration::new(
        1,
        V1,
        schema_v1!("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    ),
    Migration::new(2, V2, POSTGRES_V2),
    Migration::new(3, V3, POSTGRES_V3),
    Migration::new(4, JOBS_ON_PAYMENTS, POSTGRES_V4),
];

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
    use crate::db::{self, Sql};

    /// A database made by the first migration, with a paid payment and its
    /// transition, upgraded by the later ones: the history stays, new ids
    /// follow it, and a status change written as the previous version wrote
    /// it (its source in `status_source`) is recorded by the trigger.
    async fn upgrade_keeps_the_history(url: &str, backend: Backend) {
        let pool = db::connect(url, backend, 2, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        let now = Sql::of(backend).now;
        let migrations = own(backend);
        assert_eq!(
            run(&pool, backend, now, COMPONENT, &migrations[..1])
                .await
                .unwrap(),
            1
        );
        for (session, status) in [("checkout_a", "paid"), ("checkout_b", "open")] {
            sqlx::query(
                "INSERT INTO actalink_payments (session_id, reference, paylink_id, amount, \
                 currency, expected_metadata, status, created_at_ms, updated_at_ms) \
                 VALUES ($1, $1, 'paylink_1', '0.16', 'USDC', '{}', $2, 1, 1)",
            )
            .bind(session)
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO actalink_payment_transitions \
             (session_id, from_status, to_status, source, at_ms) \
             VALUES ('checkout_a', 'open', 'paid', 'webhook', 5)",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO actalink_fulfilment_jobs (session_id, reference, amount, currency, \
             state, attempts, run_at_ms, last_error, created_at_ms) \
             VALUES ('checkout_a', 'checkout_a', '0.16', 'USDC', 'dead', 3, 7, 'refused', 6)",
        )
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(
            run(&pool, backend, now, COMPONENT, migrations)
                .await
                .unwrap(),
            migrations.len() - 1
        );
        sqlx::query(
            "UPDATE actalink_payments SET status = 'expired', status_source = 'reconciler', \
             updated_at_ms = 9 WHERE session_id = 'checkout_b'",
        )
        .execute(&pool)
        .await
        .unwrap();
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, session_id, to_status, source, at_ms \
             FROM actalink_payment_transitions ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let shown: Vec<_> = rows.iter().map(|r| (&*r.1, &*r.2, &*r.3)).collect();
        assert_eq!(
            shown,
            [
                ("checkout_a", "paid", "webhook"),
                ("checkout_b", "expired", "reconciler")
            ]
        );
        assert!(rows[0].0 < rows[1].0, "{rows:?}");
        // The old record keeps its time; the new one has the database's.
        assert_eq!(rows[0].4, 5);
        assert!(rows[1].4 > 1_600_000_000_000, "{rows:?}");
        // The source only passed through.
        let left: Option<String> = sqlx::query_scalar(
            "SELECT status_source FROM actalink_payments WHERE session_id = 'checkout_b'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(left, None);
        // The job moved onto its payment's row, whole; expiry queued none.
        let jobs: Vec<(String, String, i64, i64, Option<String>, i64)> = sqlx::query_as(
            "SELECT session_id, job_state, job_attempts, job_run_at_ms, job_last_error, \
             job_created_at_ms FROM actalink_payments WHERE job_state IS NOT NULL",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            jobs,
            [(
                "checkout_a".to_owned(),
                "dead".to_owned(),
                3,
                7,
                Some("refused".to_owned()),
                6
            )]
        );
        pool.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn later_migrations_keep_the_history() {
        if cfg!(feature = "sqlite") {
            let db = actalink_testkit::fresh_sqlite("payments-upgrade");
            upgrade_keeps_the_history(&db.url, Backend::Sqlite).await;
            let _ = std::fs::remove_dir_all(&db.dir);
        }
        if cfg!(feature = "postgres")
            && let Some(db) = actalink_testkit::fresh_postgres("migrate_upgrade").await
        {
            upgrade_keeps_the_history(&db.url, Backend::Postgres).await;
        }
    }

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
