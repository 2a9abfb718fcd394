//! `actalink demo`: the seed's six-step checkout flow, end to end, on loopback.
//!
//! It starts the sandbox in-process and a small merchant server (a success
//! page and a webhook endpoint), then walks the flow the way a merchant's
//! backend and a customer's browser would, checking each step.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actalink_checkout::{Client, CreateCheckoutSession, WaitOptions};
use actalink_sandbox::{DEFAULT_API_KEY, PRO_PAYLINK, Sandbox, WebhookEndpoint};
use actalink_transport::{Request, ReqwestTransport, Transport};
use actalink_webhooks::{Event, VerifiedEvent, Verifier};
use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use http::{Method, StatusCode};
use tokio::sync::mpsc;

use crate::{Failure, Globals, Outcome, output};

pub(crate) const EXAMPLES: &str = "\
Examples:
  actalink demo
  actalink --json demo | jq .ok
  actalink demo --interactive      # pay in a real browser";

/// Demo options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print the checkout URL and wait for a person to pay in a real browser.
    #[arg(long)]
    interactive: bool,
}

const WEBHOOK_SECRET: &str = "whsec_demo_secret";

/// The merchant's side: its success page and its webhook endpoint.
struct Merchant {
    url: String,
    events: mpsc::UnboundedReceiver<Event>,
    visits: Arc<Mutex<Vec<String>>>,
}

async fn start_merchant() -> Result<Merchant, Failure> {
    let (tx, events) = mpsc::unbounded_channel();
    let visits = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&visits);
    let app = Router::new()
        .route(
            "/webhooks/actalink",
            post(move |VerifiedEvent(event): VerifiedEvent| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(event);
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/orders/{order}",
            get(move |Path(order): Path<String>| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(order.clone());
                    format!("Thank you! Order {order} is being confirmed.")
                }
            }),
        )
        .with_state(Verifier::new(WEBHOOK_SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| {
            Failure::failed("demo", format!("could not start the merchant server: {e}"))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::failed("demo", e.to_string()))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Merchant {
        url: format!("http://{addr}"),
        events,
        visits,
    })
}

/// Prints one step and records whether it held.
struct Steps {
    json: bool,
    held: Vec<(String, bool, String)>,
}

impl Steps {
    fn step(&mut self, title: &str, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        if !self.json {
            let mark = if ok { "ok  " } else { "FAIL" };
            // Details quote pages and webhooks: escaped for the terminal.
            outln!(
                "{mark} {}. {title:<24} {}",
                self.held.len() + 1,
                output::escape(&detail)
            );
        }
        self.held.push((title.to_owned(), ok, detail));
    }

    fn all_held(&self) -> bool {
        self.held.iter().all(|(_, ok, _)| *ok)
    }
}

/// A browser's HTTP: no redirects followed, so each hop can be checked.
async fn browse(method: Method, url: &str) -> Result<actalink_transport::Response, String> {
    let transport = ReqwestTransport::new().map_err(|e| e.to_string())?;
    let mut request = Request::new(method.clone(), url);
    if method == Method::POST {
        request = request.with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    transport.send(request).await.map_err(|e| e.to_string())
}

/// The action of the form whose button has `id="pay"`. Every slice goes
/// through `get`, so a page of any shape gives `None`, never a panic.
fn pay_form_action(html: &str) -> Option<String> {
    let button = html.find("id=\"pay\"")?;
    let before = html.get(..button)?;
    let form = before.get(before.rfind("<form")?..)?;
    let after_action = form.get(form.find("action=\"")? + "action=\"".len()..)?;
    let end = after_action.find('"')?;
    after_action.get(..end).map(str::to_owned)
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{base}{location}")
    }
}

pub(crate) async fn run(globals: &Globals, args: Args) -> Outcome {
    let merchant = start_merchant().await?;
    let sandbox = Sandbox::builder()
        .webhook(WebhookEndpoint::new(
            format!("{}/webhooks/actalink", merchant.url),
            WEBHOOK_SECRET,
        ))
        .delivery(5, Duration::from_millis(200))
        .start("127.0.0.1:0")
        .await
        .map_err(|e| Failure::failed("demo", e.to_string()))?;
    if !globals.json {
        outln!(
            "Actalink checkout demo: sandbox at {}, merchant at {}; nothing leaves this machine.\n",
            sandbox.url(),
            merchant.url
        );
    }
    let mut steps = Steps {
        json: globals.json,
        held: Vec::new(),
    };
    let result = walk(&mut steps, &sandbox, merchant, args.interactive).await;
    sandbox.shutdown().await;
    let held = steps.held.iter().filter(|(_, ok, _)| *ok).count();
    let total = steps.held.len();
    if globals.json {
        let list: Vec<_> = steps
            .held
            .iter()
            .map(|(title, ok, detail)| serde_json::json!({ "step": title, "ok": ok, "detail": detail }))
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "ok": result.is_ok() && steps.all_held(), "steps": list })
        );
    }
    result?;
    if steps.all_held() && total == 7 {
        if !globals.json {
            outln!(
                "\ndemo: every step held ({held}/{total}): the order was created, paid, verified and matched."
            );
        }
        Ok(())
    } else {
        Err(Failure::failed(
            "demo",
            format!("demo: {held} of 7 steps held"),
        ))
    }
}

async fn walk(
    steps: &mut Steps,
    sandbox: &Sandbox,
    mut merchant: Merchant,
    interactive: bool,
) -> Outcome {
    let fail = |message: String| Failure::failed("demo", message);

    // 1. The client sends order details to the merchant's backend.
    let order_id = format!("ORD-{:06}", fastrand::u32(0..1_000_000));
    let user_uuid = format!(
        "user_{}",
        std::iter::repeat_with(fastrand::alphanumeric)
            .take(12)
            .collect::<String>()
    );
    steps.step(
        "Order arrives",
        true,
        format!("{order_id} from {user_uuid}: Recipe Pro"),
    );

    // 2. The backend creates a checkout session with metadata.
    let client = Client::builder()
        .api_key(DEFAULT_API_KEY)
        .base_url(sandbox.url())
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let request = CreateCheckoutSession::builder(PRO_PAYLINK)
        .metadata("user_uuid", &user_uuid)
        .metadata("internal_order_id", &order_id)
        .success_url(format!("{}/orders/{order_id}", merchant.url))
        .cancel_url(format!("{}/cart", merchant.url))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let session = client
        .create_session(&request)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let price = session
        .products
        .first()
        .and_then(|p| p.price_details.as_ref())
        .and_then(|d| d.decimal().ok())
        .map_or_else(|| "?".into(), |a| a.to_string());
    steps.step(
        "Session created",
        session.is_open(),
        format!(
            "{} ({}, {price} USDC), metadata user_uuid + internal_order_id",
            session.id, session.status
        ),
    );

    // 3. The backend redirects the customer to the hosted checkout URL.
    let checkout_url = session.url.clone().unwrap_or_default();
    steps.step(
        "Redirect to checkout",
        !checkout_url.is_empty() && checkout_url.starts_with(sandbox.url()),
        checkout_url.clone(),
    );

    if interactive {
        outln!(
            "\n    Open {} in a browser and pay. Waiting…\n",
            output::escape(&checkout_url)
        );
        let paid = client
            .wait_for_completion(
                &session.id,
                WaitOptions::new().with_interval(Duration::from_secs(2)),
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        steps.step(
            "Customer pays",
            paid.is_paid(),
            format!("in the browser: {}", paid.status),
        );
        let mut visited = false;
        for _ in 0..50 {
            visited = merchant
                .visits
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&order_id);
            if visited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        steps.step(
            "Back on success URL",
            visited,
            format!("{}/orders/{order_id}", merchant.url),
        );
    } else {
        // 4. The customer pays, through the hosted page's own form, as a browser would.
        let page = browse(Method::GET, &checkout_url).await.map_err(fail)?;
        let html = String::from_utf8_lossy(&page.body).into_owned();
        let action =
            pay_form_action(&html).ok_or_else(|| fail("the hosted page has no pay form".into()))?;
        let paid = browse(Method::POST, &absolute(sandbox.url(), &action))
            .await
            .map_err(fail)?;
        let location = paid
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        steps.step(
            "Customer pays",
            page.status == StatusCode::OK && paid.status == StatusCode::SEE_OTHER,
            format!("POST {action} -> {}", paid.status.as_u16()),
        );

        // 5. The browser follows the redirect back to the merchant's success URL.
        let back = browse(Method::GET, &absolute(sandbox.url(), &location))
            .await
            .map_err(fail)?;
        let text = String::from_utf8_lossy(&back.body).into_owned();
        steps.step(
            "Back on success URL",
            back.status == StatusCode::OK && location.ends_with(&format!("/orders/{order_id}")),
            format!("{location} -> {} \"{text}\"", back.status.as_u16()),
        );
    }

    // 6. The merchant receives the signed webhook, verifies it, and matches it to the order.
    let event = tokio::time::timeout(Duration::from_secs(15), merchant.events.recv())
        .await
        .ok()
        .flatten();
    match event {
        Some(event) => {
            let matched = event.metadata_value("internal_order_id") == Some(order_id.as_str())
                && event.metadata_value("user_uuid") == Some(user_uuid.as_str());
            // The id and type as sent (an event need not carry them to be genuine).
            let sent = serde_json::from_str::<serde_json::Value>(event.raw_json()).ok();
            let text = |key: &str| {
                sent.as_ref()
                    .and_then(|v| v.get(key))
                    .and_then(|v| v.as_str())
                    .map_or_else(|| format!("no {key}"), str::to_owned)
            };
            steps.step(
                "Webhook verified",
                matched,
                format!(
                    "{} ({}), signature valid, metadata matches {order_id}",
                    text("id"),
                    text("eventType")
                ),
            );
        }
        None => steps.step(
            "Webhook verified",
            false,
            "no verified webhook arrived within 15 s",
        ),
    }

    // 7. The backend confirms with the status endpoint.
    let final_session = client
        .get_session(&session.id)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let order = final_session
        .order_status
        .as_ref()
        .map_or_else(String::new, |s| format!(", order {s}"));
    let matches = final_session.metadata_value("internal_order_id") == Some(order_id.as_str());
    steps.step(
        "Status confirmed",
        final_session.is_paid() && matches,
        format!(
            "{}{order}, metadata internal_order_id={order_id}",
            final_session.status
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pay_form_action;

    #[test]
    fn finds_the_pay_forms_action() {
        let html = r#"<form method="post" action="/a/pay"><button id="pay">Pay</button></form>
<form method="post" action="/a/cancel"><button id="cancel">Cancel</button></form>"#;
        assert_eq!(pay_form_action(html).as_deref(), Some("/a/pay"));
        assert_eq!(pay_form_action("<p>no form</p>"), None);
        // Odd shapes give None, never a panic.
        for html in [
            "id=\"pay\"",
            "<form id=\"pay\"",
            "<form action=\"/x id=\"pay\"",
            "é<formé action=\"é\"é id=\"pay\"",
            "id=\"pay\"<form action=\"/a\">",
        ] {
            let _ = pay_form_action(html);
        }
        assert_eq!(
            pay_form_action("<form action=\"/é\"><button id=\"pay\">").as_deref(),
            Some("/é")
        );
    }
}
