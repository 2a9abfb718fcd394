//! A closed pipe on stdout or stderr ends a command quietly, as `SIGPIPE`
//! ends a C program (status 141 in a shell), never with a panic.

use std::os::unix::process::ExitStatusExt;
use std::process::{Output, Stdio};

use actalink_testkit::{StubReply, StubServer};

use crate::support::*;

const SIGPIPE: i32 = 13;
const SECRET: &str = "whsec_pipes";

/// Which stream's reader has gone before the command starts.
#[derive(Debug, Clone, Copy)]
enum Closed {
    Stdout,
    Stderr,
}

/// Runs the binary with `args`, `stdin` as its input and the reading end of
/// `closed` already gone, so that its first write there fails with `EPIPE`.
async fn run_closed(args: &[&str], stdin: &[u8], closed: Closed) -> Output {
    use tokio::io::AsyncWriteExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = actalink();
    command.args(args).stdin(Stdio::piped());
    match closed {
        Closed::Stdout => command.stdout(writer).stderr(Stdio::piped()),
        Closed::Stderr => command.stderr(writer).stdout(Stdio::piped()),
    };
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may end before reading its input: a failed write is fine.
    let _ = input.write_all(stdin).await;
    drop(input);
    child.wait_with_output().await.unwrap()
}

#[track_caller]
fn assert_ended_by_sigpipe(output: &Output, case: impl std::fmt::Debug) {
    assert_eq!(
        output.status.signal(),
        Some(SIGPIPE),
        "{case:?}: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
    for text in [stdout(output), stderr(output)] {
        assert!(!text.contains("panicked"), "{case:?}: {text}");
    }
}

fn signed(body: &str) -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let s = actalink_webhooks::sign(body.as_bytes(), &SECRET.into(), now).unwrap();
    (s.timestamp, s.signature)
}

#[tokio::test]
async fn a_closed_stdout_ends_every_command_quietly() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    let paid = open_session(&sandbox).await;
    let hook = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let hook_url = hook.url();
    let body = r#"{"id":"evt_1","eventType":"onetime.executed"}"#;
    let (timestamp, signature) = signed(body);
    let verify = verify_args(SECRET, &timestamp, &signature);
    let get = api(&sandbox, &["session", "get", &id]);
    let json_get = api(&sandbox, &["--json", "session", "get", &id]);
    let pay = ["--base-url", sandbox.url(), "sandbox", "pay", &paid];
    let trigger = [
        "webhook",
        "trigger",
        "onetime.executed",
        "--to",
        &hook_url,
        "--secret",
        SECRET,
    ];
    let cases: Vec<Vec<&str>> = vec![
        vec!["webhook", "sign", "--secret", SECRET, "--timestamp", "1"],
        vec!["--json", "webhook", "sign", "--secret", SECRET],
        verify.clone(),
        with(&["--json"], &verify),
        vec!["--help"],
        vec!["webhook", "sign", "--help"],
        vec!["--version"],
        vec!["completions", "bash"],
        get,
        json_get,
        pay.to_vec(),
        trigger.to_vec(),
    ];
    for args in cases {
        let output = run_closed(&args, body.as_bytes(), Closed::Stdout).await;
        assert_ended_by_sigpipe(&output, &args);
    }
}

#[tokio::test]
async fn a_closed_stderr_ends_a_failing_command_quietly() {
    let sandbox = sandbox().await;
    let missing = api(&sandbox, &["session", "get", "checkout_missing"]);
    let json_missing = api(&sandbox, &["--json", "session", "get", "checkout_missing"]);
    let cases: Vec<Vec<&str>> = vec![
        missing,
        json_missing,
        verify_args(SECRET, "1", "00"),
        vec!["session", "get"],
        vec!["--json", "session", "get"],
        vec!["webhook", "sign"],
    ];
    for args in cases {
        let output = run_closed(&args, b"{}", Closed::Stderr).await;
        assert_ended_by_sigpipe(&output, &args);
    }
}

/// The case as a person meets it: a real shell pipe into `head -c 1`, with
/// more output than the pipe holds, so that the write fails for certain.
#[tokio::test]
async fn piping_into_head_reports_the_broken_pipe_status() {
    let padding = "x".repeat(300_000);
    let body = format!(r#"{{"id":"evt_big","eventType":"onetime.executed","pad":"{padding}"}}"#);
    let (timestamp, signature) = signed(&body);
    let dir = TempDir::new("pipes");
    let file = dir.write("body.json", &body);
    let script = format!(
        "\"$ACTALINK\" --json webhook verify --secret {SECRET} --timestamp {timestamp} --signature {signature} {} | head -c 1 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\"",
        file.display()
    );
    let output = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .env("ACTALINK", env!("CARGO_BIN_EXE_actalink"))
        .output()
        .await
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(stdout(&output).trim(), "status=141", "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "quietly: {}", stderr(&output));
}

/// The serving sandbox ends quietly too once nobody reads its lines: the
/// first line it prints after its reader has gone ends it.
///
/// "Gone" means every copy of the pipe's read end is closed. Another test's
/// child, between its fork and its exec, briefly holds a copy of this
/// process's descriptors, so a line printed in that moment still finds a
/// reader; requests are therefore repeated until the sandbox ends, each one
/// a line of its own.
#[tokio::test]
async fn a_serving_sandbox_ends_when_its_reader_goes() {
    use tokio::io::AsyncBufReadExt;
    let mut child = actalink()
        .args(["--json", "sandbox", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next_line().await.unwrap().unwrap();
    let banner: serde_json::Value = serde_json::from_str(&banner).unwrap();
    let url = banner["url"].as_str().unwrap().to_owned();
    drop(lines); // the reader goes
    // A request makes the sandbox print its line, which ends it.
    let authority = url.trim_start_matches("http://").to_owned();
    let request = format!(
        "GET /billing/api/v1/paysession/status?checkoutSessionId=checkout_x HTTP/1.1\r\n\
         Host: {authority}\r\nx-api-key: sk_sandbox_x\r\nConnection: close\r\n\r\n"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut requests = 0;
    while child.try_wait().unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sandbox went on serving with nobody reading its output ({requests} requests)"
        );
        if let Ok(mut stream) = tokio::net::TcpStream::connect(&authority).await {
            requests += 1;
            let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await;
            let mut answer = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(requests >= 1, "the sandbox ended before any request");
    let output = child.wait_with_output().await.unwrap();
    assert_ended_by_sigpipe(&output, "serving sandbox");
}
