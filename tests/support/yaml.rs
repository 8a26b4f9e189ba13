//! YAML as JSON, through the npm `yaml` package (`yaml-to-json.mjs` beside
//! this file) read as YAML 1.1, the way Kubernetes and Helm read it: the Rust
//! side needs only serde_json.

use std::path::Path;

use serde_json::Value;

use super::tools::{command, repo, run_ok, KUBE_SCHEMAS};

/// The documents of a YAML file (empty ones dropped), as JSON.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let script = repo().join("tests/support/yaml-to-json.mjs");
    let json = run_ok(command("node", KUBE_SCHEMAS).arg(script).arg(path));
    match serde_json::from_str(&json).expect("yaml-to-json prints JSON") {
        Value::Array(docs) => docs,
        other => panic!("yaml-to-json printed {other}"),
    }
}

/// The single document of a YAML file.
pub fn yaml_doc(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{} holds one YAML document", path.display());
    docs.remove(0)
}
