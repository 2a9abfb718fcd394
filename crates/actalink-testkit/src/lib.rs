//! Test support for this workspace's own tests and benchmarks; not published,
//! and not part of any crate's API.
//!
//! - [`StubServer`] is a loopback HTTP server with scripted replies
//!   ([`StubReply`]): answers, delays, dropped connections and truncated
//!   bodies, for tests that need a real socket and faults a real server
//!   cannot be made to produce on cue.
//! - [`LogCapture`] collects everything `tracing` writes, so that a test can
//!   assert that no secret reaches a log line.
//! - [`rss_kib`] reads this process's resident memory.
//! - `SandboxControl` (feature `sandbox`) is a typed client for a sandbox's
//!   `/__sandbox/` control API: act on a session, read the counters and the
//!   delivery log, queue faults, add webhook endpoints.
//! - `load` (feature `load`) is the load harness of the sandbox's load test
//!   and of `cargo xtask load`.
//! - `fresh_postgres` and `fresh_postgres_blocking` (feature `postgres`)
//!   create an empty database per test on the server named by
//!   `ACTALINK_TEST_POSTGRES_URL` (`.ci/postgres` starts one).
//! - [`bodies`] builds large bodies (`repeat_to`, `short_key`) for the
//!   webhook verifier's bounded-work tests and its `hostile_memory` example.
//! - [`fresh_sqlite`] makes a new directory for a SQLite file per test or
//!   benchmark.
//! - [`skip`] lets a test skip for want of a tool or server, except under CI
//!   ([`is_ci`]), where every test must run.
//!
//! Without features it depends on no Actalink crate, so that any crate's
//! tests may use it; the features depend on `actalink-sandbox` and, for
//! `load`, on `actalink-checkout` and `actalink-webhooks`.

pub mod bodies;
mod capture;
#[cfg(feature = "sandbox")]
mod control;
#[cfg(feature = "load")]
pub mod load;
#[cfg(feature = "postgres")]
mod pg;
mod skip;
mod sqlite;
mod stub;

pub use capture::LogCapture;
#[cfg(feature = "sandbox")]
pub use control::{Action, ControlError, SandboxControl, Stats};
#[cfg(feature = "postgres")]
pub use pg::{FreshDatabase, POSTGRES_URL_VAR, fresh_postgres, fresh_postgres_blocking};
pub use skip::{is_ci, skip};
pub use sqlite::{FreshSqlite, fresh_sqlite};
pub use stub::{StubReply, StubRequest, StubServer};

/// This process's resident set size in KiB, from `/proc/self/status` (0 where
/// there is no such file).
#[must_use]
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
