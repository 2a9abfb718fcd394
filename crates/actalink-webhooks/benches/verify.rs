//! Webhook verification throughput for a 1 KB and a 100 KB event, side by side
//! with the practical floor: serde_json parsing plus compact serialising of the
//! same body. `cargo xtask bench` also runs the provider's Node.js reference on
//! the same payloads (written to the temp dir by this benchmark) and reports ratios.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use actalink_webhooks::{Verifier, sign};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

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

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("actalink-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let verifier = Verifier::new(SECRET).without_tolerance();
    let mut group = c.benchmark_group("webhook");
    for (label, size) in [("1KB", 1024), ("100KB", 100 * 1024)] {
        let body = payload(size);
        let signed = sign(&body, &SECRET.into(), NOW).unwrap();
        std::fs::write(dir.join(format!("{label}.json")), &body).unwrap();
        std::fs::write(
            dir.join(format!("{label}.sig")),
            format!("{}\n{}\n", signed.timestamp, signed.signature),
        )
        .unwrap();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("verify_signature", label),
            &body,
            |b, body| {
                b.iter(|| {
                    verifier
                        .verify_signature(black_box(body), &signed.timestamp, &signed.signature)
                        .unwrap()
                });
            },
        );
        // The same event pretty-printed: the signature no longer covers the raw
        // bytes, so this measures the full re-serialisation path.
        let pretty =
            serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body).unwrap())
                .unwrap();
        let pretty_signed = sign(&pretty, &SECRET.into(), NOW).unwrap();
        // For the Node.js reference, which times the same pretty body.
        std::fs::write(dir.join(format!("{label}-pretty.json")), &pretty).unwrap();
        std::fs::write(
            dir.join(format!("{label}-pretty.sig")),
            format!("{}\n{}\n", pretty_signed.timestamp, pretty_signed.signature),
        )
        .unwrap();
        group.bench_with_input(
            BenchmarkId::new("verify_signature_reserialised", label),
            &pretty,
            |b, body| {
                b.iter(|| {
                    verifier
                        .verify_signature(
                            black_box(body),
                            &pretty_signed.timestamp,
                            &pretty_signed.signature,
                        )
                        .unwrap()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("verify_and_decode", label),
            &body,
            |b, body| {
                b.iter(|| {
                    verifier
                        .verify_parts(black_box(body), &signed.timestamp, &signed.signature)
                        .unwrap()
                });
            },
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
