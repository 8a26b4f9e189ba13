//! Clients that do not do their part, against `arize_exporter::web` on real
//! sockets: scrapers that stop reading (HTTP/1 and HTTP/2), connections that
//! say nothing (plain and TLS), plain HTTP sent to a TLS listener; the real
//! binary out of file descriptors (under `prlimit`) and with a slow bcrypt
//! hash; and the exporter-toolkit's test files that Go's TLS library
//! accepts, with a real TLS client. The bounds are shortened with
//! `serve_with` so that each test takes seconds.

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arize_exporter::web::{bind, serve_with, Timeouts, WebConfigHandle};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use support::pki::{Pki, Usage};
use support::tools::TempDir;
use tokio::sync::oneshot;

/// The exposition `/metrics` answers here: large enough (24 MiB) that a
/// client that never reads cannot take it into its socket buffers.
fn big_exposition() -> Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut text = String::with_capacity(24 << 20);
        let mut i = 0u64;
        while text.len() < 24 << 20 {
            text.push_str(&format!(
                "arize_task_value{{task_id=\"task-{i:08}\",space=\"a fairly long space name\"}} {i}\n"
            ));
            i += 1;
        }
        Bytes::from(text)
    })
    .clone()
}

/// The big exposition in 64 KiB chunks, as the exporter streams its own.
fn streamed_exposition() -> axum::body::Body {
    let body = big_exposition();
    let chunks = (0..body.len()).step_by(64 << 10).map(move |start| {
        Ok::<_, std::io::Error>(body.slice(start..(start + (64 << 10)).min(body.len())))
    });
    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
}

fn router() -> Router {
    Router::new()
        .route("/metrics", get(|| async { streamed_exposition() }))
        .route("/small", get(|| async { "small\n" }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
}

struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(web: WebConfigHandle, max_requests: usize, timeouts: Timeouts) -> Server {
        let address = "127.0.0.1:0".parse().expect("a listen address");
        let listeners = bind(&[address]).await.expect("bind");
        let addr = listeners[0].local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(
            listeners,
            router(),
            web,
            max_requests,
            timeouts,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            _stop: stop,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn timeouts(head: u64, idle: u64, write: u64) -> Timeouts {
    Timeouts {
        head: Duration::from_secs(head),
        idle: Duration::from_secs(idle),
        write: Duration::from_secs(write),
        ..Timeouts::default()
    }
}

/// A connection with a receive buffer of a few kilobytes, so that what the
/// server writes stalls soon once nobody reads.
fn small_window_connection(addr: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn status(client: &reqwest::Client, url: &str) -> Option<u16> {
    client
        .get(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Polls `check` every 50 ms until it holds, at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// Scrapers that stop reading
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapers_that_stop_reading_lose_their_slots_and_never_lock_out_the_probes() {
    const SLOTS: usize = 4;
    let server = Server::start(WebConfigHandle::none(), SLOTS, timeouts(10, 90, 4)).await;
    let client = plain_client();
    assert_eq!(status(&client, &server.url("/small")).await, Some(200));

    // Every slot taken by a scraper that asks for the whole exposition and
    // never reads a byte of it.
    let stalled: Vec<TcpStream> = (0..SLOTS)
        .map(|_| {
            let mut stream = small_window_connection(server.addr);
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n")
                .expect("request sent");
            stream
        })
        .collect();
    eventually(
        Duration::from_secs(10),
        "every slot to be taken",
        || async { status(&client, &server.url("/small")).await == Some(503) },
    )
    .await;

    // The kubelet's probes are never refused for the cap.
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(
            status(&client, &server.url(probe)).await,
            Some(200),
            "{probe} while every slot is held by a stalled scraper"
        );
    }

    // The stalled responses are aborted, and their slots are free again.
    eventually(
        Duration::from_secs(20),
        "the slots of the stalled scrapers to be freed",
        || async { status(&client, &server.url("/small")).await == Some(200) },
    )
    .await;
    drop(stalled);
}

// ---------------------------------------------------------------------------
// Connections that say nothing
// ---------------------------------------------------------------------------

/// A CA and a server certificate for `127.0.0.1`, made once.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = Pki::new("web-faults-pki", "web-faults-ca");
        pki.issue(
            "server",
            "localhost",
            "DNS:localhost,IP:127.0.0.1",
            Usage::Server,
        );
        pki
    })
}

/// A web configuration with TLS (and HTTP/2 on, the default) plus `extra`.
fn tls_config(label: &str, extra: &str) -> (TempDir, WebConfigHandle) {
    let dir = TempDir::new(label);
    pki().copy_to(&dir.0, &["server.crt", "server.key"]);
    let path = dir.write(
        "web.yml",
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
    );
    let web = WebConfigHandle::load(&path).expect("valid web configuration");
    (dir, web)
}

/// A TLS client trusting the test CA, offering `alpn`.
fn tls_connector(alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(pki().path("ca.crt")).expect("ca.crt");
    for cert in rustls_pemfile_certs(&ca) {
        roots.add(cert).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .expect("PEM certificates")
}

/// Whether the server closes the connection (end of stream, or an error
/// such as a reset) within `limit`, reading and discarding what it sends.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + limit;
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Short bounds: the first request head within 1 s, 2 s of keep-alive.
fn short_bounds() -> Timeouts {
    timeouts(1, 2, 30)
}

/// How long a test waits for the server to close: well past the bounds
/// above, well short of the defaults (or of forever).
const CLOSE_LIMIT: Duration = Duration::from_secs(6);

#[tokio::test]
async fn a_plain_connection_that_sends_nothing_is_closed() {
    let server = Server::start(WebConfigHandle::none(), 0, short_bounds()).await;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_within(&mut silent, CLOSE_LIMIT).await);
    // Half a request head is not a request head either.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut slow, CLOSE_LIMIT).await);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(WebConfigHandle::none(), 0, short_bounds()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok\n") {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert!(closed_within(&mut stream, CLOSE_LIMIT).await);
}

#[tokio::test]
async fn a_tls_client_that_never_finishes_its_handshake_is_closed() {
    let (_dir, web) = tls_config("faults-handshake", "");
    let server = Server::start(web, 0, short_bounds()).await;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_within(&mut silent, CLOSE_LIMIT).await);
}

#[tokio::test]
async fn a_tls_client_that_goes_quiet_after_its_handshake_is_closed() {
    // HTTP/2 on (the default): the server waits for the HTTP/2 preface or
    // an HTTP/1 request line; with HTTP/2 off, for an HTTP/1 request line.
    for (label, extra, alpn) in [
        ("faults-quiet-h2", "", &[&b"h2"[..], b"http/1.1"][..]),
        ("faults-quiet-h1-alpn", "", &[&b"http/1.1"[..]][..]),
        ("faults-quiet-no-alpn", "", &[][..]),
        (
            "faults-quiet-http2-off",
            "http_server_config:\n  http2: false\n",
            &[&b"http/1.1"[..]][..],
        ),
    ] {
        let (_dir, web) = tls_config(label, extra);
        let server = Server::start(web, 0, short_bounds()).await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tls_connector(alpn)
            .connect(name, tcp)
            .await
            .expect("the handshake completes");
        assert!(
            closed_within(&mut tls, CLOSE_LIMIT).await,
            "{label}: a quiet TLS connection stays open"
        );
    }
}

#[tokio::test]
async fn an_http2_client_that_sends_only_its_preface_is_closed() {
    use tokio::io::AsyncWriteExt;
    let (_dir, web) = tls_config("faults-h2-preface", "");
    let server = Server::start(web, 0, short_bounds()).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tls_connector(&[b"h2"]).connect(name, tcp).await.unwrap();
    // The connection preface and an empty SETTINGS frame, then nothing.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    assert!(closed_within(&mut tls, CLOSE_LIMIT).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_scraper_that_stops_reading_loses_its_slot() {
    let (_dir, web) = tls_config("faults-h2-stall", "");
    let server = Server::start(web, 1, timeouts(10, 90, 2)).await;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki().path("ca.crt")).unwrap()).unwrap();
    let h2 = || {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca.clone())
            .no_proxy()
            .no_gzip()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let url = |path: &str| format!("https://localhost:{}{path}", server.addr.port());
    let stalled_client = h2();
    // Headers arrive; the body is never read, so HTTP/2 flow control
    // stops the server from sending more.
    let stalled = stalled_client.get(url("/metrics")).send().await.unwrap();
    assert_eq!(stalled.version(), reqwest::Version::HTTP_2);
    let other = h2();
    assert_eq!(status(&other, &url("/small")).await, Some(503));
    assert_eq!(status(&other, &url("/healthz")).await, Some(200));
    eventually(
        Duration::from_secs(20),
        "the stalled HTTP/2 scraper's slot to be freed",
        || async { status(&other, &url("/small")).await == Some(200) },
    )
    .await;
    drop(stalled);
}

#[tokio::test]
async fn a_second_request_head_sent_slowly_is_cut_at_the_head_bound() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Keep-alive lasts 30 s here; a head begun must still end within 1 s.
    let server = Server::start(WebConfigHandle::none(), 0, timeouts(1, 30, 30)).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok\n") {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
    }
    // Still open after longer than the head bound: keep-alive is not a head.
    assert!(
        !closed_within(&mut stream, Duration::from_millis(1500)).await,
        "an idle keep-alive connection was closed at the head bound"
    );
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .expect("the idle connection is still open");
    assert!(closed_within(&mut stream, CLOSE_LIMIT).await);
}

// ---------------------------------------------------------------------------
// Out of file descriptors (the real binary under `prlimit`)
// ---------------------------------------------------------------------------

/// The binary started by `prlimit --nofile=LIMITS` against `api_url`,
/// with its stderr collected; killed on drop.
struct Limited {
    child: std::process::Child,
    log: Arc<std::sync::Mutex<String>>,
}

impl Limited {
    fn spawn(limits: &str, api_url: &str) -> Limited {
        let nofile = format!("--nofile={limits}");
        let mut child = std::process::Command::new("prlimit")
            .arg(&nofile)
            .arg(support::exporter::BIN)
            .args([
                "--api-url",
                api_url,
                "--api-key",
                "k",
                "--poll-interval",
                "1h",
            ])
            .args(["--web.listen-address", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("prlimit (util-linux) runs the binary");
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let into = log.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Limited { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The address of the "listening" log line, waiting up to 20 s.
    async fn address(&self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.log().lines().find_map(|line| {
                let rest = line.split_once("address=")?.1;
                rest.split_whitespace().next()?.parse().ok()
            });
            if let Some(addr) = found {
                return addr;
            }
            assert!(
                Instant::now() < deadline,
                "no listening address: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn open_descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// `(soft, hard)` limit of open files, from `/proc/PID/limits`.
    fn open_files_limit(&self) -> (String, String) {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id()))
            .expect("/proc/PID/limits");
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("a Max open files line");
        let mut fields = line["Max open files".len()..].split_whitespace();
        (
            fields.next().unwrap_or_default().to_owned(),
            fields.next().unwrap_or_default().to_owned(),
        )
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test process itself holds a thousand connections: its own soft
/// limit goes up to its hard limit, which it returns (the child's hard
/// limit can be no higher without privileges).
fn raise_own_limit() -> u64 {
    arize_exporter::web::raise_open_files_limit();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_max
}

fn open_idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i} of {n}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_under_a_soft_limit_of_1024_leave_scrapes_answered() {
    let hard = raise_own_limit();
    assert!(
        hard > 2048,
        "this test needs a hard limit of open files above 2048"
    );
    let sim = arize_sim::Simulator::start(Vec::new()).await.unwrap();
    let exporter = Limited::spawn(&format!("1024:{hard}"), &sim.base_url());
    let addr = exporter.address().await;
    let client = plain_client();
    let url = format!("http://{addr}/metrics");
    eventually(Duration::from_secs(20), "the exporter to serve", || async {
        status(&client, &url).await == Some(200)
    })
    .await;
    assert_eq!(
        exporter.open_files_limit(),
        (hard.to_string(), hard.to_string()),
        "the soft limit was not raised to the hard limit"
    );

    let _idle = open_idle(addr, 1100);
    // Every idle connection is accepted (more descriptors than the soft
    // limit the process was started with), and scrapes still answer.
    eventually(
        Duration::from_secs(8),
        "the exporter to accept all 1,100 connections",
        || async { exporter.open_descriptors() > 1100 },
    )
    .await;
    assert_eq!(status(&client, &url).await, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_is_logged_rarely_and_accepting_resumes() {
    raise_own_limit();
    let sim = arize_sim::Simulator::start(Vec::new()).await.unwrap();
    // A hard limit of 64: raising the soft limit cannot help here.
    let exporter = Limited::spawn("64:64", &sim.base_url());
    let addr = exporter.address().await;
    let client = plain_client();
    let url = format!("http://{addr}/metrics");
    eventually(Duration::from_secs(20), "the exporter to serve", || async {
        status(&client, &url).await == Some(200)
    })
    .await;

    let idle = open_idle(addr, 100);
    eventually(
        Duration::from_secs(20),
        "a failed accept to be logged",
        || async { exporter.log().contains("cannot accept connections") },
    )
    .await;
    // Out of descriptors for 2 more seconds: about 20 failed accepts, at
    // most one warning line.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warnings = exporter.log().matches("cannot accept connections").count();
    assert!(
        warnings <= 1,
        "{warnings} warnings in 2 s:\n{}",
        exporter.log()
    );
    assert!(
        exporter.log().contains("Too many open files"),
        "{}",
        exporter.log()
    );

    // Descriptors free up: the listener takes connections again.
    drop(idle);
    eventually(
        Duration::from_secs(20),
        "scrapes to be answered again",
        || async { status(&client, &url).await == Some(200) },
    )
    .await;
}

// ---------------------------------------------------------------------------
// Plain HTTP to a TLS listener
// ---------------------------------------------------------------------------

#[tokio::test]
async fn plain_http_to_the_tls_listener_gets_a_readable_400() {
    let (_dir, web) = tls_config("faults-plain-to-tls", "");
    let server = Server::start(web, 0, Timeouts::default()).await;
    let addr = server.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map(|_| answer)
    })
    .await
    .unwrap()
    .expect("an answer, then the end of the stream");
    assert_eq!(
        answer,
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    );

    // Neither TLS nor HTTP: closed without an answer.
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"\x00\x01\x02\x03\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(answer.is_empty(), "{answer:?}");

    // TLS on the same listener still works.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tls_connector(&[b"http/1.1"])
        .connect(name, tcp)
        .await
        .expect("a TLS handshake");
}

// ---------------------------------------------------------------------------
// A slow bcrypt hash (the toolkit's tests use cost 18)
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_user_with_a_slow_hash_delays_neither_the_start_nor_other_users() {
    let dir = TempDir::new("faults-bcrypt");
    let fast = bcrypt::hash("fast-password", 4).unwrap();
    // Well-formed cost 22 (16 times the toolkit's 18: minutes for one
    // check), relabelled from cost 4 since computing a real one takes as
    // long as checking it: no password matches it.
    let slow = bcrypt::hash("slow-password", 4)
        .unwrap()
        .replacen("$04$", "$22$", 1);
    let config = dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  slow: '{slow}'\n  fast: '{fast}'\n"),
    );
    let sim = arize_sim::Simulator::start(Vec::new()).await.unwrap();
    let config_arg = config.display().to_string();
    let args = support::exporter::args_for(
        &sim.base_url(),
        &["--poll-interval", "1h", "--web.config.file", &config_arg],
    );
    let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let mut p = support::exporter::Process::spawn(&args, &[]);
    // Serving while nobody has paid for a cost-18 hash yet.
    p.wait_serving().await;

    // The slow user's check runs on; the other user does not wait for it.
    let client = plain_client();
    let patient = reqwest::Client::builder().no_proxy().build().unwrap();
    let slow_login = tokio::spawn({
        let request = patient
            .get(p.url("/metrics"))
            .basic_auth("slow", Some("slow-password"));
        async move { request.send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = client
        .get(p.url("/metrics"))
        .basic_auth("fast", Some("fast-password"))
        .send()
        .await
        .expect("the other user is answered while the slow check runs");
    assert_eq!(response.status(), 200);
    slow_login.abort();
}

// ---------------------------------------------------------------------------
// Files from the exporter-toolkit's own tests (web/testdata) that Go's TLS
// library accepts
// ---------------------------------------------------------------------------

/// The test PKI plus a client certificate from its CA and two self-signed
/// client certificates (`openssl req -x509`: `CA:TRUE`), made once.
fn client_pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = Pki::new("web-faults-clients", "web-faults-client-ca");
        pki.issue(
            "server",
            "localhost",
            "DNS:localhost,IP:127.0.0.1",
            Usage::Server,
        );
        pki.issue("client", "scraper", "DNS:scraper.example", Usage::Client);
        pki.self_signed("pinned", "scraper", "DNS:scraper.example", Usage::Client);
        pki.self_signed("stranger", "scraper", "DNS:scraper.example", Usage::Client);
        pki
    })
}

/// A server with `client_pki()`'s server certificate and `extra` in
/// `tls_server_config`.
async fn client_auth_server(label: &str, extra: &str) -> (TempDir, Server) {
    let dir = TempDir::new(label);
    client_pki().copy_to(&dir.0, &["server.crt", "server.key", "pinned.crt"]);
    let path = dir.write(
        "web.yml",
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
    );
    let web = WebConfigHandle::load(&path).expect("a file the toolkit accepts is accepted");
    let server = Server::start(web, 0, Timeouts::default()).await;
    (dir, server)
}

/// `GET /small` over TLS presenting the certificate `identity` (a name in
/// `client_pki()`), or none: the status, or the error's text.
async fn fetch_as(server: &Server, identity: Option<&str>) -> Result<u16, String> {
    let pki = client_pki();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(pki.read("ca.crt").as_bytes()).unwrap(),
        )
        .no_proxy()
        .timeout(Duration::from_secs(10));
    if let Some(name) = identity {
        let pem = pki.read(&format!("{name}.crt")) + &pki.read(&format!("{name}.key"));
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    let url = format!("https://localhost:{}/small", server.addr.port());
    match builder.build().unwrap().get(url).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(error) => Err(format!("{error:?}")),
    }
}

#[tokio::test]
async fn verify_client_cert_if_given_without_a_client_ca_uses_the_system_roots() {
    // web_config_noAuth_allCurves.good.yml (and six more files): no client
    // CA, so Go verifies presented certificates against the system's roots.
    let (_dir, server) = client_auth_server(
        "faults-verify-if-given",
        "  client_auth_type: \"VerifyClientCertIfGiven\"\n  curve_preferences:\n    - CurveP256\n    - CurveP384\n    - CurveP521\n    - X25519\n    - X25519MLKEM768\n",
    )
    .await;
    assert_eq!(fetch_as(&server, None).await, Ok(200), "no certificate");
    // The private test CA is no system root: its certificate is refused.
    let answer = fetch_as(&server, Some("client")).await;
    assert!(
        answer.is_err(),
        "a certificate no system root signed: {answer:?}"
    );
}

#[tokio::test]
async fn require_and_verify_without_a_client_ca_uses_the_system_roots() {
    let (_dir, server) = client_auth_server(
        "faults-require-verify",
        "  client_auth_type: RequireAndVerifyClientCert\n",
    )
    .await;
    // A certificate is required, and the private test CA is no system root.
    for identity in [None, Some("client"), Some("pinned")] {
        let answer = fetch_as(&server, identity).await;
        assert!(answer.is_err(), "{identity:?}: {answer:?}");
    }
}

#[test]
fn a_curve_list_with_nothing_rustls_offers_is_refused_clearly() {
    // web_config_noAuth_someCurves.good.yml names only CurveP521, which
    // rustls (ring) does not offer: nothing would be left to agree on.
    let dir = TempDir::new("faults-p521");
    client_pki().copy_to(&dir.0, &["server.crt", "server.key"]);
    let path = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: \"VerifyClientCertIfGiven\"\n  min_version: TLS13\n  curve_preferences:\n  - CurveP521\n",
    );
    let error = WebConfigHandle::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("none of curve_preferences is offered by rustls (CurveP521)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_self_signed_client_certificate_pinned_as_its_own_ca_is_accepted() {
    let (_dir, server) = client_auth_server(
        "faults-pinned",
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: pinned.crt\n",
    )
    .await;
    assert_eq!(fetch_as(&server, Some("pinned")).await, Ok(200));
    // Only that certificate: another self-signed one, or none, is refused.
    for identity in [Some("stranger"), None] {
        let answer = fetch_as(&server, identity).await;
        assert!(answer.is_err(), "{identity:?}: {answer:?}");
    }
}
