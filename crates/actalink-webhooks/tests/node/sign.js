// The provider's documented signing algorithm, used as the oracle for the
// differential test. Reads lines of {"doc": hex, "mut": hex} from the file
// named in argv[2]; writes one line per input:
//   {"s": signature of doc, "c": JSON.stringify(JSON.parse(doc)), "m": signature of mut or null,
//    "e": the event fields as read by the lenient rules below}
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const [file, secret, timestamp] = process.argv.slice(2);

function sign(buffer) {
  const payload = JSON.parse(buffer); // JSON.parse(Buffer) decodes it as UTF-8, as a server would.
  const wrapped = JSON.stringify({ payload });
  const inner = crypto.createHmac("sha256", secret).update(wrapped).digest("hex");
  const signature = crypto.createHmac("sha256", secret).update(`${timestamp}.${inner}`).digest("hex");
  return { signature, canonical: JSON.stringify(payload), payload };
}

// The SDK's documented leniency, written independently of the Rust decoder:
// a field is read when its meaning is clear and is null otherwise.
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
// A string (unless it holds a lone surrogate), or a finite number as its text.
function text(v) {
  if (typeof v === "string") return v.isWellFormed() ? v : null;
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : null;
  return null;
}
// A checkout session id: text that is non-empty, with no White_Space and no
// control character (Unicode's properties, as Rust's char::is_whitespace and
// char::is_control read them).
function sessionId(v) {
  const t = text(v);
  return t !== null && t !== "" && !/[\p{White_Space}\p{Cc}]/u.test(t) ? t : null;
}
// The hex string as sent, or a whole number of base units below 2^128: the
// integer that the number's JSON text (JavaScript's shortest form) spells.
function amount(v) {
  if (typeof v === "string") return v.isWellFormed() ? { s: v } : null;
  if (typeof v !== "number") return null;
  const m = /^(\d+)(?:\.(\d+))?(?:e\+(\d+))?$/.exec(String(v));
  if (!m) return null;
  const [, int, fraction = "", exponent = "0"] = m;
  const shift = Number(exponent);
  if (fraction.length > shift) return null;
  const digits = BigInt(int + fraction + "0".repeat(shift - fraction.length));
  return digits < 2n ** 128n ? { n: digits.toString() } : null;
}
// A u32, as a number or a string of digits.
function decimals(v) {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 4294967295) return v;
  if (typeof v === "string" && /^[0-9]+$/.test(v) && BigInt(v) <= 4294967295n) return Number(v);
  return null;
}
// Key/value pairs: strings as they are (lone surrogates as U+FFFD), other values as JSON.
function metadata(v) {
  if (!isObject(v)) return null;
  return Object.entries(v).map(([k, x]) => [
    k.toWellFormed(),
    typeof x === "string" ? x.toWellFormed() : JSON.stringify(x),
  ]);
}
function decode(p) {
  const e = { id: null, type: null, dataId: null, csid: null, token: null, meta: null };
  if (!isObject(p)) return e;
  e.id = text(p.id);
  e.type = text(p.eventType);
  const eventData = p.eventData;
  if (!isObject(eventData)) return e;
  const outer = metadata(eventData.metadata);
  const d = eventData.data;
  if (isObject(d)) {
    e.dataId = text(d.id);
    e.csid = sessionId(d.checkoutSessionId);
    if (isObject(d.token)) {
      e.token = { name: text(d.token.name), amount: amount(d.token.amount), decimals: decimals(d.token.decimals) };
    }
    e.meta = metadata(d.metadata) ?? outer;
  } else {
    e.meta = outer;
  }
  return e;
}

const out = [];
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
  if (!line) continue;
  const { doc, mut } = JSON.parse(line);
  const original = sign(Buffer.from(doc, "hex"));
  let mutated = null;
  try {
    mutated = sign(Buffer.from(mut, "hex")).signature;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  out.push(
    JSON.stringify({ s: original.signature, c: original.canonical, m: mutated, e: decode(original.payload) }),
  );
}
process.stdout.write(out.join("\n") + "\n");
