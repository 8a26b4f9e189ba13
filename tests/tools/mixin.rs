//! The monitoring mixin (`mixin/`, SPEC section 8): the committed rule file
//! and dashboard are its current render, its output follows the mixin
//! conventions, and its `_config` reaches the expressions.
//!
//! Driven by the real tools: jsonnet (`scripts/tools/jsonnet.sh`), promtool
//! (`scripts/tools/prometheus.sh`) and the npm `yaml` parser
//! (`scripts/tools/kube-schemas.sh`); without them these tests fail, never
//! skip.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use support::observability::RULE_TESTS;
use support::tools::*;
use support::yaml::yaml_doc;

/// The installer of jsonnet.
const JSONNET: &str = "scripts/tools/jsonnet.sh";

/// The committed render: the chart's copies (rules/ and dashboards/ link to
/// them), by the file name the generator writes.
const COMMITTED: &[(&str, &str)] = &[
    (
        "arize-exporter.rules.yml",
        "helm/arize-exporter/files/arize-exporter.rules.yml",
    ),
    (
        "arize-exporter.json",
        "helm/arize-exporter/files/arize-exporter.json",
    ),
];

const RUNBOOK: &str = "https://github.com/arize-exporter/arize-exporter/blob/main/docs/runbook.md#";

/// A `_config` override a platform team could write: another job, and a
/// cluster label as one Thanos over several clusters needs.
const OTHER_CONFIG: &str = r#"{
  arizeExporterSelector: 'job="platform/arize", namespace="observability"',
  clusterLabel: 'k8s_cluster',
  dashboardUid: 'arize-tasks',
  dashboardTags: ['platform'],
  grafanaURL: 'https://grafana.internal',
  alertFor+: { ArizeTasksNeverRun: '2h' },
}"#;

fn jsonnet() -> std::process::Command {
    command("jsonnet", JSONNET)
}

/// The mixin's three outputs as JSON, with `config` (a jsonnet object) over
/// the default `_config`.
fn mixin_outputs(config: &str) -> Value {
    let code = "function(config) local m = (import 'mixin/lib/mixin.libsonnet')(config); \
                { alerts: m.prometheusAlerts, rules: m.prometheusRules, \
                dashboards: m.grafanaDashboards }";
    let out = run_ok(jsonnet().args(["--tla-code", &format!("config={config}"), "-e", code]));
    serde_json::from_str(&out).expect("jsonnet prints JSON")
}

/// The rule file the mixin renders with `config`, written into `dir`.
fn render_rule_file(config: &str, dir: &TempDir) -> std::path::PathBuf {
    let text = run_ok(jsonnet().args([
        "-S",
        "--tla-code",
        &format!("config={config}"),
        "mixin/lib/rule-file.jsonnet",
    ]));
    dir.write("arize-exporter.rules.yml", &text)
}

fn promtool_check_rules(file: &Path) {
    let out = run(command("promtool", PROMETHEUS)
        .args(["check", "rules"])
        .arg(file));
    let text = output_text(&out);
    assert!(
        out.status.success() && text.contains("SUCCESS"),
        "promtool check rules {}:\n{text}",
        file.display()
    );
    assert!(
        !text.to_lowercase().contains("warn"),
        "promtool warned:\n{text}"
    );
}

fn rules_of(file: &Value) -> Vec<Value> {
    file["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect()
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  committed: {x}\n  rendered:  {y}", i + 1);
        }
    }
    format!(
        "{} lines committed, {} rendered",
        a.lines().count(),
        b.lines().count()
    )
}

/// (a) What mixin/generate.sh renders now is what is committed, byte for byte.
#[test]
fn the_committed_rules_and_dashboard_are_the_current_render() {
    let dir = TempDir::new("mixin-render");
    tool("jsonnet", JSONNET);
    run_ok(
        command("bash", JSONNET)
            .arg("mixin/generate.sh")
            .arg(&dir.0),
    );
    for (name, committed) in COMMITTED {
        let fresh = std::fs::read_to_string(dir.path(name))
            .unwrap_or_else(|e| panic!("mixin/generate.sh wrote no {name}: {e}"));
        let current = read(committed);
        assert!(
            current == fresh,
            "{committed} differs from a fresh render of mixin/ ({}). Edit mixin/, not the \
             generated file, then regenerate with `mixin/generate.sh` (needs jsonnet: \
             `apt-get install jsonnet`) and commit the result.",
            first_difference(&current, &fresh)
        );
    }
    // The render is the rule file the rest of the suite reads, and says so.
    let rules = read("rules/arize-exporter.rules.yml");
    assert!(
        rules.starts_with("# Alert and recording rules for arize-exporter.\n")
            && rules.contains("GENERATED from the monitoring mixin in mixin/")
            && rules.contains("run `mixin/generate.sh`"),
        "the rule file's header says where it comes from and how to regenerate it"
    );
}

/// The YAML the mixin writes reads back as exactly the data it was written
/// from (its writer chooses plain, quoted, literal and folded scalars), and
/// the committed dashboard is the mixin's dashboard.
#[test]
fn the_render_reads_back_as_the_mixin() {
    let m = mixin_outputs("{}");
    let mut groups = m["rules"]["groups"].as_array().unwrap().clone();
    groups.extend(m["alerts"]["groups"].as_array().unwrap().iter().cloned());
    let committed = yaml_doc(&repo().join(COMMITTED[0].1));
    let rendered = json!({ "groups": groups });
    // Rule by rule first, for a readable failure.
    for (c, r) in rules_of(&committed).iter().zip(rules_of(&rendered)) {
        assert_eq!(*c, r, "{} reads back differently", COMMITTED[0].1);
    }
    assert_eq!(committed, rendered);
    let dashboard: Value = serde_json::from_str(&read(COMMITTED[1].1)).unwrap();
    assert_eq!(dashboard, m["dashboards"]["arize-exporter.json"]);

    // Strings YAML would read as something else, or that need a block.
    let tricky = [
        "yes",
        "No",
        "on",
        "null",
        "~",
        "",
        "0.5",
        "300",
        "1e3",
        "0x1F",
        "-1",
        ".inf",
        "2026-12-06",
        "5m",
        "a: b",
        "a #b",
        "#x",
        "- x",
        "? x",
        "{{ $value }}",
        "'q'",
        "\"dq\"",
        " lead",
        "trail ",
        "tab\there",
        "ends:",
        "日本語 ✅",
        "back\\slash",
        "multi\nline\n",
        "no final\nbreak",
        "two finals\n\n",
        "  indented\nfirst\n",
        "blank\n\nline\n",
        "ctrl\u{7}char",
        "line\u{2028}separator",
        "nel\u{85}",
        "\u{feff}bom",
        "del\u{7f}",
    ];
    let long = format!(
        "{}  double  spaces {}",
        "word ".repeat(30),
        "{{ $labels.x }} ".repeat(12)
    );
    let mut values: Vec<String> = tricky.iter().map(|s| s.to_string()).collect();
    values.push(long.trim().to_owned());
    values.push(format!("{} trailing ", "long ".repeat(30)));
    let data = json!({
        "groups": [{
            "name": "tricky",
            "rules": values.iter().map(|v| json!({
                "alert": "A",
                "expr": v,
                "annotations": { "description": v, "summary": v, v.clone(): v },
                "labels": { "list": [v, [v], {}], "empty": [] },
            })).collect::<Vec<_>>(),
        }],
    });
    let dir = TempDir::new("mixin-yaml");
    let input = dir.write("data.json", &data.to_string());
    let yaml = run_ok(jsonnet().arg("-S").arg("-e").arg(format!(
        "(import 'mixin/lib/yaml.libsonnet').manifest(import '{}')",
        input.display()
    )));
    let file = dir.write("data.yml", &yaml);
    assert_eq!(
        yaml_doc(&file),
        data,
        "the YAML writer changed a value:\n{yaml}"
    );
}

/// (b) The mixin conventions, for the default `_config` and another one.
#[test]
fn the_mixin_follows_the_conventions() {
    for config in ["{}", OTHER_CONFIG] {
        let m = mixin_outputs(config);
        let mut groups = BTreeSet::new();
        let mut alerts = BTreeSet::new();
        let mut records = BTreeSet::new();
        for output in ["rules", "alerts"] {
            for g in m[output]["groups"].as_array().expect("groups") {
                let name = g["name"].as_str().expect("a group name");
                assert!(
                    groups.insert(name.to_owned()),
                    "{config}: group {name} twice"
                );
            }
        }
        for rule in rules_of(&m["alerts"]) {
            let name = rule["alert"]
                .as_str()
                .unwrap_or_else(|| panic!("{config}: prometheusAlerts holds a record: {rule}"));
            assert!(
                alerts.insert(name.to_owned()),
                "{config}: alert {name} twice"
            );
            assert!(
                ["critical", "warning", "info"]
                    .contains(&rule["labels"]["severity"].as_str().unwrap_or("")),
                "{config}: {name} has no severity critical, warning or info"
            );
            for key in ["summary", "description", "runbook_url"] {
                let text = rule["annotations"][key].as_str().unwrap_or("");
                assert!(!text.trim().is_empty(), "{config}: {name} has no {key}");
            }
            assert!(
                rule["annotations"]["runbook_url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://")
                        && u.ends_with(&format!("#{}", name.to_lowercase()))),
                "{config}: {name}'s runbook_url is not its runbook section"
            );
            assert!(rule["for"].is_string(), "{config}: {name} has no for");
        }
        for rule in rules_of(&m["rules"]) {
            let name = rule["record"]
                .as_str()
                .unwrap_or_else(|| panic!("{config}: prometheusRules holds an alert: {rule}"));
            // One name may record several series, told apart by their labels
            // (the quantiles): the name and labels together are unique.
            let key = format!("{name}{}", rule["labels"]);
            assert!(
                records.insert(key),
                "{config}: record {name} twice with the same labels"
            );
            assert!(
                !alerts.contains(name),
                "{config}: {name} is an alert and a record"
            );
        }
        let dashboards = m["dashboards"].as_object().expect("grafanaDashboards");
        assert!(!dashboards.is_empty(), "{config}: no dashboard");
        let mut uids = BTreeSet::new();
        let mut titles = BTreeSet::new();
        for (file, d) in dashboards {
            assert!(file.ends_with(".json"), "{config}: {file}");
            let uid = d["uid"].as_str().unwrap_or("");
            let title = d["title"].as_str().unwrap_or("");
            assert!(
                !uid.is_empty() && uids.insert(uid.to_owned()),
                "{config}: {file}: uid {uid:?}"
            );
            assert!(
                !title.is_empty() && titles.insert(title.to_owned()),
                "{config}: {file}: title {title:?}"
            );
            let variables = d["templating"]["list"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                variables
                    .iter()
                    .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
                "{config}: {file} has no Prometheus datasource variable"
            );
        }
    }
}

/// Every `on (...)` and `by (...)` clause of an expression that names `job`.
fn job_clauses(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for keyword in ["on (", "by ("] {
        for (at, _) in expr.match_indices(keyword) {
            let rest = &expr[at + keyword.len()..];
            let clause = &rest[..rest.find(')').unwrap_or(rest.len())];
            if clause.split(", ").any(|l| l == "job") {
                out.push(clause.to_owned());
            }
        }
    }
    out
}

/// (c) Another job selector and a cluster label change the expressions as
/// they should, and the result still passes promtool.
#[test]
fn another_config_reaches_the_expressions_and_passes_promtool() {
    let dir = TempDir::new("mixin-config");
    let file = render_rule_file(OTHER_CONFIG, &dir);
    promtool_check_rules(&file);
    let other = rules_of(&yaml_doc(&file));
    let default = rules_of(&yaml_doc(&repo().join(COMMITTED[0].1)));
    assert_eq!(other.len(), default.len());
    let mut clauses = 0;
    for (o, d) in other.iter().zip(&default) {
        let name = d
            .get("alert")
            .or(d.get("record"))
            .unwrap()
            .as_str()
            .unwrap();
        let (oe, de) = (o["expr"].as_str().unwrap(), d["expr"].as_str().unwrap());
        // Every clause that names the job names the cluster first.
        let (oc, dc) = (job_clauses(oe), job_clauses(de));
        assert_eq!(oc.len(), dc.len(), "{name}: {oe}");
        for (o_clause, d_clause) in oc.iter().zip(&dc) {
            assert!(
                d_clause.starts_with("job, instance"),
                "{name}: ({d_clause})"
            );
            assert_eq!(
                *o_clause,
                format!("k8s_cluster, {d_clause}"),
                "{name}: {oe}"
            );
            clauses += 1;
        }
        // Nothing else changed but the selector.
        let back = oe
            .replace("k8s_cluster, job, instance", "job, instance")
            .replace(
                "job=\"platform/arize\", namespace=\"observability\"",
                "job=\"arize-exporter\"",
            );
        assert_eq!(back, de, "{name}");
        assert_eq!(o.get("labels"), d.get("labels"), "{name}");
    }
    assert!(clauses >= 30, "only {clauses} clauses name the job");
    let find = |rules: &[Value], name: &str| -> Value {
        rules
            .iter()
            .find(|r| r["alert"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        find(&other, "ArizeExporterDown")["expr"],
        "up{job=\"platform/arize\", namespace=\"observability\"} == 0"
    );
    let never = find(&other, "ArizeTasksNeverRun");
    assert_eq!(never["for"], "2h");
    assert!(never["annotations"]["description"]
        .as_str()
        .unwrap()
        .starts_with("For 2 hours "));
    // The queries of the descriptions (the task's names, the exporter's
    // error ratio threshold) name the cluster too.
    let ratio = find(&other, "ArizeTaskLastRunErrorRatioHigh");
    let description = ratio["annotations"]["description"].as_str().unwrap();
    for query in [
        "arize_task_info{k8s_cluster='%s',job='%s',instance='%s',task_id='%s'}\" $labels.k8s_cluster $labels.job",
        "arize_exporter_run_error_ratio_threshold{k8s_cluster='%s',job='%s',instance='%s'}\" $labels.k8s_cluster $labels.job",
    ] {
        assert!(description.contains(query), "{query}: {description}");
    }
    let stale = find(&other, "ArizeTaskStale");
    assert!(
        stale["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("k8s_cluster='%s',job='%s'"),
        "the threshold query names the cluster"
    );
    for r in other.iter().filter(|r| r.get("alert").is_some()) {
        let name = r["alert"].as_str().unwrap();
        assert_eq!(
            r["annotations"]["runbook_url"],
            format!("{RUNBOOK}{}", name.to_lowercase())
        );
        assert_eq!(
            r["annotations"]["dashboard_url"],
            "https://grafana.internal/d/arize-tasks?var-cluster={{ $labels.k8s_cluster | urlquery }}\
             &var-job={{ $labels.job | urlquery }}&var-instance={{ $labels.instance | urlquery }}",
            "{name}"
        );
    }

    // The dashboard: patched uid and tags, a cluster variable, and every
    // query that filters on the job filters on the cluster too.
    let out = TempDir::new("mixin-dashboards");
    run_ok(jsonnet().args([
        "-S",
        "-m",
        out.0.to_str().unwrap(),
        "--tla-code",
        &format!("config={OTHER_CONFIG}"),
        "mixin/lib/dashboards.jsonnet",
    ]));
    let d: Value = serde_json::from_str(&read(out.path("arize-exporter.json"))).unwrap();
    assert_eq!(d["uid"], "arize-tasks");
    assert_eq!(d["tags"], json!(["platform"]));
    let vars = d["templating"]["list"].as_array().unwrap();
    let cluster = vars
        .iter()
        .find(|v| v["name"] == "cluster")
        .expect("a cluster variable");
    assert_eq!(cluster["query"], "label_values(arize_up, k8s_cluster)");
    let text = serde_json::to_string(&d).unwrap();
    let filtered = text.matches("job=~\\\"$job\\\"").count();
    assert!(filtered > 40, "{filtered}");
    assert_eq!(
        text.matches("k8s_cluster=~\\\"$cluster\\\",job=~\\\"$job\\\"")
            .count(),
        filtered
    );
    assert!(!text.contains("on (job, instance"));
}

/// The repository's promtool unit tests pass against the render with a
/// cluster label too: series without the label still match (an absent
/// label is the empty value on both sides of an `on`), so a single cluster
/// loses no alert. Only the dashboard links differ, so this render keeps
/// the default Grafana link.
#[test]
fn the_unit_tests_pass_with_a_cluster_label_on_single_cluster_data() {
    let dir = TempDir::new("mixin-unit");
    let config = "{ clusterLabel: 'k8s_cluster' }";
    let file = render_rule_file(config, &dir);
    // The expected dashboard_url of the unit tests has no cluster variable.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("var-cluster={{ $labels.k8s_cluster | urlquery }}&", "");
    let file = dir.write("arize-exporter.rules.yml", &text);
    std::fs::create_dir_all(dir.path("tests")).unwrap();
    let mut args = vec!["test".to_owned(), "rules".to_owned()];
    for entry in std::fs::read_dir(repo().join(RULE_TESTS))
        .unwrap()
        .flatten()
    {
        let dst = dir.path("tests").join(entry.file_name());
        std::fs::copy(entry.path(), &dst).unwrap();
        args.push(dst.display().to_string());
    }
    assert!(file.is_file());
    let out = run(command("promtool", PROMETHEUS)
        .args(&args)
        .current_dir(&dir.0));
    let t = output_text(&out);
    assert!(
        out.status.success() && t.contains("SUCCESS"),
        "promtool test rules:\n{t}"
    );
}
