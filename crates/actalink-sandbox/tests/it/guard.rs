//! The control API is a local tool's: a web page cannot drive it, while the
//! hosted page's own buttons, scripts and tests still can.

use actalink_checkout::SessionStatus;
use actalink_sandbox::{PRO_PAYLINK, Sandbox};
use http::StatusCode;

use crate::{client, create, raw, sandbox};

async fn open_session(sandbox: &Sandbox) -> String {
    create(&client(sandbox), PRO_PAYLINK, "G-1")
        .await
        .id
        .to_string()
}

/// GET `path` with exactly these header lines (`Host` included); the status and the body.
async fn get(sandbox: &Sandbox, path: &str, headers: &str) -> (u16, String) {
    raw(
        sandbox.addr(),
        &format!("GET {path} HTTP/1.1\r\n{headers}"),
        "",
    )
    .await
}

/// POST `path` with these extra header lines and body; the status and the body.
async fn post(sandbox: &Sandbox, path: &str, headers: &str, body: &str) -> (u16, String) {
    let host = format!("Host: {}", sandbox.addr());
    let headers = if headers.contains("Host:") {
        headers.to_owned()
    } else if headers.is_empty() {
        host
    } else {
        format!("{host}\r\n{headers}")
    };
    raw(
        sandbox.addr(),
        &format!("POST {path} HTTP/1.1\r\n{headers}"),
        body,
    )
    .await
}

fn status_of(sandbox: &Sandbox, id: &str) -> SessionStatus {
    sandbox.session_status(id).unwrap()
}

#[tokio::test]
async fn a_foreign_origin_or_a_cross_site_fetch_is_refused_with_403() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    let pay = format!("/__sandbox/sessions/{id}/pay");
    for origin in [
        "Origin: https://evil.example",
        "Origin: null",
        "Origin: http://localhost:1",
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: same-site",
    ] {
        let (status, body) = post(&sandbox, &pay, origin, "").await;
        assert_eq!(status, 403, "{origin}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["statusCode"], 403);
        assert!(
            json["message"].as_str().unwrap().contains("control API"),
            "{body}"
        );
    }
    assert_eq!(
        status_of(&sandbox, &id),
        SessionStatus::Open,
        "nothing was paid"
    );
    // GETs are guarded too: the delivery log is not for other origins.
    let evil = format!("Host: {}\r\nOrigin: https://evil.example", sandbox.addr());
    let (status, _) = get(&sandbox, "/__sandbox/deliveries", &evil).await;
    assert_eq!(status, 403);
    // The sandbox's own origin, and a script that sends none, are served.
    let own = format!("Origin: {}", sandbox.url());
    let (status, body) = post(&sandbox, &pay, &own, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&sandbox, &id), SessionStatus::Success);
    let (status, _) = post(&sandbox, "/__sandbox/faults", "", "").await;
    assert_eq!(
        status, 400,
        "reached the handler: an empty body is not a fault"
    );
}

#[tokio::test]
async fn a_host_that_is_not_loopback_or_the_sandbox_is_refused() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    let fail = format!("/__sandbox/sessions/{id}/fail");
    let port = sandbox.addr().port();
    // DNS rebinding: a page on attacker.example whose name now points to 127.0.0.1.
    for host in [
        format!("Host: attacker.example:{port}"),
        format!("Host: attacker.example:{port}\r\nOrigin: http://attacker.example:{port}"),
        "Host: 10.0.0.1".to_owned(),
        "Host: localhost.attacker.example".to_owned(),
    ] {
        let (status, body) = post(&sandbox, &fail, &host, "").await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(body.contains("loopback"), "{body}");
    }
    assert_eq!(status_of(&sandbox, &id), SessionStatus::Open);
    // Loopback names, with or without a port, are fine; so is a same-host Origin.
    for host in [
        format!("Host: localhost:{port}\r\nOrigin: http://localhost:{port}"),
        "Host: 127.0.0.1".to_owned(),
        format!("Host: [::1]:{port}"),
        "Host: LOCALHOST".to_owned(),
    ] {
        let (status, body) = get(&sandbox, "/__sandbox/stats", &host).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
}

#[tokio::test]
async fn the_configured_public_address_is_the_sandboxs_own() {
    let sandbox = crate::start(Sandbox::builder().public_url("http://sandbox.test:8080/")).await;
    let ok = "Host: sandbox.test:8080\r\nOrigin: http://sandbox.test:8080";
    let (status, body) = get(&sandbox, "/__sandbox/stats", ok).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(&sandbox, "/__sandbox/stats", "Host: other.test:8080").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_post_body_that_is_not_json_is_refused_with_415() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    let pay = format!("/__sandbox/sessions/{id}/pay");
    for (headers, body) in [
        ("Content-Type: application/x-www-form-urlencoded", "a=b"),
        ("Content-Type: text/plain", "{}"),
        ("Content-Type: multipart/form-data; boundary=x", ""),
        ("", "{}"),
    ] {
        let (status, text) = post(&sandbox, &pay, headers, body).await;
        assert_eq!(status, 415, "{headers:?} {body:?}: {text}");
        assert!(text.contains("application/json"), "{text}");
    }
    assert_eq!(status_of(&sandbox, &id), SessionStatus::Open);
    let (status, text) = post(
        &sandbox,
        "/__sandbox/faults",
        "Content-Type: application/json; charset=utf-8",
        r#"{"kind":"drop"}"#,
    )
    .await;
    assert_eq!((status, text.as_str()), (200, r#"{"queued":1}"#));
}

#[tokio::test]
async fn the_hosted_pages_own_form_posts_still_work() {
    let sandbox = sandbox().await;
    let id = open_session(&sandbox).await;
    // What a browser sends when the customer clicks "Pay" on the page.
    let headers = format!(
        "Origin: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin",
        sandbox.url()
    );
    let (status, _) = post(&sandbox, &format!("/payment-link/{id}/pay"), &headers, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER.as_u16());
    assert_eq!(status_of(&sandbox, &id), SessionStatus::Success);
}

/// A create through the API with exactly these header lines (`Host` included).
async fn create_with(sandbox: &Sandbox, host: &str) -> (u16, String) {
    let body = format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink"}}"#);
    raw(
        sandbox.addr(),
        &format!(
            "POST /billing/api/v1/paysession/create HTTP/1.1\r\n{host}\r\nx-api-key: {}\r\nContent-Type: application/json",
            actalink_sandbox::DEFAULT_API_KEY
        ),
        &body,
    )
    .await
}

#[tokio::test]
async fn the_api_and_the_page_refuse_a_rebound_host_when_bound_to_loopback() {
    let sandbox = sandbox().await;
    let port = sandbox.addr().port();
    let before = sandbox.session_count();
    for host in [
        format!("Host: attacker.example:{port}"),
        "Host: attacker.example".to_owned(),
        "Host: localhost.attacker.example".to_owned(),
        "Host: user@127.0.0.1".to_owned(),
    ] {
        let (status, body) = create_with(&sandbox, &host).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(body.contains("--allow-host"), "{body}");
        let (status, _) = get(&sandbox, "/payment-link/checkout_x", &host).await;
        assert_eq!(status, 403, "{host}");
    }
    assert_eq!(sandbox.session_count(), before, "no session was created");
    // Loopback names and the sandbox's own address are served.
    for host in [
        format!("Host: 127.0.0.1:{port}"),
        format!("Host: localhost:{port}"),
        "Host: [::1]".to_owned(),
    ] {
        let (status, body) = create_with(&sandbox, &host).await;
        assert_eq!(status, 201, "{host}: {body}");
    }
}

#[tokio::test]
async fn an_allowed_host_is_served_and_a_bad_name_is_a_config_error() {
    let sandbox = crate::start(
        Sandbox::builder()
            .allow_host("Sandbox")
            .allow_host("shop.test:80"),
    )
    .await;
    for host in ["Host: sandbox:4010", "Host: SANDBOX", "Host: shop.test"] {
        let (status, body) = create_with(&sandbox, host).await;
        assert_eq!(status, 201, "{host}: {body}");
        let (status, body) = get(&sandbox, "/__sandbox/stats", host).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    let (status, _) = create_with(&sandbox, "Host: other.test").await;
    assert_eq!(status, 403);
    let err = Sandbox::builder()
        .allow_host("not a host")
        .start("127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(matches!(err, actalink_sandbox::Error::Config(_)), "{err}");
}

#[tokio::test]
async fn bound_to_every_address_the_api_answers_any_host_but_the_control_api_does_not() {
    let sandbox = Sandbox::builder().start("0.0.0.0:0").await.unwrap();
    let port = sandbox.addr().port();
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let body = format!(r#"{{"paylinkId":"{PRO_PAYLINK}","mode":"paylink"}}"#);
    let (status, text) = raw(
        local,
        &format!(
            "POST /billing/api/v1/paysession/create HTTP/1.1\r\nHost: sandbox.internal:{port}\r\nx-api-key: {}\r\nContent-Type: application/json",
            actalink_sandbox::DEFAULT_API_KEY
        ),
        &body,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, _) = raw(
        local,
        "GET /__sandbox/stats HTTP/1.1\r\nHost: sandbox.internal",
        "",
    )
    .await;
    assert_eq!(status, 403);
}
