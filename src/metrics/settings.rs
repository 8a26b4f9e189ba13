//! What shapes `/metrics` beyond the data, as the exposition and the
//! server's routes read it.

use std::time::Duration;

use super::filter::FamilyFilter;
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
}
