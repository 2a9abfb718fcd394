//! Helpers shared by the CLI's integration tests: run the built binary, a
//! sandbox on loopback, the control API, and parsing of what was printed.

use std::process::{Output, Stdio};

use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK, RunningSandbox, Sandbox};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

pub(crate) fn actalink() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_actalink"));
    command
        .env_remove("ACTALINK_API_KEY")
        .env_remove("ACTALINK_BASE_URL")
        .env_remove("ACTALINK_WEBHOOK_SECRET");
    command
}

pub(crate) async fn run(args: &[&str]) -> Output {
    actalink().args(args).output().await.unwrap()
}

pub(crate) async fn run_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = actalink()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).await.unwrap();
    child.wait_with_output().await.unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

pub(crate) async fn sandbox() -> RunningSandbox {
    Sandbox::builder().start("127.0.0.1:0").await.unwrap()
}

/// The id of the session a `--json session create` printed.
pub(crate) fn session_id(created: &Output) -> String {
    let session: serde_json::Value = serde_json::from_str(stdout(created).trim()).unwrap();
    session["id"].as_str().unwrap().to_owned()
}

/// Pays, cancels or fails a session through the sandbox's control API.
pub(crate) async fn control(sandbox: &RunningSandbox, id: &str, action: &str) {
    let url = format!("{}/__sandbox/sessions/{id}/{action}", sandbox.url());
    let request = actalink_transport::Request::new(http::Method::POST, url);
    let transport = actalink_transport::ReqwestTransport::new().unwrap();
    let response = actalink_transport::Transport::send(&transport, request)
        .await
        .unwrap();
    assert!(
        response.status.is_success(),
        "{action} {id}: {}",
        response.status
    );
}

pub(crate) async fn create(sandbox: &RunningSandbox, extra: &[&str]) -> Output {
    let mut args = vec![
        "--api-key",
        DEFAULT_API_KEY,
        "--base-url",
        sandbox.url(),
        "--json",
        "session",
        "create",
        "--paylink",
        PRO_PAYLINK,
    ];
    args.extend_from_slice(extra);
    run(&args).await
}
/// How many API requests a sandbox has served, from its control API.
pub(crate) async fn api_requests(sandbox: &RunningSandbox) -> u64 {
    let url = format!("{}/__sandbox/stats", sandbox.url());
    let transport = actalink_transport::ReqwestTransport::new().unwrap();
    let response = actalink_transport::Transport::send(
        &transport,
        actalink_transport::Request::new(http::Method::GET, url),
    )
    .await
    .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    stats["apiRequests"].as_u64().unwrap()
}

/// Runs with extra environment variables.
pub(crate) async fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = actalink();
    for (name, value) in env {
        command.env(name, value);
    }
    command.args(args).output().await.unwrap()
}

/// The one JSON object a `--json` failure prints on stderr: `error`'s fields.
pub(crate) fn json_error(output: &Output) -> serde_json::Value {
    let text = stderr(output);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {text:?}"));
    let error = value["error"].clone();
    let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{text}");
    for key in ["kind", "message", "status", "requestId"] {
        assert!(error.get(key).is_some(), "{key} in {text}");
    }
    assert!(
        error["kind"].is_string() && error["message"].is_string(),
        "{text}"
    );
    error
}

/// `--api-key K --base-url URL` for a sandbox.
pub(crate) fn api(sandbox: &RunningSandbox) -> Vec<String> {
    vec![
        "--api-key".into(),
        DEFAULT_API_KEY.into(),
        "--base-url".into(),
        sandbox.url().into(),
    ]
}
