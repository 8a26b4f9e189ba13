//! The HTTP endpoints: the telemetry path, the landing page `/`, and the
//! probes `/healthz` and `/readyz`. Every handler reads the published
//! state; none ever calls the Arize API.

mod landing;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics::{ExporterMetrics, Exposition, ExpositionSettings};
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
    Router::new()
        .route("/", get(landing::page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(&app.telemetry_path, get(metrics))
        .with_state(app)
}

/// Chunks of a scrape rendered ahead of what the connection has written:
/// the next chunk renders on one worker while the last one is written on
/// the other, so a large scrape takes about the longer of the two instead
/// of their sum. A scraper that stops reading holds this many chunks (256
/// KiB each at most, see [`Exposition`]) and a parked task, no thread.
const CHUNKS_AHEAD: usize = 2;

/// The telemetry path: gzip when the scraper accepts it (see
/// [`accepts_gzip`]), plain text otherwise; compressed here rather than by
/// a generic layer so that what is fixed until the next poll is compressed
/// once (see [`Exposition::gzip`]).
async fn metrics(State(app): State<Arc<AppState>>, request: HeaderMap) -> Response {
    let gzip = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let gzip = accepts_gzip(&gzip);
    let mut exposition = Exposition::new(
        app.state.load(),
        &app.metrics,
        &app.exposition,
        SystemTime::now(),
    );
    if gzip {
        exposition = exposition.gzip();
    }
    // The exposition renders on a task of its own, at most CHUNKS_AHEAD
    // chunks ahead of the connection's writes.
    let (chunks, mut rendered) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        for chunk in exposition {
            if chunks.send(chunk).await.is_err() {
                // The scraper hung up: dropping the exposition gives its
                // unfinished gzip segments back to the next scrape.
                break;
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        rendered
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, Infallible>))
    }));
    let mut response = (
        [
            (header::CONTENT_TYPE, text::CONTENT_TYPE),
            (header::VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    response
}

/// Whether an `Accept-Encoding` value (RFC 9110: codings with optional
/// `;q=` weights, `*` for any other coding) accepts gzip: `gzip` or
/// `x-gzip` with a weight above 0, or else `*` with a weight above 0.
/// Plain text is always served otherwise, `identity;q=0` included (the
/// only other choice would be 406, which no scraper can use).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())?
            })
            .next_back()
            .unwrap_or(1.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(weight, |w: f32| w.max(weight)));
        } else if coding == "*" {
            any = Some(weight);
        }
    }
    gzip.or(any).is_some_and(|w| w > 0.0)
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

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_served_when_accepted_with_a_weight_above_zero() {
        for yes in [
            "gzip",
            "GZIP",
            "x-gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.8, *;q=0.1",
            "identity;q=0, gzip",
            "*",
            "*;q=0.5",
            "gzip;q=0.001",
            "deflate, gzip ; q = 1",
        ] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "deflate, br",
            "gzip;q=0",
            "gzip;q=0.0, identity",
            "*;q=0",
            "gzip;q=0, *",
            "zstd, *;q=0",
            "gzipped",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }
}
