//! `actalink sandbox pay|cancel|fail|expire ID`: driving sessions on a
//! running sandbox through its control API.

use actalink_sandbox::{Sandbox, WebhookEndpoint};
use actalink_testkit::{StubReply, StubServer};

use crate::support::*;

async fn act(sandbox: &Sandbox, action: &str, id: &str, json: bool) -> std::process::Output {
    let mut args = vec!["--base-url", sandbox.url()];
    if json {
        args.push("--json");
    }
    args.extend(["sandbox", action, id]);
    run(&args).await
}

fn status_row(output: &std::process::Output) -> String {
    stdout(output)
        .lines()
        .find_map(|l| l.strip_prefix("status"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn each_action_prints_the_resulting_state() {
    let sandbox = sandbox().await;
    for (action, status) in [
        ("pay", "success"),
        ("fail", "failure"),
        ("expire", "timeout"),
    ] {
        let id = open_session(&sandbox).await;
        let output = act(&sandbox, action, &id, false).await;
        assert_exit_for(&output, 0, action);
        assert_eq!(status_row(&output), status, "{}", stdout(&output));
        assert!(stdout(&output).contains(&id));
        assert_eq!(sandbox.session_status(&id).unwrap().as_str(), status);

        let id = open_session(&sandbox).await;
        let output = act(&sandbox, action, &id, true).await;
        assert_exit_for(&output, 0, action);
        let session = json_stdout(&output);
        assert_eq!(session["id"], id.as_str());
        assert_eq!(session["status"], status);
        assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    }
}

#[tokio::test]
async fn cancel_leaves_the_session_open_and_says_so() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    let output = act(&sandbox, "cancel", &id, false).await;
    assert_exit(&output, 0);
    assert_eq!(status_row(&output), "open");
    assert_stderr_has(&output, "the sandbox keeps a cancelled session open");
    // And it can still be paid.
    assert_eq!(code(&act(&sandbox, "pay", &id, false).await), 0);
}

#[tokio::test]
async fn the_sandbox_saying_no_exits_1() {
    let sandbox = sandbox().await;
    // Unknown session.
    let output = act(&sandbox, "pay", "checkout_missing", false).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: the sandbox at {} refused to pay session checkout_missing: HTTP 404",
            sandbox.url()
        )),
        "{err}"
    );
    let output = act(&sandbox, "pay", "checkout_missing", true).await;
    let error = json_error(&output);
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["status"], 404);
    assert!(stdout(&output).is_empty());

    // Already paid, then failing a paid session.
    let id = open_session(&sandbox).await;
    assert_eq!(code(&act(&sandbox, "pay", &id, false).await), 0);
    assert_fails(
        &act(&sandbox, "pay", &id, false).await,
        1,
        "is already paid",
    );
    for action in ["fail", "expire", "cancel"] {
        let output = act(&sandbox, action, &id, true).await;
        assert_eq!(code(&output), 1, "{action}");
        let error = json_error(&output);
        assert_eq!(error["kind"], "conflict", "{action}");
        assert_eq!(error["status"], 409);
    }
    assert!(sandbox.session_status(&id).unwrap().is_paid());
}

#[tokio::test]
async fn bad_input_exits_2_before_any_request() {
    // A stub that records every request: none may arrive.
    let stub = StubServer::start(vec![]).await;
    for (args, kind, message) in [
        (
            vec!["sandbox", "pay", "checkout_x"],
            "config",
            "no sandbox URL: pass --base-url or set ACTALINK_BASE_URL",
        ),
        (
            vec!["--base-url", stub.url().as_str(), "sandbox", "pay", "a b"],
            "invalid_input",
            "contains whitespace",
        ),
        (
            vec![
                "--base-url",
                "ftp://127.0.0.1/",
                "sandbox",
                "fail",
                "checkout_x",
            ],
            "config",
            "must be an http or https URL",
        ),
        (
            vec!["--base-url", "not a url", "sandbox", "expire", "checkout_x"],
            "config",
            "is not a URL",
        ),
    ] {
        assert_fails(&run(&args).await, 2, message);
        assert_json_kind(&args, &[], 2, kind).await;
    }
    // Usage: a missing id, an unknown action, an API key where it does nothing.
    for args in [
        &["sandbox", "pay"][..],
        &["sandbox", "refund", "checkout_x"],
        &[
            "--base-url",
            "http://127.0.0.1:9",
            "sandbox",
            "pay",
            "checkout_x",
            "--api-key",
            "k",
        ],
    ] {
        assert_eq!(code(&run(args).await), 2, "{args:?}");
    }
    assert!(stub.received().is_empty());
}

#[tokio::test]
async fn the_url_comes_from_the_environment_in_either_form() {
    let sandbox = sandbox().await;
    for base in [
        sandbox.url().to_owned(),
        format!("{}/billing/", sandbox.url()),
    ] {
        let id = open_session(&sandbox).await;
        let output = run_env(&["sandbox", "pay", &id], &[("ACTALINK_BASE_URL", &base)]).await;
        assert_exit_for(&output, 0, &base);
        assert_eq!(status_row(&output), "success");
        // After the command's name too.
        let id = open_session(&sandbox).await;
        let output = run(&["sandbox", "fail", &id, "--base-url", &base]).await;
        assert_exit_for(&output, 0, &base);
    }
}

#[tokio::test]
async fn an_unreachable_or_odd_sandbox_is_an_operation_failure() {
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let output = run(&["--base-url", &base, "sandbox", "pay", "checkout_x"]).await;
    let unreachable = format!("could not reach the sandbox at 127.0.0.1:{port}");
    assert_fails(&output, 1, &unreachable);
    // Something that is not a sandbox answering 200 with HTML.
    let stub = StubServer::start(vec![StubReply::Respond {
        status: 200,
        headers: Vec::new(),
        body: b"<html>".to_vec(),
    }])
    .await;
    let url = stub.url();
    let output = run(&["--json", "--base-url", &url, "sandbox", "pay", "checkout_x"]).await;
    assert_eq!(code(&output), 1);
    let error = json_error(&output);
    assert_eq!(error["kind"], "decode");
    assert_eq!(error["status"], 200);
    // The request was what the control API accepts: JSON, POST.
    let received = stub.received();
    let head = received[0].head.to_ascii_lowercase();
    assert!(
        head.starts_with("post /__sandbox/sessions/checkout_x/pay http/1.1"),
        "{head}"
    );
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(received[0].body, b"{}");
}

#[tokio::test]
async fn paying_delivers_the_webhook_like_the_hosted_page() {
    let hook = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let sandbox = Sandbox::builder()
        .webhook(WebhookEndpoint::new(
            format!("{}/hook", hook.url()),
            "whsec_ctl",
        ))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let id = open_session(&sandbox).await;
    assert_eq!(code(&act(&sandbox, "pay", &id, false).await), 0);
    await_delivery(&hook).await;
    let received = hook.received();
    assert_eq!(received.len(), 1);
    let body = String::from_utf8_lossy(&received[0].body).into_owned();
    assert!(body.contains(&id), "{body}");
}
