//! The connection loop: TLS per connection from the configuration in
//! force, HTTP/1.1 or HTTP/2, then for each request the rate limit, the
//! concurrency cap, basic auth and the configured headers around the
//! router.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use super::{WebConfig, WebConfigHandle};

/// How long a client may hold a connection or a request slot without
/// doing its part. [`Timeouts::default`] is what the exporter uses; tests
/// and benchmarks may shorten them with [`serve_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept to the first complete request head: the TLS handshake
    /// and the HTTP/1-or-2 detection included (default 10 s).
    pub head: Duration,
    /// A keep-alive connection with no request in flight is closed after
    /// this long (default 90 s: longer than a 1-minute scrape interval, so
    /// Prometheus keeps its connection between scrapes).
    pub idle: Duration,
    /// A response whose bytes the client has not taken for this long (a
    /// scraper that stopped reading) is aborted and its connection closed,
    /// which frees its `--web.max-requests` slot (default 30 s).
    pub write: Duration,
    /// After the shutdown signal, requests in flight get this long to
    /// finish before `serve` returns anyway (default 10 s).
    pub grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            head: Duration::from_secs(10),
            idle: Duration::from_secs(90),
            write: Duration::from_secs(30),
            grace: Duration::from_secs(10),
        }
    }
}

/// Paths that stay open without credentials: kubelet probes cannot send
/// them.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

struct Shared {
    router: Router,
    web: WebConfigHandle,
    /// `None`: no cap on concurrent requests.
    slots: Option<Arc<Semaphore>>,
    timeouts: Timeouts,
}

/// Serves `router` on every listener (from [`super::bind`]) until
/// `shutdown` resolves, then stops accepting and waits for the requests
/// in flight to finish. While it runs, the web configuration file is
/// re-checked every [`super::RELOAD_INTERVAL`]; each new connection uses
/// the configuration then in force.
///
/// For every request, in this order: `rate_limit` (429 beyond it), then at
/// most `max_requests` at once (503 at once beyond it; a request counts
/// until its whole body has been written; 0: no cap), then basic auth
/// (401 with `WWW-Authenticate: Basic`; `/healthz` and `/readyz` stay
/// open), then the router. The configured headers go on every answer.
/// `/healthz` and `/readyz` never count against `max_requests`: a kubelet
/// probe must not fail because scrapers are slow. Every connection is held
/// to [`Timeouts::default`]. Accepted sockets get `TCP_NODELAY`. Errors:
/// none today (a failed accept is logged and retried); the `Result` leaves
/// room.
pub async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    web: WebConfigHandle,
    max_requests: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listeners,
        router,
        web,
        max_requests,
        Timeouts::default(),
        shutdown,
    )
    .await
}

/// [`serve`] with other [`Timeouts`] (tests use short ones).
pub async fn serve_with(
    listeners: Vec<TcpListener>,
    router: Router,
    web: WebConfigHandle,
    max_requests: usize,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = (max_requests > 0)
        .then(|| Arc::new(Semaphore::new(max_requests.min(Semaphore::MAX_PERMITS))));
    tracing::info!(
        tls = web.tls_enabled(),
        basic_auth = web.auth_enabled(),
        max_requests,
        "serving"
    );
    let shared = Arc::new(Shared {
        router,
        web,
        slots,
        timeouts,
    });
    // Stops with `serve`, even when `serve` itself is dropped.
    let _reloader = AbortOnDrop(shared.web.spawn_reloader());
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut loops = Vec::with_capacity(listeners.len());
    for listener in listeners {
        loops.push(tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            graceful.clone(),
            stop_rx.clone(),
        )));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for accept in loops {
        let _ = accept.await;
    }
    // Every accept loop has ended, so this is the last reference.
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        graceful.shutdown().await;
    }
    Ok(())
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: do not spin.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // The body goes out in many small writes: without TCP_NODELAY,
        // Nagle's algorithm holds the last one until the scraper's delayed
        // ACK, adding ~40 ms to every scrape.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
        let config = shared.web.current();
        let shared = shared.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = WriteDeadline::new(stream, shared.timeouts.write);
            match &config.tls {
                None => serve_connection(TokioIo::new(stream), false, shared, watcher).await,
                Some(tls) => {
                    let accept = TlsAcceptor::from(tls.clone()).accept(stream);
                    match tokio::time::timeout(shared.timeouts.head, accept).await {
                        Ok(Ok(stream)) => {
                            serve_connection(TokioIo::new(stream), config.http2, shared, watcher)
                                .await
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve_connection<I>(io: TokioIo<I>, http2: bool, shared: Arc<Shared>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.timeouts.head);
    builder.http2().timer(TokioTimer::new());
    if !http2 {
        builder = builder.http1_only();
    }
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, request).await) }
    });
    let connection = builder.serve_connection(io, service).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// A connection's socket that fails a write (and with it the connection)
/// when the peer has taken no byte for `limit`: a scraper that stopped
/// reading cannot hold its response, its request slot and its memory
/// forever. Below TLS, so that TLS records count as progress too.
struct WriteDeadline<T> {
    io: T,
    limit: Duration,
    /// Armed at the first write that could not proceed since the last one
    /// that did.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, limit: Duration) -> Self {
        Self {
            io,
            limit,
            stalled: None,
        }
    }

    /// After a write that returned `Pending`: `Pending` again until the
    /// limit, then a `TimedOut` error. The timer wakes the task, so the
    /// error is returned even if the socket never becomes writable.
    fn check_stalled<R>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<R>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client took no byte of the response for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(
        &mut self,
        poll: Poll<std::io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.check_stalled(cx),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(poll, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(poll, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(poll, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progress(poll, cx)
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<CountedBody> {
    let config = shared.web.current();
    if config.rate.as_ref().is_some_and(|rate| !rate.allow()) {
        return refusal(
            &config,
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests\n",
        );
    }
    let probe = OPEN_PATHS.contains(&request.uri().path());
    let permit = match &shared.slots {
        None => None,
        // A kubelet probe must not fail because scrapers are slow.
        Some(_) if probe => None,
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return refusal(
                    &config,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many requests in flight\n",
                )
            }
        },
    };
    if let Some(users) = &config.users {
        if !probe
            && !shared
                .web
                .cache()
                .authorize(users, request.headers().get(header::AUTHORIZATION))
                .await
        {
            let mut response = refusal(&config, StatusCode::UNAUTHORIZED, "Unauthorized\n");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            return response;
        }
    }
    let response = match tower::Service::call(&mut shared.router.clone(), request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (mut parts, body) = response.into_parts();
    add_headers(&config, &mut parts.headers);
    Response::from_parts(
        parts,
        CountedBody {
            body,
            _permit: permit,
        },
    )
}

fn add_headers(config: &WebConfig, headers: &mut axum::http::HeaderMap) {
    for (name, value) in &config.headers {
        headers.insert(name.clone(), value.clone());
    }
}

fn refusal(config: &WebConfig, status: StatusCode, text: &'static str) -> Response<CountedBody> {
    let mut response = Response::new(CountedBody {
        body: Body::from(text),
        _permit: None,
    });
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    add_headers(config, response.headers_mut());
    response
}

/// A response body holding its request's slot until the body is done
/// (hyper drops it after the last frame is written, or when the client
/// goes away).
struct CountedBody {
    body: Body,
    _permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
