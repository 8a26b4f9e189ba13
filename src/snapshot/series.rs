//! The per-task series text of one snapshot, in task order, in blocks.
//!
//! The text format groups the series of a family, so a scrape walks every
//! task once per per-task family (17 times). When each task's text had its
//! own allocation, reached through its record, a walk over 100k tasks waited
//! on two cache misses per series (the record, then its text) and a plain
//! scrape took 3.5 times as long as copying its body. Here each walk reads
//! the rows and the text front to back, which the CPU prefetches, and never
//! touches a record. Everything a scrape needs of a task is in its row (and
//! its run row): the text's parts and the values the age and the stale
//! threshold are computed from at scrape time.
//!
//! The text is cut in blocks of [`BLOCK_TASKS`] tasks. While a poll runs,
//! the last snapshot is still served; a block whose tasks are all the same,
//! at the same positions, as in the last snapshot is shared with it instead
//! of being held twice (a scrape straddling the swap may hold the one
//! before, too).

/// Tasks per block of text: about 280 KB of the generated tasks' text, so
/// that a poll that changes a few tasks copies a few blocks.
pub const BLOCK_TASKS: usize = 1024;

use crate::text_format::SeriesParts;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::runs::{RunFixed, RunRecord};
use super::{last_run_stale, zero_per_known_type, Fixed, Mode, TaskRecord, KNOWN_TASK_TYPES};
use crate::snapshot::Staleness;

/// Where a task's text is, and what a scrape computes from: 64 bytes, so
/// that a walk over 100k rows for a family whose series most tasks lack
/// reads little more than the rows.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Start of the task's text in its block of [`SeriesTable::blocks`].
    text: usize,
    /// Its label set, info labels and [`Fixed`] values; empty for a task
    /// without an id, which has no per-task series.
    task: SeriesParts<{ Fixed::COUNT }>,
    /// `last_run_at`, Unix seconds (NaN: none): the age is computed from it.
    last_run_at: f64,
    /// The run interval in seconds (NaN: unknown): the stale threshold is
    /// computed from it.
    interval: f64,
    /// Index of the task's `task_type` in [`SeriesTable::task_types`].
    task_type: u32,
    continuous: bool,
    last_run_unreadable: bool,
}

/// Where a task's run text is.
#[derive(Clone, Copy, Debug, Default)]
struct RunRow {
    /// Start of the task's run text in [`SeriesTable::run_text`].
    text: usize,
    /// The `status="…"` label of its newest run and the [`RunFixed`]
    /// values; empty until its runs are read.
    parts: SeriesParts<{ RunFixed::COUNT }>,
}

/// The text of every per-task series of a snapshot that stays the same
/// until the next poll, one row per task in the snapshot's task order.
#[derive(Debug, Default)]
pub struct SeriesTable {
    /// Each task's label set, info labels and fixed values, in task order:
    /// block `b` holds tasks `b * BLOCK_TASKS` to `(b + 1) * BLOCK_TASKS`.
    blocks: Vec<Arc<str>>,
    rows: Vec<Row>,
    /// Each task's run status label and run values, in task order.
    run_text: String,
    /// One per row; empty when no task has run text.
    run_rows: Vec<RunRow>,
    /// The task types of the rows (few), the known ones first.
    task_types: Vec<Arc<str>>,
    /// Tasks whose `last_run_at` was unreadable.
    unreadable: usize,
}

/// One task's series text and the values a scrape computes from. The
/// `has_` methods read only the task's row, not its text: a family most
/// tasks have no series in costs a scrape little more than the rows.
#[derive(Clone, Copy)]
pub struct TaskSeries<'a> {
    row: &'a Row,
    /// `None` when no task of the table has run text.
    run: Option<&'a RunRow>,
    block: &'a str,
    table: &'a SeriesTable,
}

impl<'a> TaskSeries<'a> {
    /// The block from the task's text on (its parts end where they say).
    fn text(&self) -> &'a str {
        self.block.get(self.row.text..).unwrap_or_default()
    }

    fn run_parts(&self) -> SeriesParts<{ RunFixed::COUNT }> {
        self.run.map(|run| run.parts).unwrap_or_default()
    }

    fn run_text(&self) -> &'a str {
        let Some(run) = self.run else {
            return "";
        };
        self.table.run_text.get(run.text..).unwrap_or_default()
    }

    /// Whether the task has per-task series (it has an id).
    pub fn has_series(&self) -> bool {
        !self.row.task.is_empty()
    }

    /// `task_id="…",task_name="…",…` (escaped); empty for a task without an
    /// id, which has no per-task series.
    pub fn labels(&self) -> &'a str {
        self.row.task.labels(self.text())
    }

    /// The labels followed by `arize_task_info`'s own.
    pub fn info_labels(&self) -> &'a str {
        self.row.task.info_labels(self.text())
    }

    /// Whether a value fixed until the next poll is present.
    pub fn has_value(&self, which: Fixed) -> bool {
        self.row.task.has_value(which as usize)
    }

    /// ` value\n` of a value fixed until the next poll; empty when absent.
    pub fn value(&self, which: Fixed) -> &'a str {
        self.row.task.value(self.text(), which as usize)
    }

    /// Whether the status of the newest run read is known.
    pub fn has_run_status(&self) -> bool {
        self.run_parts().has_labels()
    }

    /// `status="…"` of the newest run read; empty when unknown.
    pub fn run_status(&self) -> &'a str {
        self.run_parts().labels(self.run_text())
    }

    /// Whether a run value is present.
    pub fn has_run_value(&self, which: RunFixed) -> bool {
        self.run_parts().has_value(which as usize)
    }

    /// ` value\n` of a run value; empty when absent or the runs were not read.
    pub fn run_value(&self, which: RunFixed) -> &'a str {
        self.run_parts().value(self.run_text(), which as usize)
    }

    /// `last_run_at`, Unix seconds; `None` if it never ran or was unreadable.
    pub fn last_run_at(&self) -> Option<f64> {
        let t = self.row.last_run_at;
        (!t.is_nan()).then_some(t)
    }

    /// The run interval in seconds, when known (see [`RunRecord::interval`]).
    pub fn run_interval(&self) -> Option<f64> {
        let t = self.row.interval;
        (!t.is_nan()).then_some(t)
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
    pub fn own_text(&self) -> &'a str {
        self.text().get(..self.row.task.len()).unwrap_or_default()
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
        Some(TaskSeries {
            row: self.rows.get(k)?,
            run: self.run_rows.get(k),
            block: self.blocks.get(k / BLOCK_TASKS).map_or("", |b| b),
            table: self,
        })
    }

    /// The series of every task, in order.
    pub fn iter(&self) -> impl Iterator<Item = TaskSeries<'_>> {
        (0..self.rows.len()).filter_map(|k| self.get(k))
    }

    /// Whether any task has run text: without, a scrape skips the run
    /// families' rows.
    pub fn has_run_text(&self) -> bool {
        !self.run_text.is_empty()
    }

    /// Whether any task's `last_run_at` was unreadable: without, a scrape
    /// skips the rows of `arize_task_last_run_unreadable`.
    pub fn has_unreadable(&self) -> bool {
        self.unreadable > 0
    }

    /// The stale continuous tasks per `task_type` at `now` (Unix seconds):
    /// those that never ran, or whose last run is older than their stale
    /// threshold. Every known type, and every type with a continuous task.
    pub fn stale_counts(&self, now: f64, staleness: &Staleness) -> BTreeMap<&str, u64> {
        let mut per_type: Vec<Option<u64>> = vec![None; self.task_types.len()];
        for series in self.iter().filter(TaskSeries::continuous) {
            let stale = last_run_stale(
                series.last_run_at(),
                series.last_run_unreadable(),
                series.run_interval(),
                now,
                staleness,
            );
            if let Some(count) = per_type.get_mut(series.row.task_type as usize) {
                *count.get_or_insert(0) += u64::from(stale);
            }
        }
        let mut counts: BTreeMap<&str, u64> = zero_per_known_type();
        for (task_type, count) in self.task_types.iter().zip(per_type) {
            if let Some(count) = count {
                *counts.entry(task_type).or_default() += count;
            }
        }
        counts
    }

    /// The blocks of text (see [`BLOCK_TASKS`]).
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> &[Arc<str>] {
        &self.blocks
    }
}

/// Builds a [`SeriesTable`]: each task's text as its page is read, its run
/// text once the poll's runs are read.
#[derive(Debug)]
pub struct SeriesTableBuilder {
    table: SeriesTable,
    /// Where each type is in the table's `task_types`.
    type_index: HashMap<Arc<str>, u32>,
    /// The text of the block being filled.
    block: String,
    /// Whether every task of that block so far has the same text, at the
    /// same position, as in the last snapshot.
    block_unchanged: bool,
}

impl Default for SeriesTableBuilder {
    fn default() -> Self {
        let task_types: Vec<Arc<str>> = KNOWN_TASK_TYPES.iter().map(|&t| t.into()).collect();
        SeriesTableBuilder {
            type_index: task_types.iter().cloned().zip(0..).collect(),
            table: SeriesTable {
                task_types,
                ..SeriesTable::default()
            },
            block: String::new(),
            block_unchanged: true,
        }
    }
}

impl SeriesTableBuilder {
    /// The one shared copy of `task_type` (lower case) in this poll, for the
    /// records, and its index among the table's types, for
    /// [`push_task`](Self::push_task); added if new.
    pub fn task_type(&mut self, task_type: String) -> (Arc<str>, u32) {
        if let Some((shared, &at)) = self.type_index.get_key_value(task_type.as_str()) {
            return (shared.clone(), at);
        }
        // Fewer types than tasks, and fewer tasks than 2^32 in any snapshot
        // that fits in memory.
        let at = self.table.task_types.len() as u32;
        let shared: Arc<str> = task_type.into();
        self.table.task_types.push(shared.clone());
        self.type_index.insert(shared.clone(), at);
        (shared, at)
    }

    /// Renders the next task's text (its type's index from
    /// [`task_type`](Self::task_type)): its label set (`task_id`, `task_name`,
    /// `task_type`, `mode` and, with space filters, `space`), the info
    /// labels (`project_id`, `dataset_id`, `created_by_user_id`) and the
    /// [`Fixed`] values (in their order); nothing for a task without an id.
    /// [`task_done`](Self::task_done) must follow.
    pub fn push_task(
        &mut self,
        task_type: u32,
        labels: &[(&str, &str)],
        info: &[(&str, &str)],
        values: [Option<f64>; Fixed::COUNT],
    ) {
        let text = self.block.len();
        let task = if labels.is_empty() {
            SeriesParts::default()
        } else {
            SeriesParts::write(&mut self.block, labels, info, values)
        };
        self.table.rows.push(Row {
            text,
            task,
            last_run_at: f64::NAN,
            interval: f64::NAN,
            task_type,
            continuous: false,
            last_run_unreadable: false,
        });
    }

    /// The text of the task pushed last (empty before the first): compared
    /// with its text in the last snapshot to tell whether it changed.
    pub fn last_text(&self) -> &str {
        let row = self.table.rows.last();
        let (start, len) = row.map_or((0, 0), |row| (row.text, row.task.len()));
        self.block.get(start..start + len).unwrap_or_default()
    }

    /// Ends the task pushed last: `unchanged_in_place` says that its text
    /// is the one of the task at the same position in `previous` (the
    /// table of the last snapshot). A full block is closed: shared with
    /// `previous` when all its tasks are, copied out of the scratch buffer
    /// otherwise.
    pub fn task_done(&mut self, unchanged_in_place: bool, previous: Option<&SeriesTable>) {
        self.block_unchanged &= unchanged_in_place;
        if self.table.rows.len() % BLOCK_TASKS == 0 {
            self.close_block(previous);
        }
    }

    fn close_block(&mut self, previous: Option<&SeriesTable>) {
        let at = self.table.blocks.len();
        // Same texts at the same positions: the same bytes, if the block of
        // the last snapshot ends where this one does.
        let shared = previous
            .and_then(|p| p.blocks.get(at))
            .filter(|b| self.block_unchanged && b.len() == self.block.len());
        let block = match shared {
            Some(block) => block.clone(),
            None => Arc::from(self.block.as_str()),
        };
        self.table.blocks.push(block);
        self.block.clear();
        self.block_unchanged = true;
    }

    /// The table, each row completed from the task's final record (in the
    /// same order as the texts were pushed): its run text is rendered and
    /// its scrape-time values are copied.
    pub fn finish(
        mut self,
        tasks: &[Arc<TaskRecord>],
        previous: Option<&SeriesTable>,
    ) -> SeriesTable {
        if self.table.rows.len() % BLOCK_TASKS != 0 {
            self.close_block(previous);
        }
        let table = &mut self.table;
        table.run_rows.reserve_exact(table.rows.len());
        for (row, task) in table.rows.iter_mut().zip(tasks) {
            row.last_run_at = task.last_run_at.unwrap_or(f64::NAN);
            row.interval = task.run_interval().unwrap_or(f64::NAN);
            row.continuous = task.mode == Mode::Continuous;
            row.last_run_unreadable = task.last_run_unknown();
            table.unreadable += usize::from(row.last_run_unreadable);
            let mut run = RunRow {
                text: table.run_text.len(),
                ..RunRow::default()
            };
            if let (false, Some(runs)) = (row.task.is_empty(), &task.runs) {
                run.parts = write_runs(&mut table.run_text, runs);
            }
            table.run_rows.push(run);
        }
        if table.run_text.is_empty() {
            table.run_rows = Vec::new();
        }
        table.run_text.shrink_to_fit();
        table.rows.shrink_to_fit();
        self.table
    }
}

/// Appends the run text of a task: the status of its newest run read and
/// the [`RunFixed`] values, from the newest finished run read.
pub(super) fn write_runs(out: &mut String, record: &RunRecord) -> SeriesParts<{ RunFixed::COUNT }> {
    let finished = record.newest_finished.as_ref();
    let count =
        |pick: fn(&super::FinishedRun) -> Option<u64>| finished.and_then(pick).map(|n| n as f64);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_fits_in_a_cache_line() {
        assert!(std::mem::size_of::<Row>() <= 64);
    }
}
