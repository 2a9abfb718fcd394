//! Integration tests of `actalink-types`: the documented fixtures and property tests.

#![allow(clippy::unwrap_used, missing_docs)]

mod drift;
mod fixtures;
mod hostile;
mod props;
