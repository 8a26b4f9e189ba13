//! The real `arize-exporter` process: flags, endpoints, secrecy of the key,
//! key-file rotation, `--once`, signals and logs (the README's Running it,
//! `docs/configuration.md`, and `docs/deployment.md`'s Endpoints and Signals).
//! The Arize API is the project's simulator, over HTTP on loopback.

use crate::support;

use std::io::Read;
use std::time::Duration;

use arize_sim::{Scripted, SimRun, SimTask, Simulator};
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
    }
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

/// A start that must fail: its flags, its environment, and the words its
/// one line of error must hold.
type Refused<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);

#[tokio::test(flavor = "multi_thread")]
async fn metric_lists_both_set_or_invalid_stop_the_exporter_with_one_line() {
    type Both<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let both: &[Both] = &[
        (
            &[
                "--demo",
                "--metric-allowlist",
                "a",
                "--metric-denylist",
                "b",
            ],
            &[],
        ),
        (
            &["--demo"],
            &[
                ("ARIZE_METRIC_ALLOWLIST", "a"),
                ("ARIZE_METRIC_DENYLIST", "b"),
            ],
        ),
        (
            &["--demo", "--metric-allowlist", "a"],
            &[("ARIZE_METRIC_DENYLIST", "b")],
        ),
    ];
    let bad: &[Refused] = &[
        (
            &["--demo", "--metric-denylist", "arize_tasks,arize_task_(x"],
            &[],
            &["--metric-denylist", "arize_task_(x"],
        ),
        (
            &["--demo"],
            &[("ARIZE_METRIC_ALLOWLIST", "arize_task_[")],
            &["--metric-allowlist", "arize_task_["],
        ),
    ];
    let cases = both
        .iter()
        .map(|(args, env)| {
            (
                *args,
                *env,
                &["--metric-allowlist", "--metric-denylist"][..],
            )
        })
        .chain(bad.iter().copied());
    for (args, env, named) in cases {
        let out = run_to_end(args, env).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {env:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        for word in named {
            assert!(
                out.stderr.contains(word),
                "{args:?} {env:?}: {} names {word}",
                out.stderr
            );
        }
    }
}

/// Tasks whose exposition has a series in every per-task family but
/// `arize_task_last_run_unreadable` (which has its header all the same).
fn tasks_with_runs() -> Vec<SimTask> {
    use time::macros::datetime;
    let at = datetime!(2026-03-01 14:30:00 UTC);
    vec![
        SimTask::new("t-runs", "With runs", "TEMPLATE_EVALUATION", true, Some(at))
            .with_field("sampling_rate", serde_json::json!(0.5))
            .with_runs(vec![
                SimRun::completed(datetime!(2026-03-01 14:28:00 UTC), 970, 20, 10),
                SimRun::failed(datetime!(2026-03-01 14:18:00 UTC), "timed out"),
                SimRun::completed(datetime!(2026-03-01 14:08:00 UTC), 990, 5, 5),
            ]),
        SimTask::new("t-never", "Never", "CODE_EVALUATION", true, None),
    ]
}

/// The families of a `--once` exposition (its `# TYPE` lines).
async fn families_served(sim: &Simulator, extra: &[&str]) -> Vec<String> {
    let mut flags = vec!["--once"];
    flags.extend_from_slice(extra);
    let args = api_args(sim, &flags);
    let out = run_to_end(&refs(&args), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", out.stderr);
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denylist_drops_its_families_and_an_allowlist_keeps_only_its_own() {
    let sim = Simulator::start(tasks_with_runs()).await.unwrap();
    let full = families_served(&sim, &[]).await;
    let denied = |n: &str| n.starts_with("arize_task_last_run_") || n == "arize_task_sampling_rate";
    // Every family the lists name is there without a list.
    assert!(full.iter().filter(|n| denied(n)).count() >= 8, "{full:?}");
    let with_deny = families_served(
        &sim,
        &[
            "--metric-denylist",
            "arize_task_last_run_.*,arize_task_sampling_rate",
        ],
    )
    .await;
    let expected: Vec<String> = full.iter().filter(|n| !denied(n)).cloned().collect();
    assert_eq!(with_deny, expected);
    assert!(with_deny.iter().any(|n| n == "arize_task_info"));
    assert!(with_deny
        .iter()
        .any(|n| n == "arize_task_last_successful_run_timestamp_seconds"));

    let allowed =
        |n: &str| n.starts_with("arize_task_last_run_") || n == "arize_task_sampling_rate";
    let always =
        |n: &str| n == "arize_up" || n.starts_with("arize_exporter_") || n.starts_with("process_");
    let with_allow = families_served(
        &sim,
        &[
            "--metric-allowlist",
            "arize_task_last_run_.*,arize_task_sampling_rate",
        ],
    )
    .await;
    let expected: Vec<String> = full
        .iter()
        .filter(|n| allowed(n) || always(n))
        .cloned()
        .collect();
    assert_eq!(with_allow, expected);
    assert!(!with_allow
        .iter()
        .any(|n| n == "arize_tasks" || n == "arize_task_info"));

    // A typo is served as given (here: nothing denied) and said at start.
    let args = api_args(
        &sim,
        &[
            "--once",
            "--metric-denylist",
            "arize_task_info,arize_tsak_.*",
        ],
    );
    let out = run_to_end(&refs(&args), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("level=warn"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
    assert!(warned[0].contains("arize_tsak_.*") && warned[0].contains("--metric-denylist"));
    assert!(out.stdout.contains("\narize_task_evaluators{"));
    assert!(!out.stdout.contains("\narize_task_info{"));
    sim.shutdown().await;
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
async fn a_key_file_unusable_at_start_stops_the_exporter_naming_the_flag() {
    let dir = TempDir::new("absent-key");
    let sim = Simulator::start(tasks()).await.unwrap();
    let empty = dir.write("empty", "  \n");
    for (path, cause) in [
        (dir.path("absent").display().to_string(), "cannot be read"),
        (empty.display().to_string(), "is empty"),
        (dir.0.display().to_string(), "a directory"),
    ] {
        let args = api_args(&sim, &["--api-key-file", &path]);
        let out = run_to_end(&refs(&args), &[]).await;
        assert_eq!(out.status.code(), Some(2), "{path}: {}", out.stderr);
        let line = out.stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        assert!(
            line.contains("'--api-key-file'") && line.contains(&path) && line.contains(cause),
            "{line}"
        );
    }
    assert_eq!(sim.request_count(), 0, "no request without a key");
}

// ---------------------------------------------------------------------------
// --once
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn once_warns_when_the_filters_match_no_task() {
    const WARNING: &str = "the filters matched no task";
    let sim = Simulator::start(tasks()).await.unwrap();
    let args = api_args(&sim, &["--once", "--task-name", "no-such-task"]);
    let out = run_to_end(&refs(&args), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.contains(WARNING), "{}", out.stderr);
    // A filter that matches tasks, and an empty account without filters,
    // are no reason to warn.
    let args = api_args(&sim, &["--once", "--task-name", "fresh"]);
    let out = run_to_end(&refs(&args), &[]).await;
    assert!(!out.stderr.contains(WARNING), "{}", out.stderr);
    let empty = Simulator::start(Vec::new()).await.unwrap();
    let out = run_to_end(&refs(&api_args(&empty, &["--once"])), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains(WARNING), "{}", out.stderr);
}

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
    let runs = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/runs"))
        .count();
    assert_eq!(runs, 3, "and the runs of the three that ran");
    for names in ["/v2/spaces", "/v2/projects", "/v2/datasets"] {
        let read = sim.requests().iter().filter(|r| r.path == names).count();
        assert_eq!(read, 1, "and the names, once: {names}");
    }
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
        &["--max-retries", "0", "--names-refresh-interval", "0"],
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

// ---------------------------------------------------------------------------
// Closed pipes, --version, enum and boolean values, log formats
// ---------------------------------------------------------------------------

/// Tasks with long names: an exposition far larger than a pipe's buffer.
fn many_tasks() -> Vec<SimTask> {
    let padding = "y".repeat(500);
    (0..400)
        .map(|i| {
            SimTask::new(
                &format!("bulk-{i}"),
                &format!("bulk {i} {padding}"),
                "CODE_EVALUATION",
                true,
                None,
            )
        })
        .collect()
}

/// Asserts that `status` is not a crash: no signal (SIGABRT from a panic
/// in particular) and exit code `code`.
fn assert_clean_exit(status: std::process::ExitStatus, code: i32, what: &str, stderr: &str) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        None,
        "{what}: killed by a signal: {stderr}"
    );
    assert_eq!(status.code(), Some(code), "{what}: {stderr}");
    assert!(!stderr.contains("panic"), "{what}: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn once_into_a_reader_that_closes_after_two_lines_ends_quietly() {
    use std::io::BufRead;
    let sim = Simulator::start(many_tasks()).await.unwrap();
    let args = api_args(
        &sim,
        &[
            "--once",
            "--page-size",
            "100",
            "--max-label-value-length",
            "0",
        ],
    );
    // The whole exposition does not fit in a pipe: the exporter meets the
    // closed pipe while writing.
    let whole = run_to_end(&refs(&args), &[]).await;
    assert_clean_exit(whole.status, 0, "the whole run", &whole.stderr);
    assert!(whole.stdout.len() > 1 << 20, "{} bytes", whole.stdout.len());

    let args: Vec<String> = args.clone();
    let (status, head, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = exporter_command(&refs(&args), &[])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // `| head -2`: two lines, then the read end closes.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let head: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
        drop(lines);
        let status = child.wait().unwrap();
        (status, head, errors.join().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(
        head,
        whole.stdout.lines().take(2).collect::<Vec<_>>(),
        "the same first lines"
    );
    assert_clean_exit(status, 0, "--once | head -2", &stderr);
    assert!(!stderr.contains("error"), "nothing to report: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stderr_or_stdout_never_makes_the_binary_panic() {
    use std::os::unix::process::CommandExt;
    // `2>&-` and `>&-`: the descriptor closed before the program starts.
    let cases: &[(&[&str], i32, i32)] = &[
        (&["--demo", "--no-such-flag"], 2, 2),
        (&["--demo", "--log.format", "xml"], 2, 2),
        (&["--help"], 1, 0),
        (&["--version"], 1, 0),
        (&["--demo", "--once"], 2, 0),
        (&["--demo", "--once"], 1, 0),
    ];
    for (args, fd, code) in cases {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let fd = *fd;
        let status = tokio::task::spawn_blocking(move || {
            let mut cmd = exporter_command(&refs(&args), &[]);
            cmd.stdin(std::process::Stdio::null());
            if fd == 1 {
                cmd.stderr(std::process::Stdio::null());
            } else {
                cmd.stdout(std::process::Stdio::null());
            }
            // SAFETY: close(2) is async-signal-safe; nothing else runs here.
            unsafe {
                cmd.pre_exec(move || {
                    libc::close(fd);
                    Ok(())
                });
            }
            cmd.status().expect("the binary starts")
        })
        .await
        .unwrap();
        assert_clean_exit(status, *code, &format!("fd {fd} closed"), "");
    }

    // A stderr whose reader has gone (EPIPE on every log line), with a bad
    // flag and with a whole --once run.
    for (args, code) in [
        (&["--demo", "--bogus"][..], 2),
        (&["--demo", "--once"][..], 0),
    ] {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (status, stdout) = tokio::task::spawn_blocking(move || {
            let mut child = exporter_command(&refs(&args), &[("RUST_LOG", "debug")])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the binary starts");
            drop(child.stderr.take());
            let mut stdout = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            (child.wait().unwrap(), stdout)
        })
        .await
        .unwrap();
        assert_clean_exit(status, code, "stderr without a reader", "");
        if code == 0 {
            assert_eq!(Scrape::parse(&stdout).value("arize_up", &[]), 1.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn version_prints_the_version_revision_and_build_date() {
    let out = run_to_end(&["--version"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let line = out.stdout.trim_end();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let prefix = format!("arize-exporter {} (revision ", env!("CARGO_PKG_VERSION"));
    let rest = line
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line:?}"));
    let (revision, date) = rest
        .split_once(", built ")
        .unwrap_or_else(|| panic!("{line:?}"));
    // The revision is the one the metrics carry.
    let once = run_to_end(&["--demo", "--once"], &[("RUST_LOG", "off")]).await;
    let s = Scrape::parse(&once.stdout);
    assert_eq!(
        s.value(
            "arize_exporter_build_info",
            &[
                ("revision", revision),
                ("version", env!("CARGO_PKG_VERSION"))
            ]
        ),
        1.0,
        "{line}"
    );
    assert_ne!(revision, "", "{line}");
    let format = time::macros::format_description!("[year]-[month]-[day]");
    assert!(
        time::Date::parse(date, format).is_ok(),
        "a build date: {line:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enum_and_boolean_errors_list_the_allowed_values_in_one_line() {
    /// Arguments, environment, the flag the line names, words it holds.
    type Case<'a> = (
        &'a [&'a str],
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (
            &["--demo", "--log.format", "xml"],
            &[],
            "--log.format",
            &["'xml'", "logfmt", "json"],
        ),
        (
            &["--demo"],
            &[("ARIZE_EXPORTER_LOG_FORMAT", "xml")],
            "--log.format",
            &["'xml'", "logfmt", "json"],
        ),
        (
            &["--demo", "--per-task-metrics", "maybe"],
            &[],
            "--per-task-metrics",
            &["'maybe'", "true", "false"],
        ),
        (
            &["--demo"],
            &[("ARIZE_PER_TASK_METRICS", "maybe")],
            "--per-task-metrics",
            &["'maybe'", "true", "false"],
        ),
    ];
    for (args, env, flag, words) in cases {
        let out = run_to_end(args, env).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {env:?}: {}",
            out.stderr
        );
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?} {env:?}: {}", out.stderr);
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(flag),
            "{}",
            lines[0]
        );
        for word in *words {
            assert!(
                lines[0].contains(word),
                "{args:?} {env:?} lacks {word}: {}",
                lines[0]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_formats_in_any_case_and_booleans_as_digits_are_accepted() {
    let sim = Simulator::start(tasks()).await.unwrap();
    let once = |extra: &[&str]| api_args(&sim, &[&["--once"][..], extra].concat());
    // The per-task series off and on by 0 and 1 from the environment.
    for (value, info) in [("0", 0), ("1", 4)] {
        let out = run_to_end(&refs(&once(&[])), &[("ARIZE_PER_TASK_METRICS", value)]).await;
        assert_eq!(out.status.code(), Some(0), "{value}: {}", out.stderr);
        let s = Scrape::parse(&out.stdout);
        assert_eq!(
            s.find("arize_task_info", &[]).len(),
            info,
            "ARIZE_PER_TASK_METRICS={value}"
        );
        assert_eq!(s.total_tasks(), 4.0);
    }
    // JSON in any case, by flag and from the environment.
    for (args, env) in [
        (once(&["--log.format", "JSON"]), vec![]),
        (once(&["--log-format", "Json"]), vec![]),
        (once(&[]), vec![("ARIZE_EXPORTER_LOG_FORMAT", "jSoN")]),
    ] {
        let out = run_to_end(&refs(&args), &env).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", out.stderr);
        let events: Vec<serde_json::Value> = out
            .stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        assert!(
            events.iter().any(|e| e["level"] == "INFO"
                && e["message"] == "first poll complete"
                && e["tasks"] == 4),
            "{args:?} {env:?}:\n{}",
            out.stderr
        );
        assert!(events
            .iter()
            .all(|e| e["level"].is_string() && e["message"].is_string()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logfmt_lines_look_like_promslogs() {
    let sim = Simulator::start(tasks()).await.unwrap();
    for format in ["logfmt", "LOGFMT", "text"] {
        let args = api_args(&sim, &["--once", "--log.format", format]);
        let out = run_to_end(&refs(&args), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{format}: {}", out.stderr);
        assert!(!out.stderr.is_empty(), "{format}: some log");
        for line in out.stderr.lines() {
            // ts=<RFC 3339, UTC, milliseconds> level=<lower case> msg=…
            let rest = line.strip_prefix("ts=").unwrap_or_else(|| panic!("{line}"));
            let (ts, rest) = rest.split_once(' ').unwrap();
            assert_eq!(ts.len(), "2026-01-01T00:00:00.000Z".len(), "{line}");
            assert!(ts.ends_with('Z'), "UTC: {line}");
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| panic!("{e}: {line}"));
            let (level, rest) = rest.split_once(' ').unwrap();
            assert!(
                ["level=debug", "level=info", "level=warn", "level=error"].contains(&level),
                "{line}"
            );
            assert!(rest.starts_with("msg="), "{line}");
        }
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(" level=info msg=\"first poll complete\" tasks=4 ")),
            "{format}:\n{}",
            out.stderr
        );
    }
}
