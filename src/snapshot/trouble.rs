//! How many tasks are stuck or lagging at a given time, per task type,
//! without walking the tasks: each task's moments of trouble
//! ([`TaskRecord::stuck_after`], [`TaskRecord::lagging_window`]) depend only
//! on the poll and the flags, so they are sorted once per poll and a
//! scrape counts by binary search.

use super::{Staleness, TaskRecord};

/// The moments of trouble of the tasks of one type, sorted.
#[derive(Clone, Debug, Default)]
pub struct TroubleTimes {
    /// When each run in progress becomes stuck.
    stuck_after: Vec<f64>,
    /// Where each lagging window starts and ends (each `from < until`).
    lagging_from: Vec<f64>,
    lagging_until: Vec<f64>,
}

impl TroubleTimes {
    /// Adds the moments of `task`, judged with `staleness`.
    pub fn add(&mut self, task: &TaskRecord, staleness: &Staleness) {
        if let Some(after) = task.stuck_after(staleness) {
            self.stuck_after.push(after);
        }
        if let Some((from, until)) = task.lagging_window(staleness) {
            self.lagging_from.push(from);
            self.lagging_until.push(until);
        }
    }

    /// Sorts what was added; call once all tasks are in.
    pub fn sort(&mut self) {
        for times in [
            &mut self.stuck_after,
            &mut self.lagging_from,
            &mut self.lagging_until,
        ] {
            times.sort_by(f64::total_cmp);
            times.shrink_to_fit();
        }
    }

    /// Tasks whose run is stuck at `now` (Unix seconds), as
    /// [`TaskRecord::run_stuck`] judges.
    pub fn stuck_at(&self, now: f64) -> u64 {
        before(&self.stuck_after, now)
    }

    /// Tasks lagging at `now` (Unix seconds), as
    /// [`TaskRecord::evaluation_lagging`] judges: windows begun before
    /// `now`, less those ended before it (every window that ended had
    /// begun).
    pub fn lagging_at(&self, now: f64) -> u64 {
        before(&self.lagging_from, now).saturating_sub(before(&self.lagging_until, now))
    }
}

/// How many of the sorted `times` are before `now`.
fn before(times: &[f64], now: f64) -> u64 {
    times.partition_point(|&t| t < now) as u64
}
