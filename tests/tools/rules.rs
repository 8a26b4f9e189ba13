//! The alert and recording rules (rules/arize-exporter.rules.yml), checked and
//! unit-tested by the real promtool, plus the monitoring-mixin conventions.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::observability::*;
use support::tools::*;

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
        "> on (job, instance, task_id) group_left arize_task_stale_threshold_seconds",
        "> 3600",
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
