//! The HTTP endpoints: the telemetry path, the landing page `/`, and the
//! probes `/healthz` and `/readyz`. Every handler reads the published
//! state; none ever calls the Arize API.

mod landing;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};

use crate::config::ExpositionSettings;
use crate::metrics::{ExporterMetrics, Exposition};
use crate::state::SharedState;
use crate::text_format as text;

/// What the handlers share.
pub struct AppState {
    pub state: Arc<SharedState>,
    pub metrics: Arc<ExporterMetrics>,
    pub exposition: ExpositionSettings,
    /// `--web.telemetry-path`.
    pub telemetry_path: String,
    /// Polling the built-in simulator (`--demo`): the landing page says so.
    pub demo: bool,
}

/// The exporter's routes: the telemetry path (gzip when asked), `/`,
/// `/healthz` and `/readyz`.
pub fn router(app: Arc<AppState>) -> Router {
    let telemetry = Router::new()
        .route(&app.telemetry_path, get(metrics))
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd(),
        );
    Router::new()
        .route("/", get(landing::page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(telemetry)
        .with_state(app)
}

/// Serves `router` on every listener until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        // The body goes out in many small writes (gzip frames especially):
        // without TCP_NODELAY, Nagle's algorithm holds the last one until the
        // scraper's delayed ACK, adding ~40 ms to every scrape.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a scrape connection");
            }
        });
        let mut stopped = stopped.clone();
        let served = axum::serve(listener, router.clone()).with_graceful_shutdown(async move {
            let _ = stopped.changed().await;
        });
        servers.spawn(async move { served.await });
    }
    drop(stopped);
    tokio::select! {
        () = shutdown => {}
        Some(ended) = servers.join_next() => {
            // A server ended on its own: that is an error, stop the rest.
            let _ = stop.send(());
            servers.join_all().await;
            return ended.map_err(std::io::Error::other)?;
        }
    }
    let _ = stop.send(());
    for ended in servers.join_all().await {
        ended?;
    }
    Ok(())
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let exposition = Exposition::new(
        app.state.load(),
        &app.metrics,
        &app.exposition,
        SystemTime::now(),
    );
    let body = Body::from_stream(futures_util::stream::iter(
        exposition.map(Ok::<_, Infallible>),
    ));
    ([(header::CONTENT_TYPE, text::CONTENT_TYPE)], body).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if app.state.load().ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first poll to end\n",
        )
    }
}
