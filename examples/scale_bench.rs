//! Scale benchmark of the real release binary against the simulated Arize API.
//!
//! For each number of tasks N (1,000, 10,000 and 100,000; `--quick`: 1,000
//! and 10,000 with shorter runs) this driver:
//!
//! 1. serves `generated_tasks(N)` from the simulator, in this process;
//! 2. times the *bare fetch loop*: the same `ArizeClient` (built from the same
//!    flags as the exporter) walks the same pages with the same pager and
//!    keeps nothing but the cursor: the floor for polling. It also times the
//!    same walk decoding every task (`TaskPage`), to split the cost;
//! 3. starts the exporter binary (`--page-size 100
//!    --max-requests-per-second 100000 --poll-interval 1h`), measures the time
//!    from spawn to `/readyz` 200 (scraping `/metrics` meanwhile, to show a
//!    poll does not stall scrapes), checks `arize_up 1` and reads
//!    `arize_exporter_poll_duration_seconds_sum`;
//! 4. scrapes `/metrics` sequentially (plain and gzip), then with `wrk -t4
//!    -c4`; captures the body and serves the identical bytes from a
//!    static-bytes server (this example re-executed with `--serve-static`, a
//!    separate process like the exporter) and measures it the same way;
//! 5. reads the exporter's peak (VmHWM) and steady (VmRSS) RSS.
//!
//! Then it measures what a task costs a scraper, family by family (see
//! `scale_bench/cost.rs`: real scrapes at each N, without run data, with
//! the runs of every task read, and with the lean allowlist), the idle RSS
//! of `--demo` and the binary's size, and prints a table, the ratios, the
//! targets and the cost tables. `--cost-only` measures the costs alone.
//!
//! Run it with `scripts/bench.sh` (installs wrk, builds, runs), or:
//! `cargo build --release --bin arize-exporter --example scale_bench &&
//! target/release/examples/scale_bench [--quick] [--sizes 1000,10000]`.

#[path = "common/mod.rs"]
mod common;
#[path = "scale_bench/cost.rs"]
mod cost;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arize_exporter::arize::pager::{Page, Pagination};
use arize_exporter::arize::tasks::{self, TaskPage};
use arize_exporter::arize::{pager, ArizeClient};
use arize_exporter::config::{Settings, Target};
use arize_exporter::metrics::ExporterMetrics;
use arize_sim::{generated_tasks, SimRun, SimTask, Simulator};
use serde::Deserialize;

const PAGE_SIZE: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve-static") {
        let (Some(file), Some(addr)) = (args.get(1), args.get(2)) else {
            die(&"usage: scale_bench --serve-static FILE ADDR");
        };
        serve_static(Path::new(file), addr.parse().unwrap_or_else(|e| die(&e)));
        return;
    }
    if args.first().map(String::as_str) == Some("--simulate") {
        // For profiling by hand: the simulator alone, with N generated tasks;
        // with `--churn`, every task ran again once a second (as in the
        // polling phase's churn); with `--churn-names`, every task is also
        // renamed, so that no definition and no label can be shared.
        let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        let renames = args.iter().any(|a| a == "--churn-names");
        let churn = renames || args.iter().any(|a| a == "--churn");
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| die(&e));
        runtime.block_on(async {
            let simulator = Simulator::start(generated_tasks(n, time::OffsetDateTime::now_utc()))
                .await
                .unwrap_or_else(|e| die(&e));
            println!("{}", simulator.base_url());
            if churn {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = every.tick() => {
                            let now = time::OffsetDateTime::now_utc();
                            let mut tasks = generated_tasks(n, now);
                            if renames {
                                for task in &mut tasks {
                                    let name = task.json["name"].as_str().unwrap_or_default();
                                    task.json["name"] = format!("{name} at {}", now.unix_timestamp()).into();
                                }
                            }
                            simulator.set_tasks(tasks);
                        }
                        _ = tokio::signal::ctrl_c() => break,
                    }
                }
            } else {
                let _ = tokio::signal::ctrl_c().await;
            }
        });
        return;
    }
    let options = Options::parse(&args);
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| die(&e));
    runtime.block_on(run(options));
}

struct Options {
    sizes: Vec<usize>,
    exporter: PathBuf,
    /// Sequential scrapes at most, per target and encoding.
    scrapes: usize,
    /// Time budget of one series of sequential scrapes.
    scrape_budget: Duration,
    wrk_duration: u64,
    /// Runs of the bare fetch loop (the median is reported).
    fetch_runs: usize,
    /// Polls to scrape through in the polling phase.
    polls: u64,
    /// Only the cost per family (`--cost-only`): no timings.
    cost_only: bool,
    /// The allowlist of the lean variant of the cost phase; default: the
    /// one of `docs/metrics.md`.
    lean_allowlist: Option<String>,
    /// The arguments, for the report's command line.
    args: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Options {
            sizes: if quick {
                vec![1_000, 10_000]
            } else {
                vec![1_000, 10_000, 100_000]
            },
            exporter: common::default_exporter().unwrap_or_else(|e| die(&e)),
            scrapes: if quick { 50 } else { 200 },
            scrape_budget: Duration::from_secs(if quick { 4 } else { 15 }),
            wrk_duration: if quick { 2 } else { 5 },
            fetch_runs: if quick { 1 } else { 3 },
            polls: if quick { 2 } else { 3 },
            cost_only: false,
            lean_allowlist: None,
            args: args.to_vec(),
        };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value = |name: &str| {
                rest.next()
                    .cloned()
                    .unwrap_or_else(|| die(&format!("{name} needs a value")))
            };
            match arg.as_str() {
                "--quick" => {}
                "--cost-only" => options.cost_only = true,
                "--lean-allowlist" => options.lean_allowlist = Some(value("--lean-allowlist")),
                "--sizes" => {
                    options.sizes = value("--sizes")
                        .split(',')
                        .map(|n| n.trim().replace('_', "").parse().unwrap_or_else(|e| die(&e)))
                        .collect()
                }
                "--exporter" => options.exporter = PathBuf::from(value("--exporter")),
                "--scrapes" => options.scrapes = value("--scrapes").parse().unwrap_or_else(|e| die(&e)),
                "--wrk-duration" => {
                    options.wrk_duration = value("--wrk-duration").parse().unwrap_or_else(|e| die(&e))
                }
                "--fetch-runs" => {
                    options.fetch_runs = value("--fetch-runs").parse().unwrap_or_else(|e| die(&e))
                }
                other => die(&format!(
                    "unknown argument {other}; use [--quick] [--sizes 1000,10000] [--exporter PATH] \
                     [--scrapes N] [--wrk-duration SECS] [--fetch-runs N] [--cost-only] [--lean-allowlist LIST]"
                )),
            }
        }
        options
    }
}

/// The processes this driver started, stopped by [`die`] so that a failed
/// run leaves nothing behind.
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn adopt(child: Child) -> Child {
    if let Ok(mut children) = CHILDREN.lock() {
        children.push(child.id());
    }
    child
}

/// A ratio as the targets print it: two decimals, three when two would
/// round a miss onto its limit (1.004x shown as "1.00x" beside MISSED).
fn shown(x: f64, limit: f64) -> String {
    let two = format!("{x:.2}");
    if x > limit && two.parse::<f64>().is_ok_and(|rounded| rounded <= limit) {
        format!("{x:.3}")
    } else {
        two
    }
}

fn die(e: &dyn std::fmt::Display) -> ! {
    eprintln!("scale_bench: {e}");
    if let Ok(children) = CHILDREN.lock() {
        for pid in children.iter() {
            // Already gone for the ones that ended: kill then says so, quietly.
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
    std::process::exit(1)
}

/// The figures of one N.
#[derive(Default)]
struct Row {
    tasks: usize,
    /// `--task-runs true` with a budget that reads every task's runs in the
    /// first poll (no polling floors then: the runs are not in them).
    runs: bool,
    pages: usize,
    /// The bare fetch loop (cursor only), median of the runs.
    bare_fetch: Duration,
    /// The same walk decoding every task into `TaskPage`.
    fetch_decode: Duration,
    /// A plain keep-alive client (reqwest, nothing of the exporter's)
    /// fetching the very URLs of the exporter's first poll, in order, with
    /// the same `Accept-Encoding`, bodies read and dropped: median.
    plain_fetch: Duration,
    /// Spawn to `/readyz` 200.
    ready_after: Duration,
    /// `arize_exporter_poll_duration_seconds_sum` after the first poll.
    poll_seconds: f64,
    /// Slowest `/metrics` answer while the first poll ran, and how many.
    scrape_during_poll_max: Duration,
    scrapes_during_poll: usize,
    scrape: Latency,
    scrape_gzip: Latency,
    floor: Latency,
    /// CPU time (user + system) per scrape, seconds: plain, gzip (the
    /// snapshot's fixed families already compressed), and the first gzip
    /// scrape of a snapshot (which compresses them).
    cpu_plain: f64,
    cpu_gzip: f64,
    cpu_gzip_first: f64,
    wrk: Wrk,
    wrk_floor: Wrk,
    body_bytes: usize,
    gzip_bytes: usize,
    series: usize,
    /// VmHWM right after the first poll, VmHWM at the end, VmRSS at the end (bytes).
    rss_peak_poll: u64,
    rss_peak: u64,
    rss_steady: u64,
    /// Sequential scrapes while the exporter polls back to back.
    polling: Polling,
    /// The same, with every task run again (a new `last_run_at`) before
    /// each poll.
    churn: Polling,
}

/// A second exporter, polling every second (back to back at 100k tasks)
/// while it is scraped: whether polls stall scrapes, and the peak RSS of
/// polls that build a new snapshot while the last one is still served.
#[derive(Default, Clone, Copy)]
struct Polling {
    polls: u64,
    scrape: Latency,
    slowest: Duration,
    rss_peak: u64,
    rss_steady: u64,
}

#[derive(Default, Clone, Copy)]
struct Latency {
    count: usize,
    median: Duration,
    p99: Duration,
}

#[derive(Default, Clone, Copy)]
struct Wrk {
    requests_per_second: f64,
    median: Duration,
    p99: Duration,
}

impl Latency {
    /// The report's cell: `median (p99, n=count)`.
    fn summary(&self) -> String {
        format!("{} ({}, n={})", ms(self.median), ms(self.p99), self.count)
    }
}

impl Wrk {
    /// The report's cell: `req/s (median, p99)`.
    fn summary(&self) -> String {
        format!(
            "{:.1} ({}, {})",
            self.requests_per_second,
            ms(self.median),
            ms(self.p99)
        )
    }
}

async fn run(options: Options) {
    if !options.exporter.is_file() {
        die(&format!(
            "no exporter binary at {}: run `cargo build --release --bin arize-exporter` first, or pass --exporter",
            options.exporter.display()
        ));
    }
    // What the report says produced it: the script, with what it was given
    // (the binary's path, which the script adds, left out).
    let mut command = "scripts/bench.sh".to_owned();
    let mut given = options.args.iter();
    while let Some(arg) = given.next() {
        if arg == "--exporter" {
            given.next();
        } else {
            command.push(' ');
            command.push_str(arg);
        }
    }
    if options.cost_only {
        let costs = cost::measure(&options).await;
        print!("{}", cost::report(&costs, &command));
        let _ = std::io::stdout().flush();
        return;
    }
    let machine = machine();
    eprintln!("scale_bench: {machine}");
    let load_start = load_average();
    eprintln!("scale_bench: load at start: {load_start}");
    let started = Instant::now();
    let mut rows = Vec::new();
    for &n in &options.sizes {
        eprintln!("scale_bench: N = {n}");
        rows.push(bench_one(&options, n, false).await);
    }
    if let Some(&n) = options.sizes.iter().max() {
        eprintln!("scale_bench: N = {n}, runs read for every task");
        rows.push(bench_one(&options, n, true).await);
    }
    let runs = if options.sizes.contains(&10_000) {
        eprintln!("scale_bench: task runs, 10000 tasks, 1% run between polls");
        Some(runs_phase(&options).await)
    } else {
        None
    };
    eprintln!("scale_bench: what a task costs, by family");
    let costs = cost::measure(&options).await;
    eprintln!("scale_bench: idle demo RSS");
    let (demo_rss, demo_hwm) = demo_rss(&options.exporter).await;
    let binary = std::fs::metadata(&options.exporter)
        .map(|m| m.len())
        .unwrap_or(0);
    let load_end = format!("{load_start} at the start, {} at the end", load_average());
    report(
        &options,
        &machine,
        &rows,
        runs.as_ref(),
        demo_rss,
        demo_hwm,
        binary,
        &load_end,
        started,
    );
    println!("\n{}", cost::report(&costs, &command));
}

async fn bench_one(options: &Options, n: usize, runs: bool) -> Row {
    let mut row = Row {
        tasks: n,
        runs,
        pages: n.div_ceil(PAGE_SIZE).max(1),
        ..Row::default()
    };
    let simulator = Simulator::start(generated_tasks(n, time::OffsetDateTime::now_utc()))
        .await
        .unwrap_or_else(|e| die(&e));
    let api_url = simulator.base_url();

    // The floors for polling: the same client, the same pages.
    let settings =
        Settings::from_args(std::iter::once("arize-exporter").chain(client_args(&api_url)))
            .unwrap_or_else(|_| die(&"cannot build the client settings"));
    let mut bare = Vec::new();
    let mut decode = Vec::new();
    for _ in 0..if runs { 0 } else { options.fetch_runs } {
        bare.push(fetch_loop::<CursorOnly>(&settings, n).await);
        decode.push(fetch_loop::<TaskPage>(&settings, n).await);
    }
    if !runs {
        row.bare_fetch = median(&mut bare);
        row.fetch_decode = median(&mut decode);
    }

    // The exporter: time to the first complete poll.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("scale_bench-exporter-{n}.log"));
    let listen = format!("127.0.0.1:{port}");
    let mut args = client_args(&api_url);
    args.extend(["--poll-interval", "1h", "--listen-address", &listen]);
    let budget = n.to_string();
    if runs {
        args.extend([
            "--task-runs",
            "true",
            "--max-run-requests-per-poll",
            &budget,
        ]);
    } else {
        args.extend(["--task-runs", "false"]);
    }
    let spawned = Instant::now();
    let mut exporter = spawn_exporter(&options.exporter, &args, &log);
    let pid = exporter.id();
    let plain = client(false);
    let deadline = spawned + Duration::from_secs(600);
    loop {
        if Instant::now() > deadline {
            die(&format!(
                "the exporter was not ready in 10 minutes; see {}",
                log.display()
            ));
        }
        if let Ok(Some(status)) = exporter.try_wait() {
            die(&format!(
                "the exporter exited ({status}); see {}",
                log.display()
            ));
        }
        let ready = matches!(
            plain.get(format!("{base}/readyz")).send().await,
            Ok(r) if r.status().is_success()
        );
        if ready {
            row.ready_after = spawned.elapsed();
            break;
        }
        let asked = Instant::now();
        // Refused until the exporter listens.
        if try_drain(&plain, &format!("{base}/metrics")).await.is_ok() {
            row.scrape_during_poll_max = row.scrape_during_poll_max.max(asked.elapsed());
            row.scrapes_during_poll += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    row.rss_peak_poll = common::proc_status(pid, "VmHWM:");
    if !runs {
        // The URLs the first poll sent (cursors included), from the
        // simulator's log: the second floor fetches exactly those.
        let urls: Vec<String> = simulator
            .requests()
            .iter()
            .filter(|r| r.path == "/v2/tasks")
            .map(|r| {
                // Encoded as the exporter's client encodes it.
                let mut url = reqwest::Url::parse(&format!("{api_url}{}", r.path))
                    .unwrap_or_else(|e| die(&e));
                url.query_pairs_mut().extend_pairs(&r.query);
                url.to_string()
            })
            .collect();
        let urls = &urls[urls.len().saturating_sub(row.pages)..];
        let mut plain = Vec::new();
        for _ in 0..options.fetch_runs {
            plain.push(plain_fetch(urls).await);
        }
        row.plain_fetch = median(&mut plain);
    }

    let body = scrape_after_first_poll(&plain, &base, &log).await;
    let text = String::from_utf8_lossy(&body);
    let counted: f64 = text
        .lines()
        .filter(|l| l.starts_with("arize_tasks{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    if counted as usize != n {
        die(&format!("the exporter counts {counted} tasks, not {n}"));
    }
    row.poll_seconds = text
        .lines()
        .find_map(|l| l.strip_prefix("arize_exporter_poll_duration_seconds_sum "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    row.series = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    row.body_bytes = body.len();
    if runs {
        let backlog = text
            .lines()
            .find_map(|l| l.strip_prefix("arize_exporter_task_runs_backlog "))
            .and_then(|v| v.parse::<f64>().ok());
        let statuses = text
            .lines()
            .filter(|l| l.starts_with("arize_task_last_run_status{"))
            .count();
        if backlog != Some(0.0) || statuses == 0 {
            die(&format!(
                "runs not read for every task: backlog {backlog:?}, {statuses} statuses"
            ));
        }
    }
    let gzipped = client(true);
    let cpu = cpu_ns(pid);
    row.gzip_bytes = drain(&gzipped, &format!("{base}/metrics")).await;
    row.cpu_gzip_first = (cpu_ns(pid) - cpu) as f64 / 1e9;

    // Sequential scrapes, then four concurrent clients.
    (row.scrape, row.cpu_plain) =
        sequential_cpu(&plain, &format!("{base}/metrics"), options, pid).await;
    (row.scrape_gzip, row.cpu_gzip) =
        sequential_cpu(&gzipped, &format!("{base}/metrics"), options, pid).await;
    row.wrk = wrk(&format!("{base}/metrics"), options.wrk_duration);
    tokio::time::sleep(Duration::from_secs(1)).await;
    row.rss_peak = common::proc_status(pid, "VmHWM:");
    row.rss_steady = common::proc_status(pid, "VmRSS:");
    let _ = exporter.kill();
    let _ = exporter.wait();

    if !runs {
        row.polling = polling_phase(options, &api_url, n, None).await;
        row.churn = polling_phase(options, &api_url, n, Some(&simulator)).await;
    }

    // The floor for serving: the identical body from memory.
    let file = std::env::temp_dir().join(format!("scale_bench-body-{n}.txt"));
    std::fs::write(&file, &body).unwrap_or_else(|e| die(&e));
    drop(text);
    drop(body);
    let port = free_port();
    let floor_base = format!("http://127.0.0.1:{port}");
    let floor = Command::new(std::env::current_exe().unwrap_or_else(|e| die(&e)))
        .args(["--serve-static"])
        .arg(&file)
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| die(&e));
    let mut floor = adopt(floor);
    wait_until_up(&plain, &format!("{floor_base}/metrics"), &mut floor).await;
    row.floor = sequential(&plain, &format!("{floor_base}/metrics"), options).await;
    row.wrk_floor = wrk(&format!("{floor_base}/metrics"), options.wrk_duration);
    let _ = floor.kill();
    let _ = floor.wait();
    let _ = std::fs::remove_file(&file);
    simulator.shutdown().await;
    row
}

/// Scrapes a second exporter that polls every second, for `polls` polls
/// after the first (at least 4 seconds). With `churn`, every task of that
/// simulator gets a new `last_run_at` (and so new values) once a second, as
/// continuous tasks do: no record and no block of values can be shared
/// between snapshots, while definitions and labels are. (Every task
/// renamed as well, the worst case, is `--simulate N --churn-names`, by
/// hand: docs/performance.md.)
async fn polling_phase(
    options: &Options,
    api_url: &str,
    n: usize,
    churn: Option<&Simulator>,
) -> Polling {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/metrics");
    let log = std::env::temp_dir().join(format!("scale_bench-polling-{n}.log"));
    let listen = format!("127.0.0.1:{port}");
    let mut args = client_args(api_url);
    args.extend([
        "--poll-interval",
        "1s",
        "--listen-address",
        &listen,
        "--task-runs",
        "false",
    ]);
    let mut exporter = spawn_exporter(&options.exporter, &args, &log);
    let plain = client(false);
    let successes = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("arize_exporter_polls_total{outcome=\"success\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let polls_now = |plain: reqwest::Client, url: String| async move {
        match plain.get(&url).send().await {
            Ok(r) => successes(&r.text().await.unwrap_or_default()),
            Err(_) => 0,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while polls_now(plain.clone(), url.clone()).await < 1 {
        if Instant::now() > deadline {
            die(&format!("no poll in 10 minutes; see {}", log.display()));
        }
        if let Ok(Some(status)) = exporter.try_wait() {
            die(&format!(
                "the exporter exited ({status}); see {}",
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let mut times = Vec::new();
    let wanted = options.polls + 1;
    let mut checked = Instant::now();
    let mut churned = Instant::now();
    loop {
        let asked = Instant::now();
        drain(&plain, &url).await;
        times.push(asked.elapsed());
        // Counting the polls costs a scrape: once a second, after 4 s.
        if let (Some(simulator), true) = (churn, churned.elapsed() >= Duration::from_secs(1)) {
            churned = Instant::now();
            simulator.set_tasks(generated_tasks(n, time::OffsetDateTime::now_utc()));
        }
        if started.elapsed() >= Duration::from_secs(4)
            && checked.elapsed() >= Duration::from_secs(1)
        {
            checked = Instant::now();
            if polls_now(plain.clone(), url.clone()).await >= wanted {
                break;
            }
        }
        if Instant::now() > deadline {
            die(&format!(
                "fewer than {wanted} polls in 10 minutes; see {}",
                log.display()
            ));
        }
    }
    let polls = polls_now(plain.clone(), url.clone()).await;
    let pid = exporter.id();
    let result = Polling {
        polls,
        slowest: times.iter().copied().max().unwrap_or_default(),
        scrape: latency(times),
        rss_peak: common::proc_status(pid, "VmHWM:"),
        rss_steady: common::proc_status(pid, "VmRSS:"),
    };
    let _ = exporter.kill();
    let _ = exporter.wait();
    result
}

/// Task runs at 10,000 tasks of which 1% ran since the last poll.
struct RunsPhase {
    /// Per poll measured: `GET /v2/tasks` requests, run requests, seconds.
    polls: Vec<(usize, usize, f64)>,
    /// The same 100 pages and 100 run requests with the same client, one
    /// after the other: median of the runs.
    floor: Duration,
}

/// Tasks in the runs phase, and the share of them that run between polls.
const RUNS_TASKS: usize = 10_000;
const RUNS_RAN: usize = RUNS_TASKS / 100;

/// An exporter reading runs (`--max-run-requests-per-poll 100`) of 10,000
/// tasks polled every 2 s; before each poll 100 tasks that never ran get a
/// new run, so each poll must send exactly 100 list and 100 run requests
/// (counted by the simulator); dies if it sends more.
async fn runs_phase(options: &Options) -> RunsPhase {
    let task = |i: usize, ran: Option<time::OffsetDateTime>| {
        let t = SimTask::new(
            &format!("task-{i:05}"),
            &format!("Task {i}"),
            "TEMPLATE_EVALUATION",
            true,
            ran,
        );
        match ran {
            Some(at) => t.with_runs(vec![SimRun::completed(at, 10, 0, 0)]),
            None => t,
        }
    };
    let mut ran_at: Vec<Option<time::OffsetDateTime>> = vec![None; RUNS_TASKS];
    let tasks = |ran_at: &[Option<time::OffsetDateTime>]| -> Vec<SimTask> {
        ran_at
            .iter()
            .enumerate()
            .map(|(i, r)| task(i, *r))
            .collect()
    };
    let simulator = Simulator::start(tasks(&ran_at))
        .await
        .unwrap_or_else(|e| die(&e));
    let api_url = simulator.base_url();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let listen = format!("127.0.0.1:{port}");
    let log = std::env::temp_dir().join("scale_bench-runs.log");
    let mut args = client_args(&api_url);
    let budget = RUNS_RAN.to_string();
    args.extend([
        "--poll-interval",
        "2s",
        "--listen-address",
        &listen,
        "--task-runs",
        "true",
        "--max-run-requests-per-poll",
        &budget,
        // Looking at the poll counter every 20 ms must not cost a render
        // of 10,000 tasks: the self metrics only.
        "--per-task-metrics",
        "false",
    ]);
    let mut exporter = spawn_exporter(&options.exporter, &args, &log);
    let plain = client(false);
    // Polls that succeeded and the poll_duration_seconds sum, from /metrics.
    let state = |plain: reqwest::Client, url: String| async move {
        let text = match plain.get(&url).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let find = |prefix: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (
            find("arize_exporter_polls_total{outcome=\"success\"} ") as u64,
            find("arize_exporter_poll_duration_seconds_sum "),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    let wait_for = |polls: u64| {
        let (plain, url, log) = (plain.clone(), url.clone(), log.clone());
        async move {
            loop {
                let now = state(plain.clone(), url.clone()).await;
                if now.0 >= polls {
                    return now;
                }
                if Instant::now() > deadline {
                    die(&format!("no poll {polls} in time; see {}", log.display()));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let mut last = wait_for(1).await;
    let mut result = RunsPhase {
        polls: Vec::new(),
        floor: Duration::ZERO,
    };
    let mut batch = Vec::new();
    for k in 0..options.polls as usize + 1 {
        if let Ok(Some(status)) = exporter.try_wait() {
            die(&format!(
                "the exporter exited ({status}); see {}",
                log.display()
            ));
        }
        // 1% of the tasks run now: the next poll reads their runs.
        let at = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
        batch = (k * RUNS_RAN..(k + 1) * RUNS_RAN).collect();
        for &i in &batch {
            ran_at[i] = Some(at);
        }
        simulator.set_tasks(tasks(&ran_at));
        let before = simulator.request_count();
        let now = wait_for(last.0 + 1).await;
        if now.0 > last.0 + 1 {
            die(&"two polls between two looks: the poll interval is too short");
        }
        let sent = simulator.request_count() - before;
        let requests = simulator.requests();
        let recent = &requests[requests.len().saturating_sub(sent)..];
        let list = recent.iter().filter(|r| r.path == "/v2/tasks").count();
        let runs = recent.iter().filter(|r| r.runs_task_id().is_some()).count();
        if list != RUNS_TASKS / PAGE_SIZE || runs != RUNS_RAN {
            die(&format!(
                "poll {k}: {list} list and {runs} run requests, not {} and {RUNS_RAN}",
                RUNS_TASKS / PAGE_SIZE
            ));
        }
        result.polls.push((list, runs, now.1 - last.1));
        last = now;
    }
    let _ = exporter.kill();
    let _ = exporter.wait();

    // The floor: the same URLs with the same client settings.
    let settings =
        Settings::from_args(std::iter::once("arize-exporter").chain(client_args(&api_url)))
            .unwrap_or_else(|_| die(&"cannot build the client settings"));
    let ids: Vec<String> = batch.iter().map(|i| format!("task-{i:05}")).collect();
    let mut times = Vec::new();
    for _ in 0..options.fetch_runs.max(3) {
        times.push(fetch_loop_with_runs(&settings, &ids).await);
    }
    result.floor = median(&mut times);
    simulator.shutdown().await;
    result
}

/// The floors' client: the exporter's own `ArizeClient`, built from the
/// same flags, recording into a registry of its own.
fn floor_client(settings: &Settings) -> ArizeClient {
    let Target::Remote { base_url, key } = &settings.target else {
        die(&"the fetch loop needs an API URL")
    };
    ArizeClient::new(
        base_url.clone(),
        Some(key.clone()),
        &settings.client,
        std::sync::Arc::new(ExporterMetrics::new()),
    )
    .unwrap_or_else(|e| die(&e))
}

/// The bare fetch loop, then one runs request per id, with one client.
async fn fetch_loop_with_runs(settings: &Settings, ids: &[String]) -> Duration {
    let client = floor_client(settings);
    let started = Instant::now();
    let session = client.session().unwrap_or_else(|e| die(&e));
    pager::for_each_page::<CursorOnly>(&session, &tasks::endpoint(), &[], PAGE_SIZE as u32, |_| {})
        .await
        .unwrap_or_else(|e| die(&e));
    let limit = arize_exporter::arize::runs::PAGE_SIZE.to_string();
    for id in ids {
        let _: CursorOnly = session
            .get_json(
                &arize_exporter::arize::runs::endpoint(id),
                &[("limit", &limit)],
            )
            .await
            .unwrap_or_else(|e| die(&e));
    }
    started.elapsed()
}

/// GETs `urls` one after the other on one kept-alive connection, with the
/// exporter's `Accept-Encoding` (reqwest's gzip, as the exporter's client
/// sends it) and key, each body read whole and dropped: how long a client
/// that does nothing else takes to walk the same pages.
async fn plain_fetch(urls: &[String]) -> Duration {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| die(&e));
    let started = Instant::now();
    for url in urls {
        let response = client
            .get(url)
            .bearer_auth("x")
            .send()
            .await
            .unwrap_or_else(|e| die(&e));
        if !response.status().is_success() {
            die(&format!("{url} answered {}", response.status()));
        }
        response.bytes().await.unwrap_or_else(|e| die(&e));
    }
    started.elapsed()
}

/// Median and p99 of some durations.
fn latency(mut times: Vec<Duration>) -> Latency {
    times.sort();
    Latency {
        count: times.len(),
        median: times[times.len() / 2],
        p99: times[((times.len() * 99).div_ceil(100)).saturating_sub(1)],
    }
}

/// A page that keeps only where the next one is.
#[derive(Deserialize)]
struct CursorOnly {
    pagination: Pagination,
}

impl Page for CursorOnly {
    type Item = ();
    fn into_parts(self) -> (Vec<()>, Pagination) {
        (Vec::new(), self.pagination)
    }
}

/// One walk over every page with a fresh client, as one poll does.
async fn fetch_loop<P>(settings: &Settings, n: usize) -> Duration
where
    P: Page + serde::de::DeserializeOwned,
{
    let client = floor_client(settings);
    let started = Instant::now();
    let session = client.session().unwrap_or_else(|e| die(&e));
    let mut items = 0;
    pager::for_each_page::<P>(
        &session,
        &tasks::endpoint(),
        &[],
        PAGE_SIZE as u32,
        |page| items += page.len(),
    )
    .await
    .unwrap_or_else(|e| die(&e));
    let elapsed = started.elapsed();
    if std::any::type_name::<P>().ends_with("TaskPage") && items != n {
        die(&format!("the fetch loop saw {items} tasks, not {n}"));
    }
    elapsed
}

/// The client flags every part of the benchmark shares: the floors fetch the
/// same pages with the same settings as the exporters they are compared with.
fn client_args(api_url: &str) -> Vec<&str> {
    vec![
        "--api-url",
        api_url,
        "--api-key",
        "x",
        "--page-size",
        "100",
        "--max-requests-per-second",
        "100000",
    ]
}

fn spawn_exporter(binary: &Path, args: &[&str], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap_or_else(|e| die(&e));
    let child = Command::new(binary)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("ARIZE_EXPORTER_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| die(&e));
    adopt(child)
}

fn client(gzip: bool) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if gzip {
        // Set by hand with automatic decoding off: the body is counted as sent.
        headers.insert(
            reqwest::header::ACCEPT_ENCODING,
            reqwest::header::HeaderValue::from_static("gzip"),
        );
    }
    reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .default_headers(headers)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_else(|e| die(&e))
}

/// The plain body of `/metrics` at `base`, which must say `arize_up 1`
/// (else the run stops, naming the exporter's `log`).
async fn scrape_after_first_poll(client: &reqwest::Client, base: &str, log: &Path) -> bytes::Bytes {
    let body = get(client, &format!("{base}/metrics")).await;
    if !String::from_utf8_lossy(&body)
        .lines()
        .any(|l| l == "arize_up 1")
    {
        die(&format!(
            "arize_up is not 1 after the first poll; see {}",
            log.display()
        ));
    }
    body
}

async fn get(client: &reqwest::Client, url: &str) -> bytes::Bytes {
    let response = client.get(url).send().await.unwrap_or_else(|e| die(&e));
    if !response.status().is_success() {
        die(&format!("{url} answered {}", response.status()));
    }
    response.bytes().await.unwrap_or_else(|e| die(&e))
}

/// GETs `url` and reads the body to its end without keeping it (a scraper
/// parses as it reads; collecting a chunked body would add the cost of
/// growing a buffer to the exporter's figure only): the bytes read.
async fn drain(client: &reqwest::Client, url: &str) -> usize {
    try_drain(client, url).await.unwrap_or_else(|e| die(&e))
}

async fn try_drain(client: &reqwest::Client, url: &str) -> Result<usize, String> {
    let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let mut read = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        read += chunk.len();
    }
    Ok(read)
}

/// Sequential GETs, each body read to its end: median and p99.
async fn sequential(client: &reqwest::Client, url: &str, options: &Options) -> Latency {
    for _ in 0..3 {
        drain(client, url).await;
    }
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < options.scrapes
        && (times.len() < 10 || started.elapsed() < options.scrape_budget)
    {
        let asked = Instant::now();
        drain(client, url).await;
        times.push(asked.elapsed());
    }
    latency(times)
}

/// [`sequential`], with the CPU time (user + system, from /proc/PID/stat)
/// the exporter `pid` spent per scrape, in seconds, warm-up scrapes included.
async fn sequential_cpu(
    client: &reqwest::Client,
    url: &str,
    options: &Options,
    pid: u32,
) -> (Latency, f64) {
    let before = cpu_ticks(pid);
    let latency = sequential(client, url, options).await;
    let ticks = cpu_ticks(pid).saturating_sub(before);
    let per_scrape = ticks as f64 / procfs::ticks_per_second() as f64 / (latency.count + 3) as f64;
    (latency, per_scrape)
}

/// utime + stime of process `pid` (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15, the 12th and 13th after the command.
    let field = |k: usize| {
        fields
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// CPU time of every thread of process `pid`, in nanoseconds, from the
/// scheduler (/proc/PID/task/*/schedstat): precise enough for one scrape.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

async fn wait_until_up(client: &reqwest::Client, url: &str, child: &mut Child) {
    for _ in 0..2000 {
        if let Ok(Some(status)) = child.try_wait() {
            die(&format!("the static server exited ({status})"));
        }
        if matches!(client.get(url).send().await, Ok(r) if r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    die(&"the static server did not come up");
}

/// `wrk -t4 -c4 -d<secs>s --latency`: requests per second, median and p99.
fn wrk(url: &str, seconds: u64) -> Wrk {
    let out = Command::new("wrk")
        .args([
            "-t4",
            "-c4",
            &format!("-d{seconds}s"),
            "--timeout",
            "60s",
            "--latency",
            url,
        ])
        .output()
        .unwrap_or_else(|e| {
            die(&format!(
                "cannot run wrk (scripts/bench.sh installs it): {e}"
            ))
        });
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let result = Wrk {
        requests_per_second: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
        median: field("50%").map_or(Duration::ZERO, parse_wrk_duration),
        p99: field("99%").map_or(Duration::ZERO, parse_wrk_duration),
    };
    if result.requests_per_second.is_nan()
        || text.contains("Socket errors")
        || text.contains("Non-2xx")
    {
        eprintln!("scale_bench: wrk said:\n{text}");
    }
    result
}

/// `812.00us`, `3.21ms`, `1.02s`, `1.50m`.
fn parse_wrk_duration(text: &str) -> Duration {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or(0.0);
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => 0.0,
    };
    Duration::from_secs_f64(seconds)
}

/// Idle RSS of `--demo`: after the first poll, a scrape and a pause.
async fn demo_rss(binary: &Path) -> (u64, u64) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::env::temp_dir().join("scale_bench-demo.log");
    let mut demo = spawn_exporter(
        binary,
        &["--demo", "--listen-address", &format!("127.0.0.1:{port}")],
        &log,
    );
    let plain = client(false);
    for _ in 0..3000 {
        if matches!(plain.get(format!("{base}/readyz")).send().await, Ok(r) if r.status().is_success())
        {
            break;
        }
        if let Ok(Some(status)) = demo.try_wait() {
            die(&format!(
                "the demo exporter exited ({status}); see {}",
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    get(&plain, &format!("{base}/metrics")).await;
    get(&client(true), &format!("{base}/metrics")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = common::proc_status(demo.id(), "VmRSS:");
    let hwm = common::proc_status(demo.id(), "VmHWM:");
    let _ = demo.kill();
    let _ = demo.wait();
    (rss, hwm)
}

/// A field of /proc/PID/status, in bytes.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| die(&e))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "? GiB".into(),
            |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
        );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, {memory} RAM")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    options: &Options,
    machine: &str,
    rows: &[Row],
    runs: Option<&RunsPhase>,
    demo_rss: u64,
    demo_hwm: u64,
    binary: u64,
    load_end: &str,
    started: Instant,
) {
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<String>| {
        out.push_str("| ");
        out.push_str(&cells.join(" | "));
        out.push_str(" |\n");
    };
    let mut header = vec!["".to_owned()];
    header.extend(rows.iter().map(|r| {
        if r.runs {
            format!("{} tasks, runs read for all", r.tasks)
        } else {
            format!("{} tasks", r.tasks)
        }
    }));
    line(&mut out, header);
    line(
        &mut out,
        std::iter::once("---".to_owned())
            .chain(rows.iter().map(|_| "---:".to_owned()))
            .collect(),
    );
    let mut add = |label: &str, cell: &dyn Fn(&Row) -> String| {
        let mut cells = vec![label.to_owned()];
        cells.extend(rows.iter().map(cell));
        line(&mut out, cells);
    };
    add("pages of 100", &|r| r.pages.to_string());
    // The runs column has no polling floor and no polling phase.
    let dash = |r: &Row, cell: String| if r.runs { "-".to_owned() } else { cell };
    add("bare fetch loop (floor), median", &|r| {
        dash(r, ms(r.bare_fetch))
    });
    add("fetch + decode tasks, median", &|r| {
        dash(r, ms(r.fetch_decode))
    });
    add("first poll (poll_duration_seconds_sum)", &|r| {
        ms(Duration::from_secs_f64(r.poll_seconds.max(0.0)))
    });
    add("**poll / bare fetch**", &|r| {
        dash(r, ratio(r.poll_seconds, r.bare_fetch.as_secs_f64()))
    });
    add(
        "plain keep-alive client, the poll's URLs (floor 2), median",
        &|r| dash(r, ms(r.plain_fetch)),
    );
    add("**poll / plain client**", &|r| {
        dash(r, ratio(r.poll_seconds, r.plain_fetch.as_secs_f64()))
    });
    add("process start to /readyz 200", &|r| ms(r.ready_after));
    add("slowest /metrics during the first poll", &|r| {
        format!(
            "{} ({} scrapes)",
            ms(r.scrape_during_poll_max),
            r.scrapes_during_poll
        )
    });
    add("/metrics median (p99), sequential", &|r| r.scrape.summary());
    add("static bytes median (p99) (floor)", &|r| r.floor.summary());
    add("**/metrics median / floor**", &|r| {
        ratio(r.scrape.median.as_secs_f64(), r.floor.median.as_secs_f64())
    });
    add("/metrics gzip median (p99)", &|r| r.scrape_gzip.summary());
    add("**/metrics gzip median / plain floor**", &|r| {
        ratio(
            r.scrape_gzip.median.as_secs_f64(),
            r.floor.median.as_secs_f64(),
        )
    });
    add("CPU per scrape, plain (user+system)", &|r| {
        ms(Duration::from_secs_f64(r.cpu_plain))
    });
    add("CPU per scrape, gzip", &|r| {
        ms(Duration::from_secs_f64(r.cpu_gzip))
    });
    add("CPU, first gzip scrape of a snapshot", &|r| {
        ms(Duration::from_secs_f64(r.cpu_gzip_first))
    });
    add("CPU share, 2 scrapers every 15 s, gzip, 60 s polls", &|r| {
        format!("{:.2} %", 100.0 * ha_share(r))
    });
    add("/metrics wrk 4 clients: req/s (median, p99)", &|r| {
        r.wrk.summary()
    });
    add("static bytes wrk 4 clients: req/s (median, p99)", &|r| {
        r.wrk_floor.summary()
    });
    add("wrk throughput / floor", &|r| {
        ratio(r.wrk.requests_per_second, r.wrk_floor.requests_per_second)
    });
    add("4 clients / 1 sequential client, req/s", &|r| {
        ratio(
            r.wrk.requests_per_second,
            1.0 / r.scrape.median.as_secs_f64(),
        )
    });
    add("body plain", &|r| mb(r.body_bytes as u64));
    add("body gzip", &|r| {
        format!(
            "{} ({:.1}x smaller)",
            mb(r.gzip_bytes as u64),
            r.body_bytes as f64 / r.gzip_bytes.max(1) as f64
        )
    });
    add("series", &|r| r.series.to_string());
    add("peak RSS after the first poll (VmHWM)", &|r| {
        mb(r.rss_peak_poll)
    });
    add("peak RSS after scraping (VmHWM)", &|r| mb(r.rss_peak));
    add("steady RSS (VmRSS)", &|r| mb(r.rss_steady));
    add(
        "polling every 1 s: polls, /metrics median (p99, slowest)",
        &|r| {
            dash(
                r,
                format!(
                    "{} ({} polls; {}, {}, n={})",
                    ms(r.polling.scrape.median),
                    r.polling.polls,
                    ms(r.polling.scrape.p99),
                    ms(r.polling.slowest),
                    r.polling.scrape.count
                ),
            )
        },
    );
    add("polling every 1 s: **peak RSS** (VmHWM)", &|r| {
        dash(r, mb(r.polling.rss_peak))
    });
    add("polling every 1 s: steady RSS (VmRSS)", &|r| {
        dash(r, mb(r.polling.rss_steady))
    });
    add(
        "polling every 1 s, every task run again before each poll: polls, **peak RSS** (VmHWM)",
        &|r| {
            dash(
                r,
                format!("{} polls, {}", r.churn.polls, mb(r.churn.rss_peak)),
            )
        },
    );

    let _ = writeln!(out);
    if let Some(runs) = runs {
        let _ = writeln!(
            out,
            "Task runs, {RUNS_TASKS} tasks, {RUNS_RAN} of them run before each poll (`--max-run-requests-per-poll {RUNS_RAN}`):\n"
        );
        let _ = writeln!(
            out,
            "| poll | list requests | run requests | poll time | / floor |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: |");
        for (k, (list, run, secs)) in runs.polls.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {list} | {run} | {} | {} |",
                k + 2,
                ms(Duration::from_secs_f64(*secs)),
                ratio(*secs, runs.floor.as_secs_f64())
            );
        }
        let _ = writeln!(
            out,
            "| floor: the same {} pages and {RUNS_RAN} run requests, one client | {} | {RUNS_RAN} | {} | 1.00x |\n",
            RUNS_TASKS / PAGE_SIZE,
            RUNS_TASKS / PAGE_SIZE,
            ms(runs.floor)
        );
    }
    let _ = writeln!(
        out,
        "- idle RSS, `--demo`: {} (peak {})",
        mb(demo_rss),
        mb(demo_hwm)
    );
    let _ = writeln!(
        out,
        "- release binary: {} ({})",
        mb(binary),
        options.exporter.display()
    );
    let _ = writeln!(
        out,
        "- machine: {machine}; load average (1, 5, 15 min): {load_end}"
    );
    let _ = writeln!(
        out,
        "- sequential scrapes: up to {} per series ({} s budget); wrk -t4 -c4 -d{}s; bare fetch runs: {}; whole run: {:.0} s",
        options.scrapes,
        options.scrape_budget.as_secs(),
        options.wrk_duration,
        options.fetch_runs,
        started.elapsed().as_secs_f64()
    );

    let _ = writeln!(out, "\nTargets:");
    let mut target = |ok: bool, what: String| {
        let _ = writeln!(out, "- [{}] {what}", if ok { "met" } else { "MISSED" });
    };
    let gzip_floor = |r: &Row| r.scrape_gzip.median.as_secs_f64() / r.floor.median.as_secs_f64();
    for r in rows.iter().filter(|r| r.tasks == 10_000 && !r.runs) {
        let x = gzip_floor(r);
        target(
            x <= 1.0,
            format!(
                "10,000 tasks: gzip /metrics median {}x the plain static floor (at most 1x)",
                shown(x, 1.0)
            ),
        );
    }
    for r in rows.iter().filter(|r| r.tasks == 100_000) {
        let x = gzip_floor(r);
        let what = if r.runs { ", runs read for all" } else { "" };
        target(
            x <= 1.5,
            format!(
                "100,000 tasks{what}: gzip /metrics median {}x the plain static floor (at most 1.5x)",
                shown(x, 1.5)
            ),
        );
        let x = r.scrape.median.as_secs_f64() / r.floor.median.as_secs_f64();
        target(
            x <= 2.0,
            format!(
                "100,000 tasks{what}: plain /metrics median {}x the static floor (at most 2x)",
                shown(x, 2.0)
            ),
        );
    }
    if let Some(runs) = runs {
        let worst = runs.polls.iter().map(|p| p.2).fold(0.0, f64::max);
        target(
            worst <= 1.5 * runs.floor.as_secs_f64(),
            format!(
                "task runs, 10,000 tasks, 1% run: slowest poll {} ({}x its floor, at most 1.5x), each exactly {} list + {RUNS_RAN} run requests",
                ms(Duration::from_secs_f64(worst)),
                shown(worst / runs.floor.as_secs_f64(), 1.5),
                RUNS_TASKS / PAGE_SIZE
            ),
        );
    }
    for r in rows.iter().filter(|r| r.tasks == 10_000 && !r.runs) {
        let x = r.scrape.median.as_secs_f64() / r.floor.median.as_secs_f64();
        target(
            x <= 2.0,
            format!(
                "10,000 tasks: /metrics median {}x the static floor (at most 2x)",
                shown(x, 2.0)
            ),
        );
    }
    for r in rows.iter().filter(|r| r.tasks == 100_000 && !r.runs) {
        let x = r.poll_seconds / r.plain_fetch.as_secs_f64();
        target(
            x <= 1.5,
            format!(
                "100,000 tasks: poll {}x a plain keep-alive client fetching its URLs (at most 1.5x)",
                shown(x, 1.5)
            ),
        );
        let x = r.poll_seconds / r.bare_fetch.as_secs_f64();
        target(
            x <= 1.5,
            format!(
                "100,000 tasks: poll {}x the bare fetch loop (at most 1.5x)",
                shown(x, 1.5)
            ),
        );
    }
    for r in rows.iter().filter(|r| r.tasks == 100_000) {
        let what = if r.runs {
            ", runs read for all, gzip copy kept"
        } else {
            ", gzip copy kept"
        };
        target(
            r.rss_peak.max(r.polling.rss_peak) <= 150_000_000,
            format!(
                "100,000 tasks{what}: peak RSS {} (at most 150 MB)",
                mb(r.rss_peak.max(r.polling.rss_peak))
            ),
        );
        if !r.runs {
            // What a continuous task does between two polls, every task at
            // once: new values, the same definition and labels.
            target(
                r.churn.rss_peak <= 150_000_000,
                format!(
                    "100,000 tasks, every task run again before each poll: peak RSS {} (at most 150 MB)",
                    mb(r.churn.rss_peak)
                ),
            );
        }
    }
    target(
        demo_rss <= 20_000_000,
        format!("idle RSS in demo mode {} (at most 20 MB)", mb(demo_rss)),
    );
    target(
        binary <= 15_000_000,
        format!("release binary {} (at most 15 MB)", mb(binary)),
    );
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// Share of one core spent serving two scrapers (an HA pair of Prometheus
/// servers) each scraping with gzip every 15 s while the exporter polls
/// every 60 s (the default): per poll, one gzip scrape compresses the fixed
/// families and seven copy them.
fn ha_share(r: &Row) -> f64 {
    (r.cpu_gzip_first + 7.0 * r.cpu_gzip) / 60.0
}

/// The static-bytes floor: the captured body, served from memory by a
/// minimal axum server with the exporter's content type.
fn serve_static(file: &Path, addr: SocketAddr) {
    let body = bytes::Bytes::from(std::fs::read(file).unwrap_or_else(|e| die(&e)));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| die(&e));
    runtime.block_on(async move {
        use axum::http::header::CONTENT_TYPE;
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = body.clone();
                async move {
                    (
                        [(CONTENT_TYPE, arize_exporter::text_format::CONTENT_TYPE)],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| die(&e));
        axum::serve(listener, app).await.unwrap_or_else(|e| die(&e));
    });
}
