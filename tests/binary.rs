//! The real `arize-exporter` process: flags, endpoints, secrecy of the key,
//! key-file rotation, `--once`, signals and logs (the README's Running it, Configuration and Endpoints sections).
//! The Arize API is the project's simulator, over HTTP on loopback.

mod support;

use std::io::Read;
use std::time::Duration;

use arize_sim::{Scripted, SimTask, Simulator};
use support::exporter::*;
use support::tools::TempDir;

/// A distinctive key that must never show up anywhere.
const SECRET: &str = "sk-SECRET-do-not-leak-7f3a9c1e5b";

/// `GET /v2/tasks` requests the simulator saw (run requests left out).
fn list_requests(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path == "/v2/tasks")
        .count()
}

fn tasks() -> Vec<SimTask> {
    vec![
        SimTask::new(
            "t-fresh",
            "Fresh check",
            "TEMPLATE_EVALUATION",
            true,
            ago(600),
        ),
        SimTask::new(
            "t-old",
            "Old check",
            "CODE_EVALUATION",
            true,
            ago(2 * 86400),
        ),
        SimTask::new(
            "t-never",
            "<script>alert(1)</script>",
            "TEMPLATE_EVALUATION",
            true,
            None,
        ),
        SimTask::new(
            "t-mid",
            "Middle check",
            "RUN_EXPERIMENT",
            false,
            ago(3 * 3600),
        ),
    ]
}

/// Flags for a binary polling `sim`: fast, one poll an hour unless
/// `extra` says otherwise, and the harness's test key unless `extra` gives one.
fn api_args(sim: &Simulator, extra: &[&str]) -> Vec<String> {
    let mut extra: Vec<&str> = extra.to_vec();
    for (flag, value) in [("--poll-interval", "1h"), ("--max-retries", "0")] {
        if !extra.contains(&flag) {
            extra.extend([flag, value]);
        }
    }
    args_for(&sim.base_url(), &extra).split_off(1)
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Spawns the binary with `args` and waits until `/readyz` says its first
/// poll has ended, asserting it failed as unauthorized: `arize_up` 0 and
/// one unauthorized poll error. The process stays up while it is held.
async fn assert_first_poll_unauthorized(args: &[String]) -> Process {
    let mut p = Process::spawn(&refs(args), &[]);
    p.wait_ready().await;
    let s = p.scrape().await;
    assert_eq!(s.value("arize_up", &[]), 0.0);
    assert_eq!(s.poll_errors("unauthorized"), 1.0);
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_serves_the_demo_tasks_and_logs_the_simulator_url() {
    let mut p = Process::spawn(&["--demo"], &[]);
    p.wait_ready().await;
    let s = p.scrape().await;
    assert_eq!(s.value("arize_up", &[]), 1.0);
    let info = s.find("arize_task_info", &[]);
    assert!(info.len() >= 10, "about a dozen demo tasks: {}", info.len());
    assert_eq!(s.total_tasks(), info.len() as f64);
    for t in ["template_evaluation", "code_evaluation", "run_experiment"] {
        assert!(
            s.find("arize_tasks", &[("task_type", t)])
                .iter()
                .any(|x| x.value > 0.0),
            "demo has {t} tasks"
        );
    }
    let sum = |name: &str| s.find(name, &[]).iter().map(|x| x.value).sum::<f64>();
    // The stale one (3 hours since a 15-minute cadence) and the continuous
    // task that never ran; the 6-hour-cadence task 5 hours on is not stale.
    assert_eq!(sum("arize_tasks_stale"), 2.0, "stale demo tasks");
    assert_eq!(sum("arize_tasks_never_run"), 2.0, "never-run demo tasks");
    assert!(
        s.find("arize_tasks", &[("mode", "continuous")])
            .iter()
            .any(|x| x.value > 0.0)
            && s.find("arize_tasks", &[("mode", "one_off")])
                .iter()
                .any(|x| x.value > 0.0),
        "continuous and one-off demo tasks"
    );
    assert!(
        s.value(
            "arize_exporter_api_requests_total",
            &[("endpoint", "/v2/tasks"), ("code", "200")]
        ) >= 2.0,
        "the demo spans several pages"
    );

    // The start-up line names the simulator's URL, which answers by hand.
    let stderr = p.stderr();
    let at = stderr
        .find("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("no URL in:\n{stderr}"));
    let url: String = stderr[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.'))
        .collect();
    let base = url.trim_end_matches("/v2/tasks").trim_end_matches('/');
    let body = get_ok(&format!("{base}/v2/tasks?limit=100")).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let demo_tasks = json["tasks"].as_array().unwrap();
    assert!(!demo_tasks.is_empty());
    for task in demo_tasks {
        let ty = task["type"].as_str().unwrap();
        assert_eq!(ty, ty.to_ascii_uppercase(), "upper-case types: {ty}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_until_the_first_poll_ends_then_200() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.push(Scripted::Delay(Duration::from_millis(1500)));
    let args = api_args(&sim, &["--request-timeout", "10s"]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_serving().await;
    let (status, _, _) = get(&p.url("/readyz")).await.unwrap();
    assert_eq!(status, 503, "not ready while the first poll runs");
    let (status, _, _) = get(&p.url("/healthz")).await.unwrap();
    assert_eq!(status, 200);
    // Meanwhile /metrics serves arize_up 0 and no task family at all.
    let s = p.scrape().await;
    assert_eq!(s.value("arize_up", &[]), 0.0);
    assert!(s.find("arize_tasks", &[]).is_empty());
    assert!(s.find("arize_tasks_stale", &[]).is_empty());
    assert!(s.find("arize_task_info", &[]).is_empty());
    let landing = get_ok(&p.url("/")).await;
    assert!(landing.contains("none yet"), "{landing}");

    p.wait_ready().await;
    let (status, _, _) = get(&p.url("/readyz")).await.unwrap();
    assert_eq!(status, 200);
    let s = p.scrape().await;
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(s.find("arize_task_info", &[]).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_200_after_a_failed_first_poll_too() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.require_key(Some("another key".into()));
    assert_first_poll_unauthorized(&api_args(&sim, &[])).await;
}

/// The body without the lines that change from one scrape to the next
/// (the ages, computed at scrape time, and the process collector's).
fn without_clock(body: &str) -> String {
    body.lines()
        .filter(|l| {
            !l.starts_with("process_") && !l.starts_with("arize_task_seconds_since_last_run{")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `GET /metrics` with this `Accept-Encoding`: the `Content-Encoding` and
/// `Vary` headers and the raw body.
async fn metrics_with(p: &Process, accept: &str) -> (Option<String>, Option<String>, Vec<u8>) {
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
fn gunzip(compressed: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_gzipped_when_asked_and_decode_to_the_plain_body() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let args = api_args(&sim, &[]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;

    let (encoding, vary, plain) = metrics_with(&p, "identity").await;
    assert_eq!(encoding, None, "plain when gzip is not accepted");
    assert_eq!(vary.as_deref(), Some("accept-encoding"));
    let plain = String::from_utf8(plain).unwrap();
    assert_eq!(Scrape::parse(&plain).find("arize_task_info", &[]).len(), 4);

    // The first gzip scrape compresses everything and keeps the fixed
    // families; the second copies them. Both decode to the plain body.
    for scrape in ["first", "second"] {
        let (encoding, vary, compressed) = metrics_with(&p, "br;q=1, gzip;q=0.5").await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{scrape}");
        assert_eq!(vary.as_deref(), Some("accept-encoding"));
        let text = gunzip(&compressed);
        // One member: curl, for one, stops after the first.
        let mut first = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut first)
            .expect("a gzip member");
        assert!(first == text, "{scrape}: more than one gzip member");
        assert!(
            without_clock(&text) == without_clock(&plain),
            "{scrape} gzip scrape differs from the plain body"
        );
        let ages = Scrape::parse(&text)
            .find("arize_task_seconds_since_last_run", &[])
            .len();
        assert_eq!(ages, 3, "the ages of the tasks that ran, compressed live");

        // The same bytes through Python's gzip module.
        let dir = TempDir::new("gzip");
        let file = dir.path("body.gz");
        std::fs::write(&file, &compressed).unwrap();
        let python = std::process::Command::new("python3")
            .args([
                "-c",
                "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],'rb').read()))",
            ])
            .arg(&file)
            .output()
            .expect("python3 runs");
        assert!(
            python.status.success(),
            "{}",
            String::from_utf8_lossy(&python.stderr)
        );
        assert!(
            String::from_utf8(python.stdout).unwrap() == text,
            "python: {scrape}"
        );
    }

    // curl asks for gzip itself and decodes the stream.
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--compressed", "-D", "-"])
        .arg(p.url("/metrics"))
        .output()
        .expect("curl runs");
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let out = String::from_utf8(curl.stdout).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    assert!(
        without_clock(body) == without_clock(&plain),
        "curl --compressed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_landing_page_lists_tasks_stalest_first_and_escapes_names() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let args = api_args(&sim, &[]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let (status, headers, html) = get(&p.url("/")).await.unwrap();
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
    assert!(html.contains("href=\"/metrics\""), "links the metrics");
    assert!(html.contains("succeeded"), "last poll status");
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "the name is escaped"
    );
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let order: Vec<usize> = ["Old check", escaped, "Fresh check", "Middle check"]
        .iter()
        .map(|name| {
            html.find(name)
                .unwrap_or_else(|| panic!("{name} not listed:\n{html}"))
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "stale, never run, then continuous before one-off, stalest first: {order:?}\n{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scrapes_never_reach_the_api() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let args = api_args(&sim, &[]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let before = sim.request_count();
    assert_eq!(list_requests(&sim), 1);
    for _ in 0..5 {
        get_ok(&p.url("/metrics")).await;
        get_ok(&p.url("/")).await;
        get_ok(&p.url("/readyz")).await;
    }
    assert_eq!(sim.request_count(), before, "no API request during scrapes");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_telemetry_path_serves_the_metrics() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let args = api_args(&sim, &["--telemetry-path", "/x/metrics"]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let s = Scrape::parse(&get_ok(&p.url("/x/metrics")).await);
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert!(get_ok(&p.url("/")).await.contains("href=\"/x/metrics\""));
}

// ---------------------------------------------------------------------------
// The key never leaks
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_key_is_never_logged_served_or_shown() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.require_key(Some(SECRET.into()));
    let args = api_args(&sim, &["--api-key", SECRET]);
    let mut p = Process::spawn(&refs(&args), &[("RUST_LOG", "trace")]);
    p.wait_ready().await;
    let metrics = get_ok(&p.url("/metrics")).await;
    assert_eq!(
        Scrape::parse(&metrics).value("arize_up", &[]),
        1.0,
        "the key works"
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {SECRET}"))),
        "the key travels in the Authorization header"
    );
    let landing = get_ok(&p.url("/")).await;
    p.signal("TERM");
    p.wait_exit(Duration::from_secs(10)).await.expect("exits");
    let (stdout, stderr) = (p.stdout(), p.stderr());
    assert!(stderr.lines().count() > 5, "trace logging is on:\n{stderr}");
    for (what, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("/metrics", &metrics),
        ("/", &landing),
    ] {
        assert!(!text.contains(SECRET), "the key leaks into {what}");
        assert!(
            !text.contains("SECRET-do-not-leak"),
            "part of the key leaks into {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_is_not_in_help_output_even_from_the_environment() {
    for args in [&["--help"][..], &["-h"][..], &["--version"][..]] {
        let out = run_to_end(args, &[("ARIZE_API_KEY", SECRET)]).await;
        assert!(out.status.success(), "{args:?}: {}", out.stderr);
        assert!(!out.stdout.is_empty());
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "{args:?}"
        );
    }
    let help = run_to_end(&["--help"], &[("ARIZE_API_KEY", SECRET)]).await;
    for flag in [
        "--api-key",
        "--api-key-file",
        "--poll-interval",
        "--demo",
        "--once",
    ] {
        assert!(help.stdout.contains(flag), "--help documents {flag}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_is_not_in_the_error() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.require_key(Some("the-right-one".into()));
    // The key from the environment (the harness adds none when the
    // environment is meant to give it).
    let args = ["--api-url", &sim.base_url(), "--once", "--max-retries", "0"];
    let out = run_to_end(&args, &[("ARIZE_API_KEY", SECRET)]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("unauthorized"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET) && !out.stdout.contains(SECRET));
    // And with the key on the command line and the error from a bad
    // combination of flags.
    let out = run_to_end(
        &["--api-key", SECRET, "--api-key-file", "/nonexistent"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// Bad flags
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_flag_is_rejected_with_exit_2_and_one_line_naming_it() {
    let cases: &[(&[&str], &str)] = &[
        (&["--demo", "--poll-interval", "0s"], "--poll-interval"),
        (&["--demo", "--poll-interval", "0"], "--poll-interval"),
        (&["--demo", "--poll-interval", "soon"], "--poll-interval"),
        (&["--demo", "--request-timeout", "0ms"], "--request-timeout"),
        (&["--demo", "--stale-after", "a while"], "--stale-after"),
        (
            &["--demo", "--max-requests-per-second", "0"],
            "--max-requests-per-second",
        ),
        (
            &["--demo", "--max-requests-per-second", "-1"],
            "--max-requests-per-second",
        ),
        (
            &["--demo", "--max-requests-per-second", "abc"],
            "--max-requests-per-second",
        ),
        (&["--demo", "--page-size", "0"], "--page-size"),
        (&["--demo", "--page-size", "101"], "--page-size"),
        (&["--demo", "--api-url", "api.arize.com"], "--api-url"),
        (
            &["--api-key", "k", "--api-key-file", "/tmp/key"],
            "--api-key",
        ),
        (&[], "--api-key"),
        (&["--demo", "--log-format", "yaml"], "--log-format"),
        (
            &["--demo", "--listen-address", "localhost"],
            "--listen-address",
        ),
    ];
    for (args, flag) in cases {
        let out = run_to_end(args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        let lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line, got:\n{}", out.stderr);
        assert!(
            lines[0].contains(flag),
            "{args:?}: {:?} names {flag}",
            lines[0]
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_from_the_environment_are_rejected_too() {
    let cases: &[(&str, &str, &str)] = &[
        ("ARIZE_POLL_INTERVAL", "0s", "--poll-interval"),
        ("ARIZE_PAGE_SIZE", "101", "--page-size"),
        (
            "ARIZE_MAX_REQUESTS_PER_SECOND",
            "-1",
            "--max-requests-per-second",
        ),
        ("ARIZE_API_URL", "api.arize.com", "--api-url"),
    ];
    for (var, value, flag) in cases {
        let out = run_to_end(&["--demo"], &[(var, value)]).await;
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(flag), "{var}: {}", out.stderr);
    }
}

// ---------------------------------------------------------------------------
// The key file
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_key_file_is_re_read_before_every_poll() {
    let dir = TempDir::new("key-file");
    let key_file = dir.write("key", "  first-key-AAA\n");
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.require_key(Some("first-key-AAA".into()));
    let key_path = key_file.display().to_string();
    let args = api_args(
        &sim,
        &["--poll-interval", "300ms", "--api-key-file", &key_path],
    );
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let s = p.scrape().await;
    assert_eq!(
        s.value("arize_up", &[]),
        1.0,
        "the trimmed key from the file works"
    );

    // Rotate.
    dir.write("key", "second-key-BBB\n");
    sim.require_key(Some("second-key-BBB".into()));
    eventually(
        Duration::from_secs(10),
        "a request with the rotated key",
        || {
            sim.requests()
                .iter()
                .any(|r| r.authorization.as_deref() == Some("Bearer second-key-BBB"))
        },
    )
    .await;
    let sent: Vec<String> = sim
        .requests()
        .iter()
        .filter_map(|r| r.authorization.clone())
        .collect();
    assert_eq!(sent[0], "Bearer first-key-AAA");
    let first_new = sent
        .iter()
        .position(|a| a == "Bearer second-key-BBB")
        .unwrap();
    assert!(
        sent[first_new..]
            .iter()
            .all(|a| a == "Bearer second-key-BBB"),
        "never back to the old key: {sent:?}"
    );
    // A poll after the rotation succeeds.
    let mut up = 0.0;
    for _ in 0..100 {
        let s = p.scrape().await;
        let successes = s.polls("success");
        up = s.value("arize_up", &[]);
        if successes >= 2.0
            && up == 1.0
            && sim.requests().last().unwrap().authorization.as_deref()
                == Some("Bearer second-key-BBB")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(up, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_key_file_fails_the_poll_without_stopping_the_exporter() {
    let dir = TempDir::new("absent-key");
    let sim = Simulator::start(tasks()).await.unwrap();
    let key_path = dir.path("absent").display().to_string();
    let args = api_args(&sim, &["--api-key-file", &key_path]);
    let _p = assert_first_poll_unauthorized(&args).await;
    assert_eq!(sim.request_count(), 0, "no request without a key");
}

// ---------------------------------------------------------------------------
// --once
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn once_prints_the_exposition_and_exits_0() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = api_args(&sim, &["--once", "--listen-address", &listen]);
    let out = run_to_end(&refs(&args), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let s = Scrape::parse(&out.stdout);
    assert_eq!(s.value("arize_up", &[]), 1.0);
    assert_eq!(s.find("arize_task_info", &[]).len(), 4);
    assert_eq!(list_requests(&sim), 1);
    assert_eq!(sim.request_count(), 4, "and the runs of the three that ran");
    // --once never serves.
    assert!(get(&format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn once_exits_non_zero_with_one_line_when_the_poll_fails() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.require_key(Some("other".into()));
    let args = api_args(&sim, &["--once"]);
    let out = run_to_end(&refs(&args), &[("RUST_LOG", "off")]).await;
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(2), "2 is for bad flags");
    assert!(
        out.stdout.is_empty(),
        "no exposition on failure: {}",
        out.stdout
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line:\n{}", out.stderr);
    assert!(lines[0].contains("unauthorized"), "{}", lines[0]);

    // With the default logging the reason is still the last line.
    let out = run_to_end(&refs(&args), &[]).await;
    assert!(!out.status.success());
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("unauthorized") && last.starts_with("error:"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn once_reports_an_unreachable_api() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_once_against(&url, &["--max-retries", "0"], &[("RUST_LOG", "off")]).await;
    assert!(!out.status.success());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("transport"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// Signals and logs
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sigint_exit_0() {
    for signal in ["TERM", "INT"] {
        let mut p = Process::spawn(&["--demo"], &[]);
        p.wait_ready().await;
        p.signal(signal);
        let status = p
            .wait_exit(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("SIG{signal}: still running"));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {}", p.stderr());
        assert!(get(&p.url("/healthz")).await.is_err(), "no longer serving");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_slow_poll_exits_0_promptly() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.push(Scripted::Delay(Duration::from_secs(60)));
    let args = api_args(&sim, &["--request-timeout", "120s"]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_serving().await;
    eventually(Duration::from_secs(10), "the poll to start", || {
        sim.request_count() == 1
    })
    .await;
    p.signal("TERM");
    let status = p
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("a poll in progress is abandoned");
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_json_object_per_line() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.push(Scripted::problem(
        503,
        "Service Unavailable",
        "line one\nline two",
    ));
    let args = api_args(&sim, &["--log-format", "json"]);
    let mut p = Process::spawn(&refs(&args), &[("RUST_LOG", "debug")]);
    p.wait_ready().await;
    p.signal("TERM");
    p.wait_exit(Duration::from_secs(10)).await.expect("exits");
    let stderr = p.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 3, "{stderr}");
    let mut messages = Vec::new();
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        assert!(value.get("level").is_some(), "{line}");
        if let Some(m) = value.get("message").and_then(|m| m.as_str()) {
            messages.push(m.to_owned());
        }
    }
    assert!(
        messages.iter().any(|m| m.contains("poll failed")),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no ANSI colours in logs");
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_carry_the_problem_title_and_detail() {
    let sim = Simulator::start(tasks()).await.unwrap();
    sim.push(Scripted::problem(
        404,
        "Not Found",
        "space U3BhY2U6OTk5 does not exist",
    ));
    let args = api_args(&sim, &[]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let stderr = p.stderr();
    let line = stderr
        .lines()
        .find(|l| l.contains("poll failed"))
        .unwrap_or_else(|| panic!("no poll failure logged:\n{stderr}"));
    assert!(line.contains("client_error"), "{line}");
    assert!(
        line.contains("Not Found") && line.contains("does not exist"),
        "{line}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI colours when not a terminal"
    );
}

// ---------------------------------------------------------------------------
// Proxies
// ---------------------------------------------------------------------------

/// A stand-in HTTP proxy: records each request head and answers every
/// request with one page holding one task.
fn fake_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let body = r#"{"tasks":[{"id":"via-proxy","type":"CODE_EVALUATION"}],"pagination":{"has_more":false}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_goes_through_http_proxy() {
    let (proxy, seen) = fake_proxy();
    let out = run_once_against(
        "http://arize-api.invalid",
        &["--max-retries", "0"],
        &[("HTTP_PROXY", &proxy)],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let s = Scrape::parse(&out.stdout);
    assert_eq!(s.of_task("arize_task_info", "via-proxy").len(), 1);
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with("GET http://arize-api.invalid/v2/tasks?"),
        "an absolute-form request to the proxy: {}",
        heads[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_bypasses_the_proxy() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let args = api_args(&sim, &["--once"]);
    let out = run_to_end(
        &refs(&args),
        &[("HTTP_PROXY", &dead), ("NO_PROXY", "127.0.0.1,localhost")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_eq!(list_requests(&sim), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unparsable_timestamp_is_warned_about_once_per_task_and_field() {
    let sim = Simulator::start(vec![
        SimTask::new("bad", "bad times", "TEMPLATE_EVALUATION", true, ago(60))
            .with_field("last_run_at", serde_json::json!("last tuesday"))
            .with_field("created_at", serde_json::json!("2026-02-30T10:00:00Z")),
        SimTask::new("fine", "fine", "TEMPLATE_EVALUATION", true, ago(60)),
    ])
    .await
    .unwrap();
    let args = api_args(&sim, &["--poll-interval", "200ms"]);
    let mut p = Process::spawn(&refs(&args), &[]);
    p.wait_ready().await;
    let mut done = false;
    for _ in 0..500 {
        let s = p.scrape().await;
        if s.polls("success") >= 4.0 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done, "four successful polls");
    let s = p.scrape().await;
    assert_eq!(s.of_task("arize_task_info", "bad").len(), 1, "kept");
    let stderr = p.stderr();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("RFC 3339")).collect();
    assert_eq!(warnings.len(), 2, "one per field, not per poll:\n{stderr}");
    assert!(warnings.iter().any(|l| l.contains("last_run_at")));
    assert!(warnings.iter().any(|l| l.contains("created_at")));
    assert!(warnings.iter().all(|l| l.contains("bad")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listen_address_in_use_stops_the_exporter_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_to_end(
        &["--demo", "--listen-address", &addr],
        &[("RUST_LOG", "off")],
    )
    .await;
    assert!(!out.status.success());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--listen-address"), "{}", out.stderr);
    drop(taken);
}
