//! The exporter's own metrics, kept in a prometheus crate registry: poll
//! outcomes, API requests, build information and the process collector.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::arize::{FailureReason, RequestMetrics};

/// Poll durations: from a single small page to a very large account.
const POLL_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Request durations: a fast answer to a request timing out.
const REQUEST_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The registry and the handles the poller and the client update.
pub struct ExporterMetrics {
    registry: Registry,
    pub polls: IntCounterVec,
    pub poll_errors: IntCounterVec,
    pub poll_duration: Histogram,
    pub api: RequestMetrics,
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
        }
        for collector in [
            Box::new(polls.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(poll_errors.clone()),
            Box::new(poll_duration.clone()),
            Box::new(requests.clone()),
            Box::new(request_duration.clone()),
            Box::new(build_info),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
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
            api: RequestMetrics {
                requests,
                duration: request_duration,
            },
        }
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

impl Default for ExporterMetrics {
    fn default() -> Self {
        ExporterMetrics::new()
    }
}
