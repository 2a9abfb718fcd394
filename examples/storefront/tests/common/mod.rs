//! Starting the sandbox and the storefront side by side on loopback, and
//! talking to them as a browser and as the provider would.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::Decimal;
use actalink_payments::sqlx;
use actalink_payments::{PaymentStatus, Transition};
use actalink_sandbox::{DEFAULT_API_KEY, Sandbox, WebhookEndpoint};
use actalink_testkit::{Action, SandboxControl};
use actalink_transport::{Request, ReqwestTransport, Response, Transport};
use http::{HeaderValue, Method, StatusCode};
use storefront::{Background, Config, Storefront};

pub(crate) const SECRET: &str = "whsec_storefront_test";

/// How a test storefront runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Register the storefront's webhook endpoint with the sandbox.
    pub(crate) webhooks: bool,
    /// Run the background work: the reconciler and the fulfilment worker.
    pub(crate) background: bool,
    /// The database (a new SQLite file otherwise).
    pub(crate) database: Option<String>,
    /// The price the storefront expects for Recipe Pro (the sandbox sells it at 0.16).
    pub(crate) pro_price: Option<Decimal>,
    /// Where paid orders are sent.
    pub(crate) fulfil_url: Option<String>,
}

/// One running storefront; dropping it stops the server and the background work.
pub(crate) struct Instance {
    pub(crate) url: String,
    pub(crate) shop: Storefront,
    server: tokio::task::JoinHandle<()>,
    background: Option<Background>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Instance {
    /// Stops the server and the background work, and waits for the server task to end.
    pub(crate) async fn stop(mut self) {
        if let Some(background) = self.background.take() {
            background.shutdown(Duration::from_secs(5)).await;
        }
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

/// A sandbox and a storefront wired to each other.
pub(crate) struct Shop {
    pub(crate) sandbox: Sandbox,
    pub(crate) url: String,
    pub(crate) instance: Instance,
}

impl Shop {
    /// The storefront.
    pub(crate) fn shop(&self) -> &Storefront {
        &self.instance.shop
    }
}

/// A new SQLite file URL under the system's temp dir.
pub(crate) fn sqlite_url(test: &str) -> String {
    actalink_testkit::fresh_sqlite(&format!("storefront-{test}")).url
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
    let database = options
        .database
        .clone()
        .unwrap_or_else(|| sqlite_url("shop"));
    let mut config = Config::for_test(DEFAULT_API_KEY, sandbox.url(), SECRET, &database);
    config.addr = listener.local_addr().unwrap();
    config.fulfil_url.clone_from(&options.fulfil_url);
    if let Some(price) = options.pro_price {
        config.products[0].amount = price;
    }
    let shop = Storefront::open(config).await.unwrap();
    let url = shop.public_url().to_owned();
    let router = shop.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let background = options.background.then(|| shop.start_background().unwrap());
    if options.webhooks {
        sandbox.add_webhook(WebhookEndpoint::new(
            format!("{url}/webhooks/actalink"),
            SECRET,
        ));
    }
    Instance {
        url,
        shop,
        server,
        background,
    }
}

/// A sandbox and a storefront with `options`.
pub(crate) async fn start_with(options: Options) -> Shop {
    let sandbox = sandbox(None).await;
    let instance = serve(&sandbox, &options).await;
    Shop {
        url: instance.url.clone(),
        sandbox,
        instance,
    }
}

/// A sandbox and a storefront with its background work; `with_webhooks:
/// false` models a webhook that never arrives.
pub(crate) async fn start(with_webhooks: bool) -> Shop {
    start_with(Options {
        webhooks: with_webhooks,
        background: true,
        ..Options::default()
    })
    .await
}

/// Polls until `check` holds or fifteen seconds pass.
pub(crate) async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check().await
}

/// Polls until the order is fulfilled, as [`eventually`].
pub(crate) async fn eventually_fulfilled(shop: &Storefront, order_id: &str) -> bool {
    eventually(|| async {
        shop.order(order_id)
            .await
            .unwrap()
            .unwrap()
            .fulfilled_at_ms
            .is_some()
    })
    .await
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
/// (from the session's metadata) and the session id (from the hosted page
/// URL it redirects to).
pub(crate) async fn checkout_via(url: &str, sandbox: &Sandbox, paylink: &str) -> (String, String) {
    let response = post_checkout_form(url, paylink).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
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
    assert_eq!(stored.metadata_value("user_uuid"), Some("user_demo_0001"));
    (order_id, session_id)
}

/// [`checkout_via`] the storefront `shop`, checking the order and its open payment.
pub(crate) async fn checkout_at(
    shop: &Storefront,
    url: &str,
    sandbox: &Sandbox,
    paylink: &str,
) -> (String, String) {
    let (order_id, session_id) = checkout_via(url, sandbox, paylink).await;
    let order = shop.order(&order_id).await.unwrap().unwrap();
    assert_eq!(order.checkout_session_id.as_str(), session_id);
    assert_eq!(order.paylink_id, paylink);
    assert_eq!(order.fulfilled_at_ms, None);
    assert_eq!(status(shop, &order_id).await, PaymentStatus::Open);
    (order_id, session_id)
}

/// [`checkout_at`] on a [`Shop`].
pub(crate) async fn checkout(shop: &Shop, paylink: &str) -> (String, String) {
    checkout_at(shop.shop(), &shop.url, &shop.sandbox, paylink).await
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

/// Where the order's payment stands.
pub(crate) async fn status(shop: &Storefront, order_id: &str) -> PaymentStatus {
    shop.payments()
        .payment_by_reference(order_id)
        .await
        .unwrap()
        .unwrap()
        .status
}

/// The order's payment's status changes.
pub(crate) async fn transitions(shop: &Storefront, order_id: &str) -> Vec<Transition> {
    let order = shop.order(order_id).await.unwrap().unwrap();
    shop.payments()
        .transitions(&order.checkout_session_id)
        .await
        .unwrap()
}

/// How many times the order's payment became paid.
pub(crate) async fn paid_transitions(shop: &Storefront, order_id: &str) -> usize {
    transitions(shop, order_id)
        .await
        .iter()
        .filter(|t| t.to == PaymentStatus::Paid)
        .count()
}

/// The one status change the order's payment went through; fails if there were more or none.
pub(crate) async fn only_transition(shop: &Storefront, order_id: &str) -> Transition {
    let mut history = transitions(shop, order_id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    history.remove(0)
}

/// How many stored webhook events name the order (by its id or its session).
pub(crate) async fn events_for(shop: &Storefront, order_id: &str) -> i64 {
    let session = shop
        .order(order_id)
        .await
        .unwrap()
        .map(|o| o.checkout_session_id.as_str().to_owned());
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM actalink_webhook_inbox WHERE reference = $1 OR session_id = $2",
    )
    .bind(order_id)
    .bind(session)
    .fetch_one(shop.payments().pool())
    .await
    .unwrap()
}

/// How many webhook events the inbox holds.
pub(crate) async fn inbox_len(shop: &Storefront) -> i64 {
    shop.payments().inbox_len().await.unwrap()
}
