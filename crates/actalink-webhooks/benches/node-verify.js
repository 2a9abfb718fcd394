// The provider's documented Node.js verification, timed on the payloads the
// Rust benchmark wrote. Prints one line per payload: "<label> <nanoseconds per verification>".
// Usage: node node-verify.js DIR [LABEL...] (every payload when no label is given).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const dir = process.argv[2];
const secret = "whsec_bench_secret";

function verify(rawBody, timestamp, signature) {
  const payload = JSON.parse(rawBody);
  const wrapped = JSON.stringify({ payload });
  const inner = crypto.createHmac("sha256", secret).update(wrapped).digest("hex");
  const expected = crypto.createHmac("sha256", secret).update(`${timestamp}.${inner}`).digest("hex");
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}

// Each compact body as the provider sends it, and the same body pretty-printed
// (which the Rust side must re-serialise). `items-1100` is the number-heavy
// event: 1,100 line items with integer quantities and two-decimal prices.
const labels = process.argv.slice(3);
for (const label of labels.length > 0
  ? labels
  : ["1KB", "100KB", "items-1100", "1KB-pretty", "100KB-pretty", "items-1100-pretty"]) {
  const body = fs.readFileSync(path.join(dir, `${label}.json`));
  const [timestamp, signature] = fs.readFileSync(path.join(dir, `${label}.sig`), "utf8").trim().split("\n");
  if (!verify(body, timestamp, signature)) throw new Error(`${label}: the reference rejects our signature`);
  // Warm up, then time for about two seconds.
  for (let i = 0; i < 200; i++) verify(body, timestamp, signature);
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 2_000_000_000n) {
    for (let i = 0; i < 50; i++) verify(body, timestamp, signature);
    iterations += 50;
    elapsed = process.hrtime.bigint() - start;
  }
  console.log(`${label} ${Number(elapsed) / iterations}`);
}
