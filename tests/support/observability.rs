//! The dashboard and the rule files as JSON, and a small PromQL lexer that
//! finds the metric names and label names a query uses (the observability
//! tests: tests/tools/rules.rs, tests/*/dashboard.rs, tests/tools/prometheus_e2e.rs).

use std::collections::BTreeSet;

use serde_json::Value;

use super::tools::{read, repo};
use super::yaml::yaml_doc;

pub const DASHBOARD: &str = "dashboards/arize-exporter.json";
pub const RULES: &str = "rules/arize-exporter.rules.yml";
pub const RULE_TESTS: &str = "rules/tests";

/// Series Prometheus makes itself for every target.
pub const PROMETHEUS_SERIES: &[&str] = &["up"];

/// Label names that SPEC section 5 defines (`status` of the run families
/// included), the target labels, `le`, and the `quantile` label the
/// recording rules add.
pub const KNOWN_LABELS: &[&str] = &[
    "job",
    "instance",
    "task_id",
    "task_name",
    "task_type",
    "mode",
    "space",
    "project_id",
    "dataset_id",
    "created_by_user_id",
    "space_id",
    "space_name",
    "project_name",
    "dataset_name",
    "status",
    "outcome",
    "reason",
    "endpoint",
    "code",
    "version",
    "revision",
    "le",
    "quantile",
    "__name__",
];

pub fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).expect("dashboard is valid JSON")
}

pub fn rules() -> Value {
    yaml_doc(&repo().join(RULES))
}

/// Every rule of the rule file, in order.
pub fn all_rules(rules: &Value) -> Vec<Value> {
    rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect()
}

pub fn recording_rule_names(rules: &Value) -> BTreeSet<String> {
    all_rules(rules)
        .iter()
        .filter_map(|r| r["record"].as_str().map(str::to_owned))
        .collect()
}

pub fn alert_names(rules: &Value) -> Vec<String> {
    all_rules(rules)
        .iter()
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect()
}

pub fn alert_expr(rules: &Value, alert: &str) -> String {
    all_rules(rules)
        .iter()
        .find(|r| r["alert"] == alert)
        .unwrap_or_else(|| panic!("no alert {alert}"))["expr"]
        .as_str()
        .expect("expr")
        .to_owned()
}

/// All panels, those inside rows included.
pub fn panels(dashboard: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p.clone());
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner.iter().cloned());
        }
    }
    out
}

/// One PromQL query of the dashboard: where it is, and its text.
#[derive(Debug, Clone)]
pub struct Query {
    pub place: String,
    pub expr: String,
    /// A variable's `label_values(...)` query: (series selector, label).
    pub label_values: Option<(String, String)>,
    pub instant: bool,
}

pub fn dashboard_queries(dashboard: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for p in panels(dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(Query {
                place: format!("panel {} ({}) target {}", p["id"], p["title"], t["refId"]),
                expr: t["expr"].as_str().expect("target expr").to_owned(),
                label_values: None,
                instant: t["instant"] == true,
            });
        }
    }
    for v in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]
            .as_str()
            .or_else(|| v["query"]["query"].as_str())
            .expect("variable query text");
        let (selector, label) = parse_label_values(q).unwrap_or_else(|| {
            panic!(
                "variable {}: not label_values(selector, label): {q}",
                v["name"]
            )
        });
        out.push(Query {
            place: format!("variable {}", v["name"]),
            expr: selector.clone(),
            label_values: Some((selector, label)),
            instant: true,
        });
    }
    out
}

/// `label_values(selector, label)` -> (selector, label).
pub fn parse_label_values(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    Some((selector.trim().to_owned(), label.trim().to_owned()))
}

/// A vector selector found in a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub metric: Option<String>,
    /// The text between the braces, if any.
    pub matchers: String,
}

/// What a PromQL expression names: its selectors, and the label names of
/// its `by`/`without`/`on`/`ignoring`/`group_*` clauses.
#[derive(Debug, Default)]
pub struct Names {
    pub selectors: Vec<Selector>,
    pub grouping_labels: Vec<String>,
}

const KEYWORDS_WITH_LABELS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan", // operators, literals
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio", // aggregations: `sum by (x) (...)`
];

/// A deliberately small PromQL lexer: enough for the queries of this
/// repository (it fails loudly on an unbalanced bracket).
pub fn names(expr: &str) -> Names {
    let b: Vec<char> = expr.chars().collect();
    let mut out = Names::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&b, i);
        } else if c == '#' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '{' {
            let end = closing(&b, i, '{', '}', expr);
            out.selectors.push(Selector {
                metric: None,
                matchers: b[i + 1..end].iter().collect(),
            });
            i = end + 1;
        } else if c == '[' {
            i = closing(&b, i, '[', ']', expr) + 1;
        } else if c.is_ascii_digit()
            || (c == '.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '.') {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == ':') {
                i += 1;
            }
            let ident: String = b[start..i].iter().collect();
            let mut j = i;
            while j < b.len() && b[j].is_whitespace() {
                j += 1;
            }
            let next = b.get(j).copied();
            if KEYWORDS_WITH_LABELS.contains(&ident.as_str()) {
                if next == Some('(') {
                    let end = closing(&b, j, '(', ')', expr);
                    let list: String = b[j + 1..end].iter().collect();
                    out.grouping_labels.extend(
                        list.split(',')
                            .map(|l| l.trim().to_owned())
                            .filter(|l| !l.is_empty()),
                    );
                    i = end + 1;
                }
            } else if KEYWORDS.contains(&ident.as_str()) || next == Some('(') {
                // an operator keyword or a function name
            } else if next == Some('{') {
                let end = closing(&b, j, '{', '}', expr);
                out.selectors.push(Selector {
                    metric: Some(ident),
                    matchers: b[j + 1..end].iter().collect(),
                });
                i = end + 1;
            } else {
                out.selectors.push(Selector {
                    metric: Some(ident),
                    matchers: String::new(),
                });
            }
        } else {
            i += 1;
        }
    }
    out
}

fn skip_string(b: &[char], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == '\\' && quote != '`' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    panic!("unterminated string in PromQL");
}

fn closing(b: &[char], open_at: usize, open: char, close: char, expr: &str) -> usize {
    let mut depth = 0;
    let mut i = open_at;
    while i < b.len() {
        let c = b[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(b, i);
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
        i += 1;
    }
    panic!("unbalanced `{open}` in PromQL: {expr}");
}

/// The label names of a selector's matchers (`a="x", b=~"y"` -> a, b).
pub fn matcher_labels(matchers: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let b: Vec<char> = matchers.chars().collect();
    let mut i = 0;
    let mut current = String::new();
    let mut in_name = true;
    while i < b.len() {
        let c = b[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&b, i);
            continue;
        }
        if c == ',' {
            in_name = true;
            current.clear();
        } else if in_name && (c == '=' || c == '!') {
            if !current.trim().is_empty() {
                labels.push(current.trim().to_owned());
            }
            in_name = false;
        } else if in_name {
            current.push(c);
        }
        i += 1;
    }
    labels
}

/// Grafana's substitution of template variables in a query: `$name`,
/// `${name}`, `${name:raw}` and `[[name]]`, longest names first.
pub fn substitute(expr: &str, vars: &[(&str, &str)]) -> String {
    let mut vars = vars.to_vec();
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = expr.to_owned();
    for (name, value) in &vars {
        out = out
            .replace(&format!("${{{name}:raw}}"), value)
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

/// Every metric (series) name the dashboard and the rules read, with where.
pub fn metrics_read(dashboard: &Value, rules: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for q in dashboard_queries(dashboard) {
        for s in names(&q.expr).selectors {
            if let Some(m) = s.metric {
                out.push((m, q.place.clone()));
            }
        }
    }
    for r in all_rules(rules) {
        let place = format!(
            "rule {}",
            r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?")
        );
        for s in names(r["expr"].as_str().expect("rule expr")).selectors {
            if let Some(m) = s.metric {
                out.push((m, place.clone()));
            }
        }
    }
    out
}

/// The options of a table panel's `organize` transformation (column
/// names and order).
pub fn organize_options(table: &Value) -> Value {
    table["transformations"]
        .as_array()
        .expect("transformations")
        .iter()
        .find(|t| t["id"] == "organize")
        .expect("an organize transformation")["options"]
        .clone()
}
