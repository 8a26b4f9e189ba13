//! What shapes `/metrics` beyond the data, as the exposition and the
//! server's routes read it.

use std::time::Duration;

use super::filter::FamilyFilter;
use super::store::StoreSettings;
use crate::snapshot::Staleness;

/// What shapes `/metrics` beyond the data.
#[derive(Clone, Copy, Debug)]
pub struct ExpositionSettings {
    /// When a continuous task is stale (`arize_task_stale`).
    pub staleness: Staleness,
    /// One set of series per task (`--per-task-metrics`); `false`: the
    /// counts only.
    pub per_task_metrics: bool,
    /// The families served (`--metric-allowlist`, `--metric-denylist`):
    /// every one by default. The health families are always served.
    pub families: FamilyFilter,
    /// Between the starts of two polls (`--poll-interval`), served as
    /// `arize_exporter_poll_interval_seconds`.
    pub poll_interval: Duration,
    /// Share of a finished run's items in error above which the run counts
    /// as erroring (`--run-error-ratio-threshold`, 0 < x <= 1), served as
    /// `arize_exporter_run_error_ratio_threshold`.
    pub run_error_ratio_threshold: f64,
    /// Characters a free-text label value (a task, space, project, dataset
    /// or evaluator name) may have before it is cut, ending in `…`
    /// (`--max-label-value-length`); 0: no limit. Ids are never cut.
    pub max_label_value_length: usize,
}

impl ExpositionSettings {
    /// What the store of each published snapshot keeps.
    pub fn store(&self) -> StoreSettings {
        StoreSettings {
            families: self.families,
            max_label_value_length: self.max_label_value_length,
            staleness: self.staleness,
        }
    }
}
