//! What a task costs a scraper, family by family, from real scrapes of the
//! exporter (issue 20, SPEC 5.2): for each N the benchmark starts the
//! release binary against the simulator serving `generated_tasks(N)`, once
//! without run data (`--task-runs false`), once with the runs of every task
//! read in the first poll, and once with the runs read and the lean
//! allowlist of `docs/metrics.md`; after the first poll it scrapes
//! `/metrics` plain and with gzip and breaks the plain body down by
//! family. The families are whatever the scrape holds (its `# HELP` and
//! `# TYPE` lines), never a list kept here, so a family added to the
//! exporter shows up without a change to this file.
//!
//! Per task figures are derived **by difference**: (value at the largest
//! N - value at the smallest N) / (largest N - smallest N), so that the
//! `# HELP`/`# TYPE` lines and the families of fixed size count nothing;
//! with a single N, by division. A family's gzip bytes are its block (HELP,
//! TYPE and samples) deflated on its own at level 2, as the exporter keeps
//! each family's segment for the gzip scrapes; the whole gzip body is the
//! size of a real gzip scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use arize_sim::{generated_tasks, Simulator};

use super::{
    client, client_args, die, drain, free_port, scrape_after_first_poll, spawn_exporter, Options,
};

/// vmagent's default `-promscrape.maxScrapeSize`, counted after decoding.
const VMAGENT_MAX_SCRAPE: usize = 16 * 1024 * 1024;

/// The smallest allowlist that keeps every alert of severity `critical`
/// (docs/metrics.md, "Lean allowlist"): no per-task family at all.
const CRITICAL_ALLOWLIST: &str = "arize_tasks.*,arize_task_runs_total";

/// One family of a scrape, as served.
#[derive(Clone, Default)]
pub struct Family {
    pub series: usize,
    /// Its lines (HELP, TYPE, samples), newlines included.
    pub plain: usize,
    /// Those lines deflated on their own at level 2.
    pub gzip: usize,
}

/// One scrape, broken down.
#[derive(Clone, Default)]
pub struct Scrape {
    pub tasks: usize,
    /// Family name to its figures, in the order served (BTreeMap: by name).
    pub families: BTreeMap<String, Family>,
    /// The order the families were served in.
    pub order: Vec<String>,
    pub body: usize,
    /// A real gzip scrape (the second after the poll: the fixed families
    /// copied from the kept segments, the ages compressed by the scrape).
    pub gzip_body: usize,
    pub series: usize,
    /// The longest label value (bytes, unescaped) and the label it is in.
    pub longest_label_value: (usize, String),
    /// The most labels on one series.
    pub most_labels: usize,
    /// `revision` of `arize_exporter_build_info`.
    pub revision: String,
}

/// The variants each N is scraped in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Variant {
    NoRuns,
    Runs,
    RunsLean,
    RunsCritical,
}

impl Variant {
    fn describe(self) -> &'static str {
        match self {
            Variant::NoRuns => "without run data (`--task-runs false`)",
            Variant::Runs => "runs read for every task",
            Variant::RunsLean => "runs read for every task, lean allowlist",
            Variant::RunsCritical => "runs read for every task, critical-only allowlist",
        }
    }
}

/// Everything the cost phase measured.
pub struct Costs {
    pub scrapes: BTreeMap<(Variant, usize), Scrape>,
    pub allowlist: Option<String>,
    pub started: time::OffsetDateTime,
}

/// The lean allowlist of `docs/metrics.md` (the `--metric-allowlist=` line
/// of its section "Lean allowlist"), or `--lean-allowlist LIST`.
fn lean_allowlist(options: &Options) -> Option<String> {
    if let Some(list) = &options.lean_allowlist {
        return Some(list.clone());
    }
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"),
    )
    .ok()?;
    let section = docs
        .split("\n## ")
        .find(|s| s.starts_with("Lean allowlist"))?;
    let value = section
        .lines()
        .find_map(|l| l.trim().strip_prefix("--metric-allowlist="))?;
    Some(value.trim().trim_matches('\'').to_owned())
}

/// Scrapes the exporter for every N of `options.sizes`, in each variant.
pub async fn measure(options: &Options) -> Costs {
    let started = time::OffsetDateTime::now_utc();
    let allowlist = lean_allowlist(options);
    let mut scrapes = BTreeMap::new();
    for &n in &options.sizes {
        let simulator = Simulator::start(generated_tasks(n, time::OffsetDateTime::now_utc()))
            .await
            .unwrap_or_else(|e| die(&e));
        let mut variants = vec![Variant::NoRuns, Variant::Runs];
        if allowlist.is_some() {
            variants.push(Variant::RunsLean);
        }
        variants.push(Variant::RunsCritical);
        for variant in variants {
            eprintln!("scale_bench: cost, N = {n}, {}", variant.describe());
            let scrape = scrape_one(options, &simulator, n, variant, allowlist.as_deref()).await;
            scrapes.insert((variant, n), scrape);
        }
        simulator.shutdown().await;
    }
    Costs {
        scrapes,
        allowlist,
        started,
    }
}

async fn scrape_one(
    options: &Options,
    simulator: &Simulator,
    n: usize,
    variant: Variant,
    allowlist: Option<&str>,
) -> Scrape {
    let api_url = simulator.base_url();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("scale_bench-cost-{n}.log"));
    let budget = n.to_string();
    let mut args = client_args(&api_url);
    args.extend(["--poll-interval", "1h", "--listen-address", &listen]);
    match variant {
        Variant::NoRuns => args.extend(["--task-runs", "false"]),
        Variant::Runs | Variant::RunsLean | Variant::RunsCritical => args.extend([
            "--task-runs",
            "true",
            "--max-run-requests-per-poll",
            &budget,
        ]),
    }
    match (variant, allowlist) {
        (Variant::RunsLean, Some(list)) => args.extend(["--metric-allowlist", list]),
        (Variant::RunsCritical, _) => args.extend(["--metric-allowlist", CRITICAL_ALLOWLIST]),
        _ => {}
    }
    let mut exporter = spawn_exporter(&options.exporter, &args, &log);
    let plain = client(false);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(Some(status)) = exporter.try_wait() {
            die(&format!(
                "the exporter exited ({status}); see {}",
                log.display()
            ));
        }
        if matches!(plain.get(format!("{base}/readyz")).send().await,
            Ok(r) if r.status().is_success())
        {
            break;
        }
        if Instant::now() > deadline {
            die(&format!(
                "the exporter was not ready in 10 minutes; see {}",
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = scrape_after_first_poll(&plain, &base, &log).await;
    let text = String::from_utf8_lossy(&body);
    if variant != Variant::NoRuns {
        let backlog = text
            .lines()
            .find_map(|l| l.strip_prefix("arize_exporter_task_runs_backlog "))
            .and_then(|v| v.parse::<f64>().ok());
        if backlog != Some(0.0) {
            die(&format!(
                "runs not read for every task: backlog {backlog:?}"
            ));
        }
    }
    let gzipped = client(true);
    // The first gzip scrape compresses and keeps the fixed families; the
    // second is the one every later scrape looks like.
    drain(&gzipped, &format!("{base}/metrics")).await;
    let gzip_body = drain(&gzipped, &format!("{base}/metrics")).await;
    let _ = exporter.kill();
    let _ = exporter.wait();
    let mut scrape = parse(&text);
    scrape.tasks = n;
    scrape.gzip_body = gzip_body;
    scrape
}

/// The name of the metric a sample line is of.
fn sample_name(line: &str) -> &str {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    &line[..end]
}

/// Breaks a text-format body down by family: a family starts at a `# HELP`
/// or `# TYPE` line naming a family other than the current one (or at a
/// sample of a metric not of the current family, had it no HELP line), and
/// holds every line up to the next.
pub fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape {
        body: text.len(),
        ..Scrape::default()
    };
    let mut blocks: Vec<(String, usize, String)> = Vec::new(); // name, series, text
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let comment = content
            .strip_prefix("# HELP ")
            .or_else(|| content.strip_prefix("# TYPE "));
        let name = match comment {
            Some(rest) => rest.split(' ').next().unwrap_or(""),
            None if content.starts_with('#') || content.is_empty() => "",
            None => sample_name(content),
        };
        let current = blocks.last().map(|b| b.0.as_str());
        let same = match (comment, current) {
            (_, None) => false,
            (Some(_), Some(current)) => name == current,
            // A histogram's or summary's samples carry suffixes.
            (None, Some(current)) => {
                name.is_empty()
                    || name == current
                    || ["_bucket", "_sum", "_count", "_total", "_created"]
                        .iter()
                        .any(|s| name.strip_prefix(current) == Some(*s))
            }
        };
        if !same {
            blocks.push((name.to_owned(), 0, String::new()));
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        if comment.is_none() && !content.is_empty() && !content.starts_with('#') {
            block.1 += 1;
            scrape.series += 1;
            labels(content, &mut scrape);
        }
        block.2.push_str(line);
        if name == "arize_exporter_build_info" && comment.is_none() {
            if let Some(rev) = label_value(content, "revision") {
                scrape.revision = rev;
            }
        }
    }
    for (name, series, text) in blocks {
        let family = scrape.families.entry(name.clone()).or_default();
        family.series += series;
        family.plain += text.len();
        family.gzip += deflated(text.as_bytes());
        if !scrape.order.contains(&name) {
            scrape.order.push(name);
        }
    }
    scrape
}

/// The labels of a sample line, unescaped: (name, value) pairs.
fn label_pairs(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let Some(open) = line.find('{') else {
        return pairs;
    };
    let mut chars = line[open + 1..].chars();
    loop {
        let mut name = String::new();
        for c in chars.by_ref() {
            match c {
                '=' => break,
                ',' | ' ' => {}
                '}' => return pairs,
                c => name.push(c),
            }
        }
        if chars.next() != Some('"') {
            return pairs;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return pairs,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        pairs.push((name, value));
    }
}

fn label_value(line: &str, label: &str) -> Option<String> {
    label_pairs(line)
        .into_iter()
        .find_map(|(n, v)| (n == label).then_some(v))
}

fn labels(line: &str, scrape: &mut Scrape) {
    let pairs = label_pairs(line);
    scrape.most_labels = scrape.most_labels.max(pairs.len());
    for (name, value) in pairs {
        if value.len() > scrape.longest_label_value.0 {
            scrape.longest_label_value = (value.len(), name);
        }
    }
}

/// `bytes` deflated on their own at level 2 (the exporter's kept segments).
fn deflated(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(2));
    if encoder.write_all(bytes).is_err() {
        return 0;
    }
    encoder.finish().map_or(0, |v| v.len())
}

/// Per task figures of one family in one variant: (series, plain, gzip),
/// by difference between the largest and smallest N (by division with one
/// N). `None` when the family is in no scrape of the variant.
fn per_task(costs: &Costs, variant: Variant, family: &str) -> Option<(f64, f64, f64)> {
    let scrapes: Vec<&Scrape> = costs
        .scrapes
        .iter()
        .filter(|((v, _), _)| *v == variant)
        .map(|(_, s)| s)
        .collect();
    let (first, last) = (scrapes.first()?, scrapes.last()?);
    if !scrapes.iter().any(|s| s.families.contains_key(family)) {
        return None;
    }
    let zero = Family::default();
    let a = first.families.get(family).unwrap_or(&zero);
    let b = last.families.get(family).unwrap_or(&zero);
    let f = |x: usize, y: usize| -> f64 {
        if last.tasks > first.tasks {
            (y as f64 - x as f64) / (last.tasks - first.tasks) as f64
        } else {
            y as f64 / last.tasks.max(1) as f64
        }
    };
    Some((
        f(a.series, b.series),
        f(a.plain, b.plain),
        f(a.gzip, b.gzip),
    ))
}

/// A family grows with the tasks if its series count at the largest N of a
/// variant is larger than at the smallest.
fn grows(costs: &Costs, family: &str) -> bool {
    [Variant::NoRuns, Variant::Runs].iter().any(|&v| {
        per_task(costs, v, family).is_some_and(|(series, plain, _)| series > 0.0 || plain > 0.5)
    })
}

fn cell(x: f64, decimals: usize) -> String {
    if x.abs() < 0.005 {
        "0".into()
    } else {
        format!("{x:.decimals$}")
    }
}

fn mib(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    }
}

/// The cost section of the report, Markdown.
pub fn report(costs: &Costs, command: &str) -> String {
    let mut out = String::new();
    let sizes: Vec<usize> = {
        let mut s: Vec<usize> = costs.scrapes.keys().map(|(_, n)| *n).collect();
        s.dedup();
        s.sort_unstable();
        s.dedup();
        s
    };
    let (Some(&smallest), Some(&largest)) = (sizes.first(), sizes.last()) else {
        return out;
    };
    let revision = costs
        .scrapes
        .values()
        .map(|s| s.revision.as_str())
        .find(|r| !r.is_empty())
        .unwrap_or("unknown");
    let date = costs
        .started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "### What a task costs: {}, exporter revision {revision}\n",
        &date[..date.len().min(10)]
    );
    let _ = writeln!(
        out,
        "Measured with `{command}` (started {date}): real scrapes of the release binary \
         after its first poll of `generated_tasks(N)` (the simulator), pages of 100."
    );
    let derived = if largest > smallest {
        format!(
            "by difference: (value at {largest} tasks - value at {smallest}) / {}, so the HELP \
             and TYPE lines and the fixed families count 0",
            largest - smallest
        )
    } else {
        format!("by division by {largest}")
    };
    let _ = writeln!(
        out,
        "Per task figures are derived {derived}. A family's gzip bytes: its block deflated on \
         its own at level 2 (as the exporter keeps it); the bodies are real scrapes (the gzip \
         one is the second gzip scrape after the poll).\n"
    );

    // Per family, per task.
    let mut names: Vec<String> = Vec::new();
    for scrape in costs.scrapes.values() {
        for name in &scrape.order {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    // Served order of the scrape with the most families first.
    if let Some(full) = costs.scrapes.values().max_by_key(|s| s.order.len()) {
        names.sort_by_key(|n| full.order.iter().position(|m| m == n).unwrap_or(usize::MAX));
    }
    // Families served without a series in any scrape (per-task families
    // no generated task has, such as `arize_task_last_run_unreadable`).
    let empty: Vec<&String> = names
        .iter()
        .filter(|n| {
            costs
                .scrapes
                .values()
                .all(|s| s.families.get(n.as_str()).is_none_or(|f| f.series == 0))
        })
        .collect();
    // Two tables, one per variant; the first one's header is the one
    // tests/integration/docs.rs finds in docs/metrics.md (its families
    // must be every per-task family served), so it is printed as is.
    for (variant, first_cell) in [
        (Variant::Runs, "family"),
        (Variant::NoRuns, "family, without run data"),
    ] {
        if !costs.scrapes.keys().any(|(v, _)| *v == variant) {
            continue;
        }
        let _ = writeln!(
            out,
            "{}:\n\n| {first_cell} | series per task | bytes per task, plain | bytes per task, gzip |",
            match variant {
                Variant::Runs => "With the runs of every task read (every family)",
                _ => "Without run data (`--task-runs false`, or before the runs are read)",
            }
        );
        let _ = writeln!(out, "|---|---:|---:|---:|");
        let mut total = [0.0f64; 3];
        for name in names.iter().filter(|n| grows(costs, n)) {
            let cells = match per_task(costs, variant, name) {
                Some((series, plain, gzip)) if series > 0.0 || plain > 0.5 => {
                    total[0] += series;
                    total[1] += plain;
                    total[2] += gzip;
                    [cell(series, 2), cell(plain, 1), cell(gzip, 1)]
                }
                _ => ["0 (not served)".into(), "0".into(), "0".into()],
            };
            let _ = writeln!(out, "| `{name}` | {} |", cells.join(" | "));
        }
        if variant == Variant::Runs {
            for name in &empty {
                let _ = writeln!(
                    out,
                    "| `{name}` | 0 (none of the generated tasks has one) | - | - |"
                );
            }
        }
        let _ = writeln!(
            out,
            "| **all of them** | {} | {} | {} |\n",
            cell(total[0], 2),
            cell(total[1], 1),
            cell(total[2], 1)
        );
    }
    // The families whose size does not grow with the tasks.
    let fixed: Vec<&String> = names
        .iter()
        .filter(|n| !grows(costs, n) && !empty.contains(n))
        .collect();
    if let Some(scrape) = costs.scrapes.get(&(Variant::Runs, largest)) {
        let (mut series, mut plain, mut gzip) = (0, 0, 0);
        for name in &fixed {
            if let Some(f) = scrape.families.get(name.as_str()) {
                series += f.series;
                plain += f.plain;
                gzip += f.gzip;
            }
        }
        let _ = writeln!(
            out,
            "Families of a fixed size whatever the number of tasks ({} families, at {largest} \
             tasks with runs read: {series} series, {plain} bytes plain, {gzip} gzip): {}.\n",
            fixed.len(),
            fixed
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // Whole bodies.
    let mut header = vec!["".to_owned()];
    header.extend(sizes.iter().map(|n| format!("{n} tasks")));
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(sizes.len()));
    let variants = [
        Variant::NoRuns,
        Variant::Runs,
        Variant::RunsLean,
        Variant::RunsCritical,
    ];
    for variant in variants {
        if !costs.scrapes.keys().any(|(v, _)| *v == variant) {
            continue;
        }
        let row = |what: &str, f: &dyn Fn(&Scrape) -> String| {
            let mut cells = vec![format!("{what}, {}", variant.describe())];
            cells.extend(
                sizes
                    .iter()
                    .map(|n| costs.scrapes.get(&(variant, *n)).map_or("-".into(), f)),
            );
            format!("| {} |\n", cells.join(" | "))
        };
        out.push_str(&row("series", &|s| s.series.to_string()));
        out.push_str(&row("body plain", &|s| {
            format!(
                "{} bytes ({}{})",
                s.body,
                mib(s.body),
                if s.body > VMAGENT_MAX_SCRAPE {
                    ", over 16 MiB"
                } else {
                    ""
                }
            )
        }));
        out.push_str(&row("body gzip", &|s| {
            format!("{} bytes ({})", s.gzip_body, mib(s.gzip_body))
        }));
    }
    let _ = writeln!(out);

    // What a scraper's limits see.
    let longest = costs
        .scrapes
        .values()
        .map(|s| &s.longest_label_value)
        .max_by_key(|(len, _)| *len)
        .cloned()
        .unwrap_or_default();
    let most_labels = costs
        .scrapes
        .values()
        .map(|s| s.most_labels)
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "- longest label value served: {} bytes (`{}`), most labels on one series: {most_labels} \
         (Prometheus' `label_value_length_limit` and `label_limit`)",
        longest.0, longest.1
    );
    for variant in variants {
        let per = |k: usize| -> Option<f64> {
            let (a, b) = (
                costs.scrapes.get(&(variant, smallest))?,
                costs.scrapes.get(&(variant, largest))?,
            );
            let x = [a.body, a.series, a.gzip_body][k] as f64;
            let y = [b.body, b.series, b.gzip_body][k] as f64;
            if largest > smallest {
                Some((y - x) / (largest - smallest) as f64)
            } else {
                Some(y / largest as f64)
            }
        };
        let (Some(bytes), Some(series), Some(gzip), Some(b)) = (
            per(0),
            per(1),
            per(2),
            costs.scrapes.get(&(variant, largest)),
        ) else {
            continue;
        };
        // What does not grow with the tasks, measured: the fixed and the
        // empty families as served at the largest N.
        let fixed: usize = b
            .families
            .iter()
            .filter(|(name, _)| !grows(costs, name))
            .map(|(_, f)| f.plain)
            .sum();
        let fixed = fixed as f64;
        let fits = if bytes >= 1.0 {
            format!(
                "up to about {:.0} tasks",
                ((VMAGENT_MAX_SCRAPE as f64 - fixed) / bytes).floor()
            )
        } else {
            "whatever the number of tasks".to_owned()
        };
        let _ = writeln!(
            out,
            "- {}: per task {bytes:.0} bytes plain, {gzip:.0} gzip, {series:.2} series (by \
             difference of the whole bodies), {fixed:.0} bytes in the families of fixed size; under vmagent's 16 MiB \
             {fits} (derived from those)",
            variant.describe()
        );
    }
    if let Some(list) = &costs.allowlist {
        let _ = writeln!(out, "- lean allowlist: `--metric-allowlist='{list}'`");
    }
    let _ = writeln!(
        out,
        "- critical-only allowlist: `--metric-allowlist='{CRITICAL_ALLOWLIST}'`"
    );
    out
}
