//! Tests of the names endpoints (`/v2/spaces`, `/v2/projects`,
//! `/v2/datasets`), the names of the demo and generated sets, evaluators
//! and data windows, over real HTTP on loopback.

use std::collections::HashMap;

use super::*;

const NAME_ENDPOINTS: [(Endpoint, &str); 3] = [
    (Endpoint::Spaces, "spaces"),
    (Endpoint::Projects, "projects"),
    (Endpoint::Datasets, "datasets"),
];

/// Every item of a names listing, following the cursors: the items and the
/// number of pages. Checks each page's envelope.
async fn all_items(sim: &Simulator, path: &str, query: &[(&str, &str)]) -> (Vec<Value>, usize) {
    let key = path.trim_start_matches("/v2/");
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..=10_000 {
        let mut q = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let answer = get_with(sim, path, &q, None).await;
        assert_eq!(
            answer.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let body = answer.json();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2, "{body}");
        items.extend(body[key].as_array().unwrap().iter().cloned());
        if body["pagination"]["has_more"] == json!(true) {
            cursor = Some(
                body["pagination"]["next_cursor"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_eq!(body["pagination"], json!({"has_more": false}));
            return (items, pages);
        }
    }
    panic!("{path}: more than 10000 pages");
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

fn str_of<'a>(item: &'a Value, key: &str) -> &'a str {
    item[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key}: {item}"))
}

#[tokio::test]
async fn names_endpoints_page_with_cursors() {
    let tasks = generated_tasks(300, now());
    let sim = Simulator::start(tasks.clone()).await.unwrap();
    let names = sim.names();
    let want = [
        names.spaces.len(),
        names.projects.len(),
        names.datasets.len(),
    ];
    assert_eq!(want[0], 3);
    assert!(want[1] > 20 && want[2] > 20, "{want:?}");
    for ((endpoint, _), want) in NAME_ENDPOINTS.iter().zip(want) {
        let path = endpoint.path();
        let (items, pages) = all_items(&sim, path, &[("limit", "7")]).await;
        assert_eq!(items.len(), want, "{path}");
        assert_eq!(pages, want.div_ceil(7).max(1), "{path}");
        let unique: HashSet<&str> = ids(&items).into_iter().collect();
        assert_eq!(unique.len(), want, "{path}");
        // The default page size, and a server cap below it.
        let first = get_with(&sim, path, &[], None).await.json();
        assert_eq!(
            first[path.trim_start_matches("/v2/")]
                .as_array()
                .unwrap()
                .len(),
            want.min(DEFAULT_LIMIT)
        );
    }
    sim.cap_page_size(5);
    let (projects, pages) = all_items(&sim, "/v2/projects", &[("limit", "100")]).await;
    assert_eq!(projects.len(), want[1]);
    assert_eq!(pages, want[1].div_ceil(5));

    // A cursor of one listing is refused by another; bad limits are 400.
    let page = get_with(&sim, "/v2/projects", &[("limit", "1")], None)
        .await
        .json();
    let cursor = page["pagination"]["next_cursor"].as_str().unwrap();
    for path in ["/v2/datasets", "/v2/spaces", "/v2/tasks"] {
        get_with(&sim, path, &[("cursor", cursor)], None)
            .await
            .assert_problem(400);
    }
    for limit in ["0", "101", "x", "-1"] {
        get_with(&sim, "/v2/spaces", &[("limit", limit)], None)
            .await
            .assert_problem(400);
    }
    // Only GET.
    let client = CLIENT.with(Clone::clone);
    let post = client
        .post(format!("{}/v2/projects", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn names_endpoints_filter_by_space_name_and_type() {
    let sim = Simulator::start(generated_tasks(300, now())).await.unwrap();
    let names = sim.names();

    // Spaces: `name` is a case-insensitive substring; `org_id` exact.
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[("name", "STAG")]).await;
    assert_eq!(ids(&spaces), ["space-2"]);
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[("name", "r")]).await;
    assert_eq!(ids(&spaces), ["space-1", "space-3"]);
    let org = organization_id();
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[("org_id", org.as_str())]).await;
    assert_eq!(spaces.len(), 3);
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[("org_id", "other")]).await;
    assert!(spaces.is_empty());

    for (path, list) in [
        (
            "/v2/projects",
            names
                .projects
                .iter()
                .map(|p| (&p.space_id, &p.name))
                .collect::<Vec<_>>(),
        ),
        (
            "/v2/datasets",
            names
                .datasets
                .iter()
                .map(|d| (&d.space_id, &d.name))
                .collect(),
        ),
    ] {
        // By space id, by a piece of the space's name, both.
        let in_space = |id: &str| list.iter().filter(|(s, _)| *s == id).count();
        let (by_id, _) = all_items(&sim, path, &[("space_id", "space-2")]).await;
        assert_eq!(by_id.len(), in_space("space-2"), "{path}");
        assert!(!by_id.is_empty());
        assert!(by_id.iter().all(|i| i["space_id"] == "space-2"), "{path}");
        let (by_name, _) = all_items(&sim, path, &[("space_name", "sEaRcH")]).await;
        assert_eq!(by_name.len(), in_space("space-3"), "{path}");
        assert!(by_name.iter().all(|i| i["space_id"] == "space-3"));
        let (both, _) = all_items(
            &sim,
            path,
            &[("space_id", "space-1"), ("space_name", "prod")],
        )
        .await;
        assert_eq!(both.len(), in_space("space-1"));
        // A space that does not exist (or no space of that name) is 404.
        for filter in [("space_id", "nope"), ("space_name", "nope")] {
            get_with(&sim, path, &[filter], None)
                .await
                .assert_problem(404);
        }
        get_with(
            &sim,
            path,
            &[("space_id", "space-1"), ("space_name", "stag")],
            None,
        )
        .await
        .assert_problem(404);
        // `name`: a case-insensitive substring of the item's name.
        let (some, _) = all_items(&sim, path, &[("name", "00004")]).await;
        assert!(!some.is_empty());
        assert!(some
            .iter()
            .all(|i| str_of(i, "name").to_lowercase().contains("00004")));
        let long = "x".repeat(MAX_FILTER_CHARS + 1);
        get_with(&sim, path, &[("name", &long)], None)
            .await
            .assert_problem(400);
        get_with(&sim, path, &[("space_name", &long)], None)
            .await
            .assert_problem(400);
    }

    // Projects by type, in any case; an unknown type is 400.
    let mut typed = 0;
    for ty in PROJECT_TYPES {
        let (projects, _) = all_items(
            &sim,
            "/v2/projects",
            &[("project_type", &ty.to_lowercase())],
        )
        .await;
        assert!(!projects.is_empty(), "{ty}");
        assert!(projects.iter().all(|p| p["project_type"] == ty));
        typed += projects.len();
    }
    let untyped = names
        .projects
        .iter()
        .filter(|p| p.project_type.is_none())
        .count();
    assert!(untyped > 0);
    assert_eq!(typed + untyped, names.projects.len());
    get_with(&sim, "/v2/projects", &[("project_type", "LLM")], None)
        .await
        .assert_problem(400);
}

#[tokio::test]
async fn scripted_answers_are_per_endpoint() {
    let sim = Simulator::start(demo_tasks(now())).await.unwrap();
    let task_id = sim.tasks()[0].id().unwrap().to_owned();
    // The key may not list projects (every read), and datasets answer 500
    // once, then recover.
    for _ in 0..3 {
        sim.push_to(
            Endpoint::Projects,
            Scripted::problem(403, "Forbidden", "The key may not list projects"),
        );
    }
    sim.push_to(
        Endpoint::Datasets,
        Scripted::Problem {
            status: 500,
            title: "Internal Server Error".into(),
            detail: "try again".into(),
            retry_after: Some("1".into()),
        },
    );
    sim.push_to(Endpoint::Spaces, Scripted::RepeatCursor);
    assert_eq!(sim.pending_scripted_for(Endpoint::Projects), 3);
    assert_eq!(sim.pending_scripted_for(Endpoint::Datasets), 1);
    assert_eq!(sim.pending_scripted_for(Endpoint::Tasks), 0);

    // Other endpoints pop nothing of these queues.
    assert_eq!(get(&sim, &[]).await.status, 200);
    let runs = get_with(&sim, &format!("/v2/tasks/{task_id}/runs"), &[], None).await;
    assert_eq!(runs.status, 200);
    assert_eq!(sim.pending_scripted_for(Endpoint::Projects), 3);

    for _ in 0..3 {
        get_with(&sim, "/v2/projects", &[], None)
            .await
            .assert_problem(403);
    }
    assert_eq!(sim.pending_scripted_for(Endpoint::Projects), 0);
    assert_eq!(
        get_with(&sim, "/v2/projects", &[], None).await.status,
        200,
        "recovered once the queue is empty"
    );
    let failed = get_with(&sim, "/v2/datasets", &[], None).await;
    failed.assert_problem(500);
    assert_eq!(failed.retry_after.as_deref(), Some("1"));
    let (datasets, _) = all_items(&sim, "/v2/datasets", &[]).await;
    assert_eq!(datasets.len(), sim.names().datasets.len());

    // A cursor loop on spaces: the first page points back at itself.
    let looped = get_with(&sim, "/v2/spaces", &[("limit", "1")], None)
        .await
        .json();
    assert_eq!(looped["pagination"]["has_more"], true);
    let cursor = looped["pagination"]["next_cursor"].as_str().unwrap();
    let again = get_with(
        &sim,
        "/v2/spaces",
        &[("limit", "1"), ("cursor", cursor)],
        None,
    )
    .await
    .json();
    assert_eq!(again["spaces"][0]["id"], looped["spaces"][0]["id"]);

    // The runs queue is the one push_runs fills.
    sim.push_to(Endpoint::Runs, Scripted::problem(429, "Too Many", "slow"));
    assert_eq!(sim.pending_runs_scripted(), 1);
    get_with(&sim, &format!("/v2/tasks/{task_id}/runs"), &[], None)
        .await
        .assert_problem(429);
    sim.push_to(Endpoint::Tasks, Scripted::problem(503, "Unavailable", "x"));
    assert_eq!(sim.pending_scripted(), 1);
    get(&sim, &[]).await.assert_problem(503);
}

#[tokio::test]
async fn the_request_log_counts_each_endpoint() {
    let sim = Simulator::start(demo_tasks(now())).await.unwrap();
    let task_id = sim.tasks()[0].id().unwrap().to_owned();
    let runs_path = format!("/v2/tasks/{task_id}/runs");
    sim.require_key(Some("secret".into()));
    for _ in 0..2 {
        get_with(&sim, "/v2/spaces", &[], Some("secret")).await;
    }
    // Refused for its key: counted, answered 401, pops no scripted answer.
    sim.push_to(Endpoint::Datasets, Scripted::problem(500, "x", "y"));
    get_with(&sim, "/v2/datasets", &[], Some("wrong"))
        .await
        .assert_problem(401);
    get_with(&sim, "/v2/projects", &[], None)
        .await
        .assert_problem(401);
    assert_eq!(sim.pending_scripted_for(Endpoint::Datasets), 1);
    get_with(
        &sim,
        "/v2/projects",
        &[("space_name", "prod")],
        Some("secret"),
    )
    .await;
    get_with(&sim, &runs_path, &[], Some("secret")).await;
    get_with(&sim, "/v2/tasks", &[], Some("secret")).await;
    get_with(&sim, "/v2/elsewhere", &[], Some("secret")).await;

    let counts: Vec<usize> = Endpoint::ALL
        .iter()
        .map(|e| sim.request_count_for(*e))
        .collect();
    // Tasks, runs, spaces, projects, datasets.
    assert_eq!(counts, [1, 1, 2, 2, 1]);
    assert_eq!(sim.request_count(), 8);
    let endpoints: Vec<Option<Endpoint>> = sim
        .requests()
        .iter()
        .map(RecordedRequest::endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            Some(Endpoint::Spaces),
            Some(Endpoint::Spaces),
            Some(Endpoint::Datasets),
            Some(Endpoint::Projects),
            Some(Endpoint::Projects),
            Some(Endpoint::Runs),
            Some(Endpoint::Tasks),
            None,
        ]
    );
    assert_eq!(sim.requests()[4].param("space_name"), Some("prod"));
    assert_eq!(
        Endpoint::of_path("/v2/tasks/a%2Fb/runs"),
        Some(Endpoint::Runs)
    );
    assert_eq!(Endpoint::of_path("/v2/spaces/x"), None);
    assert_eq!(Endpoint::Runs.path(), "/v2/tasks/{task_id}/runs");
}

#[tokio::test]
async fn set_names_and_set_tasks_replace_the_catalogue() {
    let tasks = demo_tasks(now());
    let sim = Simulator::start(tasks.clone()).await.unwrap();
    let mut names = (*sim.names()).clone();
    let gone = names.projects.remove(0);
    names.projects[0].name = "Renamed \"project\" ✓".into();
    names.spaces[0] = names.spaces[0].clone().without_field("organization_id");
    names
        .datasets
        .push(SimDataset::new("extra", "Extra", DEMO_SPACES[1].0).with_field("name", Value::Null));
    sim.set_names(names.clone());
    let (projects, _) = all_items(&sim, "/v2/projects", &[]).await;
    assert!(!ids(&projects).contains(&gone.id.as_str()));
    assert_eq!(projects[0]["name"], "Renamed \"project\" ✓");
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[]).await;
    assert!(spaces[0].get("organization_id").is_none());
    assert!(spaces[1]["organization_id"].is_string());
    let (datasets, _) = all_items(&sim, "/v2/datasets", &[]).await;
    assert_eq!(datasets.last().unwrap()["name"], Value::Null);

    // A new task set brings its own names.
    let one = SimTask::new("solo", "Solo", "CODE_EVALUATION", true, None)
        .in_space("sp", "Lonely")
        .with_project("proj", "The Project");
    sim.set_tasks(vec![one]);
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[]).await;
    assert_eq!(ids(&spaces), ["sp"]);
    assert_eq!(spaces[0]["name"], "Lonely");
    let (projects, _) = all_items(&sim, "/v2/projects", &[]).await;
    assert_eq!(
        projects[0],
        json!({
            "id": "proj",
            "name": "The Project",
            "space_id": "sp",
            "created_at": projects[0]["created_at"],
            "project_type": "APPLICATION",
        })
    );
    assert!(all_items(&sim, "/v2/datasets", &[]).await.0.is_empty());
}

#[tokio::test]
async fn demo_names_cover_every_task_but_one() {
    let tasks = demo_tasks(now());
    let sim = Simulator::start(tasks.clone()).await.unwrap();
    let (spaces, _) = all_items(&sim, "/v2/spaces", &[]).await;
    let space_ids: Vec<&str> = DEMO_SPACES.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids(&spaces), space_ids);
    for (space, (_, name)) in spaces.iter().zip(DEMO_SPACES) {
        assert_eq!(space["name"], name);
        assert_eq!(space["organization_id"], organization_id());
        assert!(space["created_at"].is_string());
    }
    let (projects, _) = all_items(&sim, "/v2/projects", &[]).await;
    let (datasets, _) = all_items(&sim, "/v2/datasets", &[]).await;
    let by_id: HashMap<&str, &Value> = projects
        .iter()
        .chain(&datasets)
        .map(|i| (str_of(i, "id"), i))
        .collect();
    let mut unknown = Vec::new();
    for task in &tasks {
        let key = if task.json["project_id"].is_string() {
            "project_id"
        } else {
            "dataset_id"
        };
        let id = str_of(&task.json, key);
        match by_id.get(id) {
            Some(item) => {
                assert_eq!(item["space_id"], task.space_id.as_str(), "{item}");
                assert!(!str_of(item, "name").is_empty());
            }
            None => unknown.push(task.json["name"].as_str().unwrap()),
        }
    }
    assert_eq!(unknown, ["Backfill Hallucination Audit"]);
    // Several tasks share a project; project types include null.
    assert!(projects.len() < tasks.len() - datasets.len());
    assert!(projects.iter().any(|p| p["project_type"].is_null()));
    assert!(projects.iter().any(|p| p["project_type"] == "HARNESS"));
    assert_eq!(datasets.len(), 3);
    for dataset in &datasets {
        assert_eq!(dataset["versions"], json!([]));
        assert!(dataset["updated_at"].is_string());
    }

    // Evaluators: every one carries the three ids' fields; one pinned.
    let mut pinned = Vec::new();
    for task in &tasks {
        for evaluator in task.json["evaluators"].as_array().unwrap() {
            assert!(evaluator["evaluator_id"].is_string(), "{evaluator}");
            assert!(evaluator["evaluator_name"].is_string(), "{evaluator}");
            match &evaluator["evaluator_version_id"] {
                Value::Null => {}
                Value::String(_) => pinned.push((
                    task.json["name"].as_str().unwrap(),
                    evaluator["evaluator_name"].as_str().unwrap(),
                )),
                other => panic!("evaluator_version_id {other}"),
            }
        }
    }
    assert_eq!(
        pinned,
        [("Customer Support QA Correctness", "Answer Completeness")]
    );
}

#[tokio::test]
async fn demo_runs_show_a_lagging_and_a_stuck_task() {
    let start = now();
    let tasks = demo_tasks(start);
    let sim = Simulator::start(tasks.clone()).await.unwrap();
    let task = |name: &str| {
        tasks
            .iter()
            .find(|t| t.json["name"] == name)
            .unwrap()
            .clone()
    };
    let at = |v: &Value| OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap();
    let lag = time::Duration::try_from(DEMO_DATA_LAG).unwrap();

    // Lagging: on time (newest run finished within its 5-minute cadence),
    // every data window ends DEMO_DATA_LAG before its run started.
    let lagging = task("Order Assistant Groundedness");
    assert_eq!(lagging.json["is_continuous"], true);
    let runs = sim.runs(lagging.id().unwrap()).unwrap();
    assert!(runs.len() > 3);
    assert_eq!(runs[0]["status"], "COMPLETED");
    assert!(now() - at(&runs[0]["run_finished_at"]) <= time::Duration::minutes(5));
    for run in &runs {
        assert_eq!(
            at(&run["run_started_at"]) - at(&run["data_end_time"]),
            lag,
            "{run}"
        );
        assert_eq!(
            at(&run["data_end_time"]) - at(&run["data_start_time"]),
            time::Duration::minutes(5)
        );
    }

    // Stuck: one-off, newest run RUNNING since 3 hours before `start`.
    let stuck = task("Contract Summaries Backfill");
    assert_eq!(stuck.json["is_continuous"], false);
    let runs = sim.runs(stuck.id().unwrap()).unwrap();
    assert_eq!(runs[0]["status"], "RUNNING");
    assert!(runs[0]["run_finished_at"].is_null());
    // (demo_tasks rounds `start` down to the millisecond)
    let since = start - at(&runs[0]["run_started_at"]);
    assert!(
        since >= time::Duration::hours(3)
            && since < time::Duration::hours(3) + time::Duration::MILLISECOND,
        "{since}"
    );

    // Every other demo task's completed runs end their window when the
    // run started; experiment runs carry none.
    for other in &tasks {
        if other.id() == lagging.id() {
            continue;
        }
        let experiment = other.json["type"] == "RUN_EXPERIMENT";
        for run in sim.runs(other.id().unwrap()).unwrap() {
            if experiment {
                assert!(run["data_start_time"].is_null() && run["data_end_time"].is_null());
            } else if run["status"] == "COMPLETED" {
                assert_eq!(at(&run["data_end_time"]), at(&run["run_started_at"]));
                assert!(at(&run["data_start_time"]) < at(&run["data_end_time"]));
            }
        }
    }
}

#[test]
fn explicit_runs_take_any_data_window() {
    let t = now();
    let run = SimRun::completed(t, 1, 0, 0)
        .with_data_window(Some(t - time::Duration::hours(9)), None)
        .to_json("x");
    assert_eq!(
        run["data_start_time"],
        rfc3339_millis(t - time::Duration::hours(9))
    );
    assert_eq!(run["data_end_time"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_names_match_100k_tasks() {
    let tasks = generated_tasks(100_000, now());
    let names = names_of(&tasks);
    assert_eq!(names.spaces.len(), 3);
    let space_of: HashMap<&str, &str> = names
        .projects
        .iter()
        .map(|p| (p.id.as_str(), p.space_id.as_str()))
        .chain(
            names
                .datasets
                .iter()
                .map(|d| (d.id.as_str(), d.space_id.as_str())),
        )
        .collect();
    for task in &tasks {
        let id = task.json["project_id"]
            .as_str()
            .or(task.json["dataset_id"].as_str())
            .unwrap();
        assert_eq!(space_of.get(id), Some(&task.space_id.as_str()), "{id}");
    }
    // Blocks of GENERATED_TASKS_PER_NAME tasks of a space: about that
    // many times fewer projects, and as many datasets, as tasks (each of
    // the three spaces may end with a partial block).
    let per = tasks.len() / GENERATED_TASKS_PER_NAME;
    for count in [names.projects.len(), names.datasets.len()] {
        assert!(count <= per + 3 && count > per * 9 / 10, "{count} of {per}");
    }
    let sim = Simulator::start(tasks).await.unwrap();
    let (projects, pages) = all_items(&sim, "/v2/projects", &[("limit", "100")]).await;
    assert_eq!(projects.len(), names.projects.len());
    assert_eq!(pages, names.projects.len().div_ceil(100));
}
