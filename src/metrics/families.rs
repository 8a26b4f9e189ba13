//! Every per-task family, described once: its name, HELP, labels and where
//! a task's value comes from. The store renders and the exposition walks
//! [`FAMILIES`] in order; adding a per-task family is one entry here.
//!
//! In the spirit of kube-state-metrics' one generator per family: an entry
//! says *what* a series is; [`super::store`] and [`super::exposition`] say
//! *how* it is kept and written (once per poll, or at each scrape).

use crate::snapshot::Staleness;
use crate::snapshot::{Mode, Place, RunRecord, TaskRecord};

/// The Prometheus type of a family (every per-task family is a gauge today).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
}

impl Kind {
    /// The word of the `# TYPE` line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
        }
    }
}

/// The label set of a family's series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    /// [`TASK_LABELS`].
    Task,
    /// [`TASK_LABELS`], then [`INFO_LABELS`].
    Info,
    /// [`TASK_LABELS`], then `status`: the status of the task's newest run
    /// read (lower case).
    RunStatus,
    /// [`EVALUATOR_LABELS`]: one series per evaluator of the task.
    Evaluator,
}

/// What a scrape-time value and the stale counts are computed from: one
/// task's values, kept in its row of the store (times as Unix seconds, NaN
/// when unknown, and the type's index in the padding the flags leave, so
/// that a row stays within a cache line).
#[derive(Clone, Copy, Debug)]
pub struct ScrapeInput {
    last_run_at: f64,
    run_interval: f64,
    task_type: u32,
    continuous: bool,
    last_run_unreadable: bool,
}

impl ScrapeInput {
    /// The values of `task`, whose type is the store's `task_type`th.
    pub fn of(task: &TaskRecord, task_type: u32) -> ScrapeInput {
        ScrapeInput {
            last_run_at: task.last_run_at.unwrap_or(f64::NAN),
            run_interval: task.run_interval().unwrap_or(f64::NAN),
            task_type,
            continuous: task.mode == Mode::Continuous,
            last_run_unreadable: task.last_run_unknown(),
        }
    }

    /// The index of the task's type among its store's task types.
    pub fn task_type(&self) -> u32 {
        self.task_type
    }

    /// `last_run_at`, Unix seconds; `None` if the task never ran or the
    /// time was unreadable.
    pub fn last_run_at(&self) -> Option<f64> {
        (!self.last_run_at.is_nan()).then_some(self.last_run_at)
    }

    /// The run interval in seconds, when known.
    pub fn run_interval(&self) -> Option<f64> {
        (!self.run_interval.is_nan()).then_some(self.run_interval)
    }

    /// The task runs on incoming data.
    pub fn continuous(&self) -> bool {
        self.continuous
    }

    /// `last_run_at` was sent but unreadable.
    pub fn last_run_unreadable(&self) -> bool {
        self.last_run_unreadable
    }
}

/// What a scrape knows beside the task: its clock and the flags.
#[derive(Clone, Copy, Debug)]
pub struct ScrapeContext<'a> {
    /// The time of the scrape, Unix seconds.
    pub now: f64,
    pub staleness: &'a Staleness,
}

/// Where a series' value comes from.
#[derive(Clone, Copy)]
pub enum Value {
    /// Always 1, for every task with an id.
    One,
    /// From the task's record, when present: rendered once per poll, when
    /// the store is built.
    Task(fn(&TaskRecord) -> Option<f64>),
    /// From the task's run data (its newest runs read), when present:
    /// rendered once per poll, when the store is built.
    Run(fn(&RunRecord) -> Option<f64>),
    /// Computed by each scrape from the task's row: `present` says whether
    /// the task has a series (it must not depend on the scrape), `value`
    /// what it is. `clock`: the value depends on the time of the scrape, so
    /// no two scrapes share its text (or its compressed segment).
    AtScrape {
        present: fn(&ScrapeInput) -> bool,
        value: fn(&ScrapeInput, &ScrapeContext) -> f64,
        clock: bool,
    },
    /// Always 1, one series per evaluator of the task
    /// ([`TaskRecord::evaluator_list`], labels [`Labels::Evaluator`]):
    /// rendered whole once per poll, when the store is built.
    PerEvaluator,
}

/// One per-task family.
#[derive(Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    /// The HELP text, without the sentence on where the data comes from
    /// (see [`Family::help`]).
    pub help: &'static str,
    pub labels: Labels,
    pub value: Value,
}

/// Said in the HELP of every family whose values come from the poll cache.
pub const FROM_CACHE: &str = "From the last complete poll of the Arize API.";

/// Said in the HELP of the families that come from a task's runs.
pub const FROM_RUNS: &str = "From the newest runs read with GET /v2/tasks/{task_id}/runs, read again each time the task runs (see arize_exporter_task_runs_backlog).";

impl Family {
    /// The whole HELP text: the family's own, then where its data comes from.
    pub fn help(&self) -> String {
        match self.value {
            Value::Run(_) => format!("{} {FROM_RUNS} {FROM_CACHE}", self.help),
            _ => format!("{} {FROM_CACHE}", self.help),
        }
    }

    /// Whether every scrape of one snapshot writes the same text for this
    /// family (all but the clock's): its compressed segment is kept with
    /// the store.
    pub const fn fixed_per_poll(&self) -> bool {
        !matches!(self.value, Value::AtScrape { clock: true, .. })
    }
}

/// A label of the per-task series: its name, and its value for a task
/// (`None`: the label is left out).
pub type TaskLabel = (&'static str, fn(&TaskRecord) -> Option<&str>);

/// A label only `arize_task_info` has: its name, and its value for a task
/// that lives at a [`Place`] (its space and the names of its space,
/// project and dataset, from the names read).
pub type InfoLabel = (
    &'static str,
    for<'a> fn(&'a TaskRecord, &Place<'a>) -> &'a str,
);

/// The label set of every per-task series, in this order: name, and the
/// value of a task (`None`: the label is left out, as `space` is without
/// space filters). Only tasks with an id have series.
pub const TASK_LABELS: [TaskLabel; 5] = [
    ("task_id", |t| t.id.as_deref()),
    ("task_name", |t| Some(&t.name)),
    ("task_type", |t| Some(&t.task_type)),
    ("mode", |t| Some(t.mode.as_str())),
    ("space", |t| t.space.as_deref()),
];

/// The labels only `arize_task_info` adds, in this order (empty when the
/// task has no value).
pub const INFO_LABELS: [InfoLabel; 7] = [
    ("project_id", |t, _| t.project_id.as_deref().unwrap_or("")),
    ("dataset_id", |t, _| t.dataset_id.as_deref().unwrap_or("")),
    ("created_by_user_id", |t, _| {
        t.created_by_user_id.as_deref().unwrap_or("")
    }),
    ("space_id", |_, at| at.space_id),
    ("space_name", |_, at| at.space_name),
    ("project_name", |_, at| at.project_name),
    ("dataset_name", |_, at| at.dataset_name),
];

/// The labels of `arize_task_evaluator_info`, in this order: `task_id`,
/// then the evaluator's `evaluator_id`, `evaluator_name` and `pinned`
/// (`true` when `evaluator_version_id` is set).
pub const EVALUATOR_LABELS: [&str; 4] = ["task_id", "evaluator_id", "evaluator_name", "pinned"];

/// The labels whose values are free text from the API (names): cut to
/// `--max-label-value-length` characters, so that a scraper with a label
/// length limit never drops the whole target for one long name. Ids and
/// the other labels are never cut.
pub const FREE_TEXT_LABELS: [&str; 5] = [
    "task_name",
    "space_name",
    "project_name",
    "dataset_name",
    "evaluator_name",
];

/// Every per-task family, in the order of the exposition.
pub const FAMILIES: [Family; 20] = [
    Family {
        name: "arize_task_info",
        kind: Kind::Gauge,
        help: "Always 1 per task; labelled with the task's project, dataset and creator ids, and where it lives: its space (its project's, else its dataset's) and the names of its space, project and dataset (GET /v2/spaces, /v2/projects, /v2/datasets; empty while unknown).",
        labels: Labels::Info,
        value: Value::One,
    },
    Family {
        name: "arize_task_evaluator_info",
        kind: Kind::Gauge,
        help: "Always 1 per evaluator of a task (the task's evaluators list); pinned is true when the task runs a fixed evaluator_version_id, false when it runs the evaluator's latest version.",
        labels: Labels::Evaluator,
        value: Value::PerEvaluator,
    },
    Family {
        name: "arize_task_last_run_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time of the task's last run (last_run_at); absent if it never ran.",
        labels: Labels::Task,
        value: Value::Task(|t| t.last_run_at),
    },
    Family {
        name: "arize_task_seconds_since_last_run",
        kind: Kind::Gauge,
        help: "Seconds from the task's last run to this scrape, computed at scrape time from the cached last_run_at; absent if it never ran.",
        labels: Labels::Task,
        value: Value::AtScrape {
            present: |t| t.last_run_at().is_some(),
            value: |t, at| t.last_run_at().map_or(0.0, |last| (at.now - last).max(0.0)),
            clock: true,
        },
    },
    Family {
        name: "arize_task_last_run_unreadable",
        kind: Kind::Gauge,
        help: "1 for a task whose last_run_at was sent but is not a readable RFC 3339 time: its last run is unknown (neither never-run nor stale); absent for every other task.",
        labels: Labels::Task,
        value: Value::AtScrape {
            present: |t| t.last_run_unreadable(),
            value: |_, _| 1.0,
            clock: false,
        },
    },
    Family {
        name: "arize_task_sampling_rate",
        kind: Kind::Gauge,
        help: "Fraction of incoming data the task evaluates (0 to 1), when set.",
        labels: Labels::Task,
        value: Value::Task(|t| t.sampling_rate.get()),
    },
    Family {
        name: "arize_task_evaluators",
        kind: Kind::Gauge,
        help: "Number of evaluators the task runs.",
        labels: Labels::Task,
        value: Value::Task(|t| t.evaluators.get().map(|n| n as f64)),
    },
    Family {
        name: "arize_task_created_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the task was created, when known.",
        labels: Labels::Task,
        value: Value::Task(|t| t.created_at.get()),
    },
    Family {
        name: "arize_task_updated_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the task was last updated, when known.",
        labels: Labels::Task,
        value: Value::Task(|t| t.updated_at.get()),
    },
    Family {
        name: "arize_task_stale_threshold_seconds",
        kind: Kind::Gauge,
        help: "Age of the last run beyond which a continuous task is stale: --stale-after-intervals times its run interval, at least --stale-after-min, when the interval is known; --stale-after otherwise (also for a task that never ran). Continuous tasks only; arize_tasks_stale uses the same threshold.",
        labels: Labels::Task,
        value: Value::AtScrape {
            present: |t| t.continuous(),
            value: |t, at| at.staleness.threshold_seconds(t.run_interval()),
            clock: false,
        },
    },
    Family {
        name: "arize_task_run_interval_seconds",
        kind: Kind::Gauge,
        help: "Median gap between the start times of the task's newest runs (up to 20), in seconds; absent until 3 runs are known.",
        labels: Labels::Task,
        value: Value::Run(|r| r.interval.get()),
    },
    Family {
        name: "arize_task_last_run_status",
        kind: Kind::Gauge,
        help: "Always 1, labelled with the status of the task's newest run read (lower case: pending, running, completed, failed, cancelled, or a new status as sent).",
        labels: Labels::RunStatus,
        value: Value::Run(|r| r.newest_status.as_ref().map(|_| 1.0)),
    },
    Family {
        name: "arize_task_last_run_successes",
        kind: Kind::Gauge,
        help: "Items the task's newest finished run evaluated successfully (num_successes).",
        labels: Labels::Task,
        value: Value::Run(|r| finished(r, |f| f.successes.get().map(|n| n as f64))),
    },
    Family {
        name: "arize_task_last_run_errors",
        kind: Kind::Gauge,
        help: "Items the task's newest finished run failed to evaluate (num_errors).",
        labels: Labels::Task,
        value: Value::Run(|r| finished(r, |f| f.errors.get().map(|n| n as f64))),
    },
    Family {
        name: "arize_task_last_run_skipped",
        kind: Kind::Gauge,
        help: "Items the task's newest finished run skipped (num_skipped).",
        labels: Labels::Task,
        value: Value::Run(|r| finished(r, |f| f.skipped.get().map(|n| n as f64))),
    },
    Family {
        name: "arize_task_last_run_duration_seconds",
        kind: Kind::Gauge,
        help: "run_finished_at minus run_started_at of the task's newest finished run, in seconds.",
        labels: Labels::Task,
        value: Value::Run(|r| finished(r, crate::snapshot::FinishedRun::duration)),
    },
    Family {
        name: "arize_task_last_run_finished_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the task's newest finished run finished (run_finished_at).",
        labels: Labels::Task,
        value: Value::Run(|r| finished(r, |f| f.finished_at.get())),
    },
    Family {
        name: "arize_task_last_successful_run_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the task's newest completed run read by this process finished; absent if none.",
        labels: Labels::Task,
        value: Value::Run(|r| r.last_success_at.get()),
    },
    Family {
        name: "arize_task_last_run_data_end_timestamp_seconds",
        kind: Kind::Gauge,
        help: "End of the data window (data_end_time) of the task's newest completed run that has one: time() minus this is how far behind real time its evaluation is; absent without one (run_experiment runs have none).",
        labels: Labels::Task,
        value: Value::Run(|r| r.data_end.get()),
    },
    Family {
        name: "arize_task_last_run_started_timestamp_seconds",
        kind: Kind::Gauge,
        help: "Unix time the task's newest run read started (run_started_at, else created_at), whatever its status: a run pending or running since long ago is stuck.",
        labels: Labels::Task,
        value: Value::Run(|r| r.newest_started_at.get()),
    },
];

/// `pick` of the newest finished run read, if any.
fn finished(
    record: &RunRecord,
    pick: fn(&crate::snapshot::FinishedRun) -> Option<f64>,
) -> Option<f64> {
    record.newest_finished.as_ref().and_then(pick)
}

/// Where a family's value is kept in the store: the index of its slot
/// among the values of its source ([`Value::Task`] or [`Value::Run`]),
/// in the order of [`FAMILIES`]; `None` for the others.
pub const SLOTS: [Option<usize>; FAMILIES.len()] = slots();

/// Values kept per task from [`Value::Task`] families.
pub const TASK_VALUES: usize = count(true);

/// Values kept per task from [`Value::Run`] families.
pub const RUN_VALUES: usize = count(false);

const fn count(task: bool) -> usize {
    let mut n = 0;
    let mut k = 0;
    while k < FAMILIES.len() {
        n += match (FAMILIES[k].value, task) {
            (Value::Task(_), true) | (Value::Run(_), false) => 1,
            _ => 0,
        };
        k += 1;
    }
    n
}

const fn slots() -> [Option<usize>; FAMILIES.len()] {
    let mut slots = [None; FAMILIES.len()];
    let (mut task, mut run) = (0, 0);
    let mut k = 0;
    while k < FAMILIES.len() {
        match FAMILIES[k].value {
            Value::Task(_) => {
                slots[k] = Some(task);
                task += 1;
            }
            Value::Run(_) => {
                slots[k] = Some(run);
                run += 1;
            }
            _ => {}
        }
        k += 1;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_of_the_task_namespace() {
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        assert!(names.iter().all(|n| n.starts_with("arize_task_")));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
    }

    #[test]
    fn every_stored_value_has_its_own_slot() {
        let slots = |run: bool| -> Vec<usize> {
            FAMILIES
                .iter()
                .zip(SLOTS)
                .filter(|(f, _)| matches!(f.value, Value::Run(_)) == run)
                .filter_map(|(_, slot)| slot)
                .collect()
        };
        assert_eq!(slots(false), (0..TASK_VALUES).collect::<Vec<_>>());
        assert_eq!(slots(true), (0..RUN_VALUES).collect::<Vec<_>>());
        assert_eq!((TASK_VALUES, RUN_VALUES), (5, 10));
    }
}
