// The oracle for number literals: reads one JSON text per line from the file
// named in argv[2] and writes, per line, JSON.stringify(JSON.parse(line)), or
// "!" when JSON.parse throws.
"use strict";
const fs = require("fs");

const lines = fs.readFileSync(process.argv[2], "utf8").split("\n");
lines.pop(); // the file ends with a newline
const out = lines.map((line) => {
  try {
    return JSON.stringify(JSON.parse(line));
  } catch {
    return "!";
  }
});
process.stdout.write(out.join("\n") + "\n");
