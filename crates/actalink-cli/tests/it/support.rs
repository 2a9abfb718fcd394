//! Helpers shared by the CLI's integration tests: run the built binary, a
//! sandbox on loopback, the control API, and parsing of what was printed.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK, Sandbox};
use actalink_testkit::{Action, SandboxControl, StubRequest, StubServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The built binary, with none of the `ACTALINK_*` variables inherited.
pub(crate) fn actalink() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_actalink"));
    command
        .env_remove("ACTALINK_API_KEY")
        .env_remove("ACTALINK_BASE_URL")
        .env_remove("ACTALINK_WEBHOOK_SECRET");
    command
}

/// The binary with these arguments and extra environment variables.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = actalink();
    command.args(args).envs(env.iter().copied());
    command
}

pub(crate) async fn run(args: &[&str]) -> Output {
    run_env(args, &[]).await
}

/// Runs with extra environment variables.
pub(crate) async fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().await.unwrap()
}

pub(crate) async fn run_stdin(args: &[&str], stdin: &[u8]) -> Output {
    run_stdin_env(args, &[], stdin).await
}

/// Runs with extra environment variables, writing `stdin` to the command.
pub(crate) async fn run_stdin_env(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = command(args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command may stop reading before the end (a body over its limit):
    // what it did with what it read is the test's to check.
    let _ = child.stdin.take().unwrap().write_all(stdin).await;
    child.wait_with_output().await.unwrap()
}

/// Runs in the background, for commands that wait on something the test does next.
pub(crate) fn spawn_run(args: &[&str]) -> tokio::task::JoinHandle<Output> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::spawn(async move { actalink().args(&args).output().await.unwrap() })
}

/// The arguments with `--api-key KEY --base-url URL` ahead of `rest`.
pub(crate) fn at<'a>(key: &'a str, url: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--api-key", key, "--base-url", url];
    args.extend_from_slice(rest);
    args
}

/// `--api-key K --base-url URL` for a sandbox, ahead of `rest`.
pub(crate) fn api<'a>(sandbox: &'a Sandbox, rest: &[&'a str]) -> Vec<&'a str> {
    at(DEFAULT_API_KEY, sandbox.url(), rest)
}

/// Runs `rest` against a sandbox with its default key.
pub(crate) async fn run_api(sandbox: &Sandbox, rest: &[&str]) -> Output {
    run(&api(sandbox, rest)).await
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

/// Stdout as the one JSON value a `--json` command printed.
pub(crate) fn json_stdout(output: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim()).unwrap()
}

/// The exit code is `expected`; the failure shows what was printed.
#[track_caller]
pub(crate) fn assert_exit(output: &Output, expected: i32) {
    assert_exit_for(output, expected, "");
}

/// [`assert_exit`], naming the case in the failure.
#[track_caller]
pub(crate) fn assert_exit_for(output: &Output, expected: i32, case: impl std::fmt::Debug) {
    assert_eq!(
        code(output),
        expected,
        "{case:?}: {}{}",
        stdout(output),
        stderr(output)
    );
}

/// Stderr contains `needle`.
#[track_caller]
pub(crate) fn assert_stderr_has(output: &Output, needle: &str) {
    let text = stderr(output);
    assert!(text.contains(needle), "{needle:?} in {text}");
}

/// `text` contains each of `needles`; the failure names the one missing.
#[track_caller]
pub(crate) fn assert_contains_all(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

/// Exits `expected` and says `needle` on stderr.
#[track_caller]
pub(crate) fn assert_fails(output: &Output, expected: i32, needle: &str) {
    assert_exit_for(output, expected, needle);
    assert_stderr_has(output, needle);
}

pub(crate) async fn sandbox() -> Sandbox {
    Sandbox::builder().start("127.0.0.1:0").await.unwrap()
}

/// A port nothing listens on (it was free a moment ago).
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The id of the session a `--json session create` printed.
pub(crate) fn session_id(created: &Output) -> String {
    json_stdout(created)["id"].as_str().unwrap().to_owned()
}

/// `--json session create --paylink PRO_PAYLINK` and `extra` on a sandbox.
pub(crate) async fn create(sandbox: &Sandbox, extra: &[&str]) -> Output {
    let mut args = vec!["--json", "session", "create", "--paylink", PRO_PAYLINK];
    args.extend_from_slice(extra);
    run_api(sandbox, &args).await
}

/// A new open session's id.
pub(crate) async fn open_session(sandbox: &Sandbox) -> String {
    let created = create(sandbox, &[]).await;
    assert_exit(&created, 0);
    session_id(&created)
}

/// Pays, cancels, fails or expires a session through the sandbox's control API.
pub(crate) async fn control(sandbox: &Sandbox, id: &str, action: &str) {
    let action = Action::from_name(action).unwrap();
    SandboxControl::of(sandbox).act(id, action).await.unwrap();
}

/// How many API requests a sandbox has served, from its control API.
pub(crate) async fn api_requests(sandbox: &Sandbox) -> u64 {
    SandboxControl::of(sandbox).api_requests().await.unwrap()
}

/// Queues `count` 503 answers (with `Retry-After: 0`, so retries are quick).
pub(crate) async fn inject_503(sandbox: &Sandbox, count: u32) {
    let control = SandboxControl::of(sandbox);
    control.inject_status(503, Some("0"), count).await.unwrap();
}

/// Waits up to five seconds for a stub to have received something.
pub(crate) async fn await_delivery(stub: &StubServer) {
    for _ in 0..100 {
        if !stub.received().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The request's headers, parsed from a stub's record.
pub(crate) fn headers(request: &StubRequest) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for line in request.head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            map.append(
                http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                http::HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    map
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

/// Runs `args` with `--json` in front: exits `expected` with an error of `kind`.
pub(crate) async fn assert_json_kind(
    args: &[&str],
    env: &[(&str, &str)],
    expected: i32,
    kind: &str,
) {
    let mut json = vec!["--json"];
    json.extend_from_slice(args);
    let output = run_env(&json, env).await;
    assert_exit_for(&output, expected, &json);
    assert_eq!(json_error(&output)["kind"], kind, "{json:?}");
}

/// `webhook verify` arguments with the secret on the command line.
pub(crate) fn verify_args<'a>(
    secret: &'a str,
    timestamp: &'a str,
    signature: &'a str,
) -> Vec<&'a str> {
    vec![
        "webhook",
        "verify",
        "--secret",
        secret,
        "--timestamp",
        timestamp,
        "--signature",
        signature,
    ]
}

/// `--metadata PAIR` for each of `pairs`.
pub(crate) fn metadata_args<'a>(pairs: &[&'a str]) -> Vec<&'a str> {
    pairs
        .iter()
        .flat_map(|pair| ["--metadata", *pair])
        .collect()
}

/// `args` and then `more`.
pub(crate) fn with<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(more);
    all
}

/// Starts the binary (`actalink sandbox …`, say) with these arguments and
/// environment: its first stdout line and the child, stdout drained after.
pub(crate) async fn start_serving(args: &[&str], env: &[(&str, &str)]) -> (String, Child) {
    let mut child = command(args, env)
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
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (first, child)
}

/// A serving binary whose stdout lines are kept, for tests that read what
/// it prints as it works.
pub(crate) struct Watched {
    pub(crate) child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Watched {
    /// Starts the binary (`actalink sandbox …`) with these arguments and
    /// environment; every stdout line is kept, the first one included.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Every line printed so far once one of them satisfies `done`, within
    /// `within`; the failure shows what was printed.
    pub(crate) async fn until(
        &mut self,
        within: Duration,
        done: impl Fn(&str) -> bool,
    ) -> &[String] {
        let deadline = tokio::time::Instant::now() + within;
        while !self.seen.iter().any(|l| done(l)) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) | Err(_) => panic!(
                    "never printed the line awaited; stdout so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
        &self.seen
    }
}

/// Sends SIGINT, asserts a clean exit, and returns what it said on stderr.
pub(crate) async fn interrupt(mut child: Child) -> String {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let mut stderr_text = String::new();
    if let Some(mut err) = child.stderr.take() {
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

/// A fresh directory under the system's temporary directory, removed when
/// dropped, so a failing test leaves nothing behind in /tmp either.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("actalink-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// Writes `contents` to `name` in this directory; its path.
    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Some line of `text` is these words, whatever the spacing between them.
pub(crate) fn has_row(text: &str, words: &[&str]) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().eq(words.iter().copied()))
}

/// `old`, `webhook verify` arguments for a signature made long ago: it fails
/// outside the default tolerance and passes within a wider one.
pub(crate) async fn assert_the_tolerance_applies(old: &[&str], body: &[u8]) {
    let output = run_stdin(old, body).await;
    assert_fails(&output, 1, "in the past, beyond the 300000 ms tolerance");
    let lenient = with(old, &["--tolerance", "1000000000"]);
    assert_eq!(code(&run_stdin(&lenient, body).await), 0);
}

/// `webhook sign` refuses a body that is not JSON, and prints the timestamp
/// header first for `body`; the output of the latter.
pub(crate) async fn assert_sign_checks_the_body(body: &[u8]) -> Output {
    let output = run_stdin(&["webhook", "sign", "--secret", "s"], b"not json").await;
    assert_fails(&output, 2, "the body is not JSON");
    let sign = ["webhook", "sign", "--secret", "s", "--timestamp", "1"];
    let output = run_stdin(&sign, body).await;
    assert!(
        stdout(&output).starts_with("x-actalink-timestamp: 1\n"),
        "{}",
        stdout(&output)
    );
    output
}

/// `ACTALINK_WEBHOOK_SECRET` set to `secret`, or no environment at all.
pub(crate) fn secret_env(secret: Option<&str>) -> Vec<(&str, &str)> {
    secret
        .map(|s| vec![("ACTALINK_WEBHOOK_SECRET", s)])
        .unwrap_or_default()
}
