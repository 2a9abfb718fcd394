//! Real storefront processes (this package's binary) sharing one database:
//! a SQLite file always, and a PostgreSQL database when
//! `ACTALINK_TEST_POSTGRES_URL` names a server (under `CI=true` one must).
//! The sandbox runs in the test, with a webhook endpoint per instance, and
//! a fulfilment receiver on loopback records what each instance sends it.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_payments::{JobState, PaymentStatus, Payments};
use actalink_sandbox::{
    Catalogue, DEFAULT_API_KEY, EBOOK_PAYLINK, Paylink, Sandbox, WebhookEndpoint,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{act, checkout_via, get, text};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_storefront");

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    key: Option<String>,
    body: serde_json::Value,
    answered: u16,
}

#[derive(Default)]
struct ReceiverState {
    log: Mutex<Vec<Received>>,
    /// Answers 500 to the first this many requests.
    refuse_first: AtomicU16,
    /// Answers 500 to every request while set.
    refuse_all: std::sync::atomic::AtomicBool,
}

/// A fulfilment receiver on loopback.
#[derive(Clone)]
struct Receiver {
    state: Arc<ReceiverState>,
    url: String,
}

impl Receiver {
    async fn start(refuse_first: u16) -> Self {
        let state = Arc::new(ReceiverState::default());
        state.refuse_first.store(refuse_first, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/fulfil", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/fulfil", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state, url }
    }

    fn log(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.log()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    fn refuse_all(&self, refuse: bool) {
        self.state.refuse_all.store(refuse, Ordering::SeqCst);
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let refuse = state.refuse_all.load(Ordering::SeqCst)
        || state
            .refuse_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let status = if refuse {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    state.log.lock().unwrap().push(Received {
        key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        answered: status.as_u16(),
    });
    status
}

/// A running storefront process.
struct Storefront {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Storefront {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end.
    async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the storefront stops within 30 s of SIGTERM")
            .unwrap()
    }

    /// Stops the process with SIGTERM and checks that it stopped cleanly.
    async fn stop(self) {
        let log = self.log.clone();
        let status = self.terminate().await;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(status.success(), "{status:?}; log:\n{text}");
        assert!(text.contains("SIGTERM: stopping"), "{text}");
    }
}

/// The settings of a test instance: fast rechecks and retries.
fn settings(sandbox: &Sandbox, database: &str, fulfil_url: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("ACTALINK_API_KEY", DEFAULT_API_KEY.to_owned()),
        ("ACTALINK_BASE_URL", sandbox.url().to_owned()),
        ("STOREFRONT_WEBHOOK_SECRET", common::SECRET.to_owned()),
        ("STOREFRONT_DATABASE_URL", database.to_owned()),
        ("STOREFRONT_ADDR", "127.0.0.1:0".to_owned()),
        ("STOREFRONT_RECHECK_SECS", "0.2".to_owned()),
        ("STOREFRONT_RECHECK_MAX_SECS", "1".to_owned()),
        ("STOREFRONT_FULFIL_RETRY_SECS", "0.2".to_owned()),
        ("STOREFRONT_FULFIL_LEASE_SECS", "5".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    if let Some(url) = fulfil_url {
        env.push(("STOREFRONT_FULFIL_URL", url.to_owned()));
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn log_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("storefront-processes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}.log", std::process::id()))
}

/// A command running the storefront binary with `env` and nothing else
/// from the test's environment that the storefront reads.
fn command(env: &[(String, String)]) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("STOREFRONT_") || name.starts_with("ACTALINK_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

/// Starts the storefront and waits until it says where it listens.
async fn spawn(name: &str, env: &[(String, String)]) -> Storefront {
    let log = log_path(name);
    let mut child = command(env)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{name} did not start; log {}", log.display()))
        .unwrap();
    let Some(line) = line else {
        let status = child.wait().await.unwrap();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("{name} exited ({status:?}) before listening; log:\n{text}");
    };
    let url = line
        .strip_prefix("storefront on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // Keep draining stdout so that the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Storefront { child, url, log }
}

/// Runs an operator command to its end: its exit status, stdout and stderr.
async fn operator(env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        command(env).args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("the operator command ends")
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A handle on the database the processes share, for the test's own checks.
async fn records(database: &str, sandbox: &Sandbox) -> Payments {
    let client = actalink_checkout::Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .build()
        .unwrap();
    Payments::connect(database, client).await.unwrap()
}

async fn fulfilled_at(payments: &Payments, order_id: &str) -> Option<i64> {
    storefront::orders::find(payments, order_id)
        .await
        .unwrap()
        .unwrap()
        .fulfilled_at_ms
}

/// Runs `body` on a new SQLite file, then on a new PostgreSQL database when
/// a server is available.
async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    body(common::sqlite_url(test)).await;
    if let Some(db) = actalink_testkit::fresh_postgres(test).await {
        body(db.url).await;
    }
}

/// An order placed on instance A, paid, its return page opened on
/// instance B, fulfilled through a receiver that refuses the first request:
/// the receiver gets it exactly once with a 2xx, always under one key, and
/// both instances show it paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_pay_and_fulfil_an_order_once() {
    on_each_backend("two_instances", |database| async move {
        let receiver = Receiver::start(1).await;
        let sandbox = common::sandbox(None).await;
        let env = settings(&sandbox, &database, Some(&receiver.url));
        let (a, b) = tokio::join!(spawn("two-a", &env), spawn("two-b", &env));
        for instance in [&a, &b] {
            sandbox.add_webhook(WebhookEndpoint::new(
                format!("{}/webhooks/actalink", instance.url),
                common::SECRET,
            ));
        }

        let (order_id, session_id) = checkout_via(&a.url, &sandbox, EBOOK_PAYLINK).await;
        act(&sandbox, &session_id, "pay").await;
        let page = get(&format!("{}/orders/{order_id}", b.url)).await;
        assert_eq!(page.status, http::StatusCode::OK);
        assert!(
            text(&page).contains(r#"id="order-status" class="paid">paid<"#),
            "{}",
            text(&page)
        );

        assert!(
            common::eventually(|| async { !receiver.accepted().is_empty() }).await,
            "the receiver got the order; logs:\n{}\n{}",
            a.log(),
            b.log()
        );
        // Longer than several retry intervals: nothing more arrives.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let log = receiver.log();
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), 1, "{log:?}");
        assert_eq!(log.len(), 2, "one refused, one accepted: {log:?}");
        assert_eq!(log[0].answered, 500);
        let key = format!("actalink-fulfil-{session_id}");
        for request in &log {
            assert_eq!(request.key.as_deref(), Some(key.as_str()), "{log:?}");
            assert_eq!(request.body, log[0].body, "the same body every time");
        }
        let body = &accepted[0].body;
        assert_eq!(body["orderId"], order_id.as_str());
        assert_eq!(body["checkoutSessionId"], session_id.as_str());
        assert_eq!(body["amount"], "0.15");
        assert_eq!(body["currency"], "USDC");

        for instance in [&a, &b] {
            let html = text(&get(&format!("{}/orders/{order_id}", instance.url)).await);
            assert!(
                html.contains(r#"class="paid">paid<"#) && html.contains("has been fulfilled"),
                "{}: {html}",
                instance.url
            );
        }
        let payments = records(&database, &sandbox).await;
        let id = CheckoutSessionId::new(session_id.as_str()).unwrap();
        assert_eq!(payments.transitions(&id).await.unwrap().len(), 1);
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 2)),
            "refused once, then done"
        );
        // The one event went to both instances, each answering 2xx; the
        // shared inbox holds it once.
        for _ in 0..200 {
            let delivered = sandbox
                .deliveries()
                .iter()
                .filter(|d| d.session_id == id && d.delivered)
                .count();
            if delivered >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let delivered: Vec<_> = sandbox
            .deliveries()
            .into_iter()
            .filter(|d| d.session_id == id && d.delivered)
            .collect();
        assert_eq!(delivered.len(), 2, "{delivered:?}");
        assert_ne!(delivered[0].url, delivered[1].url);
        assert_eq!(payments.inbox_len().await.unwrap(), 1);
        assert!(fulfilled_at(&payments, &order_id).await.is_some());
        payments.pool().close().await;
        tokio::join!(a.stop(), b.stop());
    })
    .await;
}

/// Three instances started at once on an empty database all start: the
/// migrations run once, under a lock, whoever comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_started_at_once_on_an_empty_database_all_start() {
    on_each_backend("three_at_once", |database| async move {
        let sandbox = common::sandbox(None).await;
        let env = settings(&sandbox, &database, None);
        let (a, b, c) = tokio::join!(
            spawn("three-a", &env),
            spawn("three-b", &env),
            spawn("three-c", &env)
        );
        for instance in [&a, &b, &c] {
            let page = get(&format!("{}/", instance.url)).await;
            assert_eq!(page.status, http::StatusCode::OK, "{}", instance.log());
            let log = instance.log();
            // PostgreSQL's notice on `CREATE TABLE IF NOT EXISTS` is fine; a refusal is not.
            assert!(
                log.lines()
                    .all(|l| !l.contains("already exists") || l.contains("skipping")),
                "{log}"
            );
            assert!(!log.contains("ERROR"), "{log}");
        }
        let payments = records(&database, &sandbox).await;
        let ours: i64 = actalink_payments::sqlx::query_scalar(
            "SELECT COUNT(*) FROM actalink_schema WHERE component = 'storefront'",
        )
        .fetch_one(payments.pool())
        .await
        .unwrap();
        assert_eq!(ours, 1, "the storefront's one migration, recorded once");
        payments.pool().close().await;
        tokio::join!(a.stop(), b.stop(), c.stop());
    })
    .await;
}

/// The operator commands, against a running instance: a job that keeps
/// failing is listed dead and retried; a payment that does not match is
/// listed flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_and_retry_dead_jobs_and_list_flagged_payments() {
    on_each_backend("operators", |database| async move {
        let receiver = Receiver::start(0).await;
        receiver.refuse_all(true);
        // The sandbox sells the eBook at 0.99: the shop expects 0.15, so that
        // order is flagged. Recipe Pro sells at the expected 0.16.
        let catalogue = Catalogue::new(vec![
            Paylink::onetime(EBOOK_PAYLINK, "prod_ebook", "Recipe eBook", "0.99").unwrap(),
            Paylink::subscription(
                actalink_sandbox::PRO_PAYLINK,
                "prod_pro",
                "Recipe Pro",
                "0.16",
                3,
                actalink_checkout::types::IntervalUnit::FiveMins,
            )
            .unwrap(),
        ])
        .unwrap();
        let sandbox = Sandbox::builder()
            .catalogue(catalogue)
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let mut env = settings(&sandbox, &database, Some(&receiver.url));
        env.push(("STOREFRONT_FULFIL_MAX_ATTEMPTS".into(), "2".into()));

        let (code, out, err) = operator(&env, &["migrate"]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("migrated "), "{out}");
        let (code, out, _) = operator(&env, &["dead-jobs"]).await;
        assert_eq!((code, out.as_str()), (0, ""));

        let shop = spawn("operators", &env).await;
        let (paid, paid_session) =
            checkout_via(&shop.url, &sandbox, actalink_sandbox::PRO_PAYLINK).await;
        let (flagged, flagged_session) = checkout_via(&shop.url, &sandbox, EBOOK_PAYLINK).await;
        act(&sandbox, &paid_session, "pay").await;
        act(&sandbox, &flagged_session, "pay").await;
        for order in [&paid, &flagged] {
            get(&format!("{}/orders/{order}", shop.url)).await;
        }

        // Two refused runs, and the job is dead.
        assert!(
            common::eventually(|| async {
                operator(&env, &["dead-jobs"])
                    .await
                    .1
                    .contains(&paid_session)
            })
            .await,
            "{}",
            shop.log()
        );
        let (code, out, _) = operator(&env, &["dead-jobs"]).await;
        assert_eq!(code, 0);
        let line = out.lines().next().unwrap();
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields[..3],
            [paid_session.as_str(), paid.as_str(), "attempts=2"],
            "{line}"
        );
        assert!(fields[3].contains("500"), "{line}");
        assert_eq!(receiver.log().len(), 2);

        let (code, out, _) = operator(&env, &["flagged"]).await;
        assert_eq!(code, 0);
        let fields: Vec<&str> = out.lines().next().unwrap().split('\t').collect();
        assert_eq!(
            fields[..3],
            [flagged_session.as_str(), flagged.as_str(), "0.15 USDC"],
            "{out}"
        );
        assert!(fields[3].contains("0.99"), "{out}");
        let html = text(&get(&format!("{}/orders/{flagged}", shop.url)).await);
        assert!(
            html.contains("under review") && html.contains("looking into it"),
            "{html}"
        );

        // The receiver is fixed; the operator retries the job.
        receiver.refuse_all(false);
        let (code, out, err) = operator(&env, &["retry-job", &paid_session]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            common::eventually(|| async { receiver.accepted().len() == 1 }).await,
            "{}",
            shop.log()
        );
        let payments = records(&database, &sandbox).await;
        assert!(
            common::eventually(|| async { fulfilled_at(&payments, &paid).await.is_some() }).await
        );
        assert_eq!(
            payments
                .payment_by_reference(&flagged)
                .await
                .unwrap()
                .unwrap()
                .status,
            PaymentStatus::Flagged
        );
        assert_eq!(fulfilled_at(&payments, &flagged).await, None);
        payments.pool().close().await;

        // Nothing dead to retry now; and a missing argument is bad usage.
        let (code, _, err) = operator(&env, &["retry-job", &paid_session]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("no dead fulfilment job"), "{err}");
        let (code, _, err) = operator(&env, &["retry-job"]).await;
        assert_eq!(code, 2, "{err}");
        let (code, _, err) = operator(&env, &["fly"]).await;
        assert_eq!(code, 2, "{err}");
        shop.stop().await;
    })
    .await;
}

/// Unsafe settings stop the binary before it starts, with one sentence.
#[tokio::test]
async fn the_public_secret_with_a_real_key_is_refused_at_start() {
    let env: Vec<(String, String)> = [
        ("ACTALINK_API_KEY", "sk_live_not_a_sandbox_key"),
        ("ACTALINK_BASE_URL", "http://127.0.0.1:9"),
        ("STOREFRONT_DATABASE_URL", "sqlite::memory:"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let (code, out, err) = operator(&env, &["migrate"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("STOREFRONT_WEBHOOK_SECRET is not set"),
        "{err}"
    );
    assert!(!err.contains("sk_live_not_a_sandbox_key"), "{err}");
}
