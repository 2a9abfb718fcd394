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

mod capture;
mod stub;

pub use capture::LogCapture;
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
