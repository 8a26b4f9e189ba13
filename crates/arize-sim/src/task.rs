//! Simulated tasks: the JSON the API returns for each, plus the ready-made
//! demo and generated task sets.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::encode::{fnv1a, opaque_id, rfc3339_millis};
use crate::runs::{SimRun, CANCELLED_REASON, FAILED_REASON};
use time::macros::datetime;
use time::OffsetDateTime;

/// The `experiment_type` of each `run_configuration` variant the SDK knows.
pub const EXPERIMENT_TYPES: [&str; 3] = ["LLM_GENERATION", "TEMPLATE_EVALUATION", "AGENT_CALL"];

/// Space of [`SimTask::new`] unless [`SimTask::in_space`] says otherwise.
pub const DEFAULT_SPACE_ID: &str = "space-1";
/// Name of the default space.
pub const DEFAULT_SPACE_NAME: &str = "Production";

/// The two spaces of [`demo_tasks`], as `(space_id, space_name)`.
pub const DEMO_SPACES: [(&str, &str); 2] = [
    ("U3BhY2U6MTpwUmRB", "Production"),
    ("U3BhY2U6MjpzVGdC", "Staging"),
];

/// How far behind the data of the demo's lagging task ("Order Assistant
/// Groundedness") is: its runs' data windows end this long before each
/// run started.
pub const DEMO_DATA_LAG: Duration = Duration::from_secs(4 * 3600);

/// The values of the SDK's `ProjectType` enum (a project's `project_type`
/// may also be null: an untyped project).
pub const PROJECT_TYPES: [&str; 3] = ["APPLICATION", "HARNESS", "EXPERIMENT"];

/// The names a task contributes to [`crate::names_of`] (set with
/// [`SimTask::with_project`], [`SimTask::with_dataset`],
/// [`SimTask::with_project_type`], [`SimTask::with_unlisted_names`]).
#[derive(Clone, Debug, Default)]
pub struct TaskNames {
    /// Name of the task's project (`None`: one derived from its id).
    pub project_name: Option<String>,
    /// Name of the task's dataset (`None`: one derived from its id).
    pub dataset_name: Option<String>,
    /// `project_type` of the task's project (`None`: null).
    pub project_type: Option<String>,
    /// Neither the task's project nor its dataset is listed (deleted, or
    /// the key may not read it): the task's names are unknown.
    pub unlisted: bool,
}

/// A task as the simulator holds it.
#[derive(Clone, Debug)]
pub struct SimTask {
    /// The task object exactly as the API returns it (may contain nulls,
    /// unknown fields, odd types — tests craft these).
    pub json: Value,
    /// Space the task lives in, used for the `space_id` / `space_name`
    /// filters (not emitted in JSON).
    pub space_id: String,
    pub space_name: String,
    /// If `Some(period)`: the task "keeps running": each time it is served,
    /// its `last_run_at` is set to now rounded down to a multiple of
    /// `period` (RFC 3339, millisecond precision, `Z`).
    pub runs_every: Option<Duration>,
    /// The run interval of the task's generated run history (see
    /// [`crate::cadence_of`] for the default). Set with
    /// [`SimTask::with_run_cadence`].
    pub run_cadence: Option<Duration>,
    /// The status (and `failure_reason`) of the newest generated run,
    /// instead of the generated one. Set with [`SimTask::with_newest_run`].
    pub newest_run: Option<(String, Option<String>)>,
    /// Whether the newest generated run, when `newest_run` is not set, may
    /// fail or be cancelled like the older ones (the large generated task
    /// sets); otherwise it completed, so that a task a test or the demo
    /// means to be healthy is healthy whenever it runs.
    pub newest_run_varies: bool,
    /// The item counts (successes, errors, skipped) of the newest generated
    /// run, instead of generated ones. Set with [`SimTask::with_newest_counts`].
    pub newest_counts: Option<(i64, i64, i64)>,
    /// Explicit runs instead of the generated history. Set with
    /// [`SimTask::with_runs`].
    pub runs: Option<Arc<Vec<SimRun>>>,
    /// How far the data windows of the generated runs end before each run
    /// started (an evaluation backlog). Set with [`SimTask::with_data_lag`].
    pub data_lag: Option<Duration>,
    /// What the task adds to the names endpoints ([`crate::names_of`]).
    pub names: TaskNames,
}

impl SimTask {
    /// A well-formed task as the current API returns it: all fields present,
    /// evaluators etc. `task_type` is used verbatim (pass the upper-case
    /// `TEMPLATE_EVALUATION`, `CODE_EVALUATION`, `RUN_EXPERIMENT` for the
    /// current schema, lower case for the shape of the docs page, or anything
    /// else for an unknown type). `RUN_EXPERIMENT` tasks are dataset-based
    /// (`dataset_id`, `experiment_ids`, `run_configuration`), all others
    /// project-based (see [`SimTask::on_dataset`]). Space `space-1` /
    /// `Production`.
    pub fn new(
        id: &str,
        name: &str,
        task_type: &str,
        is_continuous: bool,
        last_run_at: Option<OffsetDateTime>,
    ) -> SimTask {
        let h = fnv1a(id.as_bytes());
        let upper = task_type.to_ascii_uppercase();
        let dataset_based = upper == "RUN_EXPERIMENT";

        let created = {
            let base = datetime!(2026-01-12 09:30:00 UTC) - time::Duration::days((h % 30) as i64);
            match last_run_at {
                Some(t) if t < base => t - time::Duration::days(1),
                _ => base,
            }
        };
        let updated = created + time::Duration::milliseconds(((h >> 8) % 200_000_000) as i64);

        let (evaluator_names, sampling_rate): (&[&str], Value) = match upper.as_str() {
            "CODE_EVALUATION" => (
                &[
                    "JSON Parseable",
                    "Contains Keyword",
                    "Regex Match",
                    "Latency Budget",
                ],
                json!(0.25),
            ),
            "RUN_EXPERIMENT" => (&["Correctness", "Exact Match"], json!(1)),
            _ => (
                &[
                    "Hallucination Eval",
                    "QA Correctness",
                    "Toxicity",
                    "Relevance",
                ],
                json!(1),
            ),
        };
        let evaluator_name = evaluator_names
            .get((h % evaluator_names.len() as u64) as usize)
            .copied()
            .unwrap_or("Evaluator");
        let mappings = if dataset_based {
            json!({"input": "input", "output": "output"})
        } else {
            json!({"input": "attributes.input.value", "output": "attributes.output.value"})
        };
        let evaluator = json!({
            "evaluator_id": opaque_id("Evaluator", h >> 3),
            "evaluator_name": evaluator_name,
            // Not pinned: the evaluator's latest version runs.
            "evaluator_version_id": null,
            "query_filter": null,
            "column_mappings": mappings,
            "query_mappings": null,
        });

        let mut task = SimTask {
            json: json!({
                "id": id,
                "name": name,
                "type": task_type,
                "project_id": opaque_id("Model", h >> 7),
                "dataset_id": null,
                "sampling_rate": sampling_rate,
                "is_continuous": is_continuous,
                "query_filter": if h % 3 == 0 { json!("span_kind = 'LLM'") } else { Value::Null },
                "query_filters": null,
                "evaluators": [evaluator],
                "experiment_ids": [],
                "run_configuration": null,
                "last_run_at": last_run_at.map(rfc3339_millis),
                "created_at": rfc3339_millis(created),
                "updated_at": rfc3339_millis(updated),
                "created_by_user_id": opaque_id("User", h % 7),
            }),
            space_id: DEFAULT_SPACE_ID.to_owned(),
            space_name: DEFAULT_SPACE_NAME.to_owned(),
            runs_every: None,
            run_cadence: None,
            newest_run: None,
            newest_run_varies: false,
            newest_counts: None,
            runs: None,
            data_lag: None,
            names: TaskNames {
                project_type: Some(PROJECT_TYPES[0].to_owned()),
                ..TaskNames::default()
            },
        };
        if dataset_based {
            let experiment_type = EXPERIMENT_TYPES
                .get((h % EXPERIMENT_TYPES.len() as u64) as usize)
                .copied()
                .unwrap_or("LLM_GENERATION");
            task = task.on_dataset().with_experiment_type(experiment_type);
        }
        task
    }

    /// Give the task the well-formed `run_configuration` of this
    /// `experiment_type` (`LLM_GENERATION`, `TEMPLATE_EVALUATION` or
    /// `AGENT_CALL`: the flat variants of the SDK's `RunConfiguration`, with
    /// the fields each variant carries). Any other value gives a
    /// configuration with that `experiment_type` and no other field (off
    /// schema: the SDK refuses it). [`SimTask::new`] already picks one of
    /// the three for `RUN_EXPERIMENT` tasks.
    pub fn with_experiment_type(self, experiment_type: &str) -> SimTask {
        let h = fnv1a(self.id().unwrap_or("").as_bytes());
        let name = self
            .json
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("experiment")
            .to_owned();
        let config = match experiment_type {
            "LLM_GENERATION" => json!({
                "experiment_type": "LLM_GENERATION",
                "ai_integration_id": opaque_id("AiIntegration", h % 5),
                "model_name": "gpt-4o-mini",
                "messages": [
                    {"role": "SYSTEM", "content": format!("You answer for the {name} experiment.")},
                    {"role": "USER", "content": "{input}"},
                ],
                "input_variable_format": "F_STRING",
                "invocation_parameters": {"temperature": 0, "max_tokens": 512},
                "provider_parameters": {},
                "prompt_version_id": opaque_id("PromptVersion", h >> 13),
            }),
            "TEMPLATE_EVALUATION" => json!({
                "experiment_type": "TEMPLATE_EVALUATION",
                "ai_integration_id": opaque_id("AiIntegration", h % 5),
                "model_name": "gpt-4o",
                "template": "Is the answer {{output}} correct for the question {{input}}? Answer correct or incorrect.",
                "provide_explanation": true,
                "classification_choices": {"correct": 1, "incorrect": 0},
                "column_mapping": {"input": "input", "output": "output"},
                "evaluator_version_id": opaque_id("EvaluatorVersion", h >> 15),
                "invocation_parameters": {"temperature": 0.0},
                "provider_parameters": {},
            }),
            "AGENT_CALL" => json!({
                "experiment_type": "AGENT_CALL",
                "integration_id": opaque_id("AgentIntegration", h % 3),
                "input_template": {"question": "{{input}}", "user_id": "{{user_id}}"},
            }),
            other => json!({ "experiment_type": other }),
        };
        self.with_field("run_configuration", config)
    }

    /// Give the task the trace/session shape of an evaluation task: named
    /// `query_filters` (`A`, `B` and the expression `A AND B`) instead of
    /// `query_filter`, and evaluators with `query_mappings` instead of
    /// `column_mappings`.
    pub fn trace_shaped(mut self) -> SimTask {
        if let Some(obj) = self.json.as_object_mut() {
            obj.insert("query_filter".into(), Value::Null);
            obj.insert(
                "query_filters".into(),
                json!({
                    "filters": [
                        {"id": "A", "filter": "span_kind = 'AGENT'"},
                        {"id": "B", "filter": "attributes.session.id IS NOT NULL"},
                    ],
                    "expression": "A AND B",
                }),
            );
            if let Some(evaluators) = obj.get_mut("evaluators").and_then(Value::as_array_mut) {
                for evaluator in evaluators.iter_mut().filter_map(Value::as_object_mut) {
                    evaluator.insert("query_filter".into(), Value::Null);
                    evaluator.insert("column_mappings".into(), Value::Null);
                    evaluator.insert(
                        "query_mappings".into(),
                        json!([
                            {"variable_name": "input", "query_ids": ["A"], "attribute_path": "attributes.input.value"},
                            {"variable_name": "output", "query_ids": [], "attribute_path": "attributes.output.value"},
                        ]),
                    );
                }
            }
        }
        self
    }

    /// Generate the task's run history at this interval (a continuous task
    /// then looks as if it ran every `cadence` up to its `last_run_at`).
    pub fn with_run_cadence(mut self, cadence: Duration) -> SimTask {
        self.run_cadence = Some(cadence);
        self
    }

    /// Give the newest generated run this `status` (e.g. `FAILED`,
    /// `RUNNING`, `CANCELLED`) and, if `Some`, this `failure_reason`; its
    /// other fields follow the status as in [`SimRun::new`].
    pub fn with_newest_run(mut self, status: &str, failure_reason: Option<&str>) -> SimTask {
        self.newest_run = Some((status.to_owned(), failure_reason.map(str::to_owned)));
        self
    }

    /// Give the newest generated run these item counts (e.g. a completed
    /// run with a high error ratio).
    pub fn with_newest_counts(mut self, successes: i64, errors: i64, skipped: i64) -> SimTask {
        self.newest_counts = Some((successes, errors, skipped));
        self
    }

    /// Serve exactly these runs (in the simulator's [`crate::RunOrder`])
    /// instead of a generated history, whatever `last_run_at` says. Runs
    /// without an id get one derived from the task id and their position.
    /// [`crate::Simulator::set_runs`] overrides this at run time.
    pub fn with_runs(mut self, mut runs: Vec<SimRun>) -> SimTask {
        crate::runs::assign_ids(self.id().unwrap_or(""), &mut runs);
        self.runs = Some(Arc::new(runs));
        self
    }

    /// Make the generated runs' data windows end `lag` before each run
    /// started (instead of at its start): a task that runs on time over
    /// old data. `RUN_EXPERIMENT` runs still carry no window.
    pub fn with_data_lag(mut self, lag: Duration) -> SimTask {
        self.data_lag = Some(lag);
        self
    }

    /// Set the task's `project_id` to `id`, listed by `/v2/projects` as
    /// `name` in the task's space ([`crate::names_of`]).
    pub fn with_project(mut self, id: &str, name: &str) -> SimTask {
        self.names.project_name = Some(name.to_owned());
        self.with_field("project_id", Value::String(id.to_owned()))
    }

    /// Set the task's `dataset_id` to `id`, listed by `/v2/datasets` as
    /// `name` in the task's space.
    pub fn with_dataset(mut self, id: &str, name: &str) -> SimTask {
        self.names.dataset_name = Some(name.to_owned());
        self.with_field("dataset_id", Value::String(id.to_owned()))
    }

    /// The `project_type` of the task's project (one of
    /// [`crate::PROJECT_TYPES`]; `None`: an untyped project, served null).
    pub fn with_project_type(mut self, project_type: Option<&str>) -> SimTask {
        self.names.project_type = project_type.map(str::to_owned);
        self
    }

    /// Keep the task's project and dataset out of `/v2/projects` and
    /// `/v2/datasets` (deleted, or not readable with the key): its names
    /// are unknown.
    pub fn with_unlisted_names(mut self) -> SimTask {
        self.names.unlisted = true;
        self
    }

    /// Pin every evaluator of the task to a version: `evaluator_version_id`
    /// set (an id derived from the evaluator's), instead of null.
    pub fn with_pinned_evaluators(mut self) -> SimTask {
        if let Some(evaluators) = self
            .json
            .get_mut("evaluators")
            .and_then(Value::as_array_mut)
        {
            for evaluator in evaluators.iter_mut().filter_map(Value::as_object_mut) {
                let id = evaluator
                    .get("evaluator_id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let version = opaque_id("EvaluatorVersion", fnv1a(id.as_bytes()) >> 5);
                evaluator.insert("evaluator_version_id".into(), Value::String(version));
            }
        }
        self
    }

    /// Add one evaluator named `name` (an id derived from the task id and
    /// the name; the mappings of the task's first evaluator), pinned to a
    /// version if `pinned`, else running its latest version.
    pub fn with_evaluator(mut self, name: &str, pinned: bool) -> SimTask {
        let seed = fnv1a(format!("{}/{name}", self.id().unwrap_or("")).as_bytes());
        if let Some(evaluators) = self
            .json
            .get_mut("evaluators")
            .and_then(Value::as_array_mut)
        {
            let mut evaluator = evaluators
                .first()
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            evaluator.insert(
                "evaluator_id".into(),
                Value::String(opaque_id("Evaluator", seed >> 3)),
            );
            evaluator.insert("evaluator_name".into(), Value::String(name.to_owned()));
            evaluator.insert(
                "evaluator_version_id".into(),
                if pinned {
                    Value::String(opaque_id("EvaluatorVersion", seed >> 5))
                } else {
                    Value::Null
                },
            );
            evaluators.push(Value::Object(evaluator));
        }
        self
    }

    /// Move the task to another space.
    pub fn in_space(mut self, id: &str, name: &str) -> SimTask {
        id.clone_into(&mut self.space_id);
        name.clone_into(&mut self.space_name);
        self
    }

    /// Make the task "keep running" every `period` (see [`SimTask::runs_every`]).
    pub fn running_every(mut self, period: Duration) -> SimTask {
        self.runs_every = Some(period);
        self
    }

    /// Make the task dataset-based: `dataset_id` and `experiment_ids` set,
    /// `project_id` null, never continuous.
    pub fn on_dataset(self) -> SimTask {
        let h = fnv1a(
            self.json
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes(),
        );
        let experiments: Vec<Value> = (0..1 + h % 3)
            .map(|k| Value::String(opaque_id("Experiment", (h >> 11).wrapping_add(k))))
            .collect();
        self.with_field("project_id", Value::Null)
            .with_field("dataset_id", Value::String(opaque_id("Dataset", h >> 9)))
            .with_field("experiment_ids", Value::Array(experiments))
            .with_field("is_continuous", Value::Bool(false))
            .with_field("query_filter", Value::Null)
    }

    /// Set (or add) one field of the task's JSON object.
    pub fn with_field(mut self, key: &str, value: Value) -> SimTask {
        if let Some(obj) = self.json.as_object_mut() {
            obj.insert(key.to_owned(), value);
        }
        self
    }

    /// Remove one field of the task's JSON object.
    pub fn without_field(mut self, key: &str) -> SimTask {
        if let Some(obj) = self.json.as_object_mut() {
            obj.remove(key);
        }
        self
    }

    /// The task's `id` field, if it is a string.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Value::as_str)
    }

    /// The JSON as served at `now` (with `last_run_at` advanced for a task
    /// that keeps running). Borrowed unless it has to change.
    pub(crate) fn served_json(&self, now: OffsetDateTime) -> Cow<'_, Value> {
        match (self.runs_every, self.json.as_object()) {
            (Some(period), Some(obj)) => {
                let mut obj: Map<String, Value> = obj.clone();
                obj.insert(
                    "last_run_at".into(),
                    Value::String(rfc3339_millis(round_down(now, period))),
                );
                Cow::Owned(Value::Object(obj))
            }
            _ => Cow::Borrowed(&self.json),
        }
    }
}

/// `now` rounded down to a multiple of `period` since the Unix epoch.
pub(crate) fn round_down(now: OffsetDateTime, period: Duration) -> OffsetDateTime {
    let p = i128::try_from(period.as_nanos()).unwrap_or(i128::MAX);
    if p == 0 {
        return now;
    }
    let n = now.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(n - n.rem_euclid(p)).unwrap_or(now)
}

/// The demo task set: a dozen realistic tasks of all three types, continuous
/// and one-off, in the two [`DEMO_SPACES`], with run histories:
/// - the healthy continuous ones keep running, at cadences from 1 minute to
///   6 hours (their run history at the same cadence, with a failure now and
///   then); the newest run of every task not named below completed;
/// - "Toxicity Guardrail Monitor" (every 5 min): its newest run `FAILED`
///   with a `failure_reason`;
/// - "PII Leak Detector" (every 10 min): its newest run is `RUNNING`;
/// - "Citation Format Check" (one-off): its newest run was `CANCELLED`;
/// - "RAG Retrieval Relevance" (continuous, every 15 min until it stopped):
///   the one stale task, its last run fixed 3 hours before `now`;
/// - two tasks never ran: a one-off one, and a continuous one created 3
///   hours before `now` (old enough for a never-run alert);
/// - "Support Bot's Tone Check" is trace-shaped (`query_filters`);
/// - "Order Assistant Groundedness" (every 5 min) runs on time, but its
///   runs' data windows end [`DEMO_DATA_LAG`] before each run started
///   (evaluation lag);
/// - "Contract Summaries Backfill" (one-off, so never stale): its newest
///   run is `RUNNING`, started 3 hours before `now` (stuck past
///   `--stale-after`);
/// - "Customer Support QA Correctness" has a second evaluator, pinned to
///   a version (`evaluator_version_id` set; null everywhere else).
///
/// Names ([`crate::names_of`]): every task's project or dataset is named
/// and lies in the task's space, several tasks sharing one, except
/// "Backfill Hallucination Audit", whose project `/v2/projects` does not
/// list (empty name labels).
pub fn demo_tasks(now: OffsetDateTime) -> Vec<SimTask> {
    let [(prod_id, prod), (stg_id, stg)] = DEMO_SPACES;
    let now = round_down(now, Duration::from_millis(1));
    let ago = |minutes: i64| Some(now - time::Duration::minutes(minutes));
    let min = |m: u64| Duration::from_secs(60 * m);
    let t = |kind: &str, n: u32, name: &str, ty: &str, cont: bool, last| {
        SimTask::new(&opaque_id(kind, u64::from(n)), name, ty, cont, last)
    };
    const TE: &str = "TEMPLATE_EVALUATION";
    const CE: &str = "CODE_EVALUATION";
    const RE: &str = "RUN_EXPERIMENT";
    let three_hours_ago = Value::String(rfc3339_millis(now - time::Duration::hours(3)));
    let project = |n: u64| opaque_id("Model", n);
    let dataset = |n: u64| opaque_id("Dataset", n);
    let support_chatbot = (project(101), "Support Chatbot");
    vec![
        t(
            "OnlineTask",
            45,
            "Production Hallucination Check",
            TE,
            true,
            ago(5),
        )
        .in_space(prod_id, prod)
        .with_project(&support_chatbot.0, support_chatbot.1)
        .running_every(min(5)),
        t(
            "OnlineTask",
            46,
            "Customer Support QA Correctness",
            TE,
            true,
            ago(60),
        )
        .in_space(prod_id, prod)
        .with_project(&support_chatbot.0, support_chatbot.1)
        .with_evaluator("Answer Completeness", true)
        .running_every(min(60))
        // Completed, but 13 % of its items failed: a high error ratio.
        .with_newest_run("COMPLETED", None)
        .with_newest_counts(2600, 400, 12),
        // The failing one: it keeps running, and its newest run failed.
        t(
            "OnlineTask",
            51,
            "Toxicity Guardrail Monitor",
            TE,
            true,
            ago(5),
        )
        .in_space(prod_id, prod)
        .with_project(&support_chatbot.0, support_chatbot.1)
        .running_every(min(5))
        .with_newest_run("FAILED", Some(FAILED_REASON)),
        // The stale one: continuous, but its last run stays 3 hours old.
        t(
            "OnlineTask",
            58,
            "RAG Retrieval Relevance",
            TE,
            true,
            ago(180),
        )
        .in_space(prod_id, prod)
        .with_project(&project(102), "Knowledge Base Search")
        .with_run_cadence(min(15)),
        t("OnlineTask", 60, "JSON Output Validity", CE, true, ago(1))
            .in_space(prod_id, prod)
            .with_project(&project(103), "Order Extraction API")
            .running_every(min(1)),
        // On time, over data 4 hours old: evaluation lag.
        t(
            "OnlineTask",
            81,
            "Order Assistant Groundedness",
            TE,
            true,
            ago(5),
        )
        .in_space(prod_id, prod)
        .with_project(&project(104), "Order Assistant")
        .running_every(min(5))
        .with_data_lag(DEMO_DATA_LAG),
        // A run in progress.
        t("OnlineTask", 63, "PII Leak Detector", CE, true, ago(10))
            .in_space(stg_id, stg)
            .with_project(&project(111), "PII Redaction Service")
            .running_every(min(10))
            .with_newest_run("RUNNING", None),
        t(
            "OnlineTask",
            64,
            "Support Bot's Tone Check",
            TE,
            true,
            ago(6 * 60),
        )
        .in_space(stg_id, stg)
        .with_project(&project(112), "Support Bot v2")
        .with_project_type(Some("HARNESS"))
        .running_every(min(6 * 60))
        .trace_shaped(),
        // Continuous but never ran since it was created, 3 hours ago.
        t("OnlineTask", 75, "Agent Trajectory Eval", TE, true, None)
            .with_field("created_at", three_hours_ago.clone())
            .with_field("updated_at", three_hours_ago)
            .in_space(stg_id, stg)
            .with_project(&project(113), "Travel Agent Sessions")
            // An untyped project (project_type null).
            .with_project_type(None),
        t(
            "OnlineTask",
            70,
            "Backfill Hallucination Audit",
            TE,
            false,
            ago(5 * 24 * 60),
        )
        .in_space(prod_id, prod)
        // Its project is not listed: names unknown.
        .with_unlisted_names(),
        // Cancelled: nothing was left to evaluate.
        t(
            "OnlineTask",
            72,
            "Citation Format Check",
            CE,
            false,
            ago(2 * 24 * 60),
        )
        .in_space(stg_id, stg)
        .with_project(&project(114), "Research Assistant")
        .with_newest_run("CANCELLED", Some(CANCELLED_REASON)),
        // Stuck: one-off, its newest run still running after 3 hours.
        t(
            "OnlineTask",
            84,
            "Contract Summaries Backfill",
            TE,
            false,
            ago(3 * 60),
        )
        .in_space(stg_id, stg)
        .with_project(&project(115), "Contract Summarizer")
        .with_newest_run("RUNNING", None),
        t(
            "OfflineTask",
            12,
            "Golden Set Regression",
            CE,
            false,
            ago(24 * 60),
        )
        .on_dataset()
        .in_space(prod_id, prod)
        .with_dataset(&dataset(201), "Golden Set v3"),
        t(
            "OfflineTask",
            14,
            "Nightly Prompt Regression",
            RE,
            false,
            ago(9 * 60),
        )
        .in_space(prod_id, prod)
        .with_dataset(&dataset(202), "Nightly Prompt Suite"),
        // The one-off never-run one.
        t(
            "OfflineTask",
            17,
            "Model Upgrade Comparison: GPT-4o vs GPT-4.1",
            RE,
            false,
            None,
        )
        .in_space(stg_id, stg)
        .with_dataset(&dataset(211), "GPT-4.1 Upgrade Eval Set"),
    ]
}

/// `n` generated tasks for tests and benchmarks: deterministic for a given
/// `now`, mixed types and modes, spread over the spaces `space-1` /
/// `Production`, `space-2` / `Staging`, `space-3` / `Research`; every
/// seventh task never ran; a fifth of the project-based ones are
/// trace-shaped ([`SimTask::trace_shaped`]). None keeps running (their JSON is static).
///
/// Names: the project-based tasks of a space share a project, and the
/// dataset-based ones a dataset, per block of [`GENERATED_TASKS_PER_NAME`]
/// consecutive tasks of that space (about `n / 10` projects and as many
/// datasets, each named and in its tasks' space); project types cycle
/// through [`crate::PROJECT_TYPES`] and null.
pub fn generated_tasks(n: usize, now: OffsetDateTime) -> Vec<SimTask> {
    const TYPES: [&str; 3] = ["TEMPLATE_EVALUATION", "CODE_EVALUATION", "RUN_EXPERIMENT"];
    const SPACES: [(&str, &str); 3] = [
        ("space-1", "Production"),
        ("space-2", "Staging"),
        ("space-3", "Research"),
    ];
    const TOPICS: [&str; 6] = [
        "Hallucination Check",
        "QA Correctness",
        "Toxicity Monitor",
        "Retrieval Relevance",
        "JSON Validity",
        "Prompt Regression",
    ];
    let now = round_down(now, Duration::from_millis(1));
    (0..n)
        .map(|i| {
            let ty = TYPES[i % TYPES.len()];
            let (space_id, space_name) = SPACES[(i / 3) % SPACES.len()];
            let topic = TOPICS[(i / 9) % TOPICS.len()];
            let dataset_based = ty == "RUN_EXPERIMENT" || (ty == "CODE_EVALUATION" && i % 4 == 1);
            let continuous = !dataset_based && i % 2 == 0;
            let last_run = if i % 7 == 3 {
                None
            } else {
                Some(now - time::Duration::seconds(((i * 37) % 7200) as i64))
            };
            let kind = if dataset_based {
                "OfflineTask"
            } else {
                "OnlineTask"
            };
            let mut task = SimTask::new(
                &opaque_id(kind, i as u64),
                &format!("{topic} #{i:06}"),
                ty,
                continuous,
                last_run,
            );
            task.newest_run_varies = true;
            let task = if dataset_based && ty != "RUN_EXPERIMENT" {
                task.on_dataset()
            } else if !dataset_based && i % 5 == 2 {
                task.trace_shaped()
            } else {
                task
            };
            // The task is the k-th of its space (three of every nine
            // consecutive tasks are); blocks of GENERATED_TASKS_PER_NAME of
            // those share a name, numbered across spaces.
            let k = (i / 9) * 3 + i % 3;
            let block = (k / GENERATED_TASKS_PER_NAME) * SPACES.len() + (i / 3) % SPACES.len();
            let task = task.in_space(space_id, space_name);
            if dataset_based {
                task.with_dataset(
                    &opaque_id("Dataset", 1_000_000 + block as u64),
                    &format!("{space_name} Dataset {block:05}"),
                )
            } else {
                let project_type = [
                    Some("APPLICATION"),
                    Some("HARNESS"),
                    Some("EXPERIMENT"),
                    None,
                ][block % 4];
                task.with_project(
                    &opaque_id("Model", 1_000_000 + block as u64),
                    &format!("{space_name} Project {block:05}"),
                )
                .with_project_type(project_type)
            }
        })
        .collect()
}

/// Tasks of one space that share a project (or dataset) in
/// [`generated_tasks`]: each block of this many tasks of a space.
pub const GENERATED_TASKS_PER_NAME: usize = 10;
