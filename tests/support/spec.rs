//! The metric families of SPEC section 5: the one list that the polling
//! tests check the exposition against and that the dashboard and rules may
//! read from.

/// A metric family the exporter serves.
pub struct Family {
    pub name: &'static str,
    /// Its `# TYPE`.
    pub kind: &'static str,
    /// Served from the last complete poll (its HELP says so), rather than
    /// describing the exporter itself.
    pub cached: bool,
}

const fn cached(name: &'static str) -> Family {
    Family {
        name,
        kind: "gauge",
        cached: true,
    }
}

const fn own(name: &'static str, kind: &'static str) -> Family {
    Family {
        name,
        kind,
        cached: false,
    }
}

/// The exporter's own families, in SPEC order.
pub const SPEC_FAMILIES: &[Family] = &[
    cached("arize_tasks"),
    cached("arize_tasks_never_run"),
    cached("arize_tasks_stale"),
    cached("arize_task_info"),
    cached("arize_task_last_run_timestamp_seconds"),
    cached("arize_task_seconds_since_last_run"),
    cached("arize_task_sampling_rate"),
    cached("arize_task_evaluators"),
    cached("arize_task_created_timestamp_seconds"),
    cached("arize_task_updated_timestamp_seconds"),
    cached("arize_task_stale_threshold_seconds"),
    cached("arize_task_run_interval_seconds"),
    cached("arize_task_last_run_status"),
    cached("arize_task_last_run_successes"),
    cached("arize_task_last_run_errors"),
    cached("arize_task_last_run_skipped"),
    cached("arize_task_last_run_duration_seconds"),
    cached("arize_task_last_run_finished_timestamp_seconds"),
    cached("arize_task_last_successful_run_timestamp_seconds"),
    cached("arize_task_last_run_unreadable"),
    cached("arize_tasks_last_run_unreadable"),
    cached("arize_tasks_last_run_failed"),
    // The roll-ups of stuck and lagging tasks: not in the SPEC's table,
    // served beside arize_tasks_stale for --per-task-metrics=false.
    cached("arize_tasks_stuck"),
    cached("arize_tasks_lagging"),
    cached("arize_task_last_run_data_end_timestamp_seconds"),
    cached("arize_task_last_run_started_timestamp_seconds"),
    cached("arize_task_evaluator_info"),
    Family {
        name: "arize_task_runs_total",
        kind: "counter",
        cached: true,
    },
    own("arize_up", "gauge"),
    own("arize_exporter_last_success_timestamp_seconds", "gauge"),
    own("arize_exporter_polls_total", "counter"),
    own("arize_exporter_poll_errors_total", "counter"),
    own("arize_exporter_poll_duration_seconds", "histogram"),
    own("arize_exporter_api_requests_total", "counter"),
    own("arize_exporter_api_request_duration_seconds", "histogram"),
    own("arize_exporter_task_runs_backlog", "gauge"),
    own("arize_exporter_task_run_errors_total", "counter"),
    own("arize_exporter_poll_interval_seconds", "gauge"),
    own("arize_exporter_api_key_file_errors_total", "counter"),
    // From the names read (--names-refresh-interval), not the poll.
    own("arize_space_info", "gauge"),
    own("arize_project_info", "gauge"),
    own("arize_dataset_info", "gauge"),
    own("arize_exporter_stale_after_seconds", "gauge"),
    own("arize_exporter_run_error_ratio_threshold", "gauge"),
    own("arize_exporter_name_errors_total", "counter"),
    own(
        "arize_exporter_names_last_success_timestamp_seconds",
        "gauge",
    ),
    own("arize_exporter_build_info", "gauge"),
];

/// The process collector's families that the dashboard reads.
pub const PROCESS_METRICS: &[&str] = &[
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "process_threads",
];

/// Is this series name one the exporter serves (SPEC section 5)? A
/// histogram's `_bucket`, `_sum` and `_count` series are its own.
pub fn is_spec_series(name: &str) -> bool {
    if PROCESS_METRICS.contains(&name) {
        return true;
    }
    SPEC_FAMILIES.iter().any(|f| {
        f.name == name
            || (f.kind == "histogram"
                && name
                    .strip_prefix(f.name)
                    .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix)))
    })
}
