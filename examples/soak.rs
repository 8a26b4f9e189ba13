//! Soak of the real release binary under a fault-injecting simulated Arize
//! API, with connections opened and abandoned at random alongside (issue
//! 19's "Done when"). A program, not a test: it reports its figures beside
//! their bounds and never runs under `cargo test`.
//!
//! For `--minutes N` (default 10) this driver:
//!
//! 1. serves `generated_tasks(--tasks)` (default 3,000) from the simulator,
//!    in this process, behind a bearer key;
//! 2. starts the exporter binary with `--poll-interval 2s` against it, on a
//!    loopback port, and waits for `/readyz`;
//! 3. queues a scripted fault every few seconds at random, on the tasks or
//!    the runs endpoint: 429 and 503 with `Retry-After` values odd and
//!    absurd (`18446744073709551615`, `1000000000`, an HTTP date far ahead,
//!    garbage), 500, 401 with a problem detail that echoes the key, a 200
//!    HTML page, a JSON page cut short, a slow answer, a cursor loop and
//!    `has_more` without a cursor;
//! 4. alongside, on loopback, bounded in count (at most [`ABANDONERS`]
//!    at once) and in time (every hold under [`MAX_HOLD`]): two scrapers
//!    (plain and gzip) and clients that open a connection and abandon it at
//!    a random point: before sending anything, mid-request-head, after part
//!    of a `/metrics` body, after the whole of one (idle keep-alive), or
//!    never reading a gzip `/metrics`;
//! 5. sends SIGHUP every minute (reload of the web configuration and key);
//! 6. every [`SAMPLE_EVERY`] reads VmRSS, VmHWM and the open descriptors
//!    (`/proc/PID/status`, `/proc/PID/fd`) and `arize_exporter_polls_total`,
//!    and checks `/healthz` with a 1 s timeout;
//! 7. stops the clients, waits for the descriptors to come back to their
//!    baseline (taken before the clients started), stops the exporter by PID
//!    and prints a table per minute and a verdict per bound.
//!
//! Run it with `scripts/soak.sh [--minutes N]`, or:
//! `cargo build --release --bin arize-exporter --example soak &&
//! target/release/examples/soak [--minutes N] [--tasks N]`.

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arize_sim::{generated_tasks, Endpoint, Scripted, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The key the simulator requires; a 401 echoes it, and the exporter's log
/// is searched for it at the end.
const KEY: &str = "soak-key-7c1e9a5d3f0b2468";
/// How often RSS, descriptors, polls and `/healthz` are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Abandoning clients at once, at most.
const ABANDONERS: usize = 12;
/// Longest a client holds a connection (above the exporter's 30 s
/// write-progress timeout, so that some are cut by it).
const MAX_HOLD: Duration = Duration::from_secs(40);
/// `/healthz` must answer within this.
const HEALTH_BOUND: Duration = Duration::from_secs(1);
/// RSS growth allowed from the first minute to the last (mean of samples).
const RSS_GROWTH_BOUND: f64 = 0.10;
/// After the clients stop, how long the descriptors may take to come back.
const FD_DRAIN: Duration = Duration::from_secs(100);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = Options::parse(&args);
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| die(&e));
    let ok = runtime.block_on(run(options));
    std::process::exit(if ok { 0 } else { 1 });
}

struct Options {
    minutes: u64,
    tasks: usize,
    exporter: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            minutes: 10,
            tasks: 3_000,
            exporter: common::default_exporter().unwrap_or_else(|e| die(&e)),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .unwrap_or_else(|| die(&format!("{name} needs a value")))
            };
            match arg.as_str() {
                "--minutes" => {
                    options.minutes = value("--minutes").parse().unwrap_or_else(|e| die(&e));
                    if options.minutes == 0 {
                        die(&"--minutes must be at least 1");
                    }
                }
                "--tasks" => options.tasks = value("--tasks").parse().unwrap_or_else(|e| die(&e)),
                "--exporter" => options.exporter = PathBuf::from(value("--exporter")),
                other => die(&format!(
                    "unknown argument {other} (--minutes N, --tasks N, --exporter PATH)"
                )),
            }
        }
        options
    }
}

/// The exporter's PID once started, stopped by [`die`] so that a failed run
/// leaves nothing behind.
static CHILD: Mutex<Option<u32>> = Mutex::new(None);

fn die(e: &dyn std::fmt::Display) -> ! {
    eprintln!("soak: {e}");
    if let Some(pid) = CHILD.lock().ok().and_then(|c| *c) {
        signal(pid, "TERM");
    }
    std::process::exit(2)
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// A small xorshift64* generator: the soak needs variety, not quality, and
/// prints its seed so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn step(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.step() % n.max(1)
    }
    fn millis(&mut self, max: Duration) -> Duration {
        Duration::from_millis(self.below(max.as_millis() as u64 + 1))
    }
}

/// Counters shared by the load tasks, read per minute.
#[derive(Default)]
struct Counters {
    scrapes_ok: AtomicU64,
    scrapes_failed: AtomicU64,
    abandoned: AtomicU64,
    faults: AtomicU64,
    hups: AtomicU64,
}

/// One sample of the exporter.
#[derive(Clone, Copy, Default)]
struct Sample {
    at: Duration,
    rss: u64,
    hwm: u64,
    fds: usize,
    polls_ok: u64,
    polls_failed: u64,
    /// Bytes of the plain `/metrics` body (the state's size).
    body: usize,
    health: Option<Duration>,
    alive: bool,
}

async fn run(options: Options) -> bool {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let simulator = Simulator::start(generated_tasks(
        options.tasks,
        time::OffsetDateTime::now_utc(),
    ))
    .await
    .unwrap_or_else(|e| die(&e));
    simulator.require_key(Some(KEY.to_owned()));
    // Shared with the fault injector; alive until the exporter stops.
    let simulator = Arc::new(simulator);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = std::env::temp_dir().join(format!("arize-soak-{}.log", std::process::id()));
    let api_url = simulator.base_url();
    let mut child = spawn_exporter(
        &options.exporter,
        &[
            "--api-url",
            &api_url,
            "--api-key",
            KEY,
            "--poll-interval",
            "2s",
            "--page-size",
            "100",
            // Every task's runs in the first poll: the state is complete
            // from the start (with the default 50 run requests a poll the
            // runs of 3,000 tasks take some 60 polls to read, and RSS grows
            // with the state meanwhile, which is not a leak).
            "--max-run-requests-per-poll",
            "5000",
            "--max-requests-per-second",
            "1000",
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
        ],
        &log_path,
    );
    let pid = child.id();
    eprintln!(
        "soak: {} minutes, {} tasks, exporter PID {pid} on {base}, API {api_url}, seed {seed}, log {}",
        options.minutes,
        options.tasks,
        log_path.display()
    );

    let probe = reqwest::Client::builder()
        .no_proxy()
        .timeout(HEALTH_BOUND)
        .build()
        .unwrap_or_else(|e| die(&e));
    wait_ready(&probe, &base, &mut child).await;
    // Baseline: ready, one poll done, no client connected but the probe's.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let baseline = sample(pid, &probe, &base, Duration::ZERO, &mut child, None).await;
    eprintln!(
        "soak: baseline RSS {} MB, HWM {} MB, {} fds",
        mb(baseline.rss),
        mb(baseline.hwm),
        baseline.fds
    );

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    load.push(tokio::spawn(inject_faults(
        simulator.clone(),
        counters.clone(),
        stop.clone(),
        seed,
    )));
    for gzip in [false, true] {
        load.push(tokio::spawn(scrape(
            base.clone(),
            gzip,
            counters.clone(),
            stop.clone(),
            seed ^ u64::from(gzip),
        )));
    }
    for i in 0..ABANDONERS {
        load.push(tokio::spawn(abandon(
            port,
            counters.clone(),
            stop.clone(),
            seed.wrapping_add(i as u64 + 7),
        )));
    }

    let start = Instant::now();
    let duration = Duration::from_secs(options.minutes * 60);
    let mut samples = Vec::new();
    let mut minutes: Vec<Minute> = Vec::new();
    let mut next_hup = Duration::from_secs(60);
    let mut last = baseline;
    let mut per_minute_start = Snapshot::of(&counters, &baseline);
    while start.elapsed() < duration {
        tokio::time::sleep(SAMPLE_EVERY).await;
        let at = start.elapsed();
        if at >= next_hup && at < duration {
            signal(pid, "HUP");
            counters.hups.fetch_add(1, Ordering::Relaxed);
            next_hup += Duration::from_secs(60);
        }
        let s = sample(pid, &probe, &base, at, &mut child, Some(&last)).await;
        if !s.alive {
            eprintln!("soak: the exporter is gone at {}s", at.as_secs());
            samples.push(s);
            break;
        }
        samples.push(s);
        last = s;
        let minute = (at.as_secs() / 60) as usize;
        if minute > minutes.len() {
            let now = Snapshot::of(&counters, &s);
            let of_minute: Vec<Sample> = samples
                .iter()
                .filter(|x| x.at.as_secs() / 60 == minutes.len() as u64)
                .copied()
                .collect();
            let m = Minute::of(minutes.len() + 1, &of_minute, &per_minute_start, &now);
            eprintln!("{}", m.row());
            minutes.push(m);
            per_minute_start = now;
        }
    }

    // Stop the clients and let the exporter release what they held.
    stop.store(true, Ordering::SeqCst);
    for task in load {
        let _ = tokio::time::timeout(MAX_HOLD + Duration::from_secs(5), task).await;
    }
    let drained = Instant::now();
    let mut fds_after = fd_count(pid);
    while fds_after > baseline.fds && drained.elapsed() < FD_DRAIN {
        tokio::time::sleep(Duration::from_secs(1)).await;
        fds_after = fd_count(pid);
    }
    let drain_time = drained.elapsed();
    let end = sample(pid, &probe, &base, start.elapsed(), &mut child, Some(&last)).await;

    signal(pid, "TERM");
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .ok()
        .and_then(Result::ok);
    if let Ok(mut c) = CHILD.lock() {
        *c = None;
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();

    let report = report(Report {
        options: &options,
        seed,
        baseline: &baseline,
        minutes: &minutes,
        samples: &samples,
        last: &last,
        end: &end,
        fds_after,
        drain_time,
        counters: &counters,
        log: &log,
        exit: exit.map(|s| s.to_string()),
    });
    println!("{}", report.0);
    report.1
}

fn spawn_exporter(binary: &Path, args: &[&str], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap_or_else(|e| die(&e));
    let child = Command::new(binary)
        .args(args)
        .env("RUST_LOG", "info")
        .env("ARIZE_EXPORTER_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| die(&e));
    if let Ok(mut c) = CHILD.lock() {
        *c = Some(child.id());
    }
    child
}

async fn wait_ready(client: &reqwest::Client, base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            die(&format!("the exporter exited before ready: {status}"));
        }
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    die(&"the exporter was not ready within 120 s");
}

async fn sample(
    pid: u32,
    probe: &reqwest::Client,
    base: &str,
    at: Duration,
    child: &mut Child,
    previous: Option<&Sample>,
) -> Sample {
    let alive = matches!(child.try_wait(), Ok(None));
    let t = Instant::now();
    let health = match probe.get(format!("{base}/healthz")).send().await {
        Ok(r) if r.status().is_success() => Some(t.elapsed()),
        _ => None,
    };
    // A missed count keeps the previous one: it only delays the count.
    let (polls_ok, polls_failed, body) = match polls(probe, base).await {
        Some(counts) => counts,
        None => previous.map_or((0, 0, 0), |p| (p.polls_ok, p.polls_failed, p.body)),
    };
    Sample {
        at,
        rss: common::proc_status(pid, "VmRSS:"),
        hwm: common::proc_status(pid, "VmHWM:"),
        fds: fd_count(pid),
        polls_ok,
        polls_failed,
        body,
        health,
        alive,
    }
}

/// `arize_exporter_polls_total` by outcome and the body's size in bytes,
/// `None` if the scrape fails.
async fn polls(client: &reqwest::Client, base: &str) -> Option<(u64, u64, usize)> {
    let Ok(response) = client
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    else {
        return None;
    };
    let text = response.text().await.ok()?;
    let value = |outcome: &str| {
        let prefix = format!("arize_exporter_polls_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Some((value("success"), value("failure"), text.len()))
}

/// Queues one scripted fault every 1 to 7 s (one poll in two or three meets
/// one), never more than one pending per endpoint.
async fn inject_faults(
    simulator: Arc<Simulator>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    const RETRY_AFTER: [&str; 12] = [
        "1",
        "0",
        "-1",
        "3.5",
        "",
        "soon",
        "18446744073709551615",
        "9223372036854775807",
        "1000000000",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "99999999999999999999999",
    ];
    let mut rng = Rng::new(seed ^ 0xfa17);
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1_000 + rng.below(6_000))).await;
        let endpoint = if rng.below(3) == 0 {
            Endpoint::Runs
        } else {
            Endpoint::Tasks
        };
        if simulator.pending_scripted_for(endpoint) > 0 {
            continue;
        }
        let retry_after = RETRY_AFTER[rng.below(RETRY_AFTER.len() as u64) as usize].to_owned();
        let fault = match rng.below(10) {
            0 => Scripted::Problem {
                status: 429,
                title: "Too Many Requests".to_owned(),
                detail: "rate limited".to_owned(),
                retry_after: Some(retry_after),
            },
            1 => Scripted::Problem {
                status: 503,
                title: "Service Unavailable".to_owned(),
                detail: "maintenance".to_owned(),
                retry_after: Some(retry_after),
            },
            2 => Scripted::problem(500, "Internal Server Error", "boom"),
            3 => Scripted::problem(
                401,
                "Unauthorized",
                &format!("The API key {KEY} is not valid for this space"),
            ),
            4 => Scripted::Raw {
                status: 200,
                content_type: "text/html; charset=utf-8".to_owned(),
                body: b"<!doctype html><html><body><h1>Maintenance</h1><p>Back soon.</p></body></html>"
                    .to_vec(),
            },
            5 => {
                let page = br#"{"tasks":[{"id":"t-1","name":"cut","type":"TEMPLATE_EVALUATION","space_id":"space-1","#;
                let cut = 1 + rng.below(page.len() as u64 - 1) as usize;
                Scripted::Raw {
                    status: 200,
                    content_type: "application/json".to_owned(),
                    body: page[..cut].to_vec(),
                }
            }
            6 => Scripted::Delay(rng.millis(Duration::from_secs(5))),
            7 => Scripted::RepeatCursor,
            8 => Scripted::MoreWithoutCursor,
            _ => Scripted::Problem {
                status: 429,
                title: "Too Many Requests".to_owned(),
                detail: "slow down".to_owned(),
                retry_after: Some("18446744073709551615".to_owned()),
            },
        };
        simulator.push_to(endpoint, fault);
        counters.faults.fetch_add(1, Ordering::Relaxed);
    }
}

/// Scrapes `/metrics` to the end, plain or gzip, with a pause of up to 1 s.
async fn scrape(
    base: String,
    gzip: bool,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut headers = reqwest::header::HeaderMap::new();
    if gzip {
        headers.insert(
            reqwest::header::ACCEPT_ENCODING,
            reqwest::header::HeaderValue::from_static("gzip"),
        );
    }
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| die(&e));
    let mut rng = Rng::new(seed ^ 0x5c4a);
    let url = format!("{base}/metrics");
    while !stop.load(Ordering::SeqCst) {
        let ok = match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            _ => false,
        };
        let counter = if ok {
            &counters.scrapes_ok
        } else {
            &counters.scrapes_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(rng.millis(Duration::from_secs(1))).await;
    }
}

/// Opens a connection and abandons it at a random point, again and again.
async fn abandon(port: u16, counters: Arc<Counters>, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xab4d);
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(rng.millis(Duration::from_secs(2))).await;
        let hold = rng.millis(MAX_HOLD);
        let mode = rng.below(6);
        let body_part = 1 + rng.below(200_000) as usize;
        // Every step is bounded: the whole attempt ends within MAX_HOLD + 5 s.
        let attempt = async {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
            match mode {
                // Connect and close at once.
                0 => {}
                // Connect and say nothing (past the 10 s head timeout, at times).
                1 => tokio::time::sleep(hold.min(Duration::from_secs(15))).await,
                // Half a request head, then silence.
                2 => {
                    stream
                        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/pl")
                        .await?;
                    tokio::time::sleep(hold.min(Duration::from_secs(15))).await;
                }
                // Part of a /metrics body, then close.
                3 => {
                    stream
                        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                        .await?;
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut read = 0;
                    while read < body_part {
                        let n = stream.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        read += n;
                    }
                }
                // A whole response, then an idle keep-alive connection.
                4 => {
                    stream
                        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                        .await?;
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf).await?;
                    tokio::time::sleep(hold).await;
                }
                // A gzip /metrics never read.
                _ => {
                    stream
                        .write_all(
                            b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
                        )
                        .await?;
                    tokio::time::sleep(hold).await;
                }
            }
            Ok::<(), std::io::Error>(())
        };
        let _ = tokio::time::timeout(MAX_HOLD + Duration::from_secs(5), attempt).await;
        counters.abandoned.fetch_add(1, Ordering::Relaxed);
    }
}

/// Cumulative counts at a minute boundary.
#[derive(Clone, Copy)]
struct Snapshot {
    scrapes_ok: u64,
    scrapes_failed: u64,
    abandoned: u64,
    faults: u64,
    polls_ok: u64,
    polls_failed: u64,
}

impl Snapshot {
    fn of(c: &Counters, s: &Sample) -> Snapshot {
        Snapshot {
            scrapes_ok: c.scrapes_ok.load(Ordering::Relaxed),
            scrapes_failed: c.scrapes_failed.load(Ordering::Relaxed),
            abandoned: c.abandoned.load(Ordering::Relaxed),
            faults: c.faults.load(Ordering::Relaxed),
            polls_ok: s.polls_ok,
            polls_failed: s.polls_failed,
        }
    }
}

/// One row of the table.
struct Minute {
    n: usize,
    rss_mean: u64,
    rss_max: u64,
    hwm: u64,
    fds_min: usize,
    fds_max: usize,
    body_max: usize,
    health_max: Option<Duration>,
    health_missed: usize,
    polls_ok: u64,
    polls_failed: u64,
    faults: u64,
    scrapes_ok: u64,
    scrapes_failed: u64,
    abandoned: u64,
}

impl Minute {
    fn of(n: usize, samples: &[Sample], from: &Snapshot, to: &Snapshot) -> Minute {
        let count = samples.len().max(1) as u64;
        Minute {
            n,
            rss_mean: samples.iter().map(|s| s.rss).sum::<u64>() / count,
            rss_max: samples.iter().map(|s| s.rss).max().unwrap_or(0),
            hwm: samples.iter().map(|s| s.hwm).max().unwrap_or(0),
            fds_min: samples.iter().map(|s| s.fds).min().unwrap_or(0),
            fds_max: samples.iter().map(|s| s.fds).max().unwrap_or(0),
            body_max: samples.iter().map(|s| s.body).max().unwrap_or(0),
            health_max: samples.iter().filter_map(|s| s.health).max(),
            health_missed: samples.iter().filter(|s| s.health.is_none()).count(),
            polls_ok: to.polls_ok.saturating_sub(from.polls_ok),
            polls_failed: to.polls_failed.saturating_sub(from.polls_failed),
            faults: to.faults - from.faults,
            scrapes_ok: to.scrapes_ok - from.scrapes_ok,
            scrapes_failed: to.scrapes_failed - from.scrapes_failed,
            abandoned: to.abandoned - from.abandoned,
        }
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {}–{} | {} | {} | {} | {} / {} | {} | {} / {} | {} |",
            self.n,
            mb(self.rss_mean),
            mb(self.rss_max),
            mb(self.hwm),
            self.fds_min,
            self.fds_max,
            mb(self.body_max as u64),
            self.health_max.map_or("–".to_owned(), ms),
            self.health_missed,
            self.polls_ok,
            self.polls_failed,
            self.faults,
            self.scrapes_ok,
            self.scrapes_failed,
            self.abandoned,
        )
    }
}

struct Report<'a> {
    options: &'a Options,
    seed: u64,
    baseline: &'a Sample,
    minutes: &'a [Minute],
    samples: &'a [Sample],
    last: &'a Sample,
    end: &'a Sample,
    fds_after: usize,
    drain_time: Duration,
    counters: &'a Counters,
    log: &'a str,
    exit: Option<String>,
}

/// The Markdown report and whether every bound held.
fn report(r: Report<'_>) -> (String, bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Soak: {} min, {} tasks, `--poll-interval 2s`, seed {}, {} cores, load average at the end {}\n",
        r.options.minutes,
        r.options.tasks,
        r.seed,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let _ = writeln!(
        out,
        "Baseline (ready, before the clients): RSS {} MB, HWM {} MB, {} fds\n",
        mb(r.baseline.rss),
        mb(r.baseline.hwm),
        r.baseline.fds
    );
    let _ = writeln!(
        out,
        "| min | RSS mean MB | RSS max MB | HWM MB | fds | /metrics MB | /healthz max | /healthz missed | polls ok / failed | faults queued | scrapes ok / failed | abandoned |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for m in r.minutes {
        let _ = writeln!(out, "{}", m.row());
    }
    let _ = writeln!(
        out,
        "\nTotals: {} faults queued, {} scrapes ({} failed), {} connections abandoned, {} SIGHUP\n",
        r.counters.faults.load(Ordering::Relaxed),
        r.counters.scrapes_ok.load(Ordering::Relaxed)
            + r.counters.scrapes_failed.load(Ordering::Relaxed),
        r.counters.scrapes_failed.load(Ordering::Relaxed),
        r.counters.abandoned.load(Ordering::Relaxed),
        r.counters.hups.load(Ordering::Relaxed),
    );

    let mut all = true;
    let mut verdict = |ok: bool, text: String| {
        all &= ok;
        let _ = writeln!(out, "- {} {text}", if ok { "PASS" } else { "FAIL" });
    };
    let first = r.minutes.first().map_or(0, |m| m.rss_mean);
    let last_minute = r.minutes.last().map_or(0, |m| m.rss_mean);
    let growth = if first == 0 {
        f64::INFINITY
    } else {
        last_minute as f64 / first as f64 - 1.0
    };
    verdict(
        growth < RSS_GROWTH_BOUND && r.minutes.len() as u64 == r.options.minutes,
        format!(
            "RSS flat: mean of the last minute {} MB vs the first {} MB: {:+.1} % (bound < {:.0} %); HWM at the end {} MB; /metrics body {} MB in the first minute, {} MB in the last",
            mb(last_minute),
            mb(first),
            growth * 100.0,
            RSS_GROWTH_BOUND * 100.0,
            mb(r.end.hwm),
            mb(r.minutes.first().map_or(0, |m| m.body_max as u64)),
            mb(r.minutes.last().map_or(0, |m| m.body_max as u64)),
        ),
    );
    verdict(
        r.fds_after <= r.baseline.fds,
        format!(
            "descriptors back to baseline: {} after the clients stopped ({} s to drain), baseline {}, peak {}",
            r.fds_after,
            r.drain_time.as_secs(),
            r.baseline.fds,
            r.samples.iter().map(|s| s.fds).max().unwrap_or(0),
        ),
    );
    let alive = r.samples.iter().all(|s| s.alive) && r.end.alive;
    verdict(
        alive,
        format!(
            "process alive throughout: {} samples, last at {} s; exit after SIGTERM: {}",
            r.samples.len(),
            r.last.at.as_secs(),
            r.exit.as_deref().unwrap_or("unknown"),
        ),
    );
    let checks = r.samples.len() + 1;
    let missed = r.samples.iter().filter(|s| s.health.is_none()).count()
        + usize::from(r.end.health.is_none());
    let slowest = r
        .samples
        .iter()
        .chain(std::iter::once(r.end))
        .filter_map(|s| s.health)
        .max();
    verdict(
        missed == 0,
        format!(
            "/healthz within {} on every check: {missed} of {checks} missed, slowest {}",
            ms(HEALTH_BOUND),
            slowest.map_or("–".to_owned(), ms),
        ),
    );
    let dry = r.minutes.iter().filter(|m| m.polls_ok == 0).count();
    verdict(
        dry == 0 && !r.minutes.is_empty(),
        format!(
            "polls succeed between faults: {} ok / {} failed in all; minutes without a successful poll: {dry}",
            r.end.polls_ok.saturating_sub(r.baseline.polls_ok),
            r.end.polls_failed.saturating_sub(r.baseline.polls_failed),
        ),
    );
    let leaks = r.log.matches(KEY).count();
    verdict(
        leaks == 0,
        format!(
            "the key never in the exporter's log: {leaks} occurrences in {} lines ({} warnings)",
            r.log.lines().count(),
            r.log.lines().filter(|l| l.contains("level=warn")).count(),
        ),
    );
    (out, all)
}

/// A field of /proc/PID/status, in bytes.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| die(&e))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}
