//! The exposition's own store: every per-task series of one snapshot as
//! text, rendered once when the snapshot is published, and the gzip
//! segments the scrapes of that snapshot compress once and share.
//!
//! The text format groups the series of a family, so a scrape walks every
//! task once per per-task family (20 times). When each task's text had its
//! own allocation, reached through its record, a walk over 100k tasks waited
//! on two cache misses per series (the record, then its text) and a plain
//! scrape took 3.5 times as long as copying its body. Here each walk reads
//! the rows and the text front to back, which the CPU prefetches, and never
//! touches a record. Everything a scrape needs of a task is in its row (and
//! its run row): the text's parts and the values the scrape-time families
//! ([`Value::AtScrape`]) are computed from.
//!
//! A task's text is in five parts ([`Text`]): what every family's walk
//! reads (the label set, and apart from it the task values, which change
//! with each run while the labels seldom do), and apart from those what one
//! family or the run families read (info labels, evaluators, runs), the
//! info labels and evaluators as label values without their fixed names. Each part is cut in
//! blocks of [`BLOCK_TASKS`] tasks. While a poll runs, the last store is
//! still served; a block whose text is the same, byte for byte, as the block of
//! the same part at the same place in the last store is shared with it
//! instead of being held twice (a scrape straddling the swap may hold the
//! one before, too). What is rendered comes from [`FAMILIES`],
//! [`TASK_LABELS`] and [`INFO_LABELS`]; nothing here names a family.
//!
//! A family the [`FamilyFilter`] does not serve has no text here: its
//! values and labels are not written (no label set at all when no
//! per-task family is served), and it counts no series.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use bytes::Bytes;

use super::families::{
    Labels, ScrapeInput, Value, EVALUATOR_LABELS, FAMILIES, FREE_TEXT_LABELS, INFO_LABELS,
    RUN_VALUES, SLOTS, TASK_LABELS, TASK_VALUES,
};
use super::filter::FamilyFilter;
use crate::snapshot::Staleness;
use crate::snapshot::{
    last_run_stale, zero_per_known_type, RunRecord, TaskRecord, TaskSnapshot, TroubleTimes,
    KNOWN_TASK_TYPES,
};
use crate::text_format::{self as text, SeriesParts};

/// What shapes the text a store keeps.
#[derive(Clone, Copy, Debug)]
pub struct StoreSettings {
    /// The families served (`--metric-allowlist`, `--metric-denylist`).
    pub families: FamilyFilter,
    /// Characters a free-text label value may have
    /// (`--max-label-value-length`, see [`FREE_TEXT_LABELS`]); 0: no limit.
    pub max_label_value_length: usize,
    /// When a task is stale, which also decides when its run is stuck and
    /// when it is lagging (`arize_tasks_stuck`, `arize_tasks_lagging`).
    pub staleness: Staleness,
}

impl Default for StoreSettings {
    /// Every family, and the flags' defaults (200 characters; stale after
    /// 1 h, or 3 intervals and at least 10 min).
    fn default() -> Self {
        StoreSettings {
            families: FamilyFilter::default(),
            max_label_value_length: 200,
            staleness: Staleness {
                after: std::time::Duration::from_secs(3600),
                after_intervals: 3,
                min: std::time::Duration::from_secs(600),
            },
        }
    }
}

/// Tasks per block of text: about 280 KB of the generated tasks' text, so
/// that a poll that changes a few tasks copies a few blocks.
pub const BLOCK_TASKS: usize = 1024;

/// Where a task's text is, and what a scrape computes from: 64 bytes, so
/// that a walk over 100k rows for a family whose series most tasks lack
/// reads little more than the rows.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Start of the task's label set in its block of [`Text::Labels`]
    /// (a block is far below 4 GiB).
    labels: u32,
    /// Start of the task's values in its block of [`Text::Values`].
    values: u32,
    /// End of the task's [`Value::PerEvaluator`] series (rendered whole)
    /// in its block of [`Text::Evaluators`]; they start where
    /// the row before ends (0 at a block's start).
    evaluators_end: u32,
    /// End of the task's info labels (see [`INFO_LABELS`]) in its block of
    /// [`Text::Info`], as `evaluators_end`.
    info_end: u32,
    /// Its label set and [`Value::Task`] values, apart; empty for a task
    /// without an id, which has no per-task series.
    task: SeriesParts<TASK_VALUES>,
    /// What the scrape-time values and the stale counts are computed from,
    /// with the index of the task's type in [`SeriesStore::task_types`].
    input: ScrapeInput,
}

/// Where a task's run text is.
#[derive(Clone, Copy, Debug, Default)]
struct RunRow {
    /// Start of the task's run text in its block of [`Text::Runs`] (as
    /// [`Row::labels`]).
    text: u32,
    /// The `status="…"` label of its newest run and the [`Value::Run`]
    /// values; empty until its runs are read.
    parts: SeriesParts<RUN_VALUES>,
}

/// The text of every per-task series of one snapshot that stays the same
/// until the next poll, one row per task in the snapshot's task order, and
/// the gzip segments kept for it.
#[derive(Debug, Default)]
pub struct SeriesStore {
    /// Each [`Text`] of the tasks, in task order, in blocks: block `b`
    /// holds tasks `b * BLOCK_TASKS` to `(b + 1) * BLOCK_TASKS`, one text
    /// per [`Text`] (so that a task's are found with one lookup).
    blocks: Vec<[Arc<str>; TEXTS]>,
    rows: Vec<Row>,
    /// One per row up to the last task with run text; empty when none has.
    run_rows: Vec<RunRow>,
    /// The task types of the rows (few), the known ones first.
    task_types: Vec<Arc<str>>,
    /// Per task type (as [`SeriesStore::task_types`]), when its tasks'
    /// runs are stuck and when they lag; empty without task runs.
    trouble: Vec<TroubleTimes>,
    /// Per family of [`FAMILIES`], how many tasks have a series: a scrape
    /// skips the rows of a family none has.
    series: [usize; FAMILIES.len()],
    /// The name families' text (see [`super::names`]), rendered once and
    /// handed to each scrape without a copy.
    names_text: Bytes,
    /// The compressed segments of what stays the same until the next poll
    /// (the families of [`super::families::Family::fixed_per_poll`] and
    /// the name families, see [`NAMES_SEGMENT`]), compressed by the first
    /// gzip scrape and copied by the later ones.
    pub segments: KeptSegments,
}

/// What goes before each info label value written back: `,project_id="`,
/// `",dataset_id="`, … (see [`text::label_separators`]).
static INFO_SEPARATORS: LazyLock<Vec<String>> =
    LazyLock::new(|| text::label_separators(&INFO_LABELS.map(|(name, _)| name), false));

/// What goes before each evaluator label value: `task_id="`,
/// `",evaluator_id="`, ….
static EVALUATOR_SEPARATORS: LazyLock<Vec<String>> =
    LazyLock::new(|| text::label_separators(&EVALUATOR_LABELS, true));

/// The texts a store keeps per task, each in blocks of [`BLOCK_TASKS`]
/// tasks shared with the last store while unchanged.
#[derive(Clone, Copy, Debug)]
enum Text {
    /// The label set. Every per-task family's walk reads this text, so it
    /// holds nothing that only one family needs: the walks stream half the
    /// bytes they would with the info labels in between (a scrape of 100k
    /// tasks is bound by the memory it reads).
    Labels,
    /// The task values; apart from the labels because a continuous task's
    /// values change with each run and its labels seldom: a poll then
    /// builds new blocks of values only, and shares the labels'.
    Values,
    /// The info labels' values; only `arize_task_info` reads them.
    Info,
    /// The evaluators' label values; only `arize_task_evaluator_info`.
    Evaluators,
    /// The newest run's status label and the run values; apart because
    /// most polls re-read few tasks' runs, so most of its blocks are
    /// shared while other texts change, and the other way round.
    Runs,
}

/// How many [`Text`]s there are.
const TEXTS: usize = 5;

/// One task's series text and the values a scrape computes from. The
/// `has_` methods read only the task's rows, not its text: a family most
/// tasks have no series in costs a scrape little more than the rows.
#[derive(Clone, Copy)]
pub struct TaskSeries<'a> {
    row: &'a Row,
    /// The row before in the same block (where the info labels and the
    /// evaluator text start).
    before: Option<&'a Row>,
    /// The texts of the task's block, one per [`Text`].
    blocks: Option<&'a [Arc<str>; TEXTS]>,
    /// `None` when no task of the store has run text.
    run: Option<&'a RunRow>,
}

impl<'a> TaskSeries<'a> {
    /// The task's block of `text`.
    fn block(&self, text: Text) -> &'a str {
        self.blocks
            .and_then(|blocks| blocks.get(text as usize))
            .map_or("", |block| block)
    }

    /// The block of [`Text::Labels`] from the task's labels on: its parts
    /// end where they say (slicing to where the text ends on every read
    /// slowed every family's walk).
    fn labels_text(&self) -> &'a str {
        self.block(Text::Labels)
            .get(self.row.labels as usize..)
            .unwrap_or_default()
    }

    /// The block of [`Text::Values`] from the task's values on.
    fn values_text(&self) -> &'a str {
        self.block(Text::Values)
            .get(self.row.values as usize..)
            .unwrap_or_default()
    }

    fn run_parts(&self) -> SeriesParts<RUN_VALUES> {
        self.run.map(|run| run.parts).unwrap_or_default()
    }

    fn run_text(&self) -> &'a str {
        let Some(run) = self.run else {
            return "";
        };
        self.block(Text::Runs)
            .get(run.text as usize..)
            .unwrap_or_default()
    }

    /// Whether the task has per-task series (it has an id).
    pub fn has_series(&self) -> bool {
        !self.row.task.is_empty()
    }

    /// `task_id="…",task_name="…",…` (escaped); empty for a task without an
    /// id, which has no per-task series.
    pub fn labels(&self) -> &'a str {
        self.row.task.labels(self.labels_text())
    }

    /// The escaped values of the task's info labels (see [`INFO_LABELS`]),
    /// as [`text::label_value`] wrote them; empty when `arize_task_info` is
    /// not served.
    fn info_values(&self) -> &'a str {
        let start = self.before.map_or(0, |row| row.info_end) as usize;
        self.block(Text::Info)
            .get(start..self.row.info_end as usize)
            .unwrap_or_default()
    }

    /// Appends `,project_id="…",…`: the info labels (see [`INFO_LABELS`]),
    /// each with its leading comma, that follow the labels in
    /// `arize_task_info`; nothing when that family is not served.
    pub fn write_info_labels(&self, out: &mut String) {
        let values = self.info_values();
        if values.is_empty() {
            return;
        }
        for (separator, value) in INFO_SEPARATORS.iter().zip(text::label_values(values)) {
            out.push_str(separator);
            out.push_str(value);
        }
        out.push('"');
    }

    /// Whether task value `slot` (see [`SLOTS`]) is present.
    pub fn has_value(&self, slot: usize) -> bool {
        self.row.task.has_value(slot)
    }

    /// ` value\n` of task value `slot`; empty when absent.
    pub fn value(&self, slot: usize) -> &'a str {
        self.row.task.value(self.values_text(), slot)
    }

    /// `status="…"` of the newest run read; empty when unknown.
    pub fn run_status(&self) -> &'a str {
        self.run_parts().labels(self.run_text())
    }

    /// Whether run value `slot` is present.
    pub fn has_run_value(&self, slot: usize) -> bool {
        self.run_parts().has_value(slot)
    }

    /// ` value\n` of run value `slot`; empty when absent or the runs were
    /// not read.
    pub fn run_value(&self, slot: usize) -> &'a str {
        let parts = self.run_parts();
        parts.value(parts.values_of(self.run_text()), slot)
    }

    /// What the scrape-time values are computed from.
    pub fn input(&self) -> &'a ScrapeInput {
        &self.row.input
    }

    /// The task's label set and its task values' text (not its info
    /// labels).
    pub fn own_text(&self) -> (&'a str, &'a str) {
        let parts = &self.row.task;
        (
            parts.labels(self.labels_text()),
            self.values_text()
                .get(..parts.values_len())
                .unwrap_or_default(),
        )
    }

    /// The escaped task id, then the id, name and `pinned` of each of the
    /// task's evaluators, as [`text::label_value`] wrote them; empty when
    /// it has none or `arize_task_evaluator_info` is not served.
    fn evaluator_values(&self) -> &'a str {
        let start = self.before.map_or(0, |row| row.evaluators_end) as usize;
        self.block(Text::Evaluators)
            .get(start..self.row.evaluators_end as usize)
            .unwrap_or_default()
    }

    /// Whether the task has `arize_task_evaluator_info` series.
    pub fn has_evaluators(&self) -> bool {
        !self.evaluator_values().is_empty()
    }

    /// Appends the task's series of family `name`, one line per evaluator
    /// with [`EVALUATOR_LABELS`] and the value 1.
    pub fn write_evaluator_series(&self, out: &mut String, name: &str) {
        let mut values = text::label_values(self.evaluator_values());
        let Some(task_id) = values.next() else {
            return;
        };
        while let (Some(id), Some(evaluator_name), Some(pinned)) =
            (values.next(), values.next(), values.next())
        {
            out.push_str(name);
            out.push('{');
            for (separator, value) in
                EVALUATOR_SEPARATORS
                    .iter()
                    .zip([task_id, id, evaluator_name, pinned])
            {
                out.push_str(separator);
                out.push_str(value);
            }
            out.push_str("\"} 1\n");
        }
    }
}

impl SeriesStore {
    /// The store of `snapshot` for the families `families` serves, sharing
    /// with `previous` (the store of the snapshot still served, built with
    /// the same filter) every block whose text is unchanged.
    pub fn build(
        snapshot: &TaskSnapshot,
        previous: Option<&SeriesStore>,
        settings: &StoreSettings,
    ) -> SeriesStore {
        let families = &settings.families;
        let max_label = settings.max_label_value_length;
        let cut = |name: &str, value: &'_ str| -> bool {
            max_label > 0 && value.len() > max_label && FREE_TEXT_LABELS.contains(&name)
        };
        let tasks = &snapshot.tasks;
        let mut store = SeriesStore {
            task_types: KNOWN_TASK_TYPES.iter().map(|&t| t.into()).collect(),
            ..SeriesStore::default()
        };
        let mut type_index: HashMap<&str, u32> =
            KNOWN_TASK_TYPES.iter().copied().zip(0..).collect();
        store.rows.reserve_exact(tasks.len());
        // The scratch text of each block, as long as the last store's first.
        let mut scratch: [String; TEXTS] = std::array::from_fn(|text| {
            String::with_capacity(
                previous
                    .and_then(|p| p.blocks.first()?.get(text))
                    .map_or(0, |b| b.len()),
            )
        });
        let any_family = families.any_per_task();
        let wants = |labels: Labels| {
            FAMILIES
                .iter()
                .enumerate()
                .any(|(k, f)| f.labels == labels && families.per_task(k))
        };
        let (info_served, status_served) = (wants(Labels::Info), wants(Labels::RunStatus));
        let evaluators_served = wants(Labels::Evaluator);
        let runs_served = FAMILIES
            .iter()
            .enumerate()
            .any(|(k, f)| matches!(f.value, Value::Run(_)) && families.per_task(k));
        // Run rows up to the last task with run text (56 bytes a task that
        // a store without runs would hold for nothing while it builds); a
        // task past them has none.
        let mut run_rows: Vec<RunRow> = Vec::new();
        for task in tasks {
            let task_type = match type_index.get(&*task.task_type) {
                Some(&at) => at,
                None => {
                    // Fewer types than tasks, and fewer tasks than 2^32 in
                    // any snapshot that fits in memory.
                    let at = store.task_types.len() as u32;
                    store.task_types.push(task.task_type.clone());
                    type_index.insert(&task.task_type, at);
                    at
                }
            };
            if snapshot.task_runs {
                store
                    .trouble
                    .resize_with(store.task_types.len(), TroubleTimes::default);
                if let Some(times) = store.trouble.get_mut(task_type as usize) {
                    times.add(task, &settings.staleness);
                }
            }
            let [labels_block, values_block, info_block, evaluator_block, run_block] = &mut scratch;
            let mut row = Row {
                // A block holds BLOCK_TASKS tasks' text, far below 4 GiB;
                // past it, an offset saturates and its slice reads as empty
                // rather than another task's text.
                labels: u32::try_from(labels_block.len()).unwrap_or(u32::MAX),
                values: u32::try_from(values_block.len()).unwrap_or(u32::MAX),
                evaluators_end: 0,
                info_end: 0,
                task: SeriesParts::default(),
                input: ScrapeInput::of(task, task_type),
            };
            let mut run = RunRow {
                text: u32::try_from(run_block.len()).unwrap_or(u32::MAX),
                ..RunRow::default()
            };
            if task.id.is_some() && any_family {
                let place = snapshot
                    .names
                    .place(task.project_id.as_deref(), task.dataset_id.as_deref());
                // Free text longer than the limit is written from a cut
                // copy (no copy at all for the usual short names).
                let mut cut_copies: [Option<String>; TASK_LABELS.len() + INFO_LABELS.len()] =
                    Default::default();
                let mut labels = [("", ""); TASK_LABELS.len()];
                let mut n = 0;
                for (name, value) in &TASK_LABELS {
                    if let (Some(value), Some(slot)) = (value(task), labels.get_mut(n)) {
                        *slot = (*name, value);
                        n += 1;
                    }
                }
                let mut info = INFO_LABELS.map(|(name, value)| (name, value(task, &place)));
                for (copy, (name, value)) in
                    cut_copies.iter_mut().zip(labels[..n].iter().chain(&info))
                {
                    if cut(name, value) {
                        *copy = Some(text::cut(value, max_label).into_owned());
                    }
                }
                let (task_cuts, info_cuts) = cut_copies.split_at(n);
                for (label, copy) in labels
                    .iter_mut()
                    .zip(task_cuts)
                    .chain(info.iter_mut().zip(info_cuts))
                {
                    if let Some(copy) = copy {
                        label.1 = copy;
                    }
                }
                row.task = SeriesParts::write_apart(
                    labels_block,
                    values_block,
                    &labels[..n],
                    task_values(task, families),
                );
                if info_served {
                    for (_, value) in info {
                        text::label_value(info_block, value);
                    }
                }
                if let (Some(evaluators), true) = (&task.evaluator_list, evaluators_served) {
                    write_evaluators(evaluator_block, task, evaluators, max_label);
                }
                if let (Some(runs), true) = (&task.runs, runs_served) {
                    run.parts = write_runs(run_block, runs, families, status_served);
                }
            }
            // As `text`: saturating, never wrapping.
            row.info_end = u32::try_from(info_block.len()).unwrap_or(u32::MAX);
            row.evaluators_end = u32::try_from(evaluator_block.len()).unwrap_or(u32::MAX);
            if !run.parts.is_empty() {
                if run_rows.is_empty() {
                    run_rows.reserve_exact(tasks.len());
                }
                run_rows.resize(store.rows.len(), RunRow::default());
                run_rows.push(run);
            }
            store.rows.push(row);
            if store.rows.len() % BLOCK_TASKS == 0 {
                store.close_block(&mut scratch, previous);
            }
        }
        if store.rows.len() % BLOCK_TASKS != 0 {
            store.close_block(&mut scratch, previous);
        }
        store.run_rows = run_rows;
        store.trouble.iter_mut().for_each(TroubleTimes::sort);
        let mut series = [0; FAMILIES.len()];
        for (k, count) in series.iter_mut().enumerate() {
            if families.per_task(k) {
                *count = store.tasks().filter(|s| s.has(k)).count();
            }
        }
        store.series = series;
        let mut names_text = String::new();
        super::names::render(&mut names_text, &snapshot.names, families, max_label);
        // Bytes from a Vec keeps all of its capacity until the next poll.
        names_text.shrink_to_fit();
        store.names_text = Bytes::from(names_text);
        store
    }

    /// Ends the blocks being filled, one per [`Text`]: for each, the last
    /// store's block at the same place when it holds the same text, else a
    /// copy of the scratch text.
    fn close_block(&mut self, scratch: &mut [String; TEXTS], previous: Option<&SeriesStore>) {
        let at = self.blocks.len();
        let old = previous.and_then(|p| p.blocks.get(at));
        self.blocks.push(std::array::from_fn(|k| {
            let text = &scratch[k];
            let shared = old
                .and_then(|old| old.get(k))
                .filter(|old| old.as_bytes() == text.as_bytes());
            match shared {
                Some(old) => old.clone(),
                None => Arc::from(text.as_str()),
            }
        }));
        scratch.iter_mut().for_each(String::clear);
    }

    /// Tasks in the store (those of the snapshot).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the store has no task.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The series of task `k` (in the snapshot's task order), if there is one.
    pub fn get(&self, k: usize) -> Option<TaskSeries<'_>> {
        Some(TaskSeries {
            row: self.rows.get(k)?,
            before: (k % BLOCK_TASKS != 0)
                .then(|| self.rows.get(k.wrapping_sub(1)))
                .flatten(),
            blocks: self.blocks.get(k / BLOCK_TASKS),
            run: self.run_rows.get(k),
        })
    }

    /// The series of every task, in order.
    pub fn tasks(&self) -> impl Iterator<Item = TaskSeries<'_>> {
        (0..self.rows.len()).filter_map(|k| self.get(k))
    }

    /// How many tasks have a series in family `family` (an index of
    /// [`FAMILIES`]).
    pub fn series_in(&self, family: usize) -> usize {
        self.series.get(family).copied().unwrap_or(0)
    }

    /// The stale continuous tasks per `task_type` at `now` (Unix seconds),
    /// counted from the rows: the same rule as
    /// [`TaskRecord::is_stale`]. Every known type, and every type with a
    /// continuous task.
    pub fn stale_counts(&self, now: f64, staleness: &Staleness) -> BTreeMap<&str, u64> {
        let mut per_type: Vec<Option<u64>> = vec![None; self.task_types.len()];
        for row in self.rows.iter().filter(|row| row.input.continuous()) {
            let input = &row.input;
            let stale = last_run_stale(
                input.last_run_at(),
                input.last_run_unreadable(),
                input.run_interval(),
                now,
                staleness,
            );
            if let Some(count) = per_type.get_mut(input.task_type() as usize) {
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

    /// The tasks whose run is stuck, and the tasks lagging, at `now` (Unix
    /// seconds) per `task_type`: every known type, and every type with a
    /// task. Judged as [`TaskRecord::run_stuck`] and
    /// [`TaskRecord::evaluation_lagging`] do, with the store's staleness.
    pub fn trouble_counts(&self, now: f64) -> [BTreeMap<&str, u64>; 2] {
        let mut stuck: BTreeMap<&str, u64> = zero_per_known_type();
        let mut lagging: BTreeMap<&str, u64> = zero_per_known_type();
        for (task_type, times) in self.task_types.iter().zip(&self.trouble) {
            *stuck.entry(task_type).or_default() += times.stuck_at(now);
            *lagging.entry(task_type).or_default() += times.lagging_at(now);
        }
        [stuck, lagging]
    }

    /// The name families' text (empty before names are read, or with
    /// `--names-refresh-interval 0`).
    pub fn names_text(&self) -> &Bytes {
        &self.names_text
    }

    /// Bytes of text held (blocks and run text), for tests and figures.
    pub fn text_bytes(&self) -> usize {
        self.blocks.iter().flatten().map(|b| b.len()).sum::<usize>()
    }

    /// The blocks of `text` (see [`BLOCK_TASKS`]).
    #[cfg(test)]
    fn blocks_of(&self, text: Text) -> Vec<&Arc<str>> {
        self.blocks
            .iter()
            .filter_map(|blocks| blocks.get(text as usize))
            .collect()
    }
}

impl TaskSeries<'_> {
    /// Whether the task has a series in family `k` of [`FAMILIES`]; read
    /// from the rows only.
    pub fn has(&self, k: usize) -> bool {
        let (Some(family), Some(slot)) = (FAMILIES.get(k), SLOTS.get(k)) else {
            return false;
        };
        if !self.has_series() {
            return false;
        }
        let slot = slot.unwrap_or_default();
        match family.value {
            Value::One => true,
            Value::Task(_) => self.has_value(slot),
            Value::Run(_) => self.has_run_value(slot),
            Value::AtScrape { present, .. } => present(self.input()),
            Value::PerEvaluator => self.has_evaluators(),
        }
    }
}

/// The task values of `task`, in slot order; absent for the families
/// `families` does not serve.
fn task_values(task: &TaskRecord, families: &FamilyFilter) -> [Option<f64>; TASK_VALUES] {
    let mut values = [None; TASK_VALUES];
    for (k, (family, slot)) in FAMILIES.iter().zip(SLOTS).enumerate() {
        if !families.per_task(k) {
            continue;
        }
        if let (Value::Task(value), Some(slot)) = (family.value, slot) {
            if let Some(v) = values.get_mut(slot) {
                *v = value(task);
            }
        }
    }
    values
}

/// Appends the label values of the `arize_task_evaluator_info` series of
/// `task` (read back by [`TaskSeries::write_evaluator_series`]): its id
/// once, then each evaluator's id, name (cut to `max_label` characters)
/// and `pinned`. Nothing for a task without an id or evaluators.
fn write_evaluators(
    out: &mut String,
    task: &TaskRecord,
    evaluators: &[crate::snapshot::Evaluator],
    max_label: usize,
) {
    let Some(id) = task.id.as_deref().filter(|_| !evaluators.is_empty()) else {
        return;
    };
    text::label_value(out, id);
    for evaluator in evaluators {
        text::label_value(out, &evaluator.id);
        text::label_value(out, &text::cut(&evaluator.name, max_label));
        text::label_value(out, if evaluator.pinned { "true" } else { "false" });
    }
}

/// Appends the run text of a task: the status of its newest run read (when
/// `status` says a served family shows it) and the run values of the
/// families `families` serves, in slot order.
fn write_runs(
    out: &mut String,
    record: &RunRecord,
    families: &FamilyFilter,
    status: bool,
) -> SeriesParts<RUN_VALUES> {
    let mut values = [None; RUN_VALUES];
    for (k, (family, slot)) in FAMILIES.iter().zip(SLOTS).enumerate() {
        if !families.per_task(k) {
            continue;
        }
        if let (Value::Run(value), Some(slot)) = (family.value, slot) {
            if let Some(v) = values.get_mut(slot) {
                *v = value(record);
            }
        }
    }
    let status = record
        .newest_status
        .as_ref()
        .filter(|_| status)
        .map(|s| s.as_str());
    let labels: &[(&str, &str)] = match &status {
        Some(status) => &[("status", status)],
        None => &[],
    };
    SeriesParts::write(out, labels, values)
}

/// Segments a store keeps: one per family of [`FAMILIES`], then the name
/// families' ([`NAMES_SEGMENT`]).
const SEGMENTS: usize = FAMILIES.len() + 1;

/// The index of the name families' segment among the kept segments (those
/// of the per-task families are their indexes in [`FAMILIES`]).
pub const NAMES_SEGMENT: usize = FAMILIES.len();

/// A fixed number of byte blocks (one per family of [`FAMILIES`] and one
/// for the name families, see [`SEGMENTS`]), each
/// computed at most once by whichever reader claims it first, then shared.
/// Readers never wait: a reader that finds a block neither ready nor
/// claimable computes it for itself.
#[derive(Debug, Default)]
pub struct KeptSegments {
    slots: OnceLock<Box<[SegmentSlot]>>,
}

#[derive(Debug, Default)]
struct SegmentSlot {
    block: OnceLock<Bytes>,
    claimed: AtomicBool,
}

impl KeptSegments {
    fn slot(&self, index: usize) -> Option<&SegmentSlot> {
        self.slots
            .get_or_init(|| (0..SEGMENTS).map(|_| SegmentSlot::default()).collect())
            .get(index)
    }

    /// The segment `index` (a family's, or [`NAMES_SEGMENT`]), if ready.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.slot(index)?.block.get()
    }

    /// Claims the segment `index` for computing: true for exactly
    /// one caller until it calls [`KeptSegments::release`] (then the next
    /// claimant may try).
    pub fn claim(&self, index: usize) -> bool {
        self.slot(index).is_some_and(|slot| {
            slot.block.get().is_none() && !slot.claimed.swap(true, Ordering::AcqRel)
        })
    }

    /// Stores the segment a claimant computed.
    pub fn set(&self, index: usize, block: Bytes) {
        if let Some(slot) = self.slot(index) {
            let _ = slot.block.set(block);
        }
    }

    /// Gives up a claim without a segment (the claimant stopped half-way).
    pub fn release(&self, index: usize) {
        if let Some(slot) = self.slot(index) {
            slot.claimed.store(false, Ordering::Release);
        }
    }

    /// Bytes held by the ready segments.
    pub fn bytes(&self) -> usize {
        self.slots.get().map_or(0, |slots| {
            slots
                .iter()
                .filter_map(|s| s.block.get())
                .map(Bytes::len)
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::arize::field::FieldWarnings;
    use crate::arize::tasks::Task;
    use crate::snapshot::SnapshotBuilder;

    fn task(json: &str) -> Task {
        serde_json::from_str(json).unwrap()
    }

    /// The slot of family `name`.
    fn slot(name: &str) -> usize {
        let k = FAMILIES.iter().position(|f| f.name == name).unwrap();
        SLOTS[k].unwrap()
    }

    /// The info labels of `series` as `arize_task_info` writes them.
    fn info(series: &TaskSeries) -> String {
        let mut out = String::new();
        series.write_info_labels(&mut out);
        out
    }

    /// The `arize_task_evaluator_info` series of `series`.
    fn evaluator_series(series: &TaskSeries) -> String {
        let mut out = String::new();
        series.write_evaluator_series(&mut out, "arize_task_evaluator_info");
        out
    }

    fn snapshot(tasks: Vec<Task>, previous: Option<Arc<TaskSnapshot>>) -> Arc<TaskSnapshot> {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        if let Some(previous) = previous {
            builder = builder.reuse(previous);
        }
        builder.add_page(tasks, None, Some("CODE_EVALUATION"));
        Arc::new(builder.finish(SystemTime::now()))
    }

    #[test]
    fn names_evaluators_and_long_free_text_labels() {
        use crate::snapshot::names::{ProjectName, SpaceName};
        use crate::snapshot::Names;
        let mut warnings = FieldWarnings::default();
        let long = "é".repeat(300);
        let builder = SnapshotBuilder::new(false, &mut warnings);
        let mut builder = builder.with_names(Arc::new(Names {
            spaces: Some(Arc::new(
                [(
                    "s".into(),
                    SpaceName {
                        name: "Prod".into(),
                        ..Default::default()
                    },
                )]
                .into(),
            )),
            projects: Some(Arc::new(
                [(
                    "p".into(),
                    ProjectName {
                        name: long.clone().into(),
                        space_id: "s".into(),
                        ..Default::default()
                    },
                )]
                .into(),
            )),
            datasets: None,
        }));
        builder.add_page(
            vec![
                task(&format!(
                    r#"{{"id":"a","name":"{long}","project_id":"p","evaluators":[
                    {{"evaluator_id":"e1","evaluator_name":"Q\"A","evaluator_version_id":"v"}},
                    {{"evaluator_name":"no id"}},{{"evaluator_id":"e2","evaluator_version_id":null}}]}}"#
                )),
                task(r#"{"id":"b","project_id":"unknown"}"#),
            ],
            None,
            None,
        );
        let snapshot = builder.finish(SystemTime::now());
        let store = SeriesStore::build(&snapshot, None, &StoreSettings::default());
        let cut = format!("{}…", "é".repeat(199));
        let a = store.get(0).unwrap();
        assert!(
            a.labels().contains(&format!(r#"task_name="{cut}""#)),
            "{}",
            a.labels()
        );
        assert!(info(&a).ends_with(&format!(
            r#",space_id="s",space_name="Prod",project_name="{cut}",dataset_name="""#
        )));
        assert_eq!(
            evaluator_series(&a),
            "arize_task_evaluator_info{task_id=\"a\",evaluator_id=\"e1\",evaluator_name=\"Q\\\"A\",pinned=\"true\"} 1\n\
             arize_task_evaluator_info{task_id=\"a\",evaluator_id=\"e2\",evaluator_name=\"\",pinned=\"false\"} 1\n"
        );
        // A task whose project is not known: empty names, not a missing series.
        let b = store.get(1).unwrap();
        assert_eq!(
            info(&b),
            r#",project_id="unknown",dataset_id="",created_by_user_id="",space_id="",space_name="",project_name="",dataset_name="""#
        );
        assert_eq!(evaluator_series(&b), "");
        assert!(a.has_evaluators() && !b.has_evaluators());
        let evaluators = FAMILIES
            .iter()
            .position(|f| f.name == "arize_task_evaluator_info")
            .unwrap();
        assert_eq!(store.series_in(evaluators), 1);
        // No limit: nothing is cut.
        let whole = SeriesStore::build(
            &snapshot,
            None,
            &StoreSettings {
                max_label_value_length: 0,
                ..StoreSettings::default()
            },
        );
        assert!(whole.get(0).unwrap().labels().contains(&long));
    }

    #[test]
    fn a_row_fits_in_a_cache_line() {
        assert!(std::mem::size_of::<Row>() <= 64);
    }

    #[test]
    fn each_task_has_its_labels_info_labels_and_values_in_family_order() {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(true, &mut warnings);
        builder.add_page(
            vec![
                task(r#"{"id":"b","name":"a \"b\"","project_id":"p2","sampling_rate":0.5,"evaluators":[{},{}],"last_run_at":"2026-03-01T14:30:00Z"}"#),
                task(r#"{"name":"no id"}"#),
            ],
            Some("s1"),
            None,
        );
        let created = "2026-03-01T14:29:00Z";
        let run = serde_json::json!([{"status": "FAILED", "created_at": created,
            "run_started_at": "2026-03-01T14:29:01Z", "run_finished_at": "2026-03-01T14:29:31Z",
            "num_successes": 10}]);
        builder.set_runs(0, serde_json::from_value(run).unwrap(), 0.0);
        let snapshot = builder.finish(SystemTime::now());
        let store = SeriesStore::build(&snapshot, None, &StoreSettings::default());
        let series = store.get(0).unwrap();
        assert_eq!(
            series.labels(),
            r#"task_id="b",task_name="a \"b\"",task_type="unknown",mode="one_off",space="s1""#
        );
        assert_eq!(
            info(&series),
            r#",project_id="p2",dataset_id="",created_by_user_id="",space_id="",space_name="",project_name="",dataset_name="""#
        );
        assert_eq!(series.value(slot("arize_task_sampling_rate")), " 0.5\n");
        assert_eq!(series.value(slot("arize_task_evaluators")), " 2\n");
        assert_eq!(
            series.value(slot("arize_task_last_run_timestamp_seconds")),
            " 1772375400\n"
        );
        assert!(!series.has_value(slot("arize_task_created_timestamp_seconds")));
        assert_eq!(series.run_status(), r#"status="failed""#);
        assert_eq!(
            series.run_value(slot("arize_task_last_run_successes")),
            " 10\n"
        );
        assert_eq!(
            series.run_value(slot("arize_task_last_run_duration_seconds")),
            " 30\n"
        );
        assert_eq!(
            series.run_value(slot("arize_task_run_interval_seconds")),
            ""
        );
        let anonymous = store.get(1).unwrap();
        assert!(!anonymous.has_series() && anonymous.own_text() == ("", ""));
        // Per family, the tasks that have a series.
        let count =
            |name: &str| store.series_in(FAMILIES.iter().position(|f| f.name == name).unwrap());
        assert_eq!(count("arize_task_info"), 1);
        assert_eq!(count("arize_task_created_timestamp_seconds"), 0);
        assert_eq!(count("arize_task_last_run_status"), 1);
        assert_eq!(count("arize_task_last_run_unreadable"), 0);
        assert_eq!(
            count("arize_task_stale_threshold_seconds"),
            0,
            "not continuous"
        );
    }

    /// A store of `n` tasks from `skip` on, with task `renamed` renamed
    /// (same length), built on `previous`.
    fn poll(previous: Option<&SeriesStore>, skip: usize, n: usize, renamed: usize) -> SeriesStore {
        let page = (skip..n)
            .map(|k| {
                // Same lengths: sharing must not rest on the block's length.
                let name = if k == renamed { "tusk" } else { "task" };
                task(&format!(
                    r#"{{"id":"t{k:05}","name":"{name}","type":"CODE_EVALUATION","sampling_rate":0.5}}"#
                ))
            })
            .collect();
        SeriesStore::build(&snapshot(page, None), previous, &StoreSettings::default())
    }

    fn shared(a: &SeriesStore, b: &SeriesStore) -> Vec<bool> {
        shared_in(Text::Labels, a, b)
    }

    /// Per block of `text`, whether `b` shares `a`'s.
    fn shared_in(text: Text, a: &SeriesStore, b: &SeriesStore) -> Vec<bool> {
        a.blocks_of(text)
            .into_iter()
            .zip(b.blocks_of(text))
            .map(|(x, y)| Arc::ptr_eq(x, y))
            .collect()
    }

    #[test]
    fn a_task_that_ran_again_shares_its_labels_and_renews_its_values() {
        let n = 2 * BLOCK_TASKS + 10;
        let at = |k: usize, ran: &str| {
            task(&format!(
                r#"{{"id":"t{k:05}","name":"task","is_continuous":true,"last_run_at":"{ran}"}}"#
            ))
        };
        let page = |moved: usize| -> Vec<Task> {
            (0..n)
                .map(|k| match k == moved {
                    true => at(k, "2026-03-01T14:35:00Z"),
                    false => at(k, "2026-03-01T14:30:00Z"),
                })
                .collect()
        };
        let settings = StoreSettings::default();
        let first = SeriesStore::build(&snapshot(page(n), None), None, &settings);
        let moved = BLOCK_TASKS + 3;
        let second = SeriesStore::build(&snapshot(page(moved), None), Some(&first), &settings);
        assert_eq!(shared_in(Text::Labels, &first, &second), [true, true, true]);
        assert_eq!(
            shared_in(Text::Values, &first, &second),
            [true, false, true]
        );
        let last_run = slot("arize_task_last_run_timestamp_seconds");
        let (a, b) = (first.get(moved).unwrap(), second.get(moved).unwrap());
        assert_eq!(a.labels(), b.labels());
        assert_eq!(
            (a.value(last_run), b.value(last_run)),
            (" 1772375400\n", " 1772375700\n")
        );
    }

    #[test]
    fn blocks_of_text_unchanged_in_place_are_shared_with_the_last_store() {
        let n = 2 * BLOCK_TASKS + 452;
        let first = poll(None, 0, n, n);
        assert_eq!(first.blocks_of(Text::Labels).len(), 3);
        // One task of the middle block renamed: only that block is new.
        let second = poll(Some(&first), 0, n, BLOCK_TASKS + 7);
        assert_eq!(shared(&first, &second), [true, false, true]);
        let renamed = second.get(BLOCK_TASKS + 7).unwrap();
        assert!(renamed.labels().contains(r#"task_name="tusk""#));
        for k in [0, BLOCK_TASKS + 6, n - 1] {
            let (a, b) = (first.get(k).unwrap(), second.get(k).unwrap());
            assert_eq!(a.own_text(), b.own_text());
            assert_eq!(b.value(slot("arize_task_sampling_rate")), " 0.5\n");
        }
        // The first task gone: every task moved, no block is shared.
        let third = poll(Some(&second), 1, n, n);
        assert_eq!(shared(&second, &third), [false, false, false]);
        assert_eq!(
            third.get(0).unwrap().labels(),
            second.get(1).unwrap().labels()
        );
        assert_eq!(third.len(), n - 1);
    }

    /// A store of `n` tasks with runs, task `renamed` renamed and task
    /// `rerun` with one more success, built on `previous`.
    fn poll_with_runs(
        previous: Option<&SeriesStore>,
        n: usize,
        renamed: usize,
        rerun: usize,
    ) -> SeriesStore {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings).with_task_runs(true);
        let page = (0..n)
            .map(|k| {
                let name = if k == renamed { "tusk" } else { "task" };
                task(&format!(
                    r#"{{"id":"t{k:05}","name":"{name}","last_run_at":"2026-03-01T14:30:00Z"}}"#
                ))
            })
            .collect();
        builder.add_page(page, None, Some("CODE_EVALUATION"));
        for k in 0..n {
            let successes = if k == rerun { 11 } else { 10 };
            let runs = serde_json::json!([{"status": "COMPLETED",
                "created_at": "2026-03-01T14:29:00Z", "num_successes": successes}]);
            builder.set_runs(k, serde_json::from_value(runs).unwrap(), 0.0);
        }
        let snapshot = builder.finish(SystemTime::now());
        SeriesStore::build(&snapshot, previous, &StoreSettings::default())
    }

    #[test]
    fn each_text_shares_its_blocks_on_its_own() {
        let runs = Text::Runs;
        let n = 2 * BLOCK_TASKS + 10;
        let first = poll_with_runs(None, n, n, n);
        assert_eq!(first.blocks_of(runs).len(), 3);
        // A task renamed, its runs the same: only its task text is new.
        let second = poll_with_runs(Some(&first), n, 5, n);
        assert_eq!(shared(&first, &second), [false, true, true]);
        assert_eq!(shared_in(runs, &first, &second), [true, true, true]);
        // One more success for a task of the last block: only that run
        // block is new, and every task reads its own run values.
        let third = poll_with_runs(Some(&second), n, 5, 2 * BLOCK_TASKS + 3);
        assert_eq!(shared(&second, &third), [true, true, true]);
        assert_eq!(shared_in(runs, &second, &third), [true, true, false]);
        let successes = slot("arize_task_last_run_successes");
        for (k, expected) in [
            (0, " 10\n"),
            (2 * BLOCK_TASKS + 3, " 11\n"),
            (n - 1, " 10\n"),
        ] {
            let series = third.get(k).unwrap();
            assert_eq!(series.run_value(successes), expected, "task {k}");
            assert_eq!(series.run_status(), r#"status="completed""#);
        }
    }

    #[test]
    fn a_shorter_task_list_does_not_keep_the_old_last_block() {
        let n = BLOCK_TASKS + 500;
        let first = poll(None, 0, n, n);
        // The last 200 tasks gone, the others unchanged in place: the last
        // block's text is the start of the old one's, and must not be it.
        let second = poll(Some(&first), 0, n - 200, n);
        assert_eq!(shared(&first, &second), [true, false]);
        let own = |part: for<'t> fn((&'t str, &'t str)) -> &'t str| -> usize {
            (BLOCK_TASKS..n - 200)
                .map(|k| part(second.get(k).unwrap().own_text()).len())
                .sum()
        };
        assert_eq!(
            second.blocks_of(Text::Labels)[1].len(),
            own(|(labels, _)| labels),
            "no labels of the tasks gone"
        );
        assert_eq!(
            second.blocks_of(Text::Values)[1].len(),
            own(|(_, values)| values),
            "no values of the tasks gone"
        );
        let afresh = poll(None, 0, n - 200, n);
        assert_eq!(second.text_bytes(), afresh.text_bytes());
    }

    #[test]
    fn a_store_built_on_the_last_one_has_the_text_of_one_built_afresh() {
        // Tasks without id, a type filter and duplicates mixed in; the
        // second poll changes one task, drops some and ends mid-block.
        let page = |skip: usize, n: usize, changed: usize| -> Vec<Task> {
            (skip..n)
                .map(|k| {
                    let json = match k % 5 {
                        0 => format!(r#"{{"name":"no id {k}","type":"CODE_EVALUATION"}}"#),
                        // Found before: counted once.
                        1 => format!(r#"{{"id":"t{}","type":"CODE_EVALUATION"}}"#, k.saturating_sub(2)),
                        // Another type: dropped by the filter.
                        2 => format!(r#"{{"id":"t{k}","type":"RUN_EXPERIMENT"}}"#),
                        _ => format!(
                            r#"{{"id":"t{k}","name":"{}","type":"CODE_EVALUATION","is_continuous":true,"last_run_at":"2026-03-01T14:30:00Z","sampling_rate":0.25}}"#,
                            if k == changed { "chang" } else { "same" }
                        ),
                    };
                    task(&json)
                })
                .collect()
        };
        let first_snapshot = snapshot(page(0, 5000, usize::MAX), None);
        let first = SeriesStore::build(&first_snapshot, None, &StoreSettings::default());
        for (skip, n, changed) in [
            (0, 5000, 8),
            (0, 5000, usize::MAX),
            (0, 4000, 2003),
            (5, 5000, 9),
        ] {
            let reused_snapshot = snapshot(page(skip, n, changed), Some(first_snapshot.clone()));
            let reused =
                SeriesStore::build(&reused_snapshot, Some(&first), &StoreSettings::default());
            let fresh = SeriesStore::build(
                &snapshot(page(skip, n, changed), None),
                None,
                &StoreSettings::default(),
            );
            if (skip, n, changed) == (0, 5000, usize::MAX) {
                // Nothing changed: every block shared, tasks without id too.
                assert!(shared(&first, &reused).iter().all(|s| *s));
            }
            assert_eq!(reused.len(), fresh.len());
            assert_eq!(reused.len(), reused_snapshot.tasks.len());
            for k in 0..fresh.len() {
                let (a, b) = (reused.get(k).unwrap(), fresh.get(k).unwrap());
                assert_eq!(a.own_text(), b.own_text(), "task {k} of {skip}..{n}");
                assert_eq!(a.labels(), b.labels());
                let rate = slot("arize_task_sampling_rate");
                assert_eq!(a.value(rate), b.value(rate));
                assert_eq!(a.has_series(), b.has_series());
                assert_eq!(a.input().continuous(), b.input().continuous());
            }
            let now = 1_772_375_400.0 + 86_400.0;
            let staleness = Staleness {
                after: Duration::from_secs(3600),
                after_intervals: 3,
                min: Duration::from_secs(60),
            };
            assert_eq!(
                reused.stale_counts(now, &staleness),
                fresh.stale_counts(now, &staleness)
            );
            // The rows count what the records say.
            assert_eq!(
                reused.stale_counts(now, &staleness),
                reused_snapshot.stale_counts(now, &staleness)
            );
        }
    }
}
