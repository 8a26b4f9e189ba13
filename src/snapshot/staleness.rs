//! When a continuous task counts as stale: part of the domain (the
//! snapshot's `arize_task_stale` and the landing page read it), set from
//! `--stale-after`, `--stale-after-intervals` and `--stale-after-min`.

use std::time::Duration;

/// When a continuous task is stale: `after_intervals` times its run
/// interval, never below `min`, when the interval is known; `after`
/// otherwise (and for every task when `after_intervals` is 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Staleness {
    /// The threshold when the run interval is not known (`--stale-after`).
    pub after: Duration,
    /// Run intervals a task may go without running (`--stale-after-intervals`); 0: off.
    pub after_intervals: u32,
    /// Floor of the interval-based threshold (`--stale-after-min`).
    pub min: Duration,
}

impl Staleness {
    /// The age of the last run, in seconds, beyond which a continuous task
    /// whose run interval is `interval` seconds (`None`: not known) is stale.
    pub fn threshold_seconds(&self, interval: Option<f64>) -> f64 {
        match interval {
            Some(interval) if self.after_intervals > 0 && interval.is_finite() => {
                (interval * f64::from(self.after_intervals)).max(self.min.as_secs_f64())
            }
            _ => self.after.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stale_threshold_follows_the_interval_when_known() {
        let staleness = Staleness {
            after: Duration::from_secs(3600),
            after_intervals: 3,
            min: Duration::from_secs(600),
        };
        assert_eq!(staleness.threshold_seconds(None), 3600.0);
        assert_eq!(staleness.threshold_seconds(Some(300.0)), 900.0);
        assert_eq!(staleness.threshold_seconds(Some(60.0)), 600.0, "floored");
        assert_eq!(staleness.threshold_seconds(Some(21600.0)), 64800.0);
        let off = Staleness {
            after_intervals: 0,
            ..staleness
        };
        assert_eq!(off.threshold_seconds(Some(300.0)), 3600.0);
    }
}
