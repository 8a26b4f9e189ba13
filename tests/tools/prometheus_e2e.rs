//! End to end: the real exporter, polling its simulator (healthy, stale,
//! six-hourly, failing, never-run and unreadable continuous tasks), scraped
//! by a real Prometheus server (Debian's
//! `prometheus`, on loopback, temporary storage) with the rules loaded. Then
//! every dashboard query, with its template variables substituted, must parse
//! and return data; every metric the dashboard and the rules name must be in
//! the exporter's output; and ArizeTaskStale must be active for the stale task
//! only (the six-hourly task, silent for longer than --stale-after, is within
//! its own threshold), ArizeTaskLastRunFailed for the failing task only, ArizeTaskNeverRun for the never-run one only (a task whose
//! `last_run_at` cannot be read is neither), with their roll-ups; the stale
//! task, whose data is as old as its last run, is not also lagging, and the
//! run in progress is not stuck; the stale task's description names its
//! space and project. A second test starts the exporter against an API
//! that refuses every
//! connection: ArizeExporterDataStale must fire although no poll ever
//! completed, and no task alert may. A third runs the exporter in `--demo`:
//! ArizeTaskEvaluationLagging fires for the demo's lagging task alone,
//! ArizeTaskRunStuck for its stuck one-off run alone and
//! ArizeTaskLastRunErrorRatioHigh for its task with 13 % of items in error,
//! each description naming the task's space and project.
//!
//! Prometheus loads the shipped rules with two changes, so that the tests
//! need not wait for minutes: every `for:` is 0s, and the 300 s floor of the
//! data age limit is 2 s. The durations themselves are covered by the
//! promtool unit tests (tests/tools/rules.rs).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arize_sim::{SimRun, SimTask, Simulator};
use serde_json::Value;
use support::exporter::{exporter_command, free_port, Scrape};
use support::observability::*;
use support::tools::*;

const STALE_ID: &str = "task-stale";

/// What a [`relay`] saw: the bytes sent each way, capped.
#[derive(Default)]
struct Seen {
    requests: Vec<u8>,
    responses: Vec<u8>,
}

/// A TCP relay from a free loopback port to `to`, keeping up to 4 MiB of
/// what goes each way: shows what Prometheus asks for (`Accept-Encoding`)
/// and what the exporter answers (`Content-Encoding`).
fn relay(to: u16) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            for (mut from, mut into, upstream) in [
                (
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    true,
                ),
                (server, client, false),
            ] {
                let seen = shared.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || into.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let mut seen = seen.lock().unwrap();
                        let log = if upstream {
                            &mut seen.requests
                        } else {
                            &mut seen.responses
                        };
                        if log.len() < 4 << 20 {
                            log.extend_from_slice(&buf[..n]);
                        }
                    }
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (port, seen)
}
const HEALTHY_ID: &str = "task-healthy";
const NEVER_ID: &str = "task-never";
const UNREADABLE_ID: &str = "task-unreadable";
const FAILING_ID: &str = "task-failing";
const SLOW_ID: &str = "task-every-6h";
const RUNNING_ID: &str = "task-running";

/// Children killed, and then the scratch directory removed, on every path
/// out of the test (panics included).
struct Guard {
    children: Vec<(String, Child)>,
    dir: TempDir,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // `dir` is removed after this, when the fields are dropped.
    }
}

impl Guard {
    /// Starts the exporter with `args` and `--listen-address` on a free
    /// loopback port, which it returns.
    fn spawn_exporter(&mut self, args: &[&str]) -> u16 {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = args.to_vec();
        args.extend(["--listen-address", &listen]);
        self.spawn("exporter", &mut exporter_command(&args, &[]));
        port
    }

    fn spawn(&mut self, name: &str, cmd: &mut Command) {
        let log = std::fs::File::create(self.dir.path(&format!("{name}.log"))).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name.to_owned(), child));
    }

    /// Fail if a child died, with the end of its log.
    fn check_alive(&mut self) {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path(&format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "{name} exited ({status}):\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
    }
}

/// A plain HTTP/1.0 GET on loopback: (status, body).
fn http_get(port: u16, path_and_query: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus' HTTP API: the parsed JSON answer (status success or error),
/// or None while it does not answer yet.
fn try_prom_api(port: u16, path: &str, params: &[(&str, String)]) -> Option<Value> {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let (_, body) = http_get(port, &format!("{path}?{}", query.join("&"))).ok()?;
    serde_json::from_str(&body).ok()
}

fn prom_api(port: u16, path: &str, params: &[(&str, String)]) -> Value {
    try_prom_api(port, path, params)
        .unwrap_or_else(|| panic!("Prometheus did not answer {path} {params:?}"))
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Run a dashboard query as Grafana would: instant or over a recent range.
fn run_query(port: u16, expr: &str, instant: bool) -> Value {
    if instant {
        prom_api(port, "/api/v1/query", &[("query", expr.to_owned())])
    } else {
        let end = now_secs();
        prom_api(
            port,
            "/api/v1/query_range",
            &[
                ("query", expr.to_owned()),
                ("start", format!("{:.3}", end - 30.0)),
                ("end", format!("{end:.3}")),
                ("step", "1".to_owned()),
            ],
        )
    }
}

fn result_len(answer: &Value) -> usize {
    answer["data"]["result"].as_array().map_or(0, Vec::len)
}

/// Poll until `f` gives Some, or fail after `limit` with `what`.
fn wait_for<T>(
    guard: &mut Guard,
    limit: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        guard.check_alive();
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The data age limit's recording rule, whose floor the tests lower.
const LIMIT_RULE: &str = "instance:arize_exporter_data_age_limit_seconds:poll_interval_x5";

/// The shipped rules with every `for:` at 0s and the data age floor at 2 s,
/// written as JSON (which Prometheus reads as YAML) into `dir`.
fn write_quick_rules(dir: &Path) -> PathBuf {
    let mut r = rules();
    let mut floors = 0;
    for group in r["groups"].as_array_mut().expect("groups") {
        for rule in group["rules"].as_array_mut().expect("rules") {
            if rule.get("for").is_some() {
                rule["for"] = Value::from("0s");
            }
            if rule["record"] == LIMIT_RULE {
                let expr = rule["expr"].as_str().unwrap().to_owned();
                assert!(expr.trim_end().ends_with(", 300)"), "{expr}");
                rule["expr"] = Value::from(expr.trim_end().replace(", 300)", ", 2)"));
                floors += 1;
            }
        }
    }
    assert_eq!(floors, 1, "the data age limit rule");
    let path = dir.join("quick.rules.yml");
    std::fs::write(&path, serde_json::to_string_pretty(&r).unwrap()).unwrap();
    path
}

fn write_prometheus_config(dir: &Path, exporter_port: u16, rules: &Path) -> PathBuf {
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - "{rules}"
scrape_configs:
  - job_name: arize-exporter
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
"#,
        rules = rules.display()
    );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Check the configuration with promtool, start Prometheus on it, and return
/// its port once it has scraped `arize_up` with the given value.
fn start_prometheus(guard: &mut Guard, exporter_port: u16, arize_up: &str) -> u16 {
    let prometheus = tool("prometheus", PROMETHEUS);
    let prom_port = free_port();
    let rules = write_quick_rules(&guard.dir.0);
    let config = write_prometheus_config(&guard.dir.0, exporter_port, &rules);
    let check = Command::new(tool("promtool", PROMETHEUS))
        .args(["check", "config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "promtool check config: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let data = guard.dir.path("data");
    guard.spawn(
        "prometheus",
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--storage.tsdb.retention.time=1h"),
    );
    wait_for(
        guard,
        Duration::from_secs(30),
        &format!("Prometheus to scrape arize_up {arize_up}"),
        || {
            let a = try_prom_api(prom_port, "/api/v1/query", &[("query", "arize_up".into())])?;
            (a["data"]["result"][0]["value"][1] == arize_up).then_some(())
        },
    );
    prom_port
}

/// Active alerts (pending and firing), from Prometheus' API.
fn active_alerts(prom_port: u16) -> Vec<Value> {
    let a = prom_api(prom_port, "/api/v1/alerts", &[]);
    a["data"]["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn prometheus_scrapes_the_exporter_and_the_dashboard_and_alerts_work() {
    let mut guard = Guard {
        children: Vec::new(),
        dir: TempDir::new("e2e"),
    };

    // The simulated Arize API, in process.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let sim = rt
        .block_on(Simulator::start(vec![
            SimTask::new(
                HEALTHY_ID,
                "Healthy \"quoted\" task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now),
            )
            .running_every(Duration::from_secs(1)),
            // Runs every 5 minutes, silent for 3 hours: stale (900 s threshold).
            SimTask::new(
                STALE_ID,
                "Stale task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now - time::Duration::hours(3)),
            )
            .with_run_cadence(Duration::from_secs(300))
            .with_project("proj-kb", "Knowledge Base Search"),
            // Runs every 6 hours, last 90 minutes ago: older than
            // --stale-after (1h), but well within its own 18 h threshold.
            SimTask::new(
                SLOW_ID,
                "Six-hourly task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now - time::Duration::minutes(90)),
            )
            .with_run_cadence(Duration::from_secs(6 * 3600)),
            // Ran a minute ago, and that run failed.
            SimTask::new(
                FAILING_ID,
                "Failing task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now - time::Duration::minutes(1)),
            )
            .with_run_cadence(Duration::from_secs(300))
            .with_newest_run("FAILED", Some("the LLM integration key was revoked")),
            // Created months ago, never ran.
            SimTask::new(
                NEVER_ID,
                "Never-run task",
                "TEMPLATE_EVALUATION",
                true,
                None,
            ),
            // A last_run_at that does not parse: its last run is unknown,
            // neither "never ran" nor stale.
            SimTask::new(
                UNREADABLE_ID,
                "Unreadable task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now),
            )
            .with_field("last_run_at", serde_json::json!("yesterday at noon")),
            // Runs every 5 minutes; its newest run started 30 s ago and is
            // still running: in progress, within its threshold, not stuck.
            SimTask::new(
                RUNNING_ID,
                "Running task",
                "TEMPLATE_EVALUATION",
                true,
                Some(now - time::Duration::seconds(30)),
            )
            .with_runs(
                [15, 10, 5]
                    .map(|m| SimRun::completed(now - time::Duration::minutes(m), 400, 2, 0))
                    .into_iter()
                    .chain([SimRun::running(now - time::Duration::seconds(30))])
                    .collect(),
            ),
        ]))
        .expect("simulator starts");

    // The exporter binary, polling it every second.
    let exporter_port = guard.spawn_exporter(&[
        "--api-url",
        &sim.base_url(),
        "--api-key",
        "e2e-test-key",
        "--poll-interval",
        "1s",
    ]);
    // The first complete poll, and the names read right after it.
    let exposition = wait_for(
        &mut guard,
        Duration::from_secs(20),
        "the exporter's first complete poll and names read",
        || {
            http_get(exporter_port, "/metrics")
                .ok()
                .filter(|(code, body)| {
                    *code == 200
                        && body.lines().any(|l| l == "arize_up 1")
                        && body.contains(STALE_ID)
                        && body.contains("project_name=\"Knowledge Base Search\"")
                })
                .map(|(_, body)| body)
        },
    );

    // Every metric the dashboard and the rules read is served by the exporter.
    let exposed: BTreeSet<String> = Scrape::parse(&exposition)
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let d = dashboard();
    let r = rules();
    let recorded = recording_rule_names(&r);
    for (metric, place) in metrics_read(&d, &r) {
        if recorded.contains(&metric) || PROMETHEUS_SERIES.contains(&metric.as_str()) {
            continue;
        }
        assert!(
            exposed.contains(&metric),
            "{place} reads `{metric}`, which the exporter does not serve"
        );
    }

    // A real Prometheus scraping it, with the rules, through a relay that
    // shows the scrapes are gzipped: Prometheus asks for gzip by default,
    // and the exporter sends the families fixed until the next poll as
    // members compressed once per poll, the ages as members compressed at
    // each scrape.
    let (relay_port, seen) = relay(exporter_port);
    let prom_port = start_prometheus(&mut guard, relay_port, "1");
    {
        let seen = seen.lock().unwrap();
        let requests = String::from_utf8_lossy(&seen.requests).to_ascii_lowercase();
        let responses = String::from_utf8_lossy(&seen.responses).to_ascii_lowercase();
        assert!(requests.contains("accept-encoding: gzip"), "{requests}");
        assert!(responses.contains("content-encoding: gzip"));
    }
    for (expr, what) in [
        (
            format!("arize_task_info{{task_id=\"{HEALTHY_ID}\"}}"),
            "a series of a member compressed once per poll",
        ),
        (
            format!("arize_task_seconds_since_last_run{{task_id=\"{STALE_ID}\"}} > 3 * 3600 - 60"),
            "a series of a member compressed at each scrape",
        ),
    ] {
        let a = run_query(prom_port, &expr, true);
        assert_eq!(result_len(&a), 1, "{what}: {expr}: {a}");
    }

    // Template variables, resolved like Grafana: run each label_values query.
    let mut options: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for q in dashboard_queries(&d) {
        let Some((selector, label)) = &q.label_values else {
            continue;
        };
        // Every variable a variable's query names, at "All".
        let expr = substitute(
            selector,
            &[("job", ".*"), ("instance", ".*"), ("space", ".*")],
        );
        let a = run_query(prom_port, &expr, true);
        assert_eq!(a["status"], "success", "{}: {expr}: {a}", q.place);
        let values: BTreeSet<String> = a["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["metric"][label.as_str()].as_str().map(str::to_owned))
            .collect();
        options.insert(label.clone(), values);
    }
    for label in [
        "job",
        "instance",
        "task_type",
        "mode",
        "space_name",
        "project_name",
    ] {
        assert!(!options[label].is_empty(), "variable {label} has no values");
    }
    assert!(options["job"].contains("arize-exporter"));
    assert!(options["mode"].contains("continuous"));
    // Spaces and projects by name: the simulator's tasks all live in its
    // default space.
    assert!(
        options["space_name"].contains("Production"),
        "{:?}",
        options["space_name"]
    );
    assert!(options["project_name"].contains("Knowledge Base Search"));

    // Every panel query, with "All" selected, and with single values (escaped
    // for a regex, as Grafana does), parses and returns data. The rate-based
    // recording rules need a few evaluations: wait, bounded.
    let instance = options["instance"]
        .iter()
        .next()
        .unwrap()
        .replace('.', "\\\\.");
    let selections: [Vec<(&str, &str)>; 2] = [
        vec![
            ("job", ".*"),
            ("instance", ".*"),
            ("task_type", ".*"),
            ("mode", ".*"),
            ("space", ".*"),
            ("project", ".*"),
        ],
        vec![
            ("job", "arize-exporter"),
            ("instance", &instance),
            ("task_type", "template_evaluation"),
            ("mode", "continuous"),
            ("space", "Production"),
            ("project", ".*"),
        ],
    ];
    let panel_queries: Vec<Query> = dashboard_queries(&d)
        .into_iter()
        .filter(|q| q.label_values.is_none())
        .collect();
    assert!(panel_queries.len() > 15);
    let mut pending: Vec<(String, String, bool)> = Vec::new();
    for vars in &selections {
        let mut vars = vars.clone();
        vars.push(("__rate_interval", "1m"));
        vars.push(("__interval", "1s"));
        vars.push(("__range", "30s"));
        for q in &panel_queries {
            let expr = substitute(&q.expr, &vars);
            assert!(
                !expr.contains('$'),
                "{}: unsubstituted variable in {expr}",
                q.place
            );
            pending.push((q.place.clone(), expr, q.instant));
        }
    }
    let start = Instant::now();
    loop {
        pending.retain(|(place, expr, instant)| {
            let a = run_query(prom_port, expr, *instant);
            assert_eq!(
                a["status"], "success",
                "{place}: Prometheus rejects {expr}: {a}"
            );
            result_len(&a) == 0
        });
        if pending.is_empty() {
            break;
        }
        guard.check_alive();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "dashboard queries without data after 60 s:\n{}",
            pending
                .iter()
                .map(|(place, expr, _)| format!("  {place}: {expr}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The check can fail: an unknown metric has no data, bad PromQL is refused.
    assert_eq!(
        result_len(&run_query(prom_port, "arize_no_such_metric", true)),
        0
    );
    assert_eq!(run_query(prom_port, "sum by (", true)["status"], "error");

    // The stale task's alert is active, and its type's roll-up; the
    // never-run task's and its roll-up; the unreadable task's roll-up. The
    // healthy task has none, the unreadable one is neither stale nor never
    // run, and nothing is wrong with the exporter. The stale task's data is
    // as old as its last run: stale, so not also lagging
    // (ArizeTaskEvaluationLagging); the running task's run is 30 s old, not
    // stuck (ArizeTaskRunStuck). Neither is expected.
    let expected = [
        "ArizeTaskStale",
        "ArizeTasksStale",
        "ArizeTaskNeverRun",
        "ArizeTasksNeverRun",
        "ArizeTasksLastRunUnreadable",
        "ArizeTaskLastRunFailed",
        "ArizeTasksLastRunFailed",
    ];
    let alerts = wait_for(
        &mut guard,
        Duration::from_secs(30),
        &format!("{expected:?} firing"),
        || {
            let alerts = active_alerts(prom_port);
            let firing = |name: &str| {
                alerts
                    .iter()
                    .any(|al| al["labels"]["alertname"] == name && al["state"] == "firing")
            };
            // The stale task's description names its project once the
            // names are read.
            let named = alerts.iter().any(|al| {
                al["labels"]["alertname"] == "ArizeTaskStale"
                    && al["annotations"]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("project \""))
            });
            (expected.iter().all(|n| firing(n)) && named).then_some(alerts)
        },
    );
    let of = |name: &str| -> Vec<&Value> {
        alerts
            .iter()
            .filter(|a| a["labels"]["alertname"] == name)
            .collect()
    };
    let never = of("ArizeTaskNeverRun");
    assert_eq!(
        never.len(),
        1,
        "ArizeTaskNeverRun only for {NEVER_ID}: {never:?}"
    );
    assert_eq!(never[0]["labels"]["task_id"], NEVER_ID);
    let unreadable = of("ArizeTasksLastRunUnreadable");
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(unreadable[0]["labels"]["task_type"], "template_evaluation");
    assert_eq!(of("ArizeTasksNeverRun").len(), 1);
    // The failing task, and it alone, by its newest finished run.
    let failed = of("ArizeTaskLastRunFailed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["labels"]["task_id"], FAILING_ID);
    assert_eq!(of("ArizeTasksLastRunFailed").len(), 1);
    let roll_ups: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "ArizeTasksStale")
        .collect();
    assert_eq!(roll_ups.len(), 1, "one roll-up: {roll_ups:?}");
    assert_eq!(roll_ups[0]["labels"]["task_type"], "template_evaluation");
    assert_eq!(roll_ups[0]["labels"]["severity"], "critical");
    let stale: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "ArizeTaskStale")
        .collect();
    assert_eq!(
        stale.len(),
        1,
        "ArizeTaskStale only for the stale task: {stale:?}"
    );
    let a = stale[0];
    assert_eq!(a["state"], "firing", "{a}");
    assert_eq!(a["labels"]["task_name"], "Stale task");
    assert_eq!(a["labels"]["severity"], "warning");
    let description = a["annotations"]["description"].as_str().unwrap();
    assert!(
        description.contains("\"Stale task\"") && description.contains(STALE_ID),
        "{description}"
    );
    assert!(
        description.contains(&format!(
            "(id {STALE_ID}, space \"Production\", project \"Knowledge Base Search\")"
        )),
        "the description names the task's space and project: {description}"
    );
    for other in &alerts {
        let name = other["labels"]["alertname"].as_str().unwrap();
        assert!(expected.contains(&name), "unexpected alert {name}: {other}");
    }

    // Every rule evaluates without error.
    let rules_state = prom_api(prom_port, "/api/v1/rules", &[]);
    let mut evaluated = 0;
    for g in rules_state["data"]["groups"]
        .as_array()
        .expect("rule groups")
    {
        for rule in g["rules"].as_array().unwrap() {
            assert_eq!(
                rule["health"], "ok",
                "rule {} is unhealthy: {}",
                rule["name"], rule["lastError"]
            );
            evaluated += 1;
        }
    }
    assert_eq!(
        evaluated,
        all_rules(&r).len(),
        "Prometheus loaded every rule"
    );

    drop(sim);
    drop(rt);
}

/// A pod restarted during an outage: the API refuses every connection from
/// the start, so no poll ever completes and the last-success timestamp never
/// exists. "Nothing known yet" must page like old data, and must not pass
/// for "nothing wrong" (no task alert, no task series read as zero).
#[test]
fn an_exporter_that_never_polled_pages_critical() {
    let mut guard = Guard {
        children: Vec::new(),
        dir: TempDir::new("e2e-never"),
    };
    // A port nothing listens on: every connection is refused.
    let dead_port = free_port();
    let exporter_port = guard.spawn_exporter(&[
        "--api-url",
        &format!("http://127.0.0.1:{dead_port}"),
        "--api-key",
        "e2e-test-key",
        "--poll-interval",
        "1s",
        "--max-retries",
        "0",
    ]);
    let exposition = wait_for(
        &mut guard,
        Duration::from_secs(20),
        "the exporter's first failed poll",
        || {
            http_get(exporter_port, "/metrics")
                .ok()
                .filter(|(code, body)| {
                    *code == 200 && body.lines().any(|l| l.starts_with("arize_up 0"))
                })
                .map(|(_, body)| body)
        },
    );
    assert!(
        !exposition
            .lines()
            .any(|l| l.starts_with("arize_exporter_last_success_timestamp_seconds")),
        "no poll completed, yet a last-success time:\n{exposition}"
    );

    let prom_port = start_prometheus(&mut guard, exporter_port, "0");
    let alerts = wait_for(
        &mut guard,
        Duration::from_secs(60),
        "ArizeExporterDataStale firing for the exporter that never polled",
        || {
            let alerts = active_alerts(prom_port);
            alerts
                .iter()
                .any(|al| {
                    al["labels"]["alertname"] == "ArizeExporterDataStale" && al["state"] == "firing"
                })
                .then_some(alerts)
        },
    );
    let stale: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "ArizeExporterDataStale")
        .collect();
    assert_eq!(stale.len(), 1, "{stale:?}");
    let a = stale[0];
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["job"], "arize-exporter");
    assert_eq!(
        a["labels"]["instance"],
        format!("127.0.0.1:{exporter_port}")
    );
    let description = a["annotations"]["description"].as_str().unwrap();
    assert!(description.contains("since it started"), "{description}");
    for other in &alerts {
        let name = other["labels"]["alertname"].as_str().unwrap();
        assert!(
            !name.starts_with("ArizeTask") && name != "ArizeExporterDown",
            "unexpected alert {name}: {other}"
        );
    }
    // The dashboard's data-age panels have no age to show; its "never" comes
    // from arize_up alone.
    let age = run_query(
        prom_port,
        "instance:arize_exporter_data_age_seconds:time",
        true,
    );
    assert_eq!(result_len(&age), 0, "{age}");
}

/// The demo, scraped by a real Prometheus with the rules: the alerts of
/// issue 18 fire for the tasks the demo means, and for no other, and their
/// descriptions say where each task lives. "Order Assistant Groundedness"
/// runs every five minutes over data four hours old: lagging. "Contract
/// Summaries Backfill" is one-off, its newest run running for three hours:
/// stuck past `--stale-after` (1h). "Customer Support QA Correctness" had
/// 13 % of its items in error, over the exporter's 10 %. "RAG Retrieval
/// Relevance" stopped three hours ago: its data is as old, yet it is stale,
/// not lagging. "PII Leak Detector" runs now: in progress, not stuck.
///
/// Needs the exporter side of issue 18 (names, the run start and data
/// window families, the two threshold gauges).
#[test]
fn the_demo_lights_the_lag_stuck_and_error_ratio_alerts_with_names() {
    let mut guard = Guard {
        children: Vec::new(),
        dir: TempDir::new("e2e-demo"),
    };
    let exporter_port =
        guard.spawn_exporter(&["--demo", "--poll-interval", "2s", "--stale-after", "1h"]);
    wait_for(
        &mut guard,
        Duration::from_secs(30),
        "the demo's first complete poll and names read",
        || {
            http_get(exporter_port, "/metrics")
                .ok()
                .filter(|(code, body)| {
                    *code == 200
                        && body.lines().any(|l| l == "arize_up 1")
                        && body.contains("project_name=\"Contract Summarizer\"")
                })
        },
    );
    let prom_port = start_prometheus(&mut guard, exporter_port, "1");

    // (alert, task, where it lives, what its description says besides)
    let expected = [
        (
            "ArizeTaskEvaluationLagging",
            "Order Assistant Groundedness",
            "space \"Production\", project \"Order Assistant\"",
            "runs on time, but the newest data it has evaluated ended 4h",
        ),
        (
            "ArizeTaskRunStuck",
            "Contract Summaries Backfill",
            "space \"Staging\", project \"Contract Summarizer\"",
            "has been running for 3h",
        ),
        (
            "ArizeTaskLastRunErrorRatioHigh",
            "Customer Support QA Correctness",
            "space \"Production\", project \"Support Chatbot\"",
            "13.33% of the items",
        ),
        (
            "ArizeTaskStale",
            "RAG Retrieval Relevance",
            "space \"Production\", project \"Knowledge Base Search\"",
            "last ran 3h",
        ),
    ];
    let described = |alerts: &[Value], (name, task, place, text): (&str, &str, &str, &str)| {
        alerts.iter().any(|a| {
            a["labels"]["alertname"] == name
                && a["labels"]["task_name"] == task
                && a["state"] == "firing"
                && a["annotations"]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(place) && d.contains(text))
        })
    };
    let alerts = wait_for(
        &mut guard,
        Duration::from_secs(60),
        "the demo's lag, stuck, error ratio and stale alerts, with names",
        || {
            let alerts = active_alerts(prom_port);
            expected
                .iter()
                .all(|e| described(&alerts, *e))
                .then_some(alerts)
        },
    );
    // Each for its task alone. (Not the lag alert: a task of the demo whose
    // newest runs happen to fail evaluates older data too, and may lag.)
    for (name, task, _, _) in expected
        .into_iter()
        .filter(|(name, ..)| *name != "ArizeTaskEvaluationLagging")
    {
        let of: Vec<&Value> = alerts
            .iter()
            .filter(|a| a["labels"]["alertname"] == name)
            .collect();
        assert_eq!(of.len(), 1, "{name} only for {task}: {of:?}");
    }
    let stuck = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "ArizeTaskRunStuck")
        .unwrap();
    assert_eq!(stuck["labels"]["mode"], "one_off");
    let description = stuck["annotations"]["description"].as_str().unwrap();
    assert!(
        description.contains("the exporter's --stale-after of 1h 0m 0s"),
        "{description}"
    );
    let ratio = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "ArizeTaskLastRunErrorRatioHigh")
        .unwrap();
    let description = ratio["annotations"]["description"].as_str().unwrap();
    assert!(
        description.contains("more than the exporter's threshold of 10%"),
        "{description}"
    );
    // The lagging task is not stale; the stale task is not lagging; the
    // run in progress is not stuck.
    for (name, task) in [
        ("ArizeTaskStale", "Order Assistant Groundedness"),
        ("ArizeTaskEvaluationLagging", "RAG Retrieval Relevance"),
        ("ArizeTaskRunStuck", "PII Leak Detector"),
    ] {
        assert!(
            !alerts
                .iter()
                .any(|a| a["labels"]["alertname"] == name && a["labels"]["task_name"] == task),
            "{name} for {task}"
        );
    }
}
