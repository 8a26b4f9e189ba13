//! Clients that do not do their part, against `arize_exporter::web` on real
//! sockets: scrapers that stop reading, connections that say nothing (plain
//! and TLS), plain HTTP sent to a TLS listener. The bounds are shortened
//! with `serve_with` so that each test takes seconds.

mod support;

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
        let listeners = bind(&["127.0.0.1:0"]).await.expect("bind");
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
    // The stalled connections were closed by the server: what was sent
    // ends (EOF or reset) instead of waiting forever.
    for mut stream in stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut sink = [0u8; 65536];
        let ended = loop {
            match stream.read(&mut sink) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break false,
                Err(_) => break true,
            }
        };
        assert!(ended, "a stalled scraper's connection is still open");
    }
}
