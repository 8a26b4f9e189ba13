//! The exporter under test: an in-process harness (the real app, built by
//! `App::build` as the binary builds it, polled and rendered on demand)
//! against the project's own simulated Arize API, a harness around the real
//! binary, an exposition parser, `promtool check metrics` and HTTP helpers.
//! Everything talks real HTTP on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arize_exporter::app::App;
use arize_exporter::arize::{ApiError, FailureReason};
use arize_exporter::config::{ConfigError, Settings};
use arize_exporter::metrics::ExporterMetrics;
use arize_exporter::state::SharedState;
use arize_sim::{SimTask, Simulator};

use super::tools::{output_text, tool, PROMETHEUS};

/// The key the in-process harness sends unless told otherwise.
pub const TEST_KEY: &str = "test-key-0123456789";

// ---------------------------------------------------------------------------
// In-process harness
// ---------------------------------------------------------------------------

/// Flags that keep the suite fast unless a test overrides them.
const FAST_DEFAULTS: &[(&str, &str)] = &[
    ("--request-timeout", "2s"),
    ("--max-retries", "1"),
    ("--max-requests-per-second", "1000"),
];

/// Builds the argument list: `--api-url`, a key, the fast defaults not
/// overridden by `extra`, then `extra`.
pub fn args_for(api_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "arize-exporter".to_owned(),
        "--api-url".into(),
        api_url.into(),
    ];
    let has = |flag: &str| {
        extra
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
    };
    if !has("--api-key") && !has("--api-key-file") && !has("--demo") {
        args.extend(["--api-key".to_owned(), TEST_KEY.to_owned()]);
    }
    for (flag, value) in FAST_DEFAULTS {
        if !has(flag) {
            args.extend([(*flag).to_owned(), (*value).to_owned()]);
        }
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

pub fn settings(api_url: &str, extra: &[&str]) -> Settings {
    match Settings::from_args(args_for(api_url, extra)) {
        Ok(settings) => settings,
        Err(ConfigError::Invalid(line)) | Err(ConfigError::Info(line)) => {
            panic!("bad test settings {extra:?}: {line}")
        }
    }
}

/// The real app, as the binary builds it, polled by hand and rendered
/// without a server.
pub struct Harness {
    pub sim: Simulator,
    pub settings: Settings,
    pub state: Arc<SharedState>,
    pub metrics: Arc<ExporterMetrics>,
    pub app: App,
}

impl Harness {
    /// A simulator serving `tasks` and an app pointed at it.
    pub async fn new(tasks: Vec<SimTask>, extra: &[&str]) -> Harness {
        let sim = Simulator::start(tasks).await.expect("simulator starts");
        let url = sim.base_url();
        Harness::with_url(sim, &url, extra).await
    }

    /// An app pointed at `url` (which need not be the simulator's).
    pub async fn with_url(sim: Simulator, url: &str, extra: &[&str]) -> Harness {
        let settings = settings(url, extra);
        let app = App::build(settings.clone()).await.expect("the app builds");
        Harness {
            sim,
            settings,
            state: app.state.clone(),
            metrics: app.metrics.clone(),
            app,
        }
    }

    pub async fn poll(&mut self) -> Result<(), ApiError> {
        self.app.poll_once().await
    }

    pub async fn poll_ok(&mut self) {
        if let Err(e) = self.poll().await {
            panic!("poll failed: {e}");
        }
    }

    pub async fn poll_err(&mut self) -> ApiError {
        match self.poll().await {
            Ok(()) => panic!("the poll succeeded but was expected to fail"),
            Err(e) => e,
        }
    }

    /// Polls once, expecting a failure for `reason`; returns the error.
    pub async fn poll_fails_with(&mut self, reason: FailureReason) -> ApiError {
        let err = self.poll_err().await;
        assert_eq!(err.reason, reason, "{err}");
        err
    }

    pub fn render_at(&self, now: SystemTime) -> String {
        self.app.exposition(now).into_string()
    }

    pub fn render(&self) -> String {
        self.render_at(SystemTime::now())
    }

    /// Renders and parses (with all the parser's checks).
    pub fn scrape(&self) -> Scrape {
        Scrape::parse(&self.render())
    }

    pub fn scrape_at(&self, now: SystemTime) -> Scrape {
        Scrape::parse(&self.render_at(now))
    }
}

// ---------------------------------------------------------------------------
// Exposition parser
// ---------------------------------------------------------------------------

/// One sample of the text format.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    pub help: BTreeMap<String, String>,
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the text format 0.0.4, unescaping label values. Panics on a
    /// malformed line, a sample with a timestamp, a duplicate series, a
    /// duplicate HELP/TYPE, or a sample of a family without HELP.
    pub fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        let mut seen = std::collections::HashSet::new();
        for (n, line) in text.split('\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                assert!(
                    scrape
                        .help
                        .insert(name.to_owned(), help.to_owned())
                        .is_none(),
                    "line {n}: second HELP for {name}"
                );
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE has a type");
                assert!(
                    scrape
                        .types
                        .insert(name.to_owned(), kind.to_owned())
                        .is_none(),
                    "line {n}: second TYPE for {name}"
                );
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line).unwrap_or_else(|e| panic!("line {n}: {e}: {line:?}"));
            let key = (sample.name.clone(), sample.labels.clone());
            assert!(seen.insert(key), "line {n}: duplicate series {line:?}");
            scrape.samples.push(sample);
        }
        for sample in &scrape.samples {
            let family = scrape.family_of(&sample.name);
            assert!(
                scrape.help.contains_key(&family),
                "{} has no HELP line",
                sample.name
            );
        }
        scrape
    }

    /// The family a sample belongs to (histogram suffixes stripped).
    fn family_of(&self, name: &str) -> String {
        if self.types.contains_key(name) {
            return name.to_owned();
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.types.contains_key(base) {
                    return base.to_owned();
                }
            }
        }
        name.to_owned()
    }

    /// Every sample of `name` whose labels include `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// Every sample of `name` for the task `id`.
    pub fn of_task(&self, name: &str, id: &str) -> Vec<&Sample> {
        self.find(name, &[("task_id", id)])
    }

    /// The value of the one sample of `name` matching `labels`, if any;
    /// panics if several match.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.find(name, labels);
        assert!(
            found.len() <= 1,
            "{name}{labels:?} matches {} series",
            found.len()
        );
        found.first().map(|s| s.value)
    }

    /// Like [`Scrape::get`] but the series must exist.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
    }

    /// The value of the series `name` of the task `id`, which must exist.
    pub fn task_value(&self, name: &str, id: &str) -> f64 {
        self.value(name, &[("task_id", id)])
    }

    /// The value of a counter series, 0 when the series does not exist.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Names of every sample.
    pub fn names(&self) -> Vec<&str> {
        self.samples.iter().map(|s| s.name.as_str()).collect()
    }

    /// The per-task series of the task `id`, across all families.
    pub fn task_series(&self, id: &str) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.labels.get("task_id").map(String::as_str) == Some(id))
            .collect()
    }

    /// `arize_exporter_poll_errors_total{reason}`.
    pub fn poll_errors(&self, reason: &str) -> f64 {
        self.value("arize_exporter_poll_errors_total", &[("reason", reason)])
    }

    /// `arize_exporter_polls_total{outcome}`.
    pub fn polls(&self, outcome: &str) -> f64 {
        self.value("arize_exporter_polls_total", &[("outcome", outcome)])
    }

    /// `arize_tasks` summed over every label set.
    pub fn total_tasks(&self) -> f64 {
        self.find("arize_tasks", &[]).iter().map(|s| s.value).sum()
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or("no value after the metric name")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        })
    {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            // label name
            let start = match chars.peek() {
                Some((_, '}')) => {
                    let (i, _) = chars.next().unwrap();
                    rest = &after[i + 1..];
                    break;
                }
                Some((i, _)) => *i,
                None => return Err("unterminated label set".into()),
            };
            let end = loop {
                match chars.next() {
                    Some((i, '=')) => break i,
                    Some((_, c)) if c.is_ascii_alphanumeric() || c == '_' => {}
                    Some((_, c)) => return Err(format!("bad character {c:?} in a label name")),
                    None => return Err("unterminated label name".into()),
                }
            };
            let label = &after[start..end];
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label {label} value is not quoted"));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in label {label}")),
                    },
                    Some((_, '"')) => break,
                    Some((_, '\n')) => return Err("raw line feed in a label value".into()),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            }
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label {label} twice"));
            }
            match chars.next() {
                Some((_, ',')) => {}
                Some((i, '}')) => {
                    rest = &after[i + 1..];
                    break;
                }
                other => return Err(format!("unexpected {other:?} after label {label}")),
            }
        }
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or("no single space before the value")?;
    if rest.contains(' ') {
        return Err("a sample carries a timestamp (or trailing garbage)".into());
    }
    let value = match rest {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("bad value {v:?}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

// ---------------------------------------------------------------------------
// promtool
// ---------------------------------------------------------------------------

/// Runs `promtool check metrics` over `exposition`; returns (success, output).
/// Fails the test if promtool is not installed: it is part of the test
/// tooling (`scripts/tools/prometheus.sh`), never skipped.
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(tool("promtool", PROMETHEUS))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "promtool is required by the tests but cannot be run ({e}); \
                 install it with scripts/tools/prometheus.sh \
                 (apt-get install -y --no-install-recommends prometheus)"
            )
        });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let body = exposition.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output().expect("promtool runs");
    writer.join().expect("writer thread");
    (output.status.success(), output_text(&output))
}

// ---------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------

pub const BIN: &str = env!("CARGO_BIN_EXE_arize-exporter");

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A command for the binary with the environment made hermetic: no
/// `ARIZE_*`, `RUST_LOG` or proxy variable leaks in from the test's own.
pub fn exporter_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy().to_ascii_uppercase();
        if k.starts_with("ARIZE_") || k == "RUST_LOG" || k.ends_with("_PROXY") {
            cmd.env_remove(&key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

type Buffer = Arc<Mutex<Vec<u8>>>;

fn drain(mut from: impl Read + Send + 'static) -> Buffer {
    let buffer: Buffer = Arc::default();
    let into = buffer.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buffer
}

/// A running exporter process; killed on drop.
pub struct Process {
    child: Child,
    stdout: Buffer,
    stderr: Buffer,
    pub port: u16,
}

impl Process {
    /// Spawns the binary listening on port 0 of the loopback interface and
    /// reads the port it bound from its log (the exporter logs every
    /// address it actually listens on).
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut all: Vec<&str> = vec!["--web.listen-address", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut p = Process::spawn_raw(&all, env, 0);
        p.port = p.bound_port();
        p
    }

    /// The port of the first "listening" log line (logfmt or JSON), waiting
    /// up to 20 s for it while the process runs.
    fn bound_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.stderr();
            let port = log
                .lines()
                .filter(|l| l.contains("listening"))
                .find_map(|line| {
                    let (_, rest) = line
                        .split_once("address=")
                        .or_else(|| line.split_once("\"address\":\""))?;
                    let addr: String = rest
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    addr.rsplit_once(':')?.1.parse().ok()
                });
            if let Some(port) = port {
                return port;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "the exporter logged no listening address:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Spawns the binary with exactly `args`.
    pub fn spawn_raw(args: &[&str], env: &[(&str, &str)], port: u16) -> Process {
        let mut child = exporter_command(args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        Process {
            child,
            stdout,
            stderr,
            port,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// `GET /metrics`, asserting 200, parsed.
    pub async fn scrape(&self) -> Scrape {
        Scrape::parse(&get_ok(&self.url("/metrics")).await)
    }

    /// Waits until `/healthz` answers (the server is up).
    pub async fn wait_serving(&mut self) {
        self.wait_for_200("/healthz", "did not serve").await;
    }

    /// Waits until `/readyz` answers 200 (the first poll has ended).
    pub async fn wait_ready(&mut self) {
        self.wait_for_200("/readyz", "was not ready").await;
    }

    /// Waits (at most 20 s, while the process runs) until `path` answers
    /// 200; `failure` says what went wrong otherwise ("the exporter …").
    async fn wait_for_200(&mut self, path: &str, failure: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, _, _)) = get(&self.url(path)).await {
                return;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "the exporter {failure} within 20 s; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the exporter exited early with {status}; stderr:\n{}",
                self.stderr()
            );
        }
    }

    /// Waits for the process to exit, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads catch the last output.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends the signal `name` (`TERM`, `INT`, `HUP`, `KILL`) with
    /// `kill(2)`: no `kill` program, which a minimal system may lack.
    pub fn signal(&self, name: &str) {
        let signal = match name {
            "TERM" => libc::SIGTERM,
            "INT" => libc::SIGINT,
            "HUP" => libc::SIGHUP,
            "KILL" => libc::SIGKILL,
            other => panic!("no such signal in the tests: {other}"),
        };
        let pid = libc::pid_t::try_from(self.pid()).expect("a pid fits pid_t");
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill -{name} {pid} failed");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The outcome of a run to completion.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary to completion (at most 30 s), without blocking the
/// async runtime that may be serving a simulator.
pub async fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut process = Process::spawn_raw(args, env, 0);
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("{args:?} did not exit within 30 s"));
    Finished {
        status,
        stdout: process.stdout(),
        stderr: process.stderr(),
    }
}

/// Runs the binary with `--once` against the API at `api_url` with the key
/// `k`, then `extra`.
pub async fn run_once_against(api_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut args = vec!["--api-url", api_url, "--api-key", "k", "--once"];
    args.extend_from_slice(extra);
    run_to_end(&args, env).await
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/// A client that never decompresses on its own and never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// `GET url`: status, headers and body text.
pub async fn get(url: &str) -> Result<(u16, reqwest::header::HeaderMap, String), reqwest::Error> {
    let response = http().get(url).send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await?;
    Ok((status, headers, body))
}

/// `GET url` and the body, asserting 200.
pub async fn get_ok(url: &str) -> String {
    let (status, _, body) = get(url).await.expect("request succeeds");
    assert_eq!(status, 200, "GET {url}: {body}");
    body
}

// ---------------------------------------------------------------------------
// Task helpers
// ---------------------------------------------------------------------------

/// `now` minus `secs` seconds, for `SimTask::new`'s `last_run_at`.
pub fn ago(secs: i64) -> Option<time::OffsetDateTime> {
    Some(time::OffsetDateTime::now_utc() - time::Duration::seconds(secs))
}

/// Waits (polling every 20 ms, at most `timeout`) until `check` holds.
pub async fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------
// The binary's /metrics, raw
// ---------------------------------------------------------------------------

/// The body without the lines that change from one scrape to the next
/// (the ages, computed at scrape time, and the process collector's).
pub fn without_clock(body: &str) -> String {
    body.lines()
        .filter(|l| {
            !l.starts_with("process_") && !l.starts_with("arize_task_seconds_since_last_run{")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `GET /metrics` with this `Accept-Encoding`: the `Content-Encoding` and
/// `Vary` headers and the raw body.
pub async fn metrics_with(p: &Process, accept: &str) -> (Option<String>, Option<String>, Vec<u8>) {
    let response = http()
        .get(p.url("/metrics"))
        .header("Accept-Encoding", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (encoding, vary) = (header("content-encoding"), header("vary"));
    (encoding, vary, response.bytes().await.unwrap().to_vec())
}

/// Every member of a gzip stream, decoded with flate2.
pub fn gunzip(compressed: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

// ---------------------------------------------------------------------------
// API requests and poll errors, as the drift tests count them
// ---------------------------------------------------------------------------

/// The ids of the `arize_task_info` series.
pub fn info_ids(s: &Scrape) -> BTreeSet<String> {
    s.find("arize_task_info", &[])
        .iter()
        .map(|x| x.labels["task_id"].clone())
        .collect()
}

/// `arize_exporter_api_requests_total{endpoint="/v2/tasks", code}`.
pub fn requests_with(s: &Scrape, code: &str) -> f64 {
    s.counter(
        "arize_exporter_api_requests_total",
        &[("endpoint", "/v2/tasks"), ("code", code)],
    )
}

/// Every `arize_exporter_api_requests_total` series, summed.
pub fn all_requests(s: &Scrape) -> f64 {
    s.find("arize_exporter_api_requests_total", &[])
        .iter()
        .map(|x| x.value)
        .sum()
}

/// Every reason of `arize_exporter_poll_errors_total` and its value.
pub fn poll_errors(s: &Scrape) -> BTreeMap<String, f64> {
    s.find("arize_exporter_poll_errors_total", &[])
        .iter()
        .map(|x| (x.labels["reason"].clone(), x.value))
        .collect()
}

/// The poll errors expected when only `reason` counted `n`.
pub fn only_errors(reason: &str, n: f64) -> BTreeMap<String, f64> {
    [
        "unauthorized",
        "rate_limited",
        "server_error",
        "client_error",
        "timeout",
        "transport",
        "decode",
        "pagination",
    ]
    .iter()
    .map(|r| ((*r).to_owned(), if *r == reason { n } else { 0.0 }))
    .collect()
}

// ---------------------------------------------------------------------------
// The landing page
// ---------------------------------------------------------------------------

/// The page's table rows, in order.
pub fn rows(page: &str) -> Vec<&str> {
    let Some(body) = page.split("<tbody>").nth(1) else {
        return Vec::new();
    };
    body.split("</tbody>")
        .next()
        .unwrap_or("")
        .split("<tr")
        .skip(1)
        .collect()
}

/// The one row holding `needle`.
pub fn row_with<'a>(page: &'a str, needle: &str) -> &'a str {
    let found: Vec<&str> = rows(page)
        .into_iter()
        .filter(|r| r.contains(needle))
        .collect();
    assert_eq!(found.len(), 1, "one row with {needle:?}: {found:#?}");
    found[0]
}
