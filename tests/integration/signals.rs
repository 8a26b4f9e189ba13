//! Real signals (`kill(2)`) to the real binary: SIGHUP reloads and never
//! ends the process; SIGTERM and SIGINT shut it down gracefully, within a
//! bounded grace period even when a scraper never reads, and a second
//! signal ends it at once. Exit code 0 in every case.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use arize_sim::{SimTask, Simulator};
use support::exporter::{args_for, Process};
use support::tools::TempDir;

fn kill(process: &Process, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(process.pid()).expect("pid fits");
    // SAFETY: kill(2) has no memory-safety preconditions.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// 1,500 tasks with 2 KB names: an exposition of tens of megabytes, which
/// a scraper that stops reading cannot take into its socket buffers.
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

fn few_tasks() -> Vec<SimTask> {
    (0..3)
        .map(|i| {
            SimTask::new(
                &format!("task-{i}"),
                &format!("task {i}"),
                "TEMPLATE_EVALUATION",
                true,
                None,
            )
        })
        .collect()
}

/// The binary against `sim`, polling once an hour, plus `extra`.
fn spawn(sim: &Simulator, extra: &[&str]) -> Process {
    let mut all = vec!["--poll-interval", "1h", "--page-size", "100"];
    all.extend_from_slice(extra);
    let args = args_for(&sim.base_url(), &all);
    let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    Process::spawn(&args, &[])
}

/// A scraper that asks for `/metrics`, reads the first few kilobytes (so
/// the response is in flight) and never reads again.
fn stalled_scraper(p: &Process) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], p.port)).into())
        .unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        .unwrap();
    let mut start = [0u8; 4096];
    let mut got = 0;
    while got < start.len() {
        let n = stream.read(&mut start[got..]).unwrap();
        assert_ne!(n, 0, "the body ended early");
        got += n;
    }
    assert!(start.starts_with(b"HTTP/1.1 200"));
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_rereads_the_key_file_at_once_and_never_ends_the_process() {
    let sim = Simulator::start(few_tasks()).await.unwrap();
    sim.require_key(Some("first-key".into()));
    let dir = TempDir::new("signals-hup");
    let key_file = dir.write("key", "first-key\n");
    let web_config = dir.write("web.yml", "");
    let key_arg = key_file.display().to_string();
    let web_arg = web_config.display().to_string();
    let mut p = spawn(
        &sim,
        &["--api-key-file", &key_arg, "--web.config.file", &web_arg],
    );
    p.wait_ready().await;
    assert_eq!(p.scrape().await.polls("success"), 1.0);

    // The key is rotated; SIGHUP makes the exporter use it now, not in an hour.
    std::fs::write(&key_file, "second-key\n").unwrap();
    sim.require_key(Some("second-key".into()));
    kill(&p, libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while p.scrape().await.polls("success") < 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no poll with the new key after SIGHUP; stderr:\n{}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        p.stderr().contains("SIGHUP: web configuration re-read"),
        "{}",
        p.stderr()
    );
    // Still serving after a second SIGHUP.
    kill(&p, libc::SIGHUP);
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.wait_serving().await;
    assert!(!p.stderr().contains("second-key"), "the key was logged");

    kill(&p, libc::SIGTERM);
    let status = p.wait_exit(Duration::from_secs(30)).await.expect("exits");
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_0_even_with_a_scraper_that_never_reads() {
    let sim = Simulator::start(many_tasks()).await.unwrap();
    let mut p = spawn(&sim, &[]);
    p.wait_ready().await;
    let _stalled = stalled_scraper(&p);

    kill(&p, libc::SIGTERM);
    let status = p
        .wait_exit(Duration::from_secs(40))
        .await
        .unwrap_or_else(|| panic!("still running after SIGTERM; stderr:\n{}", p.stderr()));
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
    assert!(
        p.stderr().contains("abandoned"),
        "the grace period did not end the stalled scrape: {}",
        p.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_ends_the_process_at_once() {
    let sim = Simulator::start(many_tasks()).await.unwrap();
    let mut p = spawn(&sim, &[]);
    p.wait_ready().await;
    let _stalled = stalled_scraper(&p);

    kill(&p, libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&p, libc::SIGINT);
    let status = p
        .wait_exit(Duration::from_secs(40))
        .await
        .unwrap_or_else(|| panic!("still running after two signals; stderr:\n{}", p.stderr()));
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
    let log = p.stderr();
    assert!(log.contains("second signal"), "{log}");
    assert!(
        !log.contains("abandoned"),
        "the second signal waited for the grace period: {log}"
    );
}
