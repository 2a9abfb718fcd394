//! The guarantees that only separate processes can show: migrations run
//! once, racing checks make one transition, a paused worker's lease is
//! fenced, a process killed inside a check or a job loses nothing. Each test starts copies of this test binary in a child role
//! (`child`, ignored in normal runs) against one database: a SQLite file
//! shared by the processes, and a PostgreSQL database when one is available.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actalink_checkout::CheckoutSessionId;
use actalink_payments::{JobState, PaymentStatus, Source};

use crate::support::{
    StatusServer, connect, count, event, on_each_backend, open_payment, own_migrations,
    paid_payment, ship, shipments_table,
};

const ROLE: &str = "PAYMENTS_TEST_ROLE";

/// Starts this test binary as a child in `role`, on `url`, asking `status_url`.
fn spawn(role: &str, url: &str, status_url: &str, extra: &[(&str, String)]) -> Child {
    let mut command = child_command(
        Command::new(std::env::current_exe().unwrap()),
        role,
        url,
        status_url,
    );
    for (key, value) in extra {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

/// `command`, which runs this test binary, made to run it as a child in
/// `role` on `url`, asking `status_url`, its results on a pipe.
fn child_command(mut command: Command, role: &str, url: &str, status_url: &str) -> Command {
    command
        .args([
            "--exact",
            "processes::child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ROLE, role)
        .env("PAYMENTS_TEST_URL", url)
        .env("PAYMENTS_TEST_STATUS_URL", status_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// The lines a child printed that start with `=> `, after it exits successfully.
fn results(child: Child) -> Vec<String> {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "child failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("=> ").map(str::to_owned))
        .collect()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_an_empty_database_migrate_once() {
    on_each_backend("processes_migrate", |url| async move {
        let server = StatusServer::start().await;
        let children: Vec<Child> = (0..3)
            .map(|_| spawn("migrate", &url, &server.url, &[]))
            .collect();
        for child in children {
            assert_eq!(results(child), ["migrated"]);
        }
        let payments = connect(&url, &server).await;
        assert_eq!(
            count(&payments, "actalink_schema").await,
            own_migrations(&url),
            "each migration recorded once"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_return_page_and_reconciler_in_three_processes_make_one_transition() {
    on_each_backend("processes_race", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let mut ids = Vec::new();
        for n in 0..20 {
            let id = open_payment(&payments, &server, &format!("ORD-RACE-{n}")).await;
            server.set_status(id.as_str(), "success");
            ids.push(id);
        }
        // Slow answers widen the window in which all three are between fetch and update.
        server.set_delay(Duration::from_millis(20));
        let start = (now_ms() + 1500).to_string();
        let sessions = ids
            .iter()
            .map(|id| id.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let children: Vec<Child> = ["webhook", "return_page", "reconciler"]
            .iter()
            .map(|role| {
                spawn(
                    role,
                    &url,
                    &server.url,
                    &[
                        ("PAYMENTS_TEST_START", start.clone()),
                        ("PAYMENTS_TEST_SESSIONS", sessions.clone()),
                    ],
                )
            })
            .collect();
        let mut changed = 0;
        for child in children {
            changed += results(child).iter().filter(|l| *l == "changed").count();
        }
        assert_eq!(
            changed,
            ids.len(),
            "one transition per payment across the processes"
        );
        for id in &ids {
            assert_eq!(
                payments.payment(id).await.unwrap().unwrap().status,
                PaymentStatus::Paid
            );
            assert_eq!(payments.transitions(id).await.unwrap().len(), 1);
            assert_eq!(
                payments.job_state(id).await.unwrap(),
                Some((JobState::Pending, 0))
            );
        }
        assert_eq!(
            count(&payments, "actalink_payments WHERE job_state IS NOT NULL").await,
            20
        );
    })
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_cannot_complete_the_job() {
    on_each_backend("processes_fencing", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = paid_payment(&payments, &server, "ORD-PAUSE").await;
        shipments_table(&payments).await;

        // The child claims the job with a 1 s lease, says so, and 300 ms later
        // ships the order and completes the job in one transaction.
        let mut child = spawn("hold_job", &url, &server.url, &[]);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let claimed = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("=> "));
        assert_eq!(claimed.as_deref(), Some("=> claimed"));
        let pid = child.id().to_string();
        // Paused before it can complete, for longer than its lease.
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success()
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let takeover = payments
            .claim_job(Duration::from_secs(30))
            .await
            .unwrap()
            .expect("the lease ended");
        assert_eq!(takeover.attempt(), 2);
        assert!(
            Command::new("kill")
                .args(["-CONT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let rest: Vec<String> = lines
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("=> ").map(str::to_owned))
            .collect();
        assert!(child.wait().unwrap().success());
        assert_eq!(
            rest,
            ["lease lost"],
            "the paused worker's completion is refused"
        );
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Pending, 2))
        );
        ship(&payments, &takeover).await.unwrap();
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Done, 2))
        );
        // The effect made in the completing transaction happened once: the
        // paused worker's shipment was rolled back with its refused completion.
        assert_eq!(count(&payments, "shipments").await, 1);
    })
    .await;
}

/// Starts a child in `role` whose clock is `offset_secs` away from this
/// machine's (libfaketime; the monotonic clock is left alone for tokio).
fn spawn_shifted(role: &str, url: &str, status_url: &str, offset_secs: i64) -> Child {
    let mut faketime = Command::new("faketime");
    faketime
        .args(["-f", &format!("{offset_secs:+}")])
        .arg(std::env::current_exe().unwrap())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    child_command(faketime, role, url, status_url)
        .spawn()
        .unwrap()
}

/// Instances whose clocks are ten minutes ahead or behind neither take a
/// lease over early nor leave a due record unchecked: every lease and due
/// time is the database's. On PostgreSQL only: SQLite runs inside each
/// process, so its clock is the process's (one clock per machine, in
/// production; libfaketime gives each process its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_with_skewed_clocks_follow_the_database_clock() {
    let Some(db) = actalink_testkit::fresh_postgres("processes_clock_skew").await else {
        return;
    };
    if Command::new("faketime").arg("--version").output().is_err() {
        actalink_testkit::skip(
            "processes_clock_skew",
            "no faketime (Debian package faketime)",
        );
        return;
    }
    let url = db.url;
    let server = StatusServer::start().await;
    let payments = connect(&url, &server).await;
    paid_payment(&payments, &server, "ORD-CLOCK").await;
    let held = payments
        .claim_job(Duration::from_secs(120))
        .await
        .unwrap()
        .unwrap();

    // Ten minutes ahead: by its own clock the 2-minute lease is long over.
    let ahead = results(spawn_shifted("claim_shifted", &url, &server.url, 600));
    let skew: i64 = ahead[0].strip_prefix("clock ").unwrap().parse().unwrap();
    assert!(skew > 590_000, "the child's clock is ahead: {skew} ms");
    assert_eq!(ahead[1], "none", "no early takeover");

    // Ten minutes behind: a record due now by the database is checked.
    let due = open_payment(&payments, &server, "ORD-CLOCK-DUE").await;
    let behind = results(spawn_shifted("reconcile_shifted", &url, &server.url, -600));
    let skew: i64 = behind[0].strip_prefix("clock ").unwrap().parse().unwrap();
    assert!(skew < -590_000, "the child's clock is behind: {skew} ms");
    assert_eq!(behind[1], "checked 1");
    assert_eq!(
        payments
            .payment(&due)
            .await
            .unwrap()
            .unwrap()
            .check_attempts,
        1
    );
    payments.complete_job(&held).await.unwrap();
}

/// Another process, told by the provider that a paid session failed,
/// expired or is open past its expiry, leaves the record paid; a flagged
/// record stays flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_states_never_move_when_another_process_checks_them() {
    on_each_backend("processes_final", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let paid = paid_payment(&payments, &server, "ORD-FINAL").await;
        let flagged = open_payment(&payments, &server, "ORD-FLAG").await;
        server.set_status(flagged.as_str(), "success");
        server.update(flagged.as_str(), |r| r.price_hex = "0x302e3135");
        assert_eq!(
            payments
                .confirm(&flagged, Source::Webhook)
                .await
                .unwrap()
                .status(),
            Some(PaymentStatus::Flagged)
        );
        for late in ["failure", "timeout", "open"] {
            for id in [&paid, &flagged] {
                server.set_status(id.as_str(), late);
                server.update(id.as_str(), |r| {
                    r.expires_at = "2000-01-01T00:00:00.000Z";
                    r.price_hex = "0x302e3136";
                });
            }
            let sessions = format!("{},{}", paid.as_str(), flagged.as_str());
            let said = results(spawn(
                "confirm_late",
                &url,
                &server.url,
                &[("PAYMENTS_TEST_SESSIONS", sessions)],
            ));
            assert_eq!(said, ["paid", "flagged"], "{late}");
        }
        assert_eq!(payments.transitions(&paid).await.unwrap().len(), 1);
        assert_eq!(payments.transitions(&flagged).await.unwrap().len(), 1);
        assert_eq!(payments.job_state(&flagged).await.unwrap(), None);
    })
    .await;
}

/// Runs one reconciler scan in another process and checks that it made the
/// payment `id` paid: its one transition, from the reconciler.
async fn confirmed_by_another_reconciler(
    payments: &actalink_payments::Payments,
    url: &str,
    server: &StatusServer,
    id: &CheckoutSessionId,
) {
    let said = results(spawn(
        "reconciler",
        url,
        &server.url,
        &[("PAYMENTS_TEST_START", now_ms().to_string())],
    ));
    assert_eq!(said, ["changed"]);
    let history = payments.transitions(id).await.unwrap();
    assert_eq!((history.len(), history[0].source), (1, Source::Reconciler));
}

/// A process whose provider is down still stores (and so acknowledges) the
/// event, and marks nothing paid; another process's reconciler confirms it
/// once the provider is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stored_while_the_provider_is_down_is_confirmed_by_another_process() {
    on_each_backend("processes_ack", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-ACK").await;
        server.set_status(id.as_str(), "success");
        server.set_down(true);
        let said = results(spawn(
            "webhook_down",
            &url,
            &server.url,
            &[("PAYMENTS_TEST_SESSIONS", id.as_str().to_owned())],
        ));
        assert_eq!(said, ["stored, not confirmed"]);
        assert_eq!(payments.inbox_len().await.unwrap(), 1);
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Open
        );
        server.set_down(false);
        confirmed_by_another_reconciler(&payments, &url, &server, &id).await;
    })
    .await;
}

/// A process killed (SIGKILL) after it stored an event and before its check
/// finished loses nothing: the event is in the inbox, the payment still
/// open; the provider's redelivery of the event it never acknowledged is a
/// duplicate, and another process's reconciler confirms the payment once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_storing_an_event_and_its_check_loses_nothing() {
    on_each_backend("processes_killed", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        let id = open_payment(&payments, &server, "ORD-KILLED").await;
        server.set_status(id.as_str(), "success");
        // The child's status call hangs: it is killed inside its check.
        server.set_delay(Duration::from_secs(30));
        let mut child = spawn(
            "webhook_hangs",
            &url,
            &server.url,
            &[("PAYMENTS_TEST_SESSIONS", id.as_str().to_owned())],
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while server.calls() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never called the provider"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap();
        assert!(!child.wait().unwrap().success());
        server.set_delay(Duration::ZERO);
        assert_eq!(
            payments.inbox_len().await.unwrap(),
            1,
            "stored before the check"
        );
        assert_eq!(
            payments.payment(&id).await.unwrap().unwrap().status,
            PaymentStatus::Open
        );
        assert!(payments.transitions(&id).await.unwrap().is_empty());
        let again = payments
            .handle_event(&event("evt_killed", id.as_str()))
            .await
            .unwrap();
        assert!(again.duplicate, "{again:?}");
        confirmed_by_another_reconciler(&payments, &url, &server, &id).await;
        assert_eq!(
            payments.job_state(&id).await.unwrap(),
            Some((JobState::Pending, 0))
        );
    })
    .await;
}

/// A worker killed (SIGKILL) in the middle of a run of jobs, inside the
/// transaction that ships an order and completes its job, loses nothing
/// and repeats nothing: its open transaction is rolled back, the survivor
/// takes its jobs over when their leases end, every job ends done and every
/// order is shipped exactly once; a SQLite file shared with the killed
/// process passes its integrity check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_leaves_every_job_done_once() {
    const JOBS: i64 = 40;
    on_each_backend("processes_worker_killed", |url| async move {
        let server = StatusServer::start().await;
        let payments = connect(&url, &server).await;
        shipments_table(&payments).await;
        for n in 0..JOBS {
            paid_payment(&payments, &server, &format!("ORD-W{n}")).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut child = spawn("slow_worker", &url, &server.url, &[]);
        // The child says which order it holds inside an open transaction;
        // the fifth one it holds for good.
        let stdout = child.stdout.take().unwrap();
        let held = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("=> holding ").map(str::to_owned))
                .nth(4)
        })
        .await
        .unwrap()
        .expect("the child held five jobs");
        child.kill().unwrap();
        assert!(!child.wait().unwrap().success());
        let shipped: Vec<String> = sqlx::query_scalar("SELECT reference FROM shipments")
            .fetch_all(payments.pool())
            .await
            .unwrap();
        assert_eq!(shipped.len(), 4, "{shipped:?}");
        assert!(
            !shipped.contains(&held),
            "the open transaction was rolled back"
        );
        // The survivor: the dead worker's jobs come due when their 1 s
        // leases end.
        loop {
            match payments.claim_job(Duration::from_secs(30)).await.unwrap() {
                Some(job) => ship(&payments, &job).await.unwrap(),
                None if count(&payments, "shipments").await == JOBS => break,
                None => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "jobs left undone: {} shipped",
                        count(&payments, "shipments").await
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT reference) FROM shipments")
            .fetch_one(payments.pool())
            .await
            .unwrap();
        assert_eq!(distinct, JOBS, "every order shipped once");
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM actalink_payments WHERE job_state = 'done'")
                .fetch_one(payments.pool())
                .await
                .unwrap();
        assert_eq!(done, JOBS);
        if payments.backend() == actalink_payments::Backend::Sqlite {
            let check: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(payments.pool())
                .await
                .unwrap();
            assert_eq!(check, "ok");
        }
    })
    .await;
}

/// The child side of the tests above; does nothing unless started by them.
#[test]
#[ignore = "run by the process tests in a child process"]
fn child() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let url = std::env::var("PAYMENTS_TEST_URL").unwrap();
    let status_url = std::env::var("PAYMENTS_TEST_STATUS_URL").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let server = StatusServer::at(&status_url);
        let payments = connect(&url, &server).await;
        match role.as_str() {
            "migrate" => println!("=> migrated"),
            "claim_shifted" | "reconcile_shifted" => {
                let own = i64::try_from(now_ms()).unwrap();
                println!(
                    "=> clock {}",
                    own - payments.database_now_ms().await.unwrap()
                );
                if role == "claim_shifted" {
                    let job = payments.claim_job(Duration::from_secs(30)).await.unwrap();
                    println!("=> {}", if job.is_some() { "claimed" } else { "none" });
                } else {
                    println!(
                        "=> checked {}",
                        payments.reconcile_due().await.unwrap().checked
                    );
                }
            }
            "confirm_late" => {
                let sessions = std::env::var("PAYMENTS_TEST_SESSIONS").unwrap();
                for session in sessions.split(',') {
                    let id = CheckoutSessionId::new(session).unwrap();
                    let outcome = payments.confirm(&id, Source::Reconciler).await.unwrap();
                    assert!(!outcome.changed(), "{outcome:?}");
                    println!("=> {}", outcome.status().unwrap());
                }
                payments.reconcile_due().await.unwrap();
            }
            "webhook_down" => {
                let session = std::env::var("PAYMENTS_TEST_SESSIONS").unwrap();
                let outcome = payments
                    .handle_event(&event("evt_down", &session))
                    .await
                    .unwrap();
                let confirmed = matches!(outcome.confirmation, Some(Ok(_)));
                println!(
                    "=> stored, {}",
                    if confirmed {
                        "confirmed"
                    } else {
                        "not confirmed"
                    }
                );
            }
            "webhook_hangs" => {
                // Killed by the test while its status call hangs.
                let session = std::env::var("PAYMENTS_TEST_SESSIONS").unwrap();
                let outcome = payments.handle_event(&event("evt_killed", &session)).await;
                panic!("the check should have hung, not returned {outcome:?}");
            }
            "slow_worker" => {
                // Ships and completes each job in one transaction that stays
                // open 10 ms, the fifth for a minute: the test kills it there.
                let mut held = 0;
                while let Some(job) = payments.claim_job(Duration::from_secs(1)).await.unwrap() {
                    let mut tx = payments.begin().await.unwrap();
                    sqlx::query("INSERT INTO shipments (reference) VALUES ($1)")
                        .bind(job.reference())
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    held += 1;
                    println!("=> holding {}", job.reference());
                    let open = if held == 5 { 60_000 } else { 10 };
                    tokio::time::sleep(Duration::from_millis(open)).await;
                    payments.complete_job_in(&mut tx, &job).await.unwrap();
                    tx.commit().await.unwrap();
                }
                panic!("the worker should have been killed before it ran out of jobs");
            }
            "hold_job" => {
                let job = payments
                    .claim_job(Duration::from_secs(1))
                    .await
                    .unwrap()
                    .unwrap();
                println!("=> claimed");
                tokio::time::sleep(Duration::from_millis(300)).await;
                match ship(&payments, &job).await {
                    Ok(()) => println!("=> completed"),
                    Err(actalink_payments::Error::LeaseLost) => println!("=> lease lost"),
                    Err(other) => panic!("{other}"),
                }
            }
            racer => {
                let start: u128 = std::env::var("PAYMENTS_TEST_START")
                    .unwrap()
                    .parse()
                    .unwrap();
                let wait = start.saturating_sub(now_ms());
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
                if racer == "reconciler" {
                    // The real scan: claims the due payments and checks them.
                    let report = payments.reconcile_due().await.unwrap();
                    for _ in 0..report.changed {
                        println!("=> changed");
                    }
                    return;
                }
                let sessions = std::env::var("PAYMENTS_TEST_SESSIONS").unwrap();
                let mut tasks = Vec::new();
                for (n, session) in sessions.split(',').enumerate() {
                    let (payments, id) =
                        (payments.clone(), CheckoutSessionId::new(session).unwrap());
                    let webhook = racer == "webhook";
                    tasks.push(tokio::spawn(async move {
                        if webhook {
                            let outcome = payments
                                .handle_event(&event(&format!("evt_race_{n}"), id.as_str()))
                                .await
                                .unwrap();
                            matches!(outcome.confirmation, Some(Ok(ref o)) if o.changed())
                        } else {
                            payments
                                .confirm(&id, Source::ReturnPage)
                                .await
                                .unwrap()
                                .changed()
                        }
                    }));
                }
                for task in tasks {
                    println!(
                        "=> {}",
                        if task.await.unwrap() {
                            "changed"
                        } else {
                            "unchanged"
                        }
                    );
                }
            }
        }
    });
}
