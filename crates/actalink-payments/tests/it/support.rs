//! A scripted status server on loopback, databases on both backends, and
//! payments recorded against them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actalink_checkout::types::Decimal;
use actalink_checkout::{
    CheckoutSession, CheckoutSessionId, Client, CreateCheckoutSession, RetryPolicy,
};
use actalink_payments::{FulfilSettings, NewPayment, Payments, ReconcileSettings};
use actalink_webhooks::Event;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

/// What the status server says about one session.
#[derive(Debug, Clone)]
pub struct Remote {
    pub status: &'static str,
    pub price_hex: &'static str,
    pub currency: &'static str,
    pub reference: String,
    pub expires_at: &'static str,
    /// A metadata entry the provider sends beside the reference.
    pub extra_metadata: Option<(&'static str, &'static str)>,
}

impl Remote {
    pub fn open(reference: &str) -> Self {
        Self {
            status: "open",
            price_hex: "0x302e3136", // "0.16"
            currency: "USDC",
            reference: reference.to_owned(),
            expires_at: "2099-01-01T00:00:00.000Z",
            extra_metadata: None,
        }
    }
}

#[derive(Default)]
struct ServerState {
    sessions: Mutex<HashMap<String, Remote>>,
    down: AtomicBool,
    calls: AtomicUsize,
    delay_ms: AtomicUsize,
}

/// A loopback status endpoint whose answers the test sets.
#[derive(Clone)]
pub struct StatusServer {
    state: Arc<ServerState>,
    pub url: String,
}

impl StatusServer {
    pub async fn start() -> Self {
        let state = Arc::new(ServerState::default());
        let app = axum::Router::new()
            .route("/billing/api/v1/paysession/status", get(status))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state, url }
    }

    /// A handle on a server another process started: only its client works.
    pub fn at(url: &str) -> Self {
        Self {
            state: Arc::default(),
            url: url.to_owned(),
        }
    }

    pub fn set(&self, session: &str, remote: Remote) {
        self.state
            .sessions
            .lock()
            .unwrap()
            .insert(session.to_owned(), remote);
    }

    pub fn set_status(&self, session: &str, status: &'static str) {
        if let Some(remote) = self.state.sessions.lock().unwrap().get_mut(session) {
            remote.status = status;
        }
    }

    pub fn update(&self, session: &str, change: impl FnOnce(&mut Remote)) {
        if let Some(remote) = self.state.sessions.lock().unwrap().get_mut(session) {
            change(remote);
        }
    }

    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }

    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .api_key("sk_test_payments")
            .base_url(self.url.as_str())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }
}

async fn status(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let id = query.get("checkoutSessionId").cloned().unwrap_or_default();
    state.calls.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    if state.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let Some(remote) = state.sessions.lock().unwrap().get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "{\"message\":\"no such session\"}").into_response();
    };
    axum::Json(session_json(&id, &remote)).into_response()
}

pub fn session_json(id: &str, remote: &Remote) -> serde_json::Value {
    let mut metadata = serde_json::json!({"internal_order_id": remote.reference});
    if let Some((key, value)) = remote.extra_metadata {
        metadata[key] = value.into();
    }
    serde_json::json!({"data": {
        "id": id,
        "status": remote.status,
        "expiresAt": remote.expires_at,
        "metadata": metadata,
        "products": [{"id": "prod_1", "priceDetails": {"price": remote.price_hex, "currency": remote.currency}}]
    }})
}

/// How many migrations of its own the crate records in `actalink_schema` on
/// the database at `url`: PostgreSQL has one more than SQLite, which needs
/// no counterpart of its third.
pub fn own_migrations(url: &str) -> i64 {
    if url.starts_with("postgres") { 4 } else { 3 }
}

/// Fast settings for tests: checks due at once, short waits.
pub fn reconcile_settings() -> ReconcileSettings {
    ReconcileSettings::default()
        .with_first_check_after(Duration::ZERO)
        .with_min_interval(Duration::from_millis(100))
        .with_max_interval(Duration::from_millis(200))
        .with_idle_poll(Duration::from_millis(20))
        .with_expiry_grace(Duration::ZERO)
}

pub fn fulfil_settings() -> FulfilSettings {
    FulfilSettings::default()
        .with_retry_after(Duration::from_millis(10))
        .with_max_retry_interval(Duration::from_millis(50))
        .with_idle_poll(Duration::from_millis(20))
}

/// Runs `body` with a fresh database URL on SQLite, then on PostgreSQL when
/// a server is available (under CI one must be).
pub async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    body(actalink_testkit::fresh_sqlite(test).url).await;
    if let Some(db) = actalink_testkit::fresh_postgres(test).await {
        body(db.url).await;
    }
}

pub async fn connect(url: &str, server: &StatusServer) -> Payments {
    Payments::builder(url, server.client())
        .reconcile(reconcile_settings())
        .fulfil(fulfil_settings())
        .connect()
        .await
        .unwrap()
}

/// Records an open payment of 0.16 USDC for `reference`, with session
/// `checkout_<reference>` open on the server.
pub async fn open_payment(
    payments: &Payments,
    server: &StatusServer,
    reference: &str,
) -> CheckoutSessionId {
    let session_id = format!("checkout_{reference}");
    server.set(&session_id, Remote::open(reference));
    let request = CreateCheckoutSession::builder("paylink_1")
        .metadata("internal_order_id", reference)
        .build()
        .unwrap();
    let session: CheckoutSession = serde_json::from_value(serde_json::json!({
        "id": session_id, "status": "open", "expiresAt": "2099-01-01T00:00:00.000Z",
        "metadata": {"internal_order_id": reference}
    }))
    .unwrap();
    let new = NewPayment::new(&request, &session, reference, Decimal::new(16, 2), "USDC").unwrap();
    payments.record(&new).await.unwrap();
    session.id
}

/// As [`open_payment`], then paid: the server says `success` and a
/// confirmation makes the one transition.
pub async fn paid_payment(
    payments: &Payments,
    server: &StatusServer,
    reference: &str,
) -> CheckoutSessionId {
    let id = open_payment(payments, server, reference).await;
    server.set_status(id.as_str(), "success");
    let outcome = payments
        .confirm(&id, actalink_payments::Source::Webhook)
        .await
        .unwrap();
    assert!(outcome.changed(), "{outcome:?}");
    id
}

/// Creates one table of the merchant's own, as migration 1 of "shop".
pub async fn shop_table(payments: &Payments, name: &'static str, sql: &'static str) {
    payments
        .migrate("shop", &[actalink_payments::Migration::new(1, name, sql)])
        .await
        .unwrap();
}

/// The merchant's table of the tests' database effect: a row per shipment.
pub async fn shipments_table(payments: &Payments) {
    shop_table(
        payments,
        "shipments",
        "CREATE TABLE shipments (reference TEXT NOT NULL)",
    )
    .await;
}

/// Ships `job` and completes it in one transaction: the shipment is kept
/// only when the completion is.
pub async fn ship(
    payments: &Payments,
    job: &actalink_payments::ClaimedJob,
) -> Result<(), actalink_payments::Error> {
    let mut tx = payments.begin().await?;
    sqlx::query("INSERT INTO shipments (reference) VALUES ($1)")
        .bind(job.reference())
        .execute(&mut *tx)
        .await?;
    match payments.complete_job_in(&mut tx, job).await {
        Ok(()) => Ok(tx.commit().await?),
        Err(error) => {
            tx.rollback().await?;
            Err(error)
        }
    }
}

/// How many rows `table` holds.
pub async fn count(payments: &Payments, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(payments.pool())
        .await
        .unwrap()
}

/// A webhook event naming `session_id`, with event id `event_id`.
pub fn event(event_id: &str, session_id: &str) -> Event {
    let body = serde_json::json!({
        "id": event_id,
        "eventType": "onetime.executed",
        "eventData": {"data": {"id": "txn_1", "checkoutSessionId": session_id}}
    });
    Event::parse_unverified(body.to_string().as_bytes()).unwrap()
}
