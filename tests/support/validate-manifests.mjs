// Validates Kubernetes manifests (multi-document YAML files) against the
// schemas of the npm packages kubernetes-models (every built-in kind) and
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule, ...).
//
//   node validate-manifests.mjs FILE...
//
// Modules resolve from $ARIZE_TEST_TOOLS/node/node_modules, installed by
// scripts/tools/kube-schemas.sh. Prints one line per document; exits 1 if any
// document is invalid, has no known schema, or the YAML does not parse.
// YAML is read as 1.1, like Kubernetes does (defaultMode: 0440 is octal).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const tools = process.env.ARIZE_TEST_TOOLS;
if (!tools) {
  console.error("ARIZE_TEST_TOOLS is not set (run scripts/tools/kube-schemas.sh)");
  process.exit(2);
}
const modules = join(tools, "node", "node_modules");
const load = async (rel) => import(pathToFileURL(join(modules, rel)).href);

let YAML;
try {
  YAML = await load("yaml/dist/index.js");
} catch (e) {
  console.error(`cannot load the yaml package from ${modules}: ${e.message}`);
  process.exit(2);
}

function modelPath(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}.js`;
  }
  return group === ""
    ? `kubernetes-models/${version}/${kind}.js`
    : `kubernetes-models/${group}/${version}/${kind}.js`;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: validate-manifests.mjs FILE...");
  process.exit(2);
}

let failures = 0;
let checked = 0;
for (const file of files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" });
  for (const [i, doc] of docs.entries()) {
    const where = `${file}#${i}`;
    if (doc.errors.length > 0) {
      console.log(`FAIL ${where}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // empty document
    const { apiVersion, kind } = obj;
    const name = obj?.metadata?.name;
    const id = `${where} ${apiVersion}/${kind} ${name}`;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      console.log(`FAIL ${where}: no apiVersion or kind`);
      failures++;
      continue;
    }
    if (typeof name !== "string" || name === "") {
      console.log(`FAIL ${id}: no metadata.name`);
      failures++;
      continue;
    }
    const rel = modelPath(apiVersion, kind);
    if (!existsSync(join(modules, rel))) {
      console.log(`FAIL ${id}: no schema known for ${apiVersion} ${kind}`);
      failures++;
      continue;
    }
    const mod = await load(rel);
    const Model = mod[kind] ?? mod.default;
    try {
      new Model(obj).validate();
      console.log(`ok   ${id}`);
      checked++;
    } catch (e) {
      console.log(`FAIL ${id}: ${e.message}`);
      failures++;
    }
  }
}
if (checked === 0 && failures === 0) {
  console.log("FAIL: no manifests found");
  process.exit(1);
}
process.exit(failures > 0 ? 1 : 0);
