//! The Grafana dashboard (dashboards/arize-exporter.json) checked with real
//! tools: its validity against Grafana's published dashboard schema (node
//! and the TypeScript compiler), and, with the rules read as YAML by node,
//! that it reads only SPEC metrics and the recording rules and that its
//! thresholds match the alerts. Its structure is in the hermetic suite
//! (`tests/integration/dashboard.rs`).

use crate::support;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{json, Value};
use support::observability::*;
use support::spec::is_spec_series;
use support::tools::*;

#[test]
fn dashboard_and_rules_name_only_spec_metrics_labels_and_recording_rules() {
    let d = dashboard();
    let r = rules();
    let recorded = recording_rule_names(&r);
    let read = metrics_read(&d, &r);
    assert!(read.len() > 20, "the lexer found too few metrics: {read:?}");
    for (metric, place) in &read {
        assert!(
            is_spec_series(metric)
                || PROMETHEUS_SERIES.contains(&metric.as_str())
                || recorded.contains(metric),
            "{place} reads `{metric}`, which is neither a SPEC section 5 metric nor a recording rule"
        );
    }
    // Every recording rule is used by the dashboard (else it is dead weight),
    // and every SPEC family that matters to users is shown or alerted on.
    let used: BTreeSet<&str> = read.iter().map(|(m, _)| m.as_str()).collect();
    for rec in &recorded {
        assert!(
            used.contains(rec.as_str()),
            "recording rule {rec} is not read by the dashboard"
        );
    }
    for must in [
        "arize_tasks",
        "arize_tasks_never_run",
        "arize_tasks_stale",
        "arize_task_last_run_timestamp_seconds",
        "arize_task_stale_threshold_seconds",
        "arize_task_run_interval_seconds",
        "arize_task_last_run_unreadable",
        "arize_tasks_last_run_unreadable",
        "arize_task_last_run_status",
        "arize_task_last_run_successes",
        "arize_task_last_run_errors",
        "arize_task_last_run_skipped",
        "arize_task_last_run_duration_seconds",
        "arize_task_last_run_finished_timestamp_seconds",
        "arize_task_last_successful_run_timestamp_seconds",
        "arize_tasks_last_run_failed",
        "arize_task_runs_total",
        "arize_task_info",
        "arize_task_last_run_data_end_timestamp_seconds",
        "arize_task_last_run_started_timestamp_seconds",
        "arize_exporter_run_error_ratio_threshold",
        "arize_exporter_stale_after_seconds",
        "arize_exporter_task_runs_backlog",
        "arize_exporter_task_run_errors_total",
        "arize_exporter_poll_interval_seconds",
        "process_start_time_seconds",
        "arize_up",
        "arize_exporter_last_success_timestamp_seconds",
        "arize_exporter_polls_total",
        "arize_exporter_poll_errors_total",
        "arize_exporter_poll_duration_seconds_bucket",
        "arize_exporter_api_requests_total",
        "arize_exporter_api_request_duration_seconds_bucket",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(
            used.contains(must),
            "{must} is not used by the dashboard nor the rules"
        );
    }
    // Label names, in matchers and in grouping clauses.
    let mut exprs: Vec<(String, String)> = dashboard_queries(&d)
        .into_iter()
        .map(|q| (q.place, q.expr))
        .collect();
    exprs.extend(all_rules(&r).iter().map(|rule| {
        (
            format!(
                "rule {}",
                rule["alert"].as_str().or(rule["record"].as_str()).unwrap()
            ),
            rule["expr"].as_str().unwrap().to_owned(),
        )
    }));
    for (place, expr) in exprs {
        let n = names(&expr);
        let labels = n
            .selectors
            .iter()
            .flat_map(|s| matcher_labels(&s.matchers))
            .chain(n.grouping_labels.clone());
        for l in labels {
            assert!(
                KNOWN_LABELS.contains(&l.as_str()),
                "{place}: unknown label `{l}`"
            );
        }
    }
}

/// The thresholds shown on the dashboard are the alerts' thresholds. The
/// rules hold no constant (each task's threshold, --stale-after, the error
/// ratio threshold and the poll interval come from the exporter), so the
/// dashboard colours the same ratios the alerts compare with 1, or draws the
/// exporter's threshold itself.
#[test]
fn dashboard_thresholds_match_the_alerts() {
    let d = dashboard();
    let r = rules();
    let all = panels(&d);
    let by_title = |t: &str| {
        all.iter()
            .find(|p| p["title"] == t)
            .unwrap_or_else(|| panic!("no panel titled {t}"))
            .clone()
    };
    let record = |name: &str| {
        all_rules(&r)
            .into_iter()
            .find(|x| x["record"] == name)
            .unwrap_or_else(|| panic!("no recording rule {name}"))["expr"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // Staleness: age / the task's own threshold, red from 1, beside the age
    // and the threshold, worst first.
    let ratio = "task:arize_task_last_run_age_of_stale_threshold:ratio";
    assert!(record(ratio).contains("arize_task_stale_threshold_seconds"));
    assert!(alert_expr(&r, "ArizeTaskStale")
        .contains("> on (job, instance, task_id) group_left arize_task_stale_threshold_seconds"));
    let table = by_title("Continuous tasks, stalest first");
    assert_eq!(column_red_from(&table, "Of threshold"), 1.0);
    let t = &table["targets"][0];
    assert!(t["expr"]
        .as_str()
        .unwrap()
        .starts_with(&format!("sort_desc({ratio}{{")));
    for t in table["targets"].as_array().unwrap() {
        assert_eq!(t["format"], "table");
        assert_eq!(t["instant"], true);
    }
    assert_eq!(
        table["options"]["sortBy"][0],
        json!({"displayName": "Of threshold", "desc": true})
    );
    let organize = organize_options(&table);
    let rename = &organize["renameByName"];
    assert_eq!(rename["task_name"], "Task");
    assert_eq!(rename["task_id"], "Task id");
    let index = &organize["indexByName"];
    let column = |title: &str| {
        let field = rename
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, v)| *v == title)
            .unwrap_or_else(|| panic!("no column {title}"))
            .0
            .clone();
        let expr = table["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| field == format!("Value #{}", t["refId"].as_str().unwrap()))
            .map(|t| t["expr"].as_str().unwrap().to_owned())
            .unwrap_or_default();
        (index[&field].as_u64().expect("column position"), expr)
    };
    let (age_at, age) = column("Since last run");
    let (threshold_at, threshold) = column("Threshold");
    assert_eq!(
        threshold_at,
        age_at + 1,
        "the threshold stands beside the age"
    );
    assert!(age.starts_with("task:arize_task_last_run_age_seconds:time{"));
    assert!(threshold.starts_with("arize_task_stale_threshold_seconds{"));
    let over_time = by_title("Stalest continuous tasks, age as a share of threshold");
    assert_eq!(
        red_from(&over_time["fieldConfig"]["defaults"]["thresholds"]),
        1.0
    );
    assert!(over_time["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .starts_with(ratio));

    // Data age / its limit, red from 1: the limit ArizeExporterDataStale uses.
    let limit = "instance:arize_exporter_data_age_limit_seconds:poll_interval_x5";
    assert!(alert_expr(&r, "ArizeExporterDataStale").contains(&format!("group_left {limit}")));
    let fresh = by_title("Data age, share of its limit");
    assert_eq!(
        red_from(&fresh["fieldConfig"]["defaults"]["thresholds"]),
        1.0
    );
    assert!(fresh["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .contains(&format!("/ on (job, instance) {limit}{{")));
    // "Never polled" shows as such, not as no data.
    let since = by_title("Since last successful poll");
    let mapping = &since["fieldConfig"]["defaults"]["mappings"][0]["options"]["-1"];
    assert_eq!(mapping["text"], "never");
    assert!(since["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .contains("or on (job, instance) (arize_up{"));

    // The error ratio: the exporter's threshold, as the alert reads it. The
    // table colours the ratio as a share of it, red from 1; the panel draws
    // it as a line. No constant is left on either.
    let threshold = "arize_exporter_run_error_ratio_threshold";
    let alert = alert_expr(&r, "ArizeTaskLastRunErrorRatioHigh");
    assert!(
        alert.contains(&format!(
            "task:arize_task_last_run_errors:ratio\n  > on (job, instance) group_left {threshold}"
        )),
        "{alert}"
    );
    let failing = by_title("Failing tasks");
    assert_eq!(column_red_from(&failing, "Of threshold"), 1.0);
    let rename = organize_options(&failing)["renameByName"].clone();
    let of_threshold = failing["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| rename[format!("Value #{}", t["refId"].as_str().unwrap())] == "Of threshold")
        .expect("the Of threshold column's query");
    assert!(
        of_threshold["expr"].as_str().unwrap().starts_with(&format!(
            "task:arize_task_last_run_errors:ratio{{job=~\"$job\",instance=~\"$instance\",task_type=~\"$task_type\",mode=~\"$mode\"}} / on (job, instance) group_left {threshold}{{"
        )),
        "{of_threshold}"
    );
    assert!(failing["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["expr"]
            .as_str()
            .unwrap()
            .starts_with("task:arize_task_last_run_errors:ratio{")));
    let over_time = by_title("Error ratio of the newest run, ten highest");
    assert!(
        over_time["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["expr"]
                .as_str()
                .unwrap()
                .contains(&format!("{threshold}{{"))),
        "the panel draws the exporter's threshold"
    );
    assert_eq!(
        over_time["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"], "off",
        "no threshold line of the dashboard's own"
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        !text.contains("\"value\":0.1}"),
        "a constant error ratio threshold is left on the dashboard"
    );

    // Evaluation lag and runs in progress: red from 1, a share of the
    // task's threshold (or --stale-after), as the alerts compare.
    let lag = by_title("Evaluation lag, continuous tasks");
    assert_eq!(column_red_from(&lag, "Of threshold"), 1.0);
    assert!(alert_expr(&r, "ArizeTaskEvaluationLagging")
        .contains("(time() - arize_task_last_run_data_end_timestamp_seconds{mode=\"continuous\"})\n    > on (job, instance, task_id) group_left arize_task_stale_threshold_seconds"));
    let runs = by_title("Runs in progress");
    assert_eq!(column_red_from(&runs, "Of threshold"), 1.0);
    assert!(alert_expr(&r, "ArizeTaskRunStuck")
        .contains("group_left arize_exporter_stale_after_seconds"));
}

/// A table column's red threshold, from its override.
fn column_red_from(table: &Value, column: &str) -> f64 {
    let ovr = table["fieldConfig"]["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["matcher"]["options"] == column)
        .unwrap_or_else(|| panic!("no override for column {column}"));
    let th = ovr["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "thresholds")
        .expect("thresholds override");
    red_from(&th["value"])
}

fn red_from(thresholds: &Value) -> f64 {
    thresholds["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["color"] == "red")
        .expect("a red step")["value"]
        .as_f64()
        .expect("red value")
}

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
