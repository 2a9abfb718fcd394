//! The whole flow in headless Chromium: shop, hosted page, pay or cancel,
//! back on the shop's return page. Screenshots of each final page are saved under the
//! test's output directory. Without Chromium and chromedriver the test says it
//! was skipped; under `CI=true` it must run.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actalink_payments::PaymentStatus;
use actalink_sandbox::{EBOOK_PAYLINK, PRO_PAYLINK};
use fantoccini::{Client, ClientBuilder, Locator};

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The first of `candidates` that runs, as a path or a name on `PATH`.
fn first_installed(candidates: &[String]) -> Option<String> {
    candidates.iter().find(|c| installed(c)).cloned()
}

/// Chromium (Debian) or Google Chrome (GitHub's runners), by full path:
/// chromedriver needs the binary itself.
fn browser_binary() -> Option<String> {
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| installed(&candidate.to_string_lossy()))
            .map(|found| found.to_string_lossy().into_owned())
    })
}

/// chromedriver: `$CHROMEDRIVER`, then the runner's `$CHROMEWEBDRIVER/chromedriver`, then `PATH`.
fn chromedriver() -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        candidates.push(path.to_string_lossy().into_owned());
    }
    if let Some(dir) = std::env::var_os("CHROMEWEBDRIVER") {
        candidates.push(
            PathBuf::from(dir)
                .join("chromedriver")
                .to_string_lossy()
                .into_owned(),
        );
    }
    candidates.push("chromedriver".to_owned());
    first_installed(&candidates)
}

async fn start_driver() -> Option<(Driver, String)> {
    let (Some(binary), Some(chromedriver)) = (browser_binary(), chromedriver()) else {
        actalink_testkit::skip(
            "browser test",
            "no Chromium/Chrome or no chromedriver is installed (Debian packages chromium, chromium-driver)",
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((driver, binary));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver, binary: &str, profile: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1000,800", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    // chromedriver is on loopback: plain HTTP, no TLS stack needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("storefront-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn text(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// From the shop, buys `paylink` and presses `button` on the hosted page;
/// returns the order id from the page it lands on.
async fn buy(client: &Client, shop: &common::Shop, paylink: &str, button: &str) -> String {
    client.goto(&shop.url).await.unwrap();
    client
        .find(Locator::Css(&format!("button[id='buy-{paylink}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // On the sandbox's hosted page.
    let product = text(client, "#product").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(shop.sandbox.url())
    );
    assert!(!product.is_empty());
    std::fs::write(
        screenshots().join(format!("hosted-{paylink}.png")),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client
        .find(Locator::Css(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the shop's order (return) page.
    text(client, "#order-status").await;
    let url = client.current_url().await.unwrap();
    assert!(url.as_str().starts_with(&shop.url), "{url}");
    url.path_segments().unwrap().next_back().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn buying_and_cancelling_in_a_real_browser() {
    let Some((driver, binary)) = start_driver().await else {
        return;
    };
    let profile = std::env::temp_dir().join(format!("storefront-chromium-{}", std::process::id()));
    let shop = common::start(true).await;
    let client = browser(&driver, &binary, &profile).await;

    // Buy, pay, and land on the shop's return page showing the order paid.
    let order_id = buy(&client, &shop, PRO_PAYLINK, "#pay").await;
    assert_eq!(text(&client, "#order-status").await, "paid");
    std::fs::write(
        screenshots().join("paid.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    assert_eq!(
        common::status(shop.shop(), &order_id).await,
        PaymentStatus::Paid
    );
    assert!(
        common::eventually(|| async { common::events_for(shop.shop(), &order_id).await == 1 })
            .await,
        "the webhook was stored"
    );
    assert!(
        common::eventually_fulfilled(shop.shop(), &order_id).await,
        "the order was fulfilled"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        common::events_for(shop.shop(), &order_id).await,
        1,
        "exactly once"
    );
    assert_eq!(common::paid_transitions(shop.shop(), &order_id).await, 1);

    // Buy, cancel, and see the order still pending.
    let order_id = buy(&client, &shop, EBOOK_PAYLINK, "#cancel").await;
    assert_eq!(text(&client, "#order-status").await, "pending");
    assert!(text(&client, "#note").await.contains("cancelled"));
    std::fs::write(
        screenshots().join("cancelled.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    assert_eq!(
        common::status(shop.shop(), &order_id).await,
        PaymentStatus::Open
    );
    assert_eq!(common::events_for(shop.shop(), &order_id).await, 0);

    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!("browser test: screenshots in {}", screenshots().display());
}
