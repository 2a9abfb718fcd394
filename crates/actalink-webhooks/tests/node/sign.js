// The provider's documented signing algorithm, used as the oracle for the
// differential test. Reads lines of {"doc": hex, "mut": hex} from the file
// named in argv[2]; writes one line per input:
//   {"s": signature of doc, "c": JSON.stringify(JSON.parse(doc)), "m": signature of mut or null}
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const [file, secret, timestamp] = process.argv.slice(2);

function sign(buffer) {
  const payload = JSON.parse(buffer); // JSON.parse(Buffer) decodes it as UTF-8, as a server would.
  const wrapped = JSON.stringify({ payload });
  const inner = crypto.createHmac("sha256", secret).update(wrapped).digest("hex");
  const signature = crypto.createHmac("sha256", secret).update(`${timestamp}.${inner}`).digest("hex");
  return { signature, canonical: JSON.stringify(payload) };
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
  out.push(JSON.stringify({ s: original.signature, c: original.canonical, m: mutated }));
}
process.stdout.write(out.join("\n") + "\n");
