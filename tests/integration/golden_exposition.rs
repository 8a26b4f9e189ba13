//! The golden exposition: the whole `/metrics` body of a fixed scenario,
//! compared byte for byte with `tests/golden/*.prom`.
//!
//! The exporter is built in process (`App::build`, as the binary builds
//! it) against the simulated Arize API serving a hand-built set of tasks
//! whose times are all absolute; it polls once and the body is rendered at
//! a fixed clock ([`NOW`]), so every per-task value, every count, every
//! HELP and TYPE line, the order of the families and the order of the
//! labels are exact. Only Rust is needed (no promtool).
//!
//! A few values cannot be fixed; the normalisation rule ([`normalise`])
//! replaces the value of these samples, and only the value, with
//! [`PLACEHOLDER`]:
//! - every `process_*` sample (this process's CPU, memory, descriptors);
//! - `arize_exporter_last_success_timestamp_seconds` and
//!   `arize_exporter_names_last_success_timestamp_seconds` (the wall clock
//!   at the end of the poll, of a names read);
//! - the `_sum` and `_bucket` samples of every histogram (durations of
//!   requests and polls: their `_count` stays exact);
//! - `arize_exporter_build_info`'s `revision` and `version` label values
//!   (the commit and the crate version).
//!
//! To change the exposition on purpose, regenerate the golden files and
//! review their diff like code:
//!
//! ```sh
//! ARIZE_UPDATE_GOLDEN=1 cargo test --test integration golden_exposition
//! git diff tests/golden/
//! ```
//!
//! (A test name after `golden_exposition::` regenerates that file only.)

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use arize_exporter::app::App;
use arize_exporter::config::Settings;
use arize_sim::{SimRun, SimTask, Simulator};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

/// The clock of the scrape: 2026-03-01T15:00:00Z.
const NOW: u64 = 1_772_377_200;

/// What a value that cannot be fixed is replaced with.
const PLACEHOLDER: &str = "<normalised>";

/// The tasks: every type, continuous and one-off, never run, runs read
/// (completed, failed with a reason, running, cancelled), an unreadable
/// `last_run_at`, a mistyped field, a task without id, a label value that
/// needs escaping, and spaces for the filtered variant.
fn scenario() -> Vec<SimTask> {
    let at = |t: OffsetDateTime| Some(t);
    vec![
        // Continuous, ran 30 min ago, runs every 10 min, newest completed.
        SimTask::new(
            "task-completed",
            "Hallucination \"live\"\\check",
            "TEMPLATE_EVALUATION",
            true,
            at(datetime!(2026-03-01 14:30:00 UTC)),
        )
        .with_runs(vec![
            SimRun::completed(datetime!(2026-03-01 14:28:00 UTC), 970, 20, 10),
            SimRun::completed(datetime!(2026-03-01 14:18:00 UTC), 1000, 0, 0),
            SimRun::completed(datetime!(2026-03-01 14:08:00 UTC), 990, 5, 5),
        ])
        .in_space("space-a", "Production"),
        // Continuous, last run failed, stale (ran 3 h ago).
        SimTask::new(
            "task-failed",
            "QA correctness",
            "CODE_EVALUATION",
            true,
            at(datetime!(2026-03-01 12:00:00 UTC)),
        )
        .with_runs(vec![
            SimRun::failed(
                datetime!(2026-03-01 11:58:00 UTC),
                "evaluator timed out\nafter 3 retries",
            ),
            SimRun::completed(datetime!(2026-03-01 11:00:00 UTC), 500, 1, 2),
        ])
        .in_space("space-a", "Production"),
        // One-off, its newest run still running after a completed one.
        SimTask::new(
            "task-running",
            "Experiment sweep",
            "RUN_EXPERIMENT",
            false,
            at(datetime!(2026-03-01 14:55:00 UTC)),
        )
        .with_runs(vec![
            SimRun::running(datetime!(2026-03-01 14:55:00 UTC)),
            SimRun::completed(datetime!(2026-03-01 13:00:00 UTC), 40, 0, 0),
        ])
        .in_space("space-b", "Staging"),
        // One-off, its only run cancelled.
        SimTask::new(
            "task-cancelled",
            "Toxicity backfill",
            "CODE_EVALUATION",
            false,
            at(datetime!(2026-02-28 09:00:00 UTC)),
        )
        .with_runs(vec![SimRun::cancelled(
            datetime!(2026-02-28 08:59:00 UTC),
            "cancelled by user",
        )])
        .in_space("space-b", "Staging"),
        // Continuous, never ran: stale, no run families.
        SimTask::new("task-never", "Relevance", "TEMPLATE_EVALUATION", true, None)
            .in_space("space-a", "Production"),
        // One-off, never ran.
        SimTask::new(
            "task-never-oneoff",
            "JSON validity",
            "RUN_EXPERIMENT",
            false,
            None,
        )
        .in_space("space-b", "Staging"),
        // An unreadable last_run_at and a mistyped sampling rate.
        SimTask::new(
            "task-unreadable",
            "Prompt regression",
            "TEMPLATE_EVALUATION",
            true,
            at(datetime!(2026-03-01 14:00:00 UTC)),
        )
        .with_field("last_run_at", json!("yesterday"))
        .with_field("sampling_rate", json!("half"))
        .in_space("space-a", "Production"),
        // A task of a type the API does not document.
        SimTask::new(
            "task-new-kind",
            "Latency budget",
            "BRAND_NEW_KIND",
            false,
            at(datetime!(2026-03-01 10:00:00 UTC)),
        )
        .with_runs(vec![SimRun::completed(
            datetime!(2026-03-01 09:59:00 UTC),
            7,
            0,
            0,
        )])
        .in_space("space-b", "Staging"),
        // No id: counted, but no per-task series.
        SimTask::new(
            "task-no-id",
            "Anonymous",
            "CODE_EVALUATION",
            true,
            at(datetime!(2026-03-01 14:40:00 UTC)),
        )
        .without_field("id")
        .in_space("space-a", "Production"),
    ]
}

/// Polls the scenario once with `extra` flags and renders the body at [`NOW`].
async fn body(extra: &[&str]) -> String {
    let sim = Simulator::start(scenario())
        .await
        .expect("the simulator starts");
    let url = sim.base_url();
    let mut args = vec![
        "arize-exporter",
        "--api-url",
        &url,
        "--api-key",
        "golden-key-0123456789",
        "--max-requests-per-second",
        "1000",
        "--request-timeout",
        "5s",
    ];
    args.extend_from_slice(extra);
    let settings = match Settings::from_args(args) {
        Ok(settings) => settings,
        Err(e) => panic!("settings: {e:?}"),
    };
    let mut app = App::build(settings).await.expect("the app builds");
    if let Err(e) = app.poll_once().await {
        panic!("the poll failed: {e}");
    }
    let body = app
        .exposition(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW))
        .into_string();
    sim.shutdown().await;
    body
}

/// Histograms of the exporter's own registry: their `_sum` and `_bucket`
/// samples are durations.
fn histograms(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" histogram"))
        .map(str::to_owned)
        .collect()
}

/// Applies the rule of the module's doc: the values that cannot be fixed
/// become [`PLACEHOLDER`]; everything else is kept byte for byte.
fn normalise(body: &str) -> String {
    let histograms = histograms(body);
    let mut out = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        let text = line.strip_suffix('\n').unwrap_or(line);
        if text.starts_with('#') || text.is_empty() {
            out.push_str(line);
            continue;
        }
        let name = text.split(['{', ' ']).next().unwrap_or_default();
        let timing = histograms.iter().any(|h| {
            name.strip_prefix(h.as_str())
                .is_some_and(|rest| rest == "_sum" || rest == "_bucket")
        });
        let mut text = text.to_owned();
        if name == "arize_exporter_build_info" {
            for label in ["revision", "version"] {
                text = replace_label(&text, label);
            }
        }
        if name.starts_with("process_")
            || name == "arize_exporter_last_success_timestamp_seconds"
            || name == "arize_exporter_names_last_success_timestamp_seconds"
            || timing
        {
            if let Some((series, _value)) = text.rsplit_once(' ') {
                text = format!("{series} {PLACEHOLDER}");
            }
        }
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// `text` with the value of label `name` replaced by [`PLACEHOLDER`].
fn replace_label(text: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    let Some(start) = text.find(&key).map(|k| k + key.len()) else {
        return text.to_owned();
    };
    let Some(len) = text[start..].find('"') else {
        return text.to_owned();
    };
    format!("{}{PLACEHOLDER}{}", &text[..start], &text[start + len..])
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file `name`, or rewrites the file
/// when `ARIZE_UPDATE_GOLDEN` is set. On a difference, panics with the
/// first line that differs, both versions and their line number.
fn check(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("ARIZE_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("tests/golden");
        std::fs::write(&path, actual).expect("the golden file is written");
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; generate it with ARIZE_UPDATE_GOLDEN=1 cargo test --test integration golden_exposition",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let (mut want, mut got) = (expected.split_inclusive('\n'), actual.split_inclusive('\n'));
    let mut line = 1;
    loop {
        match (want.next(), got.next()) {
            (Some(w), Some(g)) if w == g => line += 1,
            (w, g) => {
                let column = match (w, g) {
                    (Some(w), Some(g)) => {
                        w.bytes().zip(g.bytes()).take_while(|(a, b)| a == b).count() + 1
                    }
                    _ => 1,
                };
                panic!(
                    "{} differs from the exposition at line {line}, column {column}:\n\
                     - golden:   {:?}\n\
                     + rendered: {:?}\n\
                     (golden {} bytes, rendered {} bytes; if the change is intended: \
                     ARIZE_UPDATE_GOLDEN=1 cargo test --test integration golden_exposition)",
                    path.display(),
                    w.unwrap_or("<end of file>"),
                    g.unwrap_or("<end of body>"),
                    expected.len(),
                    actual.len(),
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_of_a_fixed_scenario_is_the_golden_one() {
    let body = body(&[]).await;
    check("exposition.prom", &normalise(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_with_space_filters_is_the_golden_one() {
    let body = body(&["--space-id", "space-a,space-b"]).await;
    check("exposition_by_space.prom", &normalise(&body));
}

/// The families the denylist scenario drops: per-task families of both
/// sources (a pattern and a name) and a count family.
const DENIED: &str = "arize_task_last_run_.*,arize_task_sampling_rate,arize_tasks_never_run";

/// `body` without the families whose name `denied` says (their HELP, TYPE
/// and sample lines).
fn without_families(body: &str, denied: impl Fn(&str) -> bool) -> String {
    body.split_inclusive('\n')
        .filter(|line| {
            let text = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .unwrap_or(line);
            !denied(text.split(['{', ' ', '\n']).next().unwrap_or_default())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_with_a_denylist_is_the_golden_one() {
    let denied = body(&["--metric-denylist", DENIED]).await;
    let denied = normalise(&denied);
    check("exposition_denylist.prom", &denied);
    // Exactly the full body without the denied families: nothing else moves.
    let full = normalise(&body(&[]).await);
    let is_denied = |name: &str| {
        name.starts_with("arize_task_last_run_")
            || name == "arize_task_sampling_rate"
            || name == "arize_tasks_never_run"
    };
    assert_eq!(denied, without_families(&full, is_denied));
    assert!(full.len() > denied.len() && denied.contains("arize_task_info{"));
}

#[test]
fn normalising_keeps_everything_but_the_values_that_cannot_be_fixed() {
    let body = "# HELP x_seconds h\n# TYPE x_seconds histogram\n\
                x_seconds_bucket{le=\"0.1\"} 3\nx_seconds_sum 0.25\nx_seconds_count 3\n\
                process_open_fds 12\narize_up 1\n\
                arize_exporter_build_info{revision=\"abc\",version=\"1.2.3\",rustversion=\"1.85\"} 1\n";
    assert_eq!(
        normalise(body),
        "# HELP x_seconds h\n# TYPE x_seconds histogram\n\
         x_seconds_bucket{le=\"0.1\"} <normalised>\nx_seconds_sum <normalised>\nx_seconds_count 3\n\
         process_open_fds <normalised>\narize_up 1\n\
         arize_exporter_build_info{revision=\"<normalised>\",version=\"<normalised>\",rustversion=\"1.85\"} 1\n"
    );
}
