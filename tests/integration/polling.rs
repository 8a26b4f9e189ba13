//! Polling, tolerance and metrics, in process: the real client, poller,
//! state and renderer against the project's simulated Arize API over HTTP
//! on loopback (`docs/configuration.md` and `docs/metrics.md`: polling,
//! the metrics and the tolerance rules).

use crate::support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime};

use arize_exporter::arize::FailureReason;
use arize_sim::{generated_tasks, Scripted, SimTask, Simulator};
use serde_json::{json, Value};
use support::exporter::*;
use support::scenarios::{hostile_tasks, LONE_SURROGATES};
use support::spec::SPEC_FAMILIES;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn te(id: &str, name: &str) -> SimTask {
    SimTask::new(id, name, "TEMPLATE_EVALUATION", true, ago(60))
}

fn raw_json(body: Value) -> Scripted {
    raw_json_bytes(body.to_string())
}

/// A 200 labelled `application/json` whose body is `body`, JSON or not.
fn raw_json_bytes(body: impl Into<Vec<u8>>) -> Scripted {
    Scripted::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

/// Every `/v2/tasks` request the simulator saw.
fn task_requests(sim: &Simulator) -> Vec<arize_sim::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path == "/v2/tasks")
        .collect()
}

// ---------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pagination_sends_limit_every_time_and_chains_the_cursors() {
    let tasks = generated_tasks(250, now());
    let ids: BTreeSet<String> = tasks
        .iter()
        .filter_map(|t| t.id())
        .map(str::to_owned)
        .collect();
    let mut h = Harness::new(tasks, &["--page-size", "100"]).await;
    h.poll_ok().await;

    let requests = task_requests(&h.sim);
    assert_eq!(requests.len(), 3, "250 tasks at 100 a page: {requests:?}");
    for r in &requests {
        assert_eq!(
            r.param("limit"),
            Some("100"),
            "limit on every request: {r:?}"
        );
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {TEST_KEY}").as_str())
        );
    }
    assert_eq!(
        requests[0].param("cursor"),
        None,
        "the first page has no cursor"
    );

    // Walk the same pages by hand and check each cursor sent is the
    // previous page's next_cursor, verbatim (cursors are opaque).
    let client = http();
    let mut expected_cursor: Option<String> = None;
    for (i, sent) in requests.iter().enumerate() {
        assert_eq!(
            sent.param("cursor"),
            expected_cursor.as_deref(),
            "request {i}"
        );
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(c) = &expected_cursor {
            query.push(("cursor", c.clone()));
        }
        let body: Value = serde_json::from_str(
            &client
                .get(format!("{}/v2/tasks", h.sim.base_url()))
                .query(&query)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        expected_cursor = body["pagination"]["next_cursor"]
            .as_str()
            .map(str::to_owned);
        assert_eq!(
            body["pagination"]["has_more"].as_bool(),
            Some(i < 2),
            "page {i}"
        );
    }

    let scrape = h.scrape();
    assert_eq!(scrape.total_tasks(), 250.0);
    let exported: BTreeSet<String> = scrape
        .find("arize_task_info", &[])
        .iter()
        .map(|s| s.labels["task_id"].clone())
        .collect();
    assert_eq!(exported, ids, "every task of every page is exported once");
    assert_eq!(scrape.value("arize_up", &[]), 1.0);
}

#[tokio::test]
async fn a_repeated_cursor_fails_the_poll_with_pagination_and_ends_it() {
    let mut h = Harness::new(generated_tasks(30, now()), &["--page-size", "10"]).await;
    // The first page answers normally; the second hands back the cursor it
    // was sent.
    h.sim.push(Scripted::Delay(Duration::ZERO));
    h.sim.push(Scripted::RepeatCursor);
    h.poll_fails_with(FailureReason::Pagination).await;
    assert_eq!(task_requests(&h.sim).len(), 2, "the poll stops at once");
    let scrape = h.scrape();
    assert_eq!(scrape.poll_errors("pagination"), 1.0);
    assert_eq!(scrape.value("arize_up", &[]), 0.0);
    assert!(
        scrape.find("arize_task_info", &[]).is_empty(),
        "half a poll is never published"
    );
    assert_eq!(scrape.total_tasks(), 0.0);
}

#[tokio::test]
async fn has_more_without_a_cursor_fails_the_poll_with_pagination() {
    let mut h = Harness::new(generated_tasks(30, now()), &["--page-size", "10"]).await;
    h.sim.push(Scripted::MoreWithoutCursor);
    h.poll_fails_with(FailureReason::Pagination).await;
    assert_eq!(task_requests(&h.sim).len(), 1);
    assert_eq!(h.scrape().poll_errors("pagination"), 1.0);
}

// ---------------------------------------------------------------------------
// Tolerance of what the API returns
// ---------------------------------------------------------------------------

#[tokio::test]
async fn task_types_are_lower_cased_unknown_kept_and_missing_is_unknown() {
    let tasks = vec![
        SimTask::new("upper", "a", "TEMPLATE_EVALUATION", true, ago(10)),
        SimTask::new("lower", "b", "code_evaluation", false, ago(10)),
        SimTask::new("new", "c", "Shiny_New_KIND", true, ago(10)),
        SimTask::new("missing", "d", "RUN_EXPERIMENT", false, ago(10)).without_field("type"),
        SimTask::new("null", "e", "RUN_EXPERIMENT", false, ago(10)).with_field("type", Value::Null),
    ];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    let ty = |id: &str| s.of_task("arize_task_info", id)[0].labels["task_type"].clone();
    assert_eq!(ty("upper"), "template_evaluation");
    assert_eq!(ty("lower"), "code_evaluation");
    assert_eq!(ty("new"), "shiny_new_kind");
    assert_eq!(ty("missing"), "unknown");
    assert_eq!(ty("null"), "unknown");

    let count = |t: &str, m: &str| s.value("arize_tasks", &[("task_type", t), ("mode", m)]);
    assert_eq!(count("template_evaluation", "continuous"), 1.0);
    assert_eq!(count("code_evaluation", "one_off"), 1.0);
    assert_eq!(count("shiny_new_kind", "continuous"), 1.0);
    assert_eq!(count("unknown", "one_off"), 2.0);
    // The six known pairs are always there.
    assert_eq!(count("run_experiment", "continuous"), 0.0);
    assert_eq!(count("run_experiment", "one_off"), 0.0);
    assert_eq!(count("template_evaluation", "one_off"), 0.0);
    assert_eq!(count("code_evaluation", "continuous"), 0.0);
    assert!(
        s.find("arize_tasks", &[("task_type", "RUN_EXPERIMENT")])
            .is_empty()
            && s.find("arize_tasks", &[("task_type", "TEMPLATE_EVALUATION")])
                .is_empty(),
        "no upper-case type label"
    );
    assert!(
        s.samples.iter().all(|x| !x.labels.contains_key("type")),
        "no bare `type` label"
    );
}

const NULLABLE: [&str; 14] = [
    "name",
    "type",
    "project_id",
    "dataset_id",
    "sampling_rate",
    "is_continuous",
    "query_filter",
    "query_filters",
    "evaluators",
    "experiment_ids",
    "run_configuration",
    "last_run_at",
    "created_at",
    "updated_at",
];

fn per_task_values(s: &Scrape, id: &str) -> Vec<String> {
    s.task_series(id).iter().map(|x| x.name.clone()).collect()
}

#[tokio::test]
async fn nulls_and_missing_fields_keep_the_task_and_leave_its_metrics_out() {
    let mut all_null = SimTask::new("all-null", "x", "TEMPLATE_EVALUATION", true, ago(10));
    let mut all_missing = SimTask::new("all-missing", "y", "TEMPLATE_EVALUATION", true, ago(10));
    for field in NULLABLE.iter().chain(&["created_by_user_id"]) {
        all_null = all_null.with_field(field, Value::Null);
        all_missing = all_missing.without_field(field);
    }
    let no_id =
        SimTask::new("gone", "z", "CODE_EVALUATION", false, ago(10)).with_field("id", Value::Null);
    let full = SimTask::new("full", "w", "CODE_EVALUATION", false, ago(10))
        .with_field("surprise", json!({"nested": [1, 2, {"x": null}]}));
    let mut h = Harness::new(vec![all_null, all_missing, no_id, full], &[]).await;
    h.poll_ok().await;
    let s = h.scrape();

    for id in ["all-null", "all-missing"] {
        let info = s.of_task("arize_task_info", id);
        assert_eq!(info.len(), 1, "{id} is kept");
        let labels = &info[0].labels;
        assert_eq!(labels["task_name"], "");
        assert_eq!(labels["task_type"], "unknown");
        assert_eq!(
            labels["mode"], "one_off",
            "is_continuous null/missing is one-off"
        );
        assert_eq!(labels["project_id"], "");
        assert_eq!(labels["dataset_id"], "");
        assert_eq!(labels["created_by_user_id"], "");
        assert_eq!(
            per_task_values(&s, id),
            ["arize_task_info"],
            "{id}: only the info series, every other needs a field it lacks"
        );
    }
    // A task without an id is counted but has no per-task series.
    assert_eq!(s.total_tasks(), 4.0);
    assert_eq!(
        s.value(
            "arize_tasks",
            &[("task_type", "code_evaluation"), ("mode", "one_off")]
        ),
        2.0
    );
    assert_eq!(
        s.value(
            "arize_tasks_never_run",
            &[("task_type", "unknown"), ("mode", "one_off")]
        ),
        2.0
    );
    // The well-formed one has every series, the unknown field ignored.
    let full: BTreeSet<String> = per_task_values(&s, "full").into_iter().collect();
    for family in [
        "arize_task_info",
        "arize_task_last_run_timestamp_seconds",
        "arize_task_seconds_since_last_run",
        "arize_task_sampling_rate",
        "arize_task_evaluators",
        "arize_task_created_timestamp_seconds",
        "arize_task_updated_timestamp_seconds",
    ] {
        assert!(full.contains(family), "full task lacks {family}");
    }
    assert_eq!(s.task_value("arize_task_sampling_rate", "full"), 0.25);
    assert_eq!(s.task_value("arize_task_evaluators", "full"), 1.0);
    assert_eq!(task_requests(&h.sim).len(), 1);
}

#[tokio::test]
async fn tasks_without_a_usable_id_are_all_counted() {
    let mut h = Harness::new(vec![], &[]).await;
    h.sim.push(raw_json(json!({
        "tasks": [
            {"id": "", "type": "CODE_EVALUATION"},
            {"id": "", "type": "CODE_EVALUATION"},
            {"type": "CODE_EVALUATION"},
            {"id": null, "type": "CODE_EVALUATION"},
            {"id": "real", "type": "CODE_EVALUATION"},
            {"id": "real", "type": "CODE_EVALUATION"}
        ],
        "pagination": {"has_more": false}
    })));
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(
        s.value(
            "arize_tasks",
            &[("task_type", "code_evaluation"), ("mode", "one_off")]
        ),
        5.0,
        "four id-less tasks, and the one real id counted once"
    );
    assert_eq!(s.find("arize_task_info", &[]).len(), 1);
    assert!(s.of_task("arize_task_info", "").is_empty());
}

#[tokio::test]
async fn a_never_run_task_has_no_last_run_series_and_is_never_exported_as_zero() {
    let tasks = vec![SimTask::new(
        "never",
        "n",
        "TEMPLATE_EVALUATION",
        true,
        None,
    )];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert!(s
        .find("arize_task_last_run_timestamp_seconds", &[])
        .is_empty());
    assert!(s.find("arize_task_seconds_since_last_run", &[]).is_empty());
    assert_eq!(
        s.value(
            "arize_tasks_never_run",
            &[("task_type", "template_evaluation"), ("mode", "continuous")]
        ),
        1.0
    );
    assert_eq!(
        s.value("arize_tasks_stale", &[("task_type", "template_evaluation")]),
        1.0,
        "a continuous task that never ran is stale"
    );
}

#[tokio::test]
async fn lone_surrogate_escapes_in_names_do_not_fail_the_poll() {
    let mut h = Harness::new(vec![], &[]).await;
    h.sim.push(raw_json_bytes(LONE_SURROGATES));
    h.poll_ok().await;
    let s = h.scrape();
    let name = |id: &str| s.of_task("arize_task_info", id)[0].labels["task_name"].clone();
    assert_eq!(name("lead"), "a\u{fffd}b");
    assert_eq!(
        name("trail"),
        "\u{fffd}x\\ud800",
        "an escaped backslash is not an escape"
    );
    assert_eq!(name("pair"), "🚀 ok");
    assert_eq!(name("two"), "\u{fffd}\u{10000}");
}

#[tokio::test]
async fn a_bad_timestamp_keeps_the_task_and_only_leaves_that_field_out() {
    let tasks = vec![
        te("bad-last", "a").with_field("last_run_at", json!("yesterday at noon")),
        te("bad-created", "b").with_field("created_at", json!("2026-13-45T99:00:00Z")),
        te("ok", "c"),
    ];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    // A second poll: still fine, still kept.
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.find("arize_task_info", &[]).len(), 3);
    assert!(s
        .of_task("arize_task_last_run_timestamp_seconds", "bad-last")
        .is_empty());
    assert!(
        s.of_task("arize_task_created_timestamp_seconds", "bad-last")
            .len()
            == 1
    );
    assert!(s
        .of_task("arize_task_created_timestamp_seconds", "bad-created")
        .is_empty());
    assert_eq!(
        s.of_task("arize_task_last_run_timestamp_seconds", "bad-created")
            .len(),
        1
    );
    assert_eq!(s.value("arize_up", &[]), 1.0);
}

#[tokio::test]
async fn an_unreadable_last_run_is_neither_never_run_nor_stale() {
    let tasks = vec![te("bad-last", "a").with_field("last_run_at", json!("not a time"))];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    let labels = [("task_type", "template_evaluation"), ("mode", "continuous")];
    assert_eq!(s.value("arize_tasks", &labels), 1.0);
    assert_eq!(s.value("arize_tasks_never_run", &labels), 0.0);
    assert_eq!(
        s.value("arize_tasks_stale", &[("task_type", "template_evaluation")]),
        0.0
    );
    assert!(s
        .of_task("arize_task_seconds_since_last_run", "bad-last")
        .is_empty());
}

#[tokio::test]
async fn hostile_task_names_survive_the_exposition_and_promtool() {
    let hostile = hostile_tasks();
    let tasks = hostile
        .iter()
        .map(|(id, name)| SimTask::new(id, name, "CODE_EVALUATION", true, ago(30)))
        .collect();
    let mut h = Harness::new(tasks, &["--space-id", "space-1"]).await;
    h.poll_ok().await;
    let text = h.render();
    let s = Scrape::parse(&text);
    for (id, name) in &hostile {
        let series = s.task_series(id);
        assert!(series.len() >= 5, "{id}: {} series", series.len());
        // Cut to --max-label-value-length (200 characters), never dropped.
        let expected = if name.chars().count() > 200 {
            name.chars().take(199).chain(['…']).collect()
        } else {
            name.clone()
        };
        for x in series
            .iter()
            .filter(|x| x.name != "arize_task_evaluator_info")
        {
            assert_eq!(x.labels["task_name"], expected, "{id} in {}", x.name);
            assert_eq!(x.labels["space"], "space-1");
        }
    }
    let long = &hostile.iter().find(|(id, _)| id == "long").unwrap().1;
    assert!(long.len() >= 10_240);
}

// ---------------------------------------------------------------------------
// Retries and failure reasons
// ---------------------------------------------------------------------------

fn requests_with(s: &Scrape, code: &str) -> f64 {
    s.counter(
        "arize_exporter_api_requests_total",
        &[("endpoint", "/v2/tasks"), ("code", code)],
    )
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured_on_429() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "2"]).await;
    h.sim.push(Scripted::Problem {
        status: 429,
        title: "Too Many Requests".into(),
        detail: "slow down".into(),
        retry_after: Some("1".into()),
    });
    let started = Instant::now();
    h.poll_ok().await;
    let took = started.elapsed();
    // Without Retry-After the first backoff is 250 ms plus jitter; with it,
    // the retry comes no earlier than ~1 s after the 429.
    assert!(took >= Duration::from_millis(950), "retried after {took:?}");
    let s = h.scrape();
    assert_eq!(requests_with(&s, "429"), 1.0);
    assert_eq!(requests_with(&s, "200"), 1.0);
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(s.find("arize_task_info", &[]).len(), 1);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "1"]).await;
    let at = SystemTime::now() + Duration::from_secs(3);
    h.sim.push(Scripted::Problem {
        status: 503,
        title: "Service Unavailable".into(),
        detail: "maintenance".into(),
        retry_after: Some(httpdate::fmt_http_date(at)),
    });
    let started = Instant::now();
    h.poll_ok().await;
    // The date has whole-second precision: at least 2 s of the 3 remain.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "retried after {took:?}"
    );
    assert_eq!(requests_with(&h.scrape(), "503"), 1.0);
}

#[tokio::test]
async fn a_long_retry_after_fails_the_poll_and_holds_back_the_next() {
    // Retry-After is honoured up to the next poll's start at most: with
    // polls 5 minutes apart, 5 of the 10 minutes asked for.
    let mut h = Harness::new(
        vec![te("a", "a")],
        &["--max-retries", "3", "--poll-interval", "5m"],
    )
    .await;
    h.sim.push(Scripted::Problem {
        status: 429,
        title: "Too Many Requests".into(),
        detail: "come back in ten minutes".into(),
        retry_after: Some("600".into()),
    });
    let started = Instant::now();
    h.poll_fails_with(FailureReason::RateLimited).await;
    // Not waited for within the poll, and not retried.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(task_requests(&h.sim).len(), 1);
    // The next poll sends nothing while the API's ten minutes run.
    h.poll_fails_with(FailureReason::RateLimited).await;
    assert_eq!(task_requests(&h.sim).len(), 1, "the hold was not kept");
    let s = h.scrape();
    assert_eq!(requests_with(&s, "429"), 1.0);
    assert_eq!(s.poll_errors("rate_limited"), 2.0);
}

#[tokio::test]
async fn rate_limited_after_the_retries_are_spent() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "2"]).await;
    for _ in 0..3 {
        h.sim.push(Scripted::Problem {
            status: 429,
            title: "Too Many Requests".into(),
            detail: "slow down".into(),
            retry_after: Some("0".into()),
        });
    }
    h.poll_fails_with(FailureReason::RateLimited).await;
    assert_eq!(task_requests(&h.sim).len(), 3, "one try and two retries");
    let s = h.scrape();
    assert_eq!(requests_with(&s, "429"), 3.0);
    assert_eq!(s.poll_errors("rate_limited"), 1.0);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_and_every_try_is_counted() {
    // The task list's requests only: no run requests in the counts.
    let mut h = Harness::new(
        vec![te("a", "a")],
        &["--max-retries", "3", "--task-runs", "false"],
    )
    .await;
    h.sim
        .push(Scripted::problem(503, "Service Unavailable", "busy"));
    h.sim
        .push(Scripted::problem(500, "Internal Server Error", "oops"));
    h.sim
        .push(Scripted::problem(408, "Request Timeout", "slow"));
    h.poll_ok().await;
    assert_eq!(task_requests(&h.sim).len(), 4);
    let s = h.scrape();
    for code in ["503", "500", "408", "200"] {
        assert_eq!(requests_with(&s, code), 1.0, "code {code}");
    }
    let endpoints: BTreeSet<&str> = s
        .find("arize_exporter_api_requests_total", &[])
        .iter()
        .map(|x| x.labels["endpoint"].as_str())
        .collect();
    assert_eq!(
        endpoints,
        BTreeSet::from(["/v2/tasks", "/v2/spaces", "/v2/projects", "/v2/datasets"]),
        "the templates only"
    );
    assert_eq!(
        s.value(
            "arize_exporter_api_request_duration_seconds_count",
            &[("endpoint", "/v2/tasks")]
        ),
        4.0
    );
    assert_eq!(s.polls("success"), 1.0);
    assert_eq!(s.polls("failure"), 0.0);
}

#[tokio::test]
async fn server_error_after_the_retries_are_spent() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "1"]).await;
    h.sim
        .push(Scripted::problem(502, "Bad Gateway", "upstream"));
    h.sim
        .push(Scripted::problem(500, "Internal Server Error", "oops"));
    let err = h.poll_fails_with(FailureReason::ServerError).await;
    assert!(
        err.message.contains("Internal Server Error") && err.message.contains("oops"),
        "the problem's title and detail are in the message: {err}"
    );
    assert_eq!(task_requests(&h.sim).len(), 2);
}

#[tokio::test]
async fn max_retries_zero_never_retries() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "0"]).await;
    h.sim
        .push(Scripted::problem(503, "Service Unavailable", "busy"));
    h.poll_fails_with(FailureReason::ServerError).await;
    assert_eq!(task_requests(&h.sim).len(), 1);
}

#[tokio::test]
async fn unauthorized_is_final_at_once_and_counted() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "3"]).await;
    h.sim
        .push(Scripted::problem(401, "Unauthorized", "bad key"));
    let err = h.poll_fails_with(FailureReason::Unauthorized).await;
    assert!(err.message.contains("bad key"), "{err}");
    assert_eq!(task_requests(&h.sim).len(), 1, "401 is not retried");

    h.sim
        .push(Scripted::problem(403, "Forbidden", "wrong region"));
    h.poll_fails_with(FailureReason::Unauthorized).await;
    assert_eq!(task_requests(&h.sim).len(), 2, "403 is not retried");

    // A key the API does not accept, checked by the simulator itself.
    h.sim.require_key(Some("the-right-key".into()));
    let err = h.poll_fails_with(FailureReason::Unauthorized).await;
    assert_eq!(task_requests(&h.sim).len(), 3);
    assert!(
        !err.to_string().contains(TEST_KEY),
        "the key is not in the error"
    );

    let s = h.scrape();
    assert_eq!(s.poll_errors("unauthorized"), 3.0);
    assert_eq!(s.polls("failure"), 3.0);
    assert_eq!(requests_with(&s, "401"), 2.0);
    assert_eq!(requests_with(&s, "403"), 1.0);
    assert_eq!(s.value("arize_up", &[]), 0.0);
}

#[tokio::test]
async fn other_4xx_are_client_errors_and_not_retried() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "3"]).await;
    h.sim
        .push(Scripted::problem(404, "Not Found", "no such space"));
    h.poll_fails_with(FailureReason::ClientError).await;
    assert_eq!(task_requests(&h.sim).len(), 1);
    assert_eq!(h.scrape().poll_errors("client_error"), 1.0);
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_the_shape_is_decode() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "3"]).await;
    h.sim
        .push(raw_json_bytes(b"<html>maintenance</html>".to_vec()));
    h.poll_fails_with(FailureReason::Decode).await;
    assert_eq!(
        task_requests(&h.sim).len(),
        1,
        "decode errors are not retried"
    );

    h.sim.push(raw_json(
        json!({"tasks": {"a": 1}, "pagination": {"has_more": false}}),
    ));
    h.poll_fails_with(FailureReason::Decode).await;
    h.sim
        .push(raw_json(json!({"pagination": {"has_more": false}})));
    h.poll_fails_with(FailureReason::Decode).await;
    // Only the envelope decides: a mistyped has_more fails the poll ...
    h.sim.push(raw_json(
        json!({"tasks": [{"id": "a"}], "pagination": {"has_more": "no"}}),
    ));
    h.poll_fails_with(FailureReason::Decode).await;
    // ... a mistyped field of a task does not.
    h.sim.push(raw_json(
        json!({"tasks": [{"id": "a", "is_continuous": "yes"}], "pagination": {"has_more": false}}),
    ));
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(
        s.value("arize_task_info", &[("task_id", "a"), ("mode", "one_off")]),
        1.0
    );
    assert_eq!(s.poll_errors("decode"), 4.0);
    // And it recovers.
    h.poll_ok().await;
    assert_eq!(h.scrape().value("arize_up", &[]), 1.0);
}

/// An empty page of tasks, valid JSON of more than `len` bytes: the tasks
/// array holds a long string of spaces.
fn padded_empty_page(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len + 64);
    body.extend_from_slice(br#"{"tasks":["#);
    body.resize(len + 16, b' ');
    body.extend_from_slice(br#"],"pagination":{"has_more":false}}"#);
    body
}

#[tokio::test]
async fn a_body_over_64_mib_is_decode() {
    let mut h = Harness::new(vec![te("a", "a")], &["--max-retries", "0"]).await;
    // Valid JSON just over the cap.
    h.sim.push(raw_json_bytes(padded_empty_page(64 << 20)));
    h.poll_fails_with(FailureReason::Decode).await;
}

/// A one-shot HTTP server answering every connection with `head` + `body`:
/// for answers the simulator cannot script (here a Content-Encoding).
fn serve_raw(head: String, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 8192];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// [`serve_raw`] answering with `json` gzipped at `level`, its
/// Content-Length the compressed size; the URL and that size.
fn serve_gzip(json: &[u8], level: flate2::Compression) -> (String, usize) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(json).unwrap();
    let compressed = gz.finish().unwrap();
    let size = compressed.len();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    (serve_raw(head, compressed), size)
}

#[tokio::test]
async fn a_gzip_body_over_64_mib_once_decoded_is_decode_whatever_content_length_says() {
    let (url, size) = serve_gzip(&padded_empty_page(65 << 20), flate2::Compression::best());
    assert!(size < 1 << 20, "the bomb is small on the wire");
    let sim = Simulator::start(vec![]).await.unwrap();
    let mut h = Harness::with_url(sim, &url, &["--max-retries", "0"]).await;
    h.poll_fails_with(FailureReason::Decode).await;
}

#[tokio::test]
async fn a_gzip_body_under_the_cap_is_decoded() {
    let json = json!({"tasks": [{"id": "gz", "name": "zipped", "type": "CODE_EVALUATION"}],
        "pagination": {"has_more": false}})
    .to_string();
    let (url, _) = serve_gzip(json.as_bytes(), flate2::Compression::default());
    let sim = Simulator::start(vec![]).await.unwrap();
    let mut h = Harness::with_url(sim, &url, &["--max-retries", "0"]).await;
    h.poll_ok().await;
    assert_eq!(h.scrape().of_task("arize_task_info", "gz").len(), 1);
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_is_timeout() {
    let mut h = Harness::new(
        vec![te("a", "a")],
        &["--request-timeout", "200ms", "--max-retries", "0"],
    )
    .await;
    h.sim.push(Scripted::Delay(Duration::from_secs(3)));
    let started = Instant::now();
    h.poll_fails_with(FailureReason::Timeout).await;
    assert!(started.elapsed() >= Duration::from_millis(190));
    let s = h.scrape();
    assert_eq!(requests_with(&s, "timeout"), 1.0);
    assert_eq!(s.poll_errors("timeout"), 1.0);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let mut h = Harness::new(
        vec![te("a", "a")],
        &["--request-timeout", "300ms", "--max-retries", "1"],
    )
    .await;
    h.sim.push(Scripted::Delay(Duration::from_secs(3)));
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(requests_with(&s, "timeout"), 1.0);
    assert_eq!(requests_with(&s, "200"), 1.0);
}

#[tokio::test]
async fn connection_refused_is_transport_and_retried() {
    let port = free_port();
    let sim = Simulator::start(vec![]).await.unwrap();
    let mut h = Harness::with_url(
        sim,
        &format!("http://127.0.0.1:{port}"),
        &["--max-retries", "1"],
    )
    .await;
    h.poll_fails_with(FailureReason::Transport).await;
    let s = h.scrape();
    assert_eq!(requests_with(&s, "transport"), 2.0, "one try and one retry");
    assert_eq!(s.poll_errors("transport"), 1.0);
}

// ---------------------------------------------------------------------------
// The snapshot across polls
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_failed_poll_keeps_serving_the_last_good_data() {
    let mut h = Harness::new(
        vec![te("a", "alpha"), te("b", "beta")],
        &["--max-retries", "1"],
    )
    .await;
    h.poll_ok().await;
    let before = h.scrape();
    let last_success = before.value("arize_exporter_last_success_timestamp_seconds", &[]);

    h.sim.set_tasks(vec![te("c", "gamma")]);
    h.sim
        .push(Scripted::problem(500, "Internal Server Error", "x"));
    h.sim
        .push(Scripted::problem(500, "Internal Server Error", "x"));
    h.poll_fails_with(FailureReason::ServerError).await;

    let after = h.scrape();
    assert_eq!(after.value("arize_up", &[]), 0.0);
    assert_eq!(
        after.value("arize_exporter_last_success_timestamp_seconds", &[]),
        last_success
    );
    let ids: BTreeSet<&str> = after
        .find("arize_task_info", &[])
        .iter()
        .map(|x| x.labels["task_id"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["a", "b"]), "the previous poll's tasks");
    assert_eq!(after.total_tasks(), 2.0);
    assert_eq!(after.polls("success"), 1.0);
    assert_eq!(after.polls("failure"), 1.0);
    assert_eq!(after.poll_errors("server_error"), 1.0);
    for reason in [
        "unauthorized",
        "rate_limited",
        "client_error",
        "timeout",
        "transport",
        "decode",
        "pagination",
    ] {
        assert_eq!(
            after.poll_errors(reason),
            0.0,
            "every reason exists from the start"
        );
    }
    assert_eq!(
        after.value("arize_exporter_poll_duration_seconds_count", &[]),
        2.0
    );

    // The next complete poll replaces everything.
    h.poll_ok().await;
    let recovered = h.scrape();
    assert_eq!(recovered.value("arize_up", &[]), 1.0);
    assert!(recovered.value("arize_exporter_last_success_timestamp_seconds", &[]) >= last_success);
    let ids: Vec<&str> = recovered
        .find("arize_task_info", &[])
        .iter()
        .map(|x| x.labels["task_id"].as_str())
        .collect();
    assert_eq!(ids, ["c"]);
}

#[tokio::test]
async fn a_failure_on_a_later_page_publishes_nothing_of_that_poll() {
    let mut h = Harness::new(
        generated_tasks(25, now()),
        &["--page-size", "10", "--max-retries", "0"],
    )
    .await;
    h.poll_ok().await;
    h.sim
        .set_tasks((0..25).map(|i| te(&format!("new-{i}"), "n")).collect());
    h.sim.push(Scripted::Delay(Duration::ZERO));
    h.sim
        .push(Scripted::problem(503, "Service Unavailable", "x"));
    h.poll_err().await;
    let s = h.scrape();
    assert_eq!(s.total_tasks(), 25.0);
    assert!(
        s.of_task("arize_task_info", "new-0").is_empty(),
        "the first page of a failed poll is not served"
    );
}

#[tokio::test]
async fn a_deleted_task_is_gone_after_the_next_poll() {
    // The task list's series only (the run series are tests/integration/runs.rs's).
    let mut h = Harness::new(
        vec![te("keep", "k"), te("delete", "d")],
        &["--task-runs", "false"],
    )
    .await;
    h.poll_ok().await;
    // Seven list families, the evaluator's info and the stale threshold
    // (continuous tasks).
    assert_eq!(h.scrape().task_series("delete").len(), 9);
    h.sim.set_tasks(vec![te("keep", "k")]);
    h.poll_ok().await;
    let s = h.scrape();
    assert!(
        s.task_series("delete").is_empty(),
        "no series of the deleted task"
    );
    assert_eq!(s.task_series("keep").len(), 9);
    assert_eq!(s.total_tasks(), 1.0);
}

#[tokio::test]
async fn ages_grow_at_render_time_without_any_request() {
    let mut h = Harness::new(vec![te("a", "a")], &[]).await;
    h.poll_ok().await;
    let requests = h.sim.request_count();
    let t0 = SystemTime::now();
    let first = h.scrape_at(t0);
    let later = h.scrape_at(t0 + Duration::from_secs(600));
    let age0 = first.task_value("arize_task_seconds_since_last_run", "a");
    let age1 = later.task_value("arize_task_seconds_since_last_run", "a");
    assert!((age1 - age0 - 600.0).abs() < 1e-3, "{age0} then {age1}");
    assert!(age0 >= 59.0, "the task last ran a minute ago: {age0}");
    let last = first.task_value("arize_task_last_run_timestamp_seconds", "a");
    assert_eq!(
        last,
        later.task_value("arize_task_last_run_timestamp_seconds", "a")
    );

    // And with the real clock.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let real = h.scrape();
    let age2 = real.task_value("arize_task_seconds_since_last_run", "a");
    assert!(age2 >= age0 + 1.0, "{age0} then {age2}");
    assert_eq!(
        h.sim.request_count(),
        requests,
        "rendering never calls the API"
    );
}

#[tokio::test]
async fn the_age_is_never_negative() {
    let future = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut h = Harness::new(
        vec![SimTask::new(
            "f",
            "future",
            "TEMPLATE_EVALUATION",
            true,
            Some(future),
        )],
        &[],
    )
    .await;
    h.poll_ok().await;
    assert_eq!(
        h.scrape()
            .task_value("arize_task_seconds_since_last_run", "f"),
        0.0
    );
}

#[tokio::test]
async fn stale_counts_are_computed_at_render_time() {
    let tasks = vec![
        SimTask::new("fresh", "f", "TEMPLATE_EVALUATION", true, ago(30 * 60)),
        SimTask::new("old", "o", "TEMPLATE_EVALUATION", true, ago(3 * 3600)),
        SimTask::new("never", "n", "CODE_EVALUATION", true, None),
        SimTask::new("oneoff-old", "x", "CODE_EVALUATION", false, ago(30 * 86400)),
        SimTask::new("oneoff-never", "y", "RUN_EXPERIMENT", false, None),
    ];
    // --stale-after alone: without runs, no task's interval is known.
    let mut h = Harness::new(tasks, &["--stale-after", "1h", "--task-runs", "false"]).await;
    h.poll_ok().await;
    let t0 = SystemTime::now();
    let stale = |s: &Scrape, t: &str| s.value("arize_tasks_stale", &[("task_type", t)]);
    let s = h.scrape_at(t0);
    assert_eq!(stale(&s, "template_evaluation"), 1.0);
    assert_eq!(stale(&s, "code_evaluation"), 1.0, "never ran, continuous");
    assert_eq!(
        stale(&s, "run_experiment"),
        0.0,
        "one-off tasks are never stale"
    );
    let s = h.scrape_at(t0 + Duration::from_secs(31 * 60));
    assert_eq!(
        stale(&s, "template_evaluation"),
        2.0,
        "the fresh one went stale"
    );
    assert_eq!(task_requests(&h.sim).len(), 1, "scrapes never call the API");
    assert!(s.help["arize_tasks_stale"].contains("scrape time"));
}

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_space_filter_is_polled_and_labels_what_it_found_first() {
    let tasks = vec![
        te("p1", "prod one"),
        te("p2", "prod two"),
        te("s1", "staging one").in_space("space-2", "Staging"),
        te("r1", "research one").in_space("space-3", "Research"),
    ];
    let mut h = Harness::new(
        tasks,
        &[
            "--space-id",
            "space-1,space-2",
            "--space-name",
            "Production",
            "--page-size",
            "1",
        ],
    )
    .await;
    h.poll_ok().await;
    let requests = task_requests(&h.sim);
    let by = |k: &str, v: &str| requests.iter().filter(|r| r.param(k) == Some(v)).count();
    assert_eq!(by("space_id", "space-1"), 2, "two pages of one task");
    assert_eq!(by("space_id", "space-2"), 1);
    assert_eq!(by("space_name", "Production"), 2);
    assert_eq!(requests.len(), 5);
    assert!(requests.iter().all(|r| r.param("limit") == Some("1")));
    // Order: the filters in the order given, each one's pages in a row.
    let order: Vec<String> = requests
        .iter()
        .map(|r| {
            r.param("space_id")
                .or(r.param("space_name"))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        order,
        ["space-1", "space-1", "space-2", "Production", "Production"]
    );

    let s = h.scrape();
    let space = |id: &str| {
        let found = s.of_task("arize_task_info", id);
        assert_eq!(found.len(), 1, "{id} counted once");
        found[0].labels["space"].clone()
    };
    assert_eq!(
        space("p1"),
        "space-1",
        "found by space-1 first, then by Production"
    );
    assert_eq!(space("p2"), "space-1");
    assert_eq!(space("s1"), "space-2");
    assert!(s.task_series("r1").is_empty(), "not in any filtered space");
    assert_eq!(s.total_tasks(), 3.0);
    for x in s
        .samples
        .iter()
        .filter(|x| x.labels.contains_key("task_id"))
        // The evaluators' series join their task by task_id alone.
        .filter(|x| x.name != "arize_task_evaluator_info")
    {
        assert!(
            x.labels.contains_key("space"),
            "{} has a space label",
            x.name
        );
    }
}

#[tokio::test]
async fn the_order_given_decides_the_label_across_space_id_and_space_name() {
    let tasks = vec![
        te("p1", "prod one"),
        te("s1", "staging").in_space("space-2", "Staging"),
    ];
    let mut h = Harness::new(
        tasks,
        &[
            "--space-name",
            "Production",
            "--space-id",
            "space-1",
            "--space-id",
            "space-2",
        ],
    )
    .await;
    h.poll_ok().await;
    let order: Vec<String> = task_requests(&h.sim)
        .iter()
        .map(|r| {
            r.param("space_name")
                .or(r.param("space_id"))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(order, ["Production", "space-1", "space-2"]);
    let s = h.scrape();
    let info = s.of_task("arize_task_info", "p1");
    assert_eq!(info.len(), 1);
    assert_eq!(
        info[0].labels["space"], "Production",
        "the first filter given found it"
    );
    assert_eq!(
        s.of_task("arize_task_info", "s1")[0].labels["space"],
        "space-2"
    );
}

#[tokio::test]
async fn without_space_filters_there_is_no_space_label() {
    let mut h = Harness::new(vec![te("a", "a")], &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert!(s.samples.iter().all(|x| !x.labels.contains_key("space")));
    assert_eq!(task_requests(&h.sim)[0].param("space_id"), None);
}

#[tokio::test]
async fn the_other_filters_are_sent_and_the_type_upper_case() {
    let mut h = Harness::new(
        vec![],
        &[
            "--task-type",
            "code_evaluation",
            "--task-name",
            "Hallu",
            "--project-id",
            "proj-1",
            "--dataset-id",
            "ds-1",
        ],
    )
    .await;
    h.poll_ok().await;
    let r = &task_requests(&h.sim)[0];
    assert_eq!(r.param("type"), Some("CODE_EVALUATION"));
    assert_eq!(r.param("name"), Some("Hallu"));
    assert_eq!(r.param("project_id"), Some("proj-1"));
    assert_eq!(r.param("dataset_id"), Some("ds-1"));
}

#[tokio::test]
async fn the_task_type_filter_also_applies_to_what_comes_back() {
    let mut h = Harness::new(vec![], &["--task-type", "code_evaluation"]).await;
    // An API that ignores the filter (or reads it differently).
    h.sim.push(raw_json(json!({
        "tasks": [
            {"id": "upper", "type": "CODE_EVALUATION"},
            {"id": "lower", "type": "code_evaluation"},
            {"id": "other", "type": "TEMPLATE_EVALUATION"},
            {"id": "exp", "type": "run_experiment"}
        ],
        "pagination": {"has_more": false}
    })));
    h.poll_ok().await;
    let s = h.scrape();
    let ids: BTreeSet<&str> = s
        .find("arize_task_info", &[])
        .iter()
        .map(|x| x.labels["task_id"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["upper", "lower"]));
    assert_eq!(
        s.value(
            "arize_tasks",
            &[("task_type", "template_evaluation"), ("mode", "one_off")]
        ),
        0.0
    );
}

// ---------------------------------------------------------------------------
// The exposition
// ---------------------------------------------------------------------------

#[tokio::test]
async fn before_any_poll_the_task_families_are_absent_and_arize_up_is_0() {
    let h = Harness::new(vec![te("a", "a")], &[]).await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 0.0);
    // Nothing is known yet: zeros would read as "nothing wrong".
    let task_families: Vec<&str> = s
        .names()
        .into_iter()
        .filter(|n| n.starts_with("arize_task"))
        .collect();
    assert!(task_families.is_empty(), "{task_families:?}");
    assert_eq!(s.value("arize_exporter_poll_interval_seconds", &[]), 60.0);
    assert!(s
        .get("arize_exporter_last_success_timestamp_seconds", &[])
        .is_none());
    assert!(s.find("arize_task_info", &[]).is_empty());
    assert_eq!(s.value("arize_exporter_build_info", &[]), 1.0);
    assert_eq!(h.sim.request_count(), 0);
}

#[tokio::test]
async fn per_task_metrics_false_drops_the_per_task_series() {
    let mut h = Harness::new(
        vec![te("a", "a"), te("b", "b")],
        &["--per-task-metrics", "false"],
    )
    .await;
    h.poll_ok().await;
    let s = h.scrape();
    // arize_task_runs_total is an aggregate (by type), not per task.
    assert!(
        s.samples
            .iter()
            .all(|x| !x.name.starts_with("arize_task_") || x.name == "arize_task_runs_total"),
        "{:?}",
        s.names()
    );
    assert_eq!(
        s.value(
            "arize_tasks",
            &[("task_type", "template_evaluation"), ("mode", "continuous")]
        ),
        2.0
    );
    assert_eq!(s.value("arize_up", &[]), 1.0);
}

#[tokio::test]
async fn every_family_has_help_and_the_cached_ones_say_so() {
    let mut h = Harness::new(generated_tasks(20, now()), &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    for family in SPEC_FAMILIES.iter().filter(|f| f.cached) {
        let name = family.name;
        let help = s
            .help
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no HELP"));
        assert!(help.contains("last complete poll"), "{name}: {help}");
        assert_eq!(s.types[name], family.kind, "{name}");
    }
    for family in SPEC_FAMILIES.iter().filter(|f| !f.cached) {
        assert_eq!(
            s.types.get(family.name).map(String::as_str),
            Some(family.kind),
            "{}",
            family.name
        );
    }
    let build = s.find("arize_exporter_build_info", &[]);
    assert_eq!(build[0].labels["version"], env!("CARGO_PKG_VERSION"));
    assert!(!build[0].labels["revision"].is_empty());
    assert!(
        s.samples.iter().any(|x| x.name.starts_with("process_")),
        "the process collector"
    );
}

// ---------------------------------------------------------------------------
// The request budget
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_rate_cap_spaces_requests_out() {
    let tasks: Vec<SimTask> = (0..5).map(|i| te(&format!("t{i}"), "t")).collect();
    let mut h = Harness::new(
        tasks,
        &["--page-size", "1", "--max-requests-per-second", "2"],
    )
    .await;
    let started = Instant::now();
    h.poll_ok().await;
    let took = started.elapsed();
    assert_eq!(task_requests(&h.sim).len(), 5);
    // A burst of 2, then one every 500 ms: the fifth request waits ~1.5 s.
    assert!(
        took >= Duration::from_millis(1400),
        "5 requests in {took:?}"
    );
}

#[tokio::test]
async fn the_rate_cap_counts_retries() {
    let mut h = Harness::new(
        vec![te("a", "a")],
        &["--max-requests-per-second", "1", "--max-retries", "3"],
    )
    .await;
    // Retry-After 0 removes the backoff: only the budget spaces the tries.
    for _ in 0..2 {
        h.sim.push(Scripted::Problem {
            status: 429,
            title: "Too Many Requests".into(),
            detail: "x".into(),
            retry_after: Some("0".into()),
        });
    }
    let started = Instant::now();
    h.poll_ok().await;
    let took = started.elapsed();
    assert_eq!(task_requests(&h.sim).len(), 3);
    assert!(
        took >= Duration::from_millis(1900),
        "3 requests at 1/s in {took:?}"
    );
}

// ---------------------------------------------------------------------------
// The poll loop
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn polls_never_overlap_and_a_slow_poll_delays_the_next() {
    let h = Harness::new(
        vec![te("a", "a")],
        &["--request-timeout", "10s", "--poll-interval", "100ms"],
    )
    .await;
    let Harness { sim, app, .. } = h;
    sim.push(Scripted::Delay(Duration::from_millis(1500)));
    let loop_task = tokio::spawn(app.poller.run());
    eventually(Duration::from_secs(5), "the first request", || {
        task_requests(&sim).len() == 1
    })
    .await;
    let first_seen = Instant::now();
    // The first poll cannot end before its 1.5 s answer: no second poll
    // may start meanwhile, whatever the 100 ms interval says.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sim.request_count(), 1, "a second poll overlapped the first");
    // Once it ends, the next one starts at once (it is overdue).
    eventually(Duration::from_secs(5), "the next poll", || {
        task_requests(&sim).len() >= 2
    })
    .await;
    assert!(first_seen.elapsed() >= Duration::from_millis(1400));
    loop_task.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_are_spaced_by_the_interval_start_to_start() {
    let h = Harness::new(vec![te("a", "a")], &["--poll-interval", "400ms"]).await;
    let Harness {
        sim, app, state, ..
    } = h;
    let started = Instant::now();
    let loop_task = tokio::spawn(app.poller.run());
    eventually(Duration::from_secs(10), "three polls", || {
        task_requests(&sim).len() >= 3
    })
    .await;
    // The first poll at start, the third two intervals later.
    assert!(
        started.elapsed() >= Duration::from_millis(790),
        "{:?}",
        started.elapsed()
    );
    assert!(state.load().up());
    loop_task.abort();
}
