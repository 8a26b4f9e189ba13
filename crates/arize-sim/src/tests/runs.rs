//! Tests of `GET /v2/tasks/{task_id}/runs`, over real HTTP on loopback.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::*;

/// The path of a task's runs, its id percent-encoded as one segment.
fn runs_path(task_id: &str) -> String {
    format!(
        "/v2/tasks/{}/runs",
        utf8_percent_encode(task_id, NON_ALPHANUMERIC)
    )
}

async fn get_runs(sim: &Simulator, task_id: &str, query: &[(&str, &str)]) -> Answer {
    get_with(sim, &runs_path(task_id), query, None).await
}

/// Every run of a task, following the cursor; and the number of pages.
async fn all_runs(sim: &Simulator, task_id: &str, query: &[(&str, &str)]) -> (Vec<Value>, usize) {
    let mut runs = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..=100 {
        let mut q = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let answer = get_runs(sim, task_id, &q).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let body = answer.json();
        runs.extend(body["task_runs"].as_array().unwrap().iter().cloned());
        if body["pagination"]["has_more"] == json!(true) {
            cursor = Some(
                body["pagination"]["next_cursor"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_eq!(body["pagination"], json!({"has_more": false}));
            return (runs, pages);
        }
    }
    panic!("more than 100 pages of runs");
}

fn ids(runs: &[Value]) -> Vec<&str> {
    runs.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

fn at(text: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(text.as_str().unwrap(), &Rfc3339).unwrap()
}

const RUN_FIELDS: [&str; 14] = [
    "id",
    "task_id",
    "experiment_id",
    "status",
    "run_started_at",
    "run_finished_at",
    "data_start_time",
    "data_end_time",
    "num_successes",
    "num_errors",
    "num_skipped",
    "created_at",
    "created_by_user_id",
    "failure_reason",
];

fn demo_task<'a>(demo: &'a [SimTask], name: &str) -> &'a SimTask {
    demo.iter().find(|t| t.json["name"] == name).unwrap()
}

#[tokio::test]
async fn demo_runs_have_histories_failures_and_runs_in_progress() {
    let demo = demo_tasks(now());
    let sim = Simulator::start(demo.clone()).await.unwrap();
    for task in &demo {
        let id = task.id().unwrap();
        let (runs, _) = all_runs(&sim, id, &[]).await;
        let served = get(&sim, &[("limit", "100")]).await.json();
        let served = served["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()
            .clone();
        if served["last_run_at"].is_null() {
            assert!(
                runs.is_empty(),
                "{}: a never-run task has no runs",
                task.json["name"]
            );
            continue;
        }
        assert!(!runs.is_empty(), "{}", task.json["name"]);
        for run in &runs {
            let keys: Vec<&str> = run
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut want = RUN_FIELDS.to_vec();
            want.sort_unstable();
            let mut keys = keys;
            keys.sort_unstable();
            assert_eq!(keys, want);
            assert_eq!(run["task_id"], id);
            assert!(
                RUN_STATUSES.contains(&run["status"].as_str().unwrap()),
                "{run}"
            );
            let failed = matches!(run["status"].as_str(), Some("FAILED" | "CANCELLED"));
            assert_eq!(run["failure_reason"].is_string(), failed, "{run}");
            if run["status"] == "COMPLETED" {
                assert!(run["num_successes"].as_i64().unwrap() > 0);
                assert!(at(&run["run_finished_at"]) > at(&run["run_started_at"]));
                assert!(at(&run["run_started_at"]) > at(&run["created_at"]));
            }
        }
        // Newest first by default; the newest ends at last_run_at.
        let created: Vec<OffsetDateTime> = runs.iter().map(|r| at(&r["created_at"])).collect();
        assert!(
            created.windows(2).all(|w| w[0] > w[1]),
            "{}",
            task.json["name"]
        );
        let newest = &runs[0];
        if newest["status"] == "RUNNING" {
            assert_eq!(at(&newest["run_started_at"]), at(&served["last_run_at"]));
        } else {
            assert_eq!(at(&newest["run_finished_at"]), at(&served["last_run_at"]));
        }
        // Continuous tasks: one run per cadence.
        if served["is_continuous"] == true && runs.len() > 2 {
            let cadence = time::Duration::try_from(cadence_of(task)).unwrap();
            let finished: Vec<OffsetDateTime> = runs
                .iter()
                .skip(1)
                .map(|r| at(&r["run_finished_at"]))
                .collect();
            assert!(finished.windows(2).all(|w| w[0] - w[1] == cadence));
        }
    }
    let newest = |name: &str| {
        let task = demo_task(&demo, name);
        sim.runs(task.id().unwrap()).unwrap()[0].clone()
    };
    let failing = newest("Toxicity Guardrail Monitor");
    assert_eq!(failing["status"], "FAILED");
    assert_eq!(failing["failure_reason"], FAILED_REASON);
    assert_eq!(newest("PII Leak Detector")["status"], "RUNNING");
    assert!(newest("PII Leak Detector")["run_finished_at"].is_null());
    assert_eq!(newest("Citation Format Check")["status"], "CANCELLED");
    assert_eq!(newest("Citation Format Check")["num_successes"], 0);
    // Different cadences among the continuous ones.
    let cadences: HashSet<Duration> = demo
        .iter()
        .filter(|t| t.json["is_continuous"] == true)
        .map(cadence_of)
        .collect();
    for minutes in [5, 60, 360] {
        assert!(
            cadences.contains(&Duration::from_secs(60 * minutes)),
            "{cadences:?}"
        );
    }
    // The experiment task's runs name an experiment and no data window.
    let experiment = demo_task(&demo, "Nightly Prompt Regression");
    for run in sim.runs(experiment.id().unwrap()).unwrap() {
        assert!(run["experiment_id"].is_string());
        assert!(run["data_start_time"].is_null());
    }
}

#[tokio::test]
async fn unknown_tasks_and_bad_parameters_are_refused() {
    let sim = Simulator::start(vec![SimTask::new(
        "t",
        "T",
        "CODE_EVALUATION",
        true,
        Some(now()),
    )])
    .await
    .unwrap();
    get_runs(&sim, "nope", &[]).await.assert_problem(404);
    get_with(&sim, "/v2/tasks//runs", &[], None)
        .await
        .assert_problem(404);
    get_with(&sim, "/v2/tasks/t/runs/extra", &[], None)
        .await
        .assert_problem(404);
    for (key, bad) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "x"),
        ("status", "DONE"),
        ("status", ""),
        ("cursor", "garbage"),
    ] {
        get_runs(&sim, "t", &[(key, bad)]).await.assert_problem(400);
    }
    // A cursor of the task list is not one of the runs.
    let tasks_cursor = encode_cursor("tasks", 1);
    get_runs(&sim, "t", &[("cursor", &tasks_cursor)])
        .await
        .assert_problem(400);
    assert_eq!(
        get_runs(&sim, "t", &[("status", "completed")]).await.status,
        200
    );
}

#[tokio::test]
async fn ids_with_slashes_plus_and_equals_are_one_decoded_segment() {
    let id = "T25s/aW5l+VGFz==";
    let sim = Simulator::start(vec![SimTask::new(
        id,
        "Odd id",
        "TEMPLATE_EVALUATION",
        true,
        Some(now()),
    )])
    .await
    .unwrap();
    let (runs, _) = all_runs(&sim, id, &[]).await;
    assert!(!runs.is_empty());
    assert!(runs.iter().all(|r| r["task_id"] == id));
    let recorded = sim.requests();
    let last = recorded.last().unwrap();
    assert_eq!(last.path, "/v2/tasks/T25s%2FaW5l%2BVGFz%3D%3D/runs");
    assert_eq!(last.runs_task_id().as_deref(), Some(id));
    // `+` and `=` may also come unencoded (they are legal in a path).
    let answer = get_with(&sim, "/v2/tasks/T25s%2FaW5l+VGFz==/runs", &[], None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["task_runs"][0]["task_id"], id);
    // A task-list request is not a runs request.
    let _ = get(&sim, &[]).await;
    assert_eq!(sim.requests().last().unwrap().runs_task_id(), None);
}

#[tokio::test]
async fn explicit_runs_pages_filters_and_orders() {
    let t0 = now() - time::Duration::hours(10);
    let hour = time::Duration::HOUR;
    let huge = "x".repeat(1 << 20);
    let runs = vec![
        SimRun::completed(t0, 10, 1, 2),
        SimRun::failed(t0 + hour, &huge),
        SimRun::completed(t0 + hour * 2, 20, 0, 0).with_id("third"),
        SimRun::cancelled(t0 + hour * 3, "nothing to do"),
        SimRun::new("weird", t0 + hour * 4).with_field("num_errors", json!("many")),
        SimRun::running(t0 + hour * 5).without_field("failure_reason"),
        SimRun::pending(t0 + hour * 6),
    ];
    // Given out of order on purpose.
    let mut given = runs.clone();
    given.swap(0, 4);
    let sim = Simulator::start(vec![SimTask::new("t", "T", "CODE_EVALUATION", true, None)])
        .await
        .unwrap();
    // A never-run task has no runs...
    assert_eq!(all_runs(&sim, "t", &[]).await.0, Vec::<Value>::new());
    // ...unless a test says otherwise.
    sim.set_runs("t", given);
    let (newest_first, pages) = all_runs(&sim, "t", &[("limit", "3")]).await;
    assert_eq!(pages, 3);
    assert_eq!(newest_first.len(), 7);
    let statuses: Vec<&str> = newest_first
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "PENDING",
            "RUNNING",
            "weird",
            "CANCELLED",
            "COMPLETED",
            "FAILED",
            "COMPLETED"
        ]
    );
    assert_eq!(newest_first[4]["id"], "third");
    assert_eq!(
        newest_first[5]["failure_reason"].as_str().unwrap().len(),
        1 << 20
    );
    assert_eq!(newest_first[2]["num_errors"], "many");
    assert!(newest_first[1].get("failure_reason").is_none());
    assert!(newest_first[0]["run_started_at"].is_null());
    assert_eq!(newest_first[6]["num_successes"], 10);
    let unique: HashSet<&str> = ids(&newest_first).into_iter().collect();
    assert_eq!(unique.len(), 7);

    let (completed, _) = all_runs(&sim, "t", &[("status", "COMPLETED")]).await;
    assert_eq!(
        ids(&completed),
        [ids(&newest_first)[4], ids(&newest_first)[6]]
    );

    sim.set_run_order(RunOrder::OldestFirst);
    let (oldest_first, _) = all_runs(&sim, "t", &[("limit", "2")]).await;
    let mut reversed = ids(&newest_first);
    reversed.reverse();
    assert_eq!(ids(&oldest_first), reversed);

    sim.set_task_run_order("t", RunOrder::AsGiven);
    let (as_given, _) = all_runs(&sim, "t", &[]).await;
    assert_eq!(as_given[0]["status"], "weird");
    assert_eq!(as_given[4]["status"], "COMPLETED");

    sim.set_task_run_order("t", RunOrder::Shuffled);
    let (shuffled, _) = all_runs(&sim, "t", &[("limit", "3")]).await;
    let (again, _) = all_runs(&sim, "t", &[("limit", "5")]).await;
    assert_eq!(ids(&shuffled), ids(&again), "the shuffle is stable");
    assert_ne!(ids(&shuffled), ids(&newest_first));
    assert_ne!(ids(&shuffled), reversed);
    let mut sorted = ids(&shuffled);
    sorted.sort_unstable();
    let mut want: Vec<&str> = unique.into_iter().collect();
    want.sort_unstable();
    assert_eq!(sorted, want);

    sim.set_runs("t", Vec::new());
    assert!(all_runs(&sim, "t", &[]).await.0.is_empty());
    sim.clear_runs("t");
    assert!(all_runs(&sim, "t", &[]).await.0.is_empty());
}

#[tokio::test]
async fn a_run_in_progress_finishes_later() {
    let start = now() - time::Duration::minutes(3);
    let task = SimTask::new("t", "T", "TEMPLATE_EVALUATION", true, Some(start)).with_runs(vec![
        SimRun::running(start).with_id("live"),
        SimRun::completed(start - time::Duration::HOUR, 5, 0, 0),
    ]);
    let sim = Simulator::start(vec![task]).await.unwrap();
    let first = sim.runs("t").unwrap();
    assert_eq!(first[0]["status"], "RUNNING");
    assert!(first[0]["run_finished_at"].is_null());
    assert!(!sim.complete_run("t", "no-such-run", 1, 0, 0));
    assert!(!sim.complete_run("no-such-task", "live", 1, 0, 0));
    assert!(sim.complete_run("t", "live", 900, 4, 30));
    let (runs, _) = all_runs(&sim, "t", &[]).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["id"], "live");
    assert_eq!(runs[0]["status"], "COMPLETED");
    assert_eq!(
        (
            runs[0]["num_successes"].clone(),
            runs[0]["num_errors"].clone(),
            runs[0]["num_skipped"].clone()
        ),
        (json!(900), json!(4), json!(30))
    );
    assert!(at(&runs[0]["run_finished_at"]) >= start);
    assert_eq!(runs[1], first[1]);

    // Generated history can be changed the same way, and the change sticks.
    let generated = SimTask::new("g", "G", "CODE_EVALUATION", true, Some(now()));
    sim.set_tasks(vec![generated]);
    let before = sim.runs("g").unwrap();
    let newest = before[0]["id"].as_str().unwrap().to_owned();
    assert!(sim.update_run("g", &newest, |run| {
        *run = SimRun::failed(run.created_at, "boom").with_id(run.id.as_deref().unwrap());
    }));
    let after = sim.runs("g").unwrap();
    assert_eq!(after[0]["status"], "FAILED");
    assert_eq!(after[0]["failure_reason"], "boom");
    assert_eq!(after[1..], before[1..]);
}

#[tokio::test]
async fn runs_faults_are_scripted_per_task_or_for_every_runs_request() {
    let ran = Some(now());
    let sim = Simulator::start(vec![
        SimTask::new("a", "A", "CODE_EVALUATION", true, ran),
        SimTask::new("b", "B", "CODE_EVALUATION", true, ran),
    ])
    .await
    .unwrap();
    sim.push_task_runs(
        "a",
        Scripted::Problem {
            status: 429,
            title: "Too Many Requests".into(),
            detail: "slow down".into(),
            retry_after: Some("7".into()),
        },
    );
    sim.push_task_runs(
        "a",
        Scripted::Raw {
            status: 200,
            content_type: "text/html".into(),
            body: b"<html>".to_vec(),
        },
    );
    sim.push_runs(Scripted::problem(500, "Internal Server Error", "oops"));
    assert_eq!(sim.pending_runs_scripted(), 3);
    // The task list never uses the runs scripts.
    assert_eq!(get(&sim, &[]).await.status, 200);
    // b has no own script: it takes the shared one.
    get_runs(&sim, "b", &[]).await.assert_problem(500);
    assert_eq!(get_runs(&sim, "b", &[]).await.status, 200);
    let limited = get_runs(&sim, "a", &[]).await;
    limited.assert_problem(429);
    assert_eq!(limited.retry_after.as_deref(), Some("7"));
    let html = get_runs(&sim, "a", &[]).await;
    assert_eq!((html.status, html.body.as_slice()), (200, &b"<html>"[..]));
    assert_eq!(get_runs(&sim, "a", &[]).await.status, 200);
    assert_eq!(sim.pending_runs_scripted(), 0);

    // A task-list script is not used by runs requests.
    sim.push(Scripted::problem(503, "Unavailable", "later"));
    assert_eq!(get_runs(&sim, "a", &[]).await.status, 200);
    assert_eq!(sim.pending_scripted(), 1);
    get(&sim, &[]).await.assert_problem(503);

    // A cursor loop, and a 404 for a task deleted meanwhile.
    sim.push_task_runs("a", Scripted::RepeatCursor);
    let looped = get_runs(&sim, "a", &[]).await.json();
    let cursor = looped["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.push_task_runs("a", Scripted::RepeatCursor);
    let again = get_runs(&sim, "a", &[("cursor", &cursor)]).await.json();
    assert_eq!(again["pagination"]["next_cursor"], cursor);
    assert_eq!(again["pagination"]["has_more"], true);
    sim.push_task_runs("a", Scripted::problem(404, "Not Found", "deleted"));
    get_runs(&sim, "a", &[]).await.assert_problem(404);
    // Envelope off schema, for tolerance tests.
    sim.push_task_runs(
        "a",
        Scripted::json(200, &json!({"task_runs": {"not": "a list"}})),
    );
    let odd = get_runs(&sim, "a", &[]).await;
    assert_eq!(odd.json()["task_runs"], json!({"not": "a list"}));
    assert_eq!(odd.content_type.as_deref(), Some("application/json"));
    // Every request was recorded, runs included.
    let runs_requests = sim
        .requests()
        .iter()
        .filter(|r| r.runs_task_id().is_some())
        .count();
    assert_eq!(runs_requests, 10);
}

#[test]
fn generated_histories_are_deterministic_mostly_completed_and_bounded() {
    let at_ = now();
    let tasks = generated_tasks(600, at_);
    let (mut total, mut completed) = (0, 0);
    for task in &tasks {
        let served = task.served_json(at_);
        let runs = crate::history::generated_runs(task, &served);
        assert_eq!(
            runs.iter().map(|r| r.to_json("x")).collect::<Vec<_>>(),
            crate::history::generated_runs(task, &served)
                .iter()
                .map(|r| r.to_json("x"))
                .collect::<Vec<_>>()
        );
        if served["last_run_at"].is_null() {
            assert!(runs.is_empty());
            continue;
        }
        assert!(!runs.is_empty() && runs.len() as u64 <= HISTORY_RUNS);
        if served["is_continuous"] == false {
            assert!(runs.len() <= 3);
        }
        let experiment = served["type"] == "RUN_EXPERIMENT";
        for run in &runs {
            let json = run.to_json("x");
            assert_eq!(json["experiment_id"].is_string(), experiment);
            assert_eq!(json["data_start_time"].is_null(), experiment);
            if !experiment {
                assert!(at(&json["data_end_time"]) > at(&json["data_start_time"]));
            }
            total += 1;
            completed += usize::from(run.status == "COMPLETED");
        }
    }
    assert!(
        completed * 100 > total * 85,
        "{completed} of {total} completed"
    );
    assert!(completed < total, "some runs fail");
}

/// Both kinds of unsuccessful run appear, each with its reason, and a
/// continuous task with a long past has a history of exactly the cap.
#[test]
fn generated_histories_hold_failed_and_cancelled_runs_up_to_the_cap() {
    let at_ = now();
    let (mut failed, mut cancelled, mut longest) = (0, 0, 0);
    for task in &generated_tasks(600, at_) {
        let runs = crate::history::generated_runs(task, &task.served_json(at_));
        longest = longest.max(runs.len() as u64);
        for run in &runs {
            match run.status.as_str() {
                "FAILED" => failed += 1,
                "CANCELLED" => cancelled += 1,
                _ => continue,
            }
            assert!(run.failure_reason.is_some(), "{run:?}");
        }
    }
    assert!(
        failed > 0 && cancelled > 0,
        "{failed} failed, {cancelled} cancelled"
    );
    assert_eq!(longest, HISTORY_RUNS);
}

#[test]
fn the_newest_generated_run_varies_only_in_generated_task_sets() {
    let at_ = now();
    let newest = |task: &SimTask| -> String {
        let served = task.served_json(at_);
        let runs = crate::history::generated_runs(task, &served);
        runs.first().map(|r| r.status.clone()).unwrap_or_default()
    };
    // Generated sets: some newest runs failed or were cancelled.
    let generated = generated_tasks(600, at_);
    let statuses: Vec<String> = generated.iter().map(newest).collect();
    assert!(statuses.iter().any(|s| s == "FAILED" || s == "CANCELLED"));
    // The same tasks built by hand (a test's, the demo's): the newest run
    // completed unless said otherwise.
    for mut task in generated {
        task.newest_run_varies = false;
        let status = newest(&task);
        assert!(status.is_empty() || status == "COMPLETED", "{status}");
    }
}

/// Whether a demo task is failing must not depend on the clock: where the
/// newest run is set in progress, the run before it (the newest finished
/// one) completed, at every five minutes of a day.
#[test]
fn a_demo_run_in_progress_follows_a_completed_run_at_any_time() {
    let start = OffsetDateTime::now_utc();
    let mut checked = 0;
    for step in 0..288 {
        let now = start + time::Duration::minutes(5 * step);
        for task in demo_tasks(now) {
            let runs = crate::history::generated_runs(&task, &task.json);
            let (Some(newest), Some(before)) = (runs.first(), runs.get(1)) else {
                continue;
            };
            if matches!(newest.status.as_str(), "RUNNING" | "PENDING") {
                assert_eq!(before.status, "COMPLETED", "{:?} at {now}", task.id());
                checked += 1;
            }
        }
    }
    assert!(checked >= 288, "{checked}");
}
