//! Names (issue 18, SPEC 3.2 and 5.1), in process: the real client, poller
//! and renderer against the simulated API over HTTP on loopback. Every page
//! of every names listing is read, with the space filters; a failed read
//! keeps the names read before and never fails a poll; names are read
//! once per refresh interval, never per poll.

use crate::support;

use std::time::Duration;

use arize_sim::{Endpoint, Scripted, SimTask, Simulator};
use support::exporter::*;

/// Continuous template evaluation tasks that ran a minute ago, each in a
/// project of its own (named `Project <id>`) in `space`.
fn in_space(ids: &[&str], space: (&str, &str)) -> Vec<SimTask> {
    ids.iter()
        .map(|id| {
            SimTask::new(id, id, "TEMPLATE_EVALUATION", true, ago(60))
                .in_space(space.0, space.1)
                .with_project(&format!("project-{id}"), &format!("Project {id}"))
        })
        .collect()
}

/// The value of `label` on `task`'s `arize_task_info`.
fn info(s: &Scrape, task: &str, label: &str) -> String {
    let series = s.of_task("arize_task_info", task);
    assert_eq!(series.len(), 1, "{task}: one info series");
    series[0].labels[label].clone()
}

fn requests_to(sim: &Simulator, path: &str) -> Vec<arize_sim::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

fn name_errors(s: &Scrape, endpoint: &str, reason: &str) -> f64 {
    s.counter(
        "arize_exporter_name_errors_total",
        &[("endpoint", endpoint), ("reason", reason)],
    )
}

#[tokio::test]
async fn every_page_of_every_listing_names_each_task_s_space_and_project() {
    let mut tasks = in_space(&["a", "b", "c"], ("space-1", "Production"));
    tasks.extend(in_space(&["d", "e"], ("space-2", "Staging")));
    tasks.push(
        SimTask::new("x", "x", "RUN_EXPERIMENT", false, ago(60))
            .in_space("space-2", "Staging")
            .with_dataset("dataset-x", "Golden \"set\""),
    );
    // Two projects a page: every listing takes several pages.
    let mut h = Harness::new(tasks, &["--page-size", "2", "--task-runs", "false"]).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(
        requests_to(&h.sim, "/v2/projects").len(),
        3,
        "5 projects, 2 a page"
    );
    assert_eq!(requests_to(&h.sim, "/v2/spaces").len(), 1);
    for (task, space_id, space, project) in [
        ("a", "space-1", "Production", "Project a"),
        ("e", "space-2", "Staging", "Project e"),
    ] {
        assert_eq!(info(&s, task, "space_id"), space_id);
        assert_eq!(info(&s, task, "space_name"), space);
        assert_eq!(info(&s, task, "project_name"), project);
        assert_eq!(info(&s, task, "dataset_name"), "");
    }
    // A dataset-based task: its space is its dataset's.
    assert_eq!(info(&s, "x", "space_name"), "Staging");
    assert_eq!(info(&s, "x", "dataset_name"), "Golden \"set\"");
    assert_eq!(s.find("arize_space_info", &[]).len(), 2);
    assert_eq!(s.find("arize_project_info", &[]).len(), 5);
    let dataset = s.find("arize_dataset_info", &[("dataset_id", "dataset-x")]);
    assert_eq!(dataset[0].labels["space_id"], "space-2");
    assert_eq!(
        s.find("arize_project_info", &[("project_id", "project-d")])[0].labels["space_id"],
        "space-2"
    );
    for endpoint in ["/v2/spaces", "/v2/projects", "/v2/datasets"] {
        assert!(
            s.get(
                "arize_exporter_names_last_success_timestamp_seconds",
                &[("endpoint", endpoint)]
            )
            .is_some_and(|t| t > 1e9),
            "{endpoint}"
        );
        assert_eq!(name_errors(&s, endpoint, "server_error"), 0.0, "{endpoint}");
    }
}

#[tokio::test]
async fn space_filters_narrow_every_listing() {
    let mut tasks = in_space(&["a"], ("space-1", "Production"));
    tasks.extend(in_space(&["d"], ("space-2", "Staging")));
    let mut h = Harness::new(
        tasks,
        &[
            "--space-name",
            "Stag",
            "--space-id",
            "space-1",
            "--task-runs",
            "false",
        ],
    )
    .await;
    h.poll_ok().await;
    let projects = requests_to(&h.sim, "/v2/projects");
    let asked: Vec<(Option<&str>, Option<&str>)> = projects
        .iter()
        .map(|r| (r.param("space_id"), r.param("space_name")))
        .collect();
    // In the order the filters were given.
    assert_eq!(asked, [(None, Some("Stag")), (Some("space-1"), None)]);
    let datasets = requests_to(&h.sim, "/v2/datasets");
    assert_eq!(datasets.len(), 2, "one listing per space filter");
    // Spaces: the id filter from one unfiltered listing, the name filter by `name`.
    let spaces = requests_to(&h.sim, "/v2/spaces");
    let names: Vec<Option<&str>> = spaces.iter().map(|r| r.param("name")).collect();
    assert_eq!(names, [None, Some("Stag")]);
    let s = h.scrape();
    let listed: Vec<&str> = s
        .find("arize_space_info", &[])
        .iter()
        .map(|x| x.labels["space_name"].as_str())
        .collect();
    assert_eq!(listed, ["Production", "Staging"]);
    assert_eq!(info(&s, "d", "space_name"), "Staging");
}

#[tokio::test]
async fn names_are_read_once_per_refresh_interval_never_per_poll() {
    let mut h = Harness::new(
        in_space(&["a"], ("space-1", "Production")),
        &["--names-refresh-interval", "1s", "--task-runs", "false"],
    )
    .await;
    for _ in 0..3 {
        h.poll_ok().await;
    }
    assert_eq!(h.sim.request_count_for(Endpoint::Tasks), 3);
    for endpoint in [Endpoint::Spaces, Endpoint::Projects, Endpoint::Datasets] {
        assert_eq!(h.sim.request_count_for(endpoint), 1, "{endpoint:?}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.poll_ok().await;
    h.poll_ok().await;
    for endpoint in [Endpoint::Spaces, Endpoint::Projects, Endpoint::Datasets] {
        assert_eq!(h.sim.request_count_for(endpoint), 2, "{endpoint:?}");
    }
    // And 0 turns names off: no request, no name family, empty labels.
    let mut off = Harness::new(
        in_space(&["a"], ("space-1", "Production")),
        &["--names-refresh-interval", "0", "--task-runs", "false"],
    )
    .await;
    off.poll_ok().await;
    for endpoint in [Endpoint::Spaces, Endpoint::Projects, Endpoint::Datasets] {
        assert_eq!(off.sim.request_count_for(endpoint), 0, "{endpoint:?}");
    }
    let s = off.scrape();
    assert!(s.find("arize_space_info", &[]).is_empty());
    assert!(s.find("arize_exporter_name_errors_total", &[]).is_empty());
    assert_eq!(info(&s, "a", "project_name"), "");
}

#[tokio::test]
async fn a_failed_read_keeps_the_names_before_and_never_fails_a_poll() {
    let mut h = Harness::new(
        in_space(&["a", "b"], ("space-1", "Production")),
        &[
            "--names-refresh-interval",
            "1s",
            "--task-runs",
            "false",
            "--max-retries",
            "0",
        ],
    )
    .await;
    // The first read: projects refused (403: the key may not list them),
    // datasets failing (500). Tasks are served as before, names empty.
    h.sim.push_to(
        Endpoint::Projects,
        Scripted::problem(403, "Forbidden", "not allowed to list projects"),
    );
    h.sim
        .push_to(Endpoint::Datasets, Scripted::problem(500, "Oops", "down"));
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(s.value("arize_up", &[]), 1.0, "names never decide a poll");
    assert_eq!(
        info(&s, "a", "project_name"),
        "",
        "not known: empty, not missing"
    );
    assert_eq!(info(&s, "a", "space_id"), "");
    assert_eq!(s.find("arize_space_info", &[]).len(), 1, "spaces were read");
    assert!(s.find("arize_project_info", &[]).is_empty());
    assert_eq!(name_errors(&s, "/v2/projects", "unauthorized"), 1.0);
    assert_eq!(name_errors(&s, "/v2/datasets", "server_error"), 1.0);
    assert!(s
        .get(
            "arize_exporter_names_last_success_timestamp_seconds",
            &[("endpoint", "/v2/projects")]
        )
        .is_none());

    // The next refresh recovers.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(info(&s, "a", "project_name"), "Project a");
    assert_eq!(info(&s, "a", "space_name"), "Production");
    assert_eq!(s.find("arize_project_info", &[]).len(), 2);

    // A later failure keeps what was read.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.sim.push_to(
        Endpoint::Projects,
        Scripted::problem(503, "Unavailable", "later"),
    );
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(name_errors(&s, "/v2/projects", "server_error"), 1.0);
    assert_eq!(
        info(&s, "a", "project_name"),
        "Project a",
        "kept through a failure"
    );
    assert_eq!(s.find("arize_project_info", &[]).len(), 2);
}

#[tokio::test]
async fn an_unlisted_project_gives_empty_names_and_long_names_are_cut() {
    let long = "N".repeat(300);
    let tasks = vec![
        SimTask::new("gone", "gone", "TEMPLATE_EVALUATION", true, ago(60))
            .with_project("project-gone", "Gone")
            .with_unlisted_names(),
        SimTask::new("long", "long", "TEMPLATE_EVALUATION", true, ago(60))
            .with_project("project-long", &long),
        // An API that echoes the key into a name must not leak it.
        SimTask::new("echo", "echo", "TEMPLATE_EVALUATION", true, ago(60))
            .with_project("project-echo", &format!("key {TEST_KEY} here")),
    ];
    let mut h = Harness::new(
        tasks,
        &["--task-runs", "false", "--max-label-value-length", "50"],
    )
    .await;
    h.poll_ok().await;
    let s = h.scrape();
    assert_eq!(info(&s, "gone", "project_id"), "project-gone");
    assert_eq!(info(&s, "gone", "project_name"), "");
    // Its space is not known either: the task object has none.
    assert_eq!(info(&s, "gone", "space_id"), "");
    let cut = format!("{}…", "N".repeat(49));
    assert_eq!(info(&s, "long", "project_name"), cut);
    let project = s.find("arize_project_info", &[("project_id", "project-long")]);
    assert_eq!(project[0].labels["project_name"], cut);
    assert_eq!(info(&s, "echo", "project_name"), "key *** here");
    assert!(!h.render().contains(TEST_KEY));
}

#[tokio::test]
async fn a_denied_evaluator_family_keeps_no_evaluator() {
    let tasks = in_space(&["a"], ("space-1", "Production"));
    let mut h = Harness::new(tasks.clone(), &["--task-runs", "false"]).await;
    h.poll_ok().await;
    assert_eq!(
        h.scrape().of_task("arize_task_evaluator_info", "a").len(),
        1
    );
    let kept = |h: &Harness| {
        let published = h.state.load();
        let snapshot = published.snapshot.as_ref().expect("a snapshot");
        snapshot.tasks[0].evaluator_list.is_some()
    };
    assert!(kept(&h));
    let mut denied = Harness::new(
        tasks,
        &[
            "--task-runs",
            "false",
            "--metric-denylist",
            "arize_task_evaluator_info",
        ],
    )
    .await;
    denied.poll_ok().await;
    let s = denied.scrape();
    assert!(s.find("arize_task_evaluator_info", &[]).is_empty());
    assert_eq!(
        s.task_value("arize_task_evaluators", "a"),
        1.0,
        "the count stays"
    );
    assert!(!kept(&denied), "nor held in memory");
}
