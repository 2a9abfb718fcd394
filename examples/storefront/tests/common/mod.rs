//! Starting the sandbox and the storefront side by side on loopback, and
//! talking to them as a browser and as the provider would.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::Decimal;
use actalink_sandbox::{DEFAULT_API_KEY, Sandbox, WebhookEndpoint};
use actalink_testkit::{Action, SandboxControl};
use actalink_transport::{Request, ReqwestTransport, Response, Transport};
use http::{HeaderValue, Method, StatusCode};
use storefront::{Config, Db, Reconciler, Storefront, TransitionRecord};

pub(crate) const SECRET: &str = "whsec_storefront_test";

/// How a test storefront runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Register the storefront's webhook endpoint with the sandbox.
    pub(crate) webhooks: bool,
    /// Run the background reconciler.
    pub(crate) reconciler: bool,
    /// Keep the database in this file (in memory otherwise).
    pub(crate) database: Option<PathBuf>,
    /// The price the storefront expects for Recipe Pro (the sandbox sells it at 0.16).
    pub(crate) pro_price: Option<Decimal>,
}

/// One running storefront; dropping it stops the server and the reconciler.
pub(crate) struct Instance {
    pub(crate) url: String,
    pub(crate) db: Arc<Db>,
    pub(crate) shop: Storefront,
    server: tokio::task::JoinHandle<()>,
    reconciler: Option<Reconciler>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Instance {
    /// Stops the server and the reconciler, and waits for the server task to end.
    pub(crate) async fn stop(mut self) {
        self.reconciler.take();
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

/// A sandbox and a storefront wired to each other.
pub(crate) struct Shop {
    pub(crate) sandbox: Sandbox,
    pub(crate) url: String,
    pub(crate) db: Arc<Db>,
    pub(crate) instance: Instance,
}

pub(crate) async fn sandbox(session_ttl: Option<Duration>) -> Sandbox {
    let mut builder = Sandbox::builder();
    if let Some(ttl) = session_ttl {
        builder = builder.session_ttl(ttl);
    }
    builder.start("127.0.0.1:0").await.unwrap()
}

/// Serves a storefront against `sandbox` with `options`.
pub(crate) async fn serve(sandbox: &Sandbox, options: &Options) -> Instance {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let db = Arc::new(match &options.database {
        Some(path) => Db::open(path).unwrap(),
        None => Db::in_memory().unwrap(),
    });
    let mut config = Config::for_test(DEFAULT_API_KEY, sandbox.url(), SECRET, &url);
    if let Some(price) = options.pro_price {
        config.products[0].amount = price;
    }
    let shop = Storefront::new(config, Arc::clone(&db)).unwrap();
    let router = shop.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let reconciler = options.reconciler.then(|| shop.spawn_reconciler());
    if options.webhooks {
        sandbox.add_webhook(WebhookEndpoint::new(
            format!("{url}/webhooks/actalink"),
            SECRET,
        ));
    }
    Instance {
        url,
        db,
        shop,
        server,
        reconciler,
    }
}

/// A sandbox and a storefront with `options`.
pub(crate) async fn start_with(options: Options) -> Shop {
    let sandbox = sandbox(None).await;
    let instance = serve(&sandbox, &options).await;
    Shop {
        url: instance.url.clone(),
        db: Arc::clone(&instance.db),
        sandbox,
        instance,
    }
}

/// A sandbox and a storefront with its reconciler; `with_webhooks: false`
/// models a webhook that never arrives.
pub(crate) async fn start(with_webhooks: bool) -> Shop {
    start_with(Options {
        webhooks: with_webhooks,
        reconciler: true,
        ..Options::default()
    })
    .await
}

/// Polls until `check` holds or ten seconds pass.
pub(crate) async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

pub(crate) async fn send(
    method: Method,
    url: &str,
    body: Option<(&str, String)>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Request::new(method, url);
    if let Some((content_type, body)) = body {
        request = request
            .with_header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).unwrap(),
            )
            .with_body(body);
    }
    for (name, value) in headers {
        request = request.with_header(name.parse().unwrap(), value.parse().unwrap());
    }
    ReqwestTransport::new()
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

/// A plain `GET` of `url`.
pub(crate) async fn get(url: &str) -> Response {
    send(Method::GET, url, None, &[]).await
}

/// Posts the checkout form for `paylink` to the storefront at `url`.
pub(crate) async fn post_checkout_form(url: &str, paylink: &str) -> Response {
    send(
        Method::POST,
        &format!("{url}/checkout"),
        Some((
            "application/x-www-form-urlencoded",
            format!("paylink={paylink}"),
        )),
        &[],
    )
    .await
}

/// Posts the checkout form to the storefront at `url`; returns the order id
/// and the session id (read from the hosted page URL it redirects to).
pub(crate) async fn checkout_at(
    url: &str,
    db: &Db,
    sandbox: &Sandbox,
    paylink: &str,
) -> (String, String) {
    let response = post_checkout_form(url, paylink).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let hosted = response.headers["location"].to_str().unwrap().to_owned();
    assert!(hosted.starts_with(sandbox.url()), "{hosted}");
    let session_id = hosted.rsplit('/').next().unwrap().to_owned();
    let client = actalink_checkout::Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .build()
        .unwrap();
    let id = CheckoutSessionId::new(session_id.as_str()).unwrap();
    let stored = client.get_session(&id).await.unwrap();
    let order_id = stored
        .metadata_value("internal_order_id")
        .unwrap()
        .to_owned();
    let order = db.order(&order_id).unwrap().unwrap();
    assert_eq!(
        order.checkout_session_id.as_deref(),
        Some(session_id.as_str())
    );
    assert_eq!(order.status, "pending");
    (order_id, session_id)
}

/// [`checkout_at`] on a [`Shop`].
pub(crate) async fn checkout(shop: &Shop, paylink: &str) -> (String, String) {
    checkout_at(&shop.url, &shop.db, &shop.sandbox, paylink).await
}

/// Checks out `paylink` and pays the session on the hosted page; returns the order id.
pub(crate) async fn checkout_and_pay(shop: &Shop, paylink: &str) -> String {
    let (order_id, session_id) = checkout(shop, paylink).await;
    act(&shop.sandbox, &session_id, "pay").await;
    order_id
}

/// Acts on a session through the sandbox's control API, as the customer
/// would on the hosted page, without a browser: `pay`, `cancel`, `fail`, `expire`.
pub(crate) async fn act(sandbox: &Sandbox, session_id: &str, action: &str) {
    let action = Action::from_name(action).unwrap();
    let control = SandboxControl::of(sandbox);
    let acted = control.act(session_id, action).await;
    assert!(acted.is_ok(), "{action:?} {session_id}: {acted:?}");
}

/// A webhook body carrying the order id in its metadata, like the sandbox sends.
pub(crate) fn event_body(event_id: &str, event_type: &str, order_id: &str) -> String {
    format!(
        r#"{{"id":"{event_id}","eventType":"{event_type}","eventData":{{"data":{{"id":"sub_1","metadata":{{"internal_order_id":"{order_id}"}},"token":{{"symbol":"USDC","amount":"0x27100","decimals":6}}}}}}}}"#
    )
}

/// Posts `body` to the storefront's webhook endpoint, signed with `secret`.
pub(crate) async fn post_event(url: &str, body: &str, secret: &str) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let signed = actalink_webhooks::sign(body.as_bytes(), &secret.into(), now).unwrap();
    send(
        Method::POST,
        &format!("{url}/webhooks/actalink"),
        Some(("application/json", body.to_owned())),
        &[
            ("x-actalink-timestamp", signed.timestamp.as_str()),
            ("x-actalink-signature", signed.signature.as_str()),
        ],
    )
    .await
}

/// The text of a response body.
pub(crate) fn text(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// How many times an order became paid.
pub(crate) fn paid_transitions(db: &Db, order_id: &str) -> usize {
    db.transitions(order_id)
        .unwrap()
        .iter()
        .filter(|t| t.to_status == "paid")
        .count()
}

/// The one status change an order went through; fails if there were more or none.
pub(crate) fn only_transition(db: &Db, order_id: &str) -> TransitionRecord {
    let mut history = db.transitions(order_id).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    history.remove(0)
}
