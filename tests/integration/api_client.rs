//! The API client and the poller at their edges, in process against the
//! simulated Arize API (and the real binary for its last line): what a
//! request costs the rate budget, how long a field warning is remembered,
//! and how an error reaches the user.

use crate::support;

use std::time::Duration;

use arize_exporter::arize::FailureReason;
use arize_sim::{SimTask, Simulator};
use serde_json::json;
use support::exporter::*;
use support::logs::Logs;
use support::tools::TempDir;

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
            // The task list's request alone: the names' would wait for tokens.
            "--names-refresh-interval",
            "0",
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

// ---------------------------------------------------------------------------
// What the API sends back: Retry-After, text echoing the key, pages that
// are not JSON
// ---------------------------------------------------------------------------

fn rate_limited(retry_after: &str) -> arize_sim::Scripted {
    arize_sim::Scripted::Problem {
        status: 429,
        title: "Too Many Requests".into(),
        detail: "slow down".into(),
        retry_after: Some(retry_after.into()),
    }
}

#[tokio::test]
async fn a_retry_after_of_any_value_never_crashes_and_holds_until_the_next_poll_at_most() {
    let far = "Fri, 01 Jan 2100 00:00:00 GMT";
    let values: &[(&str, bool)] = &[
        ("18446744073709551615", true),
        ("9223372036854775807", true),
        ("1000000000", true),
        (far, true),
        ("-5", false),
        ("soon", false),
        ("1e9", false),
    ];
    for &(value, capped) in values {
        let (logs, _guard) = Logs::capture();
        let mut h = Harness::new(
            vec![task()],
            &[
                "--poll-interval",
                "1s",
                "--max-retries",
                "0",
                "--task-runs",
                "false",
            ],
        )
        .await;
        h.sim.push(rate_limited(value));
        let first = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
        let Ok(Err(error)) = first else {
            panic!("{value}: the 429 fails the poll at once: {first:?}");
        };
        assert_eq!(error.reason, FailureReason::RateLimited, "{value}: {error}");
        // The next poll waits at most a poll interval, then asks again.
        let next = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
        assert!(
            matches!(next, Ok(Ok(()))),
            "{value}: the next poll is not held beyond the poll interval: {next:?}"
        );
        let warned = logs.with_message(
            "the API asked to wait beyond the next poll (Retry-After); capped to the poll interval",
        );
        assert_eq!(warned.len(), usize::from(capped), "{value}: {warned:?}");
        if capped {
            assert_eq!(warned[0]["capped_to"], "1s", "{value}");
        }
    }
}

#[tokio::test]
async fn the_key_is_masked_in_what_the_api_says() {
    let echoing = format!("the key {TEST_KEY} is not valid");
    let mut h = Harness::new(
        vec![SimTask::new(
            "ran",
            "ran",
            "TEMPLATE_EVALUATION",
            false,
            Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)),
        )
        .with_newest_run("FAILED", Some(&format!("auth failed for {TEST_KEY}")))],
        &[],
    )
    .await;
    h.poll_ok().await;
    let published = h.state.load();
    let snapshot = published.snapshot.as_ref().expect("a snapshot");
    let reason = snapshot.tasks[0]
        .newest_finished_run()
        .and_then(|run| run.failure_reason.as_deref())
        .expect("the failure reason is kept");
    assert_eq!(reason, "auth failed for ***");

    h.sim
        .push(arize_sim::Scripted::problem(401, "Unauthorized", &echoing));
    let error = h.poll_fails_with(FailureReason::Unauthorized).await;
    assert!(!error.message.contains(TEST_KEY), "{}", error.message);
    assert!(
        error.message.contains("the key *** is not valid"),
        "{}",
        error.message
    );
    let published = h.state.load();
    let shown = published
        .last_poll
        .as_ref()
        .and_then(|p| p.error.as_ref())
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        shown.contains("***") && !shown.contains(TEST_KEY),
        "{shown}"
    );

    // A page that is not JSON and echoes the key: masked in the excerpt.
    h.sim.push(arize_sim::Scripted::Raw {
        status: 200,
        content_type: "text/plain".into(),
        body: format!("hello {TEST_KEY}").into_bytes(),
    });
    let error = h.poll_fails_with(FailureReason::Decode).await;
    assert!(!error.message.contains(TEST_KEY), "{}", error.message);
}

#[tokio::test]
async fn a_page_that_is_not_json_is_named_and_quoted() {
    let page = "<!DOCTYPE html>\n<html><title>Sign in to the guest Wi-Fi</title>".to_owned()
        + &"x".repeat(500);
    let mut h = Harness::new(vec![task()], &["--task-runs", "false"]).await;
    h.sim.push(arize_sim::Scripted::Raw {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        body: page.clone().into_bytes(),
    });
    let error = h.poll_fails_with(FailureReason::Decode).await;
    let m = &error.message;
    assert!(m.contains("Content-Type: text/html; charset=utf-8"), "{m}");
    assert!(
        m.contains(r#""<!DOCTYPE html>\n<html><title>Sign in to the guest Wi-Fi</title>xx"#),
        "{m}"
    );
    assert!(m.len() < 400 && !m.contains('\n'), "short, one line: {m}");

    // A firewall's HTML 403 is not the key being refused.
    for status in [401, 403] {
        h.sim.push(arize_sim::Scripted::Raw {
            status,
            content_type: "text/html".into(),
            body: b"<html><h1>Access denied</h1></html>".to_vec(),
        });
        let error = h.poll_fails_with(FailureReason::ClientError).await;
        assert!(error.message.contains("text/html"), "{}", error.message);
        assert!(error.message.contains("Access denied"), "{}", error.message);
    }
    // The API's own 403 (problem+json) still is.
    h.sim.push(arize_sim::Scripted::problem(
        403,
        "Forbidden",
        "no access to this space",
    ));
    h.poll_fails_with(FailureReason::Unauthorized).await;
}

// ---------------------------------------------------------------------------
// --api-key-file that cannot be used
// ---------------------------------------------------------------------------

/// Polls, expecting success within a bound and the last request to carry
/// `TEST_KEY`.
async fn poll_with_the_last_key(h: &mut Harness) {
    let requests_before = h.sim.request_count();
    let polled = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
    assert!(matches!(polled, Ok(Ok(()))), "{polled:?}");
    assert!(h.sim.request_count() > requests_before);
    assert_eq!(
        h.sim
            .requests()
            .last()
            .and_then(|r| r.authorization.clone()),
        Some(format!("Bearer {TEST_KEY}"))
    );
}

fn mkfifo(path: &std::path::Path) {
    let c_path = std::ffi::CString::new(path.to_str().expect("a UTF-8 path")).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[tokio::test]
async fn a_key_file_that_would_block_is_refused_and_polling_goes_on_with_the_last_key() {
    let (logs, _guard) = Logs::capture();
    let dir = TempDir::new("key-file");
    let key = dir.write("key", &format!("{TEST_KEY}\n"));
    let key_arg = key.to_string_lossy().into_owned();
    let mut h = Harness::new(
        vec![task()],
        &["--api-key-file", &key_arg, "--task-runs", "false"],
    )
    .await;
    let errors = |h: &Harness| {
        h.scrape()
            .value("arize_exporter_api_key_file_errors_total", &[])
    };
    assert_eq!(errors(&h), 0.0, "present from the start");
    h.poll_ok().await;

    // A FIFO nobody writes to: opening or reading it would block for ever.
    std::fs::remove_file(&key).unwrap();
    mkfifo(&key);
    poll_with_the_last_key(&mut h).await;
    poll_with_the_last_key(&mut h).await;
    assert_eq!(errors(&h), 2.0, "every poll counts");
    // A directory, then a file too large for a key.
    std::fs::remove_file(&key).unwrap();
    std::fs::create_dir(&key).unwrap();
    poll_with_the_last_key(&mut h).await;
    std::fs::remove_dir(&key).unwrap();
    std::fs::write(&key, "k".repeat(64 * 1024 + 1)).unwrap();
    poll_with_the_last_key(&mut h).await;
    poll_with_the_last_key(&mut h).await;
    assert_eq!(errors(&h), 5.0);
    let warnings: Vec<String> = logs
        .with_message(
            "the API key file cannot be used; polling goes on with the last key read from it",
        )
        .iter()
        .map(|e| e["problem"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(warnings.len(), 3, "once per cause: {warnings:?}");
    assert!(warnings[0].contains("a FIFO"), "{warnings:?}");
    assert!(warnings[1].contains("a directory"), "{warnings:?}");
    assert!(warnings[2].contains("larger than 64 KiB"), "{warnings:?}");

    // Restored: read again, nothing more counted.
    std::fs::write(&key, "rotated-key").unwrap();
    h.poll_ok().await;
    assert_eq!(
        h.sim
            .requests()
            .last()
            .and_then(|r| r.authorization.clone()),
        Some("Bearer rotated-key".to_owned())
    );
    assert_eq!(errors(&h), 5.0);
}
