//! Shared set-up for the benchmarks: a server holding one session (the
//! sandbox, or a minimal keep-alive responder that costs next to nothing),
//! and the two ways to fetch it (the SDK, and bare reqwest with serde_json,
//! given the same timeouts and decoding into the same type). The payments
//! benchmarks are in a package of their own, `bench/payments`, so that sqlx
//! stays out of this one's build.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use actalink_checkout::{CheckoutSession, CheckoutSessionId, Client, CreateCheckoutSession};
use actalink_sandbox::{DEFAULT_API_KEY, Sandbox};
use serde::Deserialize;

/// A running server holding one session, and the clients that fetch it.
#[derive(Debug)]
pub struct Setup {
    /// The sandbox, when it is the server.
    pub sandbox: Option<Sandbox>,
    /// The SDK client.
    pub client: Client,
    /// A bare reqwest client, configured like the SDK's default transport.
    pub bare: reqwest::Client,
    /// The session fetched in every call.
    pub id: CheckoutSessionId,
    /// The status URL the bare client calls.
    pub status_url: String,
}

#[derive(Deserialize)]
struct Envelope {
    data: CheckoutSession,
}

impl Setup {
    /// Starts the sandbox and creates the session.
    pub async fn start() -> Self {
        let sandbox = Sandbox::builder().start("127.0.0.1:0").await.unwrap();
        let client = Client::builder()
            .api_key(DEFAULT_API_KEY)
            .base_url(sandbox.url())
            .build()
            .unwrap();
        let request = CreateCheckoutSession::builder(actalink_sandbox::PRO_PAYLINK)
            .metadata("internal_order_id", "BENCH-1")
            .build()
            .unwrap();
        let id = client.create_session(&request).await.unwrap().id;
        let bare = bare_client();
        let status_url = format!(
            "{}/billing/api/v1/paysession/status?checkoutSessionId={id}",
            sandbox.url()
        );
        Self {
            sandbox: Some(sandbox),
            client,
            bare,
            id,
            status_url,
        }
    }

    /// A minimal keep-alive HTTP responder that answers every request with
    /// the documented status response: the tightest floor, where almost all
    /// the time is the client's own.
    pub async fn start_minimal() -> Self {
        let body: &'static [u8] = include_bytes!(
            "../../crates/actalink-types/tests/data/session-status-success.200.json"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_keep_alive(stream, body));
            }
        });
        let client = Client::builder()
            .api_key(DEFAULT_API_KEY)
            .base_url(&url)
            .build()
            .unwrap();
        let id = CheckoutSessionId::new("checkout_2cha7c3YGhufo43aWF4eEHCnfhaDM74L").unwrap();
        Self {
            sandbox: None,
            client,
            bare: bare_client(),
            status_url: format!("{url}/billing/api/v1/paysession/status?checkoutSessionId={id}"),
            id,
        }
    }

    /// One fetch through the SDK.
    pub async fn sdk_get(&self) -> CheckoutSession {
        self.client.get_session(&self.id).await.unwrap()
    }

    /// One fetch, through the SDK or bare reqwest.
    pub async fn get(&self, sdk: bool) -> CheckoutSession {
        if sdk {
            self.sdk_get().await
        } else {
            self.bare_get().await
        }
    }

    /// 64 fetches at once, through the SDK or bare reqwest.
    pub async fn batch64(self: &std::sync::Arc<Self>, sdk: bool) {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let setup = std::sync::Arc::clone(self);
            set.spawn(async move {
                setup.get(sdk).await;
            });
        }
        while set.join_next().await.is_some() {}
    }

    /// The same fetch with bare reqwest and serde_json, decoding into the same type.
    pub async fn bare_get(&self) -> CheckoutSession {
        let response = self
            .bare
            .get(&self.status_url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let body = response.bytes().await.unwrap();
        serde_json::from_slice::<Envelope>(&body).unwrap().data
    }
}

/// A bare reqwest client with the SDK's default timeouts and TLS stack
/// (rustls with the ring provider).
fn bare_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Answers each request on a connection with `body`, keeping it open.
async fn serve_keep_alive(mut stream: tokio::net::TcpStream, body: &'static [u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // A GET has no body: a request ends at the blank line.
        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            buffer.drain(..end + 4);
            if stream.write_all(&response).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}
