//! The Grafana dashboard (dashboards/arize-exporter.json): its structure, its
//! validity against Grafana's published dashboard schema, and that it reads
//! only SPEC metrics and the recording rules.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use support::observability::*;
use support::spec::is_spec_series;
use support::tools::*;

const DS: &str = "${datasource}";

#[test]
fn dashboard_is_a_classic_model_with_a_datasource_variable() {
    let raw = read(DASHBOARD);
    let d = dashboard();
    assert!(
        !raw.contains("${DS_"),
        "no ${{DS_...}} import inputs: use the datasource variable"
    );
    assert!(d.get("__inputs").is_none() && d.get("__requires").is_none());
    let schema_version = d["schemaVersion"].as_u64().expect("schemaVersion");
    assert!(
        (30..=42).contains(&schema_version),
        "schemaVersion {schema_version} not in 30..=42"
    );
    assert_eq!(d["uid"], "arize-exporter");
    assert!(
        d.get("id").is_none_or(Value::is_null),
        "no instance-specific id"
    );

    let vars: HashMap<String, Value> = d["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .map(|v| (v["name"].as_str().expect("name").to_owned(), v.clone()))
        .collect();
    let ds = &vars["datasource"];
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    for name in ["job", "instance", "task_type", "mode", "space"] {
        let v = vars
            .get(name)
            .unwrap_or_else(|| panic!("template variable {name} missing"));
        assert_eq!(v["type"], "query", "{name}");
        assert_eq!(
            v["datasource"]["uid"], DS,
            "{name} queries the datasource variable"
        );
        assert_eq!(v["includeAll"], true, "{name}");
        // `.*` also matches series without the label (space is absent
        // unless the exporter runs with space filters).
        assert_eq!(v["allValue"], ".*", "{name}");
    }
}

#[test]
fn panels_have_unique_ids_the_datasource_variable_and_a_sane_grid() {
    let d = dashboard();
    let all = panels(&d);
    let mut ids = BTreeSet::new();
    for p in &all {
        let id = p["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel without id: {}", p["title"]));
        assert!(ids.insert(id), "duplicate panel id {id}");
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "panel {id} has a title"
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(
            p["datasource"],
            json!({"type": "prometheus", "uid": DS}),
            "panel {id} ({}) uses the datasource variable",
            p["title"]
        );
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {id}: no targets"));
        assert!(!targets.is_empty(), "panel {id}: no targets");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert!(
                refs.insert(t["refId"].as_str().expect("refId")),
                "panel {id}: duplicate refId"
            );
            assert!(
                t.get("datasource").is_none() || t["datasource"]["uid"] == DS,
                "panel {id}: target datasource is the variable"
            );
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "panel {id}: empty expr"
            );
        }
    }
    // Grid: inside 24 columns, no two panels overlap.
    let rects: Vec<(u64, [u64; 4])> = all
        .iter()
        .map(|p| {
            let g = &p["gridPos"];
            let r = ["x", "y", "w", "h"].map(|k| g[k].as_u64().expect("gridPos"));
            (p["id"].as_u64().unwrap(), r)
        })
        .collect();
    for (id, [x, _, w, h]) in &rects {
        assert!(
            x + w <= 24 && *w > 0 && *h > 0,
            "panel {id} outside the grid"
        );
    }
    for (i, (a, [ax, ay, aw, ah])) in rects.iter().enumerate() {
        for (b, [bx, by, bw, bh]) in &rects[i + 1..] {
            let overlap = ax < &(bx + bw) && bx < &(ax + aw) && ay < &(by + bh) && by < &(ay + ah);
            assert!(!overlap, "panels {a} and {b} overlap");
        }
    }
}

#[test]
fn every_query_honours_the_job_and_instance_variables() {
    let d = dashboard();
    for q in dashboard_queries(&d) {
        if q.label_values.is_some() {
            continue;
        }
        for s in names(&q.expr).selectors {
            for var in ["job=~\"$job\"", "instance=~\"$instance\""] {
                assert!(
                    s.matchers.contains(var),
                    "{}: selector {:?} lacks {var}",
                    q.place,
                    s.metric
                );
            }
            // Per-task series are filtered by space too (the runs counter
            // is by type and status only).
            if s.metric.as_deref().is_some_and(|m| {
                (m.starts_with("task:") || m.starts_with("arize_task_"))
                    && m != "arize_task_runs_total"
            }) {
                assert!(
                    s.matchers.contains("space=~\"$space\""),
                    "{}: no space filter",
                    q.place
                );
            }
        }
    }
}

#[test]
fn dashboard_and_rules_name_only_spec_metrics_labels_and_recording_rules() {
    let d = dashboard();
    let r = rules();
    let recorded = recording_rule_names(&r);
    let read = metrics_read(&d, &r);
    assert!(read.len() > 20, "the lexer found too few metrics: {read:?}");
    for (metric, place) in &read {
        assert!(
            is_spec_series(metric) || PROMETHEUS_SERIES.contains(&metric.as_str()) || recorded.contains(metric),
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

#[test]
fn the_lexer_finds_metrics_and_labels() {
    let n = names(
        r#"sum by (job, task_type) (rate(arize_exporter_polls_total{job=~"$job",x="a{b}"}[5m]))
           / on (job) group_left (mode) arize_up and time() - foo:bar:baz offset 5m > 0.5"#,
    );
    let metrics: Vec<_> = n
        .selectors
        .iter()
        .filter_map(|s| s.metric.clone())
        .collect();
    assert_eq!(
        metrics,
        ["arize_exporter_polls_total", "arize_up", "foo:bar:baz"]
    );
    assert_eq!(n.grouping_labels, ["job", "task_type", "job", "mode"]);
    assert_eq!(matcher_labels(&n.selectors[0].matchers), ["job", "x"]);
    assert!(!is_spec_series("arize_exporter_polls"));
    assert!(is_spec_series("arize_exporter_poll_duration_seconds_count"));
}

/// The thresholds shown on the dashboard are the alerts' thresholds. The
/// rules hold no constant for staleness or data age (each task's threshold
/// and the poll interval come from the exporter), so the dashboard colours
/// the same ratios the alerts compare with 1; the error ratio is the one
/// constant, and the dashboard uses the alert's.
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

    // The error ratio: the alert's one constant, on the same recorded ratio.
    let alert = alert_expr(&r, "ArizeTaskLastRunErrorRatioHigh");
    let errors = threshold_after(&alert, "task:arize_task_last_run_errors:ratio >");
    let failing = by_title("Failing tasks");
    assert_eq!(column_red_from(&failing, "Error ratio"), errors);
    assert!(failing["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["expr"]
            .as_str()
            .unwrap()
            .starts_with("task:arize_task_last_run_errors:ratio{")));
    let over_time = by_title("Error ratio of the newest run, ten highest");
    assert_eq!(
        red_from(&over_time["fieldConfig"]["defaults"]["thresholds"]),
        errors
    );
}

fn organize_options(table: &Value) -> Value {
    table["transformations"]
        .as_array()
        .expect("transformations")
        .iter()
        .find(|t| t["id"] == "organize")
        .expect("an organize transformation")["options"]
        .clone()
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

/// The number right after `marker` in `expr`.
fn threshold_after(expr: &str, marker: &str) -> f64 {
    let at = expr
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {expr}"));
    let num: String = expr[at + marker.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse().expect("threshold number")
}

/// `topk` in a range query picks its ten at every step, so a time series
/// panel would draw many more than ten. A range query may only use it
/// pinned to the end of the range, over the whole range.
#[test]
fn range_queries_draw_at_most_ten_series() {
    let d = dashboard();
    let mut pinned = 0;
    for q in dashboard_queries(&d) {
        if q.instant || !q.expr.contains("topk(") {
            continue;
        }
        let at = q.expr.find("topk(").unwrap();
        let inner = &q.expr[at..];
        assert!(
            inner.starts_with("topk(10, max_over_time(") && inner.contains("[$__range] @ end()))"),
            "{}: topk in a range query must be topk(10, max_over_time(...[$__range] @ end())): {}",
            q.place,
            q.expr
        );
        assert!(
            q.expr[..at]
                .trim_end()
                .ends_with("and on (job, instance, task_id)"),
            "{}: the series drawn are those the pinned topk chose: {}",
            q.place,
            q.expr
        );
        pinned += 1;
    }
    assert!(pinned >= 2, "the top-ten panels use the pinned topk");
}

/// What the on-call engineer looks for first is there, by name: continuous
/// never-run tasks, unreadable last runs, failing tasks; the never-run stat
/// counts continuous tasks only; the CPU panel does not read 0 between ticks.
#[test]
fn the_dashboard_names_the_tasks_in_trouble() {
    let d = dashboard();
    let all = panels(&d);
    let by_title = |t: &str| {
        all.iter()
            .find(|p| p["title"] == t)
            .unwrap_or_else(|| panic!("no panel titled {t}"))
            .clone()
    };
    let expr = |p: &Value, i: usize| p["targets"][i]["expr"].as_str().unwrap().to_owned();
    let never = by_title("Continuous never run");
    assert!(expr(&never, 0).contains("arize_tasks_never_run{mode=\"continuous\","));
    let table = by_title("Continuous tasks that never ran");
    assert_eq!(table["type"], "table");
    let e = expr(&table, 0);
    assert!(e.starts_with("arize_task_info{mode=\"continuous\","), "{e}");
    assert!(
        e.contains("unless on (job, instance, task_id) arize_task_last_run_unreadable{"),
        "an unreadable last run is not 'never ran': {e}"
    );
    assert_eq!(
        organize_options(&table)["renameByName"]["task_name"],
        "Task"
    );
    let unreadable = by_title("Tasks with an unreadable last run time");
    assert!(expr(&unreadable, 0).starts_with("arize_task_last_run_unreadable{"));
    assert!(expr(&by_title("Unreadable last run"), 0).contains("arize_tasks_last_run_unreadable{"));
    let failing = by_title("Failing tasks");
    let columns = organize_options(&failing)["renameByName"].clone();
    for c in [
        "Task",
        "Newest run",
        "Successes",
        "Errors",
        "Error ratio",
        "Duration",
    ] {
        assert!(
            columns.as_object().unwrap().values().any(|v| v == c),
            "failing tasks table has a {c} column"
        );
    }
    for t in [
        "Newest run status by type",
        "Newest finished run failed, by type",
        "Newest run duration, ten longest",
    ] {
        by_title(t);
    }
    let cpu = expr(&by_title("CPU"), 0);
    assert!(
        cpu.contains("process_cpu_seconds_total")
            && (cpu.contains("[5m]") || cpu.contains("irate(")),
        "{cpu}"
    );
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

#[test]
fn the_dashboard_and_rules_files_are_the_only_copies() {
    // One file each, never a copy that could drift: the canonical files live
    // in the Helm chart's files/ and dashboards/ and rules/ link to them (a
    // symlink to the canonical file is fine, wherever it is). The one
    // exception is the mixin's source of the dashboard, which they are
    // rendered from: tests/mixin.rs fails when the two differ.
    let originals = [repo().join(DASHBOARD), repo().join(RULES)]
        .map(|p| std::fs::canonicalize(p).expect("the canonical file exists"));
    let contents = originals.each_ref().map(|p| std::fs::read(p).unwrap());
    let source = repo().join("mixin/dashboards/arize-exporter.json");
    let mut copies = Vec::new();
    walk(&repo(), &mut |p| {
        if originals.iter().any(|o| o == p) || p == source {
            return;
        }
        let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        let same_name = originals.iter().any(|o| o.file_name() == p.file_name());
        let same_content = !is_link
            && std::fs::metadata(p).is_ok_and(|m| m.len() < 4 << 20)
            && std::fs::read(p).is_ok_and(|c| contents.contains(&c));
        let points_home = is_link
            && std::fs::canonicalize(p).is_ok_and(|c| {
                originals
                    .iter()
                    .any(|o| std::fs::canonicalize(o).unwrap() == c)
            });
        if same_content || (same_name && !points_home) {
            copies.push(p.strip_prefix(repo()).unwrap().to_path_buf());
        }
    });
    assert!(
        copies.is_empty(),
        "copies of {DASHBOARD} or {RULES}: {copies:?}"
    );
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name();
        if [".git", "target", ".tools", "node_modules"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}
