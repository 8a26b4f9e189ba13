//! Tests of the simulated Arize API, over real HTTP on loopback.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::*;

mod names;
mod runs;

thread_local! {
    /// One client per test (each test runs on its own thread and runtime).
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn ids(&self) -> Vec<String> {
        self.json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], json!(status));
        assert!(body["title"].is_string());
        assert!(body["detail"].is_string());
        assert!(body["type"].is_string());
    }
}

async fn get_with(
    sim: &Simulator,
    path: &str,
    query: &[(&str, &str)],
    key: Option<&str>,
) -> Answer {
    let client = CLIENT.with(Clone::clone);
    let mut request = client.get(format!("{}{path}", sim.base_url())).query(query);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status().as_u16(),
        content_type: header(reqwest::header::CONTENT_TYPE),
        retry_after: header(reqwest::header::RETRY_AFTER),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

async fn get(sim: &Simulator, query: &[(&str, &str)]) -> Answer {
    get_with(sim, "/v2/tasks", query, None).await
}

/// Follows pagination to the end; returns every id and the number of pages.
async fn all_ids(sim: &Simulator, query: &[(&str, &str)]) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let answer = get(sim, &q).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        pages += 1;
        ids.extend(answer.ids());
        let body = answer.json();
        let pagination = &body["pagination"];
        if pagination["has_more"] == json!(true) {
            let next = pagination["next_cursor"].as_str().unwrap().to_owned();
            assert_ne!(Some(&next), cursor.as_ref());
            cursor = Some(next);
        } else {
            assert_eq!(pagination["has_more"], json!(false));
            assert!(pagination.get("next_cursor").is_none());
            return (ids, pages);
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn numbered(n: usize) -> Vec<SimTask> {
    (0..n)
        .map(|i| {
            SimTask::new(
                &format!("task-{i}"),
                &format!("Task {i}"),
                "TEMPLATE_EVALUATION",
                true,
                Some(now()),
            )
        })
        .collect()
}

#[tokio::test]
async fn paginates_with_limit_and_chained_cursors() {
    let sim = Simulator::start(numbered(7)).await.unwrap();
    let first = get(&sim, &[("limit", "3")]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert_eq!(first.ids(), ["task-0", "task-1", "task-2"]);
    assert_eq!(first.json()["pagination"]["has_more"], json!(true));

    let (ids, pages) = all_ids(&sim, &[("limit", "3")]).await;
    let expected: Vec<String> = (0..7).map(|i| format!("task-{i}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(pages, 3);

    // Exactly a multiple of the limit: no empty trailing page.
    let (ids, pages) = all_ids(&sim, &[("limit", "7")]).await;
    assert_eq!((ids.len(), pages), (7, 1));
    let requests = sim.requests();
    assert_eq!(requests.len(), sim.request_count());
    assert_eq!(requests[2].param("limit"), Some("3"));
    assert!(requests[2].param("cursor").is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn default_limit_is_50_and_bad_limits_are_400() {
    let sim = Simulator::start(numbered(120)).await.unwrap();
    assert_eq!(get(&sim, &[]).await.ids().len(), DEFAULT_LIMIT);
    assert_eq!(get(&sim, &[("limit", "100")]).await.ids().len(), 100);
    assert_eq!(get(&sim, &[("limit", "1")]).await.ids().len(), 1);
    for bad in [
        "0",
        "101",
        "-1",
        "abc",
        "",
        "1.5",
        "99999999999999999999999",
    ] {
        get(&sim, &[("limit", bad)]).await.assert_problem(400);
    }
}

#[tokio::test]
async fn garbled_cursors_are_400() {
    let sim = Simulator::start(numbered(3)).await.unwrap();
    let foreign = encode::base64_encode(b"simcursor:projects:1");
    for bad in [
        "",
        "garbage",
        "%%%",
        "c2ltY3Vyc29yOnRhc2tzOg==",
        foreign.as_str(),
    ] {
        get(&sim, &[("cursor", bad)]).await.assert_problem(400);
    }
    // Raw, unencoded junk in the query string does not break anything either.
    let client = reqwest::Client::new();
    for raw in ["cursor=%ZZ&limit=%FF", "cursor", "&&&=&", "name=%C3%28"] {
        let response = client
            .get(format!("{}/v2/tasks?{raw}", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert!(response.status().as_u16() == 400 || response.status().as_u16() == 200);
    }
}

#[tokio::test]
async fn filters() {
    let tasks = vec![
        SimTask::new(
            "a",
            "Production Hallucination Check",
            "TEMPLATE_EVALUATION",
            true,
            None,
        ),
        SimTask::new("b", "JSON validity", "CODE_EVALUATION", true, None)
            .in_space("space-2", "Staging EU"),
        SimTask::new("c", "Golden set", "CODE_EVALUATION", false, None).on_dataset(),
        SimTask::new("d", "Nightly experiment", "RUN_EXPERIMENT", false, None)
            .in_space("space-2", "Staging EU"),
        SimTask::new("e", "weird", "template_evaluation", false, None)
            .with_field("name", json!(42))
            .with_field("project_id", json!("proj-x")),
    ];
    let dataset_c = tasks[2].json["dataset_id"].as_str().unwrap().to_owned();
    let project_a = tasks[0].json["project_id"].as_str().unwrap().to_owned();
    let sim = Simulator::start(tasks).await.unwrap();
    let ids = |answer: Answer| answer.ids().join(",");

    assert_eq!(ids(get(&sim, &[("space_id", "space-2")]).await), "b,d");
    assert_eq!(ids(get(&sim, &[("space_id", "space")]).await), "");
    assert_eq!(ids(get(&sim, &[("space_name", "sTAGING")]).await), "b,d");
    assert_eq!(ids(get(&sim, &[("space_name", "prod")]).await), "a,c,e");
    assert_eq!(ids(get(&sim, &[("name", "HALLUCINATION")]).await), "a");
    assert_eq!(ids(get(&sim, &[("name", "n")]).await), "a,b,c,d");
    assert_eq!(ids(get(&sim, &[("project_id", &project_a)]).await), "a");
    assert_eq!(ids(get(&sim, &[("project_id", "proj-x")]).await), "e");
    assert_eq!(ids(get(&sim, &[("dataset_id", &dataset_c)]).await), "c");
    assert_eq!(ids(get(&sim, &[("type", "CODE_EVALUATION")]).await), "b,c");
    assert_eq!(
        ids(get(&sim, &[("type", "template_evaluation")]).await),
        "a,e"
    );
    assert_eq!(ids(get(&sim, &[("type", "run_experiment")]).await), "d");
    assert_eq!(
        ids(get(
            &sim,
            &[("type", "code_evaluation"), ("space_id", "space-2")]
        )
        .await),
        "b"
    );
    // Filters and pagination together.
    let (all, pages) = all_ids(&sim, &[("type", "CODE_EVALUATION"), ("limit", "1")]).await;
    assert_eq!((all.join(","), pages), ("b,c".to_owned(), 2));

    let long = "x".repeat(256);
    get(&sim, &[("name", &long)]).await.assert_problem(400);
    get(&sim, &[("space_name", &long)])
        .await
        .assert_problem(400);
    assert_eq!(get(&sim, &[("name", &long[..255])]).await.status, 200);
}

#[tokio::test]
async fn scripted_answers_are_popped_in_order() {
    let sim = Simulator::start(numbered(2)).await.unwrap();
    sim.push(Scripted::Problem {
        status: 429,
        title: "Too Many Requests".into(),
        detail: "slow down".into(),
        retry_after: Some("2".into()),
    });
    sim.push(Scripted::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: b"not json".to_vec(),
    });
    sim.push(Scripted::problem(503, "Service Unavailable", "maintenance"));
    sim.push(Scripted::Delay(Duration::from_millis(300)));
    assert_eq!(sim.pending_scripted(), 4);

    let first = get(&sim, &[]).await;
    first.assert_problem(429);
    assert_eq!(first.retry_after.as_deref(), Some("2"));
    assert_eq!(first.json()["detail"], "slow down");

    let second = get(&sim, &[]).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, b"not json");

    let third = get(&sim, &[]).await;
    third.assert_problem(503);
    assert_eq!(third.retry_after, None);

    let started = Instant::now();
    let fourth = get(&sim, &[]).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fourth.ids().len(), 2);

    assert_eq!(get(&sim, &[]).await.ids().len(), 2);
    assert_eq!(sim.pending_scripted(), 0);

    // Odd scripted values do not panic the server.
    sim.push(Scripted::Problem {
        status: 42,
        title: "odd".into(),
        detail: "odd".into(),
        retry_after: Some("bad\nvalue".into()),
    });
    sim.push(Scripted::Raw {
        status: 200,
        content_type: "bad\ncontent type".into(),
        body: vec![0xff; 10],
    });
    assert_eq!(get(&sim, &[]).await.status, 500);
    assert_eq!(get(&sim, &[]).await.body, vec![0xff; 10]);
    assert_eq!(get(&sim, &[]).await.status, 200);
}

#[tokio::test]
async fn a_client_times_out_on_delay() {
    let sim = Simulator::start(numbered(1)).await.unwrap();
    sim.push(Scripted::Delay(Duration::from_secs(5)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client
        .get(format!("{}/v2/tasks", sim.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    // The server goes on serving, and shuts down promptly despite the sleeper.
    assert_eq!(get(&sim, &[]).await.status, 200);
    let started = Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn require_key_gives_401() {
    let sim = Simulator::start(numbered(1)).await.unwrap();
    assert_eq!(get(&sim, &[]).await.status, 200);
    assert_eq!(
        get_with(&sim, "/v2/tasks", &[], Some("x")).await.status,
        200
    );

    sim.require_key(Some("secret".into()));
    sim.push(Scripted::problem(500, "Internal Server Error", "boom"));
    get(&sim, &[]).await.assert_problem(401);
    get_with(&sim, "/v2/tasks", &[], Some("wrong"))
        .await
        .assert_problem(401);
    get_with(&sim, "/v2/tasks", &[], Some("Secret"))
        .await
        .assert_problem(401);
    get_with(&sim, "/v2/projects", &[], None)
        .await
        .assert_problem(401);
    // Refused requests popped nothing.
    assert_eq!(sim.pending_scripted(), 1);
    get_with(&sim, "/v2/tasks", &[], Some("secret"))
        .await
        .assert_problem(500);
    assert_eq!(
        get_with(&sim, "/v2/tasks", &[], Some("secret"))
            .await
            .status,
        200
    );
    let last = sim.requests().pop().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer secret"));

    sim.require_key(None);
    assert_eq!(get(&sim, &[]).await.status, 200);
}

#[tokio::test]
async fn repeat_cursor_and_more_without_cursor() {
    let sim = Simulator::start(numbered(5)).await.unwrap();

    sim.push(Scripted::RepeatCursor);
    let first = get(&sim, &[("limit", "2")]).await;
    assert_eq!(first.ids(), ["task-0", "task-1"]);
    let loop_cursor = first.json()["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.json()["pagination"]["has_more"], json!(true));
    // The loop cursor is valid: following it starts over.
    let again = get(&sim, &[("limit", "2"), ("cursor", &loop_cursor)]).await;
    assert_eq!(again.ids(), ["task-0", "task-1"]);

    let next = again.json()["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.push(Scripted::RepeatCursor);
    let repeated = get(&sim, &[("limit", "2"), ("cursor", &next)]).await;
    assert_eq!(repeated.ids(), ["task-2", "task-3"]);
    assert_eq!(
        repeated.json()["pagination"],
        json!({"has_more": true, "next_cursor": next})
    );

    sim.push(Scripted::MoreWithoutCursor);
    let more = get(&sim, &[("limit", "2")]).await;
    assert_eq!(more.ids(), ["task-0", "task-1"]);
    assert_eq!(more.json()["pagination"], json!({"has_more": true}));
}

#[tokio::test]
async fn unknown_paths_are_404_and_all_requests_are_recorded() {
    let sim = Simulator::start(numbered(1)).await.unwrap();
    get_with(&sim, "/v2/monitors", &[("limit", "5")], Some("k"))
        .await
        .assert_problem(404);
    get_with(&sim, "/", &[], None).await.assert_problem(404);
    let post = CLIENT
        .with(Clone::clone)
        .post(format!("{}/v2/tasks", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    get_with(&sim, "/v2/tasks/abc/runs", &[], None)
        .await
        .assert_problem(404);
    get(&sim, &[("name", "a b&c=d/é"), ("name", "second")]).await;

    let requests = sim.requests();
    assert_eq!(sim.request_count(), 5);
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v2/monitors",
            "/",
            "/v2/tasks",
            "/v2/tasks/abc/runs",
            "/v2/tasks"
        ]
    );
    assert_eq!(requests[0].param("limit"), Some("5"));
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer k"));
    assert_eq!(requests[1].authorization, None);
    assert_eq!(requests[4].param("name"), Some("a b&c=d/é"));
    assert_eq!(requests[4].query.len(), 2);
    assert_eq!(requests[4].param("cursor"), None);
}

#[tokio::test]
async fn set_tasks_replaces_the_task_set() {
    let sim = Simulator::start(numbered(3)).await.unwrap();
    assert_eq!(get(&sim, &[]).await.ids().len(), 3);
    sim.set_tasks(numbered(1));
    assert_eq!(get(&sim, &[]).await.ids(), ["task-0"]);
    sim.set_tasks(Vec::new());
    let empty = get(&sim, &[]).await.json();
    assert_eq!(
        empty,
        json!({"tasks": [], "pagination": {"has_more": false}})
    );
    // Tasks with any JSON at all are served as they are.
    sim.set_tasks(vec![
        SimTask::new("x", "x", "FUTURE_TYPE", true, None).with_field("extra", json!({"a": [1]})),
        SimTask::new("y", "y", "CODE_EVALUATION", true, None).without_field("is_continuous"),
        SimTask {
            json: json!("not even an object"),
            space_id: "s".into(),
            space_name: "S".into(),
            runs_every: Some(Duration::from_secs(1)),
            run_cadence: None,
            newest_run: None,
            newest_run_varies: false,
            newest_counts: None,
            runs: None,
            data_lag: None,
            names: TaskNames::default(),
        },
    ]);
    let body = get(&sim, &[]).await.json();
    assert_eq!(body["tasks"][0]["extra"], json!({"a": [1]}));
    assert_eq!(body["tasks"][0]["type"], "FUTURE_TYPE");
    assert!(body["tasks"][1].get("is_continuous").is_none());
    assert_eq!(body["tasks"][2], "not even an object");
}

#[tokio::test]
async fn running_tasks_advance_last_run_at() {
    let period = Duration::from_millis(200);
    let task = SimTask::new("r", "Runner", "TEMPLATE_EVALUATION", true, None).running_every(period);
    let sim = Simulator::start(vec![task]).await.unwrap();
    let last_run = |body: Value| {
        let text = body["tasks"][0]["last_run_at"].as_str().unwrap().to_owned();
        assert!(text.ends_with('Z') && text.len() == 24, "{text}");
        OffsetDateTime::parse(&text, &Rfc3339).unwrap()
    };
    let before = now();
    let first = last_run(get(&sim, &[]).await.json());
    assert!(first <= now());
    assert!(first > before - period);
    assert_eq!(first.unix_timestamp_nanos() % 200_000_000, 0);

    tokio::time::sleep(Duration::from_millis(450)).await;
    let second = last_run(get(&sim, &[]).await.json());
    assert!(second >= first + time::Duration::milliseconds(400));
    assert_eq!(second.unix_timestamp_nanos() % 200_000_000, 0);

    // Minutes: a multiple of the period, within one period of now.
    let minute = SimTask::new("m", "M", "CODE_EVALUATION", true, None)
        .running_every(Duration::from_secs(300));
    sim.set_tasks(vec![minute.clone()]);
    let served = last_run(get(&sim, &[]).await.json());
    assert_eq!(served.unix_timestamp() % 300, 0);
    assert!(now() - served < time::Duration::seconds(300));
    // The stored task is left untouched.
    assert_eq!(sim.tasks()[0].json["last_run_at"], Value::Null);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = Simulator::start(numbered(1)).await.unwrap();
    let url = sim.base_url();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with('/'));
    sim.shutdown().await;
    let refused = reqwest::Client::new()
        .get(format!("{url}/v2/tasks"))
        .send()
        .await;
    assert!(refused.is_err());
}

/// Checks one task object against the schema of the reference doc.
fn validate_task(task: &Value) -> Result<(), String> {
    let obj = task.as_object().ok_or("task is not an object")?;
    let string = |key: &str| -> Result<&str, String> {
        obj.get(key)
            .and_then(Value::as_str)
            .ok_or(format!("{key} is not a string"))
    };
    let nullable_string = |key: &str| -> Result<Option<&str>, String> {
        match obj.get(key) {
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            other => Err(format!("{key} is not a nullable string: {other:?}")),
        }
    };
    let timestamp = |key: &str, nullable: bool| -> Result<(), String> {
        match obj.get(key) {
            Some(Value::Null) if nullable => Ok(()),
            Some(Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
                .map(drop)
                .map_err(|e| format!("{key}: {s:?}: {e}")),
            other => Err(format!("{key} is not a timestamp: {other:?}")),
        }
    };
    string("id")?;
    string("name")?;
    let ty = string("type")?;
    if !["TEMPLATE_EVALUATION", "CODE_EVALUATION", "RUN_EXPERIMENT"].contains(&ty) {
        return Err(format!("type {ty:?} is not in the enum"));
    }
    let project = nullable_string("project_id")?;
    let dataset = nullable_string("dataset_id")?;
    match obj.get("sampling_rate") {
        Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|r| (0.0..=1.0).contains(&r)) => {}
        other => return Err(format!("sampling_rate: {other:?}")),
    }
    let continuous = obj
        .get("is_continuous")
        .and_then(Value::as_bool)
        .ok_or("is_continuous is not a bool")?;
    nullable_string("query_filter")?;
    match obj.get("query_filters") {
        Some(Value::Null | Value::Object(_)) => {}
        other => return Err(format!("query_filters: {other:?}")),
    }
    let evaluators = obj
        .get("evaluators")
        .and_then(Value::as_array)
        .ok_or("evaluators is not an array")?;
    for evaluator in evaluators {
        let e = evaluator.as_object().ok_or("evaluator is not an object")?;
        for key in ["evaluator_id", "evaluator_name"] {
            e.get(key)
                .and_then(Value::as_str)
                .ok_or(format!("evaluator {key} is not a string"))?;
        }
    }
    let experiments = obj
        .get("experiment_ids")
        .and_then(Value::as_array)
        .ok_or("experiment_ids is not an array")?;
    if !experiments.iter().all(Value::is_string) {
        return Err("experiment_ids holds a non-string".into());
    }
    match obj.get("run_configuration") {
        Some(Value::Null) => {}
        Some(Value::Object(_)) if ty == "RUN_EXPERIMENT" => {}
        other => return Err(format!("run_configuration: {other:?}")),
    }
    timestamp("last_run_at", true)?;
    timestamp("created_at", false)?;
    timestamp("updated_at", false)?;
    nullable_string("created_by_user_id")?;
    // Consistency: dataset-based tasks are never continuous.
    match (project, dataset) {
        (Some(_), None) => {}
        (None, Some(_)) if !continuous && !experiments.is_empty() => {}
        other => {
            return Err(format!(
                "project/dataset: {other:?}, continuous {continuous}"
            ))
        }
    }
    Ok(())
}

fn mode(task: &Value) -> bool {
    task["is_continuous"].as_bool().unwrap()
}

#[tokio::test]
async fn demo_tasks_are_realistic_and_valid() {
    let start = now();
    let demo = demo_tasks(start);
    assert!((10..=16).contains(&demo.len()));

    let sim = Simulator::start(demo.clone()).await.unwrap();
    let (ids, pages) = all_ids(&sim, &[("limit", "5")]).await;
    assert_eq!(ids.len(), demo.len());
    assert!(pages >= 3);
    let served = get(&sim, &[("limit", "100")]).await.json();
    let served = served["tasks"].as_array().unwrap();

    for task in served.iter().chain(demo.iter().map(|t| &t.json)) {
        validate_task(task).unwrap_or_else(|e| panic!("{e}: {task:#}"));
    }
    let unique: HashSet<&str> = served.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), served.len());
    for id in &unique {
        assert!(encode::base64_decode(id).is_some(), "{id} is not base64");
    }

    let types: HashSet<&str> = served.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 3);
    assert!(served.iter().any(mode));
    assert!(served.iter().any(|t| !mode(t)));
    let spaces: HashSet<&str> = demo.iter().map(|t| t.space_id.as_str()).collect();
    assert_eq!(spaces.len(), 2);

    let never_run: Vec<&Value> = served
        .iter()
        .filter(|t| t["last_run_at"].is_null())
        .collect();
    // A one-off one, and a continuous one created hours ago.
    assert_eq!(never_run.len(), 2);
    assert_eq!(never_run.iter().filter(|t| mode(t)).count(), 1);
    let created =
        |t: &Value| OffsetDateTime::parse(t["created_at"].as_str().unwrap(), &Rfc3339).unwrap();
    for task in never_run.iter().filter(|t| mode(t)) {
        assert!(now() - created(task) > time::Duration::hours(2), "{task}");
    }

    let age = |t: &Value| {
        let last = OffsetDateTime::parse(t["last_run_at"].as_str().unwrap(), &Rfc3339).unwrap();
        now() - last
    };
    let continuous: Vec<&Value> = served
        .iter()
        .filter(|t| mode(t) && !t["last_run_at"].is_null())
        .collect();
    // Stale: older than a few of its own intervals (the hourly and 6-hourly
    // ones may be hours old and still on time).
    let cadence_of_served = |t: &Value| {
        let sim = demo.iter().find(|d| d.json["id"] == t["id"]).unwrap();
        cadence_of(sim)
    };
    let stale: Vec<&&Value> = continuous
        .iter()
        .filter(|t| age(t) > time::Duration::try_from(cadence_of_served(t) * 3).unwrap())
        .collect();
    assert_eq!(stale.len(), 1);
    assert!(age(stale[0]) > time::Duration::minutes(179));
    assert!(age(stale[0]) < time::Duration::minutes(185));
    for task in &continuous {
        assert_ne!(task["type"], "RUN_EXPERIMENT");
        assert!(task["dataset_id"].is_null());
    }
    let running: Vec<&SimTask> = demo.iter().filter(|t| t.runs_every.is_some()).collect();
    assert_eq!(running.len(), continuous.len() - 1);
    let periods: HashSet<Duration> = running.iter().filter_map(|t| t.runs_every).collect();
    assert!(periods.len() >= 3);
    // Some CODE_EVALUATION task is dataset-based.
    assert!(served
        .iter()
        .any(|t| t["type"] == "CODE_EVALUATION" && t["dataset_id"].is_string()));
    // Filters by the demo spaces split the set.
    let (prod, _) = all_ids(&sim, &[("space_id", DEMO_SPACES[0].0)]).await;
    let (stg, _) = all_ids(&sim, &[("space_name", "staging")]).await;
    assert_eq!(prod.len() + stg.len(), demo.len());
    assert!(!prod.is_empty() && !stg.is_empty());
}

#[test]
fn generated_tasks_are_deterministic_and_valid() {
    let at = now();
    let a = generated_tasks(1000, at);
    let b = generated_tasks(1000, at);
    assert_eq!(a.len(), 1000);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.json, y.json);
        assert_eq!(x.space_id, y.space_id);
        validate_task(&x.json).unwrap_or_else(|e| panic!("{e}: {:#}", x.json));
    }
    let ids: HashSet<&str> = a.iter().map(|t| t.id().unwrap()).collect();
    assert_eq!(ids.len(), a.len());
    assert!(a.iter().any(|t| t.json["last_run_at"].is_null()));
    assert!(a.iter().any(|t| mode(&t.json)));
    assert!(a.iter().any(|t| !mode(&t.json)));
    let types: HashSet<&str> = a.iter().map(|t| t.json["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 3);
    assert!(generated_tasks(0, at).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_100k_tasks_in_pages_of_100() {
    let started = Instant::now();
    let tasks = generated_tasks(100_000, now());
    let generated = started.elapsed();
    let sim = Simulator::start(tasks).await.unwrap();
    let started = Instant::now();
    let (ids, pages) = all_ids(&sim, &[("limit", "100")]).await;
    assert_eq!(ids.len(), 100_000);
    assert_eq!(pages, 1000);
    eprintln!(
        "generated in {generated:?}, paginated in {:?}",
        started.elapsed()
    );
    // A sparse filter over the whole set.
    let (some, _) = all_ids(
        &sim,
        &[
            ("limit", "100"),
            ("name", "#000004"),
            ("space_id", "space-2"),
        ],
    )
    .await;
    assert_eq!(some.len(), 1);
}

#[test]
fn base64_round_trips_and_cursors_reject_junk() {
    for input in [&b""[..], b"a", b"ab", b"abc", b"abcd", b"\xff\x00\xfe"] {
        let encoded = encode::base64_encode(input);
        assert_eq!(encode::base64_decode(&encoded).unwrap(), input);
    }
    assert_eq!(
        encode::base64_encode(b"OnlineTask:45:qRwX"),
        "T25saW5lVGFzazo0NTpxUndY"
    );
    for junk in ["A", "AA=A", "A===", "====", "AB=C", "AAA=AAAA", "é"] {
        assert!(encode::base64_decode(junk).is_none(), "{junk}");
    }
    assert_eq!(
        decode_cursor("tasks", &encode_cursor("tasks", 1234)),
        Some(1234)
    );
    assert_eq!(decode_cursor("tasks", &encode_cursor("runs", 1)), None);
    assert_eq!(
        decode_cursor("tasks", &encode::base64_encode(b"simcursor:tasks:+1")),
        None
    );
}

#[test]
fn rounding_and_formatting() {
    let t = time::macros::datetime!(2026-03-01 14:30:59.987654 UTC);
    assert_eq!(rfc3339_millis(t), "2026-03-01T14:30:59.987Z");
    let offset = time::macros::datetime!(2026-03-01 16:30:00 +02:00);
    assert_eq!(rfc3339_millis(offset), "2026-03-01T14:30:00.000Z");
    assert_eq!(
        rfc3339_millis(task::round_down(t, Duration::from_secs(60))),
        "2026-03-01T14:30:00.000Z"
    );
    assert_eq!(task::round_down(t, Duration::ZERO), t);
    assert_eq!(
        task::round_down(t, Duration::MAX),
        OffsetDateTime::UNIX_EPOCH
    );
}

#[tokio::test]
async fn a_page_cap_spreads_a_small_set_over_several_pages() {
    let sim = Simulator::start(numbered(12)).await.unwrap();
    sim.cap_page_size(5);
    let (ids, pages) = all_ids(&sim, &[("limit", "100")]).await;
    assert_eq!((ids.len(), pages), (12, 3));
}
