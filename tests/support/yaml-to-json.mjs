// Prints the documents of a YAML file as one JSON array (empty documents
// dropped), so that the Rust tests can inspect YAML with serde_json only.
//
//   node yaml-to-json.mjs FILE
//
// The yaml package resolves from $ARIZE_TEST_TOOLS/node/node_modules
// (scripts/tools/kube-schemas.sh). Parsed as YAML 1.1, as Kubernetes and
// Helm read it (0440 is octal, yes/no are booleans); exits 1 if the file
// does not parse.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const tools = process.env.ARIZE_TEST_TOOLS;
if (!tools) {
  console.error("ARIZE_TEST_TOOLS is not set (run scripts/tools/kube-schemas.sh)");
  process.exit(2);
}
const YAML = await import(
  pathToFileURL(join(tools, "node", "node_modules", "yaml", "dist", "index.js")).href
);
const file = process.argv[2];
if (!file) {
  console.error("usage: yaml-to-json.mjs FILE");
  process.exit(2);
}
const out = [];
for (const doc of YAML.parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" })) {
  if (doc.errors.length > 0) {
    console.error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    process.exit(1);
  }
  const value = doc.toJS({ maxAliasCount: -1 });
  if (value !== null && value !== undefined) out.push(value);
}
process.stdout.write(JSON.stringify(out));
