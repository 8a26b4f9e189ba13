//! The real `arize-exporter` binary's listeners over plain HTTP: `:PORT` on
//! both families, host names, several addresses, and `--web.max-requests`.
//! Its TLS and basic auth (certificates made by `openssl`), a real Prometheus
//! scraping it and the Helm chart's web configurations are in the tools
//! suite (`tests/tools/binary_web.rs`).

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use arize_sim::{SimTask, Simulator};
use support::exporter::*;

// ---------------------------------------------------------------------------
// Listeners
// ---------------------------------------------------------------------------

fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

async fn plain_status(url: &str) -> Result<u16, String> {
    get(url)
        .await
        .map(|(s, _, _)| s)
        .map_err(|e| format!("{e:?}"))
}

/// Waits until `http://{host}:{port}/healthz` answers 200.
async fn wait_plain(p: &mut Process, host: &str, port: u16) {
    let url = format!("http://{host}:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(20);
    while plain_status(&url).await != Ok(200) {
        if let Some(status) = p.wait_exit(Duration::ZERO).await {
            panic!("the exporter exited with {status}:\n{}", p.stderr());
        }
        assert!(
            Instant::now() < deadline,
            "{url} never answered:\n{}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn colon_port_answers_on_ipv4_and_ipv6_loopback() {
    let port = free_port();
    let listen = format!(":{port}");
    let mut p = Process::spawn_raw(&["--demo", "--web.listen-address", &listen], &[], port);
    wait_plain(&mut p, "127.0.0.1", port).await;
    let log = p.stderr();
    if has_ipv6_loopback() {
        assert_eq!(
            plain_status(&format!("http://[::1]:{port}/healthz")).await,
            Ok(200)
        );
        let metrics = get_ok(&format!("http://[::1]:{port}/metrics")).await;
        assert!(Scrape::parse(&metrics).get("arize_up", &[]).is_some());
        assert!(log.contains(&format!("address=[::]:{port}")), "{log}");
    } else {
        assert!(
            log.contains("no IPv6 on this host: listening on IPv4 only"),
            "{log}"
        );
        assert!(log.contains(&format!("address=0.0.0.0:{port}")), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_name_listen_address_starts_and_answers() {
    let port = free_port();
    let listen = format!("localhost:{port}");
    let mut p = Process::spawn_raw(&["--demo", "--web.listen-address", &listen], &[], port);
    wait_plain(&mut p, "127.0.0.1", port).await;
    assert_eq!(
        get(&format!("http://localhost:{port}/healthz"))
            .await
            .unwrap()
            .0,
        200
    );
    let log = p.stderr();
    assert!(
        log.contains(&format!(
            "address=127.0.0.1:{port} requested=localhost:{port}"
        )),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_listen_addresses_serve_the_same_endpoints() {
    let (a, b) = (free_port(), free_port());
    let (la, lb) = (format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}"));
    let mut p = Process::spawn_raw(
        &[
            "--demo",
            "--web.listen-address",
            &la,
            "--web.listen-address",
            &lb,
        ],
        &[],
        a,
    );
    wait_plain(&mut p, "127.0.0.1", a).await;
    p.wait_ready().await;
    for port in [a, b] {
        let base = format!("http://127.0.0.1:{port}");
        for path in ["/healthz", "/readyz", "/"] {
            assert_eq!(
                plain_status(&format!("{base}{path}")).await,
                Ok(200),
                "{base}{path}"
            );
        }
        let s = Scrape::parse(&get_ok(&format!("{base}/metrics")).await);
        assert_eq!(s.value("arize_up", &[]), 1.0, "{base}");
    }
}

/// Tasks with long names, so that the exposition is far larger than what
/// the kernel buffers between the exporter and a client that stops reading.
fn many_tasks() -> Vec<SimTask> {
    let padding = "x".repeat(2000);
    (0..1500)
        .map(|i| {
            SimTask::new(
                &format!("task-{i}"),
                &format!("task {i} {padding}"),
                "TEMPLATE_EVALUATION",
                true,
                None,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn max_requests_1_answers_503_while_a_body_is_still_streaming() {
    let sim = Simulator::start(many_tasks()).await.unwrap();
    let args = args_for(
        &sim.base_url(),
        &[
            "--poll-interval",
            "1h",
            "--page-size",
            "100",
            "--web.max-requests",
            "1",
            // The generated names are long: whole, the body is larger.
            "--max-label-value-length",
            "0",
        ],
    );
    let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let mut p = Process::spawn(&args, &[]);
    p.wait_ready().await;

    // A client that reads the head and the start of the body, then stops.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], p.port)).into())
        .unwrap();
    let mut slow: TcpStream = socket.into();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        slow,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut start = vec![0u8; 4096];
    let mut got = 0;
    while got < start.len() {
        let n = slow.read(&mut start[got..]).unwrap();
        assert_ne!(n, 0, "the body ended early");
        got += n;
    }
    assert!(
        start.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&start)
    );

    let (status, _, body) = get(&p.url("/")).await.unwrap();
    assert_eq!(
        status, 503,
        "a second request while the first streams: {body}"
    );
    // The kubelet's probes are never refused for the cap.
    let (status, _, _) = get(&p.url("/healthz")).await.unwrap();
    assert_eq!(status, 200, "/healthz while the only slot is taken");

    // Read the first to its end: it was whole, and the slot is free again.
    let reader = std::thread::spawn(move || {
        let mut rest = Vec::new();
        slow.read_to_end(&mut rest).map(|_| rest)
    });
    let rest = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap()
        .expect("the rest of the body");
    let text =
        String::from_utf8_lossy(&start[..got]).into_owned() + &String::from_utf8_lossy(&rest);
    let (_, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(
        body.len() > 10_000_000,
        "the exposition is large: {}",
        body.len()
    );
    assert!(body.contains("task-1499"), "the whole exposition");
    let deadline = Instant::now() + Duration::from_secs(20);
    while plain_status(&p.url("/healthz")).await != Ok(200) {
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
