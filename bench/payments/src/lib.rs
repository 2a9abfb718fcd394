//! Set-up for the payments benchmarks of `actalink-payments`
//! (`benches/payments.rs`, `src/bin/payments_cpu.rs`): a minimal
//! keep-alive status server that answers for any session, databases on both
//! backends, bulk seeding, signed webhook deliveries, and the hand-written
//! floor that `Payments::handle_event` is measured against.
//!
//! A session id is `checkout_<reference>`: the status server derives the
//! reference it reports from the id it is asked about, and the payments are
//! recorded with the same reference, so the two sides always agree.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use actalink_checkout::types::Decimal;
use actalink_checkout::{CheckoutSession, CheckoutSessionId, Client, CreateCheckoutSession};
use actalink_payments::sqlx::{self, AnyPool};
use actalink_payments::{
    Backend, Migration, NewPayment, Outcome, PaymentStatus, Payments, ReconcileSettings,
};
use actalink_webhooks::{Verifier, WebhookSecret};

/// The expiry every session reports and every payment records (so that no
/// check has an expiry to update).
pub const EXPIRES_AT: &str = "2099-01-01T00:00:00.000Z";
/// [`EXPIRES_AT`] in Unix milliseconds.
pub const EXPIRES_AT_MS: i64 = 4_070_908_800_000;
/// The price every session reports: `"0.16"`, hex-encoded as the provider does.
pub const PRICE_HEX: &str = "0x302e3136";
/// The webhook secret of the benchmarks.
pub const WEBHOOK_SECRET: &str = "whsec_bench_payments";

/// The session id of the payment for `reference`.
#[must_use]
pub fn session_id_for(reference: &str) -> String {
    format!("checkout_{reference}")
}

/// The reference of the payment for `session_id`: the id without its
/// `checkout_` prefix.
#[must_use]
pub fn reference_of(session_id: &str) -> &str {
    session_id.strip_prefix("checkout_").unwrap_or(session_id)
}

/// The status response for `session_id` in `status`: the documented shape,
/// with metadata `{"internal_order_id": <reference>}` and one product of
/// 0.16 USDC.
#[must_use]
pub fn status_body(session_id: &str, status: &str) -> String {
    let reference = reference_of(session_id);
    format!(
        r#"{{"data":{{"id":"{session_id}","status":"{status}","expiresAt":"{EXPIRES_AT}","metadata":{{"internal_order_id":"{reference}"}},"products":[{{"id":"prod_1","priceDetails":{{"price":"{PRICE_HEX}","currency":"USDC"}}}}]}}}}"#
    )
}

/// A minimal keep-alive HTTP server that answers every
/// `GET /billing/api/v1/paysession/status?checkoutSessionId=ID` with
/// [`status_body`] for ID: no routing, no JSON library, so that nearly all
/// of a status call's time is the client's.
#[derive(Debug, Clone)]
pub struct StatusServer {
    url: String,
}

impl StatusServer {
    /// Starts the server on loopback, answering every session with `status`.
    pub async fn start(status: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, status));
            }
        });
        Self { url }
    }

    /// A client of this server with the SDK's defaults.
    #[must_use]
    pub fn client(&self) -> Client {
        Client::builder()
            .api_key("sk_test_bench")
            .base_url(self.url.as_str())
            .build()
            .unwrap()
    }
}

/// Answers each request on a connection, keeping it open.
async fn serve(mut stream: tokio::net::TcpStream, status: &'static str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // A GET has no body: a request ends at the blank line.
        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let id = session_in(&buffer[..end]).to_owned();
            buffer.drain(..end + 4);
            let body = status_body(&id, status);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The `checkoutSessionId` in a request head's first line (the benchmarks'
/// ids need no percent-decoding).
fn session_in(head: &[u8]) -> &str {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = std::str::from_utf8(line).unwrap_or_default();
    line.split_once("checkoutSessionId=")
        .map_or("", |(_, rest)| rest.split([' ', '&']).next().unwrap_or(""))
}

/// A database for one benchmark.
#[derive(Debug)]
pub struct Database {
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    /// Its URL.
    pub url: String,
    dir: Option<PathBuf>,
}

impl Database {
    /// A new SQLite file in the system's temp dir (removed on drop).
    #[must_use]
    pub fn sqlite(name: &str) -> Self {
        let db = actalink_testkit::fresh_sqlite(&format!("bench-payments-{name}"));
        Self {
            backend: "sqlite",
            url: db.url,
            dir: Some(db.dir),
        }
    }

    /// A new, empty PostgreSQL database on the server named by
    /// `ACTALINK_TEST_POSTGRES_URL`, or `None` when it is unset.
    pub async fn postgres(name: &str) -> Option<Self> {
        let db = actalink_testkit::fresh_postgres(name).await?;
        Some(Self {
            backend: "postgres",
            url: db.url,
            dir: None,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Connects a [`Payments`] handle to `url`, checking statuses on `server`.
pub async fn connect(url: &str, server: &StatusServer, reconcile: ReconcileSettings) -> Payments {
    Payments::builder(url, server.client())
        .reconcile(reconcile)
        .connect()
        .await
        .unwrap()
}

/// A row generator of the integers `from..=to` as `i`, as a `FROM` clause:
/// a recursive CTE on SQLite, `generate_series` on PostgreSQL.
fn series(backend: Backend, from: u64, to: u64) -> (String, String) {
    match backend {
        Backend::Postgres => (
            String::new(),
            format!("generate_series({from}::bigint, {to}::bigint) AS s(i)"),
        ),
        _ => (
            format!(
                "WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {to}) "
            ),
            "s".into(),
        ),
    }
}

/// `i`, zero-padded to 6 digits, as SQL text.
fn padded(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "lpad(i::text, 6, '0')",
        _ => "printf('%06d', i)",
    }
}

/// Inserts open payments `<prefix>_000001` …, numbered `from..=to`, in one
/// statement, with the columns the crate writes, due `due_in_ms` after the
/// database's clock now (negative: due already).
pub async fn seed_open(payments: &Payments, prefix: &str, from: u64, to: u64, due_in_ms: i64) {
    let backend = payments.backend();
    let now = payments.database_now_ms().await.unwrap();
    let (with, source) = series(backend, from, to);
    let reference = format!("'{prefix}_' || {}", padded(backend));
    let sql = format!(
        "INSERT INTO actalink_payments (session_id, reference, paylink_id, amount, currency, \
         expected_metadata, status, expires_at_ms, created_at_ms, updated_at_ms, next_check_at_ms) \
         {with}SELECT 'checkout_' || {reference}, {reference}, 'paylink_bench', '0.16', 'USDC', \
         '{{\"internal_order_id\":\"' || {reference} || '\"}}', 'open', {EXPIRES_AT_MS}, {now}, {now}, {} \
         FROM {source}",
        now + due_in_ms
    );
    sqlx::query(&sql).execute(payments.pool()).await.unwrap();
}

/// Inserts paid payments `<prefix>_000001` … (`1..=count`), each with a
/// pending fulfilment job due now: one `UPDATE` to paid, written as a
/// change by hand, whose trigger queues the jobs (and records the
/// transitions).
pub async fn seed_jobs(payments: &Payments, prefix: &str, count: u64) {
    seed_open(payments, prefix, 1, count, 0).await;
    let now = payments.database_now_ms().await.unwrap();
    let paid = sqlx::query(&format!(
        "UPDATE actalink_payments SET status = 'paid', status_source = 'reconciler', \
         next_check_at_ms = NULL, updated_at_ms = {} \
         WHERE session_id >= 'checkout_{prefix}_' AND session_id < 'checkout_{prefix}`'",
        now - 1000
    ))
    .execute(payments.pool())
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(paid, count);
}

/// Makes the payments `<prefix>_000001` … `<prefix>_<count>` due now again,
/// as if never checked (through the primary key, whatever the table's size).
pub async fn make_due(payments: &Payments, prefix: &str, count: u64) {
    let now = payments.database_now_ms().await.unwrap();
    let changed = sqlx::query(&format!(
        "UPDATE actalink_payments SET next_check_at_ms = {}, check_attempts = 0, \
         last_check_error = NULL \
         WHERE session_id BETWEEN 'checkout_{prefix}_000001' AND 'checkout_{prefix}_{count:06}'",
        now - 1000
    ))
    .execute(payments.pool())
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(changed, count);
}

/// Refreshes the planner's statistics (what autovacuum does on PostgreSQL
/// after a bulk insert).
pub async fn analyze(payments: &Payments) {
    sqlx::query("ANALYZE")
        .execute(payments.pool())
        .await
        .unwrap();
}

/// A signed webhook delivery: the body and its two header values.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The raw body.
    pub body: Vec<u8>,
    /// `x-actalink-timestamp`.
    pub timestamp: String,
    /// `x-actalink-signature`.
    pub signature: String,
}

/// Signs a `onetime.executed` event for `session_id`, with event id `event_id`.
#[must_use]
pub fn delivery(session_id: &str, event_id: &str) -> Delivery {
    let body = format!(
        r#"{{"id":"{event_id}","eventType":"onetime.executed","eventData":{{"data":{{"id":"txn_{event_id}","checkoutSessionId":"{session_id}"}}}}}}"#
    );
    let now_ms = now_ms();
    let signed = actalink_webhooks::sign(
        body.as_bytes(),
        &WebhookSecret::from(WEBHOOK_SECRET),
        now_ms,
    )
    .unwrap();
    Delivery {
        body: body.into_bytes(),
        timestamp: signed.timestamp,
        signature: signed.signature,
    }
}

/// The verifier of [`WEBHOOK_SECRET`].
#[must_use]
pub fn verifier() -> Verifier {
    Verifier::new(WEBHOOK_SECRET)
}

/// Records an open payment of 0.16 USDC for `reference` through the crate,
/// as a merchant does at checkout.
pub async fn record(payments: &Payments, reference: &str) -> CheckoutSessionId {
    let session_id = session_id_for(reference);
    let request = CreateCheckoutSession::builder("paylink_bench")
        .metadata("internal_order_id", reference)
        .build()
        .unwrap();
    let session: CheckoutSession = serde_json::from_value(serde_json::json!({
        "id": session_id, "status": "open", "expiresAt": EXPIRES_AT,
        "metadata": {"internal_order_id": reference}
    }))
    .unwrap();
    let new = NewPayment::new(&request, &session, reference, Decimal::new(16, 2), "USDC").unwrap();
    payments.record(&new).await.unwrap();
    session.id
}

/// Verifies a delivery and hands it to the crate, which must make the
/// payment paid.
pub async fn crate_confirms(payments: &Payments, verifier: &Verifier, delivery: &Delivery) {
    let event = verifier
        .verify_parts(&delivery.body, &delivery.timestamp, &delivery.signature)
        .unwrap();
    let outcome = payments.handle_event(&event).await.unwrap();
    assert!(
        matches!(
            outcome.confirmation,
            Some(Ok(Outcome::Changed {
                to: PaymentStatus::Paid,
                ..
            }))
        ),
        "{outcome:?}"
    );
}

/// The floor's tables, beside the crate's in the same database.
const FLOOR_TABLES: Migration = Migration::new(
    1,
    "the hand-written floor's inbox and payments",
    "CREATE TABLE floor_inbox (
        dedup_key TEXT PRIMARY KEY,
        event_type TEXT,
        session_id TEXT,
        body TEXT NOT NULL,
        received_at_ms BIGINT NOT NULL
    );
    CREATE TABLE floor_payments (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL
    );",
);

/// Creates the floor's tables.
pub async fn create_floor_tables(payments: &Payments) {
    payments
        .migrate("actalink-bench-floor", &[FLOOR_TABLES])
        .await
        .unwrap();
}

/// Pre-creates open floor payments for `references`, in one statement.
pub async fn floor_open(pool: &AnyPool, references: &[String]) {
    let values: Vec<String> = references
        .iter()
        .map(|r| format!("('{}', 'open')", session_id_for(r)))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO floor_payments (id, status) VALUES {}",
        values.join(", ")
    ))
    .execute(pool)
    .await
    .unwrap();
}

/// What a hand-written handler does at the least: verify; store the event
/// with one `INSERT … ON CONFLICT DO NOTHING`; the same status call; one
/// conditional `UPDATE` to paid.
pub async fn floor_confirms(
    pool: &AnyPool,
    client: &Client,
    verifier: &Verifier,
    delivery: &Delivery,
) {
    let event = verifier
        .verify_parts(&delivery.body, &delivery.timestamp, &delivery.signature)
        .unwrap();
    let session_id = event.data.checkout_session_id.as_ref().unwrap();
    let received_at_ms = now_ms();
    sqlx::query(
        "INSERT INTO floor_inbox (dedup_key, event_type, session_id, body, received_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(event.dedup_key())
    .bind(event.event_type.as_ref().map(|t| t.as_str()))
    .bind(session_id.as_str())
    .bind(event.raw_json())
    .bind(received_at_ms)
    .execute(pool)
    .await
    .unwrap();
    let session = client.get_session(session_id).await.unwrap();
    assert!(
        session.status == actalink_checkout::SessionStatus::Success && session.id == *session_id
    );
    let paid =
        sqlx::query("UPDATE floor_payments SET status = 'paid' WHERE id = $1 AND status = 'open'")
            .bind(session_id.as_str())
            .execute(pool)
            .await
            .unwrap()
            .rows_affected();
    assert_eq!(paid, 1);
}

/// This machine's clock, in Unix milliseconds.
fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A batch of deliveries for `count` new open payments, references
/// `c<n>` (the crate's, recorded through `Payments::record`) or `f<n>`
/// (the floor's, one bulk insert) for `n` from `first`: the set-up of one
/// confirmation batch, the same for criterion and the side-by-side run.
pub async fn deliveries(payments: &Payments, floor: bool, first: u64, count: u64) -> Vec<Delivery> {
    let references: Vec<String> = (first..first + count)
        .map(|n| format!("{}{n:08}", if floor { 'f' } else { 'c' }))
        .collect();
    if floor {
        floor_open(payments.pool(), &references).await;
    } else {
        for reference in &references {
            record(payments, reference).await;
        }
    }
    references
        .iter()
        .map(|r| delivery(&session_id_for(r), &format!("evt_{r}")))
        .collect()
}

/// Confirms `deliveries` all at once, one task each, through the crate or
/// the floor, and waits for every one.
pub async fn confirm_batch(
    payments: &Payments,
    verifier: &Verifier,
    deliveries: Vec<Delivery>,
    floor: bool,
) {
    let mut set = tokio::task::JoinSet::new();
    for delivery in deliveries {
        let (payments, verifier) = (payments.clone(), verifier.clone());
        set.spawn(async move {
            if floor {
                floor_confirms(payments.pool(), payments.client(), &verifier, &delivery).await;
            } else {
                crate_confirms(&payments, &verifier, &delivery).await;
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}
