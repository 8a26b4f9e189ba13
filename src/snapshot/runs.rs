//! A task's runs as the metrics and the landing page need them, made from
//! one read of `GET /v2/tasks/{task_id}/runs` and the read before it: the
//! newest run read, the newest finished one, the newest success, the run
//! interval, and which finished runs this process sees for the first time.

use super::{MaybeCount, MaybeF64};
use crate::arize::field::{Capped, FieldWarnings};
use crate::arize::runs::{RunStatus, TaskRun, MAX_REASON_BYTES, MAX_STATUS_BYTES, PAGE_SIZE};

/// The newest runs a read keeps for the run interval and for counting
/// runs: as many as one page holds.
pub const WINDOW: usize = PAGE_SIZE as usize;

/// Runs with a start time needed before the run interval is known.
pub const RUNS_FOR_INTERVAL: usize = 3;

/// Finished runs first seen in one read, by status, in the order of
/// [`RunStatus::FINISHED`] (completed, failed, cancelled).
pub type NewFinished = [u64; 3];

/// A finished run (completed, failed or cancelled). Times are Unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedRun {
    pub status: RunStatus,
    /// `run_started_at`.
    pub started_at: MaybeF64,
    /// `run_finished_at`.
    pub finished_at: MaybeF64,
    /// `num_successes`, `num_errors`, `num_skipped`: items of the run.
    pub successes: MaybeCount,
    pub errors: MaybeCount,
    pub skipped: MaybeCount,
    /// `failure_reason`: free text from the API (untrusted: escape it),
    /// at most [`MAX_REASON_BYTES`] bytes, ending in `…` when it was cut.
    pub failure_reason: Option<Box<str>>,
}

impl FinishedRun {
    /// Seconds from start to finish; `None` unless both are known and in order.
    pub fn duration(&self) -> Option<f64> {
        let (start, end) = (self.started_at.get()?, self.finished_at.get()?);
        (end >= start).then_some(end - start)
    }
}

/// What the last read of a task's runs found. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The task's `last_run_at` when its runs were read (`None`: not
    /// readable): the runs are read again once it moves.
    pub read_for_last_run_at: Option<f64>,
    /// When the runs were read: the oldest are read first when
    /// `--max-run-requests-per-poll` leaves some waiting.
    pub read_at: f64,
    /// Status of the newest run read (greatest `created_at`, else
    /// `run_started_at`); `None` when no run was read or it had no status.
    pub newest_status: Option<RunStatus>,
    /// The newest finished run read.
    pub newest_finished: Option<FinishedRun>,
    /// When the newest `completed` run this process has read finished
    /// (kept across reads: twenty failures in a row do not forget it).
    pub last_success_at: MaybeF64,
    /// The median gap, in seconds, between the start times
    /// (`run_started_at`, else `created_at`) of the newest runs read, up to
    /// [`WINDOW`]; `None` until [`RUNS_FOR_INTERVAL`] are known.
    pub interval: MaybeF64,
    /// Start of the newest run read, whatever its status
    /// (`run_started_at`, else `created_at`): a run in progress since long
    /// ago is stuck.
    pub newest_started_at: MaybeF64,
    /// `data_end_time` of the newest `completed` run read that has one
    /// (kept across reads, as `last_success_at`): the end of the newest
    /// data the task has evaluated.
    pub data_end: MaybeF64,
    seen: Seen,
}

/// Which finished runs were already counted: those not newer than
/// `through` (the newest finished run counted), except the runs that were
/// still unfinished in the last read (by id).
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    through: MaybeF64,
    unfinished: Box<[Box<str>]>,
}

/// One run, read.
struct Run {
    id: Option<String>,
    status: Option<RunStatus>,
    key: Option<f64>,
    created_at: Option<f64>,
    started_at: Option<f64>,
    finished_at: Option<f64>,
    data_end: Option<f64>,
    successes: Option<u64>,
    errors: Option<u64>,
    skipped: Option<u64>,
    failure_reason: Option<Capped<MAX_REASON_BYTES>>,
}

impl Run {
    fn read(run: TaskRun, task_id: &str, w: &mut FieldWarnings) -> Run {
        let at = Some(task_id);
        let created_at = w.time(at, "task_runs.created_at", run.created_at).seconds();
        let started_at = w
            .time(at, "task_runs.run_started_at", run.run_started_at)
            .seconds();
        Run {
            id: w.take(at, "task_runs.id", run.id),
            status: w
                .take::<Capped<MAX_STATUS_BYTES>>(at, "task_runs.status", run.status)
                .and_then(|s| RunStatus::parse(&s.text)),
            key: created_at.or(started_at),
            created_at,
            started_at,
            finished_at: w
                .time(at, "task_runs.run_finished_at", run.run_finished_at)
                .seconds(),
            data_end: w
                .time(at, "task_runs.data_end_time", run.data_end_time)
                .seconds(),
            successes: w.take(at, "task_runs.num_successes", run.num_successes),
            errors: w.take(at, "task_runs.num_errors", run.num_errors),
            skipped: w.take(at, "task_runs.num_skipped", run.num_skipped),
            failure_reason: w.take(at, "task_runs.failure_reason", run.failure_reason),
        }
    }

    fn finished(&self) -> bool {
        self.status.as_ref().is_some_and(RunStatus::is_finished)
    }

    fn into_finished(self) -> Option<FinishedRun> {
        let status = self.status.filter(RunStatus::is_finished)?;
        Some(FinishedRun {
            status,
            started_at: self.started_at.into(),
            finished_at: self.finished_at.into(),
            successes: self.successes.into(),
            errors: self.errors.into(),
            skipped: self.skipped.into(),
            failure_reason: self.failure_reason.map(|reason| {
                let mut text = reason.text;
                if reason.cut {
                    text.push('…');
                }
                text.into_boxed_str()
            }),
        })
    }
}

impl RunRecord {
    /// Whether the runs need reading again for a task whose `last_run_at`
    /// is now `last_run_at`: it moved since this read, or the newest run
    /// read was still pending or running.
    pub fn due(&self, last_run_at: Option<f64>) -> bool {
        self.read_for_last_run_at.map(f64::to_bits) != last_run_at.map(f64::to_bits)
            || self
                .newest_status
                .as_ref()
                .is_some_and(RunStatus::in_progress)
    }

    /// The record of the runs read at `read_at` for the task `task_id`
    /// whose `last_run_at` is `last_run_at`, after `previous` (the last
    /// read, if any); and the finished runs this read sees first. Unusable
    /// fields are reported once per task and field in `warnings`.
    pub fn read(
        task_id: &str,
        last_run_at: Option<f64>,
        runs: Vec<TaskRun>,
        previous: Option<&RunRecord>,
        read_at: f64,
        warnings: &mut FieldWarnings,
    ) -> (RunRecord, NewFinished) {
        let mut runs: Vec<Run> = runs
            .into_iter()
            .map(|run| Run::read(run, task_id, warnings))
            .filter(|run| run.key.is_some())
            .collect();
        // Newest first, by time alone: the list's own order means nothing.
        runs.sort_by(|a, b| {
            let key = |r: &Run| r.key.unwrap_or(f64::NEG_INFINITY);
            key(b).total_cmp(&key(a))
        });
        let newest_status = runs.first().and_then(|run| run.status.clone());
        let newest_started_at = runs
            .first()
            .and_then(|run| run.started_at.or(run.created_at));
        let data_end = runs
            .iter()
            .find(|run| run.status == Some(RunStatus::Completed) && run.data_end.is_some())
            .and_then(|run| run.data_end);
        let data_end = match (previous.and_then(|p| p.data_end.get()), data_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let completed_at = runs
            .iter()
            .find(|run| run.status == Some(RunStatus::Completed))
            .and_then(|run| run.finished_at);
        let last_success_at = match (previous.and_then(|p| p.last_success_at.get()), completed_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let window = &runs[..runs.len().min(WINDOW)];
        let interval = interval(window);
        let (seen, new) = count(window, previous.map(|p| &p.seen));
        let newest_finished = match runs.iter().position(Run::finished) {
            Some(k) => runs.swap_remove(k).into_finished(),
            None => None,
        };
        let record = RunRecord {
            read_for_last_run_at: last_run_at,
            read_at,
            newest_status,
            newest_finished,
            last_success_at: last_success_at.into(),
            interval: interval.into(),
            newest_started_at: newest_started_at.into(),
            data_end: data_end.into(),
            seen,
        };
        (record, new)
    }
}

/// The median gap between the start times of `runs`, once
/// [`RUNS_FOR_INTERVAL`] of them have one.
fn interval(runs: &[Run]) -> Option<f64> {
    let mut starts: Vec<f64> = runs
        .iter()
        .filter_map(|run| run.started_at.or(run.created_at))
        .collect();
    if starts.len() < RUNS_FOR_INTERVAL {
        return None;
    }
    starts.sort_by(f64::total_cmp);
    let mut gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let middle = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 {
        gaps[middle]
    } else {
        (gaps[middle - 1] + gaps[middle]) / 2.0
    })
}

/// Which finished runs of `window` (the newest runs read, newest first)
/// were not counted after the `previous` read (all of them without one),
/// by status; and what to remember for the next read.
fn count(window: &[Run], previous: Option<&Seen>) -> (Seen, NewFinished) {
    let mut new = NewFinished::default();
    let mut through = previous.and_then(|p| p.through.get());
    for run in window {
        let Some(status) = run.status.as_ref().filter(|s| s.is_finished()) else {
            continue;
        };
        let key = run.key.unwrap_or(f64::NEG_INFINITY);
        let first_seen = match previous {
            None => true,
            Some(seen) => {
                seen.through.get().is_none_or(|t| key > t)
                    || run
                        .id
                        .as_deref()
                        .is_some_and(|id| seen.unfinished.iter().any(|u| &**u == id))
            }
        };
        if first_seen {
            if let Some(k) = RunStatus::FINISHED
                .iter()
                .position(|s| *s == status.as_str())
            {
                new[k] += 1;
            }
        }
        through = Some(through.map_or(key, |t: f64| t.max(key)));
    }
    let unfinished = window
        .iter()
        .filter(|run| !run.finished())
        .filter_map(|run| run.id.as_deref().map(Box::from))
        .collect();
    (
        Seen {
            through: through.into(),
            unfinished,
        },
        new,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A run created at `t` seconds, started a second later, finished 90 s
    /// after that (unless in progress), with 10 successes, 1 error, 2 skipped.
    fn run(id: &str, status: &str, t: i64) -> serde_json::Value {
        let time = |s: i64| {
            time::OffsetDateTime::from_unix_timestamp(s)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let finished = !matches!(status.to_ascii_lowercase().as_str(), "pending" | "running");
        json!({
            "id": id, "status": status, "created_at": time(t), "run_started_at": time(t + 1),
            "run_finished_at": if finished { json!(time(t + 91)) } else { json!(null) },
            "num_successes": 10, "num_errors": 1, "num_skipped": 2,
        })
    }

    fn read(
        runs: Vec<serde_json::Value>,
        previous: Option<&RunRecord>,
    ) -> (RunRecord, NewFinished) {
        let runs = runs
            .into_iter()
            .map(|r| serde_json::from_value(r).unwrap())
            .collect();
        let mut warnings = FieldWarnings::default();
        RunRecord::read("t", Some(5.0), runs, previous, 1000.0, &mut warnings)
    }

    #[test]
    fn the_newest_run_is_the_latest_created_whatever_the_order() {
        let runs = vec![
            run("a", "COMPLETED", 1000),
            run("c", "failed", 3000),
            run("b", "Completed", 2000),
        ];
        let (record, _) = read(runs, None);
        assert_eq!(record.newest_status, Some(RunStatus::Failed));
        let finished = record.newest_finished.as_ref().unwrap();
        assert_eq!(finished.started_at.get(), Some(3001.0));
        assert_eq!(finished.duration(), Some(90.0));
        assert_eq!(record.last_success_at.get(), Some(2091.0));
        assert_eq!(finished.successes.get(), Some(10));
        assert_eq!(finished.finished_at.get(), Some(3091.0));
    }

    #[test]
    fn a_run_in_progress_is_the_newest_but_the_items_are_of_the_newest_finished() {
        let (record, _) = read(
            vec![run("a", "COMPLETED", 1000), run("b", "RUNNING", 2000)],
            None,
        );
        assert_eq!(record.newest_status, Some(RunStatus::Running));
        assert_eq!(
            record.newest_finished.as_ref().map(|r| &r.status),
            Some(&RunStatus::Completed)
        );
        assert!(record.due(Some(5.0)), "still running: read again");
        let (done, _) = read(vec![run("a", "COMPLETED", 1000)], None);
        assert!(!done.due(Some(5.0)) && done.due(Some(6.0)) && done.due(None));
    }

    #[test]
    fn the_interval_is_the_median_gap_known_from_three_runs() {
        let (two, _) = read(
            vec![run("a", "COMPLETED", 0), run("b", "COMPLETED", 300)],
            None,
        );
        assert_eq!(two.interval.get(), None);
        // Gaps 300, 300, 900 (one run missed): the median is 300.
        let runs = [0, 300, 600, 1500]
            .iter()
            .enumerate()
            .map(|(k, t)| run(&k.to_string(), "COMPLETED", *t))
            .collect();
        let (record, _) = read(runs, None);
        assert_eq!(record.interval.get(), Some(300.0));
        // Four gaps of 100, 200, 300, 400: the two middle ones averaged.
        let runs = [0, 100, 300, 600, 1000]
            .iter()
            .enumerate()
            .map(|(k, t)| run(&k.to_string(), "COMPLETED", *t))
            .collect();
        assert_eq!(read(runs, None).0.interval.get(), Some(250.0));
        // Only the newest twenty count: older runs 10 000 s apart are left out.
        let runs = (0..20)
            .map(|k| run(&format!("new{k}"), "COMPLETED", 1_000_000 + k * 60))
            .chain((0..20).map(|k| run(&format!("old{k}"), "COMPLETED", k * 10_000)))
            .collect();
        assert_eq!(read(runs, None).0.interval.get(), Some(60.0));
    }

    #[test]
    fn finished_runs_are_counted_once_and_a_run_that_finishes_later_too() {
        let (first, new) = read(
            vec![
                run("a", "COMPLETED", 1000),
                run("b", "FAILED", 2000),
                run("c", "RUNNING", 3000),
            ],
            None,
        );
        assert_eq!(new, [1, 1, 0]);
        // c finished, d is new and cancelled, a and b were counted.
        let (second, new) = read(
            vec![
                run("a", "COMPLETED", 1000),
                run("b", "FAILED", 2000),
                run("c", "COMPLETED", 3000),
                run("d", "CANCELLED", 4000),
            ],
            Some(&first),
        );
        assert_eq!(new, [1, 0, 1]);
        let (_, new) = read(
            vec![run("c", "COMPLETED", 3000), run("d", "CANCELLED", 4000)],
            Some(&second),
        );
        assert_eq!(new, [0, 0, 0]);
        // A run pending behind a newer finished one is still caught.
        let (third, new) = read(
            vec![run("p", "PENDING", 4500), run("e", "COMPLETED", 5000)],
            Some(&second),
        );
        assert_eq!(new, [1, 0, 0]);
        let (_, new) = read(
            vec![run("p", "FAILED", 4500), run("e", "COMPLETED", 5000)],
            Some(&third),
        );
        assert_eq!(new, [0, 1, 0]);
    }

    #[test]
    fn the_last_success_survives_reads_without_one_and_reasons_are_kept_short() {
        let (first, _) = read(vec![run("a", "COMPLETED", 1000)], None);
        let mut failed = run("b", "FAILED", 2000);
        failed["failure_reason"] = json!("é".repeat(2000));
        let (second, _) = read(vec![failed], Some(&first));
        assert_eq!(second.last_success_at.get(), Some(1091.0));
        let reason = second.newest_finished.unwrap().failure_reason.unwrap();
        assert!(reason.ends_with('…') && reason.len() <= MAX_REASON_BYTES + 3);
    }

    #[test]
    fn unusable_fields_cost_the_field_and_runs_without_a_time_are_left_out() {
        let mut odd = run("a", "DONE_ISH", 1000);
        odd["num_errors"] = json!("three");
        odd["run_finished_at"] = json!("later");
        let no_time = json!({"id": "z", "status": "FAILED"});
        let (record, new) = read(vec![odd, no_time, json!({})], None);
        assert_eq!(
            record.newest_status.as_ref().map(RunStatus::as_str),
            Some("done_ish")
        );
        assert_eq!(
            record.newest_finished, None,
            "an unknown status is not finished"
        );
        assert_eq!(new, [0, 0, 0]);
        let (empty, _) = read(vec![], None);
        assert_eq!(empty.newest_status, None);
    }
}
