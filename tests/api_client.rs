//! The API client and the poller at their edges, in process against the
//! simulated Arize API (and the real binary for its last line): what a
//! request costs the rate budget, how long a field warning is remembered,
//! and how an error reaches the user.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arize_exporter::arize::FailureReason;
use arize_sim::{SimTask, Simulator};
use serde_json::{json, Value};
use support::exporter::*;
use support::tools::TempDir;

/// The log events of a test, captured in process as JSON lines (the
/// harness polls on the test's own thread, so a thread-local subscriber
/// sees every event of the poller and the client).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sink = logs.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// Every event whose message is `message`.
    fn with_message(&self, message: &str) -> Vec<Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .filter(|e| e["message"] == message)
            .collect()
    }

    /// The ids of the "field is unusable" warnings, in order.
    fn field_warning_ids(&self) -> Vec<String> {
        self.with_message("a field the API sent is unusable")
            .iter()
            .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// A budget of one request per 1000 s: the first request is free (the
/// burst), any later one waits about 17 minutes. A poll that gets through
/// within this bound therefore took the burst's one token.
const SLOW_RATE: &str = "0.001";
const WELL_WITHIN: Duration = Duration::from_secs(60);

fn task() -> SimTask {
    SimTask::new("t1", "one", "TEMPLATE_EVALUATION", false, None)
}

#[tokio::test]
async fn a_request_refused_before_sending_costs_no_rate_token() {
    let dir = TempDir::new("refused-token");
    // A key no HTTP header can carry: every request of the poll is refused
    // before it is sent.
    let key = dir.write("key", "bad\u{1}key");
    let key_arg = key.to_string_lossy().into_owned();
    let mut h = Harness::new(
        vec![task()],
        &[
            "--api-key-file",
            &key_arg,
            "--max-requests-per-second",
            SLOW_RATE,
            "--task-runs",
            "false",
        ],
    )
    .await;
    for _ in 0..2 {
        let polled = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
        let Ok(Err(error)) = polled else {
            panic!("the poll should fail at once, refused before sending: {polled:?}");
        };
        assert_eq!(error.reason, FailureReason::Unauthorized, "{error}");
    }
    assert_eq!(h.sim.request_count(), 0, "nothing was sent");

    // The key is mended: the next poll's one request finds the burst's
    // token still there.
    dir.write("key", TEST_KEY);
    let polled = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
    assert!(
        matches!(polled, Ok(Ok(()))),
        "the first request sent had to wait for a token the refused ones took"
    );
    let requests = h.sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
}

fn with_bad_field(id: &str) -> SimTask {
    SimTask::new(id, id, "TEMPLATE_EVALUATION", false, None)
        .with_field("is_continuous", json!("yes"))
}

#[tokio::test]
async fn a_task_that_leaves_and_comes_back_with_the_same_bad_field_is_warned_about_again() {
    let (logs, _guard) = Logs::capture();
    let mut h = Harness::new(
        vec![with_bad_field("back"), task()],
        &["--task-runs", "false"],
    )
    .await;
    h.poll_ok().await;
    h.poll_ok().await;
    assert_eq!(logs.field_warning_ids(), ["back"], "once while it stays");

    h.sim.set_tasks(vec![task()]);
    h.poll_ok().await;
    h.sim.set_tasks(vec![with_bad_field("back"), task()]);
    h.poll_ok().await;
    h.poll_ok().await;
    assert_eq!(
        logs.field_warning_ids(),
        ["back", "back"],
        "gone, then back: warned again, once"
    );

    // A failed poll lists nothing completely: nothing is forgotten.
    h.sim.push(arize_sim::Scripted::problem(
        500,
        "Internal Server Error",
        "boom",
    ));
    h.sim.push(arize_sim::Scripted::problem(
        500,
        "Internal Server Error",
        "boom",
    ));
    h.poll_fails_with(FailureReason::ServerError).await;
    h.poll_ok().await;
    assert_eq!(logs.field_warning_ids(), ["back", "back"]);
}

#[tokio::test]
async fn the_warning_memory_stays_bounded_while_ids_churn() {
    let (logs, _guard) = Logs::capture();
    let mut h = Harness::new(vec![], &["--task-runs", "false"]).await;
    // Every poll lists two tasks never seen before, each with a bad field;
    // one task stays. Had the memory kept the gone ids, a churned id that
    // came back would not be warned about: the last step checks it is.
    for poll in 0..50 {
        h.sim.set_tasks(vec![
            with_bad_field(&format!("a{poll}")),
            with_bad_field(&format!("b{poll}")),
            with_bad_field("stays"),
        ]);
        h.poll_ok().await;
    }
    let ids = logs.field_warning_ids();
    assert_eq!(
        ids.len(),
        101,
        "two new ids a poll, plus the one that stays"
    );
    assert_eq!(ids.iter().filter(|id| *id == "stays").count(), 1);
    h.sim
        .set_tasks(vec![with_bad_field("a0"), with_bad_field("stays")]);
    h.poll_ok().await;
    assert_eq!(
        logs.field_warning_ids().len(),
        102,
        "a0 came back: warned again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_is_one_line_with_its_causes_and_one_prefix() {
    // A poll the API refuses: the cause chain, prefixed once.
    let sim = Simulator::start(vec![task()])
        .await
        .expect("simulator starts");
    sim.require_key(Some("other".into()));
    let args = args_for(&sim.base_url(), &["--once"]);
    let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let out = run_to_end(&args, &[("RUST_LOG", "off")]).await;
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: poll failed: unauthorized: /v2/tasks answered HTTP 401"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);

    // A listen address in use: what was wrong, then why.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_to_end(
        &["--demo", "--listen-address", &addr],
        &[("RUST_LOG", "off")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: invalid value for '--web.listen-address' (alias --listen-address): cannot listen on \"{addr}\": "
        )),
        "{}",
        out.stderr
    );

    // A bad flag: clap's own prefix is not doubled.
    let out = run_to_end(&["--demo", "--log.level", "loud"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.starts_with("error: invalid value 'loud'"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
}
