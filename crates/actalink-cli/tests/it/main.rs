//! The `actalink` binary, run as a user runs it: every command, its exit
//! codes and what it prints, against a sandbox and stub servers on loopback.

#![allow(clippy::unwrap_used, missing_docs)]

mod cli;
mod control;
mod errors;
mod help;
mod pipes;
mod serve;
mod support;
mod trigger;
mod webhook;
