//! Shared set-up for the benchmarks: a sandbox with one session, and the two
//! ways to fetch it (the SDK, and bare reqwest with serde_json).

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use actalink_checkout::{CheckoutSession, CheckoutSessionId, Client, CreateCheckoutSession};
use actalink_sandbox::{DEFAULT_API_KEY, RunningSandbox, Sandbox};
use serde::Deserialize;

/// A running sandbox holding one session.
#[derive(Debug)]
pub struct Setup {
    /// The sandbox.
    pub sandbox: RunningSandbox,
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
        // The SDK's TLS stack: rustls with the ring provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bare = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        let status_url = format!(
            "{}/billing/api/v1/paysession/status?checkoutSessionId={id}",
            sandbox.url()
        );
        Self {
            sandbox,
            client,
            bare,
            id,
            status_url,
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
