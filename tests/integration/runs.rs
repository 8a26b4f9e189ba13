//! Task runs, in process: the real client, poller, snapshot and renderer
//! against the project's simulated Arize API over HTTP on loopback. Which
//! tasks are asked, how many requests a poll makes, failures that stay
//! local, the newest run whatever the order, the run interval and the
//! per-task stale threshold, and the exact values served.

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;

use arize_exporter::arize::runs::RunStatus;
use arize_sim::{RunOrder, Scripted, SimRun, SimTask, Simulator};
use serde_json::json;
use support::exporter::*;
use support::scenarios::mistyped_runs;
use time::OffsetDateTime;

const RUNS_ENDPOINT: &str = "/v2/tasks/{task_id}/runs";

/// Now, in whole seconds (the API writes milliseconds).
fn now() -> OffsetDateTime {
    at(OffsetDateTime::now_utc().unix_timestamp())
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// A continuous template evaluation task that last ran `secs` ago.
fn ran(id: &str, secs: i64) -> SimTask {
    SimTask::new(id, id, "TEMPLATE_EVALUATION", true, ago(secs))
}

/// The task ids of every runs request the simulator saw, in order.
fn run_requests(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .iter()
        .filter_map(|r| r.runs_task_id())
        .collect()
}

/// The runs requests of the next poll.
async fn poll_run_requests(h: &mut Harness) -> Vec<String> {
    let before = run_requests(&h.sim).len();
    h.poll_ok().await;
    run_requests(&h.sim)[before..].to_vec()
}

/// `n` completed runs `gap` seconds apart, the newest created at `newest`.
fn history(n: i64, gap: i64, newest: OffsetDateTime) -> Vec<SimRun> {
    (0..n)
        .map(|k| SimRun::completed(newest - time::Duration::seconds(k * gap), 100 + k, 1, 2))
        .collect()
}

fn run_errors(s: &Scrape, reason: &str) -> f64 {
    s.value(
        "arize_exporter_task_run_errors_total",
        &[("reason", reason)],
    )
}

fn total_run_errors(s: &Scrape) -> f64 {
    s.find("arize_exporter_task_run_errors_total", &[])
        .iter()
        .map(|x| x.value)
        .sum()
}

fn status_of(s: &Scrape, id: &str) -> Option<String> {
    let found = s.find("arize_task_last_run_status", &[("task_id", id)]);
    assert!(found.len() <= 1, "one status series per task: {found:?}");
    found.first().map(|x| {
        assert_eq!(x.value, 1.0);
        x.labels["status"].clone()
    })
}

// ---------------------------------------------------------------------------
// Which tasks are asked, and how many requests a poll makes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_tasks_that_ran_since_their_runs_were_read_are_asked() {
    let mut tasks: Vec<SimTask> = (0..9).map(|k| ran(&format!("t{k}"), 600)).collect();
    tasks.push(SimTask::new(
        "never",
        "never",
        "CODE_EVALUATION",
        true,
        None,
    ));
    let mut h = Harness::new(tasks.clone(), &[]).await;

    let first: BTreeSet<String> = poll_run_requests(&mut h).await.into_iter().collect();
    let expected: BTreeSet<String> = (0..9).map(|k| format!("t{k}")).collect();
    assert_eq!(
        first, expected,
        "every task that ran, once; never the never-run one"
    );
    assert!(h
        .scrape()
        .find("arize_task_last_run_status", &[("task_id", "never")])
        .is_empty());

    assert_eq!(
        poll_run_requests(&mut h).await,
        Vec::<String>::new(),
        "nothing ran"
    );

    // One of the ten ran since: exactly one run request, for it, and one
    // list request.
    tasks[4] = ran("t4", 5);
    h.sim.set_tasks(tasks);
    let list_before = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/tasks")
        .count();
    assert_eq!(poll_run_requests(&mut h).await, ["t4"]);
    let lists = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/tasks")
        .count();
    assert_eq!(lists - list_before, 1);
    let s = h.scrape();
    assert_eq!(s.value("arize_exporter_task_runs_backlog", &[]), 0.0);
    assert_eq!(total_run_errors(&s), 0.0);
}

#[tokio::test]
async fn a_run_in_progress_is_read_again_until_it_finishes() {
    let newest = now() - time::Duration::minutes(1);
    let task = ran("busy", 60).with_runs(vec![
        SimRun::completed(newest - time::Duration::minutes(5), 10, 0, 0).with_id("old"),
        SimRun::running(newest).with_id("current"),
    ]);
    let idle = ran("idle", 60).with_runs(history(1, 300, newest));
    let mut h = Harness::new(vec![task, idle], &[]).await;
    assert_eq!(poll_run_requests(&mut h).await.len(), 2);
    assert_eq!(status_of(&h.scrape(), "busy").as_deref(), Some("running"));
    assert_eq!(
        h.scrape()
            .task_value("arize_task_last_run_successes", "busy"),
        10.0,
        "the items are those of the newest finished run"
    );

    assert_eq!(poll_run_requests(&mut h).await, ["busy"], "still running");
    assert!(h.sim.complete_run("busy", "current", 4321, 7, 3));
    assert_eq!(poll_run_requests(&mut h).await, ["busy"]);
    let s = h.scrape();
    assert_eq!(status_of(&s, "busy").as_deref(), Some("completed"));
    assert_eq!(
        s.task_value("arize_task_last_run_successes", "busy"),
        4321.0
    );
    assert_eq!(s.task_value("arize_task_last_run_errors", "busy"), 7.0);
    assert_eq!(s.task_value("arize_task_last_run_skipped", "busy"), 3.0);
    assert_eq!(
        s.value(
            "arize_task_runs_total",
            &[
                ("task_type", "template_evaluation"),
                ("status", "completed")
            ]
        ),
        3.0,
        "idle's run, busy's old run, then its current one once finished"
    );
    assert_eq!(
        poll_run_requests(&mut h).await,
        Vec::<String>::new(),
        "finished"
    );
}

#[tokio::test]
async fn the_cap_holds_and_the_rest_wait_oldest_first() {
    let ids: Vec<String> = (0..7).map(|k| format!("t{k}")).collect();
    let tasks: Vec<SimTask> = ids.iter().map(|id| ran(id, 600)).collect();
    let mut h = Harness::new(tasks, &["--max-run-requests-per-poll", "3"]).await;
    let backlog = |h: &Harness| h.scrape().value("arize_exporter_task_runs_backlog", &[]);

    assert_eq!(poll_run_requests(&mut h).await, ["t0", "t1", "t2"]);
    assert_eq!(backlog(&h), 4.0);
    assert_eq!(poll_run_requests(&mut h).await, ["t3", "t4", "t5"]);
    assert_eq!(backlog(&h), 1.0);
    assert_eq!(poll_run_requests(&mut h).await, ["t6"]);
    assert_eq!(backlog(&h), 0.0);

    // All ran again, listed in reverse: the oldest run data goes first,
    // whatever the list order.
    let tasks: Vec<SimTask> = ids.iter().rev().map(|id| ran(id, 5)).collect();
    h.sim.set_tasks(tasks);
    let read: BTreeSet<String> = poll_run_requests(&mut h).await.into_iter().collect();
    assert_eq!(read, ["t0", "t1", "t2"].map(String::from).into());
    assert_eq!(backlog(&h), 4.0);
    assert_eq!(total_run_errors(&h.scrape()), 0.0);
}

#[tokio::test]
async fn every_page_and_every_retry_counts_against_the_cap() {
    // 45 runs oldest first: three pages of 20 to reach the newest.
    let newest = now() - time::Duration::minutes(1);
    let tasks = vec![
        ran("paged", 60).with_runs(history(45, 300, newest)),
        ran("b", 60),
        ran("c", 60),
    ];
    let mut h = Harness::new(tasks, &["--max-run-requests-per-poll", "4"]).await;
    h.sim.set_task_run_order("paged", RunOrder::OldestFirst);
    assert_eq!(
        poll_run_requests(&mut h).await,
        ["paged", "paged", "paged", "b"]
    );
    let s = h.scrape();
    assert_eq!(
        s.value("arize_exporter_task_runs_backlog", &[]),
        1.0,
        "c waits"
    );
    assert_eq!(
        s.task_value("arize_task_last_run_finished_timestamp_seconds", "paged"),
        (newest + time::Duration::seconds(91)).unix_timestamp() as f64,
        "the newest run, from the last page"
    );

    // A cap below the pages needed: the newest of the pages read, the
    // shortfall counted, and the task not asked again until it runs.
    let mut h = Harness::new(
        vec![ran("paged", 60).with_runs(history(45, 300, newest))],
        &["--max-run-requests-per-poll", "2"],
    )
    .await;
    h.sim.set_task_run_order("paged", RunOrder::OldestFirst);
    assert_eq!(poll_run_requests(&mut h).await, ["paged", "paged"]);
    let s = h.scrape();
    assert_eq!(run_errors(&s, "pagination"), 1.0);
    assert_eq!(
        s.task_value("arize_task_last_run_finished_timestamp_seconds", "paged"),
        (newest - time::Duration::seconds(5 * 300) + time::Duration::seconds(91)).unix_timestamp()
            as f64,
        "the newest of the 40 oldest runs"
    );
    assert_eq!(poll_run_requests(&mut h).await, Vec::<String>::new());

    // Retries: two attempts fit, the third would not be sent.
    let mut h = Harness::new(
        vec![ran("a", 60), ran("b", 60)],
        &["--max-run-requests-per-poll", "2", "--max-retries", "3"],
    )
    .await;
    for _ in 0..5 {
        h.sim
            .push_task_runs("a", Scripted::problem(500, "Internal Server Error", "boom"));
    }
    assert_eq!(poll_run_requests(&mut h).await, ["a", "a"]);
    let s = h.scrape();
    assert_eq!(run_errors(&s, "server_error"), 1.0);
    assert_eq!(s.value("arize_exporter_task_runs_backlog", &[]), 1.0);
    assert_eq!(s.value("arize_up", &[]), 1.0);
}

#[tokio::test]
async fn no_run_request_at_all_with_task_runs_false() {
    let mut h = Harness::new(vec![ran("a", 60), ran("b", 60)], &["--task-runs", "false"]).await;
    h.poll_ok().await;
    h.poll_ok().await;
    assert_eq!(run_requests(&h.sim), Vec::<String>::new());
    let s = h.scrape();
    for family in [
        "arize_task_last_run_status",
        "arize_task_run_interval_seconds",
        "arize_tasks_last_run_failed",
        "arize_task_runs_total",
    ] {
        assert!(s.find(family, &[]).is_empty(), "{family}");
    }
    // Without runs, the threshold is --stale-after.
    assert_eq!(
        s.task_value("arize_task_stale_threshold_seconds", "a"),
        3600.0
    );
    assert_eq!(s.value("arize_exporter_task_runs_backlog", &[]), 0.0);
}

// ---------------------------------------------------------------------------
// Failures stay local
// ---------------------------------------------------------------------------

/// Three tasks that ran, read once successfully, then all ran again (the
/// same runs served: a read that succeeds changes nothing).
async fn read_once_then_ran_again(extra: &[&str]) -> Harness {
    let runs = history(3, 300, now() - time::Duration::minutes(10));
    let task = |id: &str, secs| ran(id, secs).with_runs(runs.clone());
    let tasks: Vec<SimTask> = ["a", "b", "c"].iter().map(|id| task(id, 600)).collect();
    let mut h = Harness::new(tasks, extra).await;
    h.poll_ok().await;
    assert_eq!(run_requests(&h.sim).len(), 3);
    for id in ["a", "b", "c"] {
        assert!(status_of(&h.scrape(), id).is_some(), "{id}");
    }
    h.sim
        .set_tasks(["a", "b", "c"].iter().map(|id| task(id, 5)).collect());
    h
}

/// The poll succeeded, every task is still served with its earlier run
/// data, and the run errors are exactly `errors`.
fn assert_local(h: &Harness, before: &Scrape, errors: &[(&str, f64)]) {
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(s.total_tasks(), 3.0);
    assert_eq!(
        s.poll_errors("unauthorized") + s.poll_errors("rate_limited"),
        0.0
    );
    for id in ["a", "b", "c"] {
        assert_eq!(
            status_of(&s, id),
            status_of(before, id),
            "{id} keeps its run data"
        );
        assert!(!s.find("arize_task_info", &[("task_id", id)]).is_empty());
    }
    for reason in [
        "unauthorized",
        "rate_limited",
        "server_error",
        "client_error",
        "timeout",
        "transport",
        "decode",
        "pagination",
    ] {
        let want = errors
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0.0, |(_, n)| *n);
        assert_eq!(run_errors(&s, reason), want, "{reason}");
    }
}

#[tokio::test]
async fn a_final_429_stops_the_run_requests_of_the_poll() {
    let mut h = read_once_then_ran_again(&["--max-retries", "0"]).await;
    let before = h.scrape();
    h.sim
        .push_runs(Scripted::problem(429, "Too Many Requests", "slow down"));
    assert_eq!(
        poll_run_requests(&mut h).await.len(),
        1,
        "nothing after the 429"
    );
    assert_local(&h, &before, &[("rate_limited", 1.0)]);
    assert_eq!(
        h.scrape().value("arize_exporter_task_runs_backlog", &[]),
        2.0
    );
    // The next poll reads all three.
    assert_eq!(poll_run_requests(&mut h).await.len(), 3);
}

#[tokio::test]
async fn unauthorized_stops_the_run_requests_of_the_poll() {
    let mut h = read_once_then_ran_again(&[]).await;
    let before = h.scrape();
    h.sim
        .push_runs(Scripted::problem(403, "Forbidden", "no access to runs"));
    assert_eq!(poll_run_requests(&mut h).await.len(), 1);
    assert_local(&h, &before, &[("unauthorized", 1.0)]);
}

#[tokio::test]
async fn a_404_is_normal_and_a_500_is_retried_then_counted() {
    let mut h = read_once_then_ran_again(&["--max-retries", "1"]).await;
    let before = h.scrape();
    h.sim
        .push_task_runs("a", Scripted::problem(404, "Not Found", "deleted"));
    for _ in 0..2 {
        h.sim
            .push_task_runs("b", Scripted::problem(500, "Internal Server Error", "boom"));
    }
    assert_eq!(poll_run_requests(&mut h).await, ["a", "b", "b", "c"]);
    assert_local(&h, &before, &[("server_error", 1.0)]);
    let s = h.scrape();
    assert_eq!(
        s.counter(
            "arize_exporter_api_requests_total",
            &[("endpoint", RUNS_ENDPOINT), ("code", "500")]
        ),
        2.0
    );
    assert_eq!(
        s.counter(
            "arize_exporter_api_requests_total",
            &[("endpoint", RUNS_ENDPOINT), ("code", "404")]
        ),
        1.0
    );
}

#[tokio::test]
async fn bad_bodies_cost_the_read_never_the_poll() {
    let mut h = read_once_then_ran_again(&[]).await;
    let before = h.scrape();
    h.sim.push_task_runs(
        "a",
        Scripted::Raw {
            status: 200,
            content_type: "application/json".into(),
            body: b"<html>not json</html>".to_vec(),
        },
    );
    h.sim.push_task_runs(
        "b",
        Scripted::json(
            200,
            &json!({"task_runs": {"not": "a list"}, "pagination": {"has_more": false}}),
        ),
    );
    // A cursor loop: c's runs oldest first, the same cursor twice.
    h.sim.set_task_run_order("c", RunOrder::OldestFirst);
    h.sim.push_task_runs("c", Scripted::RepeatCursor);
    h.sim.push_task_runs("c", Scripted::RepeatCursor);
    assert_eq!(poll_run_requests(&mut h).await, ["a", "b", "c", "c"]);
    assert_local(&h, &before, &[("decode", 2.0), ("pagination", 1.0)]);
}

#[tokio::test]
async fn mistyped_fields_and_huge_reasons_keep_the_run() {
    let newest = now() - time::Duration::minutes(1);
    let runs = mistyped_runs(newest);
    let mut h = Harness::new(vec![ran("odd", 60).with_runs(runs)], &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(status_of(&s, "odd").as_deref(), Some("failed"));
    assert_eq!(s.task_value("arize_task_last_run_skipped", "odd"), 0.0);
    assert!(s
        .get("arize_task_last_run_errors", &[("task_id", "odd")])
        .is_none());
    assert!(s
        .get("arize_task_last_run_successes", &[("task_id", "odd")])
        .is_none());
    assert!(s
        .get(
            "arize_task_last_run_duration_seconds",
            &[("task_id", "odd")]
        )
        .is_none());
    assert!(!h.render().contains("reason reason"), "never a label");
    let published = h.state.load();
    let task = published.snapshot.as_ref().unwrap().tasks[0].clone();
    let reason = task
        .newest_finished_run()
        .unwrap()
        .failure_reason
        .as_deref()
        .unwrap();
    assert!(reason.starts_with("reason reason") && reason.ends_with('…'));
    assert!(reason.len() <= 1024 + '…'.len_utf8(), "{}", reason.len());
}

// ---------------------------------------------------------------------------
// The newest run, whatever the order and the case
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_newest_run_is_found_whatever_the_order() {
    let newest = now() - time::Duration::minutes(1);
    // 45 runs five minutes apart; the newest failed.
    let mut runs = history(45, 300, newest);
    runs[0] = SimRun::failed(newest, "it broke");
    let tasks = ["desc", "asc", "shuffled"]
        .iter()
        .map(|id| ran(id, 60).with_runs(runs.clone()))
        .collect();
    let mut h = Harness::new(tasks, &[]).await;
    h.sim.set_task_run_order("desc", RunOrder::NewestFirst);
    h.sim.set_task_run_order("asc", RunOrder::OldestFirst);
    h.sim.set_task_run_order("shuffled", RunOrder::Shuffled);
    let requests = poll_run_requests(&mut h).await;
    let count = |id: &str| requests.iter().filter(|r| *r == id).count();
    assert_eq!(count("desc"), 1, "newest first: the first page is enough");
    assert_eq!(count("asc"), 3, "oldest first: every page");
    assert_eq!(count("shuffled"), 3, "no order: every page");
    let s = h.scrape();
    let finished = (newest + time::Duration::seconds(91)).unix_timestamp() as f64;
    for id in ["desc", "asc", "shuffled"] {
        assert_eq!(status_of(&s, id).as_deref(), Some("failed"), "{id}");
        assert_eq!(
            s.task_value("arize_task_last_run_finished_timestamp_seconds", id),
            finished,
            "{id}"
        );
        assert_eq!(
            s.task_value("arize_task_last_run_successes", id),
            212.0,
            "{id}"
        );
        assert_eq!(
            s.task_value("arize_task_run_interval_seconds", id),
            300.0,
            "{id}"
        );
    }
    assert_eq!(
        s.value(
            "arize_tasks_last_run_failed",
            &[("task_type", "template_evaluation")]
        ),
        3.0
    );
}

#[tokio::test]
async fn statuses_are_read_in_any_case_and_unknown_ones_kept() {
    let newest = now() - time::Duration::minutes(1);
    let one = |status: &str| vec![SimRun::new(status, newest)];
    let tasks = vec![
        ran("upper", 60).with_runs(one("COMPLETED")),
        ran("lower", 60).with_runs(one("failed")),
        ran("mixed", 60).with_runs(one("Cancelled")),
        ran("new", 60).with_runs(one("Timed_Out")),
        ran("pending", 60).with_runs(one("pending")),
    ];
    let mut h = Harness::new(tasks, &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    for (id, status) in [
        ("upper", "completed"),
        ("lower", "failed"),
        ("mixed", "cancelled"),
        ("new", "timed_out"),
        ("pending", "pending"),
    ] {
        assert_eq!(status_of(&s, id).as_deref(), Some(status), "{id}");
    }
    // An unknown status is not finished: no items, and not a failure.
    assert!(s
        .get("arize_task_last_run_successes", &[("task_id", "new")])
        .is_none());
    assert_eq!(
        s.value(
            "arize_tasks_last_run_failed",
            &[("task_type", "template_evaluation")]
        ),
        1.0
    );
    let counted = |status: &str| {
        s.value(
            "arize_task_runs_total",
            &[("task_type", "template_evaluation"), ("status", status)],
        )
    };
    assert_eq!(
        [
            counted("completed"),
            counted("failed"),
            counted("cancelled")
        ],
        [1.0, 1.0, 1.0]
    );
    assert_eq!(
        h.state.load().snapshot.as_ref().unwrap().tasks[3]
            .newest_run_status()
            .map(RunStatus::as_str),
        Some("timed_out")
    );
}

// ---------------------------------------------------------------------------
// The run interval and the stale threshold
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_stale_threshold_follows_each_tasks_cadence() {
    // Five-minute cadence, last run 20 minutes ago; six-hour cadence, last
    // run two hours ago; two runs only (interval unknown), 2 hours ago.
    let five = now() - time::Duration::minutes(20);
    let six = now() - time::Duration::hours(2);
    let tasks = vec![
        SimTask::new("five", "five", "TEMPLATE_EVALUATION", true, Some(five))
            .with_runs(history(12, 300, five)),
        SimTask::new("six", "six", "CODE_EVALUATION", true, Some(six)).with_runs(history(
            12,
            6 * 3600,
            six,
        )),
        SimTask::new("two", "two", "TEMPLATE_EVALUATION", true, Some(six))
            .with_runs(history(2, 300, six)),
        SimTask::new("once", "once", "CODE_EVALUATION", false, Some(six))
            .with_runs(history(5, 300, six)),
    ];
    let mut h = Harness::new(tasks.clone(), &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(
        s.task_value("arize_task_run_interval_seconds", "five"),
        300.0
    );
    assert_eq!(
        s.task_value("arize_task_stale_threshold_seconds", "five"),
        900.0
    );
    assert_eq!(
        s.task_value("arize_task_run_interval_seconds", "six"),
        21600.0
    );
    assert_eq!(
        s.task_value("arize_task_stale_threshold_seconds", "six"),
        64800.0
    );
    assert!(s
        .get("arize_task_run_interval_seconds", &[("task_id", "two")])
        .is_none());
    assert_eq!(
        s.task_value("arize_task_stale_threshold_seconds", "two"),
        3600.0
    );
    assert!(
        s.get("arize_task_stale_threshold_seconds", &[("task_id", "once")])
            .is_none(),
        "continuous tasks only"
    );
    // The same rule decides arize_tasks_stale: five (20 min > 15 min) and
    // two (2 h > 1 h) are stale; six (2 h < 18 h) is not.
    let stale = |t: &str| s.value("arize_tasks_stale", &[("task_type", t)]);
    assert_eq!(stale("template_evaluation"), 2.0);
    assert_eq!(stale("code_evaluation"), 0.0);

    // --stale-after-intervals 0: --stale-after for every task.
    let mut h = Harness::new(tasks.clone(), &["--stale-after-intervals", "0"]).await;
    h.poll_ok().await;
    let s = h.scrape();
    for id in ["five", "six", "two"] {
        assert_eq!(
            s.task_value("arize_task_stale_threshold_seconds", id),
            3600.0,
            "{id}"
        );
    }
    // five (20 min < 1 h) is no longer stale; six (2 h) now is.
    let stale = |t: &str| s.value("arize_tasks_stale", &[("task_type", t)]);
    assert_eq!(stale("template_evaluation"), 1.0);
    assert_eq!(stale("code_evaluation"), 1.0);

    // The floor: a one-minute cadence gives 10 minutes, not 3.
    let mut h = Harness::new(
        vec![ran("fast", 30).with_runs(history(5, 60, now() - time::Duration::seconds(30)))],
        &[],
    )
    .await;
    h.poll_ok().await;
    assert_eq!(
        h.scrape()
            .task_value("arize_task_stale_threshold_seconds", "fast"),
        600.0
    );
}

// ---------------------------------------------------------------------------
// Exact values, labels, and what survives
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_run_families_serve_exact_values() {
    let base = 1_780_000_000;
    let runs = vec![
        SimRun::completed(at(base), 500, 5, 50).with_id("r1"),
        SimRun::completed(at(base + 600), 400, 4, 40).with_id("r2"),
        SimRun::failed(at(base + 1200), "The evaluator's key was revoked").with_id("r3"),
    ];
    let task = SimTask::new(
        "exact",
        "Exact",
        "CODE_EVALUATION",
        true,
        Some(at(base + 1291)),
    )
    .with_runs(runs);
    let mut h = Harness::new(vec![task], &[]).await;
    h.poll_ok().await;
    let s = h.scrape();
    let v = |name: &str| s.task_value(name, "exact");
    assert_eq!(status_of(&s, "exact").as_deref(), Some("failed"));
    assert_eq!(v("arize_task_last_run_successes"), 212.0);
    assert_eq!(v("arize_task_last_run_errors"), 0.0);
    assert_eq!(v("arize_task_last_run_skipped"), 0.0);
    assert_eq!(v("arize_task_last_run_duration_seconds"), 90.0);
    assert_eq!(
        v("arize_task_last_run_finished_timestamp_seconds"),
        (base + 1291) as f64
    );
    assert_eq!(
        v("arize_task_last_successful_run_timestamp_seconds"),
        (base + 691) as f64
    );
    assert_eq!(v("arize_task_run_interval_seconds"), 600.0);
    assert_eq!(v("arize_task_stale_threshold_seconds"), 1800.0);
    let labels = &s.find("arize_task_last_run_status", &[("task_id", "exact")])[0].labels;
    assert_eq!(
        labels.keys().map(String::as_str).collect::<Vec<_>>(),
        ["mode", "status", "task_id", "task_name", "task_type"]
    );
    assert_eq!(
        s.value(
            "arize_tasks_last_run_failed",
            &[("task_type", "code_evaluation")]
        ),
        1.0
    );
    for t in ["template_evaluation", "run_experiment"] {
        assert_eq!(
            s.value("arize_tasks_last_run_failed", &[("task_type", t)]),
            0.0
        );
    }
    let counted = |s: &Scrape, status: &str| {
        s.value(
            "arize_task_runs_total",
            &[("task_type", "code_evaluation"), ("status", status)],
        )
    };
    assert_eq!(
        (counted(&s, "completed"), counted(&s, "failed")),
        (2.0, 1.0)
    );
    assert_eq!(
        s.value(
            "arize_task_runs_total",
            &[("task_type", "run_experiment"), ("status", "cancelled")]
        ),
        0.0,
        "known types and statuses present from the first poll"
    );
    assert_eq!(s.types["arize_task_runs_total"], "counter");

    // A new run: counted once, over two polls.
    assert_eq!(h.sim.runs("exact").map(|r| r.len()), Some(3));
    h.sim.set_runs(
        "exact",
        vec![
            SimRun::completed(at(base), 500, 5, 50).with_id("r1"),
            SimRun::completed(at(base + 600), 400, 4, 40).with_id("r2"),
            SimRun::failed(at(base + 1200), "x").with_id("r3"),
            SimRun::completed(at(base + 1800), 9, 0, 0).with_id("r4"),
        ],
    );
    h.sim.set_tasks(vec![SimTask::new(
        "exact",
        "Exact",
        "CODE_EVALUATION",
        true,
        Some(at(base + 1891)),
    )]);
    h.poll_ok().await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(
        (counted(&s, "completed"), counted(&s, "failed")),
        (3.0, 1.0)
    );
    assert_eq!(status_of(&s, "exact").as_deref(), Some("completed"));
    assert_eq!(
        s.value(
            "arize_tasks_last_run_failed",
            &[("task_type", "code_evaluation")]
        ),
        0.0
    );
    assert_eq!(
        s.task_value("arize_task_last_successful_run_timestamp_seconds", "exact"),
        (base + 1891) as f64
    );
}

#[tokio::test]
async fn an_id_holding_a_slash_reaches_its_task_and_never_a_label() {
    let id = "VGFzazo/MTIz+YQ==/x";
    let newest = now() - time::Duration::minutes(1);
    let task = ran(id, 60).with_runs(vec![SimRun::failed(newest, "x")]);
    let mut h = Harness::new(vec![task, ran("plain", 60)], &[]).await;
    h.poll_ok().await;
    let runs: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.runs_task_id().is_some())
        .collect();
    let sent = runs
        .iter()
        .find(|r| r.runs_task_id().as_deref() == Some(id))
        .unwrap();
    assert!(
        sent.path.contains("%2F") && !sent.path.contains("/x/"),
        "{}",
        sent.path
    );
    assert_eq!(sent.param("limit"), Some("20"));
    let s = h.scrape();
    assert_eq!(status_of(&s, id).as_deref(), Some("failed"));
    let endpoints: BTreeSet<&str> = s
        .find("arize_exporter_api_requests_total", &[])
        .iter()
        .map(|x| x.labels["endpoint"].as_str())
        .collect();
    assert_eq!(
        endpoints,
        BTreeSet::from([
            "/v2/tasks",
            RUNS_ENDPOINT,
            "/v2/spaces",
            "/v2/projects",
            "/v2/datasets"
        ]),
        "path templates, never an id"
    );
    assert_eq!(
        s.value(
            "arize_exporter_api_requests_total",
            &[("endpoint", RUNS_ENDPOINT), ("code", "200")]
        ),
        2.0
    );
}

#[tokio::test]
async fn run_data_survives_polls_and_vanishes_with_its_task() {
    let newest = now() - time::Duration::minutes(1);
    let tasks = vec![
        ran("keep", 60).with_runs(vec![SimRun::failed(newest, "x")]),
        ran("other", 60).with_runs(history(3, 300, newest)),
    ];
    let mut h = Harness::new(tasks.clone(), &[]).await;
    h.poll_ok().await;
    let first = h.state.load().snapshot.clone().unwrap();
    h.poll_ok().await;
    let second = h.state.load().snapshot.clone().unwrap();
    for k in 0..2 {
        let (was, is) = (&first.tasks[k], &second.tasks[k]);
        assert!(
            Arc::ptr_eq(&was.definition, &is.definition)
                && Arc::ptr_eq(was.runs.as_ref().unwrap(), is.runs.as_ref().unwrap()),
            "unchanged tasks share memory, run data included"
        );
    }
    // Ran again, and the read fails: the earlier run data stays.
    h.sim.set_tasks(vec![
        ran("keep", 5).with_runs(vec![SimRun::completed(newest, 1, 1, 1)]),
        tasks[1].clone(),
    ]);
    h.sim
        .push_task_runs("keep", Scripted::problem(500, "Internal Server Error", "x"));
    h.sim
        .push_task_runs("keep", Scripted::problem(500, "Internal Server Error", "x"));
    h.poll_ok().await;
    assert_eq!(status_of(&h.scrape(), "keep").as_deref(), Some("failed"));
    // Deleted: every series of the task goes.
    h.sim.set_tasks(vec![tasks[1].clone()]);
    h.poll_ok().await;
    let s = h.scrape();
    assert!(s.task_series("keep").is_empty());
    assert_eq!(
        s.value(
            "arize_tasks_last_run_failed",
            &[("task_type", "template_evaluation")]
        ),
        0.0
    );
}

/// The roll-ups of stuck and lagging tasks count what the per-task series
/// show, and stay with `--per-task-metrics=false` (they read no per-task
/// series): a one-off run running for 2 h (`--stale-after` 1 h) is stuck,
/// one running for 10 min is not; a continuous task that ran a minute ago
/// over data 3 h old lags, one over fresh data does not, nor a stale one.
#[tokio::test]
async fn stuck_and_lagging_tasks_are_counted_with_and_without_per_task_series() {
    let now = now();
    let minutes = |m: i64| now - time::Duration::minutes(m);
    let window = |run: SimRun, data_end: OffsetDateTime| {
        run.with_data_window(Some(data_end - time::Duration::hours(1)), Some(data_end))
    };
    let tasks = vec![
        SimTask::new("stuck", "stuck", "TEMPLATE_EVALUATION", false, ago(7200))
            .with_runs(vec![SimRun::running(minutes(120))]),
        SimTask::new("busy", "busy", "TEMPLATE_EVALUATION", false, ago(600))
            .with_runs(vec![SimRun::running(minutes(10))]),
        ran("behind", 60).with_runs(vec![window(
            SimRun::completed(minutes(1), 10, 0, 0),
            minutes(180),
        )]),
        ran("current", 60).with_runs(vec![window(
            SimRun::completed(minutes(1), 10, 0, 0),
            minutes(2),
        )]),
        // Stopped 3 h ago over data 4 h old: stale, so no longer lagging.
        ran("stopped", 3 * 3600).with_runs(vec![window(
            SimRun::completed(minutes(180), 10, 0, 0),
            minutes(240),
        )]),
    ];
    for per_task in ["true", "false"] {
        let mut h = Harness::new(tasks.clone(), &["--per-task-metrics", per_task]).await;
        h.poll_ok().await;
        let s = h.scrape();
        let count = |name: &str| s.value(name, &[("task_type", "template_evaluation")]);
        assert_eq!(count("arize_tasks_stuck"), 1.0, "per-task {per_task}");
        assert_eq!(count("arize_tasks_lagging"), 1.0, "per-task {per_task}");
        assert_eq!(
            s.value("arize_tasks_stuck", &[("task_type", "code_evaluation")]),
            0.0,
            "every known type"
        );
        if per_task == "true" {
            let started = s.task_value("arize_task_last_run_started_timestamp_seconds", "stuck");
            // run_started_at: the simulator starts a run a second after
            // creating it.
            assert_eq!(started, minutes(120).unix_timestamp() as f64 + 1.0);
            let data_end = s.task_value("arize_task_last_run_data_end_timestamp_seconds", "behind");
            assert_eq!(data_end, minutes(180).unix_timestamp() as f64);
        }
    }
}
