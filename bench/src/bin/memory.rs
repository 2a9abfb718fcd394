//! Resident size of a process holding one `Client` after 1 call and after
//! 10,000 calls against an in-process sandbox (one session, so the sandbox's
//! state does not grow). Prints `after_1 <KiB>` and `after_10000 <KiB>`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

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
