//! The exporter's own metrics, kept in a prometheus crate registry: poll
//! outcomes, API requests, build information and the process collector.
//! The label values are chosen here only, from the vocabulary the reporting
//! modules define ([`ApiPath`], [`RequestCode`], [`FailureReason`]).

use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::arize::{ApiPath, ClientRecorder, FailureReason, RequestCode};

/// Poll durations, in seconds: a poll of one small page on a nearby API
/// takes about a millisecond, a very large account minutes; the buckets
/// cover both so that the quantiles are measured, not invented.
const POLL_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// Request durations, in seconds: from a sub-millisecond answer on
/// loopback to a request timing out.
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The registry and the handles the poller and the client update, through
/// the methods below and [`ClientRecorder`].
pub struct ExporterMetrics {
    registry: Registry,
    /// `arize_exporter_polls_total{outcome}`.
    polls: IntCounterVec,
    /// `arize_exporter_poll_errors_total{reason}`.
    poll_errors: IntCounterVec,
    /// `arize_exporter_poll_duration_seconds`.
    poll_duration: Histogram,
    /// `arize_exporter_api_requests_total{endpoint, code}`.
    requests: IntCounterVec,
    /// `arize_exporter_api_request_duration_seconds{endpoint}`.
    request_duration: HistogramVec,
    /// `arize_exporter_task_run_errors_total{reason}`: failed run reads.
    task_run_errors: IntCounterVec,
    /// `arize_exporter_task_runs_backlog`: tasks whose runs were due but
    /// not read in the last poll.
    task_runs_backlog: IntGauge,
    /// `arize_exporter_api_key_file_errors_total`.
    key_file_errors: IntCounter,
    /// `arize_exporter_name_errors_total{endpoint, reason}`.
    name_errors: IntCounterVec,
    /// `arize_exporter_names_last_success_timestamp_seconds{endpoint}`.
    names_last_success: GaugeVec,
}

impl ClientRecorder for ExporterMetrics {
    fn request(&self, path: ApiPath, code: RequestCode, elapsed: Duration) {
        self.requests
            .with_label_values(&[path.as_str(), code.as_str()])
            .inc();
        self.request_duration
            .with_label_values(&[path.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    fn key_file_error(&self) {
        self.key_file_errors.inc();
    }
}

impl ExporterMetrics {
    pub fn new() -> ExporterMetrics {
        let registry = Registry::new();
        let polls = IntCounterVec::new(
            Opts::new(
                "arize_exporter_polls_total",
                "Polls of the Arize API, by outcome.",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
        let poll_errors = IntCounterVec::new(
            Opts::new(
                "arize_exporter_poll_errors_total",
                "Failed polls of the Arize API, by the reason the poll failed.",
            ),
            &["reason"],
        )
        .expect("static metric definition");
        let poll_duration = Histogram::with_opts(
            HistogramOpts::new(
                "arize_exporter_poll_duration_seconds",
                "Wall time of one poll of the Arize API, all pages and retries included.",
            )
            .buckets(POLL_BUCKETS.to_vec()),
        )
        .expect("static metric definition");
        let requests = IntCounterVec::new(
            Opts::new(
                "arize_exporter_api_requests_total",
                "HTTP requests sent to the Arize API, retries included, by endpoint template and status code (or timeout/transport).",
            ),
            &["endpoint", "code"],
        )
        .expect("static metric definition");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "arize_exporter_api_request_duration_seconds",
                "Duration of HTTP requests to the Arize API, by endpoint template.",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("static metric definition");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "arize_exporter_build_info",
                "Always 1; labelled with the version and the source revision of this build.",
            ),
            &["version", "revision"],
        )
        .expect("static metric definition");
        let task_run_errors = IntCounterVec::new(
            Opts::new(
                "arize_exporter_task_run_errors_total",
                "Failed reads of a task's runs (GET /v2/tasks/{task_id}/runs), by reason; the poll goes on and the task keeps its earlier run data.",
            ),
            &["reason"],
        )
        .expect("static metric definition");
        let task_runs_backlog = IntGauge::new(
            "arize_exporter_task_runs_backlog",
            "Tasks whose runs were due (they ran since their runs were read, or the newest run read was in progress) but were not read in the last complete poll, for --max-run-requests-per-poll or a rate limit; they go first next poll.",
        )
        .expect("static metric definition");
        let key_file_errors = IntCounter::new(
            "arize_exporter_api_key_file_errors_total",
            "Polls for which --api-key-file could not be used (unreadable, empty, larger than 64 KiB, or not a regular file: a FIFO, a device, a directory); the poll went on with the last key read.",
        )
        .expect("static metric definition");
        let name_errors = IntCounterVec::new(
            Opts::new(
                "arize_exporter_name_errors_total",
                "Failed reads of the names of spaces, projects or datasets (GET /v2/spaces, /v2/projects, /v2/datasets), by endpoint and reason; the names read before are kept and polls go on.",
            ),
            &["endpoint", "reason"],
        )
        .expect("static metric definition");
        let names_last_success = GaugeVec::new(
            Opts::new(
                "arize_exporter_names_last_success_timestamp_seconds",
                "Unix time at which the last complete read of an endpoint's names (every page) ended, by endpoint; absent before the first.",
            ),
            &["endpoint"],
        )
        .expect("static metric definition");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("ARIZE_EXPORTER_REVISION")])
            .set(1);
        // Every outcome and reason exists from the start, so that rate() and
        // increase() see the first failure.
        for outcome in ["success", "failure"] {
            polls.with_label_values(&[outcome]);
        }
        for reason in FailureReason::ALL {
            poll_errors.with_label_values(&[reason.as_str()]);
            task_run_errors.with_label_values(&[reason.as_str()]);
        }
        for collector in [
            Box::new(polls.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(poll_errors.clone()),
            Box::new(poll_duration.clone()),
            Box::new(requests.clone()),
            Box::new(request_duration.clone()),
            Box::new(build_info),
            Box::new(task_run_errors.clone()),
            Box::new(task_runs_backlog.clone()),
            Box::new(key_file_errors.clone()),
            Box::new(name_errors.clone()),
            Box::new(names_last_success.clone()),
            Box::new(ProcessMetrics::new()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        ExporterMetrics {
            registry,
            polls,
            poll_errors,
            poll_duration,
            requests,
            request_duration,
            task_run_errors,
            task_runs_backlog,
            key_file_errors,
            name_errors,
            names_last_success,
        }
    }

    /// Names are read (`--names-refresh-interval` is not 0): every
    /// endpoint and reason of `arize_exporter_name_errors_total` exists
    /// from the start, so that rate() sees the first failure.
    pub fn names_enabled(&self) {
        for path in ApiPath::NAMES {
            for reason in FailureReason::ALL {
                self.name_errors
                    .with_label_values(&[path.as_str(), reason.as_str()]);
            }
        }
    }

    /// Every page of `path`'s names was read; the read ended at `at` (Unix seconds).
    pub fn names_read(&self, path: ApiPath, at: f64) {
        self.names_last_success
            .with_label_values(&[path.as_str()])
            .set(at);
    }

    /// A read of `path`'s names failed for `reason`.
    pub fn names_read_failed(&self, path: ApiPath, reason: FailureReason) {
        self.name_errors
            .with_label_values(&[path.as_str(), reason.as_str()])
            .inc();
    }

    /// A poll completed after `elapsed`.
    pub fn poll_succeeded(&self, elapsed: Duration) {
        self.poll_duration.observe(elapsed.as_secs_f64());
        self.polls.with_label_values(&["success"]).inc();
    }

    /// A poll failed for `reason` after `elapsed`.
    pub fn poll_failed(&self, reason: FailureReason, elapsed: Duration) {
        self.poll_duration.observe(elapsed.as_secs_f64());
        self.polls.with_label_values(&["failure"]).inc();
        self.poll_errors.with_label_values(&[reason.as_str()]).inc();
    }

    /// A read of one task's runs failed for `reason` (the poll went on).
    pub fn task_run_failed(&self, reason: FailureReason) {
        self.task_run_errors
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// `tasks` tasks whose runs were due were left for the next poll.
    pub fn set_task_runs_backlog(&self, tasks: usize) {
        self.task_runs_backlog
            .set(i64::try_from(tasks).unwrap_or(i64::MAX));
    }

    /// Appends the registry's families in the text format.
    pub fn encode(&self, out: &mut String) {
        let mut bytes = Vec::with_capacity(8 * 1024);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut bytes) {
            tracing::error!(error = %e, "cannot encode the exporter's own metrics");
            return;
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
}

/// `process_cpu_seconds_total`.
const CPU_SECONDS: &str = "process_cpu_seconds_total";

/// The prometheus crate's process collector (memory, file descriptors,
/// threads, start time), except that CPU time keeps the kernel's resolution
/// (1/`CLK_TCK` s, 10 ms): the crate rounds it down to whole seconds, and
/// a lightly loaded exporter's CPU counter then never moves.
struct ProcessMetrics {
    inner: prometheus::process_collector::ProcessCollector,
    cpu: prometheus::Counter,
}

impl ProcessMetrics {
    fn new() -> ProcessMetrics {
        let cpu = prometheus::Counter::new(
            CPU_SECONDS,
            "Total user and system CPU time spent in seconds.",
        )
        .expect("static metric definition");
        ProcessMetrics {
            inner: prometheus::process_collector::ProcessCollector::for_self(),
            cpu,
        }
    }

    /// User plus system CPU time of this process, in seconds.
    fn cpu_seconds() -> Option<f64> {
        let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
        let ticks = procfs::ticks_per_second();
        (ticks > 0).then(|| (stat.utime + stat.stime) as f64 / ticks as f64)
    }
}

impl prometheus::core::Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        let mut descs: Vec<_> = self
            .inner
            .desc()
            .into_iter()
            .filter(|d| d.fq_name != CPU_SECONDS)
            .collect();
        descs.extend(self.cpu.desc());
        descs
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut families = self.inner.collect();
        families.retain(|f| f.name() != CPU_SECONDS);
        if let Some(total) = ProcessMetrics::cpu_seconds() {
            // Two scrapes at once may both add: only ever add what is new.
            let past = self.cpu.get();
            if total > past {
                self.cpu.inc_by(total - past);
            }
            families.extend(self.cpu.collect());
        }
        families
    }
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        ExporterMetrics::new()
    }
}
