//! A database of its own for each test, on the PostgreSQL server named by
//! `ACTALINK_TEST_POSTGRES_URL` (feature `postgres`).
//!
//! `.ci/postgres` starts a throwaway server and prints the variable's value;
//! CI runs one as a service. Without the variable the tests skip, except
//! under CI, where they fail (see [`crate::skip`]).

use std::ffi::OsString;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor, PgConnection};

/// The environment variable holding the URL of the PostgreSQL server the
/// tests may create databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
///
/// Its user must be allowed to `CREATE DATABASE`; the database it names is
/// only connected to, never changed.
pub const POSTGRES_URL_VAR: &str = "ACTALINK_TEST_POSTGRES_URL";

/// Why a test skips when [`POSTGRES_URL_VAR`] is unset.
const NO_POSTGRES: &str = "no PostgreSQL (set ACTALINK_TEST_POSTGRES_URL; .ci/postgres starts one)";

/// A new, empty database made for one test by [`fresh_postgres`].
///
/// Dropping it leaves the database on the server, on purpose: the servers the
/// tests use are throwaway (`.ci/postgres stop` deletes the whole cluster, and
/// CI's service container ends with the job). Dropping the database in `Drop`
/// would have to block on a connection (stalling an async worker), or race
/// the test's own pool and the child processes it hands [`url`](Self::url)
/// to, which would lose their database whenever this value is dropped before
/// them. Each empty database takes about 7 MB, so a server kept for many runs
/// is best restarted now and then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshDatabase {
    /// The database's URL: the server's URL from [`POSTGRES_URL_VAR`] with
    /// the database name replaced (user, host, port and parameters kept).
    pub url: String,
    /// The database's name, `t_<pid>_<counter>_<random>`: unique among this
    /// process's databases, and with 48 random bits against other processes
    /// and earlier runs on the same server.
    pub name: String,
}

/// Creates a new, empty database for `test` on the server named by
/// [`POSTGRES_URL_VAR`], or returns `None` when the variable is unset or
/// empty, after printing
/// `skipped: <test>: no PostgreSQL (set ACTALINK_TEST_POSTGRES_URL; .ci/postgres starts one)`
/// to stderr.
///
/// ```no_run
/// # async fn a_test() {
/// let Some(db) = actalink_testkit::fresh_postgres("stores_a_payment").await else {
///     return;
/// };
/// let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
/// # let _ = pool;
/// # }
/// ```
///
/// # Panics
///
/// When the variable is unset under CI ([`crate::is_ci`]): there the
/// PostgreSQL tests must run. When it is set but not a `postgres://` URL, or
/// the server cannot be reached, or refuses `CREATE DATABASE`: a test that was
/// given a server should fail, not skip.
pub async fn fresh_postgres(test: &str) -> Option<FreshDatabase> {
    let server = match server_url(std::env::var_os(POSTGRES_URL_VAR)) {
        Ok(Some(server)) => server,
        Ok(None) => {
            crate::skip(test, NO_POSTGRES);
            return None;
        }
        Err(message) => panic!("{test}: {message}"),
    };
    let shown = redacted(&server);
    let mut admin = PgConnection::connect(&server).await.unwrap_or_else(|e| {
        panic!("{test}: cannot connect to PostgreSQL at {shown} ({POSTGRES_URL_VAR}): {e}")
    });
    let mut attempt = 0;
    let name = loop {
        let name = database_name();
        let created = admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await;
        match created {
            Ok(_) => break name,
            // 42P04, duplicate_database: a leftover of an earlier process
            // that had the same pid and drew the same random bits.
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("42P04") && attempt < 3 =>
            {
                attempt += 1;
            }
            Err(e) => panic!("{test}: CREATE DATABASE \"{name}\" on {shown} failed: {e}"),
        }
    };
    // The database exists; an unclean goodbye to the server changes nothing.
    let _ = admin.close().await;
    let url = database_url(&server, &name).unwrap_or_else(|message| panic!("{test}: {message}"));
    Some(FreshDatabase { url, name })
}

/// [`fresh_postgres`] for a plain `#[test]` (one that, say, starts a child
/// process with the URL): it runs on a thread of its own with a
/// current-thread Tokio runtime, so it also works, blocking, when called from
/// inside a runtime.
///
/// ```no_run
/// let Some(db) = actalink_testkit::fresh_postgres_blocking("storefront_on_postgres") else {
///     return;
/// };
/// let child = std::process::Command::new("storefront")
///     .env("DATABASE_URL", &db.url)
///     .spawn();
/// # let _ = child;
/// ```
///
/// # Panics
///
/// As [`fresh_postgres`], and when no runtime can be built.
#[must_use]
pub fn fresh_postgres_blocking(test: &str) -> Option<FreshDatabase> {
    let joined = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("{test}: cannot build a Tokio runtime: {e}"))
                    .block_on(fresh_postgres(test))
            })
            .join()
    });
    joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The server URL from the variable's value: `None` when unset or blank.
fn server_url(value: Option<OsString>) -> Result<Option<String>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value
        .into_string()
        .map_err(|_| format!("{POSTGRES_URL_VAR} is not valid UTF-8"))?;
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A name no other database of this process has, nor (48 random bits) very
/// likely any other: `t_<pid>_<counter>_<random>`, lower case, so that it
/// needs no quoting in SQL although it gets it.
fn database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // std's RandomState is seeded from the OS per thread: random enough to
    // tell processes and runs apart without a dependency.
    let random = RandomState::new().hash_one((counter, nanos)) & 0xffff_ffff_ffff;
    format!("t_{}_{counter}_{random:012x}", std::process::id())
}

/// `server` with its database replaced by `name`.
fn database_url(server: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(server).map_err(|e| {
        format!(
            "{POSTGRES_URL_VAR} is not a URL ({e}): {}",
            redacted(server)
        )
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") || url.cannot_be_a_base() {
        return Err(format!(
            "{POSTGRES_URL_VAR} must be a postgres://user@host:port/database URL, not {}",
            redacted(server)
        ));
    }
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.into()
        }
        Ok(parsed) => parsed.into(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_or_blank_variable_means_no_server() {
        assert_eq!(server_url(None), Ok(None));
        assert_eq!(server_url(Some("".into())), Ok(None));
        assert_eq!(server_url(Some("  ".into())), Ok(None));
        assert_eq!(
            server_url(Some(
                " postgres://postgres@127.0.0.1:5432/postgres\n".into()
            )),
            Ok(Some(
                "postgres://postgres@127.0.0.1:5432/postgres".to_owned()
            ))
        );
    }

    #[test]
    fn without_a_server_a_test_skips_except_under_ci() {
        let skipped = crate::skip::verdict(false, "t", NO_POSTGRES).unwrap();
        assert_eq!(
            skipped,
            "skipped: t: no PostgreSQL (set ACTALINK_TEST_POSTGRES_URL; .ci/postgres starts one)"
        );
        let failed = crate::skip::verdict(true, "t", NO_POSTGRES).unwrap_err();
        assert!(failed.contains(POSTGRES_URL_VAR), "{failed}");
        assert!(crate::skip::ci_from(Some("true".as_ref())));
    }

    #[test]
    fn the_database_url_keeps_all_but_the_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t_1_0_ab").unwrap(),
            "postgres://postgres@127.0.0.1:5432/t_1_0_ab"
        );
        assert_eq!(
            database_url(
                "postgresql://u:p%40ss@db.example:6432/app?sslmode=disable",
                "t_1_0_ab"
            )
            .unwrap(),
            "postgresql://u:p%40ss@db.example:6432/t_1_0_ab?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://postgres@localhost:5432", "t_1_0_ab").unwrap(),
            "postgres://postgres@localhost:5432/t_1_0_ab"
        );
        for wrong in ["mysql://root@localhost/x", "localhost:5432", "postgres:x"] {
            assert!(database_url(wrong, "t").is_err(), "{wrong}");
        }
    }

    #[test]
    fn messages_do_not_show_the_password() {
        assert_eq!(
            redacted("postgres://u:secret@h:1/d"),
            "postgres://u:***@h:1/d"
        );
        assert_eq!(redacted("postgres://u@h/d"), "postgres://u@h/d");
        assert!(!redacted("postgres://u:secret@[h/d").contains("secret"));
    }

    #[test]
    fn database_names_are_unique_and_plain() {
        let a = database_name();
        let b = database_name();
        assert_ne!(a, b);
        let prefix = format!("t_{}_", std::process::id());
        for name in [&a, &b] {
            assert!(name.starts_with(&prefix), "{name}");
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.bytes()
                    .all(|c| c == b'_' || c.is_ascii_digit() || c.is_ascii_lowercase()),
                "{name}"
            );
        }
    }

    /// Needs a server: skips without `ACTALINK_TEST_POSTGRES_URL` (fails under CI).
    #[test]
    fn creates_a_database_a_test_can_use() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let Some(db) = fresh_postgres("pg::creates_a_database_a_test_can_use").await else {
                return;
            };
            let mut conn = PgConnection::connect(&db.url).await.unwrap();
            let current: String = sqlx::query_scalar("SELECT current_database()")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(current, db.name);
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(tables, 0, "a fresh database is empty");
            conn.execute("CREATE TABLE t (x int)").await.unwrap();

            // The blocking twin, even from inside a runtime, makes another.
            let other = fresh_postgres_blocking("pg::creates_a_database_a_test_can_use")
                .expect("the variable is set");
            assert_ne!(other.name, db.name);
            let mut conn = PgConnection::connect(&other.url).await.unwrap();
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(
                tables, 0,
                "the other database does not see the first one's table"
            );
        });
    }

    /// Needs a server, as above; from a plain test, as the storefront's
    /// process tests use it.
    #[test]
    fn the_blocking_twin_works_in_a_plain_test() {
        let Some(db) = fresh_postgres_blocking("pg::the_blocking_twin_works_in_a_plain_test")
        else {
            return;
        };
        assert!(db.url.ends_with(&format!("/{}", db.name)), "{db:?}");
    }
}
