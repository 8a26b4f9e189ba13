//! The connection loop: TLS per connection from the configuration in
//! force, HTTP/1.1 or HTTP/2, then for each request the rate limit, the
//! concurrency cap, basic auth and the configured headers around the
//! router. Every connection is held to [`Timeouts`] by a watchdog, so that
//! no client can hold a descriptor, a request slot or the shutdown forever.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
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
    /// A response that has made no progress for this long (no byte taken
    /// by the client: a scraper that stopped reading, over HTTP/1 or
    /// HTTP/2) is aborted and its connection closed, which frees its
    /// `--web.max-requests` slot (default 30 s).
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
/// in flight to finish, at most [`Timeouts::grace`]. While it runs, the web configuration file is
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
    // Requests in flight get `grace` to finish; a client that never
    // reads cannot keep the process alive past it.
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        if tokio::time::timeout(shared.timeouts.grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                grace = %humantime::format_duration(shared.timeouts.grace),
                "requests still in flight at the end of the grace period are abandoned"
            );
        }
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

/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE: u8 = 0x16;

/// What Go's servers answer to plain HTTP on a TLS listener.
const PLAIN_HTTP_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// The first byte the client sent, without taking it; `None` when the
/// connection closed or failed first.
async fn first_byte(stream: &TcpStream) -> Option<u8> {
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        Ok(1) => Some(byte[0]),
        _ => None,
    }
}

/// Plain HTTP on a TLS listener (the first byte is a method's letter,
/// not a TLS record): a readable 400 instead of a TLS alert, as Go's
/// servers answer, then the connection is closed.
async fn answer_plain_http(mut stream: TcpStream, deadline: Instant) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = async {
        stream.write_all(PLAIN_HTTP_ANSWER).await?;
        stream.shutdown().await?;
        // Closing with the request unread would reset the connection,
        // and the client could lose the answer: read it first.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    if let Ok(Err(error)) = tokio::time::timeout_at(deadline, answer).await {
        tracing::debug!(%error, "cannot answer plain HTTP on the TLS listener");
    }
}

/// Pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one warning about failed accepts this often.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(5);

/// Failed accepts of one listener, logged at most once every
/// [`ACCEPT_WARNING_INTERVAL`] with how many were not logged.
#[derive(Default)]
struct AcceptFailures {
    last_warning: Option<Instant>,
    unlogged: u64,
}

impl AcceptFailures {
    fn failed(&mut self, error: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|last| now < last + ACCEPT_WARNING_INTERVAL)
        {
            self.unlogged = self.unlogged.saturating_add(1);
            return;
        }
        let out_of_descriptors = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
        tracing::warn!(
            %error,
            out_of_descriptors,
            failed_since_last_warning = self.unlogged,
            "cannot accept connections; retrying"
        );
        self.last_warning = Some(now);
        self.unlogged = 0;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures = AcceptFailures::default();
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: the listener stays
                // readable, so do not spin; the connections waiting are
                // taken once descriptors free up.
                failures.failed(&error);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
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
            // The first request head is due this long after the accept,
            // TLS handshake included.
            let first_deadline = Instant::now() + shared.timeouts.head;
            if config.tls.is_some() {
                match tokio::time::timeout_at(first_deadline, first_byte(&stream)).await {
                    Ok(Some(TLS_HANDSHAKE)) => {}
                    Ok(Some(byte)) if byte.is_ascii_uppercase() => {
                        return answer_plain_http(stream, first_deadline).await;
                    }
                    // Neither TLS nor HTTP, closed, or nothing in time.
                    _ => return,
                }
            }
            let activity = Arc::new(Activity::new());
            let stream = Tracked {
                io: stream,
                activity: activity.clone(),
            };
            match &config.tls {
                None => {
                    serve_connection(stream, false, shared, watcher, activity, first_deadline).await
                }
                Some(tls) => {
                    let accept = TlsAcceptor::from(tls.clone()).accept(stream);
                    match tokio::time::timeout_at(first_deadline, accept).await {
                        Ok(Ok(stream)) => {
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            activity.http1.store(!h2, Ordering::Relaxed);
                            serve_connection(
                                stream,
                                config.http2,
                                shared,
                                watcher,
                                activity,
                                first_deadline,
                            )
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

async fn serve_connection<I>(
    io: I,
    http2: bool,
    shared: Arc<Shared>,
    watcher: Watcher,
    activity: Arc<Activity>,
    first_deadline: Instant,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeouts = shared.timeouts;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's own timer would also cut an idle keep-alive connection at
    // the head bound: the watchdog bounds heads, hyper only the idle wait.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle);
    builder.http2().timer(TokioTimer::new());
    if !http2 {
        builder = builder.http1_only();
    }
    let in_service = activity.clone();
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        let in_flight = InFlight::start(in_service.clone());
        async move { Ok::<_, Infallible>(handle(shared, request, in_flight).await) }
    });
    let connection = builder.serve_connection(TokioIo::new(io), service);
    let connection = watcher.watch(connection.into_owned());
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        why = watchdog(&activity, first_deadline, timeouts) => {
            tracing::debug!(why, "connection closed");
        }
    }
}

/// What a connection's [`watchdog`] watches: its requests in flight and
/// when it last moved a response forward.
struct Activity {
    /// Requests whose response is not entirely written yet.
    in_flight: watch::Sender<usize>,
    /// Requests received so far.
    requests: AtomicU64,
    /// When a response last made progress (a frame taken from a body, or
    /// bytes written to the socket), in milliseconds since `epoch`.
    progress_ms: AtomicU64,
    /// HTTP/1 only: when the first byte of the next request head arrived
    /// on an idle connection, in milliseconds since `epoch`; [`NOT_YET`]
    /// before. (HTTP/2 sends frames between requests, so it has no such
    /// moment: idle HTTP/2 connections are held to the idle bound.)
    head_started_ms: AtomicU64,
    /// The connection speaks HTTP/1 (known after ALPN), so bytes between
    /// requests start a request head.
    http1: AtomicBool,
    epoch: Instant,
}

const NOT_YET: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: watch::Sender::new(0),
            requests: AtomicU64::new(0),
            progress_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(NOT_YET),
            http1: AtomicBool::new(true),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        // Below NOT_YET for 584 million years.
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NOT_YET - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    fn progressed(&self) {
        self.progress_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn last_progress(&self) -> Instant {
        self.at(self.progress_ms.load(Ordering::Relaxed))
    }

    /// Bytes arrived: on an idle HTTP/1 connection, a request head begins.
    fn bytes_read(&self) {
        if self.http1.load(Ordering::Relaxed)
            && self.head_started_ms.load(Ordering::Relaxed) == NOT_YET
        {
            let _ = self.head_started_ms.compare_exchange(
                NOT_YET,
                self.now_ms(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn head_started(&self) -> Option<Instant> {
        let ms = self.head_started_ms.load(Ordering::Relaxed);
        (ms != NOT_YET).then(|| self.at(ms))
    }
}

/// Counts one request in flight on its connection from the moment its
/// head is complete until its response body is dropped (entirely written,
/// or abandoned).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.progressed();
        activity.head_started_ms.store(NOT_YET, Ordering::Relaxed);
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.send_modify(|n| *n += 1);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.progressed();
        // Bytes read during the request (its body) start no next head.
        self.0.head_started_ms.store(NOT_YET, Ordering::Relaxed);
        self.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Resolves (and the caller closes the connection) when the client holds
/// the connection without doing its part: no complete request head by
/// `first_deadline` (the HTTP/2 preface and the HTTP/1-or-2 detection
/// included), no new request for `idle` after the last response, an
/// HTTP/1 request head begun on an idle connection and not complete
/// within `head`, or a
/// response in flight that has made no progress for `write` (a scraper
/// that stopped reading, over HTTP/1 or HTTP/2 flow control alike). The
/// result says which, for the debug log.
async fn watchdog(
    activity: &Activity,
    first_deadline: Instant,
    timeouts: Timeouts,
) -> &'static str {
    let mut changes = activity.in_flight.subscribe();
    loop {
        // Everything is read afresh each time: a request may have come and
        // gone before the first look.
        let in_flight = *changes.borrow_and_update();
        let now = Instant::now();
        let wake = if in_flight > 0 {
            let stalled_at = activity.last_progress() + timeouts.write;
            if now >= stalled_at {
                return "the client took no byte of the response for too long";
            }
            stalled_at
        } else if activity.requests.load(Ordering::Relaxed) == 0 {
            if now >= first_deadline {
                return "no request head in time";
            }
            first_deadline
        } else {
            // The last response ended at the last progress.
            let idle_deadline = activity.last_progress() + timeouts.idle;
            if now >= idle_deadline {
                return "idle keep-alive connection";
            }
            match activity.head_started() {
                Some(started) if now >= started + timeouts.head => {
                    return "request head not complete in time";
                }
                Some(started) => idle_deadline.min(started + timeouts.head),
                // Look again then: a head may have begun meanwhile.
                None => idle_deadline.min(now + timeouts.head),
            }
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    // The connection's service is gone: hyper is ending it.
                    return std::future::pending().await;
                }
            }
        }
    }
}

/// A connection's socket, recording every write that moved bytes as
/// progress of the responses in flight. Below TLS, so that TLS records
/// count too.
struct Tracked<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    fn record<R>(&self, poll: Poll<std::io::Result<R>>) -> Poll<std::io::Result<R>> {
        if let Poll::Ready(Ok(_)) = &poll {
            self.activity.progressed();
        }
        poll
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.record(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.record(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    in_flight: InFlight,
) -> Response<CountedBody> {
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
            in_flight: Some(in_flight),
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
        in_flight: None,
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
    /// Every frame taken is progress for the connection's watchdog.
    in_flight: Option<InFlight>,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let poll = Pin::new(&mut self.body).poll_frame(cx);
        if let (Poll::Ready(Some(_)), Some(in_flight)) = (&poll, &self.in_flight) {
            in_flight.0.progressed();
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
