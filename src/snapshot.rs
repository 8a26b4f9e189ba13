//! The result of one complete poll: every task, normalised for the metrics.
//!
//! A snapshot is built page by page while a poll runs and is published only
//! when the poll completes, so `/metrics` never serves half a poll. Once
//! the task list is complete, the runs read for some tasks are added
//! ([`SnapshotBuilder::set_runs`], see [`runs`]); the others keep the run
//! data read before.
//!
//! The snapshot is the domain: what one poll learned, as values. It renders
//! no text; the exposition builds its own store of series text from it
//! when it is published.

pub mod names;
pub mod runs;
mod staleness;
pub mod trouble;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::arize::field::{FieldWarnings, Time};
use crate::arize::runs::{RunStatus, TaskRun};
use crate::arize::tasks::Task;

pub use names::{Names, Place};
pub use runs::{FinishedRun, RunRecord};
pub use staleness::Staleness;
pub use trouble::TroubleTimes;

/// The task types the API documents; each is always reported, 0 when absent.
pub const KNOWN_TASK_TYPES: [&str; 3] =
    ["template_evaluation", "code_evaluation", "run_experiment"];

/// A map from every known task type to `T::default()`: the families whose
/// known types are always present start from it.
pub fn zero_per_known_type<K: From<&'static str> + Ord, T: Default>() -> BTreeMap<K, T> {
    KNOWN_TASK_TYPES
        .iter()
        .map(|t| (K::from(t), T::default()))
        .collect()
}

/// The `task_type` of a task whose type is missing.
pub const UNKNOWN_TASK_TYPE: &str = "unknown";

/// `t` as Unix seconds (0 for a time before the epoch): the unit of every
/// time in a snapshot and in the metrics.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An optional number in 8 bytes instead of an `Option<f64>`'s 16: NaN is
/// none (no time, rate or duration the API sends is NaN: JSON has none).
/// A snapshot holds a few of these per task, and at 100k tasks each
/// `Option` would cost 0.8 MB.
#[derive(Clone, Copy)]
pub struct MaybeF64(f64);

impl MaybeF64 {
    pub const NONE: MaybeF64 = MaybeF64(f64::NAN);

    /// The number, if there is one.
    pub fn get(self) -> Option<f64> {
        (!self.0.is_nan()).then_some(self.0)
    }
}

impl Default for MaybeF64 {
    /// None.
    fn default() -> MaybeF64 {
        MaybeF64::NONE
    }
}

impl From<Option<f64>> for MaybeF64 {
    fn from(value: Option<f64>) -> MaybeF64 {
        MaybeF64(value.unwrap_or(f64::NAN))
    }
}

impl PartialEq for MaybeF64 {
    fn eq(&self, other: &MaybeF64) -> bool {
        self.get().map(f64::to_bits) == other.get().map(f64::to_bits)
    }
}

impl std::fmt::Debug for MaybeF64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// An optional count in 8 bytes instead of an `Option<u64>`'s 16:
/// `u64::MAX` is none (a count the API sent as `u64::MAX` reads as absent).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MaybeCount(u64);

impl MaybeCount {
    pub const NONE: MaybeCount = MaybeCount(u64::MAX);

    /// The count, if there is one.
    pub fn get(self) -> Option<u64> {
        (self.0 != u64::MAX).then_some(self.0)
    }
}

impl From<Option<u64>> for MaybeCount {
    fn from(value: Option<u64>) -> MaybeCount {
        MaybeCount(value.unwrap_or(u64::MAX))
    }
}

impl std::fmt::Debug for MaybeCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Whether a task runs on incoming data or once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Continuous,
    OneOff,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Continuous, Mode::OneOff];

    /// The `mode` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Continuous => "continuous",
            Mode::OneOff => "one_off",
        }
    }
}

/// One task, as the poll read it: its [definition](TaskDefinition) and its
/// last run. Times are Unix seconds. The definition's fields read through
/// the record (`task.name`), as a task is its definition plus its state.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// What the task is; shared with the previous snapshot's record of the
    /// task while it did not change, which is what most polls find: a
    /// continuous task's `last_run_at` moves with every run, its
    /// definition seldom.
    pub definition: Arc<TaskDefinition>,
    /// `None`: the task never ran, or its timestamp was unreadable.
    pub last_run_at: Option<f64>,
    /// `last_run_at` was sent but is not RFC 3339: the last run is unknown,
    /// which is neither "never ran" nor stale.
    pub last_run_unreadable: bool,
    /// What the last read of the task's runs found; `None` until they are
    /// read (never for a task that never ran). Kept from poll to poll until
    /// they are read again, shared with the previous snapshot.
    pub runs: Option<Arc<RunRecord>>,
    /// `updated_at`, Unix seconds, when readable.
    pub updated_at: MaybeF64,
}

impl std::ops::Deref for TaskRecord {
    type Target = TaskDefinition;

    fn deref(&self) -> &TaskDefinition {
        &self.definition
    }
}

/// A task as the task object defines it: everything but its last run.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskDefinition {
    /// Absent ids keep the task in the counts but give it no per-task series.
    pub id: Option<Box<str>>,
    pub name: Box<str>,
    /// Lower-case; `unknown` when missing.
    pub task_type: Arc<str>,
    pub mode: Mode,
    /// The space filter that found the task, when filters are set.
    pub space: Option<Arc<str>>,
    /// `project_id`, `dataset_id`, `created_by_user_id`: `None` when
    /// missing, null or unusable.
    pub project_id: Option<Arc<str>>,
    pub dataset_id: Option<Arc<str>>,
    pub created_by_user_id: Option<Arc<str>>,
    /// `sampling_rate` as sent (the API documents 0 to 1), when usable.
    pub sampling_rate: MaybeF64,
    /// The number of evaluators, when the list was usable.
    pub evaluators: MaybeCount,
    /// The evaluators with an id, in the order sent; `None` when there are
    /// none.
    pub evaluator_list: Option<Arc<[Evaluator]>>,
    /// `created_at`, Unix seconds, when readable.
    pub created_at: MaybeF64,
}

impl TaskRecord {
    /// `last_run_at` is null: the task never ran.
    pub fn never_ran(&self) -> bool {
        self.last_run_at.is_none() && !self.last_run_unreadable
    }

    /// `last_run_at` was sent but could not be read: the last run is
    /// unknown, which is neither "never ran" nor stale.
    pub fn last_run_unknown(&self) -> bool {
        self.last_run_unreadable
    }

    /// The age of the last run, in seconds, beyond which this task is stale:
    /// from its run interval when known, else `--stale-after` (see
    /// [`Staleness`]).
    pub fn stale_threshold(&self, staleness: &Staleness) -> f64 {
        staleness.threshold_seconds(self.run_interval())
    }

    /// The run interval in seconds (see [`RunRecord::interval`]), when known.
    pub fn run_interval(&self) -> Option<f64> {
        self.runs.as_ref().and_then(|r| r.interval.get())
    }

    /// The status of the newest run read, when known.
    pub fn newest_run_status(&self) -> Option<&RunStatus> {
        self.runs.as_ref().and_then(|r| r.newest_status.as_ref())
    }

    /// The newest finished run read: its status, items, errors, times and
    /// failure reason (free text: escape it).
    pub fn newest_finished_run(&self) -> Option<&FinishedRun> {
        self.runs.as_ref().and_then(|r| r.newest_finished.as_ref())
    }

    /// The newest finished run read failed.
    pub fn last_run_failed(&self) -> bool {
        self.newest_finished_run()
            .is_some_and(|r| r.status == RunStatus::Failed)
    }

    /// Whether this task's runs are due for reading: it has an id and ran,
    /// and its runs were never read, or its `last_run_at` moved since, or
    /// the newest run read was still pending or running. A task that never
    /// ran has no runs and is never asked.
    pub fn runs_due(&self) -> bool {
        if self.id.is_none() || self.never_ran() {
            return false;
        }
        self.runs.as_ref().is_none_or(|r| r.due(self.last_run_at))
    }

    /// The age beyond which a run still pending or running is stuck, in
    /// seconds: the stale threshold of a continuous task, `--stale-after`
    /// for a one-off task (which has none).
    pub fn stuck_threshold(&self, staleness: &Staleness) -> f64 {
        match self.mode {
            Mode::Continuous => self.stale_threshold(staleness),
            Mode::OneOff => staleness.after.as_secs_f64(),
        }
    }

    /// When the run in progress becomes stuck (Unix seconds): the start of
    /// the newest run read plus its [stuck threshold](TaskRecord::stuck_threshold),
    /// when that run is still pending or running and its start is known.
    pub fn stuck_after(&self, staleness: &Staleness) -> Option<f64> {
        let runs = self.runs.as_deref()?;
        if !runs
            .newest_status
            .as_ref()
            .is_some_and(RunStatus::in_progress)
        {
            return None;
        }
        Some(runs.newest_started_at.get()? + self.stuck_threshold(staleness))
    }

    /// The newest run read is still pending or running, and started longer
    /// than its [stuck threshold](TaskRecord::stuck_threshold) before `now`
    /// (Unix seconds).
    pub fn run_stuck(&self, now: f64, staleness: &Staleness) -> bool {
        self.stuck_after(staleness).is_some_and(|after| now > after)
    }

    /// Seconds from the end of the newest data the task has evaluated
    /// (`data_end_time` of its newest completed run) to `now`; `None` when
    /// no completed run read had a data window.
    pub fn evaluation_lag(&self, now: f64) -> Option<f64> {
        let end = self.runs.as_deref()?.data_end.get()?;
        Some((now - end).max(0.0))
    }

    /// When a continuous task is lagging (see
    /// [`evaluation_lagging`](TaskRecord::evaluation_lagging)), as the times
    /// `(from, until)`, Unix seconds: after `from` its data is older than
    /// its stale threshold, until `until` it is not stale (infinite when
    /// its last run is unreadable, which is never stale). `None` when it
    /// never is: not continuous, no data window, never ran, or stale
    /// before its data is old.
    pub fn lagging_window(&self, staleness: &Staleness) -> Option<(f64, f64)> {
        if self.mode != Mode::Continuous {
            return None;
        }
        let threshold = self.stale_threshold(staleness);
        let from = self.runs.as_deref()?.data_end.get()? + threshold;
        let until = match self.last_run_at {
            Some(last) => last + threshold,
            None if self.last_run_unreadable => f64::INFINITY,
            None => return None,
        };
        (from < until).then_some((from, until))
    }

    /// A continuous task that runs on time (not stale) but over data older
    /// than its stale threshold at `now` (Unix seconds): a backlog on the
    /// Arize side. Never true of a stale task, so that one task raises one
    /// alarm.
    pub fn evaluation_lagging(&self, now: f64, staleness: &Staleness) -> bool {
        self.lagging_window(staleness)
            .is_some_and(|(from, until)| from < now && now <= until)
    }

    /// The share of the items of the newest finished run that ended in
    /// error, `num_errors / (num_successes + num_errors)`, as the rules
    /// compute it; `None` without a finished run with items.
    pub fn last_run_error_ratio(&self) -> Option<f64> {
        let run = self.newest_finished_run()?;
        let (ok, errors) = (run.successes.get()?, run.errors.get()?);
        let total = ok.checked_add(errors).filter(|&t| t > 0)?;
        Some(errors as f64 / total as f64)
    }

    /// A continuous task that never ran, or whose last run is older than
    /// its [stale threshold](TaskRecord::stale_threshold) at `now` (Unix seconds).
    pub fn is_stale(&self, now: f64, staleness: &Staleness) -> bool {
        self.mode == Mode::Continuous
            && last_run_stale(
                self.last_run_at,
                self.last_run_unreadable,
                self.run_interval(),
                now,
                staleness,
            )
    }
}

/// The evaluators kept per task for `arize_task_evaluator_info` (the first
/// ones listed); `arize_task_evaluators` counts them all. A task runs a
/// handful.
pub const MAX_EVALUATORS: usize = 64;

/// One evaluator of a task (`evaluators[]` of the task object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluator {
    /// `evaluator_id`.
    pub id: Arc<str>,
    /// `evaluator_name`: free text (escape it), at most 1 KiB; empty when
    /// not sent.
    pub name: Arc<str>,
    /// `evaluator_version_id` is set: the task runs that version, not the
    /// evaluator's latest.
    pub pinned: bool,
}

/// Whether a continuous task is stale at `now` (Unix seconds): it never ran
/// (`last_run_at` null, not unreadable), or its last run is older than
/// its stale threshold (from its run `interval`, see [`Staleness`]).
pub fn last_run_stale(
    last_run_at: Option<f64>,
    unreadable: bool,
    interval: Option<f64>,
    now: f64,
    staleness: &Staleness,
) -> bool {
    match last_run_at {
        Some(last) => now - last > staleness.threshold_seconds(interval),
        None => !unreadable,
    }
}

/// Tasks of one `task_type` and `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub tasks: u64,
    /// `last_run_at` null.
    pub never_run: u64,
    /// `last_run_at` sent but unreadable: last run unknown.
    pub last_run_unreadable: u64,
}

/// Every task of one complete poll.
#[derive(Debug)]
pub struct TaskSnapshot {
    /// Each record's definition and run data are shared with the previous
    /// snapshot where they did not change (see [`SnapshotBuilder::reuse`]).
    pub tasks: Vec<TaskRecord>,
    /// When the poll completed.
    pub completed_at: SystemTime,
    /// Whether space filters were set (the `space` label is present).
    pub by_space: bool,
    /// Per (`task_type`, `mode`), the known types always included.
    pub counts: BTreeMap<(String, Mode), Counts>,
    /// Whether task runs are read (`--task-runs`): without them, the run
    /// aggregates below mean nothing and are not served.
    pub task_runs: bool,
    /// Tasks whose newest finished run failed, per `task_type`, the known
    /// types always included.
    pub last_run_failed: BTreeMap<String, u64>,
    /// Finished runs this process has seen, per (`task_type`, status in
    /// [`RunStatus::FINISHED`]), since it started; the known types always
    /// included. Carried from snapshot to snapshot.
    pub runs_total: BTreeMap<(String, &'static str), u64>,
    /// The names of spaces, projects and datasets read so far (section
    /// 3.2); empty when names are off or not read yet.
    pub names: Arc<Names>,
}

impl TaskSnapshot {
    /// The stale continuous tasks per `task_type` at `now` (see
    /// [`TaskRecord::is_stale`]): every known type, and every type with a
    /// continuous task. (A scrape counts them from the exposition's rows,
    /// which it reads anyway, rather than from the records.)
    pub fn stale_counts(&self, now: f64, staleness: &Staleness) -> BTreeMap<&str, u64> {
        let mut counts: BTreeMap<&str, u64> = zero_per_known_type();
        for task in self.tasks.iter().filter(|t| t.mode == Mode::Continuous) {
            *counts.entry(&task.task_type).or_default() += u64::from(task.is_stale(now, staleness));
        }
        counts
    }
}

/// Accumulates the pages of one poll into a snapshot.
pub struct SnapshotBuilder<'w> {
    tasks: Vec<TaskRecord>,
    /// Where each id found so far is in `tasks`: a task found again (by
    /// another space filter) is counted once.
    seen_ids: IdIndex,
    by_space: bool,
    warnings: &'w mut FieldWarnings,
    previous: Option<Previous>,
    task_runs: bool,
    /// Whether each task's evaluators are kept (their family is served).
    evaluators: bool,
    runs_total: BTreeMap<(String, &'static str), u64>,
    names: Arc<Names>,
    /// One copy of each task type and space filter in this poll (a few of
    /// each).
    types_and_spaces: Strings,
    /// One copy of each project, dataset and creator id (up to
    /// [`SHARED_IDS`] distinct ones) in this poll.
    ids: Strings,
}

/// Distinct project, dataset and creator ids a poll keeps one copy of:
/// tasks share a few of each, and a bound keeps the set small when they
/// do not.
const SHARED_IDS: usize = 4096;

/// One shared copy of each string seen, up to `cap` distinct ones.
struct Strings {
    set: HashSet<Arc<str>>,
    cap: usize,
}

impl Strings {
    fn new(cap: usize) -> Strings {
        Strings {
            set: HashSet::new(),
            cap,
        }
    }

    /// The shared copy of `text`, added if there is room.
    fn get(&mut self, text: String) -> Arc<str> {
        if let Some(shared) = self.set.get(text.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = text.into();
        if self.set.len() < self.cap {
            self.set.insert(shared.clone());
        }
        shared
    }
}

/// Where tasks are in a list of records, by a 64-bit hash of their id: the
/// ids themselves stay in the records, not copied here. Of two ids with one
/// hash, the first indexed keeps the slot; the other is not found.
#[derive(Default)]
struct IdIndex {
    hasher: RandomState,
    at: HashMap<u64, usize>,
}

impl IdIndex {
    /// The index of every task with an id in `tasks`.
    fn of(tasks: &[TaskRecord]) -> IdIndex {
        let mut index = IdIndex::default();
        for (k, task) in tasks.iter().enumerate() {
            if let Some(id) = task.id.as_deref() {
                index.insert(id, k);
            }
        }
        index
    }

    /// Records that the task with `id` is at `at`.
    fn insert(&mut self, id: &str, at: usize) {
        self.at.entry(self.hasher.hash_one(id)).or_insert(at);
    }

    /// Where the task with `id` is in `tasks` (the list indexed), if there.
    fn find(&self, tasks: &[TaskRecord], id: &str) -> Option<usize> {
        let at = *self.at.get(&self.hasher.hash_one(id))?;
        (tasks.get(at)?.id.as_deref() == Some(id)).then_some(at)
    }
}

/// The snapshot being served while the next one is built, and where its
/// tasks are by id (indexed on the first miss).
struct Previous {
    snapshot: Arc<TaskSnapshot>,
    by_id: Option<IdIndex>,
}

impl Previous {
    /// Where the task with this id was in the previous snapshot, if there.
    fn find(&mut self, at: usize, id: &str) -> Option<usize> {
        let tasks = &self.snapshot.tasks;
        // Pages usually come in the same order poll after poll.
        if tasks.get(at).and_then(|t| t.id.as_deref()) == Some(id) {
            return Some(at);
        }
        self.by_id
            .get_or_insert_with(|| IdIndex::of(tasks))
            .find(tasks, id)
    }
}

impl<'w> SnapshotBuilder<'w> {
    pub fn new(by_space: bool, warnings: &'w mut FieldWarnings) -> Self {
        SnapshotBuilder {
            tasks: Vec::new(),
            seen_ids: IdIndex::default(),
            by_space,
            warnings,
            previous: None,
            task_runs: false,
            evaluators: true,
            runs_total: BTreeMap::new(),
            names: Arc::default(),
            types_and_spaces: Strings::new(usize::MAX),
            ids: Strings::new(SHARED_IDS),
        }
    }

    /// Task runs are read this poll (`--task-runs`): the snapshot serves
    /// the run aggregates.
    pub fn with_task_runs(mut self, task_runs: bool) -> Self {
        self.task_runs = task_runs;
        self
    }

    /// Whether each task's evaluators (ids, names, versions) are kept:
    /// `false` when `arize_task_evaluator_info` is not served, so that a
    /// denied family costs no memory either (the count,
    /// `arize_task_evaluators`, is kept whatever).
    pub fn with_evaluators(mut self, evaluators: bool) -> Self {
        self.evaluators = evaluators;
        self
    }

    /// The names of spaces, projects and datasets this snapshot serves.
    pub fn with_names(mut self, names: Arc<Names>) -> Self {
        self.names = names;
        self
    }

    /// Shares with `previous` (the snapshot still served) every task
    /// definition that has not changed since (and the ids of those that
    /// did), instead of holding them twice: a record of its own is 48
    /// bytes. While a poll runs, the last snapshot stays
    /// published and a scrape may still hold the one before, so without
    /// this a large account's tasks were in memory up to three times over.
    ///
    /// Each task keeps the run data read before (until its runs are read
    /// again), and the count of runs seen goes on from `previous`.
    pub fn reuse(mut self, previous: Arc<TaskSnapshot>) -> Self {
        self.runs_total = previous.runs_total.clone();
        self.previous = Some(Previous {
            snapshot: previous,
            by_id: None,
        });
        self
    }

    /// Adds one page of tasks found by `space` (the filter's label value).
    /// A task already found (by an earlier space filter) is counted once.
    /// `type_filter` (upper-case) is applied again to what comes back.
    pub fn add_page(&mut self, page: Vec<Task>, space: Option<&str>, type_filter: Option<&str>) {
        for task in page {
            // A task of another type is dropped; one without a type is kept,
            // as the API itself matched it to the filter.
            if let (Some(wanted), Some(actual)) = (type_filter, task.task_type.as_value()) {
                if !actual.eq_ignore_ascii_case(wanted) {
                    continue;
                }
            }
            // An empty id is no id (see `record`): such tasks cannot be
            // told apart, so each one counts.
            if let Some(id) = task.id.as_value().filter(|id| !id.is_empty()) {
                if self.seen_ids.find(&self.tasks, id).is_some() {
                    continue;
                }
                self.seen_ids.insert(id, self.tasks.len());
            }
            let (mut definition, state) = self.record(task, space);
            let at = self.tasks.len();
            let previous = match (definition.id.as_deref(), self.previous.as_mut()) {
                (Some(id), Some(previous)) => {
                    previous.find(at, id).map(|k| &previous.snapshot.tasks[k])
                }
                _ => None,
            };
            let Some(previous) = previous else {
                self.tasks.push(state.with(Arc::new(definition)));
                continue;
            };
            // An unchanged definition is the previous one; a changed one
            // still shares the ids and evaluators that did not change.
            let definition = if *previous.definition == definition {
                previous.definition.clone()
            } else {
                if definition.evaluator_list == previous.evaluator_list {
                    definition
                        .evaluator_list
                        .clone_from(&previous.evaluator_list);
                }
                for (new, old) in [
                    (&mut definition.project_id, &previous.project_id),
                    (&mut definition.dataset_id, &previous.dataset_id),
                    (
                        &mut definition.created_by_user_id,
                        &previous.created_by_user_id,
                    ),
                ] {
                    if new == old {
                        new.clone_from(old);
                    }
                }
                Arc::new(definition)
            };
            // The run data read before stays until the runs are read again.
            let mut record = state.with(definition);
            record.runs.clone_from(&previous.runs);
            self.tasks.push(record);
        }
    }

    /// The tasks of the list so far (once complete: the whole poll).
    pub fn tasks(&self) -> &[TaskRecord] {
        &self.tasks
    }

    /// The positions in [`tasks`](Self::tasks) of the tasks whose runs are
    /// due (see [`TaskRecord::runs_due`]), those whose run data is oldest
    /// first (never read before all), the list order otherwise.
    pub fn runs_due(&self) -> Vec<usize> {
        let mut due: Vec<usize> = (0..self.tasks.len())
            .filter(|&k| self.tasks[k].runs_due())
            .collect();
        let read_at = |k: &usize| {
            self.tasks[*k]
                .runs
                .as_ref()
                .map_or(f64::NEG_INFINITY, |r| r.read_at)
        };
        due.sort_by(|a, b| read_at(a).total_cmp(&read_at(b)));
        due
    }

    /// The runs read at `read_at` (Unix seconds) for the task at `index` of
    /// [`tasks`](Self::tasks): they replace its run data, and the finished
    /// runs first seen among them are counted.
    pub fn set_runs(&mut self, index: usize, runs: Vec<TaskRun>, read_at: f64) {
        let Some(task) = self.tasks.get(index) else {
            return;
        };
        let Some(id) = task.id.as_deref() else {
            return;
        };
        let (record, new) = RunRecord::read(
            id,
            task.last_run_at,
            runs,
            task.runs.as_deref(),
            read_at,
            self.warnings,
        );
        for (status, n) in RunStatus::FINISHED.iter().zip(new) {
            if n > 0 {
                *self
                    .runs_total
                    .entry((task.task_type.to_string(), *status))
                    .or_default() += n;
            }
        }
        if let Some(task) = self.tasks.get_mut(index) {
            task.runs = Some(Arc::new(record));
        }
    }

    /// The completed snapshot.
    pub fn finish(self, completed_at: SystemTime) -> TaskSnapshot {
        let mut counts: BTreeMap<(String, Mode), Counts> = BTreeMap::new();
        for task_type in KNOWN_TASK_TYPES {
            for mode in Mode::ALL {
                counts.insert((task_type.to_owned(), mode), Counts::default());
            }
        }
        for task in &self.tasks {
            let entry = counts
                .entry((task.task_type.to_string(), task.mode))
                .or_default();
            entry.tasks += 1;
            if task.never_ran() {
                entry.never_run += 1;
            }
            if task.last_run_unknown() {
                entry.last_run_unreadable += 1;
            }
        }
        let mut last_run_failed: BTreeMap<String, u64> = zero_per_known_type();
        for task in self.tasks.iter().filter(|t| t.last_run_failed()) {
            *last_run_failed
                .entry(task.task_type.to_string())
                .or_default() += 1;
        }
        let mut runs_total = self.runs_total;
        for task_type in KNOWN_TASK_TYPES {
            for status in RunStatus::FINISHED {
                runs_total
                    .entry((task_type.to_owned(), status))
                    .or_default();
            }
        }
        let mut tasks = self.tasks;
        tasks.shrink_to_fit();
        TaskSnapshot {
            tasks,
            completed_at,
            by_space: self.by_space,
            counts,
            task_runs: self.task_runs,
            last_run_failed,
            runs_total,
            names: self.names,
        }
    }

    /// The evaluators of the task `at` that have an id, with their ids and
    /// names shared (tasks often share evaluators); `None` when none has.
    fn evaluators(
        &mut self,
        at: Option<&str>,
        items: Vec<crate::arize::tasks::TaskEvaluator>,
    ) -> Option<Arc<[Evaluator]>> {
        let w = &mut *self.warnings;
        let list: Vec<Evaluator> = items
            .into_iter()
            .filter_map(|e| {
                let id: String = w
                    .take(at, "evaluators.evaluator_id", e.evaluator_id)
                    .filter(|id: &String| !id.is_empty())?;
                let name = w
                    .take(at, "evaluators.evaluator_name", e.evaluator_name)
                    .map(
                        |n: crate::arize::field::Capped<
                            { crate::arize::tasks::MAX_EVALUATOR_NAME_BYTES },
                        >| n.text,
                    )
                    .unwrap_or_default();
                let pinned = w
                    .take(
                        at,
                        "evaluators.evaluator_version_id",
                        e.evaluator_version_id,
                    )
                    .is_some_and(|v: String| !v.is_empty());
                Some((id, name, pinned))
            })
            // Each one is a series repeating the task id: a bound keeps an
            // answer listing thousands from multiplying the body.
            .take(MAX_EVALUATORS)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(id, name, pinned)| Evaluator {
                id: self.ids.get(id),
                name: self.ids.get(name),
                pinned,
            })
            .collect();
        (!list.is_empty()).then(|| list.into())
    }

    /// The definition and last run of `task`, found by the filter `space`.
    fn record(&mut self, task: Task, space: Option<&str>) -> (TaskDefinition, TaskState) {
        let w = &mut *self.warnings;
        // An empty id is no id: such tasks cannot be told apart.
        let id = w.take(None, "id", task.id).filter(|id| !id.is_empty());
        let at = id.as_deref();
        let last_run = w.time(at, "last_run_at", task.last_run_at);
        let project_id: Option<String> = w.take(at, "project_id", task.project_id);
        let dataset_id: Option<String> = w.take(at, "dataset_id", task.dataset_id);
        let created_by: Option<String> = w.take(at, "created_by_user_id", task.created_by_user_id);
        let sampling_rate = w.take(at, "sampling_rate", task.sampling_rate).into();
        let evaluators: Option<crate::arize::tasks::Evaluators> =
            w.take(at, "evaluators", task.evaluators);
        let evaluator_count = evaluators.as_ref().map(|e| e.len as u64).into();
        let evaluator_items = evaluators.map(|e| e.items).filter(|_| self.evaluators);
        let created_at = w.time(at, "created_at", task.created_at).seconds().into();
        let updated_at = w.time(at, "updated_at", task.updated_at).seconds().into();
        let task_type: String = w
            .take(at, "type", task.task_type)
            .filter(|t: &String| !t.is_empty())
            .map_or_else(|| UNKNOWN_TASK_TYPE.to_owned(), |t| t.to_lowercase());
        let name = w.take(at, "name", task.name).unwrap_or_default();
        // Missing, null or mistyped: one-off.
        let mode = match w.take(at, "is_continuous", task.is_continuous) {
            Some(true) => Mode::Continuous,
            _ => Mode::OneOff,
        };
        let evaluator_list = evaluator_items.and_then(|items| self.evaluators(at, items));
        let definition = TaskDefinition {
            name: name.into(),
            task_type: self.types_and_spaces.get(task_type),
            mode,
            space: space.map(|space| self.types_and_spaces.get(space.to_owned())),
            id: id.map(String::into_boxed_str),
            project_id: project_id.map(|s| self.ids.get(s)),
            dataset_id: dataset_id.map(|s| self.ids.get(s)),
            created_by_user_id: created_by.map(|s| self.ids.get(s)),
            sampling_rate,
            evaluators: evaluator_count,
            evaluator_list,
            created_at,
        };
        let last_run = TaskState {
            last_run_at: last_run.seconds(),
            last_run_unreadable: last_run == Time::Unreadable,
            updated_at,
        };
        (definition, last_run)
    }
}

/// What of a task record is not its definition or its runs, as read: what
/// changes when the task runs (`updated_at` with it).
struct TaskState {
    last_run_at: Option<f64>,
    last_run_unreadable: bool,
    updated_at: MaybeF64,
}

impl TaskState {
    /// The record of the task `definition` with this last run (its runs
    /// not read yet).
    fn with(self, definition: Arc<TaskDefinition>) -> TaskRecord {
        TaskRecord {
            definition,
            last_run_at: self.last_run_at,
            last_run_unreadable: self.last_run_unreadable,
            runs: None,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: &str) -> Task {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn stuck_and_lagging_follow_their_definitions_at_every_time() {
        use crate::arize::runs::TaskRun;
        let staleness = Staleness {
            after: std::time::Duration::from_secs(3600),
            after_intervals: 3,
            min: std::time::Duration::from_secs(600),
        };
        let t = |s: f64| {
            time::OffsetDateTime::from_unix_timestamp(s as i64)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        let base = 1_800_000_000.0;
        builder.add_page(
            vec![
                task(&format!(
                    r#"{{"id":"lag","is_continuous":true,"last_run_at":"{}"}}"#,
                    t(base)
                )),
                task(&format!(
                    r#"{{"id":"run","is_continuous":false,"last_run_at":"{}"}}"#,
                    t(base)
                )),
                task(r#"{"id":"odd","is_continuous":true,"last_run_at":"not a time"}"#),
            ],
            None,
            None,
        );
        let runs =
            |json: serde_json::Value| -> Vec<TaskRun> { serde_json::from_value(json).unwrap() };
        builder.set_runs(
            0,
            runs(
                serde_json::json!([{"status": "COMPLETED", "created_at": t(base),
                "run_started_at": t(base), "data_end_time": t(base - 7200.0)}]),
            ),
            base,
        );
        builder.set_runs(
            1,
            runs(serde_json::json!([{"status": "RUNNING", "created_at": t(base - 600.0)}])),
            base,
        );
        let snapshot = builder.finish(SystemTime::now());
        let (lag, run) = (&snapshot.tasks[0], &snapshot.tasks[1]);
        // The lagging task: its data 2 h old at `base`, its threshold 1 h.
        assert_eq!(
            lag.lagging_window(&staleness),
            Some((base - 3600.0, base + 3600.0))
        );
        // The one-off run: stuck an hour (--stale-after) after it started.
        assert_eq!(run.stuck_after(&staleness), Some(base - 600.0 + 3600.0));
        for k in -200..=200 {
            let now = base + f64::from(k) * 60.0;
            let lagging = lag.mode == Mode::Continuous
                && !lag.is_stale(now, &staleness)
                && lag
                    .evaluation_lag(now)
                    .is_some_and(|l| l > lag.stale_threshold(&staleness));
            assert_eq!(
                lag.evaluation_lagging(now, &staleness),
                lagging,
                "lag at {k} min"
            );
            let started = base - 600.0;
            assert_eq!(
                run.run_stuck(now, &staleness),
                now - started > 3600.0,
                "stuck at {k} min"
            );
        }
        assert_eq!(
            snapshot.tasks[2].lagging_window(&staleness),
            None,
            "no runs read"
        );
        // Counted by binary search, as judged task by task.
        let mut times = TroubleTimes::default();
        for task in &snapshot.tasks {
            times.add(task, &staleness);
        }
        times.sort();
        for k in -200..=200 {
            let now = base + f64::from(k) * 60.0;
            let count = |judge: fn(&TaskRecord, f64, &Staleness) -> bool| {
                snapshot
                    .tasks
                    .iter()
                    .filter(|t| judge(t, now, &staleness))
                    .count() as u64
            };
            assert_eq!(times.stuck_at(now), count(TaskRecord::run_stuck), "{k}");
            assert_eq!(
                times.lagging_at(now),
                count(TaskRecord::evaluation_lagging),
                "{k}"
            );
        }
    }

    #[test]
    fn evaluators_are_kept_up_to_a_bound_and_counted_all() {
        let evaluators: Vec<String> = (0..MAX_EVALUATORS + 10)
            .map(|k| format!(r#"{{"evaluator_id":"e{k}","evaluator_name":"n"}}"#))
            .collect();
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![task(&format!(
                r#"{{"id":"a","evaluators":[{}]}}"#,
                evaluators.join(",")
            ))],
            None,
            None,
        );
        let snapshot = builder.finish(SystemTime::now());
        let task = &snapshot.tasks[0];
        assert_eq!(task.evaluators.get(), Some((MAX_EVALUATORS + 10) as u64));
        let kept = task.evaluator_list.as_deref().unwrap();
        assert_eq!(kept.len(), MAX_EVALUATORS);
        assert_eq!(&*kept[0].id, "e0");
    }

    #[test]
    fn records_stay_small() {
        // Each byte of a record is 100 KB at 100k tasks, under a peak RSS
        // target of 150 MB (docs/performance.md).
        let (task, definition, runs) = (
            std::mem::size_of::<TaskRecord>(),
            std::mem::size_of::<TaskDefinition>(),
            std::mem::size_of::<RunRecord>(),
        );
        assert!(
            task <= 48 && definition <= 160 && runs <= 184,
            "TaskRecord {task} B, TaskDefinition {definition} B, RunRecord {runs} B"
        );
    }

    #[test]
    fn normalises_types_modes_and_timestamps() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![
                task(r#"{"id":"a","type":"TEMPLATE_EVALUATION","is_continuous":true,"last_run_at":"2026-03-01T14:30:00.000Z"}"#),
                task(r#"{"id":"b","type":"code_evaluation","is_continuous":null,"last_run_at":null}"#),
                task(r#"{"id":"c","type":"BRAND_NEW_KIND"}"#),
                task(r#"{"id":"d"}"#),
                task(r#"{"id":"e","type":""}"#),
            ],
            None,
            None,
        );
        let snapshot = builder.finish(SystemTime::now());
        let t = &snapshot.tasks;
        assert_eq!(&*t[0].task_type, "template_evaluation");
        assert_eq!(t[0].mode, Mode::Continuous);
        assert_eq!(t[0].last_run_at, Some(1_772_375_400.0));
        assert_eq!(
            (&*t[1].task_type, t[1].mode),
            ("code_evaluation", Mode::OneOff)
        );
        assert_eq!(&*t[2].task_type, "brand_new_kind");
        assert_eq!(&*t[3].task_type, "unknown");
        assert!(
            Arc::ptr_eq(&t[3].task_type, &t[4].task_type),
            "one copy a type"
        );
        assert_eq!(
            snapshot.counts.len(),
            8,
            "six known pairs plus two new ones"
        );
        assert_eq!(
            snapshot.counts[&("run_experiment".into(), Mode::Continuous)],
            Counts::default()
        );
        assert_eq!(
            snapshot.counts[&("code_evaluation".into(), Mode::OneOff)],
            Counts {
                tasks: 1,
                never_run: 1,
                last_run_unreadable: 0
            }
        );
    }

    #[test]
    fn a_bad_timestamp_keeps_the_task_and_warns_once() {
        let mut warnings = FieldWarnings::default();
        for _ in 0..3 {
            let mut builder = SnapshotBuilder::new(false, &mut warnings);
            builder.add_page(
                vec![task(
                    r#"{"id":"a","last_run_at":"yesterday","created_at":"2026-13-45"}"#,
                )],
                None,
                None,
            );
            let snapshot = builder.finish(SystemTime::now());
            assert_eq!(snapshot.tasks.len(), 1);
            assert_eq!(snapshot.tasks[0].last_run_at, None);
        }
        assert_eq!(warnings.reported(), 2);
    }

    #[test]
    fn a_task_found_twice_counts_once_with_the_first_space() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(true, &mut warnings);
        builder.add_page(vec![task(r#"{"id":"a"}"#)], Some("first"), None);
        builder.add_page(
            vec![task(r#"{"id":"a"}"#), task(r#"{"id":"b"}"#)],
            Some("second"),
            None,
        );
        let snapshot = builder.finish(SystemTime::now());
        let spaces: Vec<_> = snapshot.tasks.iter().map(|t| t.space.as_deref()).collect();
        assert_eq!(spaces, [Some("first"), Some("second")]);
    }

    #[test]
    fn the_type_filter_applies_to_what_comes_back() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![
                task(r#"{"id":"a","type":"code_evaluation"}"#),
                task(r#"{"id":"b","type":"RUN_EXPERIMENT"}"#),
            ],
            None,
            Some("CODE_EVALUATION"),
        );
        let snapshot = builder.finish(SystemTime::now());
        assert_eq!(snapshot.tasks.len(), 1);
        assert_eq!(snapshot.tasks[0].id.as_deref(), Some("a"));
    }

    #[test]
    fn unchanged_tasks_are_shared_with_the_previous_snapshot() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![
                task(r#"{"id":"a","name":"same"}"#),
                task(r#"{"id":"b","name":"before"}"#),
                task(r#"{"id":"c","name":"moves"}"#),
                task(r#"{"id":"e","project_id":"p1","sampling_rate":0.5}"#),
                task(r#"{"id":"f","project_id":"pf","evaluators":[{}]}"#),
                task(r#"{"id":"g","name":"ran","last_run_at":"2026-03-01T14:30:00Z"}"#),
            ],
            None,
            None,
        );
        let first = Arc::new(builder.finish(SystemTime::now()));
        let mut builder = SnapshotBuilder::new(false, &mut warnings).reuse(first.clone());
        builder.add_page(
            vec![
                task(r#"{"id":"a","name":"same"}"#),
                task(r#"{"id":"c","name":"moves"}"#),
                task(r#"{"id":"b","name":"after"}"#),
                task(r#"{"id":"d","name":"new"}"#),
                task(r#"{"id":"e","project_id":"p2","sampling_rate":0.5}"#),
                task(r#"{"id":"f","project_id":"pf","evaluators":[{},{}]}"#),
                task(r#"{"id":"g","name":"ran","last_run_at":"2026-03-01T14:35:00Z"}"#),
            ],
            None,
            None,
        );
        let second = builder.finish(SystemTime::now());
        let names: Vec<_> = second.tasks.iter().map(|t| &*t.name).collect();
        assert_eq!(names, ["same", "moves", "after", "new", "", "", "ran"]);
        let same = |a: usize, b: usize| {
            Arc::ptr_eq(&first.tasks[a].definition, &second.tasks[b].definition)
        };
        assert!(same(0, 0));
        assert!(same(2, 1), "found by id");
        assert!(!same(1, 2), "changed");
        // Fields only the series show are changes too.
        assert!(!same(3, 4), "project");
        assert!(!same(4, 5), "evaluators");
        assert_eq!(second.tasks[4].project_id.as_deref(), Some("p2"));
        assert_eq!(second.tasks[4].sampling_rate.get(), Some(0.5));
        assert_eq!(second.tasks[5].evaluators.get(), Some(2));
        let project = |t: &TaskRecord| t.project_id.clone().unwrap();
        assert!(
            Arc::ptr_eq(&project(&first.tasks[4]), &project(&second.tasks[5])),
            "a changed task shares the ids that did not change"
        );
        // A task that only ran again (what most polls find of a continuous
        // task) keeps its definition, with its new last run.
        assert!(same(5, 6), "ran");
        assert_eq!(
            second.tasks[6]
                .last_run_at
                .map(|t| t - first.tasks[5].last_run_at.unwrap()),
            Some(300.0)
        );
    }

    #[test]
    fn stale_counts_never_run_and_old_continuous_tasks() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![
                task(r#"{"id":"fresh","type":"TEMPLATE_EVALUATION","is_continuous":true,"last_run_at":"1970-01-01T00:16:40Z"}"#),
                task(r#"{"id":"old","type":"TEMPLATE_EVALUATION","is_continuous":true,"last_run_at":"1970-01-01T00:00:00Z"}"#),
                task(r#"{"id":"never","type":"CODE_EVALUATION","is_continuous":true}"#),
                task(r#"{"id":"oneoff","type":"CODE_EVALUATION","is_continuous":false}"#),
            ],
            None,
            None,
        );
        let snapshot = builder.finish(SystemTime::now());
        let staleness = Staleness {
            after: std::time::Duration::from_secs(500),
            after_intervals: 3,
            min: std::time::Duration::from_secs(60),
        };
        let stale = snapshot.stale_counts(1000.0, &staleness);
        assert_eq!(stale["template_evaluation"], 1);
        assert_eq!(stale["code_evaluation"], 1);
        assert_eq!(stale["run_experiment"], 0);
    }

    fn run_page(json: serde_json::Value) -> Vec<TaskRun> {
        serde_json::from_value(json).unwrap()
    }

    fn finished_run(status: &str, created: &str) -> serde_json::Value {
        serde_json::json!({"status": status, "created_at": created,
            "run_started_at": created, "run_finished_at": created})
    }

    #[test]
    fn runs_are_due_when_never_read_moved_or_in_progress_and_oldest_go_first() {
        let mut warnings = FieldWarnings::default();
        fn page<'w>(
            w: &'w mut FieldWarnings,
            second_run: &str,
            previous: Option<&Arc<TaskSnapshot>>,
        ) -> SnapshotBuilder<'w> {
            let mut builder = SnapshotBuilder::new(false, w);
            if let Some(previous) = previous {
                builder = builder.reuse(previous.clone());
            }
            builder.add_page(
                vec![
                    task(r#"{"id":"a","last_run_at":"2026-03-01T14:30:00Z"}"#),
                    task(&format!(r#"{{"id":"b","last_run_at":"{second_run}"}}"#)),
                    task(r#"{"id":"never","last_run_at":null}"#),
                    task(r#"{"last_run_at":"2026-03-01T14:30:00Z"}"#),
                    task(r#"{"id":"c","last_run_at":"2026-03-01T14:30:00Z"}"#),
                ],
                None,
                None,
            );
            builder
        }
        let mut builder = page(&mut warnings, "2026-03-01T14:30:00Z", None);
        assert_eq!(
            builder.runs_due(),
            [0, 1, 4],
            "never run and id-less tasks are never asked"
        );
        let created = "2026-03-01T14:29:00Z";
        builder.set_runs(
            4,
            run_page(serde_json::json!([finished_run("COMPLETED", created)])),
            30.0,
        );
        builder.set_runs(
            0,
            run_page(serde_json::json!([finished_run("FAILED", created)])),
            10.0,
        );
        builder.set_runs(
            1,
            run_page(serde_json::json!([{"status": "RUNNING", "created_at": created}])),
            20.0,
        );
        let first = Arc::new(builder.finish(SystemTime::now()));
        assert_eq!(first.last_run_failed["unknown"], 1);
        assert_eq!(first.last_run_failed["template_evaluation"], 0);
        assert_eq!(first.runs_total[&("unknown".to_owned(), "failed")], 1);
        assert_eq!(first.runs_total[&("unknown".to_owned(), "completed")], 1);
        assert_eq!(
            first.runs_total[&("run_experiment".to_owned(), "cancelled")],
            0
        );

        // Nothing moved: only b, whose newest run was running, is due.
        let builder = page(&mut warnings, "2026-03-01T14:30:00Z", Some(&first));
        assert_eq!(builder.runs_due(), [1]);
        let (was, is) = (&first.tasks[0], &builder.tasks()[0]);
        assert!(
            Arc::ptr_eq(&was.definition, &is.definition)
                && Arc::ptr_eq(was.runs.as_ref().unwrap(), is.runs.as_ref().unwrap()),
            "unchanged: shared"
        );
        let second = builder.finish(SystemTime::now());
        assert_eq!(second.runs_total, first.runs_total, "the count goes on");
        // b ran again (and is still due): a, read first, goes before c.
        let mut builder = page(&mut warnings, "2026-03-01T15:00:00Z", Some(&first));
        builder.tasks[0].last_run_at = Some(1.0);
        builder.tasks[4].last_run_at = Some(1.0);
        assert_eq!(builder.runs_due(), [0, 1, 4], "read at 10, 20 and 30");
        assert_eq!(
            builder.tasks()[0].newest_run_status(),
            Some(&RunStatus::Failed),
            "kept until read again"
        );
    }

    #[test]
    fn the_stale_threshold_follows_the_run_interval() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        builder.add_page(
            vec![task(
                r#"{"id":"a","is_continuous":true,"last_run_at":"1970-01-01T00:20:00Z"}"#,
            )],
            None,
            None,
        );
        let times = [
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:05:00Z",
            "1970-01-01T00:10:00Z",
        ];
        let runs = times.iter().map(|t| finished_run("COMPLETED", t)).collect();
        let staleness = Staleness {
            after: std::time::Duration::from_secs(3600),
            after_intervals: 3,
            min: std::time::Duration::from_secs(60),
        };
        assert_eq!(builder.tasks()[0].stale_threshold(&staleness), 3600.0);
        builder.set_runs(0, run_page(serde_json::Value::Array(runs)), 0.0);
        let snapshot = builder.finish(SystemTime::now());
        let task = &snapshot.tasks[0];
        assert_eq!(task.run_interval(), Some(300.0));
        assert_eq!(task.stale_threshold(&staleness), 900.0);
        // 20 min + 15 min: stale just after, not at.
        assert!(!task.is_stale(2100.0, &staleness) && task.is_stale(2100.5, &staleness));
        assert_eq!(snapshot.stale_counts(2101.0, &staleness)["unknown"], 1);
    }
}
