//! Task runs: the run object the API returns and the order runs are listed
//! in. A task's generated history is in [`crate::history`]; explicit runs
//! are set by a test.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::encode::{fnv1a, opaque_id, rfc3339_millis};

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
    /// [`crate::SimTask::with_runs`]); generated history newest first.
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
