//! `arize_exporter::web::serve` in process with a tiny router, and a
//! client's view of it: the web layer's harness, for its plain HTTP tests
//! (hermetic suite) and its TLS ones (tools suite).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arize_exporter::web::{bind, serve, WebConfigHandle};
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, Semaphore};

/// What `/metrics` answers: a valid exposition, for Prometheus.
pub const METRICS: &str = "# TYPE web_test_value gauge\nweb_test_value 1\n";

/// Requests to `/stream` send a first chunk, then wait for a permit here
/// before the last one: a response that is not finished yet.
pub fn router(gate: Arc<Semaphore>) -> Router {
    Router::new()
        .route("/", get(|| async { "home\n" }))
        .route("/metrics", get(|| async { METRICS }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/stream", get(stream))
        .with_state(gate)
}

pub async fn stream(State(gate): State<Arc<Semaphore>>) -> Body {
    let chunks = futures_util::stream::unfold(0, move |step| {
        let gate = gate.clone();
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>("first\n"), 1)),
                1 => {
                    gate.acquire().await.ok()?.forget();
                    Some((Ok("last\n"), 2))
                }
                _ => None,
            }
        }
    });
    Body::from_stream(chunks)
}

pub struct Server {
    pub addrs: Vec<SocketAddr>,
    pub gate: Arc<Semaphore>,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(web: WebConfigHandle, addresses: &[&str], max_requests: usize) -> Server {
        let addresses: Vec<_> = addresses
            .iter()
            .map(|a| a.parse().expect("a listen address"))
            .collect();
        let listeners = bind(&addresses).await.expect("bind");
        let addrs = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let gate = Arc::new(Semaphore::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listeners,
            router(gate.clone()),
            web,
            max_requests,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addrs,
            gate,
            stop: Some(stop),
            task,
        }
    }

    pub async fn tls(config: &Path) -> Server {
        Server::start(
            WebConfigHandle::load(config).expect("valid web config"),
            &["127.0.0.1:0"],
            0,
        )
        .await
    }

    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    pub fn https(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port())
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Status and body, or the error's text.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    let mut request = client.get(url);
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("{e:?}"))?;
    Ok((status, body))
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}
