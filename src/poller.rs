//! The poll loop: a first poll at start, then one every `--poll-interval`
//! measured start to start, never overlapping. Each poll is all or nothing:
//! only a complete one replaces the published snapshot.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::arize::field::FieldWarnings;
use crate::arize::{tasks, ApiError, ArizeClient};
use crate::config::{PollSettings, TaskFilters};
use crate::metrics::ExporterMetrics;
use crate::snapshot::{SnapshotBuilder, TaskSnapshot};
use crate::state::SharedState;

/// Polls the Arize API and publishes what it finds.
pub struct Poller {
    client: ArizeClient,
    filters: TaskFilters,
    page_size: u32,
    interval: Duration,
    state: Arc<SharedState>,
    metrics: Arc<ExporterMetrics>,
    warnings: FieldWarnings,
    /// The last complete snapshot: the next one shares its unchanged tasks.
    previous: Option<Arc<TaskSnapshot>>,
    /// Whether the previous poll succeeded; `None` before the first.
    last_success: Option<bool>,
}

impl Poller {
    /// A poller asking `client` for what `settings` select, publishing to
    /// `state` and counting in `metrics`.
    pub fn new(
        client: ArizeClient,
        settings: &PollSettings,
        state: Arc<SharedState>,
        metrics: Arc<ExporterMetrics>,
    ) -> Poller {
        Poller {
            client,
            filters: settings.filters.clone(),
            page_size: settings.page_size,
            interval: settings.interval,
            state,
            metrics,
            warnings: FieldWarnings::default(),
            previous: None,
            last_success: None,
        }
    }

    /// Polls forever, `--poll-interval` apart from start to start. A poll
    /// slower than the interval delays the next one; polls never overlap.
    pub async fn run(mut self) {
        loop {
            let started = tokio::time::Instant::now();
            if let Err(error) = self.poll_once().await {
                if self.previous.is_some() {
                    tracing::warn!(reason = %error.reason, error = %error.message,
                        "poll failed; still serving the last complete poll");
                } else {
                    tracing::warn!(reason = %error.reason, error = %error.message,
                        "poll failed; no poll has completed yet, so no task data is served");
                }
            }
            tokio::time::sleep_until(started + self.interval).await;
        }
    }

    /// One complete poll: fetch, publish, count. A failed poll's error is
    /// returned for the caller to report (the loop logs it; `--once` exits
    /// with it), not logged here.
    pub async fn poll_once(&mut self) -> Result<(), ApiError> {
        let started = Instant::now();
        let result = self.fetch().await;
        let elapsed = started.elapsed();
        self.metrics.poll_duration.observe(elapsed.as_secs_f64());
        match result {
            Ok(snapshot) => {
                let tasks = snapshot.tasks.len();
                let snapshot = Arc::new(snapshot);
                self.previous = Some(snapshot.clone());
                self.state.publish_success(snapshot);
                self.metrics.polls.with_label_values(&["success"]).inc();
                // The first success and a recovery are news; the rest is routine.
                match self.last_success {
                    None => tracing::info!(tasks, duration = ?elapsed, "first poll complete"),
                    Some(false) => {
                        tracing::info!(tasks, duration = ?elapsed, "poll succeeded again")
                    }
                    Some(true) => tracing::debug!(tasks, duration = ?elapsed, "poll succeeded"),
                }
                self.last_success = Some(true);
                Ok(())
            }
            Err(error) => {
                self.metrics.polls.with_label_values(&["failure"]).inc();
                self.metrics
                    .poll_errors
                    .with_label_values(&[error.reason.as_str()])
                    .inc();
                self.state.publish_failure(error.clone(), SystemTime::now());
                self.last_success = Some(false);
                Err(error)
            }
        }
    }

    /// Every page of every space filter (or one unfiltered listing).
    async fn fetch(&mut self) -> Result<TaskSnapshot, ApiError> {
        let credentials = self.client.credentials()?;
        let filters = &self.filters;
        let spaces: Vec<Option<_>> = if filters.spaces.is_empty() {
            vec![None]
        } else {
            filters.spaces.iter().map(Some).collect()
        };
        let mut builder = SnapshotBuilder::new(!filters.spaces.is_empty(), &mut self.warnings);
        if let Some(previous) = self.previous.clone() {
            builder = builder.reuse(previous);
        }
        for space in spaces {
            let label = space.map(|s| s.label());
            tasks::for_each_page(
                &self.client,
                &credentials,
                filters,
                space,
                self.page_size,
                |tasks| builder.add_page(tasks, label, filters.task_type.as_deref()),
            )
            .await?;
        }
        Ok(builder.finish(SystemTime::now()))
    }
}
