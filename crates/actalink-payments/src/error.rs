//! The crate's one error type.

/// What went wrong. Each variant says it in one sentence and keeps its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL names no supported backend.
    #[error(
        "the database URL's scheme {scheme:?} is not supported: use sqlite:PATH or postgres://…"
    )]
    UnsupportedUrl {
        /// The scheme found (at most 32 characters of it).
        scheme: String,
    },
    /// The URL names a backend this build leaves out.
    #[error(
        "the {backend} backend is not compiled in: enable the actalink-payments feature {backend:?}"
    )]
    BackendDisabled {
        /// `"sqlite"` or `"postgres"`.
        backend: &'static str,
    },
    /// A query or the connection failed. No statement is half-applied (a
    /// transition, its history row and its job are one statement), but a
    /// call that fails midway may already have committed an earlier one,
    /// such as a stored event or a refreshed expiry.
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
    /// A migration failed; its transaction was rolled back.
    #[error("migration {version} of {component} failed")]
    Migration {
        /// Whose migration (`actalink-payments` or the name you gave).
        component: String,
        /// Its version.
        version: i64,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// The session status could not be fetched; try again later.
    #[error("the checkout session status could not be fetched")]
    Provider(#[source] actalink_checkout::Error),
    /// An argument was refused before anything was written.
    #[error("{0}")]
    InvalidInput(String),
    /// A payment with this reference or session is already recorded.
    #[error("a payment for {0} is already recorded")]
    AlreadyRecorded(String),
    /// The job's lease was taken over by another worker (or the job is no
    /// longer pending): this worker's completion or failure was refused.
    #[error("the fulfilment job's lease was lost: another worker took it over")]
    LeaseLost,
    /// A stored value is not one this crate writes.
    #[error("the database holds a value this crate did not write: {0}")]
    Corrupt(String),
    /// On SQLite, a write waited longer than the busy timeout for its turn
    /// (another process held the database's write lock) and was not made.
    #[error("the write waited {waited:?} for its turn on the SQLite file and was not made")]
    WriteTimedOut {
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// On SQLite, this handle's writer thread has stopped (it could not
    /// start, or it panicked outside a write): open a new handle.
    #[error("the SQLite writer thread of this handle has stopped; open a new handle")]
    WriterStopped,
}

impl Error {
    /// True when trying the same call again later may succeed: the database
    /// or the provider was unavailable.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !matches!(e, sqlx::Error::Configuration(_)),
            Self::WriteTimedOut { .. } => true,
            Self::Provider(e) => e.is_retryable(),
            _ => false,
        }
    }

    pub(crate) fn from_insert(error: sqlx::Error, what: &str) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::AlreadyRecorded(what.to_owned())
            }
            _ => Self::Database(error),
        }
    }
}
