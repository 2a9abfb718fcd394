//! A fresh SQLite file per test or benchmark.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A new, empty directory under the system's temp dir and the URL of a
/// SQLite file in it (created by whoever opens it first). The directory is
/// left in place, so that a failed test's database can be read; remove
/// [`dir`](Self::dir) to clean up.
#[derive(Debug)]
pub struct FreshSqlite {
    /// `sqlite:<dir>/db.sqlite`.
    pub url: String,
    /// The directory holding it (and its WAL files).
    pub dir: PathBuf,
}

/// A fresh SQLite database for `label`, unique in this process and across
/// processes (the directory names the process id).
///
/// # Panics
///
/// When the directory cannot be created.
#[must_use]
pub fn fresh_sqlite(label: &str) -> FreshSqlite {
    let dir = std::env::temp_dir().join(format!(
        "actalink-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{label}: cannot create {}: {e}", dir.display());
    }
    FreshSqlite {
        url: format!("sqlite:{}", dir.join("db.sqlite").display()),
        dir,
    }
}
