//! Failures as scripts and people read them: one JSON object on stderr with
//! `--json`, one sentence naming where the request went without; `-v` for
//! each attempt; `session wait` showing what happens while it waits.

use std::time::Duration;

use actalink_sandbox::{PRO_PAYLINK, Sandbox};
use actalink_testkit::{StubReply, StubServer};

use crate::support::*;

#[tokio::test]
async fn every_api_failure_kind_prints_one_json_object_and_keeps_its_exit_code() {
    let sandbox = sandbox().await;
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let get_x = ["--json", "session", "get", "checkout_x"];
    let bad_metadata = [
        "--json",
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
        "--metadata",
        "nope",
    ];
    let cases: Vec<(Vec<&str>, i32, &str, Option<u16>)> = vec![
        (
            api(&sandbox, &["--json", "session", "get", "checkout_missing"]),
            1,
            "not_found",
            Some(404),
        ),
        (
            at("sk_wrong", sandbox.url(), &get_x),
            1,
            "unauthorized",
            Some(401),
        ),
        (
            with(&["--base-url", sandbox.url()], &get_x),
            2,
            "config",
            None,
        ),
        (api(&sandbox, &bad_metadata), 2, "invalid_input", None),
        (at("k", &closed, &get_x), 1, "transport", None),
        (vec!["--json", "session", "get"], 2, "usage", None),
        (vec!["session", "get", "--json"], 2, "usage", None),
        (
            with(&["--json"], &verify_args("s", "1", "00")),
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
        assert_exit_for(&output, exit, &args);
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
    let not_found = || {
        StubReply::json(404, r#"{"message":"no such session"}"#)
            .with_header("x-request-id", "req_0123")
    };
    let api = StubServer::start(vec![not_found(), not_found()]).await;
    let url = api.url();
    let args = at("k", &url, &["session", "get", "checkout_x"]);
    let output = run(&args).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no such session") && err.contains("req_0123"),
        "{err}"
    );
    assert!(
        err.contains(&format!("(request to {url})")),
        "names where it went: {err}"
    );
    let error = json_error(&run(&with(&["--json"], &args)).await);
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["status"], 404);
    assert_eq!(error["requestId"], "req_0123");
}

#[tokio::test]
async fn human_failures_are_one_sentence_naming_where_the_request_went() {
    let port = closed_port();
    let get_x = ["session", "get", "checkout_x"];
    let billing = format!("http://127.0.0.1:{port}/billing");
    let output = run(&at("sk_TOPSECRET", &billing, &get_x)).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("TOPSECRET"), "{err}");
    // A base URL with credentials is refused before any request, without them.
    let with_credentials = format!("http://user:pw_TOPSECRET@127.0.0.1:{port}/billing");
    let output = run(&at("sk_TOPSECRET", &with_credentials, &get_x)).await;
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("TOPSECRET"), "{err}");

    let sandbox = sandbox().await;
    let output = run_api(&sandbox, &["session", "get", "checkout_missing"]).await;
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
    let create_pro = ["--json", "session", "create", "--paylink", PRO_PAYLINK];
    let id = session_id(&run(&at(KEY, sandbox.url(), &create_pro)).await);
    let get = at(KEY, sandbox.url(), &["session", "get", &id]);
    // Two 503s, then the real answer: two retries, three attempts.
    inject_503(&sandbox, 2).await;
    let output = run(&with(&["-v"], &get)).await;
    assert_exit(&output, 0);
    let log = stderr(&output);
    // -v: one short line per attempt, its status and its retry, and no
    // span fields repeated.
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let path = "GET /billing/api/v1/paysession/status";
    for (line, n) in lines.iter().zip(1..) {
        assert!(
            line.starts_with(&format!("{path}: attempt {n} answered ")),
            "{log}"
        );
        assert!(line.len() < 100, "short: {line}");
    }
    assert!(lines[0].contains("answered 503, retrying in "), "{log}");
    assert!(lines[1].contains("answered 503, retrying in "), "{log}");
    assert!(lines[2].ends_with("answered 200"), "{log}");
    assert!(
        !log.contains("actalink{") && !log.contains("attempt{"),
        "{log}"
    );
    assert!(!log.contains(KEY), "{log}");

    // -vv and -vvv: every span and field, never the key (the flag goes
    // after the command too).
    for flag in ["-vv", "-vvv"] {
        inject_503(&sandbox, 1).await;
        let output = run(&with(&get, &[flag])).await;
        assert_eq!(code(&output), 0);
        let log = stderr(&output);
        assert!(log.contains("attempt{attempt=1"), "{log}");
        assert!(log.contains("response received status=503"), "{log}");
        assert!(log.contains("retrying wait_ms="), "{log}");
        assert!(log.contains("response received status=200"), "{log}");
        assert!(log.contains("attempts=2"), "the operation's summary: {log}");
        assert!(
            !log.contains(KEY) && !stdout(&output).contains(KEY),
            "{flag}: {log}"
        );
    }

    // RUST_LOG decides when set, with or without -v.
    let output = run_env(&get, &[("RUST_LOG", "actalink_transport=debug")]).await;
    assert_stderr_has(&output, "response received status=200");
    assert!(!stderr(&output).contains(KEY));
    let output = run_env(&with(&["-v"], &get), &[("RUST_LOG", "off")]).await;
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    // Quiet by default.
    let output = run(&get).await;
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[tokio::test]
async fn session_wait_shows_transient_errors_and_reports_the_last_one() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);

    // One poll's three attempts fail, then the session is paid.
    inject_503(&sandbox, 3).await;
    let waiting = spawn_run(&api(
        &sandbox,
        &["session", "wait", &id, "--interval", "0.1"],
    ));
    tokio::time::sleep(Duration::from_millis(800)).await;
    control(&sandbox, &id, "pay").await;
    let output = waiting.await.unwrap();
    assert_exit(&output, 0);
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
    let wait = ["session", "wait", &id, "--interval", "0.05"];
    let output = run_api(&sandbox, &with(&wait, &["--timeout", "1"])).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: session {id} was never fetched when the wait timed out; the last poll failed: the server failed, HTTP 503")),
        "{err}"
    );
    let json_wait = with(&["--json"], &wait);
    let output = run_api(&sandbox, &with(&json_wait, &["--timeout", "0.5"])).await;
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
    let wait = ["session", "wait", &id, "--interval", "0.05", "--timeout"];
    let output = run_api(&sandbox, &with(&wait, &["1.5"])).await;
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
    let output = run_api(&sandbox, &with(&["--json"], &with(&wait, &["0.8"]))).await;
    assert_eq!(json_error(&output)["kind"], "wait_timed_out");
}

#[tokio::test]
async fn an_unpaid_end_is_its_own_kind() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    control(&sandbox, &id, "fail").await;
    let output = run_api(&sandbox, &["--json", "session", "wait", &id]).await;
    assert_eq!(code(&output), 1);
    // The session is printed, then the failure.
    assert_eq!(json_stdout(&output)["status"], "failure");
    assert_eq!(json_error(&output)["kind"], "ended_unpaid");
}
