//! The HTTP endpoints: the telemetry path, the landing page `/`, and the
//! probes `/healthz` and `/readyz`. Every handler reads the published
//! state; none ever calls the Arize API.

mod landing;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
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
