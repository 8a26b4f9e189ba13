//! The reference client: every page the simulator serves must load with the
//! official Arize SDK's generated models (`ListTasksResponse`,
//! `ListTaskRunsResponse`, `ListSpacesResponse`, `ListProjectsResponse`,
//! `ListDatasetsResponse` of the `arize` wheel, run by
//! tests/support/sdk_validate.py), so the simulator cannot drift from the
//! API's schema. Tasks crafted off schema on purpose (`with_field`, the
//! lower-case shapes of the docs page) are for tolerance tests and are not
//! served here, except to show that the check refuses them.

use crate::support;

use std::time::Duration;

use arize_sim::{
    demo_tasks, generated_tasks, RunOrder, SimDataset, SimNames, SimProject, SimRun, SimSpace,
    SimTask, Simulator, DEMO_SPACES, EXPERIMENT_TYPES, PROJECT_TYPES, RUN_STATUSES,
};
use serde_json::{json, Value};
use support::tools::*;
use time::OffsetDateTime;

const VALIDATOR: &str = "tests/support/sdk_validate.py";
/// Most pages a listing may take before the test calls it a loop.
const MAX_PAGES: usize = 10_000;

/// The pages the SDK refuses, as the validator's lines (`FILE: reason`).
/// `kind` is `tasks`, `runs`, `spaces`, `projects` or `datasets`; each page
/// is `(label, JSON text)`.
fn sdk_refusals(kind: &str, pages: &[(String, String)]) -> Vec<String> {
    assert!(!pages.is_empty(), "no {kind} pages to validate");
    let dir = TempDir::new("sdk");
    let files: Vec<_> = pages
        .iter()
        .map(|(label, text)| dir.write(&format!("{label}.json"), text))
        .collect();
    let out = run(command("arize-sdk-python", ARIZE_SDK)
        .arg(VALIDATOR)
        .arg(kind)
        .args(&files));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    match out.status.code() {
        Some(0) => assert!(lines.is_empty(), "exit 0 with refusals: {lines:?}"),
        Some(1) => assert!(!lines.is_empty(), "exit 1 without a refusal line"),
        _ => panic!(
            "the SDK validator did not run ({}):\n{}{}",
            out.status,
            stdout(&out),
            stderr(&out)
        ),
    }
    lines
}

/// GETs `url` and returns the body of a 200 answer.
async fn get_ok(client: &reqwest::Client, url: &str) -> String {
    let answer = client.get(url).send().await.expect("GET");
    let status = answer.status();
    let body = answer.text().await.expect("body");
    assert_eq!(status, 200, "GET {url}: {body}");
    body
}

/// Every page of a listing at `path` (`/v2/tasks`, a runs path), following
/// `pagination.next_cursor`: the pages' text, and the items of `list`.
async fn all_pages(
    client: &reqwest::Client,
    sim: &Simulator,
    path: &str,
    list: &str,
    limit: usize,
) -> (Vec<String>, Vec<Value>) {
    let mut url = reqwest::Url::parse(&format!("{}{path}", sim.base_url())).expect("URL");
    url.query_pairs_mut()
        .append_pair("limit", &limit.to_string());
    let first = url.clone();
    let (mut pages, mut items) = (Vec::new(), Vec::new());
    loop {
        assert!(
            pages.len() < MAX_PAGES,
            "{path}: more than {MAX_PAGES} pages"
        );
        let text = get_ok(client, url.as_str()).await;
        let page: Value = serde_json::from_str(&text).expect("JSON page");
        items.extend(page[list].as_array().expect("item list").iter().cloned());
        pages.push(text);
        match page["pagination"]["next_cursor"].as_str() {
            Some(cursor) if page["pagination"]["has_more"] == true => {
                url = first.clone();
                url.query_pairs_mut().append_pair("cursor", cursor);
            }
            _ => break,
        }
    }
    (pages, items)
}

/// Every kind of task the simulator makes well-formed: each type,
/// continuous and one-off, project- and dataset-based, span- and
/// trace-shaped, each run configuration variant, never run, ran once and
/// still running.
fn every_kind_of_task(now: OffsetDateTime) -> Vec<SimTask> {
    let mut tasks = Vec::new();
    let mut n = 0;
    let mut id = |kind: &str| {
        n += 1;
        hex_id(&format!("{kind}:{n}:kind"))
    };
    let hour_ago = Some(now - time::Duration::hours(1));
    for ty in ["TEMPLATE_EVALUATION", "CODE_EVALUATION", "RUN_EXPERIMENT"] {
        for continuous in [true, false] {
            for last_run in [None, hour_ago] {
                let task = SimTask::new(&id("OnlineTask"), "Kind", ty, continuous, last_run);
                tasks.push(task.clone());
                if ty != "RUN_EXPERIMENT" {
                    tasks.push(task.clone().trace_shaped());
                    tasks.push(
                        SimTask::new(&id("OfflineTask"), "Kind", ty, false, last_run).on_dataset(),
                    );
                }
            }
        }
        tasks.push(
            SimTask::new(&id("OnlineTask"), "Keeps running", ty, true, hour_ago)
                .running_every(Duration::from_secs(60)),
        );
    }
    for experiment_type in EXPERIMENT_TYPES {
        tasks.push(
            SimTask::new(
                &id("OfflineTask"),
                "Experiment",
                "RUN_EXPERIMENT",
                false,
                hour_ago,
            )
            .with_experiment_type(experiment_type),
        );
    }
    tasks
}

fn hex_id(text: &str) -> String {
    use std::fmt::Write as _;
    // Ids are opaque: any unique string does.
    text.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn labelled(prefix: &str, pages: Vec<String>) -> Vec<(String, String)> {
    pages
        .into_iter()
        .enumerate()
        .map(|(i, text)| (format!("{prefix}-{i:04}"), text))
        .collect()
}

#[tokio::test]
async fn every_tasks_page_the_simulator_serves_fits_the_sdk() {
    let now = OffsetDateTime::now_utc();
    let mut tasks = demo_tasks(now);
    tasks.extend(generated_tasks(300, now));
    tasks.extend(every_kind_of_task(now));
    let total = tasks.len();
    let sim = Simulator::start(tasks).await.expect("simulator starts");
    let client = reqwest::Client::new();
    let (pages, served) = all_pages(&client, &sim, "/v2/tasks", "tasks", 20).await;
    assert_eq!(served.len(), total, "every task served once");
    assert!(pages.len() > 10, "{} pages", pages.len());
    // The shapes the schema has variants for are all there.
    for experiment_type in EXPERIMENT_TYPES {
        assert!(
            served
                .iter()
                .any(|t| t["run_configuration"]["experiment_type"] == experiment_type),
            "no {experiment_type} run configuration served"
        );
    }
    assert!(served.iter().any(|t| t["query_filters"].is_object()));
    let refusals = sdk_refusals("tasks", &labelled("tasks", pages));
    assert!(
        refusals.is_empty(),
        "the SDK refuses:\n{}",
        refusals.join("\n")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sdk_check_refuses_a_page_off_schema() {
    let now = OffsetDateTime::now_utc();
    let good = SimTask::new("good", "Good", "RUN_EXPERIMENT", false, None);
    let off_schema = [
        // The SDK cannot tell which variant a configuration without
        // experiment_type is.
        good.clone()
            .with_field("id", json!("no-type"))
            .with_field("run_configuration", json!({"model_name": "gpt-4o"})),
        good.clone().with_experiment_type("BATCH_SCORING"),
        // The docs page's lower-case type is not in the SDK's enum.
        SimTask::new("lower", "Lower", "template_evaluation", true, Some(now)),
        good.clone().with_field("is_continuous", json!("yes")),
        good.clone().with_field("last_run_at", json!("yesterday")),
    ];
    let sim = Simulator::start(vec![good.clone()])
        .await
        .expect("simulator starts");
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    // One page per task: the good one alone, then each wrong one alone.
    for (i, task) in std::iter::once(good).chain(off_schema).enumerate() {
        sim.set_tasks(vec![task]);
        let (texts, _) = all_pages(&client, &sim, "/v2/tasks", "tasks", 50).await;
        pages.extend(labelled(&format!("case{i}"), texts));
    }
    let refusals = sdk_refusals("tasks", &pages);
    let refused: Vec<&str> = refusals
        .iter()
        .filter_map(|line| line.split(": ").next())
        .filter_map(|file| file.rsplit('/').next())
        .collect();
    assert_eq!(
        refused,
        [
            "case1-0000.json",
            "case2-0000.json",
            "case3-0000.json",
            "case4-0000.json",
            "case5-0000.json"
        ],
        "{refusals:#?}"
    );
    assert!(refusals[0].contains("experiment_type"), "{}", refusals[0]);
    sim.shutdown().await;
}

/// The runs path of a task, its id percent-encoded as one segment.
fn runs_path(task_id: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/v2/tasks/").expect("URL");
    url.path_segments_mut()
        .expect("base")
        .pop_if_empty()
        .push(task_id)
        .push("runs");
    url.path().to_owned()
}

#[tokio::test]
async fn every_runs_page_of_every_demo_and_generated_task_fits_the_sdk() {
    let now = OffsetDateTime::now_utc();
    let mut tasks = demo_tasks(now);
    tasks.extend(generated_tasks(150, now));
    tasks.extend(every_kind_of_task(now));
    // Explicit runs of every status, with the SimRun shorthands.
    let t0 = now - time::Duration::hours(8);
    tasks.push(
        SimTask::new("explicit", "Explicit", "CODE_EVALUATION", true, Some(now)).with_runs(
            RUN_STATUSES
                .iter()
                .enumerate()
                .map(|(i, status)| SimRun::new(status, t0 + time::Duration::hours(i as i64)))
                .chain([
                    SimRun::completed(t0, 1, 2, 3),
                    SimRun::failed(t0, &"long reason ".repeat(10_000)),
                    SimRun::cancelled(t0, "nothing to evaluate"),
                    SimRun::running(t0),
                    SimRun::pending(t0),
                ])
                .collect(),
        ),
    );
    let sim = Simulator::start(tasks.clone())
        .await
        .expect("simulator starts");
    sim.set_run_order(RunOrder::Shuffled);
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    let (mut with_runs, mut statuses) = (0, std::collections::BTreeSet::new());
    for (i, task) in tasks.iter().enumerate() {
        let id = task.id().expect("task id");
        // Small pages, so that histories span several.
        let (texts, runs) = all_pages(&client, &sim, &runs_path(id), "task_runs", 7).await;
        with_runs += usize::from(!runs.is_empty());
        statuses.extend(
            runs.iter()
                .filter_map(|r| r["status"].as_str().map(str::to_owned)),
        );
        pages.extend(labelled(&format!("runs-{i:04}"), texts));
    }
    let refusals = sdk_refusals("runs", &pages);
    assert!(
        refusals.is_empty(),
        "the SDK refuses:\n{}",
        refusals.join("\n")
    );
    assert!(with_runs > tasks.len() / 2, "{with_runs} tasks with runs");
    assert_eq!(statuses.len(), RUN_STATUSES.len(), "{statuses:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sdk_check_refuses_a_runs_page_off_schema() {
    let now = OffsetDateTime::now_utc();
    let cases = [
        SimRun::completed(now, 1, 0, 0),
        // The docs page's lower-case status is not in the SDK's enum.
        SimRun::new("completed", now),
        SimRun::completed(now, 1, 0, 0).with_field("num_errors", json!("3")),
        SimRun::completed(now, 1, 0, 0).with_field("run_finished_at", json!("soon")),
        SimRun::failed(now, "x").with_field("failure_reason", json!(42)),
    ];
    let sim = Simulator::start(vec![SimTask::new(
        "t",
        "T",
        "CODE_EVALUATION",
        true,
        Some(now),
    )])
    .await
    .expect("simulator starts");
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    for (i, run) in cases.into_iter().enumerate() {
        sim.set_runs("t", vec![run]);
        let (texts, _) = all_pages(&client, &sim, &runs_path("t"), "task_runs", 50).await;
        pages.extend(labelled(&format!("case{i}"), texts));
    }
    let refusals = sdk_refusals("runs", &pages);
    let refused: Vec<&str> = refusals
        .iter()
        .filter_map(|line| line.split(": ").next())
        .filter_map(|file| file.rsplit('/').next())
        .collect();
    assert_eq!(
        refused,
        [
            "case1-0000.json",
            "case2-0000.json",
            "case3-0000.json",
            "case4-0000.json"
        ],
        "{refusals:#?}"
    );
    sim.shutdown().await;
}

/// The names endpoints, as `(path, list key = validator kind)`.
const NAME_LISTS: [(&str, &str); 3] = [
    ("/v2/spaces", "spaces"),
    ("/v2/projects", "projects"),
    ("/v2/datasets", "datasets"),
];

#[tokio::test]
async fn every_names_page_the_simulator_serves_fits_the_sdk() {
    let now = OffsetDateTime::now_utc();
    let mut tasks = demo_tasks(now);
    tasks.extend(generated_tasks(300, now));
    tasks.extend(every_kind_of_task(now));
    let sim = Simulator::start(tasks).await.expect("simulator starts");
    let names = sim.names();
    let client = reqwest::Client::new();
    let mut refusals = Vec::new();
    for (path, kind) in NAME_LISTS {
        // Small pages, so that every listing spans several.
        let limit = if kind == "spaces" { 2 } else { 7 };
        let (mut pages, items) = all_pages(&client, &sim, path, kind, limit).await;
        let want = match kind {
            "spaces" => names.spaces.len(),
            "projects" => names.projects.len(),
            _ => names.datasets.len(),
        };
        assert_eq!(items.len(), want, "{path}: every item served once");
        assert!(pages.len() > 1, "{path}: {} pages", pages.len());
        if kind == "projects" {
            // Every project type of the SDK's enum, and untyped projects.
            for ty in PROJECT_TYPES {
                assert!(items.iter().any(|p| p["project_type"] == ty), "{ty}");
            }
            assert!(items.iter().any(|p| p["project_type"].is_null()));
        }
        // Filtered listings too: one space by id, another by name.
        if kind != "spaces" {
            let by_id = format!("{path}?space_id={}", DEMO_SPACES[0].0);
            let (more, _) = all_pages(&client, &sim, &by_id, kind, 3).await;
            pages.extend(more);
            let by_name = format!("{path}?space_name=research");
            let (more, items) = all_pages(&client, &sim, &by_name, kind, 50).await;
            assert!(!items.is_empty(), "{by_name}");
            pages.extend(more);
        }
        refusals.extend(sdk_refusals(kind, &labelled(kind, pages)));
    }
    assert!(
        refusals.is_empty(),
        "the SDK refuses:\n{}",
        refusals.join("\n")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sdk_check_refuses_a_names_page_off_schema() {
    let space = SimSpace::new("s", "Space");
    let project = SimProject::new("p", "Project", "s");
    let dataset = SimDataset::new("d", "Dataset", "s");
    // Per kind: the well-formed item, then items the SDK must refuse.
    let spaces = [
        space.clone(),
        space.clone().with_field("is_private", json!("no")),
        space.clone().with_field("id", json!(7)),
    ];
    let projects = [
        project.clone(),
        project.clone().with_project_type(Some("LLM")),
        project.clone().with_field("created_at", json!("yesterday")),
    ];
    let datasets = [
        dataset.clone(),
        dataset.clone().with_field("versions", json!({"v1": true})),
        dataset.clone().with_field("name", json!(["a"])),
    ];
    let sim = Simulator::start(Vec::new())
        .await
        .expect("simulator starts");
    let client = reqwest::Client::new();
    for (path, kind) in NAME_LISTS {
        let mut pages = Vec::new();
        for i in 0..3 {
            sim.set_names(SimNames {
                spaces: spaces[i..=i].to_vec(),
                projects: projects[i..=i].to_vec(),
                datasets: datasets[i..=i].to_vec(),
            });
            let (texts, items) = all_pages(&client, &sim, path, kind, 50).await;
            assert_eq!(items.len(), 1);
            pages.extend(labelled(&format!("case{i}"), texts));
        }
        let refusals = sdk_refusals(kind, &pages);
        let refused: Vec<&str> = refusals
            .iter()
            .filter_map(|line| line.split(": ").next())
            .filter_map(|file| file.rsplit('/').next())
            .collect();
        assert_eq!(
            refused,
            ["case1-0000.json", "case2-0000.json"],
            "{kind}: {refusals:#?}"
        );
    }
    sim.shutdown().await;
}
