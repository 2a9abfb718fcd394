//! actalink-payments against a scripted status server, on SQLite always and
//! on PostgreSQL when `ACTALINK_TEST_POSTGRES_URL` names a server (under CI
//! it must). The several-process guarantees are in `processes.rs`.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod confirm;
mod fulfil;
mod inbox;
mod migrate;
mod processes;
mod reconcile;
mod support;
