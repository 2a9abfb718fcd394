//! `actalink webhook trigger`: a signed, realistic event sent to a handler,
//! which verifies it as a merchant's would.

use actalink_testkit::{StubReply, StubServer};
use actalink_webhooks::{EventType, Verifier};

use crate::support::*;

const SECRET: &str = "whsec_trigger_TOPSECRET";

/// `webhook trigger EVENT --to URL --secret SECRET`.
fn trigger<'a>(event_type: &'a str, to: &'a str) -> Vec<&'a str> {
    vec![
        "webhook", "trigger", event_type, "--to", to, "--secret", SECRET,
    ]
}

fn ok() -> StubReply {
    StubReply::Respond {
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: b"received\n".to_vec(),
    }
}

#[tokio::test]
async fn each_event_type_arrives_signed_and_verifies_at_the_handler() {
    for (event_type, known) in [
        ("onetime.executed", Some(EventType::OnetimeExecuted)),
        (
            "subscription.billing.due",
            Some(EventType::SubscriptionBillingDue),
        ),
        (
            "subscription.billing.scheduled",
            Some(EventType::SubscriptionBillingScheduled),
        ),
        ("invoice.created", None),
    ] {
        let handler = StubServer::start(vec![ok()]).await;
        let to = format!("{}/webhooks/actalink", handler.url());
        let mut args = with(
            &trigger(event_type, &to),
            &metadata_args(&["internal_order_id=ORD-7", "user_uuid=u_42"]),
        );
        if known.is_none() {
            args.push("--allow-unknown");
        }
        let output = run(&args).await;
        assert_exit_for(&output, 0, event_type);
        let text = stdout(&output);
        assert!(has_row(&text, &["status", "200", "OK"]), "{text}");
        assert!(has_row(&text, &["body", "received"]), "{text}");
        assert!(!text.contains(SECRET) && !stderr(&output).contains(SECRET));

        let received = handler.received();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert!(
            request.head.starts_with("POST /webhooks/actalink HTTP/1.1"),
            "{}",
            request.head
        );
        let headers = headers(request);
        assert_eq!(headers["content-type"], "application/json");
        assert!(headers.contains_key("x-actalink-timestamp"));
        assert_eq!(headers["x-actalink-signature"].len(), 64);
        // The merchant's check, exactly as a handler does it.
        let event = Verifier::new(SECRET)
            .verify(&request.body, &headers)
            .unwrap_or_else(|e| panic!("{event_type}: {e}"));
        assert_eq!(
            event.event_type.as_ref().map(EventType::as_str),
            Some(event_type)
        );
        if let Some(known) = known {
            assert_eq!(event.event_type, Some(known));
            assert!(event.is_recognised());
        }
        assert_eq!(event.metadata_value("internal_order_id"), Some("ORD-7"));
        assert_eq!(event.metadata_value("user_uuid"), Some("u_42"));
        // Built by the sandbox's own code: its id format for every type.
        let raw = event.raw_json();
        let id = event.id.clone().unwrap();
        let subject = event.data.id.clone().unwrap();
        assert!(id.starts_with("event_") && id.len() == 38, "{id}");
        let prefix = if event_type.starts_with("subscription.") {
            "sub_"
        } else {
            "txn_"
        };
        assert!(
            subject.starts_with(prefix) && subject.len() == 36,
            "{subject}"
        );
        assert!(
            raw.contains(r#""token":{"name":"USD Coin","amount":"0x249f0","symbol":"USDC","address":"0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359","decimals":6}"#),
            "{raw}"
        );
        assert!(
            raw.contains(r#""metadata":{"internal_order_id":"ORD-7","user_uuid":"u_42"}"#),
            "metadata in the order given: {raw}"
        );
        assert_eq!(
            event
                .data
                .token
                .as_ref()
                .and_then(|t| t.amount.as_ref())
                .map(|a| a.raw().to_owned()),
            Some("0x249f0".to_owned())
        );
    }
}

#[tokio::test]
async fn an_unknown_event_type_exits_2_listing_the_known_ones() {
    let handler = StubServer::start(vec![ok()]).await;
    let to = handler.url();
    for typo in [
        "checkout.session.completed",
        "onetime.execute",
        "Onetime.Executed",
    ] {
        let output = run(&trigger(typo, &to)).await;
        assert_fails(&output, 2, &format!("unknown event type {typo:?}"));
        assert_stderr_has(
            &output,
            "the known types are onetime.executed, subscription.billing.due, subscription.billing.scheduled; pass --allow-unknown to send it anyway",
        );
        let mut json = vec!["--json"];
        json.extend(trigger(typo, &to));
        let output = run(&json).await;
        assert_eq!(code(&output), 2);
        assert_eq!(json_error(&output)["kind"], "invalid_input");
    }
    assert!(handler.received().is_empty(), "nothing was sent");
    let output = run(&with(
        &trigger("checkout.session.completed", &to),
        &["--allow-unknown"],
    ))
    .await;
    assert_exit(&output, 0);
    assert_eq!(handler.received().len(), 1);
}

/// `--session` builds the event from the live session: what the sandbox
/// itself delivered when that session was paid, fresh ids aside.
#[tokio::test]
async fn a_session_event_is_the_one_the_sandbox_delivers_for_it() {
    use actalink_sandbox::{DEFAULT_API_KEY, EBOOK_PAYLINK, PRO_PAYLINK, Sandbox, WebhookEndpoint};
    for paylink in [EBOOK_PAYLINK, PRO_PAYLINK] {
        let delivered_to = StubServer::start(vec![ok()]).await;
        let triggered_to = StubServer::start(vec![ok(), ok()]).await;
        let sandbox = Sandbox::builder()
            .webhook(WebhookEndpoint::new(delivered_to.url(), SECRET))
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let created = run(&at(
            DEFAULT_API_KEY,
            sandbox.url(),
            &[
                "--json",
                "session",
                "create",
                "--paylink",
                paylink,
                "--metadata",
                "user_uuid=u_1",
                "--metadata",
                "internal_order_id=ORD-9",
            ],
        ))
        .await;
        let id = session_id(&created);
        assert_exit(
            &run(&["--base-url", sandbox.url(), "sandbox", "pay", &id]).await,
            0,
        );
        await_delivery(&delivered_to).await;
        let event_type = if paylink == PRO_PAYLINK {
            "subscription.billing.scheduled"
        } else {
            "onetime.executed"
        };
        let to = triggered_to.url();
        let args = at(
            DEFAULT_API_KEY,
            sandbox.url(),
            &[
                "webhook",
                "trigger",
                event_type,
                "--to",
                &to,
                "--secret",
                SECRET,
                "--session",
                &id,
            ],
        );
        assert_exit(&run(&args).await, 0);
        let parse = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).unwrap();
        let sent = parse(&delivered_to.received()[0].body);
        let mut triggered = parse(&triggered_to.received()[0].body);
        assert_ne!(triggered["id"], sent["id"], "a fresh id");
        triggered["id"] = sent["id"].clone();
        triggered["eventData"]["data"]["id"] = sent["eventData"]["data"]["id"].clone();
        assert_eq!(triggered, sent, "{paylink}");
        let data = &sent["eventData"]["data"];
        assert_eq!(data["checkoutSessionId"], id.as_str());
        assert_eq!(data["status"], "success");
        assert_eq!(data["metadata"]["internal_order_id"], "ORD-9");
        let amount = if paylink == PRO_PAYLINK {
            "0x27100"
        } else {
            "0x249f0"
        };
        assert_eq!(data["token"]["amount"], amount, "0.16 or 0.15 USDC");
        // --metadata on top replaces a value in its place.
        let mut more = args.clone();
        more.extend(["--metadata", "internal_order_id=ORD-10"]);
        assert_exit(&run(&more).await, 0);
        let raw = String::from_utf8_lossy(&triggered_to.received()[1].body).into_owned();
        assert!(
            raw.contains(r#""metadata":{"user_uuid":"u_1","internal_order_id":"ORD-10"}"#),
            "{raw}"
        );
    }
}

#[tokio::test]
async fn a_session_that_cannot_be_fetched_sends_nothing() {
    let handler = StubServer::start(vec![ok()]).await;
    let to = handler.url();
    let sandbox = sandbox().await;
    let base = [
        "webhook",
        "trigger",
        "onetime.executed",
        "--to",
        to.as_str(),
        "--secret",
        SECRET,
    ];
    // No API key: a configuration error, before any request.
    let output = run(&with(
        &["--base-url", sandbox.url()],
        &with(&base, &["--session", "checkout_x"]),
    ))
    .await;
    assert_fails(&output, 2, "no API key");
    // An unknown session: the API's 404.
    let output = run(&api(
        &sandbox,
        &with(&base, &["--session", "checkout_missing"]),
    ))
    .await;
    assert_fails(&output, 1, "not found");
    assert!(handler.received().is_empty());
}

#[tokio::test]
async fn fresh_ids_each_time_and_no_optional_fields_unless_asked() {
    let handler = StubServer::start(vec![ok(), ok()]).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let url = handler.url();
        let args = [
            "--json",
            "webhook",
            "trigger",
            "onetime.executed",
            "--to",
            &url,
        ];
        let output = run_env(&args, &[("ACTALINK_WEBHOOK_SECRET", SECRET)]).await;
        assert_exit(&output, 0);
        let report = json_stdout(&output);
        assert_eq!(report["status"], 200);
        assert_eq!(report["body"], "received\n");
        let data = &report["event"]["eventData"]["data"];
        assert!(data.get("metadata").is_none() && data.get("checkoutSessionId").is_none());
        ids.push(report["event"]["id"].as_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    for request in handler.received() {
        Verifier::new(SECRET)
            .verify(&request.body, &headers(&request))
            .unwrap();
    }
}

#[tokio::test]
async fn a_handler_that_refuses_makes_exit_1_with_its_status_and_body() {
    let handler = StubServer::start(vec![
        StubReply::Respond {
            status: 500,
            headers: Vec::new(),
            body: b"boom \x1b[31mred".to_vec(),
        },
        StubReply::json(401, r#"{"error":"bad signature"}"#),
    ])
    .await;
    let to = format!("{}/hook?token=TOPSECRET", handler.url());
    let args = trigger("onetime.executed", &to);
    let output = run(&args).await;
    assert_eq!(code(&output), 1);
    let text = stdout(&output);
    assert!(
        has_row(&text, &["status", "500", "Internal", "Server", "Error"]),
        "{text}"
    );
    // The handler's text, escaped for the terminal.
    assert!(
        text.contains("boom \\u{1b}[31mred") && !text.contains('\x1b'),
        "{text:?}"
    );
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the handler at http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("answered HTTP 500"), "{err}");
    assert!(
        !err.contains("TOPSECRET") && !text.contains("TOPSECRET"),
        "the query may carry a token: {err}{text}"
    );

    let output = run(&with(&["--json"], &args)).await;
    assert_eq!(code(&output), 1);
    let report = json_stdout(&output);
    assert_eq!(report["status"], 401);
    assert_eq!(report["body"], r#"{"error":"bad signature"}"#);
    assert_eq!(report["event"]["eventType"], "onetime.executed");
    let error = json_error(&output);
    assert_eq!(error["kind"], "handler_refused");
    assert_eq!(error["status"], 401);
    assert_eq!(error["requestId"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_unreachable_handler_is_named_by_host_and_port() {
    let port = closed_port();
    let to = format!("http://user:TOPSECRET@127.0.0.1:{port}/hook");
    let args = trigger("onetime.executed", &to);
    let output = run(&args).await;
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert!(
        err.contains(&format!("could not deliver the event to 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!err.contains("TOPSECRET"), "{err}");
    let output = run(&with(&["--json"], &args)).await;
    assert_eq!(code(&output), 1);
    assert_eq!(json_error(&output)["kind"], "transport");
    assert!(stdout(&output).is_empty());
}

#[tokio::test]
async fn bad_input_exits_2_and_sends_nothing() {
    let handler = StubServer::start(vec![ok()]).await;
    let to = handler.url();
    let to_handler = ["onetime.executed", "--to", to.as_str()];
    let signed = with(&to_handler, &["--secret", "s"]);
    let metadata = |pair| with(&signed, &["--metadata", pair]);
    for (args, env_secret, kind, message) in [
        (
            to_handler.to_vec(),
            None,
            "config",
            "no webhook secret: set ACTALINK_WEBHOOK_SECRET (or pass --secret)",
        ),
        (to_handler.to_vec(), Some(""), "config", "no webhook secret"),
        (
            vec![
                "onetime.executed",
                "--to",
                "ftp://127.0.0.1/x",
                "--secret",
                "s",
            ],
            None,
            "invalid_input",
            "must be an http or https URL",
        ),
        (
            vec!["onetime.executed", "--to", "not a url", "--secret", "s"],
            None,
            "invalid_input",
            "is not a URL",
        ),
        (
            metadata("novalue"),
            None,
            "invalid_input",
            "is not KEY=VALUE",
        ),
        (
            metadata("=v"),
            None,
            "invalid_input",
            "metadata keys must not be empty",
        ),
        (
            with(&signed, &["--session", "a b"]),
            None,
            "invalid_input",
            "whitespace",
        ),
        (
            vec!["has space", "--to", to.as_str(), "--secret", "s"],
            None,
            "invalid_input",
            "without spaces",
        ),
    ] {
        let full = with(&["webhook", "trigger"], &args);
        let env = secret_env(env_secret);
        assert_fails(&run_env(&full, &env).await, 2, message);
        assert_json_kind(&full, &env, 2, kind).await;
    }
    // Usage errors too.
    assert_eq!(
        code(&run(&["webhook", "trigger", "onetime.executed"]).await),
        2
    );
    assert!(handler.received().is_empty(), "nothing was sent");
}
