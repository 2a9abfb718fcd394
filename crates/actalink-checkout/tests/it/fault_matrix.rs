//! The fault matrix: for create and get, each fault over loopback with the
//! real reqwest transport, with the exact error, the exact number of attempts
//! the server saw, and the elapsed time. The same table is published in
//! `docs/src/reliability.md`; `ACTALINK_BLESS=1` rewrites it there.

use std::time::{Duration, Instant, SystemTime};

use actalink_checkout::{CheckoutSession, CheckoutSessionId, Client, Error, RetryPolicy};
use actalink_testkit::{StubReply, StubServer};

use crate::{KEY, create_request, fixture};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Create,
    Get,
}

/// One row: a fault, and what each operation must do under it.
#[derive(Clone, Copy)]
struct Case {
    fault: &'static str,
    replies: fn() -> Vec<StubReply>,
    /// Applies to both operations unless overridden.
    total_timeout: Option<Duration>,
    create: Expect,
    get: Expect,
}

#[derive(Clone, Copy)]
struct Expect {
    error: &'static str,
    attempts: usize,
    min: Duration,
    max: Duration,
}

const fn expect(error: &'static str, attempts: usize, min_ms: u64, max_ms: u64) -> Expect {
    Expect {
        error,
        attempts,
        min: Duration::from_millis(min_ms),
        max: Duration::from_millis(max_ms),
    }
}

fn times(n: usize, reply: StubReply) -> Vec<StubReply> {
    vec![reply; n]
}

fn status(code: u16, body: &str) -> StubReply {
    StubReply::json(code, body.as_bytes().to_vec())
}

fn html(code: u16) -> StubReply {
    StubReply::Respond {
        status: code,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
    }
}

fn unknown_fields() -> String {
    fixture("create-session.201.json")
        .replace(
            "\"status\": \"open\"",
            "\"status\": \"processing\", \"riskScore\": {\"v\": 2}",
        )
        .replace("\"PENDING\"", "\"UNDER_REVIEW\"")
}

fn in_two_seconds() -> String {
    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            fault: "connection refused",
            replies: Vec::new,
            total_timeout: None,
            create: expect("Transport (connect)", 3, 0, 3000),
            get: expect("Transport (connect)", 3, 0, 3000),
        },
        Case {
            fault: "connection dropped mid-response",
            replies: || {
                times(
                    3,
                    StubReply::Truncated {
                        status: 200,
                        body: b"{\"data\":{\"id\":\"chec".to_vec(),
                        announced: 4000,
                    },
                )
            },
            total_timeout: None,
            create: expect("Transport (io), session may exist", 1, 0, 2500),
            get: expect("Transport (io)", 3, 0, 3000),
        },
        Case {
            fault: "connection closed before any response",
            replies: || times(3, StubReply::Drop),
            total_timeout: None,
            create: expect("Transport (io), session may exist", 1, 0, 2500),
            get: expect("Transport (io)", 3, 0, 3000),
        },
        Case {
            fault: "response slower than the 500 ms attempt timeout",
            replies: || {
                times(
                    3,
                    StubReply::Delay(Duration::from_secs(3), Box::new(status(201, "{}"))),
                )
            },
            total_timeout: None,
            create: expect("Timeout, session may exist", 1, 450, 2500),
            get: expect("Timeout", 3, 1400, 4500),
        },
        Case {
            fault: "total deadline 1.5 s, shorter than the retries need",
            replies: || times(3, status(503, "{}").with_header("retry-after", "1")),
            total_timeout: Some(Duration::from_millis(1500)),
            create: expect("Server (503), session may exist", 1, 0, 1500),
            get: expect("Server (503)", 2, 950, 2000),
        },
        Case {
            fault: "500",
            replies: || times(3, status(500, r#"{"message":"boom"}"#)),
            total_timeout: None,
            create: expect("Server (500), session may exist", 1, 0, 1500),
            get: expect("Server (500)", 3, 0, 3000),
        },
        Case {
            fault: "502 with an HTML body",
            replies: || times(3, html(502)),
            total_timeout: None,
            create: expect("Server (502), session may exist", 1, 0, 1500),
            get: expect("Server (502)", 3, 0, 3000),
        },
        Case {
            fault: "503 with Retry-After: 1",
            replies: || times(3, status(503, "{}").with_header("retry-after", "1")),
            total_timeout: None,
            create: expect("Server (503), session may exist", 1, 0, 1500),
            get: expect("Server (503)", 3, 1950, 4500),
        },
        Case {
            fault: "504",
            replies: || times(3, status(504, "{}")),
            total_timeout: None,
            create: expect("Server (504), session may exist", 1, 0, 1500),
            get: expect("Server (504)", 3, 0, 3000),
        },
        Case {
            fault: "429 with Retry-After: 1 (seconds)",
            replies: || times(3, status(429, "{}").with_header("retry-after", "1")),
            total_timeout: None,
            create: expect("RateLimited", 3, 1950, 4500),
            get: expect("RateLimited", 3, 1950, 4500),
        },
        Case {
            fault: "429 with Retry-After as an HTTP date 2 s ahead",
            replies: || {
                times(
                    3,
                    status(429, "{}").with_header("retry-after", &in_two_seconds()),
                )
            },
            total_timeout: None,
            create: expect("RateLimited", 3, 1000, 6000),
            get: expect("RateLimited", 3, 1000, 6000),
        },
        Case {
            fault: "401",
            replies: || times(3, status(401, r#"{"message":"bad key"}"#)),
            total_timeout: None,
            create: expect("Unauthorized", 1, 0, 1500),
            get: expect("Unauthorized", 1, 0, 1500),
        },
        Case {
            fault: "404",
            replies: || times(3, status(404, r#"{"message":"no such session"}"#)),
            total_timeout: None,
            create: expect("NotFound", 1, 0, 1500),
            get: expect("NotFound", 1, 0, 1500),
        },
        Case {
            fault: "200 with a JSON body cut short",
            replies: || times(3, status(200, r#"{"data":{"id":"checkout_1","status":"op"#)),
            total_timeout: None,
            create: expect("Decode, session may exist", 1, 0, 1500),
            get: expect("Decode", 1, 0, 1500),
        },
        Case {
            fault: "200 with a non-JSON body",
            replies: || times(3, html(200)),
            total_timeout: None,
            create: expect("Decode, session may exist", 1, 0, 1500),
            get: expect("Decode", 1, 0, 1500),
        },
        Case {
            fault: "200 with unknown fields and enum values",
            replies: || times(3, StubReply::json(200, unknown_fields())),
            total_timeout: None,
            create: expect("Ok (status Unknown)", 1, 0, 1500),
            get: expect("Ok (status Unknown)", 1, 0, 1500),
        },
        Case {
            fault: "body over the 64 KiB cap",
            replies: || times(3, StubReply::json(200, vec![b' '; 100 * 1024])),
            total_timeout: None,
            create: expect("Transport (body too large), session may exist", 1, 0, 1500),
            get: expect("Transport (body too large)", 1, 0, 1500),
        },
    ]
}

/// The outcome's kind, as the table names it.
fn kind(result: &Result<CheckoutSession, Error>) -> String {
    match result {
        Ok(session) if matches!(session.status, actalink_checkout::SessionStatus::Unknown(_)) => {
            "Ok (status Unknown)".into()
        }
        Ok(_) => "Ok".into(),
        Err(error) => error_kind(error),
    }
}

fn error_kind(error: &Error) -> String {
    match error {
        Error::MaybeCreated { source, .. } => format!("{}, session may exist", error_kind(source)),
        Error::Transport { source, .. } if source.is_connect() => "Transport (connect)".into(),
        Error::Transport { source, .. }
            if matches!(
                source.kind(),
                actalink_checkout::transport::ErrorKind::BodyTooLarge { .. }
            ) =>
        {
            "Transport (body too large)".into()
        }
        Error::Transport { .. } => "Transport (io)".into(),
        Error::Timeout { .. } => "Timeout".into(),
        Error::Server(api) => format!("Server ({})", api.status.as_u16()),
        Error::RateLimited { .. } => "RateLimited".into(),
        Error::Unauthorized(_) => "Unauthorized".into(),
        Error::NotFound(_) => "NotFound".into(),
        Error::Decode { .. } => "Decode".into(),
        other => format!("unexpected: {other}"),
    }
}

fn client(base_url: &str, total: Option<Duration>) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .timeout(Duration::from_millis(500))
        .total_timeout(total.unwrap_or(Duration::from_secs(20)))
        .max_body_bytes(64 * 1024)
        .retry_policy(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_millis(400))
                .with_max_retry_after(Duration::from_secs(3)),
        )
        .build()
        .unwrap()
}

async fn run(case: Case, op: Op) -> Result<(), String> {
    let expect = if op == Op::Create {
        case.create
    } else {
        case.get
    };
    let replies = (case.replies)();
    let refused = replies.is_empty();
    let stub = if refused {
        None
    } else {
        Some(StubServer::start(replies).await)
    };
    let base = match &stub {
        Some(stub) => stub.url(),
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            format!("http://127.0.0.1:{port}")
        }
    };
    let client = client(&base, case.total_timeout);
    let start = Instant::now();
    let result = match op {
        Op::Create => client.create_session(&create_request()).await,
        Op::Get => {
            client
                .get_session(&CheckoutSessionId::new("checkout_1").unwrap())
                .await
        }
    };
    let elapsed = start.elapsed();
    let got = kind(&result);
    let attempts = match (&stub, &result) {
        (Some(stub), _) => stub.received().len(),
        (None, Err(Error::Transport { attempts, .. })) => *attempts as usize,
        (None, _) => 0,
    };
    let mut problems = Vec::new();
    if got != expect.error {
        problems.push(format!("error {got:?}, expected {:?}", expect.error));
    }
    if attempts != expect.attempts {
        problems.push(format!("{attempts} attempts, expected {}", expect.attempts));
    }
    if elapsed < expect.min || elapsed > expect.max {
        problems.push(format!(
            "took {elapsed:?}, expected {:?}..{:?}",
            expect.min, expect.max
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} / {op:?}: {}", case.fault, problems.join("; ")))
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f32())
}

/// The table as published.
fn table() -> String {
    let mut out = String::from(
        "| fault | create: error | attempts | time | get: error | attempts | time |\n|---|---|---|---|---|---|---|\n",
    );
    for case in cases() {
        let (c, g) = (case.create, case.get);
        out.push_str(&format!(
            "| {} | {} | {} | {}–{} | {} | {} | {}–{} |\n",
            case.fault,
            c.error,
            c.attempts,
            seconds(c.min),
            seconds(c.max),
            g.error,
            g.attempts,
            seconds(g.min),
            seconds(g.max)
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fault_matrix_holds() {
    let runs: Vec<(Case, Op)> = cases()
        .into_iter()
        .flat_map(|case| [(case, Op::Create), (case, Op::Get)])
        .collect();
    let mut failures = Vec::new();
    // Six at a time: a short run, and few enough that timings stay honest on 2 cores.
    for batch in runs.chunks(6) {
        let mut set = tokio::task::JoinSet::new();
        for &(case, op) in batch {
            set.spawn(run(case, op));
        }
        while let Some(result) = set.join_next().await {
            if let Err(failure) = result.unwrap() {
                failures.push(failure);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_published_table_matches_the_test() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/src/reliability.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (begin, end) = ("<!-- fault-matrix:begin -->\n", "<!-- fault-matrix:end -->");
    let table = table();
    if std::env::var_os("ACTALINK_BLESS").is_some() {
        let start = doc.find(begin).unwrap() + begin.len();
        let stop = doc.find(end).unwrap();
        std::fs::write(path, format!("{}{table}{}", &doc[..start], &doc[stop..])).unwrap();
        return;
    }
    assert!(
        doc.contains(&format!("{begin}{table}{end}")),
        "docs/src/reliability.md is stale: run with ACTALINK_BLESS=1"
    );
}
