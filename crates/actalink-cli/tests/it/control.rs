//! `actalink sandbox pay|cancel|fail|expire ID`: driving sessions on a
//! running sandbox through its control API.

use std::collections::BTreeSet;
use std::time::Duration;

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
    assert_eq!(received[0].body, br#"{"waitMs":10000}"#);
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

const SECRET: &str = "whsec_ctl";

/// A sandbox delivering to a stub answering 200 (`live` replies) and to a
/// port nothing listens on, retrying quickly: the sandbox, the stub, and
/// both URLs.
async fn sandbox_with_hooks(live: usize) -> (Sandbox, StubServer, String, String) {
    let hook = StubServer::start(vec![StubReply::json(200, "{}"); live]).await;
    let live_url = format!("{}/hook", hook.url());
    let dead_url = format!("http://127.0.0.1:{}/hook", closed_port());
    let sandbox = Sandbox::builder()
        .webhook(WebhookEndpoint::new(live_url.clone(), SECRET))
        .webhook(WebhookEndpoint::new(dead_url.clone(), SECRET))
        .delivery(2, Duration::from_millis(10))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    (sandbox, hook, live_url, dead_url)
}

fn keys(value: &serde_json::Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn an_action_reports_the_first_delivery_at_each_endpoint() {
    let (sandbox, _hook, live, dead) = sandbox_with_hooks(3).await;
    let id = open_session(&sandbox).await;
    let started = std::time::Instant::now();
    let output = act(&sandbox, "pay", &id, false).await;
    assert_exit(&output, 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let text = stdout(&output);
    assert!(
        has_row(&text, &["webhook", &live, "delivered", "200"]),
        "{text}"
    );
    let dead_row = text.lines().find(|l| l.contains(&dead)).unwrap();
    assert!(
        dead_row.contains("failed: could not connect to 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("event ") && text.contains("subscription.billing.scheduled event_"),
        "{text}"
    );

    // --json: the session, and `deliveries` with exactly the documented keys.
    let id = open_session(&sandbox).await;
    let output = act(&sandbox, "pay", &id, true).await;
    assert_exit(&output, 0);
    let paid = json_stdout(&output);
    assert_eq!(paid["id"], id.as_str());
    assert_eq!(paid["status"], "success");
    let deliveries = paid["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{paid}");
    let expected: BTreeSet<&str> = ["url", "delivered", "status", "attempts", "error"].into();
    for d in deliveries {
        assert_eq!(keys(d), expected, "{d}");
    }
    assert_eq!(
        deliveries[0],
        serde_json::json!({"url": live, "delivered": true, "status": 200, "attempts": 1, "error": null})
    );
    assert_eq!(deliveries[1]["url"], dead.as_str());
    assert_eq!(deliveries[1]["delivered"], false);
    assert!(
        deliveries[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("could not connect")
    );

    // An action that sends no event: no deliveries, exit 0 all the same.
    let id = open_session(&sandbox).await;
    let output = act(&sandbox, "fail", &id, true).await;
    assert_exit(&output, 0);
    assert_eq!(json_stdout(&output)["deliveries"], serde_json::json!([]));
    let output = act(&sandbox, "expire", &open_session(&sandbox).await, false).await;
    assert!(
        has_row(
            &stdout(&output),
            &[
                "webhook", "none:", "the", "sandbox", "sends", "no", "event", "on", "expire"
            ]
        ),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn a_dead_endpoint_alone_still_exits_0() {
    let dead_url = format!("http://127.0.0.1:{}/hook", closed_port());
    let sandbox = Sandbox::builder()
        .webhook(WebhookEndpoint::new(dead_url.clone(), SECRET))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let id = open_session(&sandbox).await;
    let output = act(&sandbox, "pay", &id, false).await;
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains(&format!("{dead_url}  failed: could not connect")),
        "{}",
        stdout(&output)
    );
    assert_eq!(status_row(&output), "success");
}

/// `actalink --json sandbox deliveries` against `sandbox`.
async fn deliveries_json(sandbox: &Sandbox) -> std::process::Output {
    run(&[
        "--json",
        "--base-url",
        sandbox.url(),
        "sandbox",
        "deliveries",
    ])
    .await
}

#[tokio::test]
async fn deliveries_lists_each_event_per_endpoint() {
    let (sandbox, _hook, live, dead) = sandbox_with_hooks(3).await;
    let empty = run(&["--base-url", sandbox.url(), "sandbox", "deliveries"]).await;
    assert_exit(&empty, 0);
    assert_eq!(stdout(&empty), "no deliveries yet\n");
    let id = open_session(&sandbox).await;
    let paid = json_stdout(&act(&sandbox, "pay", &id, true).await);
    assert_eq!(paid["deliveries"].as_array().unwrap().len(), 2);
    // The dead endpoint's second and last attempt, then the list.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let output = deliveries_json(&sandbox).await;
    assert_exit(&output, 0);
    let listed = json_stdout(&output);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let expected: BTreeSet<&str> = [
        "eventId",
        "eventType",
        "url",
        "attempts",
        "delivered",
        "lastStatus",
    ]
    .into();
    for row in listed {
        assert_eq!(keys(row), expected, "{row}");
        assert_eq!(row["eventType"], "subscription.billing.scheduled");
        assert!(row["eventId"].as_str().unwrap().starts_with("event_"));
    }
    let of = |url: &str| listed.iter().find(|r| r["url"] == url).unwrap().clone();
    assert_eq!(
        (
            of(&live)["attempts"].clone(),
            of(&live)["delivered"].clone(),
            of(&live)["lastStatus"].clone()
        ),
        (1.into(), true.into(), 200.into())
    );
    assert_eq!(
        (
            of(&dead)["attempts"].clone(),
            of(&dead)["delivered"].clone(),
            of(&dead)["lastStatus"].clone()
        ),
        (2.into(), false.into(), serde_json::Value::Null)
    );
    let output = run(&["sandbox", "deliveries", "--base-url", sandbox.url()]).await;
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains(&format!("{live}  delivered 200 (1 attempt)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{dead}  failed: could not connect")),
        "{text}"
    );
    assert!(text.contains("(2 attempts)"), "{text}");
}

#[tokio::test]
async fn resend_sends_the_same_event_freshly_signed() {
    let (sandbox, hook, live, dead) = sandbox_with_hooks(4).await;
    let id = open_session(&sandbox).await;
    let paid = json_stdout(&act(&sandbox, "pay", &id, true).await);
    assert_eq!(paid["deliveries"][0]["delivered"], true);
    let event_id = {
        let output = deliveries_json(&sandbox).await;
        json_stdout(&output)[0]["eventId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Every endpoint: the dead one makes it exit 1, saying which.
    let output = run(&["--base-url", sandbox.url(), "sandbox", "resend", &event_id]).await;
    assert_fails(&output, 1, "1 of 2 receivers did not accept event");
    assert!(stderr(&output).contains(&dead), "{}", stderr(&output));
    assert!(
        has_row(&stdout(&output), &["webhook", &live, "delivered", "200"]),
        "{}",
        stdout(&output)
    );
    let output = run(&[
        "--json",
        "--base-url",
        sandbox.url(),
        "sandbox",
        "resend",
        &event_id,
    ])
    .await;
    assert_eq!(code(&output), 1);
    assert_eq!(json_error(&output)["kind"], "delivery_failed");
    let report = json_stdout(&output);
    assert_eq!(report["eventId"], event_id.as_str());
    assert_eq!(report["deliveries"][0]["attempts"], 3);
    // Only the live one, with --to: exit 0; the same body, fresh headers.
    let output = run(&[
        "--base-url",
        sandbox.url(),
        "sandbox",
        "resend",
        &event_id,
        "--to",
        &live,
    ])
    .await;
    assert_exit(&output, 0);
    let received = hook.received();
    assert_eq!(received.len(), 4);
    let verifier = actalink_webhooks::Verifier::new(SECRET);
    let mut timestamps = BTreeSet::new();
    for request in &received {
        assert_eq!(request.body, received[0].body, "the same body");
        let headers = headers(request);
        verifier.verify(&request.body, &headers).unwrap();
        timestamps.insert(headers["x-actalink-signature"].to_str().unwrap().to_owned());
    }
    assert_eq!(timestamps.len(), 4, "each signed anew");
    // Refusals.
    let output = run(&[
        "--json",
        "--base-url",
        sandbox.url(),
        "sandbox",
        "resend",
        "event_unknown",
    ])
    .await;
    assert_eq!(code(&output), 1);
    assert_eq!(json_error(&output)["kind"], "not_found");
    for (args, message) in [
        (
            vec!["--to", "ftp://127.0.0.1/x"],
            "must be an http or https URL",
        ),
        (vec!["--to", "not a url"], "is not a URL"),
    ] {
        let mut full = vec!["--base-url", sandbox.url(), "sandbox", "resend", &event_id];
        full.extend(args);
        assert_fails(&run(&full).await, 2, message);
    }
    assert_fails(
        &run(&["sandbox", "resend", &event_id]).await,
        2,
        "no sandbox URL",
    );
    assert_eq!(hook.received().len(), 4, "nothing more was sent");
}
