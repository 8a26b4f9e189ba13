//! The exporter assembled: [`App::build`] wires the API client, the poller,
//! the shared state, the metrics and the router from the settings (the
//! binary, the tests and the benchmarks all build it here);
//! [`App::poll_once`] runs one poll, [`App::serve`] polls and serves until
//! a signal. [`run`] is what the binary does with them.

use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use reqwest::Url;

use crate::arize::{ApiError, ArizeClient, ClientBuildError};
use crate::config::{Settings, Target};
use crate::metrics::{ExporterMetrics, Exposition};
use crate::poller::Poller;
use crate::server::{self, AppState};
use crate::signals::{Request, Signals};
use crate::state::SharedState;
use crate::web::{self, BindError, WebConfigError, WebConfigHandle};

/// Tasks per page the demo simulator serves: a dozen tasks over several
/// pages, as a real account would be.
#[cfg(feature = "demo")]
const DEMO_PAGE_SIZE: usize = 5;

/// Why the exporter cannot run. Each says what failed; the cause is its
/// [`source`](std::error::Error::source), and the binary prints the whole
/// chain on one line (`error: poll failed: unauthorized: ...`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `--web.config.file` cannot be read or used: checked at start, exit
    /// code 2 like a bad flag.
    #[error("invalid value for '--web.config.file'")]
    WebConfig(#[source] WebConfigError),
    /// A listen address cannot be bound (in use, no permission, a name
    /// that does not resolve): exit code 2 like a bad flag.
    #[error("invalid value for '--web.listen-address' (alias --listen-address)")]
    Listen(#[source] BindError),
    #[error("cannot start the demo simulator")]
    Demo(#[source] std::io::Error),
    #[error(
        "this build has no demo mode (built without the `demo` feature): use --api-url and a key"
    )]
    NoDemo,
    #[error(transparent)]
    Client(#[from] ClientBuildError),
    /// `--once`: the poll failed.
    #[error("poll failed")]
    Poll(#[source] ApiError),
    #[error("cannot write to stdout")]
    Stdout(#[source] std::io::Error),
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

impl AppError {
    /// The process exit code: 2 for configuration, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::WebConfig(_) | AppError::Listen(_) | AppError::NoDemo => 2,
            _ => 1,
        }
    }
}

/// The exporter's parts, wired.
pub struct App {
    pub state: Arc<SharedState>,
    pub metrics: Arc<ExporterMetrics>,
    pub poller: Poller,
    /// What the HTTP handlers share.
    pub server: Arc<AppState>,
    /// The URL polled: the real API, or the demo simulator's.
    pub api_url: Url,
    /// `--web.config.file`, read and checked; reloaded while serving.
    web: WebConfigHandle,
    settings: Settings,
    /// Demo mode: the simulator serves as long as the app lives.
    #[cfg(feature = "demo")]
    _simulator: Option<arize_sim::Simulator>,
}

impl App {
    /// Wires the exporter from `settings`; in demo mode, starts the
    /// simulator on a loopback port first.
    pub async fn build(settings: Settings) -> Result<App, AppError> {
        warn_unmatched(&settings);
        // A bad web configuration stops the exporter at start, like a bad flag.
        let web = match &settings.web.config_file {
            Some(path) => WebConfigHandle::load(path).map_err(AppError::WebConfig)?,
            None => WebConfigHandle::none(),
        };
        let metrics = Arc::new(ExporterMetrics::new());
        let state = Arc::new(SharedState::new(settings.exposition.store()));
        #[cfg(feature = "demo")]
        let mut simulator = None;
        let (api_url, key) = match &settings.target {
            Target::Remote { base_url, key } => (base_url.clone(), Some(key.clone())),
            #[cfg(feature = "demo")]
            Target::Demo => {
                let sim = arize_sim::Simulator::start(arize_sim::demo_tasks(
                    time::OffsetDateTime::now_utc(),
                ))
                .await
                .map_err(AppError::Demo)?;
                sim.cap_page_size(DEMO_PAGE_SIZE);
                let url = Url::parse(&sim.base_url()).map_err(|e| {
                    AppError::Demo(std::io::Error::other(format!(
                        "the simulator's URL is invalid: {e}"
                    )))
                })?;
                tracing::info!(url = %url, "demo mode: polling the built-in simulated Arize API (try {url}v2/tasks)");
                simulator = Some(sim);
                (url, None)
            }
            #[cfg(not(feature = "demo"))]
            Target::Demo => return Err(AppError::NoDemo),
        };
        let client = ArizeClient::new(api_url.clone(), key, &settings.client, metrics.clone())?;
        let poller = Poller::new(client, &settings.poll, state.clone(), metrics.clone());
        let server = Arc::new(AppState {
            state: state.clone(),
            metrics: metrics.clone(),
            exposition: settings.exposition,
            telemetry_path: settings.web.telemetry_path.clone(),
            demo: matches!(settings.target, Target::Demo),
        });
        Ok(App {
            state,
            metrics,
            poller,
            server,
            api_url,
            web,
            settings,
            #[cfg(feature = "demo")]
            _simulator: simulator,
        })
    }

    /// The settings the app was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// One poll, published; its error is returned, not logged.
    pub async fn poll_once(&mut self) -> Result<(), ApiError> {
        self.poller.poll_once().await
    }

    /// The exposition as a scrape at `now` would see it.
    pub fn exposition(&self, now: SystemTime) -> Exposition {
        Exposition::new(
            self.state.load(),
            &self.metrics,
            &self.settings.exposition,
            now,
        )
    }

    /// What SIGHUP reloads: the web configuration and, through a poll at
    /// once, the API key file. Take it before [`App::serve`].
    pub fn reloader(&self) -> Reloader {
        Reloader {
            web: self.web.clone(),
            poll_now: self.poller.poll_now_handle(),
        }
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        server::router(self.server.clone())
    }

    /// Binds every `--web.listen-address` (logging each address actually
    /// bound, so that port 0 can be used), polls in the background and
    /// serves, with the TLS, basic auth and limits of `--web.config.file`
    /// and `--web.max-requests`, until `shutdown` resolves; a poll in
    /// progress is then abandoned.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        web::raise_open_files_limit();
        let listeners = web::bind(&self.settings.web.listen_addresses)
            .await
            .map_err(AppError::Listen)?;
        self.log_start();
        let router = self.router();
        let polling = self.poller.spawn().map_err(AppError::Serve)?;
        let served = web::serve(
            listeners,
            router,
            self.web,
            self.settings.web.max_requests,
            shutdown,
        )
        .await;
        // A poll in progress is abandoned: nothing it would publish is needed now.
        drop(polling);
        served.map_err(AppError::Serve)?;
        tracing::info!("shut down");
        Ok(())
    }

    /// One line with what is in force: where the API is, the filters and
    /// the thresholds.
    fn log_start(&self) {
        let s = &self.settings;
        let filters = &s.poll.filters;
        let spaces: Vec<&str> = filters.spaces.iter().map(|f| f.label()).collect();
        let staleness = &s.exposition.staleness;
        tracing::info!(
            version = crate::config::VERSION,
            api_url = %self.api_url,
            telemetry_path = %s.web.telemetry_path,
            poll_interval = %humantime::format_duration(s.poll.interval),
            spaces = %spaces.join(","),
            task_name = filters.name.as_deref().unwrap_or(""),
            project_id = filters.project_id.as_deref().unwrap_or(""),
            dataset_id = filters.dataset_id.as_deref().unwrap_or(""),
            task_type = filters.task_type.as_deref().unwrap_or(""),
            stale_after = %humantime::format_duration(staleness.after),
            stale_after_intervals = staleness.after_intervals,
            stale_after_min = %humantime::format_duration(staleness.min),
            task_runs = s.poll.task_runs,
            max_run_requests_per_poll = s.poll.max_run_requests,
            per_task_metrics = s.exposition.per_task_metrics,
            "arize-exporter started"
        );
    }
}

/// Says at start (`--once` too) each expression of the metric list that
/// matches no family: a typo silently drops every family (allowlist) or
/// none (denylist).
fn warn_unmatched(settings: &Settings) {
    let Some(list) = &settings.metric_list else {
        return;
    };
    for expression in &list.unmatched {
        tracing::warn!(
            flag = list.kind.flag(),
            expression = %expression,
            "the expression matches no family the list filters (arize_tasks*, arize_task_*; arize_up, arize_exporter_* and process_* are always served)"
        );
    }
}

/// What SIGHUP reloads (see [`App::reloader`]); cheap to clone.
#[derive(Clone)]
pub struct Reloader {
    web: WebConfigHandle,
    poll_now: Arc<tokio::sync::Notify>,
}

impl Reloader {
    /// Re-reads the web configuration file now and starts a poll, which
    /// re-reads the API key file; logs that it did.
    pub async fn reload(&self) {
        self.poll_now.notify_one();
        let changed = self.web.reload_now().await;
        tracing::info!(
            web_config = %self.web.path().map(|p| p.display().to_string()).unwrap_or_default(),
            web_config_changed = changed,
            "SIGHUP: web configuration re-read; polling now, which re-reads the API key file"
        );
    }
}

/// What the binary does: with `--once`, one poll and the exposition on
/// stdout; otherwise poll and serve until SIGTERM or SIGINT (gracefully;
/// a second signal ends it at once), reloading on SIGHUP.
pub async fn run(settings: Settings) -> Result<(), AppError> {
    let once = settings.once;
    // Installed first: a SIGHUP while the app is built must not end it.
    let signals = (!once).then(Signals::install);
    let mut app = App::build(settings).await?;
    if let Some(mut signals) = signals {
        let reloader = app.reloader();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = app.serve(async {
            let _ = stopped.await;
        });
        let signalled = async move {
            let mut stop = Some(stop);
            loop {
                match signals.next().await {
                    Request::Reload => {
                        let reloader = reloader.clone();
                        tokio::spawn(async move { reloader.reload().await });
                    }
                    Request::Stop(name) => match stop.take() {
                        Some(stop) => {
                            tracing::info!(
                                signal = name,
                                "shutting down: requests in flight may finish; a second signal ends at once"
                            );
                            let _ = stop.send(());
                        }
                        None => {
                            tracing::warn!(signal = name, "second signal: exiting now");
                            return;
                        }
                    },
                }
            }
        };
        return tokio::select! {
            served = serving => served,
            () = signalled => Ok(()),
        };
    }
    app.poll_once().await.map_err(AppError::Poll)?;
    let mut stdout = std::io::stdout().lock();
    let written = app
        .exposition(SystemTime::now())
        .try_for_each(|chunk| stdout.write_all(&chunk))
        .and_then(|()| stdout.flush());
    match written {
        // The reader went away (`--once | head`): that is its choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(AppError::Stdout),
    }
}
