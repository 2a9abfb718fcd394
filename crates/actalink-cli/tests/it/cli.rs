//! The built `actalink` binary, run for every subcommand and exit code
//! against a sandbox on loopback.

use std::process::Stdio;
use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::*;

#[tokio::test]
async fn demo_walks_every_step_and_exits_0() {
    let output = run(&["demo"]).await;
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    for step in [
        "1. Order arrives",
        "4. Customer pays",
        "6. Webhook verified",
        "7. Status confirmed",
    ] {
        assert!(text.contains(step), "{text}");
    }
    assert!(text.contains("demo: every step held (7/7)"), "{text}");
    let json = run(&["--json", "demo"]).await;
    assert_eq!(code(&json), 0);
    let summary: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["steps"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn session_create_and_get_print_the_session() {
    let sandbox = sandbox().await;
    let output = create(
        &sandbox,
        &[
            "--metadata",
            "internal_order_id=ORD-9",
            "--metadata",
            "note=a=b",
            "--success-url",
            "https://shop.example/ok",
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let session: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(session["status"], "open");
    assert_eq!(session["successUrl"], "https://shop.example/ok");
    let id = session["id"].as_str().unwrap();

    let output = run(&[
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "--json",
        "session",
        "get",
        id,
    ])
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let session: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(session["metadata"]["internal_order_id"], "ORD-9");
    assert_eq!(
        session["metadata"]["note"], "a=b",
        "only the first = splits"
    );

    // Human output, with the key and URL from the environment.
    let output = actalink()
        .env("ACTALINK_API_KEY", DEFAULT_API_KEY)
        .env("ACTALINK_BASE_URL", sandbox.url())
        .args(["session", "get", id])
        .output()
        .await
        .unwrap();
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(text.contains(&format!("id          {id}")), "{text}");
    assert!(text.contains("status      open"), "{text}");
    assert!(
        text.contains("Recipe Pro · 0.16 USDC every 15 minutes"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_input_exits_2_before_any_request() {
    let sandbox = sandbox().await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--metadata", "no-equals-sign"], "is not KEY=VALUE"),
        (vec!["--metadata", "=v"], "metadata keys must not be empty"),
        (vec!["--success-url", "not a url"], "successUrl"),
        (vec!["--cancel-url", "ftp://x/y"], "http or https"),
    ];
    for (extra, message) in cases {
        let output = create(&sandbox, &extra).await;
        assert_eq!(code(&output), 2, "{extra:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(message),
            "{extra:?}: {}",
            stderr(&output)
        );
    }
    let many: Vec<String> = (0..51).map(|i| format!("k{i}=v")).collect();
    let mut extra = Vec::new();
    for pair in &many {
        extra.extend(["--metadata", pair.as_str()]);
    }
    let output = create(&sandbox, &extra).await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("at most 50 keys"),
        "{}",
        stderr(&output)
    );
    // No API key.
    let output = run(&[
        "--base-url",
        sandbox.url(),
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
    ])
    .await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no API key"),
        "{}",
        stderr(&output)
    );
    // A session id with a space; a bad interval.
    let output = run(&[
        "--api-key",
        "k",
        "--base-url",
        sandbox.url(),
        "session",
        "get",
        "a b",
    ])
    .await;
    assert_eq!(code(&output), 2);
    let output = run(&[
        "--api-key",
        "k",
        "--base-url",
        sandbox.url(),
        "session",
        "wait",
        "checkout_x",
        "--interval",
        "-1",
    ])
    .await;
    assert_eq!(code(&output), 2);
    // Usage errors.
    assert_eq!(code(&run(&["session", "create"]).await), 2);
    assert_eq!(code(&run(&["frobnicate"]).await), 2);
    assert_eq!(code(&run(&["--help"]).await), 0);
    assert_eq!(sandbox.store().count(), 0, "nothing reached the sandbox");
}

#[tokio::test]
async fn api_errors_exit_1_with_one_sentence() {
    let sandbox = sandbox().await;
    let output = run(&[
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "get",
        "checkout_missing",
    ])
    .await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).starts_with("error: not found, HTTP 404"),
        "{}",
        stderr(&output)
    );
    let output = run(&[
        "--api-key",
        "sk_wrong",
        "--base-url",
        sandbox.url(),
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
    ])
    .await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("refused the API key"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[tokio::test]
async fn session_wait_exits_0_when_paid_and_1_on_timeout_or_unpaid_end() {
    let sandbox = sandbox().await;
    let created = create(&sandbox, &[]).await;
    let id = session_id(&created);
    let args = [
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "wait",
        &id,
        "--interval",
        "0.2",
    ];

    // Times out while open.
    let mut timed = args.to_vec();
    timed.extend(["--timeout", "0.5"]);
    let output = run(&timed).await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("was still open when the wait timed out"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(&format!("{id}: open")),
        "plain progress lines off a terminal"
    );

    // Paid while waiting.
    let waiting = tokio::spawn({
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        async move { actalink().args(&args).output().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    control(&sandbox, &id, "pay").await;
    let output = waiting.await.unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output)
            .lines()
            .any(|l| l.split_whitespace().eq(["status", "success"])),
        "{}",
        stdout(&output)
    );

    // Ended unpaid.
    let created = create(&sandbox, &[]).await;
    let id = session_id(&created);
    control(&sandbox, &id, "fail").await;
    let output = run(&[
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "wait",
        &id,
    ])
    .await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("ended unpaid: failure"),
        "{}",
        stderr(&output)
    );
}

const BODY: &str = r#"{"id":"evt_1","eventType":"onetime.executed","eventData":{"data":{"metadata":{"internal_order_id":"ORD-1"}}}}"#;

#[tokio::test]
async fn webhook_sign_then_verify_from_stdin_and_file() {
    let output = run_stdin(
        &["--json", "webhook", "sign", "--secret", "whsec_cli"],
        BODY.as_bytes(),
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let signed: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let (timestamp, signature) = (
        signed["timestamp"].as_str().unwrap(),
        signed["signature"].as_str().unwrap(),
    );
    assert_eq!(signature.len(), 64);

    let verify = [
        "webhook",
        "verify",
        "--secret",
        "whsec_cli",
        "--timestamp",
        timestamp,
        "--signature",
        signature,
    ];
    let output = run_stdin(&verify, BODY.as_bytes()).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // Whatever the label column's width (other rows may be added).
    assert!(
        stdout(&output)
            .lines()
            .any(|line| line.split_whitespace().eq(["valid", "yes"])),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("internal_order_id=ORD-1"));

    let dir = std::env::temp_dir().join(format!("actalink-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.json");
    std::fs::write(&file, BODY.replace("ORD-1", "ORD-2")).unwrap();
    let mut tampered = verify.to_vec();
    tampered.push(file.to_str().unwrap());
    let output = run(&tampered).await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("verification failed: the signature does not match"),
        "{}",
        stderr(&output)
    );

    let mut missing = verify.to_vec();
    missing.push("/nonexistent/body.json");
    assert_eq!(code(&run(&missing).await), 2);
}

#[tokio::test]
async fn webhook_verify_applies_the_tolerance_and_sign_rejects_non_json() {
    let output = run_stdin(
        &[
            "--json",
            "webhook",
            "sign",
            "--secret",
            "s",
            "--timestamp",
            "1756481736348",
        ],
        BODY.as_bytes(),
    )
    .await;
    let signed: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let signature = signed["signature"].as_str().unwrap();
    let old = [
        "webhook",
        "verify",
        "--secret",
        "s",
        "--timestamp",
        "1756481736348",
        "--signature",
        signature,
    ];
    let output = run_stdin(&old, BODY.as_bytes()).await;
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("in the past, beyond the 300000 ms tolerance"),
        "{}",
        stderr(&output)
    );
    let mut lenient = old.to_vec();
    lenient.extend(["--tolerance", "1000000000"]);
    assert_eq!(code(&run_stdin(&lenient, BODY.as_bytes()).await), 0);

    let output = run_stdin(&["webhook", "sign", "--secret", "s"], b"not json").await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("the body is not JSON"),
        "{}",
        stderr(&output)
    );
    let output = run_stdin(
        &["webhook", "sign", "--secret", "s", "--timestamp", "1"],
        BODY.as_bytes(),
    )
    .await;
    assert!(
        stdout(&output).starts_with("x-actalink-timestamp:  1\n"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn sandbox_serves_until_interrupted() {
    let mut child = actalink()
        .args([
            "--api-key",
            "sk_cli_sandbox",
            "--json",
            "sandbox",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&first).unwrap();
    let url = info["url"].as_str().unwrap().to_owned();
    assert_eq!(info["apiKey"], "sk_cli_sandbox");

    let output = run(&[
        "--api-key",
        "sk_cli_sandbox",
        "--base-url",
        &url,
        "--json",
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
    ])
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));

    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
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
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs `script` from util-linux"
        );
        eprintln!("SKIPPED spinner test: `script` is not installed");
        return;
    }
    let sandbox = sandbox().await;
    let created = create(&sandbox, &[]).await;
    let id = session_id(&created);
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
    assert!(screen.contains(&format!("{id}: open (")), "{screen}");
    assert!(
        screen.contains('\r') || screen.contains("\u{1b}["),
        "redrawn in place: {screen:?}"
    );
    assert!(
        screen.contains("was still open when the wait timed out"),
        "{screen}"
    );
}

#[tokio::test]
async fn absurd_wait_durations_exit_2_before_any_request() {
    let sandbox = sandbox().await;
    let created = create(&sandbox, &[]).await;
    let id = session_id(&created);
    let before = api_requests(&sandbox).await;
    for (flag, value) in [
        ("--timeout", "1e19"),
        ("--timeout", "NaN"),
        ("--timeout", "inf"),
        ("--timeout", "-5"),
        ("--timeout", "0"),
        ("--timeout", "604801"),
        ("--interval", "1e19"),
        ("--interval", "nan"),
        ("--interval", "-inf"),
        ("--interval", "3601"),
        ("--interval", "0.0001"),
    ] {
        let output = run(&[
            "--api-key",
            DEFAULT_API_KEY,
            "--base-url",
            sandbox.url(),
            "session",
            "wait",
            &id,
            // `--flag=value`, so that clap takes "-5" as a value.
            &format!("{flag}={value}"),
        ])
        .await;
        assert_eq!(code(&output), 2, "{flag} {value}: {}", stderr(&output));
        let text = stderr(&output);
        assert!(
            text.contains(&format!("{flag} must be a number of seconds from")),
            "{flag} {value}: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
    }
    assert_eq!(api_requests(&sandbox).await, before, "nothing was sent");
}

/// Starts `actalink sandbox` with these arguments and environment; its first
/// stdout line (parsed as JSON when `--json` is among the arguments) and the child.
async fn start_cli_sandbox(args: &[&str], env: &[(&str, &str)]) -> (String, tokio::process::Child) {
    let mut command = actalink();
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (first, child)
}

async fn interrupt(mut child: tokio::process::Child) -> String {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let mut stderr_text = String::new();
    if let Some(mut err) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            err.read_to_string(&mut stderr_text),
        )
        .await;
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    stderr_text
}

#[tokio::test]
async fn sandbox_never_takes_or_prints_a_key_from_the_environment() {
    const REAL: &str = "sk_live_REALKEY_0123456789abcdef";
    const SECRET: &str = "whsec_ENVSECRET_0123456789";
    let (first, child) = start_cli_sandbox(
        &[
            "--json",
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ],
        &[
            ("ACTALINK_API_KEY", REAL),
            ("ACTALINK_WEBHOOK_SECRET", SECRET),
        ],
    )
    .await;
    assert!(!first.contains(REAL) && !first.contains(SECRET), "{first}");
    let info: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(info["apiKey"], DEFAULT_API_KEY);
    let url = info["url"].as_str().unwrap().to_owned();

    // The exported key is refused; the sandbox's own is accepted.
    let with = |key: &'static str| {
        let url = url.clone();
        async move {
            run(&[
                "--api-key",
                key,
                "--base-url",
                &url,
                "--json",
                "session",
                "create",
                "--paylink",
                PRO_PAYLINK,
            ])
            .await
        }
    };
    let refused = with(REAL).await;
    assert_eq!(code(&refused), 1, "{}", stderr(&refused));
    assert!(!stderr(&refused).contains(REAL), "{}", stderr(&refused));
    assert_eq!(code(&with(DEFAULT_API_KEY).await), 0);
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
    let (first, child) = start_cli_sandbox(
        &["sandbox", "--addr", "127.0.0.1:0"],
        &[("ACTALINK_API_KEY", REAL)],
    )
    .await;
    assert!(
        first.starts_with("Actalink sandbox listening on"),
        "{first}"
    );
    let stderr_text = interrupt(child).await;
    assert!(!stderr_text.contains(REAL));

    // The help text shows the variables, never their values.
    let help = actalink()
        .env("ACTALINK_API_KEY", REAL)
        .env("ACTALINK_WEBHOOK_SECRET", SECRET)
        .args(["sandbox", "--help"])
        .output()
        .await
        .unwrap();
    let text = stdout(&help);
    assert!(text.contains("ACTALINK_WEBHOOK_SECRET"), "{text}");
    assert!(!text.contains(REAL) && !text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn sandbox_flags_are_checked_before_it_starts() {
    for (args, message) in [
        (
            vec!["sandbox", "--webhook-url", "http://127.0.0.1:9/x"],
            "--webhook-url needs --webhook-secret",
        ),
        (
            vec!["sandbox", "--webhook-secret", "s"],
            "--webhook-secret needs --webhook-url",
        ),
        (
            vec![
                "sandbox",
                "--webhook-url",
                "ftp://x",
                "--webhook-secret",
                "s",
            ],
            "must be an http or https URL",
        ),
        (vec!["sandbox", "--addr", "nonsense"], "HOST:PORT"),
        (vec!["sandbox", "--addr", "127.0.0.1:99999"], "HOST:PORT"),
    ] {
        let output = run(&args).await;
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let dir = std::env::temp_dir().join(format!("actalink-cli-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("huge.json");
    std::fs::write(
        &file,
        r#"{"paylinks": [{"id": "paylink_huge", "productId": "prod_h", "name": "H", "price": "1", "intervalCount": 10000, "intervalUnit": "year"}]}"#,
    )
    .unwrap();
    let output = run(&["sandbox", "--catalogue", file.to_str().unwrap()]).await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains(r#"paylink "paylink_huge": intervalCount 10000 x intervalUnit "year""#),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn server_text_reaches_the_terminal_escaped() {
    let sandbox = sandbox().await;
    let created = create(
        &sandbox,
        &[
            "--metadata",
            "note=\x1b[31mred\x1b[0m",
            "--metadata",
            "bell=\x07",
        ],
    )
    .await;
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let id = session_id(&created);
    let output = run(&[
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "session",
        "get",
        &id,
    ])
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains("note=\\u{1b}[31mred\\u{1b}[0m, bell=\\u{7}"),
        "{text}"
    );
    // JSON output keeps the value as sent (JSON escapes it).
    let output = run(&[
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "--json",
        "session",
        "get",
        &id,
    ])
    .await;
    let session: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(session["metadata"]["note"], "\x1b[31mred\x1b[0m");
}
