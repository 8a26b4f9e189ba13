//! The poll loop: a first poll at start, then one every `--poll-interval`
//! measured start to start, never overlapping. Each poll is all or nothing:
//! only a complete one replaces the published snapshot.
//!
//! Once the task list is complete, a poll reads the runs of the tasks that
//! need it (see [`TaskRecord::runs_due`](crate::snapshot::TaskRecord::runs_due)),
//! oldest run data first, within `--max-run-requests-per-poll` HTTP
//! requests. A failed run read never fails the poll: the task keeps the run
//! data read before.

mod names;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::arize::field::FieldWarnings;
use crate::arize::runs::{self, ReadError};
use crate::arize::tasks::TaskFilters;
use crate::arize::{tasks, Allowance, ApiError, ArizeClient, FailureReason, Session};
use crate::metrics::ExporterMetrics;
use crate::snapshot::{unix_seconds, SnapshotBuilder, TaskSnapshot};
use crate::state::SharedState;
use names::NameReader;

/// What one poll fetches, and how often.
#[derive(Clone, Debug)]
pub struct PollSettings {
    /// Between the starts of two polls (`--poll-interval`).
    pub interval: Duration,
    /// `limit` of each list request, 1 to 100 (`--page-size`).
    pub page_size: u32,
    /// Which tasks are listed.
    pub filters: TaskFilters,
    /// Whether task runs are read at all (`--task-runs`).
    pub task_runs: bool,
    /// Run requests (pages and retries) one poll may send
    /// (`--max-run-requests-per-poll`), at least 1.
    pub max_run_requests: u32,
    /// Between two reads of the names of spaces, projects and datasets
    /// (`--names-refresh-interval`); `None`: names are off (0).
    pub names_refresh: Option<Duration>,
    /// Whether each task's evaluators are kept: `arize_task_evaluator_info`
    /// is served (not denied by `--metric-allowlist`/`--metric-denylist`).
    pub evaluators: bool,
}

/// A poller running on its own thread (see [`Poller::spawn`]): dropping
/// this stops it.
pub struct PollerThread {
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Polls the Arize API and publishes what it finds.
pub struct Poller {
    client: ArizeClient,
    filters: TaskFilters,
    page_size: u32,
    interval: Duration,
    /// `--task-runs`.
    task_runs: bool,
    /// `--max-run-requests-per-poll`.
    max_run_requests: u32,
    /// The names of spaces, projects and datasets; `None`: names are off.
    names: Option<NameReader>,
    /// Keep each task's evaluators ([`PollSettings::evaluators`]).
    evaluators: bool,
    state: Arc<SharedState>,
    metrics: Arc<ExporterMetrics>,
    warnings: FieldWarnings,
    /// The last complete snapshot: the next one shares its unchanged task
    /// definitions and run data.
    previous: Option<Arc<TaskSnapshot>>,
    /// Whether the previous poll succeeded; `None` before the first.
    last_success: Option<bool>,
    /// Wakes [`Poller::run`] for a poll now (SIGHUP: the key file is
    /// re-read at the start of every poll).
    poll_now: Arc<tokio::sync::Notify>,
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
            task_runs: settings.task_runs,
            max_run_requests: settings.max_run_requests,
            names: settings.names_refresh.map(|interval| {
                metrics.names_enabled();
                NameReader::new(
                    interval,
                    settings.filters.spaces.clone(),
                    settings.page_size,
                )
            }),
            evaluators: settings.evaluators,
            state,
            metrics,
            warnings: FieldWarnings::default(),
            previous: None,
            last_success: None,
            poll_now: Arc::default(),
        }
    }

    /// A handle that starts a poll at once when notified (`notify_one`),
    /// or right after the poll in progress: the API key file is re-read
    /// at the start of every poll.
    pub fn poll_now_handle(&self) -> Arc<tokio::sync::Notify> {
        self.poll_now.clone()
    }

    /// Runs [`Poller::run`] on a thread of its own, with a single-threaded
    /// runtime, until the returned handle is dropped (a poll in progress is
    /// then abandoned).
    ///
    /// Why a thread: glibc's allocator gives each thread that allocates an
    /// arena of its own and reuses freed memory only within that arena.
    /// Polled on whichever runtime worker was free, successive snapshots
    /// were built in different arenas, so memory freed with one snapshot
    /// was not reused by the next: polling 100k tasks that all changed
    /// between polls peaked at 179 MB, against 130 MB with one arena.
    ///
    /// # Errors
    ///
    /// The runtime or the thread cannot be created.
    pub fn spawn(self) -> std::io::Result<PollerThread> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("poller".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = self.run() => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(PollerThread { _stop: stop })
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
            tokio::select! {
                () = tokio::time::sleep_until(started + self.interval) => {}
                () = self.poll_now.notified() => {}
            }
        }
    }

    /// One complete poll: fetch, publish, count. A failed poll's error is
    /// returned for the caller to report (the loop logs it; `--once` exits
    /// with it), not logged here.
    pub async fn poll_once(&mut self) -> Result<(), ApiError> {
        let started = Instant::now();
        let result = self.fetch().await;
        let elapsed = started.elapsed();
        match result {
            Ok(snapshot) => {
                let tasks = snapshot.tasks.len();
                // A task gone from the complete list takes its warnings
                // with it: the memory never outgrows the account, and a
                // task that comes back is warned about again.
                self.warnings
                    .keep_only(snapshot.tasks.iter().map(|t| t.id.as_deref()));
                let snapshot = Arc::new(snapshot);
                self.previous = Some(snapshot.clone());
                self.state.publish_success(snapshot);
                self.metrics.poll_succeeded(elapsed);
                // The first success and a recovery are news; the rest is routine.
                if tasks == 0 && self.filters.narrows() && self.last_success.is_none() {
                    tracing::warn!(
                        "the filters matched no task: check --space-id, --space-name, --task-name, --project-id, --dataset-id and --task-type"
                    );
                }
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
                self.metrics.poll_failed(error.reason, elapsed);
                self.state.publish_failure(error.clone(), SystemTime::now());
                self.last_success = Some(false);
                Err(error)
            }
        }
    }

    /// Every page of every space filter (or one unfiltered listing).
    async fn fetch(&mut self) -> Result<TaskSnapshot, ApiError> {
        let session = self.client.session()?;
        let filters = &self.filters;
        let spaces: Vec<Option<_>> = if filters.spaces.is_empty() {
            vec![None]
        } else {
            filters.spaces.iter().map(Some).collect()
        };
        let mut builder = SnapshotBuilder::new(!filters.spaces.is_empty(), &mut self.warnings)
            .with_task_runs(self.task_runs)
            .with_evaluators(self.evaluators);
        if let Some(previous) = self.previous.clone() {
            builder = builder.reuse(previous);
        }
        for space in spaces {
            let label = space.map(|s| s.label());
            tasks::for_each_page(&session, filters, space, self.page_size, |tasks| {
                builder.add_page(tasks, label, filters.task_type.as_deref())
            })
            .await?;
        }
        if self.task_runs {
            let backlog =
                read_runs(&session, &mut builder, self.max_run_requests, &self.metrics).await;
            self.metrics.set_task_runs_backlog(backlog);
        }
        // Names never decide a poll: a failed read keeps the names before.
        if let Some(reader) = &mut self.names {
            reader.refresh_if_due(&session, &self.metrics).await;
            builder = builder.with_names(reader.names());
        }
        Ok(builder.finish(SystemTime::now()))
    }
}

/// Reads the runs of the tasks of the complete list in `builder` that need
/// it, oldest run data first, within `max_requests` HTTP requests (every
/// page and retry counted). A failed read is counted and logged, and the
/// task keeps its earlier run data; a final 429 or an `unauthorized` stops
/// the reads of this poll; a 404 (the task was deleted meanwhile) is
/// normal. Returns how many due tasks were left for the next poll.
async fn read_runs(
    session: &Session<'_>,
    builder: &mut SnapshotBuilder<'_>,
    max_requests: u32,
    metrics: &ExporterMetrics,
) -> usize {
    let due = builder.runs_due();
    let allowance = Allowance::new(max_requests);
    let mut handled = 0;
    let mut failed = 0;
    let mut last_error: Option<ApiError> = None;
    for &index in &due {
        if allowance.left() == 0 {
            break;
        }
        let Some(id) = builder.tasks()[index].id.clone() else {
            handled += 1;
            continue;
        };
        let whole_allowance = allowance.left() == max_requests;
        let error = match runs::read_newest(session, &id, &allowance).await {
            Ok(task_runs) => {
                builder.set_runs(index, task_runs, unix_seconds(SystemTime::now()));
                handled += 1;
                continue;
            }
            // Cut short by the allowance: the task goes first next poll,
            // with the whole allowance for it.
            Err(ReadError::AllowanceSpent { .. }) if !whole_allowance => break,
            // Even the whole allowance is not enough: what was read is all
            // this task can have (else it would take every poll's allowance
            // for ever), and the shortfall is counted.
            Err(ReadError::AllowanceSpent { pages, runs: read }) => {
                builder.set_runs(index, read, unix_seconds(SystemTime::now()));
                ApiError::fatal(
                    FailureReason::Pagination,
                    format!(
                        "{}: the newest runs are beyond the {pages} pages that --max-run-requests-per-poll ({max_requests}) allows; using the newest of those read",
                        runs::PATH
                    ),
                )
            }
            Err(ReadError::Api(error)) if error.status == Some(404) => {
                tracing::debug!(task_id = %id, error = %error, "the task is gone (404); its runs were not read");
                handled += 1;
                continue;
            }
            Err(ReadError::Api(error)) => error,
        };
        handled += 1;
        failed += 1;
        metrics.task_run_failed(error.reason);
        tracing::debug!(task_id = %id, reason = %error.reason, error = %error.message, "reading a task's runs failed");
        let stop = matches!(
            error.reason,
            FailureReason::RateLimited | FailureReason::Unauthorized
        );
        last_error = Some(error);
        if stop {
            break;
        }
    }
    let backlog = due.len() - handled;
    if let Some(error) = last_error {
        tracing::warn!(
            failed,
            backlog,
            reason = %error.reason,
            error = %error.message,
            "reading some tasks' runs failed; they keep their earlier run data (the last failure is shown)"
        );
    }
    tracing::debug!(
        due = due.len(),
        read = handled - failed,
        failed,
        backlog,
        requests = max_requests - allowance.left(),
        "task runs read"
    );
    backlog
}
