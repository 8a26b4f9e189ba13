//! The per-task series text of one snapshot, in task order, in two buffers.
//!
//! The text format groups the series of a family, so a scrape walks every
//! task once per per-task family (17 times). When each task's text had its
//! own allocation, reached through its record, a walk over 100k tasks waited
//! on two cache misses per series (the record, then its text) and a plain
//! scrape took 3.5 times as long as copying its body. Here each walk reads
//! the rows and the text front to back, which the CPU prefetches, and never
//! touches a record. Everything a scrape needs of a task is in its row: the
//! text's parts and the few values computed at scrape time (the age and
//! the stale threshold).

use crate::text_format::SeriesParts;

use super::runs::{RunFixed, RunRecord};
use super::{Fixed, Mode, TaskRecord};

/// Where a task's text is, and what a scrape computes from.
#[derive(Clone, Copy, Debug, Default)]
struct Row {
    /// Start of the task's text in [`SeriesTable::text`].
    text: usize,
    /// Its label set, info labels and [`Fixed`] values; empty for a task
    /// without an id, which has no per-task series.
    task: SeriesParts<{ Fixed::COUNT }>,
    /// Start of the task's run text in [`SeriesTable::run_text`].
    run_text: usize,
    /// The `status="…"` label of its newest run and the [`RunFixed`]
    /// values; empty until its runs are read.
    run: SeriesParts<{ RunFixed::COUNT }>,
    /// `last_run_at`, Unix seconds: the age is computed from it.
    last_run_at: Option<f64>,
    /// The run interval in seconds, when known: the stale threshold is.
    interval: Option<f64>,
    continuous: bool,
    last_run_unreadable: bool,
}

/// The text of every per-task series of a snapshot that stays the same
/// until the next poll, one row per task in the snapshot's task order.
#[derive(Debug, Default)]
pub struct SeriesTable {
    /// Each task's label set, info labels and fixed values, in task order.
    text: String,
    /// Each task's run status label and run values, in task order.
    run_text: String,
    rows: Vec<Row>,
}

/// One task's series text and the values a scrape computes from.
#[derive(Clone, Copy)]
pub struct TaskSeries<'a> {
    row: &'a Row,
    text: &'a str,
    run_text: &'a str,
}

impl<'a> TaskSeries<'a> {
    /// `task_id="…",task_name="…",…` (escaped); empty for a task without an
    /// id, which has no per-task series.
    pub fn labels(&self) -> &'a str {
        self.row.task.labels(self.text)
    }

    /// The labels followed by `arize_task_info`'s own.
    pub fn info_labels(&self) -> &'a str {
        self.row.task.info_labels(self.text)
    }

    /// ` value\n` of a value fixed until the next poll; empty when absent.
    pub fn value(&self, which: Fixed) -> &'a str {
        self.row.task.value(self.text, which as usize)
    }

    /// `status="…"` of the newest run read; empty when unknown.
    pub fn run_status(&self) -> &'a str {
        self.row.run.labels(self.run_text)
    }

    /// ` value\n` of a run value; empty when absent or the runs were not read.
    pub fn run_value(&self, which: RunFixed) -> &'a str {
        self.row.run.value(self.run_text, which as usize)
    }

    /// `last_run_at`, Unix seconds; `None` if it never ran or was unreadable.
    pub fn last_run_at(&self) -> Option<f64> {
        self.row.last_run_at
    }

    /// The run interval in seconds, when known (see [`RunRecord::interval`]).
    pub fn run_interval(&self) -> Option<f64> {
        self.row.interval
    }

    /// Whether the task runs on incoming data ([`Mode::Continuous`]).
    pub fn continuous(&self) -> bool {
        self.row.continuous
    }

    /// Whether `last_run_at` was sent but unreadable.
    pub fn last_run_unreadable(&self) -> bool {
        self.row.last_run_unreadable
    }

    /// All of the task's own text (labels, info labels, fixed values).
    pub fn text(&self) -> &'a str {
        self.text.get(..self.row.task.len()).unwrap_or_default()
    }
}

impl SeriesTable {
    /// Tasks in the table (those of the snapshot).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no task.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The series of task `k` (in the snapshot's task order), if there is one.
    pub fn get(&self, k: usize) -> Option<TaskSeries<'_>> {
        let row = self.rows.get(k)?;
        Some(TaskSeries {
            row,
            text: self.text.get(row.text..).unwrap_or_default(),
            run_text: self.run_text.get(row.run_text..).unwrap_or_default(),
        })
    }

    /// Bytes the table holds (text and rows).
    pub fn bytes(&self) -> usize {
        self.text.capacity()
            + self.run_text.capacity()
            + self.rows.capacity() * std::mem::size_of::<Row>()
    }
}

/// Builds a [`SeriesTable`]: each task's text as its page is read, its run
/// text once the poll's runs are read.
#[derive(Debug, Default)]
pub struct SeriesTableBuilder {
    table: SeriesTable,
}

impl SeriesTableBuilder {
    /// Renders the next task's text: its label set (`task_id`, `task_name`,
    /// `task_type`, `mode` and, with space filters, `space`), the info
    /// labels (`project_id`, `dataset_id`, `created_by_user_id`) and the
    /// [`Fixed`] values (in their order); nothing for a task without an id.
    pub fn push_task(
        &mut self,
        labels: &[(&str, &str)],
        info: &[(&str, &str)],
        values: [Option<f64>; Fixed::COUNT],
    ) {
        let text = self.table.text.len();
        let task = if labels.is_empty() {
            SeriesParts::default()
        } else {
            SeriesParts::write(&mut self.table.text, labels, info, values)
        };
        self.table.rows.push(Row {
            text,
            task,
            ..Row::default()
        });
    }

    /// The text of the task pushed last (empty before the first): compared
    /// with its text in the last snapshot to tell whether it changed.
    pub fn last_text(&self) -> &str {
        let start = self.table.rows.last().map_or(0, |row| row.text);
        self.table.text.get(start..).unwrap_or_default()
    }

    /// The table, each row completed from the task's final record (in the
    /// same order as the texts were pushed): its run text is rendered and
    /// its scrape-time values are copied.
    pub fn finish(mut self, tasks: &[std::sync::Arc<TaskRecord>]) -> SeriesTable {
        let table = &mut self.table;
        for (row, task) in table.rows.iter_mut().zip(tasks) {
            row.last_run_at = task.last_run_at;
            row.interval = task.run_interval();
            row.continuous = task.mode == Mode::Continuous;
            row.last_run_unreadable = task.last_run_unknown();
            row.run_text = table.run_text.len();
            if let (false, Some(runs)) = (row.task.is_empty(), &task.runs) {
                row.run = write_runs(&mut table.run_text, runs);
            }
        }
        table.text.shrink_to_fit();
        table.run_text.shrink_to_fit();
        table.rows.shrink_to_fit();
        self.table
    }
}

/// Appends the run text of a task: the status of its newest run read and
/// the [`RunFixed`] values, from the newest finished run read.
pub(super) fn write_runs(out: &mut String, record: &RunRecord) -> SeriesParts<{ RunFixed::COUNT }> {
    let finished = record.newest_finished.as_ref();
    let count = |pick: fn(&super::FinishedRun) -> Option<u64>| {
        finished.and_then(pick).map(|n| n as f64)
    };
    let status = record.newest_status.as_ref().map(|s| s.as_str());
    let labels: &[(&str, &str)] = match &status {
        Some(status) => &[("status", status)],
        None => &[],
    };
    SeriesParts::write(
        out,
        labels,
        &[],
        [
            count(|r| r.successes),
            count(|r| r.errors),
            count(|r| r.skipped),
            finished.and_then(super::FinishedRun::duration),
            finished.and_then(|r| r.finished_at),
            record.last_success_at,
            record.interval,
        ],
    )
}
