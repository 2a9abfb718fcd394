//! Webhook verification throughput for a 1 KB and a 100 KB event, and for a
//! number-heavy event of 1,100 line items, side by side with the practical
//! floor: serde_json parsing plus compact serialising of the same body. `cargo xtask bench` also runs the provider's Node.js reference on
//! the same payloads (written to the temp dir by this benchmark) and reports ratios.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::Path;

use actalink_webhooks::{SignedHeaders, Verifier, sign};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

const SECRET: &str = "whsec_bench_secret";
const NOW: i64 = 1_756_481_736_348;

/// A realistic event of about `target` bytes: metadata, a token, and line items.
fn payload(target: usize) -> Vec<u8> {
    let mut items = String::new();
    let mut i = 0;
    while items.len() + 400 < target {
        if i > 0 {
            items.push(',');
        }
        items.push_str(&format!(
            r#"{{"sku":"SKU-{i:05}","name":"Recipe Pro – plan {i}","qty":{q},"price":"0x302e3136","weight":{w},"tags":["crypto","usdc","é{i}"]}}"#,
            q = i % 7 + 1,
            w = (i as f64) * 0.25 + 0.1,
        ));
        i += 1;
    }
    format!(
        r#"{{"id":"event_pJMZK1AFhyX1YiZkVgTjVWg3ctLEdcXP","eventType":"onetime.executed","eventData":{{"data":{{"id":"txn_WiBf4VPq2wlSprD1hZFKNKirIo426Q3p","checkoutSessionId":"checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX","metadata":{{"user_uuid":"nw571k0fjyh650yehifhtwqd","internal_order_id":"ORD-120394"}},"token":{{"name":"USD Coin","amount":"0x249f0","symbol":"USDC","address":"0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359","decimals":6}},"items":[{items}]}}}}}}"#
    )
    .into_bytes()
}

/// A number-heavy event: 1,100 line items, each with a `sku`, a `name` holding a
/// non-ASCII letter, an integer `qty` from 1 to 9 and a two-decimal `price`,
/// written as `JSON.stringify` writes it (`12.3` for 12.30, `12` for 12.00).
/// About 140 KB once pretty-printed with an indent of 2. Deterministic.
fn line_items_payload() -> Vec<u8> {
    const NAMES: [&str; 6] = [
        "Café crème",
        "Jalapeño salsa",
        "Smørrebrød",
        "Müsli",
        "Crème brûlée",
        "Piñata",
    ];
    // A fixed linear congruential generator: the same body on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut items = String::new();
    for i in 0..1100 {
        if i > 0 {
            items.push(',');
        }
        let qty = next() % 9 + 1;
        // Prices from 0.05 to 500; about one in eight is whole.
        let mut cents = next() % 49_995 + 5;
        if next() % 8 == 0 {
            cents = cents / 100 * 100 + 100;
        }
        let price = match (cents / 100, cents % 100) {
            (whole, 0) => format!("{whole}"),
            (whole, c) if c % 10 == 0 => format!("{whole}.{}", c / 10),
            (whole, c) => format!("{whole}.{c:02}"),
        };
        items.push_str(&format!(
            r#"{{"sku":"SKU-{i:05}","name":"{name} {n}","qty":{qty},"price":{price}}}"#,
            name = NAMES[i % NAMES.len()],
            n = i / NAMES.len() + 1,
        ));
    }
    format!(
        r#"{{"id":"event_pJMZK1AFhyX1YiZkVgTjVWg3ctLEdcXP","eventType":"onetime.executed","eventData":{{"data":{{"id":"txn_WiBf4VPq2wlSprD1hZFKNKirIo426Q3p","checkoutSessionId":"checkout_mfUL0qrS9IhRXJXBu42JkdhO4tdLeqpX","metadata":{{"user_uuid":"nw571k0fjyh650yehifhtwqd","internal_order_id":"ORD-120394"}},"token":{{"name":"USD Coin","amount":"0x249f0","symbol":"USDC","address":"0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359","decimals":6}},"items":[{items}]}}}}}}"#
    )
    .into_bytes()
}

/// The same JSON pretty-printed with an indent of 2, non-ASCII as it is.
fn pretty(body: &[u8]) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(body).unwrap()).unwrap()
}

/// Signs `body` and writes it to `dir` as `{name}.json`, with its timestamp and
/// signature as `{name}.sig`, for the Node.js reference to time.
fn sign_for_node(dir: &Path, name: &str, body: &[u8]) -> SignedHeaders {
    let signed = sign(body, &SECRET.into(), NOW).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), body).unwrap();
    std::fs::write(
        dir.join(format!("{name}.sig")),
        format!("{}\n{}\n", signed.timestamp, signed.signature),
    )
    .unwrap();
    signed
}

/// Benchmarks `verify` on `body` and the headers it was signed with.
fn bench_verify<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    label: &str,
    body: &[u8],
    signed: &SignedHeaders,
    verify: impl Fn(&[u8], &str, &str) -> T,
) {
    group.bench_with_input(BenchmarkId::new(name, label), body, |b, body| {
        b.iter(|| verify(black_box(body), &signed.timestamp, &signed.signature));
    });
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("actalink-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let verifier = Verifier::new(SECRET).without_tolerance();
    let mut group = c.benchmark_group("webhook");
    for (label, body) in [
        ("1KB", payload(1024)),
        ("100KB", payload(100 * 1024)),
        ("items-1100", line_items_payload()),
    ] {
        let signed = sign_for_node(&dir, label, &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        bench_verify(
            &mut group,
            "verify_signature",
            label,
            &body,
            &signed,
            |b, t, s| verifier.verify_signature(b, t, s).unwrap(),
        );
        // The same event pretty-printed: the signature no longer covers the raw
        // bytes, so this measures the full re-serialisation path.
        let pretty = pretty(&body);
        // The Node.js reference times the same pretty body.
        let pretty_signed = sign_for_node(&dir, &format!("{label}-pretty"), &pretty);
        bench_verify(
            &mut group,
            "verify_signature_reserialised",
            label,
            &pretty,
            &pretty_signed,
            |b, t, s| verifier.verify_signature(b, t, s).unwrap(),
        );
        bench_verify(
            &mut group,
            "verify_and_decode",
            label,
            &body,
            &signed,
            |b, t, s| verifier.verify_parts(b, t, s).unwrap(),
        );
        group.bench_with_input(
            BenchmarkId::new("serde_json_floor", label),
            &body,
            |b, body| {
                b.iter(|| {
                    let value: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
                    serde_json::to_string(&value).unwrap()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
