//! A simulated Arize AX REST API, served over real HTTP on loopback: the API
//! of `arize-exporter --demo` and of every test and benchmark.
//!
//! Its answers fit the official SDK's generated models (upper-case types and
//! statuses, `run_configuration` variants with `experiment_type`,
//! `query_filters` on trace-shaped tasks); the project's `tests/tools/sdk_schema.rs`
//! checks every page. Tests may still craft tasks and runs off schema
//! (`with_field`, lower-case shapes of the docs page) for tolerance tests.
//!
//! # Endpoints
//! - `GET /v2/tasks`: filters `space_id`, `space_name`, `name`,
//!   `project_id`, `dataset_id`, `type`; `limit` (1..=100, default 50);
//!   `cursor` (opaque). Answers `{"tasks":[...],"pagination":{"has_more",
//!   "next_cursor"?}}`.
//! - `GET /v2/tasks/{task_id}/runs`: `status` (one of [`RUN_STATUSES`],
//!   any case), `limit` (1..=100, default 50), `cursor`. Answers
//!   `{"task_runs":[...],"pagination":{...}}`, each run with every field of
//!   the API's task run (`id`, `task_id`, `experiment_id`, `status`,
//!   `run_started_at`, `run_finished_at`, `data_start_time`,
//!   `data_end_time`, `num_successes`, `num_errors`, `num_skipped`,
//!   `created_at`, `created_by_user_id`, `failure_reason`; absent values
//!   are null). `task_id` is one path segment, percent-decoded (ids may hold
//!   `/`, `+`, `=`: send `/` as `%2F`). An unknown task id is a 404
//!   problem+json.
//! - `GET /v2/spaces` (filters `name`, a case-insensitive substring, and
//!   `org_id`), `GET /v2/projects` (filters `space_id`, `space_name`,
//!   `name`, `project_type`) and `GET /v2/datasets` (filters `space_id`,
//!   `space_name`, `name`): `limit`, `cursor` as for tasks; answer
//!   `{"spaces"|"projects"|"datasets":[...],"pagination":{...}}` with the
//!   items of [`SimSpace`], [`SimProject`], [`SimDataset`]. A `space_id` /
//!   `space_name` filter that matches no space is a 404 problem+json, as
//!   the API answers for a space that does not exist or is not readable.
//! - Bad parameters are 400, other paths 404, other methods 405, all as RFC
//!   9457 problem+json (`status`, `title`, `detail`, `type`).
//!
//! # Tasks
//! [`SimTask::new`] makes a well-formed task; [`demo_tasks`] and
//! [`generated_tasks`] make whole sets. [`Simulator::set_tasks`] replaces
//! the set between polls. A task [`SimTask::running_every`] a period has its
//! `last_run_at` advanced to now (rounded down to the period) whenever it is
//! served.
//!
//! Evaluators are served with `evaluator_version_id` null (the latest
//! version runs) unless [`SimTask::with_pinned_evaluators`] or
//! [`SimTask::with_evaluator`] pins one.
//!
//! # Names
//! The names endpoints list a [`SimNames`] catalogue: by default
//! [`names_of`] the task set (each task's space; its `project_id` and
//! `dataset_id` as a project and a dataset in that space, named with
//! [`SimTask::with_project`] / [`SimTask::with_dataset`], else a name
//! derived from the id; [`SimTask::with_unlisted_names`] keeps a task's
//! out), recomputed by [`Simulator::set_tasks`]. [`Simulator::set_names`]
//! replaces it (a project renamed or gone, an item off schema with
//! `with_field`), [`Simulator::names`] reads it.
//!
//! # Runs
//! A task's runs are, by priority:
//! 1. the runs a test set at run time: [`Simulator::set_runs`] (until
//!    [`Simulator::clear_runs`]);
//! 2. the task's own: [`SimTask::with_runs`];
//! 3. a generated history, computed on each request (never stored, so 100k
//!    tasks cost nothing until asked): none if `last_run_at` is null or not
//!    a timestamp (a never-run task has no runs); otherwise, for a
//!    continuous task up to [`HISTORY_RUNS`] runs, one per cadence, the
//!    newest finishing exactly at `last_run_at` (if `RUNNING`, started at
//!    it), none finishing before `created_at`; for a one-off task one to
//!    three runs a cadence apart. The cadence is [`SimTask::with_run_cadence`],
//!    else [`SimTask::running_every`], else picked from the id
//!    ([`cadence_of`]). About 1 run in 25 is `FAILED` and 1 in 50
//!    `CANCELLED` (with a `failure_reason`), the rest `COMPLETED` with item
//!    counts; [`SimTask::with_newest_run`] fixes the newest run's status and
//!    reason. Every run carries a data window (`data_start_time`,
//!    `data_end_time`) one cadence long, ending when the run started, or
//!    [`SimTask::with_data_lag`] earlier; `RUN_EXPERIMENT` runs carry
//!    `experiment_id` and no data window.
//!    Deterministic from the task id and `last_run_at`; run ids stay the
//!    same as a running task's history moves forward.
//!
//! [`SimRun`] builds a run: [`SimRun::new`] (any status string, other
//! fields filled as the API fills them for it), the shorthands
//! [`SimRun::completed`], [`SimRun::failed`], [`SimRun::cancelled`],
//! [`SimRun::running`], [`SimRun::pending`], and `with_id`, `with_counts`,
//! `with_times`, `with_data_window`, `with_failure_reason` (any length), `with_field` (any JSON
//! value, e.g. a mistyped count), `without_field`. Runs given without an id
//! get one derived from the task id and their position.
//!
//! Order: [`Simulator::set_run_order`] for all tasks,
//! [`Simulator::set_task_run_order`] for one: [`RunOrder::NewestFirst`]
//! (default, by `created_at`), [`RunOrder::OldestFirst`] (the newest run on
//! the last page), [`RunOrder::Shuffled`] (stable across pages),
//! [`RunOrder::AsGiven`]. A cursor is a position in that order.
//!
//! A run that finishes later: serve it `RUNNING`, then
//! [`Simulator::complete_run`] (status `COMPLETED`, finished now, counts) or
//! [`Simulator::update_run`] for any change; both work on generated
//! histories too (the task's runs are then frozen as explicit runs).
//! [`Simulator::runs`] returns what the endpoint would list now.
//!
//! # Faults
//! Scripted answers ([`Scripted`]: a problem with optional `Retry-After`, a
//! raw body such as non-JSON or [`Scripted::json`] with a wrong envelope, a
//! delay, a cursor loop with [`Scripted::RepeatCursor`], `has_more` without
//! a cursor) are queued FIFO per [`Endpoint`], one popped per request:
//! - [`Simulator::push_to`]`(endpoint, answer)`: requests to that endpoint
//!   only (e.g. `push_to(Endpoint::Projects, Scripted::problem(403, ..))`);
//!   [`Simulator::pending_scripted_for`] counts what is left;
//! - [`Simulator::push`]: requests to `/v2/tasks` only;
//! - [`Simulator::push_task_runs`]: the runs requests of one task only
//!   (taken first);
//! - [`Simulator::push_runs`]: any runs request.
//!
//! Scripted answers come before the unknown-task check, so a 404 for a
//! task deleted meanwhile is `push_task_runs(id, Scripted::problem(404,
//! ..))`. [`Simulator::require_key`] makes every path answer 401 without
//! the right bearer key (such requests pop nothing).
//!
//! # Recording
//! Every request to any path is recorded ([`Simulator::requests`], the last
//! [`MAX_RECORDED_REQUESTS`]; [`Simulator::request_count`] counts all):
//! [`RecordedRequest::path`] is the raw path, still percent-encoded as
//! sent; [`RecordedRequest::runs_task_id`] gives a runs request's decoded
//! task id; [`RecordedRequest::endpoint`] its [`Endpoint`]; `query` is
//! decoded. [`Simulator::request_count_for`] counts every request to one
//! endpoint (e.g. to prove names are read once per refresh, not per poll).

mod encode;
mod history;
mod names;
mod runs;
mod task;
#[cfg(test)]
mod tests;

pub use encode::rfc3339_millis;
pub use history::cadence_of;
pub use names::{names_of, organization_id, SimDataset, SimNames, SimProject, SimSpace};
pub use runs::{RunOrder, SimRun, CANCELLED_REASON, FAILED_REASON, HISTORY_RUNS, RUN_STATUSES};
pub use task::{
    demo_tasks, generated_tasks, SimTask, TaskNames, DEFAULT_SPACE_ID, DEFAULT_SPACE_NAME,
    DEMO_DATA_LAG, DEMO_SPACES, EXPERIMENT_TYPES, GENERATED_TASKS_PER_NAME, PROJECT_TYPES,
};

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// At most this many requests are kept for [`Simulator::requests`] (the
/// oldest are dropped), so that a long demo run does not grow without bound.
/// [`Simulator::request_count`] counts them all.
pub const MAX_RECORDED_REQUESTS: usize = 10_000;

/// Page size when the request sends no `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 100;
/// Longest accepted `name` / `space_name` filter, in characters.
pub const MAX_FILTER_CHARS: usize = 255;

/// An endpoint of the simulated API: the unit of scripted answers
/// ([`Simulator::push_to`]) and of per-endpoint request counts
/// ([`Simulator::request_count_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /v2/tasks`
    Tasks,
    /// `GET /v2/tasks/{task_id}/runs` (every task)
    Runs,
    /// `GET /v2/spaces`
    Spaces,
    /// `GET /v2/projects`
    Projects,
    /// `GET /v2/datasets`
    Datasets,
}

impl Endpoint {
    /// Every endpoint, in declaration order.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Tasks,
        Endpoint::Runs,
        Endpoint::Spaces,
        Endpoint::Projects,
        Endpoint::Datasets,
    ];

    /// The path template, as the exporter's `endpoint` label writes it
    /// (`/v2/tasks/{task_id}/runs` for runs).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Tasks => "/v2/tasks",
            Endpoint::Runs => "/v2/tasks/{task_id}/runs",
            Endpoint::Spaces => "/v2/spaces",
            Endpoint::Projects => "/v2/projects",
            Endpoint::Datasets => "/v2/datasets",
        }
    }

    /// The endpoint a request path (as sent, still percent-encoded) goes
    /// to; `None` for any other path.
    pub fn of_path(path: &str) -> Option<Endpoint> {
        match path {
            "/v2/tasks" => Some(Endpoint::Tasks),
            "/v2/spaces" => Some(Endpoint::Spaces),
            "/v2/projects" => Some(Endpoint::Projects),
            "/v2/datasets" => Some(Endpoint::Datasets),
            _ => runs_path_task_id(path).map(|_| Endpoint::Runs),
        }
    }

    /// The list key of the answer, also the resource of its cursors.
    fn resource(self) -> &'static str {
        match self {
            Endpoint::Tasks => TASKS_RESOURCE,
            Endpoint::Runs => RUNS_RESOURCE,
            Endpoint::Spaces => "spaces",
            Endpoint::Projects => "projects",
            Endpoint::Datasets => "datasets",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A scripted answer, queued with [`Simulator::push_to`] (or
/// [`Simulator::push`], [`Simulator::push_runs`],
/// [`Simulator::push_task_runs`]).
#[derive(Clone, Debug)]
pub enum Scripted {
    /// Answer with this status and an RFC 9457 problem+json body
    /// `{"status","title","detail","type"}`; optional `Retry-After` header
    /// value verbatim (e.g. `"2"` or an HTTP date).
    Problem {
        status: u16,
        title: String,
        detail: String,
        retry_after: Option<String>,
    },
    /// Answer with this status, content type and raw body (e.g. 200 with
    /// "not json", or an oversized body).
    Raw {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Sleep this long, then answer normally (to provoke client timeouts).
    Delay(Duration),
    /// Answer the requested page normally, but with pagination
    /// `{has_more: true, next_cursor: <the cursor this request sent, or a
    /// fixed "loop" cursor if none>}` so that a client following it repeats
    /// a cursor.
    RepeatCursor,
    /// Answer the requested page normally but with pagination
    /// `{has_more: true}` and no `next_cursor`.
    MoreWithoutCursor,
}

impl Scripted {
    /// Shorthand for a [`Scripted::Raw`] answer of this status with `value`
    /// as an `application/json` body (an envelope off schema, mistyped
    /// fields anywhere).
    pub fn json(status: u16, value: &Value) -> Scripted {
        Scripted::Raw {
            status,
            content_type: "application/json".to_owned(),
            body: value.to_string().into_bytes(),
        }
    }

    /// Shorthand for a [`Scripted::Problem`] without `Retry-After`.
    pub fn problem(status: u16, title: &str, detail: &str) -> Scripted {
        Scripted::Problem {
            status,
            title: title.to_owned(),
            detail: detail.to_owned(),
            retry_after: None,
        }
    }
}

/// One request as the simulator received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The path as sent, without the query string and still
    /// percent-encoded (a runs request for the id `a/b=` is recorded as
    /// `/v2/tasks/a%2Fb%3D/runs`; [`RecordedRequest::runs_task_id`] decodes
    /// it).
    pub path: String,
    /// The query parameters, percent-decoded, in order (repeats kept).
    pub query: Vec<(String, String)>,
    /// The `Authorization` header verbatim (lossily decoded), if sent.
    pub authorization: Option<String>,
}

impl RecordedRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        first_param(&self.query, name)
    }

    /// For a request to `/v2/tasks/{task_id}/runs`: the task id,
    /// percent-decoded. `None` for any other path.
    pub fn runs_task_id(&self) -> Option<String> {
        runs_path_task_id(&self.path)
    }

    /// The endpoint the request went to (`None`: a path the API does not
    /// have).
    pub fn endpoint(&self) -> Option<Endpoint> {
        Endpoint::of_path(&self.path)
    }
}

/// The simulated API. Serves until [`Simulator::shutdown`] or drop.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

struct Shared {
    tasks: ArcSwap<Vec<SimTask>>,
    /// What the names endpoints list.
    names: ArcSwap<SimNames>,
    /// Scripted answers per endpoint ([`Endpoint::index`]); the runs queue
    /// serves any task's runs requests.
    scripts: [Mutex<VecDeque<Scripted>>; Endpoint::ALL.len()],
    key: Mutex<Option<String>>,
    requests: Mutex<VecDeque<RecordedRequest>>,
    count: AtomicUsize,
    /// Requests per endpoint ([`Endpoint::index`]), all of them.
    counts: [AtomicUsize; Endpoint::ALL.len()],
    /// Server-side cap on the page size, below what `limit` asks for.
    page_cap: AtomicUsize,
    /// Task id -> position in `tasks` (checked on use: the two are swapped
    /// one after the other).
    index: ArcSwap<HashMap<String, usize>>,
    /// The order of runs for tasks without their own.
    run_order: Mutex<RunOrder>,
    /// Per-task run controls, by task id.
    task_runs: Mutex<HashMap<String, TaskRuns>>,
}

/// What a test set for one task's runs.
#[derive(Default)]
struct TaskRuns {
    /// Explicit runs (in the order given), replacing the task's own.
    runs: Option<Vec<SimRun>>,
    order: Option<RunOrder>,
    script: VecDeque<Scripted>,
}

fn index_of(tasks: &[SimTask]) -> HashMap<String, usize> {
    tasks
        .iter()
        .enumerate()
        .filter_map(|(i, task)| task.id().map(|id| (id.to_owned(), i)))
        .collect()
}

impl Shared {
    /// The next scripted answer queued for `endpoint`, if any.
    fn pop_scripted(&self, endpoint: Endpoint) -> Option<Scripted> {
        self.scripts
            .get(endpoint.index())
            .and_then(|queue| lock(queue).pop_front())
    }

    /// Largest page the server answers (see [`Simulator::cap_page_size`]).
    fn page_cap(&self) -> usize {
        self.page_cap.load(Ordering::SeqCst)
    }

    /// The task with this id, if the current set has one.
    fn find_task(&self, id: &str) -> Option<SimTask> {
        let tasks = self.tasks.load();
        let at = self.index.load().get(id).copied();
        match at.and_then(|i| tasks.get(i)) {
            Some(task) if task.id() == Some(id) => Some(task.clone()),
            // The index belongs to another set (a swap in progress).
            _ => tasks.iter().find(|task| task.id() == Some(id)).cloned(),
        }
    }

    /// `task`'s runs as served at `now`, before ordering: the test's
    /// explicit runs, else the task's own, else its generated history.
    fn runs_of(&self, task: &SimTask, now: OffsetDateTime) -> Vec<SimRun> {
        let id = task.id().unwrap_or("");
        if let Some(runs) = lock(&self.task_runs).get(id).and_then(|c| c.runs.clone()) {
            return runs;
        }
        match &task.runs {
            Some(runs) => runs.as_ref().clone(),
            None => history::generated_runs(task, &task.served_json(now)),
        }
    }

    fn order_for(&self, task_id: &str) -> RunOrder {
        lock(&self.task_runs)
            .get(task_id)
            .and_then(|c| c.order)
            .unwrap_or(*lock(&self.run_order))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    /// Binds 127.0.0.1:0 and serves in a background tokio task until
    /// `shutdown` or drop.
    pub async fn start(tasks: Vec<SimTask>) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            index: ArcSwap::from_pointee(index_of(&tasks)),
            names: ArcSwap::from_pointee(names_of(&tasks)),
            tasks: ArcSwap::from_pointee(tasks),
            run_order: Mutex::new(RunOrder::default()),
            task_runs: Mutex::new(HashMap::new()),
            scripts: Default::default(),
            key: Mutex::new(None),
            requests: Mutex::new(VecDeque::new()),
            count: AtomicUsize::new(0),
            counts: Default::default(),
            page_cap: AtomicUsize::new(MAX_LIMIT),
        });
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A dropped sender stops the server too.
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::debug!(%error, "simulated Arize API stopped with an error");
            }
        });
        tracing::debug!(%addr, "simulated Arize API listening");
        Ok(Simulator {
            shared,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// e.g. `"http://127.0.0.1:34567"` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the task set (tasks added/deleted/changed between polls).
    /// Cursors already handed out stay valid (they are positions in the set).
    /// The names endpoints then list [`names_of`] the new set (call
    /// [`Simulator::set_names`] after this to serve other names).
    pub fn set_tasks(&self, tasks: Vec<SimTask>) {
        let index = index_of(&tasks);
        let names = names_of(&tasks);
        self.shared.tasks.store(Arc::new(tasks));
        self.shared.index.store(Arc::new(index));
        self.shared.names.store(Arc::new(names));
    }

    /// Replace what `/v2/spaces`, `/v2/projects` and `/v2/datasets` list
    /// (e.g. [`names_of`] the tasks with a project removed or renamed),
    /// until the next [`Simulator::set_tasks`]. Cursors handed out stay
    /// valid (positions in each list).
    pub fn set_names(&self, names: SimNames) {
        self.shared.names.store(Arc::new(names));
    }

    /// What the names endpoints list now.
    pub fn names(&self) -> Arc<SimNames> {
        self.shared.names.load_full()
    }

    /// Queue a scripted answer for `endpoint` (FIFO): each request to it
    /// pops the next one and answers with it instead (or, for
    /// [`Scripted::Delay`], [`Scripted::RepeatCursor`] and
    /// [`Scripted::MoreWithoutCursor`], changes the normal answer); an empty
    /// queue answers normally. E.g. a 403 on every `/v2/projects` read, or
    /// one 500 then recovery. [`Endpoint::Runs`] is the queue of any task's
    /// runs requests ([`Simulator::push_runs`]); a task's own queue
    /// ([`Simulator::push_task_runs`]) comes first. Requests refused for
    /// their key ([`Simulator::require_key`]) pop nothing.
    pub fn push_to(&self, endpoint: Endpoint, answer: Scripted) {
        if let Some(queue) = self.shared.scripts.get(endpoint.index()) {
            lock(queue).push_back(answer);
        }
    }

    /// Number of scripted answers queued for `endpoint` not yet used (for
    /// [`Endpoint::Runs`], the shared queue only; see
    /// [`Simulator::pending_runs_scripted`]).
    pub fn pending_scripted_for(&self, endpoint: Endpoint) -> usize {
        self.shared
            .scripts
            .get(endpoint.index())
            .map_or(0, |queue| lock(queue).len())
    }

    /// Number of requests received so far for `endpoint` (all of them,
    /// refused ones included; not limited to the recorded ones).
    pub fn request_count_for(&self, endpoint: Endpoint) -> usize {
        self.shared
            .counts
            .get(endpoint.index())
            .map_or(0, |count| count.load(Ordering::SeqCst))
    }

    /// The current task set.
    pub fn tasks(&self) -> Arc<Vec<SimTask>> {
        self.shared.tasks.load_full()
    }

    /// Queue a scripted answer. Each request to /v2/tasks first pops the next
    /// queued [`Scripted`] (FIFO); when the queue is empty it answers
    /// normally. Requests refused for their key (see
    /// [`Simulator::require_key`]) pop nothing.
    pub fn push(&self, answer: Scripted) {
        self.push_to(Endpoint::Tasks, answer);
    }

    /// Number of scripted answers not yet used (of [`Simulator::push`]).
    pub fn pending_scripted(&self) -> usize {
        self.pending_scripted_for(Endpoint::Tasks)
    }

    /// Queue a scripted answer for runs requests of any task (FIFO). A runs
    /// request first pops its task's own queue ([`Simulator::push_task_runs`]),
    /// else this one, else answers normally. Never used by `/v2/tasks`.
    pub fn push_runs(&self, answer: Scripted) {
        self.push_to(Endpoint::Runs, answer);
    }

    /// Queue a scripted answer for the runs requests of the task `task_id`
    /// only (FIFO), e.g. a 429 with `Retry-After`, a 404, a body that is
    /// not JSON or [`Scripted::RepeatCursor`] for a cursor loop.
    pub fn push_task_runs(&self, task_id: &str, answer: Scripted) {
        lock(&self.shared.task_runs)
            .entry(task_id.to_owned())
            .or_default()
            .script
            .push_back(answer);
    }

    /// Number of scripted runs answers not yet used (all tasks and the
    /// shared queue).
    pub fn pending_runs_scripted(&self) -> usize {
        self.pending_scripted_for(Endpoint::Runs)
            + lock(&self.shared.task_runs)
                .values()
                .map(|c| c.script.len())
                .sum::<usize>()
    }

    /// Serve exactly `runs` for the task `task_id` from now on (replacing
    /// its generated history or [`SimTask::with_runs`]); an empty list
    /// makes a task without runs. Runs without an id get one derived from
    /// the task id and their position. The task must be in the task set for
    /// its runs to be served (an unknown id answers 404).
    pub fn set_runs(&self, task_id: &str, mut runs: Vec<SimRun>) {
        runs::assign_ids(task_id, &mut runs);
        lock(&self.shared.task_runs)
            .entry(task_id.to_owned())
            .or_default()
            .runs = Some(runs);
    }

    /// Forget [`Simulator::set_runs`] for this task: its own runs are
    /// served again.
    pub fn clear_runs(&self, task_id: &str) {
        if let Some(control) = lock(&self.shared.task_runs).get_mut(task_id) {
            control.runs = None;
        }
    }

    /// The runs the endpoint would list for `task_id` now, in its order, as
    /// served JSON (`None`: no such task).
    pub fn runs(&self, task_id: &str) -> Option<Vec<Value>> {
        let task = self.shared.find_task(task_id)?;
        let mut runs = self.shared.runs_of(&task, OffsetDateTime::now_utc());
        runs::order_runs(&mut runs, self.shared.order_for(task_id), task_id);
        Some(runs.iter().map(|run| run.to_json(task_id)).collect())
    }

    /// Change the run with id `run_id` of task `task_id` in place (e.g.
    /// finish a run in progress). The task's current runs (generated, or
    /// its own) become its explicit runs first, so the change sticks.
    /// Returns whether such a run was found.
    pub fn update_run(
        &self,
        task_id: &str,
        run_id: &str,
        change: impl FnOnce(&mut SimRun),
    ) -> bool {
        let Some(task) = self.shared.find_task(task_id) else {
            return false;
        };
        let current = self.shared.runs_of(&task, OffsetDateTime::now_utc());
        let mut controls = lock(&self.shared.task_runs);
        let runs = controls
            .entry(task_id.to_owned())
            .or_default()
            .runs
            .get_or_insert(current);
        match runs
            .iter_mut()
            .find(|run| run.id.as_deref() == Some(run_id))
        {
            Some(run) => {
                change(run);
                true
            }
            None => false,
        }
    }

    /// Finish the run `run_id` of task `task_id` now: `COMPLETED` with these
    /// counts (see [`SimRun::complete`]). Returns whether it was found.
    pub fn complete_run(
        &self,
        task_id: &str,
        run_id: &str,
        successes: i64,
        errors: i64,
        skipped: i64,
    ) -> bool {
        let now = OffsetDateTime::now_utc();
        self.update_run(task_id, run_id, |run| {
            run.complete(now, successes, errors, skipped);
        })
    }

    /// The order in which every task's runs are listed (default
    /// [`RunOrder::NewestFirst`]), unless set per task.
    pub fn set_run_order(&self, order: RunOrder) {
        *lock(&self.shared.run_order) = order;
    }

    /// The order in which the runs of `task_id` are listed.
    pub fn set_task_run_order(&self, task_id: &str, order: RunOrder) {
        lock(&self.shared.task_runs)
            .entry(task_id.to_owned())
            .or_default()
            .order = Some(order);
    }

    /// When `Some(key)`, any request without exactly
    /// `Authorization: Bearer <key>` gets 401 problem+json. `None` (default):
    /// any/no auth accepted.
    pub fn require_key(&self, key: Option<String>) {
        *lock(&self.shared.key) = key;
    }

    /// Every request received so far (all paths), in order (at most the
    /// last [`MAX_RECORDED_REQUESTS`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).iter().cloned().collect()
    }

    /// Serve at most `cap` items per page of `/v2/tasks` and of the names
    /// endpoints whatever `limit` asks (as a server may): demo mode uses it
    /// so that its dozen tasks span several pages, as a real account does.
    pub fn cap_page_size(&self, cap: usize) {
        self.shared
            .page_cap
            .store(cap.clamp(1, MAX_LIMIT), Ordering::SeqCst);
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// Stop serving: in-flight requests get up to half a second to finish
    /// (a scripted [`Scripted::Delay`] may be sleeping), then the server is
    /// aborted.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_millis(500), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The routes. Add further endpoints here; the recording and key check
/// apply to every path, the fallback answers 404 problem+json.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/tasks", get(list_tasks).fallback(method_not_allowed))
        .route(
            "/v2/tasks/{task_id}/runs",
            get(list_runs).fallback(method_not_allowed),
        )
        .route(
            "/v2/spaces",
            get(names::list_spaces).fallback(method_not_allowed),
        )
        .route(
            "/v2/projects",
            get(names::list_projects).fallback(method_not_allowed),
        )
        .route(
            "/v2/datasets",
            get(names::list_datasets).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            record_and_authorize,
        ))
        .with_state(shared)
}

async fn record_and_authorize(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let auth = request.headers().get(header::AUTHORIZATION);
    let authorized = match &*lock(&shared.key) {
        None => true,
        Some(key) => auth.is_some_and(|value| {
            value
                .as_bytes()
                .strip_prefix(b"Bearer ")
                .is_some_and(|sent| sent == key.as_bytes())
        }),
    };
    let recorded = RecordedRequest {
        path: request.uri().path().to_owned(),
        query: parse_query(request.uri().query().unwrap_or("")),
        authorization: auth.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
    };
    {
        let mut requests = lock(&shared.requests);
        if requests.len() >= MAX_RECORDED_REQUESTS {
            requests.pop_front();
        }
        let endpoint = recorded.endpoint();
        requests.push_back(recorded);
        shared.count.fetch_add(1, Ordering::SeqCst);
        if let Some(count) = endpoint.and_then(|e| shared.counts.get(e.index())) {
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
    if !authorized {
        return problem(
            401,
            "Unauthorized",
            "Missing or invalid API key in the Authorization header.",
            None,
        );
    }
    next.run(request).await
}

async fn method_not_allowed(uri: Uri) -> Response {
    problem(
        405,
        "Method Not Allowed",
        &format!("{} only answers GET", uri.path()),
        None,
    )
}

async fn not_found(uri: Uri) -> Response {
    problem(
        404,
        "Not Found",
        &format!("No such endpoint: {}", uri.path()),
        None,
    )
}

/// How a scripted answer changes the pagination of a normal answer.
enum PaginationOverride {
    RepeatCursor,
    MoreWithoutCursor,
}

#[derive(Serialize)]
struct Pagination {
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct TasksPage<'a> {
    tasks: Vec<Cow<'a, Value>>,
    pagination: Pagination,
}

const TASKS_RESOURCE: &str = "tasks";

async fn list_tasks(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let scripted = shared.pop_scripted(Endpoint::Tasks);
    let pagination_override = match play(scripted).await {
        Ok(change) => change,
        Err(answer) => return answer,
    };

    let query = parse_query(uri.query().unwrap_or(""));
    let filter = match TaskFilter::from_query(&query) {
        Ok(filter) => filter,
        Err(refused) => return refused.into_response(),
    };
    let (start, limit) = match page_request(&query, TASKS_RESOURCE) {
        Ok(page) => page,
        Err(refused) => return refused.into_response(),
    };

    let limit = limit.min(shared.page_cap());
    let tasks = shared.tasks.load_full();
    let now = OffsetDateTime::now_utc();
    let (page, next) = paginate(&tasks, start, limit, |task| filter.matches(task));
    let pagination = pagination(pagination_override, next, &query, TASKS_RESOURCE);
    let body = TasksPage {
        tasks: page.iter().map(|task| task.served_json(now)).collect(),
        pagination,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => raw(200, "application/json", bytes),
        Err(error) => problem(500, "Internal Server Error", &error.to_string(), None),
    }
}

/// Plays a scripted answer: `Err` with the answer to send instead of the
/// normal one, or `Ok` with the change to the normal answer's pagination
/// (after any scripted delay).
async fn play(scripted: Option<Scripted>) -> Result<Option<PaginationOverride>, Response> {
    match scripted {
        None => Ok(None),
        Some(Scripted::Problem {
            status,
            title,
            detail,
            retry_after,
        }) => Err(problem(status, &title, &detail, retry_after.as_deref())),
        Some(Scripted::Raw {
            status,
            content_type,
            body,
        }) => Err(raw(status, &content_type, body)),
        Some(Scripted::Delay(pause)) => {
            tokio::time::sleep(pause).await;
            Ok(None)
        }
        Some(Scripted::RepeatCursor) => Ok(Some(PaginationOverride::RepeatCursor)),
        Some(Scripted::MoreWithoutCursor) => Ok(Some(PaginationOverride::MoreWithoutCursor)),
    }
}

/// The pagination of a normal answer whose next page starts at `next`, as
/// changed by a scripted answer.
fn pagination(
    change: Option<PaginationOverride>,
    next: Option<usize>,
    query: &[(String, String)],
    resource: &str,
) -> Pagination {
    match change {
        None => Pagination {
            has_more: next.is_some(),
            next_cursor: next.map(|position| encode_cursor(resource, position)),
        },
        Some(PaginationOverride::RepeatCursor) => Pagination {
            has_more: true,
            next_cursor: Some(
                first_param(query, "cursor")
                    .map_or_else(|| encode_cursor(resource, 0), str::to_owned),
            ),
        },
        Some(PaginationOverride::MoreWithoutCursor) => Pagination {
            has_more: true,
            next_cursor: None,
        },
    }
}

const RUNS_RESOURCE: &str = "runs";
const RUNS_PREFIX: &str = "/v2/tasks/";
const RUNS_SUFFIX: &str = "/runs";

/// The task id of a runs path (`/v2/tasks/{task_id}/runs`, the id one
/// percent-encoded segment), decoded; `None` for other paths or an id that
/// is not UTF-8.
fn runs_path_task_id(path: &str) -> Option<String> {
    let segment = path.strip_prefix(RUNS_PREFIX)?.strip_suffix(RUNS_SUFFIX)?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

#[derive(Serialize)]
struct RunsPage {
    task_runs: Vec<Value>,
    pagination: Pagination,
}

/// `GET /v2/tasks/{task_id}/runs`: `status`, `limit`, `cursor`.
async fn list_runs(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let Some(task_id) = runs_path_task_id(uri.path()) else {
        return not_found(uri).await;
    };
    let scripted = {
        let own = lock(&shared.task_runs)
            .get_mut(&task_id)
            .and_then(|control| control.script.pop_front());
        own.or_else(|| shared.pop_scripted(Endpoint::Runs))
    };
    let pagination_override = match play(scripted).await {
        Ok(change) => change,
        Err(answer) => return answer,
    };
    let Some(task) = shared.find_task(&task_id) else {
        return problem(
            404,
            "Not Found",
            &format!("No task with id {task_id}"),
            None,
        );
    };
    let query = parse_query(uri.query().unwrap_or(""));
    let status = match first_param(&query, "status") {
        None => None,
        Some(wanted) => match RUN_STATUSES
            .iter()
            .find(|status| status.eq_ignore_ascii_case(wanted))
        {
            Some(status) => Some(*status),
            None => {
                return bad_request(&format!(
                    "status must be one of {}",
                    RUN_STATUSES.join(", ")
                ))
                .into_response()
            }
        },
    };
    let (start, limit) = match page_request(&query, RUNS_RESOURCE) {
        Ok(page) => page,
        Err(refused) => return refused.into_response(),
    };
    let mut runs = shared.runs_of(&task, OffsetDateTime::now_utc());
    runs::order_runs(&mut runs, shared.order_for(&task_id), &task_id);
    let (page, next) = paginate(&runs, start, limit, |run| {
        status.is_none_or(|wanted| run.status.eq_ignore_ascii_case(wanted))
    });
    let body = RunsPage {
        task_runs: page.iter().map(|run| run.to_json(&task_id)).collect(),
        pagination: pagination(pagination_override, next, &query, RUNS_RESOURCE),
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => raw(200, "application/json", bytes),
        Err(error) => problem(500, "Internal Server Error", &error.to_string(), None),
    }
}

/// The filters of `GET /v2/tasks`.
#[derive(Default)]
struct TaskFilter {
    space_id: Option<String>,
    /// lower-cased
    space_name: Option<String>,
    /// lower-cased
    name: Option<String>,
    project_id: Option<String>,
    dataset_id: Option<String>,
    task_type: Option<String>,
}

impl TaskFilter {
    fn from_query(query: &[(String, String)]) -> Result<TaskFilter, BadRequest> {
        let bounded = |param: &str| -> Result<Option<String>, BadRequest> {
            match first_param(query, param) {
                Some(value) if value.chars().count() > MAX_FILTER_CHARS => Err(bad_request(
                    &format!("{param} must be at most {MAX_FILTER_CHARS} characters"),
                )),
                value => Ok(value.map(str::to_lowercase)),
            }
        };
        Ok(TaskFilter {
            space_id: first_param(query, "space_id").map(str::to_owned),
            space_name: bounded("space_name")?,
            name: bounded("name")?,
            project_id: first_param(query, "project_id").map(str::to_owned),
            dataset_id: first_param(query, "dataset_id").map(str::to_owned),
            task_type: first_param(query, "type").map(str::to_owned),
        })
    }

    fn matches(&self, task: &SimTask) -> bool {
        let field = |key: &str| task.json.get(key).and_then(Value::as_str);
        if self
            .space_id
            .as_ref()
            .is_some_and(|id| *id != task.space_id)
        {
            return false;
        }
        if let Some(wanted) = &self.space_name {
            if !task.space_name.to_lowercase().contains(wanted.as_str()) {
                return false;
            }
        }
        if let Some(wanted) = &self.name {
            if !field("name").is_some_and(|name| name.to_lowercase().contains(wanted.as_str())) {
                return false;
            }
        }
        if let Some(wanted) = &self.project_id {
            if field("project_id") != Some(wanted.as_str()) {
                return false;
            }
        }
        if let Some(wanted) = &self.dataset_id {
            if field("dataset_id") != Some(wanted.as_str()) {
                return false;
            }
        }
        if let Some(wanted) = &self.task_type {
            if !field("type").is_some_and(|ty| ty.eq_ignore_ascii_case(wanted)) {
                return false;
            }
        }
        true
    }
}

/// `(start position, limit)` from the `cursor` and `limit` parameters, or a
/// 400 answer.
fn page_request(query: &[(String, String)], resource: &str) -> Result<(usize, usize), BadRequest> {
    let limit = match first_param(query, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(bad_request(&format!(
                    "limit must be an integer from 1 to {MAX_LIMIT}"
                )))
            }
        },
    };
    let start = match first_param(query, "cursor") {
        None => 0,
        Some(cursor) => decode_cursor(resource, cursor)
            .ok_or_else(|| bad_request("cursor is not a valid pagination cursor"))?,
    };
    Ok((start, limit))
}

/// One page of `items` from position `start`: up to `limit` items that
/// `keep`, and the position of the next kept item if there is one. A full
/// pagination costs one pass over `items`, however many pages.
fn paginate<T>(
    items: &[T],
    start: usize,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> (Vec<&T>, Option<usize>) {
    let mut page = Vec::with_capacity(limit.min(items.len()));
    let rest = items.get(start..).unwrap_or(&[]);
    for (offset, item) in rest.iter().enumerate() {
        if !keep(item) {
            continue;
        }
        if page.len() == limit {
            return (page, Some(start + offset));
        }
        page.push(item);
    }
    (page, None)
}

const CURSOR_PREFIX: &str = "simcursor";

/// An opaque-looking cursor (padded standard base64, so it needs
/// percent-encoding in a query string, like real ones may).
fn encode_cursor(resource: &str, position: usize) -> String {
    encode::base64_encode(format!("{CURSOR_PREFIX}:{resource}:{position}").as_bytes())
}

fn decode_cursor(resource: &str, cursor: &str) -> Option<usize> {
    let bytes = encode::base64_decode(cursor)?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let rest = text.strip_prefix(CURSOR_PREFIX)?.strip_prefix(':')?;
    let number = rest.strip_prefix(resource)?.strip_prefix(':')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

fn first_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `application/x-www-form-urlencoded` query parsing that never fails:
/// malformed escapes are kept literally, invalid UTF-8 is replaced.
fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// A request the API refuses with 400.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        problem(400, "Bad Request", &self.0, None)
    }
}

fn bad_request(detail: &str) -> BadRequest {
    BadRequest(detail.to_owned())
}

/// An RFC 9457 problem+json answer.
fn problem(status: u16, title: &str, detail: &str, retry_after: Option<&str>) -> Response {
    let body = json!({
        "status": status,
        "title": title,
        "detail": detail,
        "type": "about:blank",
    });
    let mut response = raw(
        status,
        "application/problem+json",
        body.to_string().into_bytes(),
    );
    if let Some(value) = retry_after.and_then(|value| HeaderValue::from_str(value).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An answer with this status (500 if it is not a valid one), content type
/// (left out if it is not a valid header value) and body.
fn raw(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    match HeaderValue::from_str(content_type) {
        Ok(value) => {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        Err(_) => {
            response.headers_mut().remove(header::CONTENT_TYPE);
        }
    }
    response
}
