//! The reference in `docs/` cannot drift from the code: the flag table of
//! `docs/configuration.md` (and the README's short one) against the real
//! binary's `--help`; the metrics tables of `docs/metrics.md` (families,
//! types, labels, cost rows) against what a `--demo --once` scrape of the
//! real binary serves, and the SPEC's families; every alert's `runbook_url`
//! against the headings of `docs/runbook.md`, and the families each alert
//! reads against the runbook's table of them; the lean allowlist of
//! `docs/metrics.md` against the alerts it says it keeps; and every relative link of
//! `README.md` and `docs/*.md` against the files and headings it names.
//! Hermetic: only the binary, its built-in simulator on loopback, and files.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use arize_exporter::metrics::filter::{FamilyFilter, ListKind};
use support::exporter::exporter_command;
use support::spec::{PROCESS_METRICS, SPEC_FAMILIES};
use support::tools::{read, repo, TempDir};

// ---------------------------------------------------------------------------
// Markdown: tables, headings, links
// ---------------------------------------------------------------------------

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// Splits a table row into its cells; a `|` inside a code span is text.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut out = vec![String::new()];
    let mut code = false;
    for c in row.chars() {
        match c {
            '`' => {
                code = !code;
                out.last_mut().unwrap().push(c);
            }
            '|' if !code => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The body rows of the one table of `doc` whose header row is `header`
/// (cells compared after trimming). Panics if there is no such table, or
/// more than one.
fn table(doc: &str, name: &str, header: &[&str]) -> Vec<Vec<String>> {
    let lines = prose_lines(doc);
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| l.trim_start().starts_with('|') && cells(l) == header)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        starts.len(),
        1,
        "{name}: one table with the header {header:?}"
    );
    lines[starts[0] + 2..]
        .iter()
        .take_while(|(_, l)| l.trim_start().starts_with('|'))
        .map(|(n, l)| {
            let row = cells(l);
            assert_eq!(
                row.len(),
                header.len(),
                "{name}:{n}: {} cells",
                header.len()
            );
            row
        })
        .collect()
}

/// The code spans of a cell, in order.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-`
/// and `_` dropped, spaces to `-`.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every heading anchor of a Markdown document, a repeated heading getting
/// `-1`, `-2`, ... as on GitHub.
fn anchors(doc: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(doc) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = anchor_of(&line[hashes..]);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// The inline link targets of a document's prose (not in code), with
/// their line numbers.
fn links(doc: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(doc) {
        // Code spans are text, not links.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            out.push((n, rest[..end].trim().to_owned()));
            rest = &rest[end..];
        }
    }
    out
}

/// The Markdown files whose links must resolve: the README and `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ is readable")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    docs
}

/// What is wrong with each relative link of `doc` (at `path`): a file that
/// does not exist, or an anchor that is no heading of the Markdown file it
/// points into.
fn broken_links(path: &Path, doc: &str) -> Vec<String> {
    let dir = path.parent().expect("a document has a folder");
    let mut broken = Vec::new();
    for (n, target) in links(doc) {
        if target.contains("://") || target.starts_with("mailto:") || target.starts_with('<') {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target.as_str(), None),
        };
        let (file_path, text) = if file.is_empty() {
            (path.to_path_buf(), Some(doc.to_owned()))
        } else {
            let p = dir.join(file);
            if !p.exists() {
                broken.push(format!("{}:{n}: no file {file}", path.display()));
                continue;
            }
            let text = (p.extension().is_some_and(|e| e == "md"))
                .then(|| std::fs::read_to_string(&p).unwrap_or_default());
            (p, text)
        };
        if let Some(anchor) = anchor {
            match text {
                Some(text) if anchors(&text).contains(anchor) => {}
                Some(_) => broken.push(format!(
                    "{}:{n}: no heading #{anchor} in {}",
                    path.display(),
                    file_path.display()
                )),
                None => broken.push(format!(
                    "{}:{n}: an anchor into {}, which is not Markdown",
                    path.display(),
                    file_path.display()
                )),
            }
        }
    }
    broken
}

// ---------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------

/// Runs the binary with `args` (environment made hermetic), waiting at
/// most a minute; returns its stdout. Fails the test on a non-zero exit.
fn run_binary(args: &[&str]) -> String {
    let dir = TempDir::new("docs");
    let out_path = dir.path("stdout");
    let err_path = dir.path("stderr");
    let mut child = exporter_command(args, &[])
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("a stdout file"))
        .stderr(File::create(&err_path).expect("a stderr file"))
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("arize-exporter {args:?} did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&out_path).expect("stdout is UTF-8");
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "arize-exporter {args:?}: {status}\n{stderr}"
    );
    stdout
}

/// One option of `--help`: its long name, aliases, environment variable
/// and default, as clap prints them.
#[derive(Debug, Default)]
struct HelpFlag {
    aliases: BTreeSet<String>,
    env: Option<String>,
    default: Option<String>,
}

/// Parses the long help: an option line is indented by at most six
/// spaces and starts with `-`; its `[env: ...]`, `[default: ...]` and
/// `[alias(es): ...]` lines follow it.
fn parse_help(help: &str) -> BTreeMap<String, HelpFlag> {
    let mut flags: BTreeMap<String, HelpFlag> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent <= 6 && trimmed.starts_with('-') {
            let long = trimmed
                .split_whitespace()
                .map(|w| w.trim_end_matches(','))
                .find(|w| w.starts_with("--"))
                .unwrap_or_else(|| panic!("an option without a long name: {line}"));
            flags.insert(long.to_owned(), HelpFlag::default());
            current = Some(long.to_owned());
            continue;
        }
        let Some(flag) = current.as_ref().and_then(|c| flags.get_mut(c)) else {
            continue;
        };
        let bracketed = |prefix: &str| {
            trimmed
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned)
        };
        if let Some(env) = bracketed("[env: ") {
            // `NAME=` or `NAME=value`, or `NAME` alone for a hidden value.
            let name = env.split('=').next().unwrap_or_default();
            flag.env = Some(name.to_owned());
        } else if let Some(default) = bracketed("[default: ") {
            flag.default = Some(default);
        } else if let Some(aliases) = bracketed("[alias: ").or_else(|| bracketed("[aliases: ")) {
            flag.aliases = aliases.split(',').map(|a| a.trim().to_owned()).collect();
        }
    }
    flags
}

// ---------------------------------------------------------------------------
// (a) the flag table against --help
// ---------------------------------------------------------------------------

/// What the table of `docs/configuration.md` says about one flag.
#[derive(Debug)]
struct DocFlag {
    aliases: BTreeSet<String>,
    env: Option<String>,
    /// The default written as code (`60s`); a default in words (`off`) or
    /// an empty cell is `None`.
    default: Option<String>,
}

fn doc_flags(doc: &str) -> BTreeMap<String, DocFlag> {
    let rows = table(
        doc,
        "docs/configuration.md",
        &["flag", "environment", "default", "meaning"],
    );
    let mut flags = BTreeMap::new();
    for row in rows {
        let names: Vec<&str> = code_spans(&row[0])
            .into_iter()
            .filter(|s| s.starts_with("--"))
            .collect();
        let (primary, aliases) = names
            .split_first()
            .unwrap_or_else(|| panic!("a row without a flag: {row:?}"));
        let env = code_spans(&row[1]).first().map(|e| (*e).to_owned());
        let default = match code_spans(&row[2]).as_slice() {
            [one] => Some((*one).to_owned()),
            [] => None,
            more => panic!("{primary}: one default, not {more:?}"),
        };
        let previous = flags.insert(
            (*primary).to_owned(),
            DocFlag {
                aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
                env,
                default,
            },
        );
        assert!(previous.is_none(), "{primary}: one row");
    }
    flags
}

/// Every disagreement between `--help` and the documented table.
fn flag_table_mismatches(
    help: &BTreeMap<String, HelpFlag>,
    doc: &BTreeMap<String, DocFlag>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, h) in help {
        let Some(d) = doc.get(name) else {
            wrong.push(format!("{name}: in --help, not in docs/configuration.md"));
            continue;
        };
        if h.aliases != d.aliases {
            wrong.push(format!(
                "{name}: aliases {:?} in --help, {:?} documented",
                h.aliases, d.aliases
            ));
        }
        if h.env != d.env {
            wrong.push(format!(
                "{name}: environment {:?} in --help, {:?} documented",
                h.env, d.env
            ));
        }
        // A flag without a default in --help is documented with none (an
        // empty cell) or in words (`off`), never as a value.
        if h.default != d.default {
            wrong.push(format!(
                "{name}: default {:?} in --help, {:?} documented",
                h.default, d.default
            ));
        }
    }
    for name in doc.keys() {
        if !help.contains_key(name) {
            wrong.push(format!("{name}: documented, not in --help"));
        }
    }
    wrong
}

#[test]
fn the_flag_table_is_the_binary_s_help() {
    let help = parse_help(&run_binary(&["--help"]));
    assert!(help.len() >= 30, "every option of --help parsed: {help:?}");
    assert_eq!(
        help["--web.listen-address"].default.as_deref(),
        Some(":10841")
    );
    assert_eq!(help["--api-key"].env.as_deref(), Some("ARIZE_API_KEY"));
    let doc = doc_flags(&read("docs/configuration.md"));
    let wrong = flag_table_mismatches(&help, &doc);
    assert!(
        wrong.is_empty(),
        "docs/configuration.md and --help differ:\n{}",
        wrong.join("\n")
    );

    // The check itself catches a dropped row, a wrong default and a wrong
    // environment variable.
    let mut dropped = doc_flags(&read("docs/configuration.md"));
    dropped.remove("--stale-after-min");
    assert!(!flag_table_mismatches(&help, &dropped).is_empty());
    let mut changed = doc_flags(&read("docs/configuration.md"));
    changed.get_mut("--poll-interval").unwrap().default = Some("30s".into());
    changed.get_mut("--page-size").unwrap().env = Some("ARIZE_LIMIT".into());
    assert_eq!(flag_table_mismatches(&help, &changed).len(), 2);

    // The README's short table of the first flags names real flags and
    // their real defaults.
    let readme = read("README.md");
    let wrong = readme_flag_mismatches(&help, &readme);
    assert!(
        wrong.is_empty(),
        "README.md and --help differ:\n{}",
        wrong.join("\n")
    );
    let changed = readme.replace(
        "| `--poll-interval` | `60s` |",
        "| `--poll-interval` | `30s` |",
    );
    assert_eq!(readme_flag_mismatches(&help, &changed).len(), 1);
}

/// Every flag of the README's short table that `--help` does not have, and
/// every default there that is none of its flags' defaults.
fn readme_flag_mismatches(help: &BTreeMap<String, HelpFlag>, readme: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    for row in table(readme, "README.md", &["flag", "default", "what for"]) {
        let flags = code_spans(&row[0]);
        let defaults: Vec<&str> = flags
            .iter()
            .filter_map(|f| help.get(*f).and_then(|h| h.default.as_deref()))
            .collect();
        for flag in &flags {
            if !help.contains_key(*flag) {
                wrong.push(format!("{flag}: in the README, not in --help"));
            }
        }
        for default in code_spans(&row[1]) {
            if !defaults.contains(&default) {
                wrong.push(format!("{flags:?}: default {default} is not in --help"));
            }
        }
    }
    wrong
}

// ---------------------------------------------------------------------------
// (b) the metrics tables against a --demo scrape
// ---------------------------------------------------------------------------

/// Family name to `# TYPE` of a text-format exposition.
fn served_families(exposition: &str) -> BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').expect("# TYPE name kind");
            (name.to_owned(), kind.trim().to_owned())
        })
        .collect()
}

/// The families of the metrics table: name to type (`process_*` to "").
fn doc_families(doc: &str) -> BTreeMap<String, String> {
    let rows = table(
        doc,
        "docs/metrics.md",
        &["metric", "type", "labels", "meaning"],
    );
    let mut families = BTreeMap::new();
    for row in rows {
        let names = code_spans(&row[0]);
        assert!(!names.is_empty(), "a row without a metric: {row:?}");
        for name in names {
            let previous = families.insert(name.to_owned(), row[1].clone());
            assert!(previous.is_none(), "{name}: one row");
        }
    }
    families
}

/// The label names of a sample line's label set: `name{a="x",b="y"} 1`.
fn label_names(sample: &str) -> (String, BTreeSet<String>) {
    let Some((name, rest)) = sample.split_once('{') else {
        let name = sample.split_whitespace().next().unwrap_or_default();
        return (name.to_owned(), BTreeSet::new());
    };
    let mut names = BTreeSet::new();
    let mut chars = rest.chars();
    let mut current = String::new();
    while let Some(c) = chars.next() {
        match c {
            '}' => break,
            ',' | ' ' => {}
            '=' => {
                // A quoted value, with `\\`, `\"` and `\n` escapes.
                assert_eq!(chars.next(), Some('"'), "a quoted value in {sample}");
                let mut escaped = false;
                for v in chars.by_ref() {
                    match (escaped, v) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
                names.insert(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    (name.to_owned(), names)
}

/// Family name to the label names its samples carry (a histogram's `le`
/// left out), for the families that have samples.
fn served_labels(
    exposition: &str,
    kinds: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, mut labels) = label_names(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|base| kinds.get(*base).is_some_and(|k| k == "histogram"))
            .unwrap_or(&name)
            .to_owned();
        labels.remove("le");
        out.entry(family).or_default().extend(labels);
    }
    out
}

/// The labels the metrics table names for each family: the code spans of
/// its labels cell outside parentheses (values are named inside them),
/// and the per-task labels where the cell says `per-task`.
fn doc_labels(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let rows = table(
        doc,
        "docs/metrics.md",
        &["metric", "type", "labels", "meaning"],
    );
    let mut out = BTreeMap::new();
    for row in rows {
        let mut depth = 0usize;
        let outside: String = row[2]
            .chars()
            .filter(|c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => return depth == 0,
                }
                false
            })
            .collect();
        let mut labels: BTreeSet<String> = code_spans(&outside)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if outside.contains("per-task") {
            labels.extend(["task_id", "task_name", "task_type", "mode", "space"].map(String::from));
        }
        for name in code_spans(&row[0]) {
            out.insert(name.to_owned(), labels.clone());
        }
    }
    out
}

/// Every family whose served labels are not the documented ones. `space`
/// is served only with space filters, which the demo has not.
fn label_mismatches(
    served: &BTreeMap<String, BTreeSet<String>>,
    doc: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (family, labels) in served {
        if family.starts_with("process_") {
            continue;
        }
        let Some(documented) = doc.get(family) else {
            continue; // reported by metric_table_mismatches
        };
        let mut expected = documented.clone();
        expected.remove("space");
        let mut served = labels.clone();
        served.remove("space");
        if served != expected {
            wrong.push(format!(
                "{family}: labels {served:?} served, {expected:?} documented"
            ));
        }
    }
    wrong
}

/// The families of the cost table (series and bytes per task).
fn costed_families(doc: &str) -> BTreeSet<String> {
    table(
        doc,
        "docs/metrics.md",
        &[
            "family",
            "series per task",
            "bytes per task, plain",
            "bytes per task, gzip",
        ],
    )
    .iter()
    .flat_map(|row| {
        code_spans(&row[0])
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    })
    .collect()
}

/// A per-task family: one series (or more) per task, not per type.
fn is_per_task(family: &str) -> bool {
    family.starts_with("arize_task_") && family != "arize_task_runs_total"
}

/// Every disagreement between what is served and what is documented.
fn metric_table_mismatches(
    served: &BTreeMap<String, String>,
    doc: &BTreeMap<String, String>,
    costed: &BTreeSet<String>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, kind) in served {
        if name.starts_with("process_") {
            if !doc.contains_key("process_*") {
                wrong.push(format!("{name}: served, no `process_*` row"));
            }
            continue;
        }
        match doc.get(name) {
            None => wrong.push(format!("{name}: served, not in docs/metrics.md")),
            Some(documented) if documented != kind => wrong.push(format!(
                "{name}: served as {kind}, documented as {documented}"
            )),
            Some(_) => {}
        }
        if is_per_task(name) && !costed.contains(name) {
            wrong.push(format!("{name}: per-task family without its cost per task"));
        }
    }
    for name in doc.keys().chain(costed.iter()) {
        if name != "process_*" && !served.contains_key(name) {
            wrong.push(format!("{name}: documented, not served"));
        }
    }
    // What the SPEC says is served today is documented.
    for family in SPEC_FAMILIES {
        if !doc.contains_key(family.name) {
            wrong.push(format!(
                "{}: in the SPEC, not in docs/metrics.md",
                family.name
            ));
        }
    }
    wrong
}

#[test]
fn the_metrics_tables_are_what_a_demo_scrape_serves() {
    let exposition = run_binary(&["--demo", "--once"]);
    let served = served_families(&exposition);
    // The scrape is the whole SPEC: every family, with its type, and the
    // process collector's families (Linux).
    for family in SPEC_FAMILIES {
        assert_eq!(
            served.get(family.name).map(String::as_str),
            Some(family.kind),
            "{} served by --demo --once",
            family.name
        );
    }
    for name in PROCESS_METRICS {
        assert!(served.contains_key(*name), "{name} served");
    }
    let text = read("docs/metrics.md");
    let doc = doc_families(&text);
    let costed = costed_families(&text);
    let wrong = metric_table_mismatches(&served, &doc, &costed);
    assert!(
        wrong.is_empty(),
        "docs/metrics.md and the exposition differ:\n{}",
        wrong.join("\n")
    );
    let labels = served_labels(&exposition, &served);
    assert!(labels["arize_task_info"].contains("created_by_user_id"));
    assert!(labels["arize_exporter_api_request_duration_seconds"].contains("endpoint"));
    let documented = doc_labels(&text);
    let wrong = label_mismatches(&labels, &documented);
    assert!(
        wrong.is_empty(),
        "docs/metrics.md names other labels than the exposition:\n{}",
        wrong.join("\n")
    );
    let mut unlabelled = documented.clone();
    unlabelled.get_mut("arize_tasks").unwrap().remove("mode");
    assert_eq!(label_mismatches(&labels, &unlabelled).len(), 1);

    // The check itself catches a dropped row, a wrong type, a family
    // documented but not served, and a per-task family without its cost.
    let mut dropped = doc.clone();
    dropped.remove("arize_task_evaluators");
    assert!(!metric_table_mismatches(&served, &dropped, &costed).is_empty());
    let mut retyped = doc.clone();
    retyped.insert("arize_exporter_polls_total".into(), "gauge".into());
    assert!(!metric_table_mismatches(&served, &retyped, &costed).is_empty());
    let mut invented = doc.clone();
    invented.insert("arize_task_not_served".into(), "gauge".into());
    assert!(!metric_table_mismatches(&served, &invented, &costed).is_empty());
    let mut uncosted = costed.clone();
    uncosted.remove("arize_task_info");
    assert!(!metric_table_mismatches(&served, &doc, &uncosted).is_empty());
}

// ---------------------------------------------------------------------------
// (c) runbook URLs, (d) relative links
// ---------------------------------------------------------------------------

const RUNBOOK_URL: &str =
    "https://github.com/arize-exporter/arize-exporter/blob/main/docs/runbook.md#";

/// (alert, runbook_url) of every alert of a rules file, read as text: an
/// `alert:` key and the `runbook_url:` that follows it.
fn runbook_urls(rules: &str) -> Vec<(String, Option<String>)> {
    let unquote = |v: &str| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for line in rules.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(name) = t.strip_prefix("alert:") {
            out.push((unquote(name), None));
        } else if let Some(url) = t.strip_prefix("runbook_url:") {
            let last = out.last_mut().expect("a runbook_url after its alert");
            last.1 = Some(unquote(url));
        }
    }
    out
}

/// Every alert whose runbook_url is missing, off the pattern, or points at
/// no heading of the runbook.
fn runbook_mismatches(rules: &str, runbook: &str) -> Vec<String> {
    let headings = anchors(runbook);
    let mut wrong = Vec::new();
    for (alert, url) in runbook_urls(rules) {
        let Some(url) = url else {
            wrong.push(format!("{alert}: no runbook_url"));
            continue;
        };
        let expected = format!("{RUNBOOK_URL}{}", alert.to_lowercase());
        if url != expected {
            wrong.push(format!("{alert}: runbook_url {url}, not {expected}"));
        }
        let anchor = url.rsplit_once('#').map(|(_, a)| a).unwrap_or_default();
        if !headings.contains(anchor) {
            wrong.push(format!("{alert}: no heading #{anchor} in docs/runbook.md"));
        }
        if !runbook.contains(&format!("\n### {alert}\n")) {
            wrong.push(format!("{alert}: no section `### {alert}`"));
        }
    }
    wrong
}

#[test]
fn every_alert_s_runbook_url_is_a_heading_of_the_runbook() {
    let rules = read("rules/arize-exporter.rules.yml");
    let runbook = read("docs/runbook.md");
    let alerts = runbook_urls(&rules);
    assert!(alerts.len() >= 15, "every alert read: {alerts:?}");
    let wrong = runbook_mismatches(&rules, &runbook);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The chart ships the same rules (rules/ links to its file).
    assert_eq!(
        read("helm/arize-exporter/files/arize-exporter.rules.yml"),
        rules
    );

    // A section renamed away is caught.
    let renamed = runbook.replace("### ArizeTaskStale\n", "### Arize task stale\n");
    assert!(!runbook_mismatches(&rules, &renamed).is_empty());
}

/// The series names an expression reads: `arize_*`, `process_*`, `up`
/// and recording rules (`level:metric:operation`); a histogram's
/// `_bucket` is its family.
fn series_read(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|w| {
            w.starts_with("arize_") || w.starts_with("process_") || *w == "up" || w.contains(':')
        })
        .map(|w| w.strip_suffix("_bucket").unwrap_or(w).to_owned())
        .collect()
}

/// Each rule's name (`alert` or `record`) and its expression, read from the
/// rules file as text: the `expr:` line and the lines indented under it.
fn rule_exprs(rules: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut expr_indent: Option<usize> = None;
    for line in rules.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(at) = expr_indent {
            if trimmed.is_empty() || indent > at {
                out.last_mut()
                    .expect("an expr after its rule")
                    .1
                    .push_str(line);
                out.last_mut().expect("an expr after its rule").1.push('\n');
                continue;
            }
            expr_indent = None;
        }
        let key = trimmed.trim_start_matches("- ");
        if let Some(name) = key
            .strip_prefix("alert:")
            .or_else(|| key.strip_prefix("record:"))
        {
            out.push((
                name.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned(),
                String::new(),
            ));
        } else if let Some(expr) = key.strip_prefix("expr:") {
            let last = out.last_mut().expect("an expr after its rule");
            last.1.push_str(expr);
            last.1.push('\n');
            expr_indent = Some(indent);
        }
    }
    out
}

/// The families each alert reads, through the recording rules.
fn families_read_by_alerts(rules: &str) -> BTreeMap<String, BTreeSet<String>> {
    let exprs = rule_exprs(rules);
    let recorded: BTreeMap<&str, &str> = exprs
        .iter()
        .filter(|(name, _)| name.contains(':'))
        .map(|(name, expr)| (name.as_str(), expr.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for (name, expr) in exprs.iter().filter(|(name, _)| !name.contains(':')) {
        let mut families = BTreeSet::new();
        let mut todo: Vec<String> = series_read(expr).into_iter().collect();
        while let Some(series) = todo.pop() {
            match recorded.get(series.as_str()) {
                Some(expr) => todo.extend(series_read(expr)),
                None => {
                    families.insert(series);
                }
            }
        }
        out.insert(name.clone(), families);
    }
    out
}

/// Every alert whose row in the runbook's "families it reads" table is not
/// what its expression reads. `*gate*` is the freshness gate's families.
fn alert_family_mismatches(rules: &str, runbook: &str) -> Vec<String> {
    let gate = [
        "arize_exporter_last_success_timestamp_seconds",
        "arize_exporter_poll_interval_seconds",
        "arize_up",
    ];
    let read = families_read_by_alerts(rules);
    let rows = table(runbook, "docs/runbook.md", &["alert", "families it reads"]);
    let mut wrong = Vec::new();
    let mut documented = BTreeSet::new();
    for row in rows {
        let alert = code_spans(&row[0])
            .first()
            .map(|a| (*a).to_owned())
            .unwrap_or_default();
        let mut families: BTreeSet<String> = code_spans(&row[1])
            .into_iter()
            .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(str::to_owned)
            .collect();
        if row[1].contains("*gate*") {
            families.extend(gate.map(String::from));
        }
        match read.get(&alert) {
            None => wrong.push(format!("{alert}: documented, no such alert")),
            Some(expected) if *expected != families => wrong.push(format!(
                "{alert}: reads {expected:?}, documented {families:?}"
            )),
            Some(_) => {}
        }
        documented.insert(alert);
    }
    for alert in read.keys() {
        if !documented.contains(alert) {
            wrong.push(format!("{alert}: no row in the families table"));
        }
    }
    wrong
}

#[test]
fn the_runbook_says_which_families_each_alert_reads() {
    let rules = read("rules/arize-exporter.rules.yml");
    let runbook = read("docs/runbook.md");
    let read_by = families_read_by_alerts(&rules);
    assert!(read_by.len() >= 15, "every alert read: {read_by:?}");
    assert!(read_by["ArizeTaskLastRunErrorRatioHigh"].contains("arize_task_last_run_errors"));
    let wrong = alert_family_mismatches(&rules, &runbook);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A family dropped from a row is caught.
    let dropped = runbook.replacen("| `arize_exporter_task_runs_backlog` |", "| |", 1);
    assert_ne!(dropped, runbook);
    assert_eq!(alert_family_mismatches(&rules, &dropped).len(), 1);
}

/// The allow and deny lists may drop the families of issue 18 (names,
/// evaluators, the newest run's start and data window) and only the alerts
/// that need one go silent: the names are looked up by the descriptions,
/// never read by an alert's expression (ArizeTaskNeverRun reads
/// arize_task_info for the task list itself, as before).
#[test]
fn dropping_a_name_or_run_window_family_silences_only_the_alerts_that_need_it() {
    let rules = read("rules/arize-exporter.rules.yml");
    let read_by = families_read_by_alerts(&rules);
    for (family, expected) in [
        ("arize_task_info", &["ArizeTaskNeverRun"][..]),
        (
            "arize_task_last_run_data_end_timestamp_seconds",
            &["ArizeTaskEvaluationLagging"][..],
        ),
        (
            "arize_task_last_run_started_timestamp_seconds",
            &["ArizeTaskRunStuck"][..],
        ),
        ("arize_task_evaluator_info", &[][..]),
        ("arize_space_info", &[][..]),
        ("arize_project_info", &[][..]),
        ("arize_dataset_info", &[][..]),
    ] {
        let silenced: Vec<&str> = read_by
            .iter()
            .filter(|(_, families)| families.contains(family))
            .map(|(alert, _)| alert.as_str())
            .collect();
        assert_eq!(silenced, expected, "alerts that need {family}");
    }
    // The descriptions do name the task's place from arize_task_info.
    let looked_up = rules
        .matches("\"arize_task_info{job='%s',instance='%s',task_id='%s'}\"")
        .count();
    assert!(
        looked_up >= 6,
        "{looked_up} descriptions look up arize_task_info"
    );
}

/// Each alert's `severity` label, read from the rules file as text.
fn alert_severities(rules: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut alert: Option<String> = None;
    for line in rules.lines() {
        let key = line.trim_start().trim_start_matches("- ");
        if let Some(name) = key.strip_prefix("alert:") {
            alert = Some(
                name.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned(),
            );
        } else if key.starts_with("record:") {
            alert = None;
        } else if let (Some(value), Some(name)) = (key.strip_prefix("severity:"), &alert) {
            out.insert(name.clone(), value.trim().trim_matches('"').to_owned());
        }
    }
    out
}

/// The lean allowlist of `docs/metrics.md`: the value of the
/// `--metric-allowlist=` line in the fenced block of its section, and the
/// alerts the section says no longer fire with it.
fn lean_allowlist(metrics: &str) -> (String, BTreeSet<String>) {
    let section = metrics
        .split("\n## ")
        .find(|s| s.starts_with("Lean allowlist\n"))
        .expect("docs/metrics.md has a section \"Lean allowlist\"");
    let list = section
        .lines()
        .find_map(|l| l.trim().strip_prefix("--metric-allowlist="))
        .expect("a --metric-allowlist= line")
        .trim_matches(|c| c == '\'' || c == '"')
        .to_owned();
    let silenced = section
        .lines()
        .find_map(|l| l.strip_prefix("Alerts that no longer fire with it:"))
        .expect("a line \"Alerts that no longer fire with it:\"");
    let silenced = code_spans(silenced)
        .into_iter()
        .map(str::to_owned)
        .collect();
    (list, silenced)
}

/// The alerts of `rules` with an input that `filter` does not serve.
fn alerts_silenced(rules: &str, filter: &FamilyFilter) -> BTreeSet<String> {
    families_read_by_alerts(rules)
        .into_iter()
        .filter(|(_, families)| families.iter().any(|f| !filter.serves(f)))
        .map(|(alert, _)| alert)
        .collect()
}

#[test]
fn the_lean_allowlist_keeps_every_alert_it_says() {
    let rules = read("rules/arize-exporter.rules.yml");
    let (list, silenced) = lean_allowlist(&read("docs/metrics.md"));
    let filter = match FamilyFilter::compile(ListKind::Allow, &list) {
        Ok(Some(compiled)) => {
            assert!(
                compiled.unmatched.is_empty(),
                "{:?} match nothing",
                compiled.unmatched
            );
            compiled.filter
        }
        other => panic!("the lean allowlist {list:?} does not compile: {other:?}"),
    };
    // It is lean: some per-task family is left out.
    assert!(FamilyFilter::names().any(|n| !filter.serves(n)), "{list}");
    let severities = alert_severities(&rules);
    let read_by = families_read_by_alerts(&rules);
    assert_eq!(
        severities.keys().collect::<Vec<_>>(),
        read_by.keys().collect::<Vec<_>>(),
        "a severity for every alert"
    );
    let paging: Vec<&String> = severities
        .iter()
        .filter(|(_, s)| *s == "critical" || *s == "page")
        .map(|(a, _)| a)
        .collect();
    assert!(paging.len() >= 3, "{severities:?}");
    for alert in paging {
        let denied: Vec<&String> = read_by[alert]
            .iter()
            .filter(|f| !filter.serves(f))
            .collect();
        assert!(
            denied.is_empty(),
            "{alert} reads {denied:?}, left out by the lean allowlist"
        );
    }
    assert_eq!(
        alerts_silenced(&rules, &filter),
        silenced,
        "the alerts the section says stop"
    );
    // A family an alert reads, dropped from the list, is caught.
    let without = list.replace(",arize_task_last_run_errors", "");
    assert_ne!(without, list);
    let filter = FamilyFilter::compile(ListKind::Allow, &without)
        .unwrap()
        .unwrap()
        .filter;
    assert!(alerts_silenced(&rules, &filter).contains("ArizeTaskLastRunErrorRatioHigh"));
    // And dropping what a critical alert reads is caught too.
    let filter = FamilyFilter::compile(ListKind::Allow, "arize_task_info")
        .unwrap()
        .unwrap()
        .filter;
    assert!(alerts_silenced(&rules, &filter).contains("ArizeTasksStale"));
}

#[test]
fn every_relative_link_of_the_readme_and_docs_resolves() {
    let docs = documents();
    assert!(docs.len() >= 8, "the README and docs/: {docs:?}");
    let mut broken = Vec::new();
    let mut count = 0;
    for path in &docs {
        let text = std::fs::read_to_string(path).expect("a readable document");
        count += links(&text).len();
        broken.extend(broken_links(path, &text));
    }
    assert!(count >= 50, "links found: {count}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));

    // A moved heading, a missing file and an anchor into a non-Markdown
    // file are caught.
    let readme = repo().join("README.md");
    for bad in [
        "[x](docs/runbook.md#no-such-heading)",
        "[x](docs/no-such-file.md)",
        "[x](#no-such-section)",
        "[x](Cargo.toml#package)",
    ] {
        assert_eq!(broken_links(&readme, bad).len(), 1, "{bad}");
    }
    assert_eq!(
        anchor_of("The scrape job is `arize-exporter`"),
        "the-scrape-job-is-arize-exporter"
    );
    assert_eq!(
        anchor_of("Figures: commit 498d455, 2026-11-29"),
        "figures-commit-498d455-2026-11-29"
    );
}
