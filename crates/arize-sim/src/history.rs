//! Each task's run history, generated on request from the task (never
//! stored for every task): it reads the task, and builds runs.

use std::time::Duration;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::encode::{fnv1a, opaque_id};
use crate::runs::{SimRun, HISTORY_RUNS};
use crate::task::SimTask;

/// The run interval a task's history is generated with: its
/// [`SimTask::run_cadence`], else its [`SimTask::runs_every`], else one
/// picked from the id (5 min, 15 min, 1 h or 6 h for a continuous task,
/// a day for a one-off one).
pub fn cadence_of(task: &SimTask) -> Duration {
    if let Some(cadence) = task.run_cadence.or(task.runs_every) {
        return cadence;
    }
    let continuous = task.json.get("is_continuous") == Some(&Value::Bool(true));
    if !continuous {
        return Duration::from_secs(24 * 3600);
    }
    const CADENCES: [u64; 4] = [300, 900, 3600, 6 * 3600];
    let h = fnv1a(task.id().unwrap_or("").as_bytes());
    Duration::from_secs(CADENCES[(h % 4) as usize])
}

/// The generated history of `task` whose served JSON is `served`: newest
/// first, none if `last_run_at` is not a timestamp (the task never ran).
/// Continuous tasks: up to [`HISTORY_RUNS`] runs, one per cadence, the
/// newest finishing at `last_run_at`, none finishing before `created_at`;
/// one-off tasks: one to three runs a cadence apart. About one run in 25
/// failed and one in 50 was cancelled (each with a `failure_reason`); the
/// rest completed with item counts. [`SimTask::newest_run`] sets the
/// newest run's status; when it sets one in progress, the run before it
/// completed. Deterministic from the id and `last_run_at`.
pub(crate) fn generated_runs(task: &SimTask, served: &Value) -> Vec<SimRun> {
    let timestamp = |key: &str| {
        served
            .get(key)
            .and_then(Value::as_str)
            .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
    };
    let Some(last) = timestamp("last_run_at") else {
        return Vec::new();
    };
    let task_id = task.id().unwrap_or("");
    let h = fnv1a(task_id.as_bytes());
    let cadence = cadence_of(task).max(Duration::from_secs(1));
    let cadence_secs = i64::try_from(cadence.as_secs()).unwrap_or(i64::MAX);
    let step = time::Duration::seconds(cadence_secs);
    let continuous = served.get("is_continuous") == Some(&Value::Bool(true));
    let wanted = if continuous { HISTORY_RUNS } else { 1 + h % 3 };
    let created = timestamp("created_at");
    let experiment = served
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("RUN_EXPERIMENT"));
    let experiment_ids: Vec<&str> = served
        .get("experiment_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let user = served
        .get("created_by_user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // The slot number since the epoch keeps run ids stable while the
    // history of a task that keeps running moves forward.
    let slot = last.unix_timestamp() / cadence_secs;

    // A newest run set in progress leaves the run before it the newest
    // finished one: it completes too, or whether the task is failing would
    // depend on the clock.
    let newest_in_progress = !task.newest_run_varies
        && task.newest_run.as_ref().is_some_and(|(status, _)| {
            status.eq_ignore_ascii_case("RUNNING") || status.eq_ignore_ascii_case("PENDING")
        });
    let mut runs = Vec::with_capacity(wanted as usize);
    for k in 0..wanted {
        let finished = last - step * (k as i32);
        if k > 0 && created.is_some_and(|created| finished < created) {
            break;
        }
        let seed = fnv1a(&(slot - k as i64).to_le_bytes()) ^ h;
        let status = match (k, &task.newest_run) {
            (0, Some((status, _))) => status.as_str(),
            (0, None) if !task.newest_run_varies => "COMPLETED",
            (1, _) if newest_in_progress => "COMPLETED",
            _ => match seed % 100 {
                0..=3 => "FAILED",
                4..=5 => "CANCELLED",
                _ => "COMPLETED",
            },
        };
        let duration = time::Duration::seconds(
            (20 + (seed >> 7) % 240).min((cadence_secs / 3).max(1) as u64) as i64,
        );
        let started = finished - duration;
        let mut run = SimRun::new(status, started - time::Duration::SECOND);
        run.id = Some(opaque_id("TaskRun", seed));
        match status.to_ascii_uppercase().as_str() {
            "RUNNING" => run.run_started_at = Some(last),
            "PENDING" => {}
            _ => run = run.with_times(Some(started), Some(finished)),
        }
        match status.to_ascii_uppercase().as_str() {
            "COMPLETED" => {
                // At least 250 successes and at most 24 errors: a ratio
                // under 0.1, so no completed run trips the error-ratio alert
                // by chance.
                let successes = 250 + (seed >> 11) % 4750;
                run = run.with_counts(
                    successes as i64,
                    ((seed >> 23) % 25) as i64,
                    ((seed >> 31) % 150) as i64,
                );
            }
            "FAILED" => {
                run = run.with_counts(((seed >> 11) % 400) as i64, ((seed >> 23) % 60) as i64, 0);
            }
            _ => {}
        }
        if k == 0 {
            if let Some((_, Some(reason))) = &task.newest_run {
                run.failure_reason = Some(reason.clone());
            }
            if let Some((successes, errors, skipped)) = task.newest_counts {
                run = run.with_counts(successes, errors, skipped);
            }
        }
        if experiment {
            (run.data_start_time, run.data_end_time) = (None, None);
            run.experiment_id = Some(
                match experiment_ids.get((seed % 7) as usize % experiment_ids.len().max(1)) {
                    Some(id) => (*id).to_owned(),
                    None => opaque_id("Experiment", seed >> 3),
                },
            );
        } else {
            // The window ends when the run started, or `data_lag` earlier.
            let lag = task
                .data_lag
                .and_then(|lag| time::Duration::try_from(lag).ok())
                .unwrap_or(time::Duration::ZERO);
            let end = started.checked_sub(lag).unwrap_or(started);
            run.data_start_time = Some(end.checked_sub(step).unwrap_or(end));
            run.data_end_time = Some(end);
        }
        run.created_by_user_id.clone_from(&user);
        runs.push(run);
    }
    runs
}
