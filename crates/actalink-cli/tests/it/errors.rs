//! Failures as scripts and people read them: one JSON object on stderr with
//! `--json`, one sentence naming where the request went without; `-v` for
//! each attempt; `session wait` showing what happens while it waits.

use std::time::Duration;

use actalink_sandbox::{PRO_PAYLINK, Sandbox};
use actalink_testkit::{StubReply, StubServer};

use crate::support::*;

/// A port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn with_api<'a>(api: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = api.iter().map(String::as_str).collect();
    args.extend_from_slice(rest);
    args
}

#[tokio::test]
async fn every_api_failure_kind_prints_one_json_object_and_keeps_its_exit_code() {
    let sandbox = sandbox().await;
    let api = api(&sandbox);
    let port = closed_port();
    let closed = format!("http://127.0.0.1:{port}");
    let cases: Vec<(Vec<&str>, i32, &str, Option<u16>)> = vec![
        (
            with_api(&api, &["--json", "session", "get", "checkout_missing"]),
            1,
            "not_found",
            Some(404),
        ),
        (
            vec![
                "--api-key",
                "sk_wrong",
                "--base-url",
                sandbox.url(),
                "--json",
                "session",
                "get",
                "checkout_x",
            ],
            1,
            "unauthorized",
            Some(401),
        ),
        (
            vec![
                "--base-url",
                sandbox.url(),
                "--json",
                "session",
                "get",
                "checkout_x",
            ],
            2,
            "config",
            None,
        ),
        (
            with_api(
                &api,
                &[
                    "--json",
                    "session",
                    "create",
                    "--paylink",
                    PRO_PAYLINK,
                    "--metadata",
                    "nope",
                ],
            ),
            2,
            "invalid_input",
            None,
        ),
        (
            vec![
                "--api-key",
                "k",
                "--base-url",
                &closed,
                "--json",
                "session",
                "get",
                "checkout_x",
            ],
            1,
            "transport",
            None,
        ),
        (vec!["--json", "session", "get"], 2, "usage", None),
        (vec!["session", "get", "--json"], 2, "usage", None),
        (
            vec![
                "--json",
                "webhook",
                "verify",
                "--secret",
                "s",
                "--timestamp",
                "1",
                "--signature",
                "00",
            ],
            1,
            "verification_failed",
            None,
        ),
    ];
    for (args, exit, kind, status) in cases {
        let output = if args.contains(&"verify") {
            run_stdin(&args, b"{}").await
        } else {
            run(&args).await
        };
        assert_eq!(code(&output), exit, "{args:?}: {}", stderr(&output));
        let error = json_error(&output);
        assert_eq!(error["kind"], kind, "{args:?}");
        assert_eq!(
            error["status"],
            status.map_or(serde_json::Value::Null, Into::into),
            "{args:?}"
        );
        assert_eq!(error["requestId"], serde_json::Value::Null);
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
    }
}

#[tokio::test]
async fn the_request_id_and_status_come_from_the_response() {
    let api = StubServer::start(vec![
        StubReply::json(404, r#"{"message":"no such session"}"#)
            .with_header("x-request-id", "req_0123"),
        StubReply::json(404, r#"{"message":"no such session"}"#)
            .with_header("x-request-id", "req_0123"),
    ])
    .await;
    let args = [
        "--api-key",
        "k",
        "--base-url",
        &api.url(),
        "session",
        "get",
        "checkout_x",
    ];
    let output = run(&args).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no such session") && err.contains("req_0123"),
        "{err}"
    );
    assert!(
        err.contains(&format!("(request to {})", api.url())),
        "names where it went: {err}"
    );
    let mut json = vec!["--json"];
    json.extend(args);
    let output = run(&json).await;
    let error = json_error(&output);
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["status"], 404);
    assert_eq!(error["requestId"], "req_0123");
}

#[tokio::test]
async fn human_failures_are_one_sentence_naming_where_the_request_went() {
    let port = closed_port();
    let output = run(&[
        "--api-key",
        "sk_TOPSECRET",
        "--base-url",
        &format!("http://127.0.0.1:{port}/billing"),
        "session",
        "get",
        "checkout_x",
    ])
    .await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("TOPSECRET"), "{err}");
    // A base URL with credentials is refused before any request, without them.
    let output = run(&[
        "--api-key",
        "sk_TOPSECRET",
        "--base-url",
        &format!("http://user:pw_TOPSECRET@127.0.0.1:{port}/billing"),
        "session",
        "get",
        "checkout_x",
    ])
    .await;
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("TOPSECRET"), "{err}");

    let sandbox = sandbox().await;
    let output = run(&with_api(
        &api(&sandbox),
        &["session", "get", "checkout_missing"],
    ))
    .await;
    let err = stderr(&output);
    assert!(err.starts_with("error: not found, HTTP 404"), "{err}");
    assert!(
        err.trim_end()
            .ends_with(&format!("(request to {})", sandbox.url())),
        "{err}"
    );
}

#[tokio::test]
async fn verbose_shows_each_attempt_its_status_and_each_retry() {
    const KEY: &str = "sk_verbose_TOPSECRET_0123456789";
    let sandbox = Sandbox::builder()
        .api_keys([KEY])
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let created = run(&[
        "--api-key",
        KEY,
        "--base-url",
        sandbox.url(),
        "--json",
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
    ])
    .await;
    let id = session_id(&created);
    // Two 503s, then the real answer: two retries, three attempts.
    inject_503(&sandbox, 2).await;
    let output = run(&[
        "-v",
        "--api-key",
        KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "get",
        &id,
    ])
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("attempt{attempt=1"), "{log}");
    assert!(log.contains("attempt{attempt=3"), "{log}");
    assert_eq!(
        log.matches("response received status=503").count(),
        2,
        "{log}"
    );
    assert!(log.contains("response received status=200"), "{log}");
    assert_eq!(log.matches("retrying wait_ms=").count(), 2, "{log}");
    assert!(log.contains("attempts=3"), "the operation's summary: {log}");
    assert!(!log.contains(KEY), "{log}");

    // -vv and -vvv: more, never the key (the flag goes after the command too).
    for flag in ["-vv", "-vvv"] {
        let output = run(&[
            "--api-key",
            KEY,
            "--base-url",
            sandbox.url(),
            "session",
            "get",
            &id,
            flag,
        ])
        .await;
        assert_eq!(code(&output), 0);
        let log = stderr(&output);
        assert!(log.contains("response received status=200"), "{log}");
        assert!(
            !log.contains(KEY) && !stdout(&output).contains(KEY),
            "{flag}: {log}"
        );
    }

    // RUST_LOG decides when set, with or without -v.
    let output = run_env(
        &[
            "--api-key",
            KEY,
            "--base-url",
            sandbox.url(),
            "session",
            "get",
            &id,
        ],
        &[("RUST_LOG", "actalink_transport=debug")],
    )
    .await;
    assert!(
        stderr(&output).contains("response received status=200"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains(KEY));
    let output = run_env(
        &[
            "-v",
            "--api-key",
            KEY,
            "--base-url",
            sandbox.url(),
            "session",
            "get",
            &id,
        ],
        &[("RUST_LOG", "off")],
    )
    .await;
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    // Quiet by default.
    let output = run(&[
        "--api-key",
        KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "get",
        &id,
    ])
    .await;
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

/// Queues `count` 503 answers (with `Retry-After: 0`, so retries are quick).
async fn inject_503(sandbox: &actalink_sandbox::RunningSandbox, count: u32) {
    let url = format!("{}/__sandbox/faults", sandbox.url());
    let body = format!(r#"{{"kind":"status","status":503,"retryAfter":"0","count":{count}}}"#);
    let request = actalink_transport::Request::new(http::Method::POST, url)
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )
        .with_body(body);
    let transport = actalink_transport::ReqwestTransport::new().unwrap();
    let response = actalink_transport::Transport::send(&transport, request)
        .await
        .unwrap();
    assert!(response.status.is_success(), "{:?}", response.body);
}

#[tokio::test]
async fn session_wait_shows_transient_errors_and_reports_the_last_one() {
    let sandbox = sandbox().await;
    let api = api(&sandbox);
    let id = session_id(&create(&sandbox, &[]).await);

    // One poll's three attempts fail, then the session is paid.
    inject_503(&sandbox, 3).await;
    let waiting = tokio::spawn({
        let args: Vec<String> = with_api(&api, &["session", "wait", &id, "--interval", "0.1"])
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        async move { actalink().args(&args).output().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    control(&sandbox, &id, "pay").await;
    let output = waiting.await.unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let log = stderr(&output);
    assert!(
        log.contains(&format!(
            "{id}: a poll failed, polling on: the server failed, HTTP 503"
        )),
        "{log}"
    );
    assert!(log.contains(&format!("{id}: open")), "{log}");
    assert!(log.contains(&format!("{id}: success")), "{log}");

    // Every poll fails until the deadline: the last error is reported.
    let id = session_id(&create(&sandbox, &[]).await);
    inject_503(&sandbox, 1000).await;
    let output = run(&with_api(
        &api,
        &[
            "session",
            "wait",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "1",
        ],
    ))
    .await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: session {id} was never fetched when the wait timed out; the last poll failed: the server failed, HTTP 503")),
        "{err}"
    );
    let output = run(&with_api(
        &api,
        &[
            "--json",
            "session",
            "wait",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "0.5",
        ],
    ))
    .await;
    assert_eq!(code(&output), 1);
    let error = json_error(&output);
    assert_eq!(error["kind"], "wait_timed_out");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("the last poll failed"),
        "{error}"
    );
}

#[tokio::test]
async fn session_wait_on_a_cancelled_session_says_it_is_still_open() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    let output = run(&["--base-url", sandbox.url(), "sandbox", "cancel", &id]).await;
    assert_eq!(code(&output), 0);
    let output = run(&with_api(
        &api(&sandbox),
        &[
            "session",
            "wait",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "1.5",
        ],
    ))
    .await;
    assert_eq!(code(&output), 1);
    let log = stderr(&output);
    let reminders = log.matches(&format!("{id}: still open after")).count();
    assert!(reminders >= 1, "{log}");
    // At most one reminder every ten polls: 1.5 s at 50 ms is at most 30 polls.
    assert!(reminders <= 3, "{log}");
    assert!(
        log.contains("leaves it open (so does the sandbox's cancel)"),
        "{log}"
    );
    assert!(
        log.contains("was still open when the wait timed out"),
        "{log}"
    );
    // The session's expiry, as RFC 3339.
    assert!(log.contains("expires at 20"), "{log}");
    // With --json, stderr holds only the failure.
    let output = run(&with_api(
        &api(&sandbox),
        &[
            "--json",
            "session",
            "wait",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "0.8",
        ],
    ))
    .await;
    assert_eq!(json_error(&output)["kind"], "wait_timed_out");
}

#[tokio::test]
async fn an_unpaid_end_is_its_own_kind() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    control(&sandbox, &id, "fail").await;
    let output = run(&with_api(
        &api(&sandbox),
        &["--json", "session", "wait", &id],
    ))
    .await;
    assert_eq!(code(&output), 1);
    // The session is printed, then the failure.
    let session: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(session["status"], "failure");
    assert_eq!(json_error(&output)["kind"], "ended_unpaid");
}
