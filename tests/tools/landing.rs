//! The landing page `/` of the real binary in `--demo` mode looked at by
//! headless Chromium (a screenshot, and the parsed DOM). The page itself is
//! checked in the hermetic suite (`tests/integration/landing.rs`).

use crate::support;

use std::path::Path;
use std::process::Command;

use support::exporter::*;
use support::tools::{run, stderr, stdout, TempDir, CHROMIUM};

use arize_sim::{DEMO_SPACES, FAILED_REASON};

// ---------------------------------------------------------------------------
// Headless Chromium against the real binary
// ---------------------------------------------------------------------------

/// Chromium, headless, with the flags that work in a container; a fresh
/// profile in `profile`.
fn chromium(profile: &Path) -> Command {
    let mut cmd = support::tools::command("chromium", CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The DOM of `url` as headless Chromium builds it, serialised back
/// (`--dump-dom`), with a fresh profile under `dir`.
fn dump_dom(dir: &Path, url: &str) -> String {
    let out = run(chromium(&dir.join("profile-dom"))
        .arg("--dump-dom")
        .arg(url));
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    stdout(&out)
}

#[tokio::test]
async fn headless_chromium_shows_the_demo_page() {
    let dir = TempDir::new("landing-chromium");
    let mut exporter = Process::spawn(&["--demo"], &[]);
    exporter.wait_ready().await;
    wait_for_names(&mut exporter).await;
    let url = exporter.url("/");

    let shot = dir.0.join("landing.png");
    let out = run(chromium(&dir.0.join("profile-shot"))
        .arg("--window-size=1920,1080")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url));
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot: {e}; {}", stderr(&out)));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with text, not a blank one: {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("ARIZE_LANDING_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    let dom = dump_dom(&dir.0, &url);
    // Serialised by the browser from its DOM: text is unescaped where
    // HTML allows it (the apostrophes of the reason).
    assert!(
        dom.contains(
            "<p class=\"summary\" id=\"summary\">1 stale, 1 never run, 1 failing, 1 stuck, \
             1 lagging, 1 erroring — of 15 tasks (9 continuous).</p>"
        ),
        "{dom}"
    );
    assert!(dom.contains("<strong>Demo mode:</strong>"), "{dom}");
    let failing = row_with(&dom, "Toxicity Guardrail Monitor");
    assert!(
        failing.contains("<td class=\"bad\">failing</td>"),
        "{failing}"
    );
    assert!(
        failing.contains("<span class=\"bad\">failed</span>"),
        "{failing}"
    );
    assert!(
        failing.contains(&format!("title=\"{FAILED_REASON}\"")),
        "{failing}"
    );
    let first = rows(&dom)[0];
    assert!(
        first.contains("RAG Retrieval Relevance"),
        "the stale task first: {first}"
    );

    // The troubles the runs show, with the thresholds of the alerts (the
    // demo runs with the default --stale-after 1h and
    // --run-error-ratio-threshold 0.1). Ages are shown in their two
    // largest units: "3h" or "3h 1m", as the page is read after the poll.
    let stuck = row_with(&dom, "Contract Summaries Backfill");
    assert!(stuck.starts_with(" class=\"trouble\">"), "{stuck}");
    assert!(
        stuck.contains("<td class=\"bad\">stuck: running for 3h")
            && stuck.contains(", threshold 1h</td>"),
        "one-off, running for 3 hours: {stuck}"
    );
    assert!(stuck.contains("<td>running for 3h (last: "), "{stuck}");
    let lagging = row_with(&dom, "Order Assistant Groundedness");
    assert!(
        lagging.contains("<td class=\"bad\">lagging: data 4h"),
        "continuous, on time, over data 4 hours old: {lagging}"
    );
    // Its threshold: 3 of its 5-minute intervals.
    assert!(lagging.contains(" old, threshold 15m</td>"), "{lagging}");
    let erroring = row_with(&dom, "Customer Support QA Correctness");
    assert!(
        erroring.contains("<td class=\"bad\">errors: 13 % of items, threshold 10 %</td>"),
        "400 of 3000 items in error: {erroring}"
    );
    assert!(
        erroring.contains("<td class=\"num\">2600</td><td class=\"num\">400</td>"),
        "{erroring}"
    );
    // Trouble first: stale, never ran, failing, stuck, lagging, erroring.
    let order: Vec<usize> = [
        "RAG Retrieval Relevance",
        "Agent Trajectory Eval",
        "Toxicity Guardrail Monitor",
        "Contract Summaries Backfill",
        "Order Assistant Groundedness",
        "Customer Support QA Correctness",
    ]
    .iter()
    .map(|name| {
        rows(&dom)
            .iter()
            .position(|r| r.contains(name))
            .unwrap_or(usize::MAX)
    })
    .collect();
    assert_eq!(order, [0, 1, 2, 3, 4, 5], "{dom}");
    // Every other task is fine.
    for row in &rows(&dom)[6..] {
        assert!(row.contains("<td class=\"ok\">ok</td>"), "{row}");
    }

    assert_names(&dom);
}

/// Waits (at most 20 s) until the exporter serves the names it reads
/// right after its first complete poll.
async fn wait_for_names(exporter: &mut Process) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !exporter
        .scrape()
        .await
        .names()
        .contains(&"arize_project_info")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no names read within 20 s: {}",
            exporter.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The names the poller read from the demo's `/v2/spaces`,
/// `/v2/projects` and `/v2/datasets`, on its rows; an id where a name is
/// not listed.
fn assert_names(dom: &str) {
    let [(prod_id, prod), (stg_id, stg)] = DEMO_SPACES;
    let production = format!("<td><span title=\"id {prod_id}\">{prod}</span></td>");
    let staging = format!("<td><span title=\"id {stg_id}\">{stg}</span></td>");
    for (task, space, project) in [
        (
            "Production Hallucination Check",
            &production,
            "Support Chatbot",
        ),
        (
            "Contract Summaries Backfill",
            &staging,
            "Contract Summarizer",
        ),
        (
            "Order Assistant Groundedness",
            &production,
            "Order Assistant",
        ),
        (
            "Customer Support QA Correctness",
            &production,
            "Support Chatbot",
        ),
        ("PII Leak Detector", &staging, "PII Redaction Service"),
    ] {
        let row = row_with(dom, &format!(">{task}</th>"));
        assert!(row.contains(space.as_str()), "{task} in {space}: {row}");
        assert!(
            row.contains(&format!("\">{project}</span></td>")),
            "{task} in {project}: {row}"
        );
    }
    let dataset = row_with(dom, ">Golden Set Regression</th>");
    assert!(dataset.contains(&production), "{dataset}");
    assert!(
        dataset.contains("<span class=\"kind\">dataset</span> <span title=\"id "),
        "{dataset}"
    );
    assert!(dataset.contains("\">Golden Set v3</span>"), "{dataset}");
    // Its project is not listed: the id, and no space.
    let unlisted = row_with(dom, ">Backfill Hallucination Audit</th>");
    assert!(
        unlisted.contains("<td>—</td><td><code title=\"name not known\">"),
        "{unlisted}"
    );
}
