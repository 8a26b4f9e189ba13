//! The alert and recording rules (rules/arize-exporter.rules.yml), checked and
//! unit-tested by the real promtool, plus the monitoring-mixin conventions.

mod support;

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

/// The unit tests would catch the mistakes that matter: a task alert that
/// fires on a stalled exporter, and a wrong stale threshold.
#[test]
fn the_unit_tests_catch_broken_rules() {
    let original = read(RULES);
    let gate = "and on (job, instance)\n            (time() - arize_exporter_last_success_timestamp_seconds) <= 300\n        labels:\n          severity: critical";
    assert_eq!(
        original.matches(gate).count(),
        1,
        "the ArizeTaskStale freshness gate moved: update this test"
    );
    let ungated = original.replace(gate, "\n        labels:\n          severity: critical");
    let out = unit_tests_against("ungated", &ungated);
    assert!(
        !out.status.success(),
        "the unit tests did not notice ArizeTaskStale firing on a stalled exporter:\n{}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains("exporter stalled"),
        "{}",
        output_text(&out)
    );

    let threshold = "arize_task_last_run_timestamp_seconds{mode=\"continuous\"}) > 3600";
    assert_eq!(original.matches(threshold).count(), 1);
    let later = original.replace(
        threshold,
        "arize_task_last_run_timestamp_seconds{mode=\"continuous\"}) > 7200",
    );
    let out = unit_tests_against("threshold", &later);
    assert!(
        !out.status.success(),
        "the unit tests did not notice a 2h stale threshold"
    );
}

#[test]
fn alerts_follow_the_mixin_conventions() {
    let r = rules();
    let runbook = read("README.md");
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
        if name.starts_with("ArizeTask") {
            for l in ["task_name", "task_id"] {
                assert!(
                    description.contains(&format!("$labels.{l}")),
                    "{name}: description names {l}"
                );
            }
        }
        assert!(
            runbook.contains(&format!("### {name}")),
            "{name}: no runbook section `### {name}` in README.md"
        );
    }
    // The required set.
    for required in [
        "ArizeTaskStale",
        "ArizeTaskNeverRun",
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

#[test]
fn task_staleness_is_computed_from_the_timestamp_and_time() {
    let r = rules();
    let e = alert_expr(&r, "ArizeTaskStale");
    assert!(
        e.contains("time() - arize_task_last_run_timestamp_seconds"),
        "{e}"
    );
    assert!(
        !e.contains("arize_task_seconds_since_last_run") && !e.contains("arize_tasks_stale"),
        "{e}"
    );
    for task_alert in ["ArizeTaskStale", "ArizeTaskNeverRun"] {
        let e = alert_expr(&r, task_alert);
        assert!(
            e.contains("arize_exporter_last_success_timestamp_seconds) <= 300"),
            "{task_alert} is not gated on fresh exporter data: {e}"
        );
    }
    let e = alert_expr(&r, "ArizeExporterDataStale");
    assert!(
        e.contains("arize_exporter_last_success_timestamp_seconds) > 300"),
        "{e}"
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
