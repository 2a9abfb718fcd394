//! The database: which backend a URL names, the pool, and the SQL that
//! differs between SQLite and PostgreSQL.
//!
//! Every time the crate stores or compares (a lease's end, a record's due
//! time, a transition's moment) is computed by the database's own clock, in
//! milliseconds since the Unix epoch, through [`Sql::now`]. Instances whose
//! clocks disagree therefore agree on every lease and due time. Durations
//! (a lease's length, a backoff) come from the configuration and are added
//! to that clock inside the statement.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions};
use tokio::sync::{mpsc, oneshot};

use crate::Error;

/// The database behind a [`Payments`](crate::Payments) handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (`sqlite:PATH`): one file, any number of processes on one machine.
    Sqlite,
    /// PostgreSQL (`postgres://…`): any number of instances on any machines.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedUrl`] for any other scheme, and
    /// [`Error::BackendDisabled`] when the backend's feature is not compiled in.
    pub fn of_url(url: &str) -> Result<Self, Error> {
        let scheme = url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Self::Sqlite,
            "postgres" | "postgresql" => Self::Postgres,
            _ => {
                return Err(Error::UnsupportedUrl {
                    scheme: scheme.chars().take(32).collect(),
                });
            }
        };
        if !backend.compiled_in() {
            return Err(Error::BackendDisabled {
                backend: backend.name(),
            });
        }
        Ok(backend)
    }

    fn compiled_in(self) -> bool {
        match self {
            Self::Sqlite => cfg!(feature = "sqlite"),
            Self::Postgres => cfg!(feature = "postgres"),
        }
    }

    /// `"sqlite"` or `"postgres"`: the crate feature that enables this backend.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The database clock on PostgreSQL, in Unix milliseconds, as a `BIGINT`
/// expression: a macro, so that statements and migrations written for one
/// backend can be `concat!`ed once. `clock_timestamp()`, not `now()`:
/// `now()` is the transaction's start.
macro_rules! pg_now {
    () => {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    };
}
pub(crate) use pg_now;

/// The database clock on SQLite, as [`pg_now!`] is on PostgreSQL.
/// `unixepoch('subsec')` needs SQLite 3.42; the bundled one is newer.
macro_rules! sqlite_now {
    () => {
        "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
    };
}
pub(crate) use sqlite_now;

/// The `SET` assignments, after a status change to `$to` (a SQL expression
/// for the new status), that queue the payment's one fulfilment job in its
/// `job_` columns: only when `$to` is paid and the row has no job yet (a
/// job queued again would run twice), with its other columns cleared, due
/// at `$now!()`, the backend's clock macro. Any other change leaves them
/// as they are. Written once for PostgreSQL's transition statement and
/// SQLite's transition trigger.
macro_rules! queue_job {
    ($to:literal, $now:ident) => {
        concat!(
            "job_state = CASE WHEN ",
            $to,
            " = 'paid' THEN COALESCE(job_state, 'pending') ",
            "ELSE job_state END, ",
            "job_attempts = CASE WHEN ",
            $to,
            " = 'paid' AND job_state IS NULL THEN 0 ",
            "ELSE job_attempts END, ",
            "job_run_at_ms = CASE WHEN ",
            $to,
            " = 'paid' AND job_state IS NULL THEN ",
            $now!(),
            " ELSE job_run_at_ms END, ",
            "job_created_at_ms = CASE WHEN ",
            $to,
            " = 'paid' AND job_state IS NULL THEN ",
            $now!(),
            " ELSE job_created_at_ms END, ",
            "job_lease_token = CASE WHEN ",
            $to,
            " <> 'paid' OR job_state IS NOT NULL ",
            "THEN job_lease_token END, ",
            "job_lease_until_ms = CASE WHEN ",
            $to,
            " <> 'paid' OR job_state IS NOT NULL ",
            "THEN job_lease_until_ms END, ",
            "job_last_error = CASE WHEN ",
            $to,
            " <> 'paid' OR job_state IS NOT NULL ",
            "THEN job_last_error END, ",
            "job_completed_at_ms = CASE WHEN ",
            $to,
            " <> 'paid' OR job_state IS NOT NULL ",
            "THEN job_completed_at_ms END"
        )
    };
}
pub(crate) use queue_job;

/// The SQL fragments that differ between the backends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    /// The database clock, in Unix milliseconds, as a `BIGINT` expression.
    pub(crate) now: &'static str,
    /// What follows a claim's inner `SELECT … LIMIT n`: row locks that other
    /// instances skip on PostgreSQL; nothing on SQLite, where the single
    /// `UPDATE` holds the database's write lock for its whole run. The lock
    /// is `FOR NO KEY UPDATE`, the one the claim's `UPDATE` takes anyway:
    /// it excludes every other claim as `FOR UPDATE` would, but not the key
    /// lock that a foreign key referencing the payment (the merchant's order
    /// row) takes, so that inserting such a row neither waits for a claim
    /// nor makes claims skip the payment.
    pub(crate) skip_locked: &'static str,
}

impl Sql {
    pub(crate) fn of(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self {
                now: sqlite_now!(),
                skip_locked: "",
            },
            Backend::Postgres => Self {
                now: pg_now!(),
                skip_locked: "FOR NO KEY UPDATE SKIP LOCKED",
            },
        }
    }
}

/// Milliseconds in `duration`, saturating, as the database's `BIGINT`.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// SQLite's writes, run one after another on a thread of their own.
///
/// SQLite has one writer at a time. Writers that meet on its lock sleep in
/// its busy handler (1 ms, then longer, however soon the lock is free), and
/// writers that take turns on an async lock hold it until their task is
/// polled again, which on a busy runtime waits behind every other task.
/// Here each write is queued to one thread that does nothing else: it runs
/// the queue's writes back to back on one connection, so the write lock
/// passes from one write to the next without waiting for the callers'
/// tasks. Other processes on the same file still wait in the busy handler.
///
/// A write is one or more statements with shared `$N` parameters, each
/// committing on its own (none needs more: a transition's record and job
/// are written by a trigger inside its `UPDATE`). A caller that gives up
/// does not stop its write, and leaves no transaction open; a claim whose
/// caller has gone is not made, so that it leases nothing to nobody. A
/// write that waited in the queue longer than the busy timeout fails
/// instead ([`Error::WriteTimedOut`]): each write may itself wait that long
/// for another process's lock, and the queue must not add up those waits.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    queue: mpsc::UnboundedSender<Write>,
}

/// What a write is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// Made even when its caller has gone.
    Change,
    /// A lease for its caller: not made when the caller has gone.
    Claim,
}

struct Write {
    sql: String,
    arguments: AnyArguments<'static>,
    kind: WriteKind,
    queued: Instant,
    reply: oneshot::Sender<Result<Vec<AnyRow>, Error>>,
}

impl SqliteWriter {
    /// Starts the writer's thread, which ends when the writer is dropped.
    pub(crate) async fn start(pool: AnyPool, busy_timeout: Duration) -> Result<Self, Error> {
        let (queue, writes) = mpsc::unbounded_channel();
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("actalink-sqlite-writer".into())
            .spawn(move || {
                // Built here, so that it is also dropped here, outside any
                // async context.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        let _ = ready.send(Ok(()));
                        runtime.block_on(Self::run(pool, writes, busy_timeout));
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }
            })
            .map_err(|e| Error::Database(sqlx::Error::Io(e)))?;
        match started.await {
            Ok(Ok(())) => Ok(Self { queue }),
            Ok(Err(error)) => Err(Error::Database(sqlx::Error::Io(error))),
            Err(_) => Err(Error::WriterStopped),
        }
    }

    async fn run(
        pool: AnyPool,
        mut writes: mpsc::UnboundedReceiver<Write>,
        busy_timeout: Duration,
    ) {
        while let Some(first) = writes.recv().await {
            // One connection for as long as writes keep coming; returned to
            // the pool when the queue is empty, or dropped after an error.
            let mut conn = None;
            let mut next = Some(first);
            while let Some(write) = next.take() {
                Self::one(&pool, &mut conn, write, busy_timeout).await;
                next = writes.try_recv().ok();
            }
        }
    }

    /// Runs one write on `conn` (acquired when `None`), leaving `conn` empty
    /// when the connection should not be used again.
    async fn one(
        pool: &AnyPool,
        conn: &mut Option<PoolConnection<Any>>,
        write: Write,
        busy_timeout: Duration,
    ) {
        let Write {
            sql,
            arguments,
            kind,
            queued,
            reply,
        } = write;
        if kind == WriteKind::Claim && reply.is_closed() {
            return;
        }
        let waited = queued.elapsed();
        if waited > busy_timeout {
            let _ = reply.send(Err(Error::WriteTimedOut { waited }));
            return;
        }
        let mut held = match conn.take() {
            Some(held) => held,
            None => match pool.acquire().await {
                Ok(acquired) => acquired,
                Err(error) => {
                    let _ = reply.send(Err(Error::Database(error)));
                    return;
                }
            },
        };
        // In a task of its own, so that a panic inside sqlx fails this
        // write, not the thread.
        let run = tokio::spawn(async move {
            let rows = sqlx::query_with(&sql, arguments)
                .fetch_all(&mut *held)
                .await;
            (held, rows)
        });
        match run.await {
            Ok((held, Ok(rows))) => {
                *conn = Some(held);
                // The caller may have given up: its write still ran.
                let _ = reply.send(Ok(rows));
            }
            Ok((_, Err(error))) => {
                let _ = reply.send(Err(Error::Database(error)));
            }
            Err(_) => {
                tracing::error!("a write panicked on the SQLite writer thread");
                let _ = reply.send(Err(Error::Database(sqlx::Error::WorkerCrashed)));
            }
        }
    }

    /// Queues a write and waits for its rows.
    pub(crate) async fn write(
        &self,
        sql: String,
        arguments: AnyArguments<'static>,
        kind: WriteKind,
    ) -> Result<Vec<AnyRow>, Error> {
        let (reply, rows) = oneshot::channel();
        self.queue
            .send(Write {
                sql,
                arguments,
                kind,
                queued: Instant::now(),
                reply,
            })
            .map_err(|_| Error::WriterStopped)?;
        rows.await.map_err(|_| Error::WriterStopped)?
    }
}

/// Opens a pool on `url`. A SQLite file is created when missing (unless the
/// URL sets its own `mode`); its connections wait up to `busy_timeout` for
/// another process's write lock instead of failing with "database is locked".
pub(crate) async fn connect(
    url: &str,
    backend: Backend,
    max_connections: u32,
    busy_timeout: Duration,
) -> Result<AnyPool, Error> {
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite if !url.contains("mode=") => {
            let joiner = if url.contains('?') { '&' } else { '?' };
            format!("{url}{joiner}mode=rwc")
        }
        _ => url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url)
        .map_err(Error::Database)?
        .disable_statement_logging();
    // WAL lets readers run beside the one writer; NORMAL synchronisation is
    // durable across a process crash in WAL mode (a power cut may lose the
    // last commits). The busy timeout comes first, so that switching to WAL
    // waits for another process that is doing the same.
    let pragmas: std::sync::Arc<str> = if backend == Backend::Sqlite {
        format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            millis(busy_timeout)
        )
        .into()
    } else {
        "".into()
    };
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                if !pragmas.is_empty() {
                    sqlx::Executor::execute(conn, &*pragmas).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(Error::Database)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer threads alive in this process (Linux: `/proc`).
    #[cfg(all(target_os = "linux", feature = "sqlite"))]
    fn writer_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.trim() == "actalink-sqlite")
            })
            .count()
    }

    /// Held by each test that starts a writer, so that the one counting
    /// writer threads sees only its own.
    #[cfg(feature = "sqlite")]
    static ONE_WRITER_TEST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[cfg(feature = "sqlite")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_give_up_after_the_busy_timeout_and_gone_claims_are_not_made() {
        let _alone = ONE_WRITER_TEST.lock().await;
        let actalink_testkit::FreshSqlite { url, dir } =
            actalink_testkit::fresh_sqlite("writer-busy");
        let busy = Duration::from_millis(300);
        let pool = connect(&url, Backend::Sqlite, 3, busy).await.unwrap();
        let writer = std::sync::Arc::new(SqliteWriter::start(pool.clone(), busy).await.unwrap());
        let write = |sql: &str, kind| writer.write(sql.to_owned(), AnyArguments::default(), kind);
        write("CREATE TABLE t (x INTEGER)", WriteKind::Change)
            .await
            .unwrap();
        // Another connection (another process, say) holds the write lock.
        let mut holder = pool.acquire().await.unwrap();
        sqlx::Executor::execute(&mut *holder, "BEGIN IMMEDIATE")
            .await
            .unwrap();
        let started = Instant::now();
        let mut queued = tokio::task::JoinSet::new();
        for i in 0..4 {
            let writer = std::sync::Arc::clone(&writer);
            queued.spawn(async move {
                let sql = format!("INSERT INTO t VALUES ({i})");
                writer
                    .write(sql, AnyArguments::default(), WriteKind::Change)
                    .await
            });
        }
        let mut timed_out = 0;
        while let Some(done) = queued.join_next().await {
            match done.unwrap() {
                Err(Error::WriteTimedOut { waited }) => {
                    assert!(waited > busy, "{waited:?}");
                    timed_out += 1;
                }
                Err(Error::Database(_)) => {}
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("a write went through a held lock"),
            }
        }
        // The first waits out SQLite's busy timeout; the ones queued behind
        // it give up instead of waiting as long again, each.
        assert!(timed_out >= 2, "{timed_out}");
        assert!(started.elapsed() < busy * 3, "{:?}", started.elapsed());
        // Callers that gave up while the lock was held: a change is still
        // made, a claim is not.
        let change = write("INSERT INTO t VALUES (10)", WriteKind::Change);
        let claim = write("INSERT INTO t VALUES (20)", WriteKind::Claim);
        let both = async { tokio::join!(change, claim) };
        assert!(
            tokio::time::timeout(Duration::from_millis(50), both)
                .await
                .is_err()
        );
        sqlx::Executor::execute(&mut *holder, "COMMIT")
            .await
            .unwrap();
        drop(holder);
        write("SELECT 1", WriteKind::Change).await.unwrap();
        let made: Vec<i64> = sqlx::query_scalar("SELECT x FROM t WHERE x >= 10 ORDER BY x")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(made, [10]);
        drop(writer);
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_survives_a_failed_write_and_ends_with_its_handle() {
        let _alone = ONE_WRITER_TEST.lock().await;
        let actalink_testkit::FreshSqlite { url, dir } = actalink_testkit::fresh_sqlite("writer");
        let pool = connect(&url, Backend::Sqlite, 2, Duration::from_secs(5))
            .await
            .unwrap();
        let writer = std::sync::Arc::new(
            SqliteWriter::start(pool.clone(), Duration::from_secs(5))
                .await
                .unwrap(),
        );
        let write =
            |sql: &str| writer.write(sql.to_owned(), AnyArguments::default(), WriteKind::Change);
        assert!(write("INSERT INTO missing VALUES (1)").await.is_err());
        write("CREATE TABLE t (x INTEGER)").await.unwrap();
        // Two statements, each committing: both rows come back, in order.
        let rows = write("INSERT INTO t VALUES (7) RETURNING x; SELECT COUNT(*) FROM t")
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        // Many callers at once: every write runs once.
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..50 {
            let writer = std::sync::Arc::clone(&writer);
            writes.spawn(async move {
                let sql = format!("INSERT INTO t VALUES ({i})");
                writer
                    .write(sql, AnyArguments::default(), WriteKind::Change)
                    .await
            });
        }
        while let Some(done) = writes.join_next().await {
            done.unwrap().unwrap();
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 51);
        #[cfg(target_os = "linux")]
        {
            assert_eq!(writer_threads(), 1);
            drop(writer);
            // The thread ends once its queue is closed.
            for _ in 0..500 {
                if writer_threads() == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(writer_threads(), 0);
        }
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn urls_name_their_backend() {
        assert!(matches!(
            Backend::of_url("mysql://x"),
            Err(Error::UnsupportedUrl { scheme }) if scheme == "mysql"
        ));
        assert!(matches!(
            Backend::of_url("/tmp/shop.sqlite"),
            Err(Error::UnsupportedUrl { .. })
        ));
        #[cfg(feature = "sqlite")]
        assert_eq!(
            Backend::of_url("sqlite:shop.db").ok(),
            Some(Backend::Sqlite)
        );
        #[cfg(feature = "postgres")]
        assert_eq!(
            Backend::of_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        #[cfg(not(feature = "postgres"))]
        assert!(matches!(
            Backend::of_url("postgres://u@h/db"),
            Err(Error::BackendDisabled {
                backend: "postgres"
            })
        ));
    }
}
