//! Resident size of a process holding one `Client` after 1 call and after
//! 10,000 calls against an in-process sandbox (one session, so the sandbox's
//! state does not grow). Prints `after_1 <KiB>` and `after_10000 <KiB>`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use actalink_testkit::rss_kib;

#[tokio::main]
async fn main() {
    let setup = actalink_bench::Setup::start().await;
    setup.sdk_get().await;
    let after_one = rss_kib();
    for _ in 1..10_000 {
        setup.sdk_get().await;
    }
    println!("after_1 {after_one}");
    println!("after_10000 {}", rss_kib());
}
