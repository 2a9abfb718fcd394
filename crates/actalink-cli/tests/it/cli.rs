//! The built `actalink` binary, run for every subcommand and exit code
//! against a sandbox on loopback.

use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK};
use tokio::process::Command;

use crate::support::*;

#[tokio::test]
async fn demo_walks_every_step_and_exits_0() {
    let output = run(&["demo"]).await;
    assert_exit(&output, 0);
    assert_contains_all(
        &stdout(&output),
        &[
            "1. Order arrives",
            "4. Customer pays",
            "6. Webhook verified",
            "7. Status confirmed",
            "demo: every step held (7/7)",
        ],
    );
    let json = run(&["--json", "demo"]).await;
    assert_eq!(code(&json), 0);
    let summary = json_stdout(&json);
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["steps"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn session_create_and_get_print_the_session() {
    let sandbox = sandbox().await;
    let metadata = metadata_args(&["internal_order_id=ORD-9", "note=a=b"]);
    let output = create(
        &sandbox,
        &with(&metadata, &["--success-url", "https://shop.example/ok"]),
    )
    .await;
    assert_exit(&output, 0);
    let session = json_stdout(&output);
    assert_eq!(session["status"], "open");
    assert_eq!(session["successUrl"], "https://shop.example/ok");
    let id = session["id"].as_str().unwrap();

    let output = run_api(&sandbox, &["--json", "session", "get", id]).await;
    assert_exit(&output, 0);
    let session = json_stdout(&output);
    assert_eq!(session["metadata"]["internal_order_id"], "ORD-9");
    assert_eq!(
        session["metadata"]["note"], "a=b",
        "only the first = splits"
    );

    // Human output, with the key and URL from the environment.
    let env = [
        ("ACTALINK_API_KEY", DEFAULT_API_KEY),
        ("ACTALINK_BASE_URL", sandbox.url()),
    ];
    let output = run_env(&["session", "get", id], &env).await;
    assert_eq!(code(&output), 0);
    assert_contains_all(
        &stdout(&output),
        &[
            &format!("id          {id}"),
            "status      open",
            "Recipe Pro · 0.16 USDC every 15 minutes",
        ],
    );
}

#[tokio::test]
async fn bad_input_exits_2_before_any_request() {
    let sandbox = sandbox().await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--metadata", "no-equals-sign"], "is not KEY=VALUE"),
        (vec!["--metadata", "=v"], "metadata keys must not be empty"),
        (vec!["--success-url", "not a url"], "--success-url "),
        (vec!["--cancel-url", "javascript:alert(1)"], "--cancel-url "),
        (vec!["--failure-url", "/orders/1"], "--failure-url "),
    ];
    for (extra, message) in cases {
        assert_fails(&create(&sandbox, &extra).await, 2, message);
    }
    let many: Vec<String> = (0..51).map(|i| format!("k{i}=v")).collect();
    let pairs: Vec<&str> = many.iter().map(String::as_str).collect();
    let extra = metadata_args(&pairs);
    assert_fails(&create(&sandbox, &extra).await, 2, "at most 50 keys");
    // No API key.
    let create_pro = ["session", "create", "--paylink", PRO_PAYLINK];
    let output = run(&with(&["--base-url", sandbox.url()], &create_pro)).await;
    assert_fails(&output, 2, "no API key");
    // A session id with a space; a bad interval.
    let output = run(&at("k", sandbox.url(), &["session", "get", "a b"])).await;
    assert_eq!(code(&output), 2);
    let wait = ["session", "wait", "checkout_x", "--interval", "-1"];
    assert_eq!(code(&run(&at("k", sandbox.url(), &wait)).await), 2);
    // Usage errors.
    assert_eq!(code(&run(&["session", "create"]).await), 2);
    assert_eq!(code(&run(&["frobnicate"]).await), 2);
    assert_eq!(code(&run(&["--help"]).await), 0);
    assert_eq!(sandbox.session_count(), 0, "nothing reached the sandbox");
}

#[tokio::test]
async fn api_errors_exit_1_with_one_sentence() {
    let sandbox = sandbox().await;
    let output = run_api(&sandbox, &["session", "get", "checkout_missing"]).await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).starts_with("error: not found, HTTP 404"),
        "{}",
        stderr(&output)
    );
    let create_pro = ["session", "create", "--paylink", PRO_PAYLINK];
    let output = run(&at("sk_wrong", sandbox.url(), &create_pro)).await;
    assert_fails(&output, 1, "refused the API key");
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[tokio::test]
async fn session_wait_exits_0_when_paid_and_1_on_timeout_or_unpaid_end() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    let args = api(&sandbox, &["session", "wait", &id, "--interval", "0.2"]);

    // Times out while open.
    let output = run(&with(&args, &["--timeout", "0.5"])).await;
    assert_fails(&output, 1, "was still open when the wait timed out");
    assert!(
        stderr(&output).contains(&format!("{id}: open")),
        "plain progress lines off a terminal"
    );

    // Paid while waiting.
    let waiting = spawn_run(&args);
    tokio::time::sleep(Duration::from_millis(500)).await;
    control(&sandbox, &id, "pay").await;
    let output = waiting.await.unwrap();
    assert_exit(&output, 0);
    assert!(
        has_row(&stdout(&output), &["status", "success"]),
        "{}",
        stdout(&output)
    );

    // Ended unpaid.
    let id = session_id(&create(&sandbox, &[]).await);
    control(&sandbox, &id, "fail").await;
    let output = run_api(&sandbox, &["session", "wait", &id]).await;
    assert_fails(&output, 1, "ended unpaid: failure");
}

const BODY: &str = r#"{"id":"evt_1","eventType":"onetime.executed","eventData":{"data":{"metadata":{"internal_order_id":"ORD-1"}}}}"#;

/// `--json webhook sign` of [`BODY`] with these extra arguments: (timestamp, signature).
async fn sign_body(extra: &[&str]) -> (String, String) {
    let output = run_stdin(
        &with(&["--json", "webhook", "sign"], extra),
        BODY.as_bytes(),
    )
    .await;
    assert_exit(&output, 0);
    let signed = json_stdout(&output);
    let field = |name: &str| signed[name].as_str().unwrap().to_owned();
    (field("timestamp"), field("signature"))
}

#[tokio::test]
async fn webhook_sign_then_verify_from_stdin_and_file() {
    let (timestamp, signature) = sign_body(&["--secret", "whsec_cli"]).await;
    assert_eq!(signature.len(), 64);

    let verify = verify_args("whsec_cli", &timestamp, &signature);
    let output = run_stdin(&verify, BODY.as_bytes()).await;
    assert_exit(&output, 0);
    // Whatever the label column's width (other rows may be added).
    assert!(
        has_row(&stdout(&output), &["valid", "yes"]),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("internal_order_id=ORD-1"));

    let dir = TempDir::new("cli");
    let file = dir.write("body.json", BODY.replace("ORD-1", "ORD-2"));
    let output = run(&with(&verify, &[file.to_str().unwrap()])).await;
    assert_fails(
        &output,
        1,
        "verification failed: the signature does not match",
    );

    let missing = with(&verify, &["/nonexistent/body.json"]);
    assert_eq!(code(&run(&missing).await), 2);
}

#[tokio::test]
async fn webhook_verify_applies_the_tolerance_and_sign_rejects_non_json() {
    let (_, signature) = sign_body(&["--secret", "s", "--timestamp", "1756481736348"]).await;
    let old = verify_args("s", "1756481736348", &signature);
    assert_the_tolerance_applies(&old, BODY.as_bytes()).await;
    assert_sign_checks_the_body(BODY.as_bytes()).await;
}

#[tokio::test]
async fn sandbox_serves_until_interrupted() {
    let args = [
        "--api-key",
        "sk_cli_sandbox",
        "--json",
        "sandbox",
        "--addr",
        "127.0.0.1:0",
    ];
    let (first, child) = start_serving(&args, &[]).await;
    let info: serde_json::Value = serde_json::from_str(&first).unwrap();
    let url = info["url"].as_str().unwrap().to_owned();
    assert_eq!(info["apiKey"], "sk_cli_sandbox");

    let create_pro = ["--json", "session", "create", "--paylink", PRO_PAYLINK];
    assert_exit(&run(&at("sk_cli_sandbox", &url, &create_pro)).await, 0);
    interrupt(child).await;
    // And the webhook flags go together.
    let output = run(&["sandbox", "--webhook-url", "http://127.0.0.1:9/x"]).await;
    assert_eq!(code(&output), 2);
}

#[tokio::test]
async fn session_wait_shows_a_spinner_on_a_terminal() {
    // `script` (util-linux) gives the command a pseudo-terminal.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        actalink_testkit::skip("spinner test", "`script` (util-linux) is not installed");
        return;
    }
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    let command = format!(
        "{} --api-key {DEFAULT_API_KEY} --base-url {} session wait {id} --interval 0.2 --timeout 1.5",
        env!("CARGO_BIN_EXE_actalink"),
        sandbox.url()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(code(&output), 1, "the wait times out: {screen}");
    // The spinner's template shows the status and the elapsed time, redrawn in place.
    assert_contains_all(
        &screen,
        &[
            &format!("{id}: open ("),
            "was still open when the wait timed out",
        ],
    );
    assert!(
        screen.contains('\r') || screen.contains("\u{1b}["),
        "redrawn in place: {screen:?}"
    );
}

#[tokio::test]
async fn absurd_wait_durations_exit_2_before_any_request() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    let before = api_requests(&sandbox).await;
    for (flag, value, message) in [
        (
            "--timeout",
            "1e19",
            "is not a duration: give 90s, 5m, 1h30m",
        ),
        ("--timeout", "NaN", "is not a duration"),
        ("--timeout", "inf", "is not a duration"),
        ("--timeout", "-5", "is not a duration"),
        ("--timeout", "5 minutes", "is not a duration"),
        (
            "--timeout",
            "0",
            "--timeout must be from 1ms to 7d, not 0ms",
        ),
        (
            "--timeout",
            "604801",
            "--timeout must be from 1ms to 7d, not 7d1s",
        ),
        (
            "--timeout",
            "8d",
            "--timeout must be from 1ms to 7d, not 8d",
        ),
        (
            "--timeout",
            "99999999999999999999999999h",
            "is not a duration",
        ),
        ("--interval", "1e19", "is not a duration"),
        ("--interval", "nan", "is not a duration"),
        ("--interval", "-inf", "is not a duration"),
        (
            "--interval",
            "3601",
            "--interval must be from 10ms to 1h, not 1h1s",
        ),
        (
            "--interval",
            "0.0001",
            "--interval must be from 10ms to 1h, not 0ms",
        ),
        (
            "--interval",
            "2h",
            "--interval must be from 10ms to 1h, not 2h",
        ),
    ] {
        // `--flag=value`, so that clap takes "-5" as a value.
        let flag_value = format!("{flag}={value}");
        let output = run_api(&sandbox, &["session", "wait", &id, &flag_value]).await;
        assert_fails(&output, 2, message);
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
    assert_eq!(api_requests(&sandbox).await, before, "nothing was sent");
}

#[tokio::test]
async fn sandbox_never_takes_or_prints_a_key_from_the_environment() {
    const REAL: &str = "sk_live_REALKEY_0123456789abcdef";
    const SECRET: &str = "whsec_ENVSECRET_0123456789";
    let env = [
        ("ACTALINK_API_KEY", REAL),
        ("ACTALINK_WEBHOOK_SECRET", SECRET),
    ];
    let args = ["--json", "sandbox", "--addr", "127.0.0.1:0"];
    let hook = ["--webhook-url", "http://127.0.0.1:9/hook"];
    let (first, child) = start_serving(&with(&args, &hook), &env).await;
    assert!(!first.contains(REAL) && !first.contains(SECRET), "{first}");
    let info: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(info["apiKey"], DEFAULT_API_KEY);
    let url = info["url"].as_str().unwrap().to_owned();

    // The exported key is refused; the sandbox's own is accepted.
    let create_pro = ["--json", "session", "create", "--paylink", PRO_PAYLINK];
    let refused = run(&at(REAL, &url, &create_pro)).await;
    assert_exit(&refused, 1);
    assert!(!stderr(&refused).contains(REAL), "{}", stderr(&refused));
    assert_eq!(code(&run(&at(DEFAULT_API_KEY, &url, &create_pro)).await), 0);
    let stderr_text = interrupt(child).await;
    assert!(
        stderr_text.contains("ignores ACTALINK_API_KEY"),
        "{stderr_text}"
    );
    assert!(
        !stderr_text.contains(REAL) && !stderr_text.contains(SECRET),
        "{stderr_text}"
    );

    // Human output too.
    let (first, child) = start_serving(&args[1..], &env[..1]).await;
    assert!(
        first.starts_with("Actalink sandbox listening on"),
        "{first}"
    );
    let stderr_text = interrupt(child).await;
    assert!(!stderr_text.contains(REAL));

    // The help text shows the variables, never their values.
    let text = stdout(&run_env(&["sandbox", "--help"], &env).await);
    assert!(text.contains("ACTALINK_WEBHOOK_SECRET"), "{text}");
    assert!(!text.contains(REAL) && !text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn sandbox_flags_are_checked_before_it_starts() {
    let no_secret = ["--webhook-url", "http://127.0.0.1:9/x"];
    let ftp = ["--webhook-url", "ftp://x", "--webhook-secret", "s"];
    for (args, message) in [
        (&no_secret[..], "--webhook-url needs --webhook-secret"),
        (
            &["--webhook-secret", "s"],
            "--webhook-secret needs --webhook-url",
        ),
        (&ftp, "must be an http or https URL"),
        (&["--addr", "nonsense"], "HOST:PORT"),
        (&["--addr", "127.0.0.1:99999"], "HOST:PORT"),
    ] {
        assert_fails(&run(&with(&["sandbox"], args)).await, 2, message);
    }
    let dir = TempDir::new("cli-cat");
    let file = dir.write(
        "huge.json",
        r#"{"paylinks": [{"id": "paylink_huge", "productId": "prod_h", "name": "H", "price": "1", "intervalCount": 10000, "intervalUnit": "year"}]}"#,
    );
    let output = run(&["sandbox", "--catalogue", file.to_str().unwrap()]).await;
    assert_fails(
        &output,
        2,
        r#"paylink "paylink_huge": intervalCount 10000 x intervalUnit "year""#,
    );
}

#[tokio::test]
async fn server_text_reaches_the_terminal_escaped() {
    let sandbox = sandbox().await;
    let metadata = metadata_args(&["note=\x1b[31mred\x1b[0m", "bell=\x07"]);
    let created = create(&sandbox, &metadata).await;
    assert_exit(&created, 0);
    let id = session_id(&created);
    let output = run_api(&sandbox, &["session", "get", &id]).await;
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains("note=\\u{1b}[31mred\\u{1b}[0m, bell=\\u{7}"),
        "{text}"
    );
    // JSON output keeps the value as sent (JSON escapes it).
    let session = json_stdout(&run_api(&sandbox, &["--json", "session", "get", &id]).await);
    assert_eq!(session["metadata"]["note"], "\x1b[31mred\x1b[0m");
}

#[tokio::test]
async fn durations_read_90s_5m_1h30m_or_seconds_everywhere() {
    let sandbox = sandbox().await;
    // A paid session: every spelling of a long timeout is accepted.
    for timeout in ["90s", "5m", "1h30m", "600", "0.5h", "1h 30m"] {
        let id = open_session(&sandbox).await;
        control(&sandbox, &id, "pay").await;
        let args = [
            "session",
            "wait",
            &id,
            "--interval",
            "50ms",
            "--timeout",
            timeout,
        ];
        assert_exit_for(&run_api(&sandbox, &args).await, 0, timeout);
    }
    // An open one: a short timeout in milliseconds ends the wait.
    let id = open_session(&sandbox).await;
    let started = std::time::Instant::now();
    let args = [
        "session",
        "wait",
        &id,
        "--interval",
        "50ms",
        "--timeout",
        "300ms",
    ];
    assert_fails(&run_api(&sandbox, &args).await, 1, "timed out");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The sandbox's session lifetime.
    let mut served = Watched::start(
        &[
            "--json",
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--session-ttl",
            "1m30s",
        ],
        &[],
    );
    let first = served
        .until(std::time::Duration::from_secs(20), |_| true)
        .await[0]
        .clone();
    let banner: serde_json::Value = serde_json::from_str(&first).unwrap();
    let url = banner["url"].as_str().unwrap().to_owned();
    let created = run(&at(
        DEFAULT_API_KEY,
        &url,
        &["--json", "session", "create", "--paylink", PRO_PAYLINK],
    ))
    .await;
    assert_exit(&created, 0);
    let session = json_stdout(&created);
    let at_time = |field: &str| {
        time::OffsetDateTime::parse(
            session[field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let lifetime = at_time("expiresAt") - at_time("createdAt");
    assert!(
        (time::Duration::seconds(90)..=time::Duration::milliseconds(90_010)).contains(&lifetime),
        "{lifetime}"
    );
    interrupt(served.child).await;
    for (ttl, message) in [
        ("soon", "--session-ttl \"soon\" is not a duration"),
        ("400d", "--session-ttl must be from 1ms to 366d, not 400d"),
    ] {
        let output = run(&["sandbox", "--addr", "127.0.0.1:0", "--session-ttl", ttl]).await;
        assert_fails(&output, 2, message);
    }
}

#[tokio::test]
async fn errors_give_command_line_advice_not_rust_names() {
    let sandbox = sandbox().await;
    let output = create(&sandbox, &["--failure-url", "not a url"]).await;
    assert_fails(&output, 2, "--failure-url ");
    assert!(
        !stderr(&output).contains("failureUrl"),
        "{}",
        stderr(&output)
    );
    // Plain http to another machine: no Rust method to call from a shell.
    let output = run(&at(
        DEFAULT_API_KEY,
        "http://shop.example",
        &["session", "get", "checkout_x"],
    ))
    .await;
    assert_fails(&output, 2, "plain http");
    assert!(
        !stderr(&output).contains("allow_insecure_http"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("()"), "{}", stderr(&output));
}
