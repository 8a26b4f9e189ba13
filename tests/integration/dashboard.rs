//! The Grafana dashboard (dashboards/arize-exporter.json) read as JSON: its
//! structure, its queries and its panels. Its validity against Grafana's
//! published schema (node) and its agreement with the rules (YAML, read by
//! node) are in the tools suite (`tests/tools/dashboard.rs`).

use crate::support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

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
    for name in ["job", "instance", "task_type", "mode", "space", "project"] {
        let v = vars
            .get(name)
            .unwrap_or_else(|| panic!("template variable {name} missing"));
        assert_eq!(v["type"], "query", "{name}");
        assert_eq!(
            v["datasource"]["uid"], DS,
            "{name} queries the datasource variable"
        );
        assert_eq!(v["includeAll"], true, "{name}");
        // `.*` also matches series without the label (a name is absent
        // while it is not known).
        assert_eq!(v["allValue"], ".*", "{name}");
    }
    // Space and project by name, from arize_task_info; the projects of the
    // spaces selected.
    assert_eq!(
        vars["space"]["query"],
        "label_values(arize_task_info{job=~\"$job\",instance=~\"$instance\"}, space_name)"
    );
    assert_eq!(
        vars["project"]["query"],
        "label_values(arize_task_info{job=~\"$job\",instance=~\"$instance\",space_name=~\"$space\"}, project_name)"
    );
}

/// How a query of per-task series honours the space and project variables:
/// the tasks whose arize_task_info names another space or project are left
/// out, so that a task without arize_task_info (a deny list dropped it) is
/// still shown.
const NAME_FILTER: &str = " unless on (job, instance, task_id) arize_task_info{job=~\"$job\",instance=~\"$instance\",space_name!~\"$space\"} unless on (job, instance, task_id) arize_task_info{job=~\"$job\",instance=~\"$instance\",project_name!~\"$project\"}";
/// Or, for a query of arize_task_info itself, its own matchers.
const NAME_MATCHERS: &str = "space_name=~\"$space\",project_name=~\"$project\"";

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
            // The `space` label is the filter value that found a task,
            // not the space variable (a name).
            assert!(
                !s.matchers.contains("space=~\"$space\""),
                "{}: the space variable is a name, not the filter label",
                q.place
            );
        }
        // Per-task series are filtered by space and project (the runs
        // counter is by type and status only).
        let per_task = names(&q.expr).selectors.into_iter().any(|s| {
            s.metric.as_deref().is_some_and(|m| {
                (m.starts_with("task:") || m.starts_with("arize_task_"))
                    && m != "arize_task_runs_total"
            })
        });
        if per_task {
            assert!(
                q.expr.contains(NAME_FILTER) || q.expr.contains(NAME_MATCHERS),
                "{}: no space and project filter: {}",
                q.place,
                q.expr
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
            inner.starts_with("topk(10, max_over_time(") && inner.contains("[$__range] @ end())"),
            "{}: topk in a range query must be topk(10, max_over_time(...[$__range] @ end())): {}",
            q.place,
            q.expr
        );
        // The ten are chosen among the tasks of the spaces and projects
        // selected.
        assert!(
            inner.contains(NAME_FILTER),
            "{}: the topk chooses among the selected spaces and projects: {}",
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
    // Every task table names where the task lives.
    for t in [
        "Continuous tasks, stalest first",
        "Continuous tasks that never ran",
        "Tasks with an unreadable last run time",
        "Failing tasks",
        "Evaluation lag, continuous tasks",
        "Runs in progress",
    ] {
        let rename = organize_options(&by_title(t))["renameByName"].clone();
        for (label, column) in [
            ("space_name", "Space"),
            ("project_name", "Project"),
            ("dataset_name", "Dataset"),
        ] {
            assert_eq!(rename[label], column, "{t}: a {column} column");
        }
    }
    // Evaluation lag of continuous tasks, against their threshold.
    let lag = by_title("Evaluation lag, continuous tasks");
    let e = expr(&lag, 0);
    assert!(
        e.starts_with("sort_desc(task:arize_task_evaluation_lag_seconds:time{mode=\"continuous\",")
            && e.contains("/ on (job, instance, task_id) arize_task_stale_threshold_seconds{"),
        "{e}"
    );
    let over_time = by_title("Evaluation lag, ten largest");
    assert!(expr(&over_time, 0).starts_with("task:arize_task_evaluation_lag_seconds:time{"));
    // Runs in progress: pending or running, their age against the task's
    // threshold, or --stale-after for a task without one.
    let runs = by_title("Runs in progress");
    assert_eq!(runs["type"], "table");
    let texts: Vec<String> = (0..5).map(|i| expr(&runs, i)).collect();
    assert!(texts[0].starts_with("arize_task_last_run_status{status=~\"pending|running\","));
    assert!(texts[1].starts_with("(time() - arize_task_last_run_started_timestamp_seconds{"));
    for t in &texts[2..4] {
        assert!(
            t.contains("(arize_task_stale_threshold_seconds{")
                && t.contains("group_left arize_exporter_stale_after_seconds{"),
            "{t}"
        );
    }
    let cpu = expr(&by_title("CPU"), 0);
    assert!(
        cpu.contains("process_cpu_seconds_total")
            && (cpu.contains("[5m]") || cpu.contains("irate(")),
        "{cpu}"
    );
}

// ---- Grafana's published schema ------------------------------------------------

#[test]
fn the_dashboard_and_rules_files_are_the_only_copies() {
    // One file each, never a copy that could drift: the canonical files live
    // in the Helm chart's files/ and dashboards/ and rules/ link to them (a
    // symlink to the canonical file is fine, wherever it is). The one
    // exception is the mixin's source of the dashboard, which they are
    // rendered from: the tools suite's mixin test fails when the two differ.
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
