//! `actalink sandbox` serving: several `--webhook-url`s each get every event,
//! one line is printed per request and per delivery attempt, `gave up` when
//! an endpoint is abandoned, and a URL's credentials are never printed.

use std::time::Duration;

use actalink_sandbox::{DEFAULT_API_KEY, EBOOK_PAYLINK};
use actalink_testkit::{SandboxControl, StubReply, StubServer};
use actalink_webhooks::Verifier;

use crate::support::*;

const SECRET: &str = "whsec_serve_shared";
const USER: &str = "hookuser";
const PASSWORD: &str = "pw_TOPSECRET_serve";

/// The sandbox retries a dead endpoint five times, waiting up to 7.5 s in all.
const GIVES_UP_WITHIN: Duration = Duration::from_secs(30);

/// A loopback URL nothing listens on, with credentials: the URL and how the
/// sandbox shows it.
fn dead_with_credentials() -> (String, String, u16) {
    let port = closed_port();
    (
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/hook"),
        format!("http://***@127.0.0.1:{port}/hook"),
        port,
    )
}

/// `--webhook-url U` for each URL, then the shared secret.
fn webhook_args(urls: &[String]) -> Vec<&str> {
    let mut args: Vec<&str> = urls
        .iter()
        .flat_map(|u| ["--webhook-url", u.as_str()])
        .collect();
    args.extend(["--webhook-secret", SECRET]);
    args
}

/// Creates a one-time session on the sandbox at `url` and pays it with
/// `actalink sandbox pay`; its id.
async fn create_and_pay(url: &str) -> String {
    let create = ["--json", "session", "create", "--paylink", EBOOK_PAYLINK];
    let created = run(&at(DEFAULT_API_KEY, url, &create)).await;
    assert_exit(&created, 0);
    let id = session_id(&created);
    assert_exit(&run(&["--base-url", url, "sandbox", "pay", &id]).await, 0);
    id
}

/// The stub's one request, verified with the shared secret: the event's id.
async fn verified_event_id(stub: &StubServer) -> String {
    await_delivery(stub).await;
    let received = stub.received();
    assert_eq!(received.len(), 1, "one delivery, no retry");
    let event = Verifier::new(SECRET)
        .verify(&received[0].body, &headers(&received[0]))
        .unwrap();
    event.id.unwrap()
}

/// The serving sandbox's banner, once printed whole, and the URL it names.
async fn banner_and_url(served: &mut Watched) -> (String, String) {
    let banner = served
        .until(GIVES_UP_WITHIN, |l| l.starts_with("Press Ctrl-C"))
        .await
        .join("\n");
    let url = banner
        .lines()
        .next()
        .unwrap()
        .strip_prefix("Actalink sandbox listening on ")
        .unwrap()
        .to_owned();
    (banner, url)
}

#[tokio::test]
async fn each_endpoint_gets_every_event_and_each_attempt_is_a_line() {
    let first = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let second = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let (dead, dead_shown, dead_port) = dead_with_credentials();
    let urls = [
        format!("{}/webhooks/actalink", first.url()),
        format!("{}/webhooks/actalink", second.url()),
        dead,
    ];
    let mut args = vec!["-v", "sandbox", "--addr", "127.0.0.1:0"];
    args.extend(webhook_args(&urls));
    let mut served = Watched::start(&args, &[]);
    let (banner, url) = banner_and_url(&mut served).await;
    // Every endpoint in the banner, the dead one without its credentials.
    assert!(has_row(&banner, &["webhooks", &urls[0]]), "{banner}");
    assert!(has_row(&banner, &[&urls[1]]), "{banner}");
    assert!(has_row(&banner, &[&dead_shown]), "{banner}");

    let id = create_and_pay(&url).await;
    let event_id = verified_event_id(&first).await;
    assert_eq!(verified_event_id(&second).await, event_id, "the same event");

    let printed = served
        .until(GIVES_UP_WITHIN, |l| l.contains("gave up"))
        .await
        .join("\n");
    assert_contains_all(
        &printed,
        &[
            "<-- POST /billing/api/v1/paysession/create [201] ",
            &format!("<-- POST /__sandbox/sessions/{id}/pay [200] "),
        ],
    );
    let attempt = format!("--> onetime.executed {event_id} ");
    for live in &urls[..2] {
        let lines: Vec<&str> = printed
            .lines()
            .filter(|l| l.starts_with(&format!("{attempt}{live} ")))
            .collect();
        assert_eq!(lines.len(), 1, "{live}:\n{printed}");
        let rest = lines[0].rsplit_once(" [200] ").unwrap().1;
        let ms = rest.strip_suffix("ms").unwrap();
        assert!(ms.parse::<u64>().is_ok(), "{}", lines[0]);
    }
    let refused = format!("{attempt}{dead_shown} [could not connect to 127.0.0.1:{dead_port}] ");
    for n in 1..=5 {
        let line = printed
            .lines()
            .find(|l| l.starts_with(&refused) && l.ends_with(&format!("(attempt {n} of 5)")));
        assert!(line.is_some(), "attempt {n}:\n{printed}");
    }
    assert!(
        printed
            .lines()
            .any(|l| l == format!("{attempt}{dead_shown} gave up after 5 attempts")),
        "{printed}"
    );
    assert_eq!(
        printed.matches("gave up").count(),
        1,
        "only the dead endpoint:\n{printed}"
    );

    // The control API's delivery log shows the URL without credentials too.
    let deliveries = SandboxControl::new(&url).deliveries().await.unwrap();
    assert_eq!(deliveries.len(), 7, "{deliveries:#?}");
    assert!(deliveries.iter().any(|d| d.url == dead_shown));
    let logged = format!("{deliveries:?}");
    let stderr_text = interrupt(served.child).await;
    assert!(
        stderr_text.contains("webhook delivery gave up"),
        "-v shows it: {stderr_text}"
    );
    for (what, text) in [
        ("stdout", &printed),
        ("stderr", &stderr_text),
        ("delivery log", &logged),
    ] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(USER),
            "the credentials leaked into {what}:\n{text}"
        );
    }
}

#[tokio::test]
async fn with_json_the_banner_and_each_activity_are_json_lines() {
    let live = StubServer::start(vec![StubReply::json(200, "{}")]).await;
    let (dead, dead_shown, _) = dead_with_credentials();
    let urls = [format!("{}/hook", live.url()), dead];
    let mut args = vec!["--json", "sandbox", "--addr", "127.0.0.1:0"];
    args.extend(webhook_args(&urls));
    let mut served = Watched::start(&args, &[]);
    let first = served.until(GIVES_UP_WITHIN, |_| true).await[0].clone();
    let banner: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        banner["webhooks"],
        serde_json::json!([urls[0], dead_shown]),
        "{banner}"
    );
    let url = banner["url"].as_str().unwrap().to_owned();
    let id = create_and_pay(&url).await;
    let printed = served
        .until(GIVES_UP_WITHIN, |l| l.contains("\"gaveUp\""))
        .await
        .to_vec();
    let activity: Vec<serde_json::Value> = printed[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = activity
        .iter()
        .find(|a| a["activity"] == "request" && a["status"] == 201)
        .unwrap();
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/billing/api/v1/paysession/create");
    assert!(request["durationMs"].is_u64());
    let delivered = activity
        .iter()
        .find(|a| a["activity"] == "attempt" && a["delivered"] == true)
        .unwrap();
    assert_eq!(delivered["url"], urls[0].as_str());
    assert_eq!(delivered["status"], 200);
    assert_eq!(delivered["eventType"], "onetime.executed");
    assert_eq!(delivered["sessionId"], id.as_str());
    assert_eq!(delivered["attempt"], 1);
    assert_eq!(delivered["maxAttempts"], 5);
    let to_dead: Vec<_> = activity
        .iter()
        .filter(|a| a["activity"] == "attempt" && a["url"] == dead_shown.as_str())
        .collect();
    assert_eq!(to_dead.len(), 5, "{printed:#?}");
    assert!(to_dead.iter().all(|a| {
        a["status"].is_null()
            && a["error"]
                .as_str()
                .unwrap()
                .starts_with("could not connect to 127.0.0.1:")
    }));
    let gave_up = activity.last().unwrap();
    assert_eq!(gave_up["activity"], "gaveUp");
    assert_eq!(gave_up["url"], dead_shown.as_str());
    assert_eq!(gave_up["attempts"], 5);
    assert_eq!(gave_up["eventId"], delivered["eventId"]);
    let stderr_text = interrupt(served.child).await;
    let all = format!("{}\n{stderr_text}", printed.join("\n"));
    assert!(!all.contains(PASSWORD) && !all.contains(USER), "{all}");
}

#[tokio::test]
async fn a_webhook_url_that_is_no_url_exits_2_before_anything_starts() {
    let port = closed_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let good = "http://127.0.0.1:9/hook";
    let secret = ["--webhook-secret", "s"];
    for (urls, message) in [
        (
            &["http://a b/"][..],
            r#"--webhook-url "http://a b/" is not a URL: "#,
        ),
        (
            &[good, &format!("http://{USER}:{PASSWORD}@a b/")],
            r#"--webhook-url "http://***@a b/" is not a URL"#,
        ),
        (&["http://"], "is not a URL: empty host"),
        (&["mailto:a@b.example"], "must be an http or https URL"),
        (&[good, "/webhooks/actalink"], "is not a URL"),
    ] {
        let mut args = vec!["sandbox", "--addr", &addr];
        args.extend(urls.iter().flat_map(|u| ["--webhook-url", u]));
        args.extend(secret);
        let output = run(&args).await;
        assert_fails(&output, 2, message);
        assert!(stdout(&output).is_empty(), "nothing started");
        assert!(!stderr(&output).contains(PASSWORD), "{}", stderr(&output));
        assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    }
    // Several URLs still need the one secret.
    let output = run(&["sandbox", "--webhook-url", good, "--webhook-url", good]).await;
    assert_fails(&output, 2, "--webhook-url needs --webhook-secret");
}

/// One raw HTTP/1.1 exchange with exactly these header lines: the status.
async fn raw_status(addr: &str, head: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap()
}

#[tokio::test]
async fn the_api_refuses_a_rebound_host_unless_allowed() {
    let create = |host: &str| {
        format!(
            "POST /billing/api/v1/paysession/create HTTP/1.1\r\nHost: {host}\r\nx-api-key: {DEFAULT_API_KEY}\r\nContent-Type: application/json"
        )
    };
    let body = format!(r#"{{"paylinkId":"{EBOOK_PAYLINK}","mode":"paylink"}}"#);
    for (allow, expected) in [(None, 403), (Some("shop-sandbox"), 201)] {
        let mut args = vec!["--json", "sandbox", "--addr", "127.0.0.1:0"];
        if let Some(name) = allow {
            args.extend(["--allow-host", name]);
        }
        let mut served = Watched::start(&args, &[]);
        let first = served.until(GIVES_UP_WITHIN, |_| true).await[0].clone();
        let banner: serde_json::Value = serde_json::from_str(&first).unwrap();
        let url = banner["url"].as_str().unwrap().to_owned();
        let addr = url.strip_prefix("http://").unwrap().to_owned();
        let port = addr.rsplit_once(':').unwrap().1.to_owned();
        let rebound = create(&format!("shop-sandbox:{port}"));
        assert_eq!(
            raw_status(&addr, &rebound, &body).await,
            expected,
            "{allow:?}"
        );
        // A name never allowed is refused either way; loopback is served.
        let other = create(&format!("attacker.example:{port}"));
        assert_eq!(raw_status(&addr, &other, &body).await, 403);
        assert_eq!(raw_status(&addr, &create(&addr), &body).await, 201);
        interrupt(served.child).await;
    }
    let output = run(&["sandbox", "--addr", "127.0.0.1:0", "--allow-host", "a b"]).await;
    assert_fails(&output, 2, "--allow-host \"a b\" is not a host name");
}

#[tokio::test]
async fn a_port_clash_names_the_address_and_suggests_a_free_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&["sandbox", "--addr", &addr]).await;
    assert_fails(&output, 1, &format!("could not listen on {addr}: "));
    assert_stderr_has(&output, "pass --addr 127.0.0.1:0 for a free port");
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

#[tokio::test]
async fn the_banner_has_a_ready_to_copy_export_line() {
    let mut served = Watched::start(&["sandbox", "--addr", "127.0.0.1:0"], &[]);
    let (banner, url) = banner_and_url(&mut served).await;
    let export = banner
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("export ")
                .map(|_| l.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no export line in\n{banner}"));
    assert_eq!(
        export,
        format!("export ACTALINK_API_KEY={DEFAULT_API_KEY} ACTALINK_BASE_URL={url}")
    );
    // Pasted into a shell, the next command needs no flag.
    let script = format!("{export}; \"$ACTALINK\" --json session create --paylink {EBOOK_PAYLINK}");
    let output = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .env("ACTALINK", env!("CARGO_BIN_EXE_actalink"))
        .env_remove("ACTALINK_API_KEY")
        .env_remove("ACTALINK_BASE_URL")
        .output()
        .await
        .unwrap();
    assert_exit(&output, 0);
    assert!(session_id(&output).starts_with("checkout_"));
    interrupt(served.child).await;
}
