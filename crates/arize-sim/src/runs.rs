//! Task runs: the run object the API returns, and each task's run history,
//! generated on request from the task (never stored for every task) unless
//! a test set it explicitly.

use std::time::Duration;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::task::{fnv1a, opaque_id, rfc3339_millis, SimTask};

/// The statuses of the API's `TaskRunStatus`, as current SDKs send them.
pub const RUN_STATUSES: [&str; 5] = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"];

/// At most this many runs are generated for a continuous task (fewer if it
/// was created more recently than that many intervals ago).
pub const HISTORY_RUNS: u64 = 30;

/// The `failure_reason` of generated failed runs.
pub const FAILED_REASON: &str = "The evaluator's AI integration answered 401 Unauthorized (its API key was revoked or has expired); the run stopped before evaluating every item.";
/// The `failure_reason` of generated cancelled runs (the case the API
/// documents: nothing left to evaluate).
pub const CANCELLED_REASON: &str = "All matching data already has evaluation labels from a previous run. Trigger the task again with override_evaluations enabled to re-evaluate it.";

/// The order in which `GET /v2/tasks/{task_id}/runs` lists a task's runs.
/// The API does not document one, so clients must not rely on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunOrder {
    /// Newest `created_at` first (the default).
    #[default]
    NewestFirst,
    /// Oldest `created_at` first: the newest run is on the last page.
    OldestFirst,
    /// A fixed shuffle (deterministic from the task id, the same on every
    /// page and request).
    Shuffled,
    /// Explicit runs exactly in the order given ([`crate::Simulator::set_runs`],
    /// [`SimTask::with_runs`]); generated history newest first.
    AsGiven,
}

/// One task run. Built with [`SimRun::new`] (or the shorthands) and the
/// `with_*` methods; served as the JSON object of [`SimRun::to_json`].
/// Every timestamp is served as RFC 3339 with milliseconds, `None` as null.
#[derive(Clone, Debug)]
pub struct SimRun {
    /// `id`. `None` until the run is given to a task: then it becomes an
    /// opaque id derived from the task id and the run's position.
    pub id: Option<String>,
    /// `status`, served verbatim (any string: lower-case and unknown
    /// statuses are for tolerance tests).
    pub status: String,
    /// `created_at`; also the key of [`RunOrder`].
    pub created_at: OffsetDateTime,
    pub run_started_at: Option<OffsetDateTime>,
    pub run_finished_at: Option<OffsetDateTime>,
    pub data_start_time: Option<OffsetDateTime>,
    pub data_end_time: Option<OffsetDateTime>,
    pub num_successes: Option<i64>,
    pub num_errors: Option<i64>,
    pub num_skipped: Option<i64>,
    /// `failure_reason` (free text, any length).
    pub failure_reason: Option<String>,
    /// `experiment_id` (set for `RUN_EXPERIMENT` tasks' runs).
    pub experiment_id: Option<String>,
    pub created_by_user_id: Option<String>,
    /// Raw changes applied last: `Some(value)` sets (or adds) a field with
    /// any JSON value (mistyped fields), `None` removes it.
    pub overrides: Vec<(String, Option<Value>)>,
}

impl SimRun {
    /// A well-formed run with this `status` created at `created_at`, its
    /// other fields filled the way the API fills them for that status
    /// (compared case-insensitively; an unknown status gets the fields of a
    /// completed run):
    /// - `COMPLETED`: started 1 s after creation, finished 90 s later,
    ///   1000 successes, 3 errors, 12 skipped, a one-hour data window
    ///   ending at creation;
    /// - `FAILED`: like completed, with 212 successes, 0 errors, 0 skipped
    ///   and [`FAILED_REASON`];
    /// - `CANCELLED`: finished 1 s after it started, all counts 0,
    ///   [`CANCELLED_REASON`];
    /// - `RUNNING`: started, not finished, no counts;
    /// - `PENDING`: neither started nor finished, no counts.
    pub fn new(status: &str, created_at: OffsetDateTime) -> SimRun {
        let started = created_at + time::Duration::SECOND;
        let mut run = SimRun {
            id: None,
            status: status.to_owned(),
            created_at,
            run_started_at: Some(started),
            run_finished_at: Some(started + time::Duration::seconds(90)),
            data_start_time: Some(created_at - time::Duration::HOUR),
            data_end_time: Some(created_at),
            num_successes: Some(1000),
            num_errors: Some(3),
            num_skipped: Some(12),
            failure_reason: None,
            experiment_id: None,
            created_by_user_id: None,
            overrides: Vec::new(),
        };
        match status.to_ascii_uppercase().as_str() {
            "FAILED" => {
                run = run.with_counts(212, 0, 0);
                run.failure_reason = Some(FAILED_REASON.to_owned());
            }
            "CANCELLED" => {
                run = run.with_counts(0, 0, 0);
                run.run_finished_at = Some(started + time::Duration::SECOND);
                run.failure_reason = Some(CANCELLED_REASON.to_owned());
            }
            "RUNNING" => {
                run.run_finished_at = None;
                (run.num_successes, run.num_errors, run.num_skipped) = (None, None, None);
            }
            "PENDING" => {
                (run.run_started_at, run.run_finished_at) = (None, None);
                (run.num_successes, run.num_errors, run.num_skipped) = (None, None, None);
            }
            _ => {}
        }
        run
    }

    /// A `COMPLETED` run with these counts.
    pub fn completed(
        created_at: OffsetDateTime,
        successes: i64,
        errors: i64,
        skipped: i64,
    ) -> SimRun {
        SimRun::new("COMPLETED", created_at).with_counts(successes, errors, skipped)
    }

    /// A `FAILED` run with this `failure_reason`.
    pub fn failed(created_at: OffsetDateTime, reason: &str) -> SimRun {
        SimRun::new("FAILED", created_at).with_failure_reason(Some(reason))
    }

    /// A `CANCELLED` run with this `failure_reason` and zero counts.
    pub fn cancelled(created_at: OffsetDateTime, reason: &str) -> SimRun {
        SimRun::new("CANCELLED", created_at).with_failure_reason(Some(reason))
    }

    /// A `RUNNING` run (started, not finished).
    pub fn running(created_at: OffsetDateTime) -> SimRun {
        SimRun::new("RUNNING", created_at)
    }

    /// A `PENDING` run (not started).
    pub fn pending(created_at: OffsetDateTime) -> SimRun {
        SimRun::new("PENDING", created_at)
    }

    /// Set `id`.
    pub fn with_id(mut self, id: &str) -> SimRun {
        self.id = Some(id.to_owned());
        self
    }

    /// Set `num_successes`, `num_errors`, `num_skipped`.
    pub fn with_counts(mut self, successes: i64, errors: i64, skipped: i64) -> SimRun {
        (self.num_successes, self.num_errors, self.num_skipped) =
            (Some(successes), Some(errors), Some(skipped));
        self
    }

    /// Set `failure_reason` (`None`: null).
    pub fn with_failure_reason(mut self, reason: Option<&str>) -> SimRun {
        self.failure_reason = reason.map(str::to_owned);
        self
    }

    /// Set `run_started_at` and `run_finished_at` (`None`: null).
    pub fn with_times(
        mut self,
        started: Option<OffsetDateTime>,
        finished: Option<OffsetDateTime>,
    ) -> SimRun {
        (self.run_started_at, self.run_finished_at) = (started, finished);
        self
    }

    /// Set `data_start_time` and `data_end_time`, the data window the run
    /// evaluated (`None`: null, as for `RUN_EXPERIMENT` runs).
    pub fn with_data_window(
        mut self,
        start: Option<OffsetDateTime>,
        end: Option<OffsetDateTime>,
    ) -> SimRun {
        (self.data_start_time, self.data_end_time) = (start, end);
        self
    }

    /// Set one field of the served JSON to any value (applied after every
    /// other field: e.g. `num_errors` as a string, `status` as a number).
    pub fn with_field(mut self, key: &str, value: Value) -> SimRun {
        self.overrides.push((key.to_owned(), Some(value)));
        self
    }

    /// Leave one field out of the served JSON.
    pub fn without_field(mut self, key: &str) -> SimRun {
        self.overrides.push((key.to_owned(), None));
        self
    }

    /// Finish the run now as the API would: status `COMPLETED`,
    /// `run_finished_at` = `now` (and `run_started_at` if it had none), these
    /// counts, no `failure_reason`.
    pub fn complete(&mut self, now: OffsetDateTime, successes: i64, errors: i64, skipped: i64) {
        "COMPLETED".clone_into(&mut self.status);
        self.run_started_at.get_or_insert(self.created_at);
        self.run_finished_at = Some(now);
        (self.num_successes, self.num_errors, self.num_skipped) =
            (Some(successes), Some(errors), Some(skipped));
        self.failure_reason = None;
    }

    /// The run object as served, for the task `task_id`.
    pub fn to_json(&self, task_id: &str) -> Value {
        let time = |t: Option<OffsetDateTime>| t.map_or(Value::Null, |t| rfc3339_millis(t).into());
        let text = |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| s.clone().into());
        let count = |n: Option<i64>| n.map_or(Value::Null, Value::from);
        let mut obj = Map::with_capacity(14);
        obj.insert("id".into(), text(&self.id));
        obj.insert("task_id".into(), task_id.into());
        obj.insert("experiment_id".into(), text(&self.experiment_id));
        obj.insert("status".into(), self.status.clone().into());
        obj.insert("run_started_at".into(), time(self.run_started_at));
        obj.insert("run_finished_at".into(), time(self.run_finished_at));
        obj.insert("data_start_time".into(), time(self.data_start_time));
        obj.insert("data_end_time".into(), time(self.data_end_time));
        obj.insert("num_successes".into(), count(self.num_successes));
        obj.insert("num_errors".into(), count(self.num_errors));
        obj.insert("num_skipped".into(), count(self.num_skipped));
        obj.insert("created_at".into(), time(Some(self.created_at)));
        obj.insert("created_by_user_id".into(), text(&self.created_by_user_id));
        obj.insert("failure_reason".into(), text(&self.failure_reason));
        for (key, value) in &self.overrides {
            match value {
                Some(value) => obj.insert(key.clone(), value.clone()),
                None => obj.remove(key),
            };
        }
        Value::Object(obj)
    }
}

/// Gives every run without an id one derived from the task id and its
/// position in `runs`.
pub(crate) fn assign_ids(task_id: &str, runs: &mut [SimRun]) {
    let h = fnv1a(task_id.as_bytes());
    for (k, run) in runs.iter_mut().enumerate() {
        if run.id.is_none() {
            run.id = Some(opaque_id("TaskRun", h.wrapping_add(k as u64)));
        }
    }
}

/// Puts `runs` in `order` (`task_id` seeds the shuffle).
pub(crate) fn order_runs(runs: &mut [SimRun], order: RunOrder, task_id: &str) {
    match order {
        RunOrder::NewestFirst => runs.sort_by_key(|run| std::cmp::Reverse(run.created_at)),
        RunOrder::OldestFirst => runs.sort_by_key(|run| run.created_at),
        RunOrder::AsGiven => {}
        RunOrder::Shuffled => {
            let seed = fnv1a(task_id.as_bytes());
            runs.sort_by_cached_key(|run| fnv1a(run.id.as_deref().unwrap_or("").as_bytes()) ^ seed);
        }
    }
}

/// The run interval a task's history is generated with: its
/// [`SimTask::run_cadence`], else its [`SimTask::runs_every`], else one
/// picked from the id (5 min, 15 min, 1 h or 6 h for a continuous task,
/// a day for a one-off one).
pub fn cadence_of(task: &SimTask) -> Duration {
    if let Some(cadence) = task.run_cadence.or(task.runs_every) {
        return cadence;
    }
    let continuous = task.json.get("is_continuous") == Some(&Value::Bool(true));
    if !continuous {
        return Duration::from_secs(24 * 3600);
    }
    const CADENCES: [u64; 4] = [300, 900, 3600, 6 * 3600];
    let h = fnv1a(task.id().unwrap_or("").as_bytes());
    Duration::from_secs(CADENCES[(h % 4) as usize])
}

/// The generated history of `task` whose served JSON is `served`: newest
/// first, none if `last_run_at` is not a timestamp (the task never ran).
/// Continuous tasks: up to [`HISTORY_RUNS`] runs, one per cadence, the
/// newest finishing at `last_run_at`, none finishing before `created_at`;
/// one-off tasks: one to three runs a cadence apart. About one run in 25
/// failed and one in 50 was cancelled (each with a `failure_reason`); the
/// rest completed with item counts. [`SimTask::newest_run`] sets the
/// newest run's status. Deterministic from the id and `last_run_at`.
pub(crate) fn generated_runs(task: &SimTask, served: &Value) -> Vec<SimRun> {
    let timestamp = |key: &str| {
        served
            .get(key)
            .and_then(Value::as_str)
            .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
    };
    let Some(last) = timestamp("last_run_at") else {
        return Vec::new();
    };
    let task_id = task.id().unwrap_or("");
    let h = fnv1a(task_id.as_bytes());
    let cadence = cadence_of(task).max(Duration::from_secs(1));
    let cadence_secs = i64::try_from(cadence.as_secs()).unwrap_or(i64::MAX);
    let step = time::Duration::seconds(cadence_secs);
    let continuous = served.get("is_continuous") == Some(&Value::Bool(true));
    let wanted = if continuous { HISTORY_RUNS } else { 1 + h % 3 };
    let created = timestamp("created_at");
    let experiment = served
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("RUN_EXPERIMENT"));
    let experiment_ids: Vec<&str> = served
        .get("experiment_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let user = served
        .get("created_by_user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // The slot number since the epoch keeps run ids stable while the
    // history of a task that keeps running moves forward.
    let slot = last.unix_timestamp() / cadence_secs;

    let mut runs = Vec::with_capacity(wanted as usize);
    for k in 0..wanted {
        let finished = last - step * (k as i32);
        if k > 0 && created.is_some_and(|created| finished < created) {
            break;
        }
        let seed = fnv1a(&(slot - k as i64).to_le_bytes()) ^ h;
        let status = match (k, &task.newest_run) {
            (0, Some((status, _))) => status.as_str(),
            (0, None) if !task.newest_run_varies => "COMPLETED",
            _ => match seed % 100 {
                0..=3 => "FAILED",
                4..=5 => "CANCELLED",
                _ => "COMPLETED",
            },
        };
        let duration = time::Duration::seconds(
            (20 + (seed >> 7) % 240).min((cadence_secs / 3).max(1) as u64) as i64,
        );
        let started = finished - duration;
        let mut run = SimRun::new(status, started - time::Duration::SECOND);
        run.id = Some(opaque_id("TaskRun", seed));
        match status.to_ascii_uppercase().as_str() {
            "RUNNING" => run.run_started_at = Some(last),
            "PENDING" => {}
            _ => run = run.with_times(Some(started), Some(finished)),
        }
        match status.to_ascii_uppercase().as_str() {
            "COMPLETED" => {
                // At least 250 successes and at most 24 errors: a ratio
                // under 0.1, so no completed run trips the error-ratio alert
                // by chance.
                let successes = 250 + (seed >> 11) % 4750;
                run = run.with_counts(
                    successes as i64,
                    ((seed >> 23) % 25) as i64,
                    ((seed >> 31) % 150) as i64,
                );
            }
            "FAILED" => {
                run = run.with_counts(((seed >> 11) % 400) as i64, ((seed >> 23) % 60) as i64, 0);
            }
            _ => {}
        }
        if k == 0 {
            if let Some((_, Some(reason))) = &task.newest_run {
                run.failure_reason = Some(reason.clone());
            }
            if let Some((successes, errors, skipped)) = task.newest_counts {
                run = run.with_counts(successes, errors, skipped);
            }
        }
        if experiment {
            (run.data_start_time, run.data_end_time) = (None, None);
            run.experiment_id = Some(
                match experiment_ids.get((seed % 7) as usize % experiment_ids.len().max(1)) {
                    Some(id) => (*id).to_owned(),
                    None => opaque_id("Experiment", seed >> 3),
                },
            );
        } else {
            // The window ends when the run started, or `data_lag` earlier.
            let lag = task
                .data_lag
                .and_then(|lag| time::Duration::try_from(lag).ok())
                .unwrap_or(time::Duration::ZERO);
            let end = started.checked_sub(lag).unwrap_or(started);
            run.data_start_time = Some(end.checked_sub(step).unwrap_or(end));
            run.data_end_time = Some(end);
        }
        run.created_by_user_id.clone_from(&user);
        runs.push(run);
    }
    runs
}
