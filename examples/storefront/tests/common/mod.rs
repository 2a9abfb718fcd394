//! Starting the sandbox and the storefront side by side on loopback.

#![allow(dead_code)]

use std::sync::Arc;

use actalink_sandbox::{DEFAULT_API_KEY, RunningSandbox, Sandbox, WebhookEndpoint};
use storefront::{Config, Db, app};

pub(crate) const SECRET: &str = "whsec_storefront_test";

pub(crate) struct Shop {
    pub(crate) sandbox: RunningSandbox,
    pub(crate) url: String,
    pub(crate) db: Arc<Db>,
}

/// A sandbox and a storefront wired to each other; `with_webhooks: false`
/// models a webhook that never arrives.
pub(crate) async fn start(with_webhooks: bool) -> Shop {
    let sandbox = Sandbox::builder().start("127.0.0.1:0").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let db = Arc::new(Db::in_memory().unwrap());
    let config = Config::for_test(DEFAULT_API_KEY, sandbox.url(), SECRET, &url);
    let router = app(config, Arc::clone(&db)).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    if with_webhooks {
        sandbox.add_webhook(WebhookEndpoint::new(
            format!("{url}/webhooks/actalink"),
            SECRET,
        ));
    }
    Shop { sandbox, url, db }
}

/// Polls until `check` holds or five seconds pass.
pub(crate) async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check()
}
