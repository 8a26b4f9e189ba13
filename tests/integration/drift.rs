//! Drift of the upstream API, kind by kind, against real servers on
//! loopback: every task field of an unexpected JSON type, list elements that
//! are not objects, placeholder and far-future timestamps, a byte order
//! mark and the envelope failures (SPEC section 4); redirects (SPEC section
//! 3). Each test asserts the exact metrics and the reason counted. TLS
//! certificate errors, against `openssl s_server`, are in the tools suite
//! (`tests/tools/drift.rs`).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arize_exporter::arize::FailureReason;
use arize_sim::{Scripted, SimTask, Simulator};
use serde_json::{json, Value};
use support::exporter::*;
use support::logs::Logs;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A 200 labelled `application/json` with `body` verbatim.
fn raw(body: impl Into<Vec<u8>>) -> Scripted {
    Scripted::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

/// The names of the series of the task `id`, sorted.
fn series_names(s: &Scrape, id: &str) -> Vec<String> {
    let mut names: Vec<String> = s.task_series(id).iter().map(|x| x.name.clone()).collect();
    names.sort();
    names
}

/// Samples as comparable keys: name, labels and the value's text.
type SampleKey = (String, BTreeMap<String, String>, String);

fn keys<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> BTreeSet<SampleKey> {
    samples
        .into_iter()
        .map(|s| (s.name.clone(), s.labels.clone(), s.value.to_string()))
        .collect()
}

/// Every sample of `family`, keyed.
fn family(s: &Scrape, name: &str) -> BTreeSet<SampleKey> {
    keys(s.find(name, &[]))
}

// ---------------------------------------------------------------------------
// Every task field, of every wrong JSON type
// ---------------------------------------------------------------------------

/// Every field of a task the exporter reads.
const FIELDS: [&str; 12] = [
    "id",
    "name",
    "type",
    "project_id",
    "dataset_id",
    "sampling_rate",
    "is_continuous",
    "evaluators",
    "last_run_at",
    "created_at",
    "updated_at",
    "created_by_user_id",
];

/// Values of a JSON type the field does not have, each with a short name
/// (used in the subject task's id).
fn wrong_values(field: &str) -> Vec<(&'static str, Value)> {
    let list = ("list", json!(["a", 1, {"x": null}]));
    let empty_list = ("empty-list", json!([]));
    let object = ("object", json!({"value": "x", "nested": [1, 2]}));
    let empty_object = ("empty-object", json!({}));
    let bool_true = ("bool", json!(true));
    match field {
        "sampling_rate" => vec![
            ("string", json!("0.5")),
            bool_true,
            ("list", json!([0.5])),
            object,
            empty_object,
        ],
        "is_continuous" => vec![
            ("number", json!(1)),
            ("string", json!("true")),
            ("list", json!([true])),
            object,
        ],
        "evaluators" => vec![
            ("number", json!(3)),
            ("bool", json!(false)),
            ("string", json!("many")),
            object,
            empty_object,
        ],
        "last_run_at" | "created_at" | "updated_at" => vec![
            ("epoch-seconds", json!(1_772_375_400)),
            ("float", json!(1.5)),
            bool_true,
            ("list", json!(["2026-03-01T14:30:00Z"])),
            object,
        ],
        // The string fields.
        _ => vec![
            ("number", json!(7)),
            ("float", json!(-0.25)),
            bool_true,
            list,
            empty_list,
            object,
        ],
    }
}

/// The well-formed tasks around the subjects, one of each type.
fn bystanders(ran: time::OffsetDateTime) -> Vec<SimTask> {
    vec![
        SimTask::new(
            "ok-template",
            "Hallucination",
            "TEMPLATE_EVALUATION",
            true,
            Some(ran),
        ),
        SimTask::new("ok-code", "JSON check", "CODE_EVALUATION", false, Some(ran)),
        SimTask::new("ok-run", "Experiment", "RUN_EXPERIMENT", false, Some(ran)),
    ]
}

/// A continuous template task with every field the exporter reads set.
fn subject(id: &str, ran: time::OffsetDateTime) -> SimTask {
    SimTask::new(
        id,
        &format!("subject {id}"),
        "TEMPLATE_EVALUATION",
        true,
        Some(ran),
    )
    .with_field("dataset_id", json!("RGF0YXNldDox"))
}

/// The series a subject whose `field` is unusable must have, from those of
/// the same task well-formed: only the series that need the field go, and
/// the labels it gives become empty (or `unknown`, `one_off`).
fn expected_series(field: &str, well_formed: &[&Sample]) -> BTreeSet<SampleKey> {
    let mut out = BTreeSet::new();
    if field == "id" {
        return out; // no id: counted, but no per-task series at all
    }
    let mut plain_labels = None;
    for sample in well_formed {
        let mut s = (*sample).clone();
        let dropped: &[&str] = match field {
            "sampling_rate" => &["arize_task_sampling_rate"],
            "evaluators" => &["arize_task_evaluators", "arize_task_evaluator_info"],
            "created_at" => &["arize_task_created_timestamp_seconds"],
            "updated_at" => &["arize_task_updated_timestamp_seconds"],
            // Counted as one-off: a threshold is for continuous tasks only.
            "is_continuous" => &["arize_task_stale_threshold_seconds"],
            "last_run_at" => &[
                "arize_task_last_run_timestamp_seconds",
                "arize_task_seconds_since_last_run",
            ],
            _ => &[],
        };
        if dropped.contains(&s.name.as_str()) {
            continue;
        }
        // The per-task labels change on the series that have them (not on
        // arize_task_evaluator_info, which has task_id only).
        let mut set = |label: &str, value: &str| {
            if let Some(v) = s.labels.get_mut(label) {
                *v = value.to_owned();
            }
        };
        match field {
            "name" => set("task_name", ""),
            "type" => set("task_type", "unknown"),
            "is_continuous" => set("mode", "one_off"),
            "project_id" | "dataset_id" | "created_by_user_id" if s.name == "arize_task_info" => {
                set(field, "");
                // Without its id, the task's project (or dataset) has no
                // name; its space is then its dataset's (or project's).
                match field {
                    "project_id" => set("project_name", ""),
                    "dataset_id" => set("dataset_name", ""),
                    _ => {}
                }
            }
            _ => {}
        }
        if s.name == "arize_task_evaluators" {
            plain_labels = Some(s.labels.clone());
        }
        out.extend(keys([&s]));
    }
    if field == "last_run_at" {
        // Sent but unusable: the last run is unknown (neither never-run nor stale).
        let labels = plain_labels.expect("the subject has an evaluators series");
        out.insert(("arize_task_last_run_unreadable".into(), labels, "1".into()));
    }
    out
}

#[tokio::test]
async fn every_field_of_every_wrong_json_type_costs_only_that_field() {
    let ran = time::OffsetDateTime::now_utc() - time::Duration::seconds(90);
    let now = SystemTime::now() + Duration::from_secs(5);
    for field in FIELDS {
        let kinds = wrong_values(field);
        let ids: Vec<String> = kinds.iter().map(|(k, _)| format!("bad-{k}")).collect();

        // The same tasks, well-formed: what every series must be otherwise.
        let mut tasks = bystanders(ran);
        tasks.extend(ids.iter().map(|id| subject(id, ran)));
        let mut baseline = Harness::new(tasks, &["--task-runs", "false"]).await;
        baseline.poll_ok().await;
        let base = baseline.scrape_at(now);

        let mut tasks = bystanders(ran);
        for (id, (_, value)) in ids.iter().zip(&kinds) {
            tasks.push(subject(id, ran).with_field(field, value.clone()));
        }
        let (logs, _guard) = Logs::capture();
        let mut h = Harness::new(tasks, &["--task-runs", "false"]).await;
        for _ in 0..3 {
            h.poll_ok().await;
        }
        let s = h.scrape_at(now);
        assert_eq!(s.value("arize_up", &[]), 1.0, "{field}");
        assert_eq!(s.polls("success"), 3.0, "{field}");
        assert_eq!(poll_errors(&s), only_errors("decode", 0.0), "{field}");
        assert_eq!(requests_with(&s, "200"), 3.0, "{field}");

        // The well-formed tasks are served exactly as without the subjects' drift.
        for id in ["ok-template", "ok-code", "ok-run"] {
            assert_eq!(
                keys(s.task_series(id)),
                keys(base.task_series(id)),
                "{field}: {id}"
            );
        }
        // Each subject keeps every series but those that need the field.
        for id in &ids {
            let expected = expected_series(field, &base.task_series(id));
            assert_eq!(keys(s.task_series(id)), expected, "{field}: {id}");
        }
        let expected_ids: BTreeSet<String> = if field == "id" {
            ["ok-code", "ok-run", "ok-template"]
                .map(String::from)
                .into()
        } else {
            info_ids(&base)
        };
        assert_eq!(info_ids(&s), expected_ids, "{field}");

        // The counts: every subject still counted, moved where the field says.
        let n = ids.len() as f64;
        let (to_type, to_mode) = match field {
            "type" => ("unknown", "continuous"),
            "is_continuous" => ("template_evaluation", "one_off"),
            _ => ("template_evaluation", "continuous"),
        };
        let mut tasks_expected: BTreeMap<(String, String), f64> = base
            .find("arize_tasks", &[])
            .iter()
            .map(|x| {
                (
                    (x.labels["task_type"].clone(), x.labels["mode"].clone()),
                    x.value,
                )
            })
            .collect();
        *tasks_expected
            .get_mut(&("template_evaluation".into(), "continuous".into()))
            .unwrap() -= n;
        *tasks_expected
            .entry((to_type.into(), to_mode.into()))
            .or_default() += n;
        let tasks_served: BTreeMap<(String, String), f64> = s
            .find("arize_tasks", &[])
            .iter()
            .map(|x| {
                (
                    (x.labels["task_type"].clone(), x.labels["mode"].clone()),
                    x.value,
                )
            })
            .collect();
        assert_eq!(tasks_served, tasks_expected, "{field}");
        for (name, count_of) in [
            ("arize_tasks_never_run", 0.0),
            (
                "arize_tasks_last_run_unreadable",
                if field == "last_run_at" { n } else { 0.0 },
            ),
        ] {
            let served: BTreeMap<(String, String), f64> = s
                .find(name, &[])
                .iter()
                .map(|x| {
                    (
                        (x.labels["task_type"].clone(), x.labels["mode"].clone()),
                        x.value,
                    )
                })
                .collect();
            let expected: BTreeMap<(String, String), f64> = tasks_expected
                .keys()
                .map(|k| {
                    let at = *k == (to_type.to_owned(), to_mode.to_owned());
                    (k.clone(), if at { count_of } else { 0.0 })
                })
                .collect();
            assert_eq!(served, expected, "{field}: {name}");
        }
        let mut stale_types = vec!["code_evaluation", "run_experiment", "template_evaluation"];
        if field == "type" {
            stale_types.push("unknown");
        }
        let stale: BTreeMap<String, f64> = s
            .find("arize_tasks_stale", &[])
            .iter()
            .map(|x| (x.labels["task_type"].clone(), x.value))
            .collect();
        assert_eq!(
            stale,
            stale_types
                .iter()
                .map(|t| ((*t).to_owned(), 0.0))
                .collect::<BTreeMap<_, _>>(),
            "{field}: nothing is stale"
        );

        // One warning per task and field, over three polls.
        let warnings = logs.field_warnings();
        let mut expected_warnings: Vec<(String, String)> = if field == "id" {
            // Tasks without an id cannot be told apart: one warning for them all.
            vec![("(none)".into(), "id".into())]
        } else {
            ids.iter()
                .map(|id| (id.clone(), field.to_owned()))
                .collect()
        };
        let mut sorted = warnings.clone();
        sorted.sort();
        expected_warnings.sort();
        assert_eq!(sorted, expected_warnings, "{field}");
    }
}

// ---------------------------------------------------------------------------
// List elements that are not objects
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_elements_that_are_not_objects_are_skipped_with_a_warning() {
    let (logs, _guard) = Logs::capture();
    let mut h = Harness::new(vec![], &[]).await;
    let body = json!({
        "tasks": [
            {"id": "a", "name": "first", "type": "CODE_EVALUATION", "is_continuous": false,
             "sampling_rate": 0.5, "evaluators": [{}], "last_run_at": null},
            null,
            "b",
            3,
            2.5,
            true,
            [{"id": "inside-a-list", "type": "CODE_EVALUATION"}],
            {"id": "c", "name": "last", "type": "TEMPLATE_EVALUATION", "is_continuous": true,
             "last_run_at": null}
        ],
        "pagination": {"has_more": false}
    });
    h.sim.push(raw(body.to_string()));
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(
        info_ids(&s),
        BTreeSet::from(["a".to_owned(), "c".to_owned()])
    );
    assert_eq!(s.total_tasks(), 2.0, "the skipped elements are not counted");
    assert_eq!(
        series_names(&s, "a"),
        [
            "arize_task_evaluators",
            "arize_task_info",
            "arize_task_sampling_rate"
        ]
    );
    assert_eq!(s.task_value("arize_task_sampling_rate", "a"), 0.5);
    assert_eq!(
        s.value(
            "arize_tasks_never_run",
            &[("task_type", "template_evaluation"), ("mode", "continuous")]
        ),
        1.0
    );
    assert_eq!(poll_errors(&s), only_errors("decode", 0.0));
    let skipped: Vec<String> = logs
        .with_message("an element of the list is not an object; skipped")
        .iter()
        .map(|e| {
            assert_eq!(e["level"], "WARN");
            assert_eq!(e["list"], "tasks");
            e["element"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        skipped,
        ["null", "a string", "a number", "a number", "a bool", "a list"]
    );
}

// ---------------------------------------------------------------------------
// Timestamps: placeholders and the far future
// ---------------------------------------------------------------------------

#[tokio::test]
async fn placeholder_timestamps_are_absent_and_a_placeholder_last_run_never_ran() {
    let (logs, _guard) = Logs::capture();
    let ran = time::OffsetDateTime::now_utc() - time::Duration::seconds(60);
    let tasks = vec![
        SimTask::new("never", "n", "TEMPLATE_EVALUATION", true, None)
            .with_field("last_run_at", json!("0001-01-01T00:00:00Z")),
        SimTask::new("never-oneoff", "o", "CODE_EVALUATION", false, None)
            .with_field("last_run_at", json!("1969-12-31T23:59:59.999Z")),
        SimTask::new("no-dates", "d", "RUN_EXPERIMENT", false, Some(ran))
            .with_field("created_at", json!("0001-01-01T00:00:00Z"))
            .with_field("updated_at", json!("0001-01-01T00:00:00+02:00")),
    ];
    let mut h = Harness::new(tasks, &["--task-runs", "false"]).await;
    h.poll_ok().await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0);
    for (id, continuous) in [("never", true), ("never-oneoff", false)] {
        let mut expected = vec![
            "arize_task_created_timestamp_seconds",
            "arize_task_evaluator_info",
            "arize_task_evaluators",
            "arize_task_info",
            "arize_task_sampling_rate",
        ];
        // A continuous task that never ran has its (--stale-after) threshold.
        if continuous {
            expected.push("arize_task_stale_threshold_seconds");
        }
        expected.push("arize_task_updated_timestamp_seconds");
        assert_eq!(
            series_names(&s, id),
            expected,
            "{id}: no last-run series, never exported as 0"
        );
    }
    assert_eq!(
        series_names(&s, "no-dates"),
        [
            "arize_task_evaluator_info",
            "arize_task_evaluators",
            "arize_task_info",
            "arize_task_last_run_timestamp_seconds",
            "arize_task_sampling_rate",
            "arize_task_seconds_since_last_run"
        ]
    );
    let never =
        |t: &str, m: &str| s.value("arize_tasks_never_run", &[("task_type", t), ("mode", m)]);
    assert_eq!(never("template_evaluation", "continuous"), 1.0);
    assert_eq!(never("code_evaluation", "one_off"), 1.0);
    assert_eq!(never("run_experiment", "one_off"), 0.0);
    assert_eq!(
        s.value("arize_tasks_stale", &[("task_type", "template_evaluation")]),
        1.0,
        "a continuous task that never ran is stale"
    );
    assert_eq!(
        s.find("arize_tasks_last_run_unreadable", &[])
            .iter()
            .map(|x| x.value)
            .sum::<f64>(),
        0.0,
        "a placeholder is not an unreadable time"
    );
    assert_eq!(
        logs.field_warnings(),
        [],
        "a placeholder is a known convention, not a fault"
    );
}

#[tokio::test]
async fn far_future_timestamps_are_kept_and_the_age_is_clamped_at_zero() {
    let tasks = vec![
        SimTask::new("future", "f", "TEMPLATE_EVALUATION", true, None)
            .with_field("last_run_at", json!("9999-12-31T23:59:59Z"))
            .with_field("created_at", json!("9999-12-31T23:59:59.999+00:00"))
            .with_field("updated_at", json!("3000-01-01T00:00:00-05:00")),
    ];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(
        s.task_value("arize_task_last_run_timestamp_seconds", "future"),
        253_402_300_799.0
    );
    assert_eq!(
        s.task_value("arize_task_seconds_since_last_run", "future"),
        0.0
    );
    assert_eq!(
        s.task_value("arize_task_created_timestamp_seconds", "future"),
        253_402_300_799.999
    );
    assert_eq!(
        s.task_value("arize_task_updated_timestamp_seconds", "future"),
        32_503_698_000.0
    );
    let labels = [("task_type", "template_evaluation"), ("mode", "continuous")];
    assert_eq!(s.value("arize_tasks_never_run", &labels), 0.0);
    assert_eq!(
        s.value("arize_tasks_stale", &[("task_type", "template_evaluation")]),
        0.0
    );
    // Ages stay clamped whatever the scrape time.
    let later = h.scrape_at(SystemTime::now() + Duration::from_secs(86_400 * 365));
    assert_eq!(
        later.task_value("arize_task_seconds_since_last_run", "future"),
        0.0
    );
}

// ---------------------------------------------------------------------------
// A byte order mark
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_leading_byte_order_mark_is_ignored() {
    let page = json!({
        "tasks": [{"id": "bom", "name": "marked", "type": "CODE_EVALUATION",
                   "is_continuous": false, "sampling_rate": 0.25}],
        "pagination": {"has_more": false}
    })
    .to_string();
    let mut h = Harness::new(vec![], &["--max-retries", "0"]).await;
    for prefix in ["\u{feff}", "\u{feff}\n  "] {
        h.sim.push(raw(format!("{prefix}{page}")));
        h.poll_ok().await;
        let s = h.scrape();
        assert_eq!(s.value("arize_up", &[]), 1.0, "{prefix:?}");
        assert_eq!(
            series_names(&s, "bom"),
            ["arize_task_info", "arize_task_sampling_rate"]
        );
        assert_eq!(s.task_value("arize_task_sampling_rate", "bom"), 0.25);
    }
    // Only at the very start: anywhere else it is not JSON.
    h.sim.push(raw(format!(" \u{feff}{page}")));
    h.poll_fails_with(FailureReason::Decode).await;
    let s = h.scrape();
    assert_eq!(poll_errors(&s), only_errors("decode", 1.0));
    assert_eq!(s.polls("success"), 2.0);
    assert_eq!(info_ids(&s), BTreeSet::from(["bom".to_owned()]));
}

// ---------------------------------------------------------------------------
// The envelope still decides `decode`
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_envelope_fails_the_poll_with_decode_and_keeps_the_last_snapshot() {
    let ran = time::OffsetDateTime::now_utc() - time::Duration::seconds(60);
    let mut h = Harness::new(bystanders(ran), &["--max-retries", "3"]).await;
    h.poll_ok().await;
    let good = h.scrape();
    let last_success = good.value("arize_exporter_last_success_timestamp_seconds", &[]);
    let task = json!({"id": "new", "type": "CODE_EVALUATION"});
    let envelopes = [
        // `tasks` not a list, or missing.
        json!({"tasks": {"0": task}, "pagination": {"has_more": false}}),
        json!({"tasks": "none", "pagination": {"has_more": false}}),
        json!({"tasks": 3, "pagination": {"has_more": false}}),
        json!({"tasks": null, "pagination": {"has_more": false}}),
        json!({"pagination": {"has_more": false}}),
        // `pagination` missing or mistyped.
        json!({"tasks": [task]}),
        json!({"tasks": [task], "pagination": null}),
        json!({"tasks": [task], "pagination": [false]}),
        json!({"tasks": [task], "pagination": [false, null]}),
        json!({"tasks": [task], "pagination": "done"}),
        // `has_more` missing or mistyped.
        json!({"tasks": [task], "pagination": {}}),
        json!({"tasks": [task], "pagination": {"next_cursor": "c"}}),
        json!({"tasks": [task], "pagination": {"has_more": "false"}}),
        json!({"tasks": [task], "pagination": {"has_more": 0}}),
        json!({"tasks": [task], "pagination": {"has_more": null}}),
        // `next_cursor` not a string.
        json!({"tasks": [task], "pagination": {"has_more": true, "next_cursor": 2}}),
        json!({"tasks": [task], "pagination": {"has_more": false, "next_cursor": {"c": 1}}}),
        json!({"tasks": [task], "pagination": {"has_more": true, "next_cursor": ["c"]}}),
        // Not an object at all, even in the order of the fields.
        json!([[task], {"has_more": false}]),
        json!([task]),
        json!(null),
    ];
    let mut bodies: Vec<Vec<u8>> = envelopes.iter().map(|e| e.to_string().into()).collect();
    // Not JSON.
    bodies.push(b"<html>maintenance</html>".to_vec());
    bodies.push(br#"{"tasks":[],"pagination":{"has_more":false}"#.to_vec());
    bodies.push(Vec::new());
    for (n, body) in bodies.iter().enumerate() {
        h.sim.push(raw(body.clone()));
        let what = String::from_utf8_lossy(body);
        let err = match h.poll().await {
            Err(err) if err.reason == FailureReason::Decode => err,
            other => panic!("{what}: {other:?}"),
        };
        assert!(err.message.contains("/v2/tasks"), "{what}: {err}");
        let s = h.scrape();
        assert_eq!(s.value("arize_up", &[]), 0.0, "{what}");
        assert_eq!(
            poll_errors(&s),
            only_errors("decode", (n + 1) as f64),
            "{what}"
        );
        assert_eq!(
            requests_with(&s, "200"),
            (n + 2) as f64,
            "{what}: decode is not retried"
        );
        // The previous snapshot is still served, exactly.
        assert_eq!(info_ids(&s), info_ids(&good), "{what}");
        for id in ["ok-template", "ok-code", "ok-run"] {
            assert_eq!(
                series_names(&s, id),
                series_names(&good, id),
                "{what}: {id}"
            );
        }
        assert_eq!(
            family(&s, "arize_tasks"),
            family(&good, "arize_tasks"),
            "{what}"
        );
        assert_eq!(
            s.value("arize_exporter_last_success_timestamp_seconds", &[]),
            last_success
        );
    }
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(s.polls("failure"), bodies.len() as f64);
}

// ---------------------------------------------------------------------------
// Redirects are never followed
// ---------------------------------------------------------------------------

/// A listener that counts the connections it accepts and answers each
/// with `answer` (a whole HTTP response), on its own thread.
struct CountingServer {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl CountingServer {
    fn start(answer: String) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        CountingServer { url, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn answer(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{extra_headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_fails_as_client_error() {
    // The target answers as a host that does not know the key would.
    let target = CountingServer::start(answer(
        "401 Unauthorized",
        "",
        r#"{"title":"Unauthorized","detail":"no key"}"#,
    ));
    for (status, location) in [
        ("301 Moved Permanently", format!("{}/v2/tasks", target.url)),
        ("302 Found", format!("{}/v2/tasks?limit=100", target.url)),
        ("307 Temporary Redirect", format!("{}/v2/tasks", target.url)),
        (
            "308 Permanent Redirect",
            format!("{}/other/path", target.url),
        ),
    ] {
        let code = &status[..3];
        let redirector =
            CountingServer::start(answer(status, &format!("Location: {location}\r\n"), ""));
        let sim = Simulator::start(vec![]).await.expect("simulator");
        let (logs, _guard) = Logs::capture();
        let mut h = Harness::with_url(sim, &redirector.url, &["--max-retries", "3"]).await;
        let err = h.poll_fails_with(FailureReason::ClientError).await;
        assert!(
            err.message.contains(&format!("HTTP {code}")) && err.message.contains(&location),
            "{status}: the error names the status and the Location: {err}"
        );
        assert_eq!(
            target.connections(),
            0,
            "{status}: the target was contacted"
        );
        assert_eq!(
            redirector.connections(),
            1,
            "{status}: a 3xx is not retried"
        );
        let s = h.scrape();
        assert_eq!(
            poll_errors(&s),
            only_errors("client_error", 1.0),
            "{status}"
        );
        assert_eq!(requests_with(&s, code), 1.0, "{status}");
        assert_eq!(all_requests(&s), 1.0, "{status}");
        assert_eq!(s.value("arize_up", &[]), 0.0);
        // The request's log line names both too.
        let logged = logs.with_message("API request failed");
        assert_eq!(logged.len(), 1, "{status}: {logged:?}");
        let line = logged[0]["error"].as_str().unwrap_or_default();
        assert!(
            line.starts_with("client_error: ") && line.contains(code) && line.contains(&location),
            "{status}: {line}"
        );
    }
}

#[tokio::test]
async fn the_binary_names_the_redirect_status_and_location_in_its_one_line_reason() {
    let target = CountingServer::start(answer(
        "200 OK",
        "",
        r#"{"tasks":[],"pagination":{"has_more":false}}"#,
    ));
    let location = format!("{}/v2/tasks", target.url);
    let redirector = CountingServer::start(answer(
        "308 Permanent Redirect",
        &format!("Location: {location}\r\n"),
        "",
    ));
    let run = run_once_against(&redirector.url, &["--max-retries", "2"], &[]).await;
    assert!(!run.status.success(), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("client_error") && last.contains("308") && last.contains(&location),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("unauthorized"), "{}", run.stderr);
    assert_eq!(target.connections(), 0, "the target was contacted");
    assert_eq!(redirector.connections(), 1, "not retried");
    assert!(!run.stdout.contains("arize_task_info"), "{}", run.stdout);
}
