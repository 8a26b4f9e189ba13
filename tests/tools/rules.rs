//! The alert and recording rules (rules/arize-exporter.rules.yml), checked and
//! unit-tested by the real promtool, plus the monitoring-mixin conventions.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::observability::*;
use support::tools::*;
use support::yaml::yaml_doc;

fn promtool(args: &[&str], dir: &Path) -> Output {
    Command::new(tool("promtool", PROMETHEUS))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool")
}

fn rule_test_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(RULE_TESTS))
        .expect("rules/tests")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no promtool tests in {RULE_TESTS}");
    files
}

/// A scratch directory with a `tests/` folder, removed on drop.
fn scratch(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("rules-{tag}"));
    std::fs::create_dir_all(dir.path("tests")).unwrap();
    dir
}

#[test]
fn promtool_check_rules_is_clean() {
    let out = promtool(&["check", "rules", RULES], &repo());
    let t = output_text(&out);
    assert!(out.status.success(), "promtool check rules failed:\n{t}");
    assert!(t.contains("SUCCESS"), "{t}");
    assert!(!t.to_lowercase().contains("warn"), "promtool warned:\n{t}");
}

#[test]
fn promtool_unit_tests_pass() {
    let mut args = vec!["test".to_owned(), "rules".to_owned()];
    args.extend(rule_test_files().iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = promtool(&args, &repo());
    let t = output_text(&out);
    assert!(out.status.success(), "promtool test rules failed:\n{t}");
    assert!(t.contains("SUCCESS") && !t.contains("FAILED"), "{t}");
}

/// Run the repository's unit tests against a changed copy of the rules.
fn unit_tests_against(tag: &str, rules_text: &str) -> Output {
    let dir = scratch(tag);
    std::fs::write(dir.0.join("arize-exporter.rules.yml"), rules_text).unwrap();
    let mut args = vec!["test".to_owned(), "rules".to_owned()];
    for f in rule_test_files() {
        let dst = dir.0.join("tests").join(f.file_name().unwrap());
        std::fs::copy(&f, &dst).unwrap();
        args.push(dst.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    promtool(&args, &dir.0)
}

#[test]
fn the_harness_fails_on_a_wrong_expectation() {
    let dir = scratch("wrong");
    let rules = repo().join(RULES);
    let test = format!(
        r#"rule_files: ["{}"]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="arize-exporter",instance="x:1"}}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: ArizeExporterDown
        exp_alerts: []
"#,
        rules.display()
    );
    let file = dir.0.join("tests/wrong.yml");
    std::fs::write(&file, test).unwrap();
    let out = promtool(&["test", "rules", file.to_str().unwrap()], &dir.0);
    assert!(
        !out.status.success(),
        "promtool accepted a wrong expectation:\n{}",
        output_text(&out)
    );
    assert!(output_text(&out).contains("FAILED"));
}

/// Replace `from` (which must occur exactly once) in the rules and check
/// that the unit tests fail against the result, in the case named `case`.
fn assert_caught(tag: &str, from: &str, to: &str, case: &str) {
    let original = read(RULES);
    assert_eq!(
        original.matches(from).count(),
        1,
        "{tag}: the text to break moved, update this test: {from}"
    );
    let out = unit_tests_against(tag, &original.replacen(from, to, 1));
    let t = output_text(&out);
    assert!(
        !out.status.success(),
        "{tag}: the unit tests did not notice the broken rule"
    );
    assert!(
        t.contains(case),
        "{tag}: expected a failure in {case:?}:\n{t}"
    );
}

/// The unit tests would catch the mistakes that matter: a task alert that
/// fires on a stalled exporter, a fixed stale threshold, a freshness alert
/// blind to "never polled", and an unreadable timestamp taken for "never ran".
#[test]
fn the_unit_tests_catch_broken_rules() {
    let gate = "          and on (job, instance)\n            (\n              (time() - arize_exporter_last_success_timestamp_seconds)\n                <= on (job, instance) instance:arize_exporter_data_age_limit_seconds:poll_interval_x5\n            )\n        for: 2m\n        labels:\n          severity: warning";
    assert_caught(
        "ungated",
        gate,
        "        for: 2m\n        labels:\n          severity: warning",
        "exporter stalled",
    );
    assert_caught(
        "constant",
        "expr: |\n          (\n            (time() - arize_task_last_run_timestamp_seconds{mode=\"continuous\"})\n              > on (job, instance, task_id) group_left arize_task_stale_threshold_seconds",
        "expr: |\n          (\n            (time() - arize_task_last_run_timestamp_seconds{mode=\"continuous\"})\n              > 3600",
        "stale follows each task's own threshold",
    );
    assert_caught(
        "never-polled",
        "unless on (job, instance) arize_exporter_last_success_timestamp_seconds\n",
        "and on (job, instance) arize_exporter_last_success_timestamp_seconds\n",
        "no poll completed since start",
    );
    assert_caught(
        "unreadable",
        "unless on (job, instance, task_id) arize_task_last_run_unreadable\n",
        "",
        "never-run continuous task",
    );
}

/// The unit tests of the alerts of issue 18 catch their mistakes: a lag
/// alert that also fires for a stale task, a stuck-run alert blind to tasks
/// without a stale threshold or deaf to the run's status, and an error ratio
/// compared with a constant instead of the exporter's threshold.
#[test]
fn the_unit_tests_catch_broken_lag_stuck_and_ratio_rules() {
    assert_caught(
        "lag-and-stale",
        "          unless on (job, instance, task_id)\n          (\n            (time() - arize_task_last_run_timestamp_seconds{mode=\"continuous\"})\n              > on (job, instance, task_id) group_left arize_task_stale_threshold_seconds\n          )\n",
        "",
        "evaluation lag",
    );
    assert_caught(
        "stuck-without-stale-after",
        "            or on (job, instance, task_id)\n            (\n              (time() - arize_task_last_run_started_timestamp_seconds)\n                unless on (job, instance, task_id) arize_task_stale_threshold_seconds\n            )\n              > on (job, instance) group_left arize_exporter_stale_after_seconds\n",
        "",
        "stuck runs",
    );
    assert_caught(
        "stuck-any-status",
        "          and on (job, instance, task_id) arize_task_last_run_status{status=~\"pending|running\"}\n",
        "",
        "stuck runs",
    );
    assert_caught(
        "ratio-constant",
        "> on (job, instance) group_left arize_exporter_run_error_ratio_threshold",
        "> 0.25",
        "high error ratio in the newest run",
    );
}

const RUNBOOK_BASE: &str =
    "https://github.com/arize-exporter/arize-exporter/blob/main/docs/runbook.md#";
const DASHBOARD_BASE: &str = "https://grafana.example.com/d/arize-exporter?";
const LIMIT: &str = "instance:arize_exporter_data_age_limit_seconds:poll_interval_x5";

fn is_per_task(alert: &str) -> bool {
    alert.starts_with("ArizeTask") && !alert.starts_with("ArizeTasks")
}

fn is_roll_up(alert: &str) -> bool {
    alert.starts_with("ArizeTasks")
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "warning" => 2,
        "info" => 1,
        other => panic!("unknown severity {other}"),
    }
}

fn alert_rule(r: &Value, name: &str) -> Value {
    all_rules(r)
        .into_iter()
        .find(|a| a["alert"] == name)
        .unwrap_or_else(|| panic!("no alert {name}"))
}

#[test]
fn alerts_follow_the_mixin_conventions() {
    let r = rules();
    let runbook = read("docs/runbook.md");
    let alerts: Vec<Value> = all_rules(&r)
        .into_iter()
        .filter(|a| a.get("alert").is_some())
        .collect();
    for a in &alerts {
        let name = a["alert"].as_str().unwrap();
        assert!(name.starts_with("Arize"), "{name}: common prefix Arize");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric())
                && name.chars().next().unwrap().is_ascii_uppercase(),
            "{name}: CamelCase"
        );
        let severity = a["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        let summary = a["annotations"]["summary"].as_str().expect("summary");
        assert!(!summary.contains("{{"), "{name}: the summary is static");
        let description = a["annotations"]["description"]
            .as_str()
            .expect("description");
        assert!(
            description.contains("{{"),
            "{name}: the description is templated"
        );
        if is_per_task(name) {
            for l in ["task_name", "task_id"] {
                assert!(
                    description.contains(&format!("$labels.{l}")),
                    "{name}: description names {l}"
                );
            }
            // Where the task lives, from arize_task_info, looked up in the
            // description so that the alert never needs that family.
            assert!(
                description
                    .contains("printf \"arize_task_info{job='%s',instance='%s',task_id='%s'}\""),
                "{name}: description looks up the task's arize_task_info"
            );
            for l in ["space_name", "project_name", "dataset_name"] {
                assert!(
                    description.contains(&format!("label \"{l}\" .")),
                    "{name}: description names the task's {l}"
                );
            }
            if name != "ArizeTaskNeverRun" {
                let read = names(&alert_expr(&r, name)).selectors;
                assert!(
                    !read
                        .iter()
                        .any(|s| s.metric.as_deref() == Some("arize_task_info")),
                    "{name} reads arize_task_info: silent when a deny list drops it"
                );
            }
        }
        if is_roll_up(name) {
            assert!(
                description.contains("$labels.task_type") && description.contains("$value"),
                "{name}: a roll-up says how many tasks of which type"
            );
        }
        assert!(
            runbook.contains(&format!("### {name}\n")),
            "{name}: no runbook section `### {name}` in docs/runbook.md"
        );
        assert_eq!(
            a["annotations"]["runbook_url"],
            format!("{RUNBOOK_BASE}{}", name.to_lowercase()),
            "{name}: runbook_url points at its runbook section"
        );
        let dash = a["annotations"]["dashboard_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no dashboard_url"));
        assert!(
            dash.starts_with(DASHBOARD_BASE) && dash.contains("var-instance="),
            "{name}: dashboard_url {dash}"
        );
    }
    // The dashboard_url names the dashboard's uid.
    let uid = dashboard()["uid"].as_str().unwrap().to_owned();
    assert!(DASHBOARD_BASE.contains(&format!("/d/{uid}?")));
    // The required set.
    for required in [
        "ArizeTaskStale",
        "ArizeTasksStale",
        "ArizeTaskNeverRun",
        "ArizeTasksNeverRun",
        "ArizeTaskLastRunFailed",
        "ArizeTasksLastRunFailed",
        "ArizeTaskLastRunErrorRatioHigh",
        "ArizeTaskEvaluationLagging",
        "ArizeTaskRunStuck",
        "ArizeTasksRunStuck",
        "ArizeTasksEvaluationLagging",
        "ArizeTasksLastRunUnreadable",
        "ArizeExporterPollsFailing",
        "ArizeApiKeyRejected",
        "ArizeExporterDataStale",
        "ArizeExporterDown",
        "ArizeExporterRateLimited",
    ] {
        assert!(
            alert_names(&r).iter().any(|n| n == required),
            "alert {required} missing"
        );
    }
}

/// One cause pages once: a per-task alert that has a roll-up is one
/// severity below it, and the roll-ups and exporter alerts read no per-task
/// series, so they keep working with `--per-task-metrics=false`.
#[test]
fn roll_ups_work_without_per_task_series_and_outrank_their_details() {
    let r = rules();
    for (detail, roll_up) in [
        ("ArizeTaskStale", "ArizeTasksStale"),
        ("ArizeTaskNeverRun", "ArizeTasksNeverRun"),
        ("ArizeTaskLastRunFailed", "ArizeTasksLastRunFailed"),
        ("ArizeTaskRunStuck", "ArizeTasksRunStuck"),
        ("ArizeTaskEvaluationLagging", "ArizeTasksEvaluationLagging"),
    ] {
        let d = alert_rule(&r, detail);
        let u = alert_rule(&r, roll_up);
        assert!(
            severity_rank(u["labels"]["severity"].as_str().unwrap())
                > severity_rank(d["labels"]["severity"].as_str().unwrap()),
            "{roll_up} outranks {detail}"
        );
        assert!(
            d.get("for").is_some() && u.get("for").is_some(),
            "{detail}, {roll_up}: a for: each"
        );
    }
    assert_eq!(
        alert_rule(&r, "ArizeTasksStale")["labels"]["severity"],
        "critical"
    );
    for name in alert_names(&r) {
        if is_per_task(&name) {
            continue;
        }
        for m in names(&alert_expr(&r, &name))
            .selectors
            .into_iter()
            .filter_map(|s| s.metric)
        {
            assert!(
                !m.starts_with("arize_task_") && !m.starts_with("task:"),
                "{name} reads the per-task {m}: blind with --per-task-metrics=false"
            );
        }
    }
}

/// The rules hold no threshold that duplicates an exporter flag: staleness is
/// each task's exported threshold, data freshness follows the poll interval,
/// and "never polled" counts as old data.
#[test]
fn thresholds_come_from_the_exporter() {
    let r = rules();
    let e = alert_expr(&r, "ArizeTaskStale");
    assert!(
        e.contains("time() - arize_task_last_run_timestamp_seconds")
            && e.contains("arize_task_stale_threshold_seconds"),
        "{e}"
    );
    assert!(
        !e.contains("arize_task_seconds_since_last_run") && !e.contains("3600"),
        "{e}"
    );
    // The error ratio: the exporter's --run-error-ratio-threshold, no constant.
    let ratio = alert_expr(&r, "ArizeTaskLastRunErrorRatioHigh");
    assert!(
        ratio.contains(
            "task:arize_task_last_run_errors:ratio\n  > on (job, instance) group_left arize_exporter_run_error_ratio_threshold"
        ),
        "{ratio}"
    );
    assert!(!ratio.contains("0.1"), "{ratio}");
    // Evaluation lag: the task's own threshold, and never with ArizeTaskStale.
    let lag = alert_expr(&r, "ArizeTaskEvaluationLagging");
    assert!(
        lag.contains("time() - arize_task_last_run_data_end_timestamp_seconds")
            && lag.contains("arize_task_stale_threshold_seconds"),
        "{lag}"
    );
    let stale_condition = e
        .split("and on (job, instance)\n")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        lag.contains(&format!("unless on (job, instance, task_id)\n{stale_condition}")),
        "ArizeTaskEvaluationLagging is silent while ArizeTaskStale's condition holds:\n{lag}\n{stale_condition}"
    );
    // Stuck runs: the task's threshold, else --stale-after.
    let stuck = alert_expr(&r, "ArizeTaskRunStuck");
    for needed in [
        "time() - arize_task_last_run_started_timestamp_seconds",
        "group_left arize_task_stale_threshold_seconds",
        "group_left arize_exporter_stale_after_seconds",
        "arize_task_last_run_status{status=~\"pending|running\"}",
    ] {
        assert!(stuck.contains(needed), "{needed}: {stuck}");
    }
    assert!(!stuck.contains("3600"), "{stuck}");
    let never = alert_expr(&r, "ArizeTaskNeverRun");
    assert!(
        never.contains("arize_task_stale_threshold_seconds")
            && never.contains("arize_task_last_run_unreadable"),
        "{never}"
    );
    let limit = all_rules(&r)
        .into_iter()
        .find(|x| x["record"] == LIMIT)
        .expect("the data age limit rule");
    let limit = limit["expr"].as_str().unwrap();
    assert!(
        limit.contains("arize_exporter_poll_interval_seconds"),
        "{limit}"
    );
    for name in alert_names(&r) {
        if name.starts_with("ArizeTask") {
            let e = alert_expr(&r, &name);
            assert!(
                e.contains("(time() - arize_exporter_last_success_timestamp_seconds)")
                    && e.contains(&format!("<= on (job, instance) {LIMIT}")),
                "{name} is not gated on fresh exporter data: {e}"
            );
        }
    }
    let e = alert_expr(&r, "ArizeExporterDataStale");
    assert!(e.contains(&format!("group_left {LIMIT}")), "{e}");
    assert!(
        e.contains("unless on (job, instance) arize_exporter_last_success_timestamp_seconds"),
        "ArizeExporterDataStale covers 'no poll completed since start': {e}"
    );
    // The scrape job the Helm chart's ServiceMonitor sets.
    assert_eq!(
        alert_expr(&r, "ArizeExporterDown").trim(),
        "up{job=\"arize-exporter\"} == 0"
    );
}

/// Every alert has a unit test where it fires and one where it stays quiet.
#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let r = rules();
    let mut seen: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for f in rule_test_files() {
        let t = yaml_doc(&f);
        for group in t["tests"].as_array().expect("tests") {
            for case in group["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap().to_owned();
                let fires = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                let e = seen.entry(name).or_default();
                if fires {
                    e.0 = true;
                } else {
                    e.1 = true;
                }
            }
        }
    }
    for name in alert_names(&r) {
        let (fires, quiet) = seen.get(&name).copied().unwrap_or_default();
        assert!(fires, "{name}: no unit test where it fires");
        assert!(quiet, "{name}: no unit test where it stays quiet");
    }
}

#[test]
fn recording_rules_follow_level_metric_operations() {
    let r = rules();
    for name in recording_rule_names(&r) {
        assert_eq!(
            name.split(':').count(),
            3,
            "{name}: level:metric:operations"
        );
        let metric = name.split(':').nth(1).unwrap();
        assert!(metric.starts_with("arize_"), "{name}");
    }
}
