//! The Grafana dashboard (dashboards/arize-exporter.json): its structure, its
//! validity against Grafana's published dashboard schema, and that it reads
//! only SPEC metrics and the recording rules.

use crate::support;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{json, Value};
use support::observability::*;
use support::tools::*;

// ---- Grafana's published schema ------------------------------------------------

/// Grafana publishes its dashboard model in the npm package @grafana/schema,
/// as TypeScript declarations generated from its CUE kinds (the classic
/// model and each panel plugin's options and field config). The TypeScript
/// compiler checks the dashboard JSON against them, unknown fields included.
/// scripts/tools/grafana-schema.sh installs both.
fn typecheck(d: &Value) -> Result<(), String> {
    let dir = tools_dir().join("grafana-schema");
    let tsc = dir.join("node_modules/typescript/bin/tsc");
    let types = dir.join("json-types/raw/dashboard/x/types.gen.d.ts");
    assert!(
        tsc.is_file() && types.is_file(),
        "Grafana's schema is not installed in {}: run `bash scripts/tools/grafana-schema.sh` \
         (scripts/test.sh does)",
        dir.display()
    );
    let node = tool("node", GRAFANA_SCHEMA);
    let mut ts =
        String::from("import type { Dashboard } from './json-types/raw/dashboard/x/types.gen';\n");
    let kinds: BTreeSet<String> = panels(d)
        .iter()
        .filter(|p| p["type"] != "row")
        .map(|p| p["type"].as_str().unwrap().to_owned())
        .collect();
    for k in &kinds {
        let module = dir.join(format!(
            "json-types/raw/composable/{k}/panelcfg/x/types.gen.d.ts"
        ));
        assert!(module.is_file(), "panel type {k} has no published schema");
        ts += &format!(
            "import type * as {k} from './json-types/raw/composable/{k}/panelcfg/x/types.gen';\n"
        );
    }
    ts += &format!("export const dashboard: Dashboard = {d};\n");
    for p in panels(d).iter().filter(|p| p["type"] != "row") {
        let (id, k) = (&p["id"], p["type"].as_str().unwrap());
        ts += &format!(
            "export const options_{id}: {k}.Options = {};\n",
            p["options"]
        );
        if let Some(custom) = p["fieldConfig"]["defaults"].get("custom") {
            ts += &format!("export const custom_{id}: {k}.FieldConfig = {custom};\n");
        }
    }
    let file = dir.join(format!("check-{}-{}.ts", std::process::id(), unique()));
    std::fs::write(&file, ts).unwrap();
    let out = Command::new(node)
        .arg(&tsc)
        .args([
            "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
        ])
        .arg(&file)
        .current_dir(&dir)
        .output()
        .expect("run tsc");
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn dashboard_validates_against_grafanas_published_schema() {
    if let Err(e) = typecheck(&dashboard()) {
        panic!("{DASHBOARD} does not match Grafana's dashboard schema:\n{e}");
    }
}

#[test]
fn the_schema_check_rejects_a_broken_dashboard() {
    let mut d = dashboard();
    d["panels"][1]["gridPos"]["wide"] = json!(3);
    assert!(
        typecheck(&d).is_err(),
        "an unknown gridPos field must fail the schema check"
    );
    let mut d = dashboard();
    d["schemaVersion"] = json!("39");
    assert!(
        typecheck(&d).is_err(),
        "a string schemaVersion must fail the schema check"
    );
    let mut d = dashboard();
    let stat = panels(&d).iter().position(|p| p["type"] == "stat").unwrap();
    d["panels"][stat]["options"]["colorMode"] = json!("rainbow");
    assert!(
        typecheck(&d).is_err(),
        "an unknown stat colorMode must fail the schema check"
    );
}
