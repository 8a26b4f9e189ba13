//! Wires the parts together: the API client, the poller, the shared state
//! and the HTTP server (or, with `--once`, a single poll to stdout).

use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

#[cfg(feature = "demo")]
use reqwest::Url;
use tokio::net::TcpListener;

use crate::arize::ArizeClient;
use crate::config::Settings;
use crate::metrics::{ExporterMetrics, Exposition, RenderOptions};
use crate::poller::Poller;
use crate::server::{self, AppState};
use crate::state::SharedState;
#[cfg(feature = "demo")]
use arize_sim::{self as simulator, Simulator};

/// Tasks per page the demo simulator serves.
#[cfg(feature = "demo")]
const DEMO_PAGE_SIZE: usize = 5;

/// Runs the exporter until SIGTERM or SIGINT (or, with `--once`, for one
/// poll). The error is one line saying why the exporter cannot run.
pub async fn run(settings: Settings) -> Result<(), String> {
    let metrics = Arc::new(ExporterMetrics::new());
    let state = Arc::new(SharedState::default());
    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut api = settings.api.clone();
    // Demo mode: the simulator lives as long as this function.
    #[cfg(not(feature = "demo"))]
    if settings.demo {
        return Err("--demo is not available: this build has no demo mode (built without the `demo` feature)".to_owned());
    }
    #[cfg(feature = "demo")]
    let _simulator = if settings.demo {
        let simulator = Simulator::start(simulator::demo_tasks(time::OffsetDateTime::now_utc()))
            .await
            .map_err(|e| format!("cannot start the demo simulator: {e}"))?;
        // A dozen tasks over several pages, as a real account would be.
        simulator.cap_page_size(DEMO_PAGE_SIZE);
        let url = simulator.base_url();
        tracing::info!(url = %url, "demo mode: polling the built-in simulated Arize API (try {url}/v2/tasks)");
        api.base_url =
            Url::parse(&url).map_err(|e| format!("the simulator's URL {url} is invalid: {e}"))?;
        Some(simulator)
    } else {
        None
    };
    let client = ArizeClient::new(&api, metrics.api.clone())?;
    let mut poller = Poller::new(
        client,
        settings.filters.clone(),
        api.page_size,
        state.clone(),
        metrics.clone(),
    );
    let render = RenderOptions {
        stale_after: settings.stale_after,
        per_task_metrics: settings.per_task_metrics,
    };

    if settings.once {
        poller
            .poll_once()
            .await
            .map_err(|e| format!("poll failed: {e}"))?;
        let mut stdout = std::io::stdout().lock();
        for chunk in Exposition::new(state.load(), &metrics, render, SystemTime::now()) {
            stdout
                .write_all(&chunk)
                .map_err(|e| format!("cannot write to stdout: {e}"))?;
        }
        return stdout
            .flush()
            .map_err(|e| format!("cannot write to stdout: {e}"));
    }

    let listener = TcpListener::bind(settings.listen_address)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on --listen-address {}: {e}",
                settings.listen_address
            )
        })?;
    tracing::info!(
        address = %settings.listen_address,
        telemetry_path = %settings.telemetry_path,
        api_url = %api.base_url,
        poll_interval = %humantime::format_duration(settings.poll_interval),
        version = env!("CARGO_PKG_VERSION"),
        "arize-exporter listening"
    );
    let polling = tokio::spawn(poller.run(settings.poll_interval));
    let app = Arc::new(AppState {
        state,
        metrics,
        render,
        telemetry_path: settings.telemetry_path.clone(),
    });
    let served = server::serve(listener, app, shutdown_signal()).await;
    // A poll in progress is abandoned: nothing it would publish is needed now.
    polling.abort();
    served.map_err(|e| format!("the HTTP server failed: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
