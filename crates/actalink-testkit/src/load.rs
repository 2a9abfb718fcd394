//! The load harness: N sessions created, fetched and paid through one shared
//! `Client` at a fixed concurrency against a sandbox, with every webhook
//! verified and counted. Used by the sandbox's `tests/it/load.rs` (small N,
//! in CI) and its `examples/load.rs` (`cargo xtask load`, N = 50,000 by default).

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actalink_checkout::{Client, CreateCheckoutSession, RetryPolicy};
use actalink_webhooks::{VerifiedEvent, Verifier};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::Semaphore;

use crate::{SandboxControl, rss_kib};

/// The webhook secret the [`Receiver`] verifies with.
pub const SECRET: &str = "whsec_load";

/// A webhook receiver that verifies every event, fails the first `fail_first`
/// deliveries of each event with 500, and counts the events it accepted per session.
#[derive(Debug)]
pub struct Receiver {
    /// The endpoint to register with the sandbox.
    pub url: String,
    /// The dedup keys of the events accepted, by checkout session id.
    pub accepted: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

/// Starts a [`Receiver`] on loopback.
pub async fn receiver(fail_first: usize) -> Receiver {
    let accepted: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let (acc, att) = (Arc::clone(&accepted), Arc::clone(&attempts));
    let app = Router::new()
        .route(
            "/hook",
            post(move |VerifiedEvent(event): VerifiedEvent| {
                let (accepted, attempts) = (Arc::clone(&acc), Arc::clone(&att));
                async move {
                    let seen = {
                        let mut attempts = attempts.lock().unwrap();
                        let n = attempts.entry(event.dedup_key()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    if seen <= fail_first {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let session = event
                        .data
                        .checkout_session_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    accepted
                        .lock()
                        .unwrap()
                        .entry(session)
                        .or_default()
                        .push(event.dedup_key());
                    StatusCode::OK
                }
            }),
        )
        .with_state(Verifier::new(SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, accepted }
}

/// What a load run measured.
#[derive(Debug)]
pub struct Report {
    /// Sessions attempted.
    pub sessions: usize,
    /// API calls made (create, get, get after paying).
    pub calls: usize,
    /// What went wrong, one line per failed session.
    pub errors: Vec<String>,
    /// Distinct session ids created.
    pub distinct_ids: usize,
    /// Sessions the sandbox says it holds.
    pub sandbox_sessions: u64,
    /// Median call latency.
    pub p50: Duration,
    /// 99th-percentile call latency.
    pub p99: Duration,
    /// The whole run.
    pub elapsed: Duration,
    /// Resident memory at the start, in KiB.
    pub rss_start_kib: u64,
    /// Resident memory after the first calls, in KiB.
    pub rss_after_first_kib: u64,
    /// Resident memory at the end, in KiB.
    pub rss_end_kib: u64,
    /// Sessions whose webhook arrived exactly once.
    pub webhooks_exactly_once: usize,
    /// Sessions whose webhook never arrived.
    pub webhooks_missing: usize,
    /// Sessions whose webhook arrived more than once.
    pub webhooks_duplicated: usize,
}

/// Awaits one SDK call, keeping how long it took in `latencies`.
async fn timed<T>(latencies: &mut Vec<Duration>, call: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let outcome = call.await;
    latencies.push(start.elapsed());
    outcome
}

/// Runs `n` sessions at `concurrency` against the sandbox at `base_url`
/// (accepting `api_key`), whose webhooks go to `receiver`. Each session is
/// created, fetched, paid through the control API, and fetched again.
/// `first` is how many calls count as "the first" for the memory figure.
pub async fn run(
    base_url: &str,
    api_key: &str,
    receiver: &Receiver,
    n: usize,
    concurrency: usize,
    first: usize,
) -> Report {
    let client = Client::builder()
        .api_key(api_key)
        .base_url(base_url)
        .retry_policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(50)))
        .build()
        .unwrap();
    let control = SandboxControl::new(base_url);
    let rss_start_kib = rss_kib();
    let rss_after_first = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        let (client, calls, rss_after_first, control) = (
            client.clone(),
            Arc::clone(&calls),
            Arc::clone(&rss_after_first),
            control.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let mut latencies = Vec::with_capacity(3);
            let count = |calls: &AtomicUsize| {
                if calls.fetch_add(1, Ordering::Relaxed) + 1 == first {
                    rss_after_first.store(rss_kib() as usize, Ordering::Relaxed);
                }
            };
            let request = CreateCheckoutSession::builder(actalink_sandbox::EBOOK_PAYLINK)
                .metadata("internal_order_id", format!("LOAD-{i}"))
                .build()
                .unwrap();
            let session = timed(&mut latencies, client.create_session(&request))
                .await
                .map_err(|e| format!("create {i}: {e}"))?;
            count(&calls);
            let fetched = timed(&mut latencies, client.get_session(&session.id))
                .await
                .map_err(|e| format!("get {i}: {e}"))?;
            count(&calls);
            if fetched.metadata_value("internal_order_id") != Some(format!("LOAD-{i}").as_str()) {
                return Err(format!("session {i} came back with other metadata"));
            }
            control
                .pay(session.id.as_str())
                .await
                .map_err(|e| format!("pay {i}: {e}"))?;
            let paid = timed(&mut latencies, client.get_session(&session.id))
                .await
                .map_err(|e| format!("get paid {i}: {e}"))?;
            count(&calls);
            if !paid.is_paid() {
                return Err(format!("session {i} is {} after paying", paid.status));
            }
            Ok::<_, String>((session.id.to_string(), latencies))
        });
    }
    let mut errors = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut latencies = Vec::with_capacity(n * 3);
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            Ok((id, l)) => {
                ids.insert(id);
                latencies.extend(l);
            }
            Err(e) => errors.push(e),
        }
    }
    let elapsed = start.elapsed();
    let rss_end_kib = rss_kib();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let stats = control.stats().await.unwrap();
    // Wait for webhook delivery to settle.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let delivered: usize = receiver.accepted.lock().unwrap().len();
        if delivered >= ids.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = receiver.accepted.lock().unwrap();
    let exactly_once = ids
        .iter()
        .filter(|id| accepted.get(*id).is_some_and(|e| e.len() == 1))
        .count();
    let missing = ids.iter().filter(|id| !accepted.contains_key(*id)).count();
    let duplicated = accepted.values().filter(|e| e.len() > 1).count();
    Report {
        sessions: n,
        calls: calls.load(Ordering::Relaxed),
        errors,
        distinct_ids: ids.len(),
        sandbox_sessions: stats.sessions,
        p50: pick(0.50),
        p99: pick(0.99),
        elapsed,
        rss_start_kib,
        rss_after_first_kib: rss_after_first.load(Ordering::Relaxed) as u64,
        rss_end_kib,
        webhooks_exactly_once: exactly_once,
        webhooks_missing: missing,
        webhooks_duplicated: duplicated,
    }
}

/// The client's own memory: `calls` fetches of one session through one
/// `Client` at `concurrency`, keeping no per-call state, with the resident
/// size read after the first `first` calls and at the end.
pub async fn client_memory(
    base_url: &str,
    api_key: &str,
    calls: usize,
    concurrency: usize,
    first: usize,
) -> (u64, u64) {
    let client = Client::builder()
        .api_key(api_key)
        .base_url(base_url)
        .build()
        .unwrap();
    let request = CreateCheckoutSession::builder(actalink_sandbox::EBOOK_PAYLINK)
        .build()
        .unwrap();
    let id = client.create_session(&request).await.unwrap().id;
    let done = Arc::new(AtomicUsize::new(0));
    let after_first = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, id, done, after_first) = (
            client.clone(),
            id.clone(),
            Arc::clone(&done),
            Arc::clone(&after_first),
        );
        workers.spawn(async move {
            loop {
                let n = done.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    break;
                }
                client.get_session(&id).await.unwrap();
                if n + 1 == first {
                    after_first.store(rss_kib() as usize, Ordering::Relaxed);
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    (after_first.load(Ordering::Relaxed) as u64, rss_kib())
}
